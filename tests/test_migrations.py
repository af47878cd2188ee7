"""Migrations: one head, and an empty database upgraded to it matches the models exactly.

Each database test builds a second app on a database of its own. It shares the module-level
extensions with the session app, so it runs in its own app context, with rate limits off (the
limiter keeps `enabled` on itself), and disposes of its engine before the database goes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from practice.extensions import db
from tests.conftest import TEST_DATABASE_URL, missing_service

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _script_directory() -> ScriptDirectory:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_there_is_a_single_head_and_a_single_base():
    script = _script_directory()
    heads = script.get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"
    assert len(script.get_bases()) == 1
    # Every revision is reachable from the head: no orphaned branch.
    assert len(list(script.walk_revisions())) == len(
        list(script.revision_map.iterate_revisions(heads[0], "base"))
    )


@contextmanager
def migration_app(database_uri: str, tmp_path: Path, monkeypatch) -> Iterator:
    """A second app on `database_uri`, its app context pushed for the block."""
    monkeypatch.setenv("PRACTICE_INSTANCE_PATH", str(tmp_path))
    from practice import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": None,
            "JOBS_INLINE": True,
        }
    )
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def _schema_diff() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _upgrade_compare_downgrade_upgrade(app) -> None:
    from flask_migrate import downgrade, upgrade

    assert db.engine.url.render_as_string() == app.config["SQLALCHEMY_DATABASE_URI"]
    assert _table_names() == set()

    upgrade()
    assert _table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert _schema_diff() == []

    downgrade(revision="base")
    assert _table_names() <= {"alembic_version"}

    upgrade()
    assert _schema_diff() == []
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert current == tuple(_script_directory().get_heads())


def test_sqlite_upgrade_matches_the_models_and_downgrades(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    with migration_app(uri, tmp_path, monkeypatch) as app:
        _upgrade_compare_downgrade_upgrade(app)


@pytest.fixture
def throwaway_postgres() -> Iterator[str]:
    """A brand-new PostgreSQL database, dropped afterwards; its SQLAlchemy URL."""
    # The server to make throwaway databases on: TEST_POSTGRES_URL, so that the SQLite run of
    # the suite checks the migrations on PostgreSQL too; else the suite's own database.
    server_url = os.environ.get("TEST_POSTGRES_URL") or TEST_DATABASE_URL
    if not server_url:
        missing_service("PostgreSQL (set TEST_POSTGRES_URL or TEST_DATABASE_URL)")
    import psycopg

    from practice.config import normalise_database_url

    url = make_url(normalise_database_url(server_url))
    admin = url.set(drivername="postgresql", database="postgres")
    name = f"practice_migrations_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)
    except psycopg.OperationalError:
        missing_service(f"PostgreSQL at {server_url}")
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgresql_upgrade_matches_the_models_and_downgrades(
    throwaway_postgres, tmp_path, monkeypatch
):
    with migration_app(throwaway_postgres, tmp_path, monkeypatch) as app:
        _upgrade_compare_downgrade_upgrade(app)

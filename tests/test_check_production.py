"""`flask practice check-production`: one clear line and a non-zero exit for each thing that
makes a deployment unsafe, "ready for production" when nothing does."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from alembic.runtime.migration import MigrationContext
from flask import current_app
from sqlalchemy import text

from practice.extensions import db
from practice.security import hash_password
from practice.services.demo import DEMO_PASSWORD
from tests.conftest import TEST_DATABASE_URL, owner_engine
from tests.factories import OwnerFactory, UserFactory

READY = "ready for production"


@pytest.fixture
def production(app, monkeypatch):
    """The session app as a production deployment would have it: every check passes."""
    monkeypatch.setitem(app.config, "PRACTICE_ENV", "production")
    monkeypatch.setitem(app.config, "SECRET_KEY", "k" * 48)
    monkeypatch.setitem(app.config, "BASE_URL", "https://practice.example.org")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setattr(app, "debug", False)
    return app


@pytest.fixture
def check(app):
    runner = app.test_cli_runner()

    def invoke():
        return runner.invoke(args=["practice", "check-production"])

    return invoke


def _refused(result, *expected: str) -> list[str]:
    """The refusal lines; asserts a clean failure that names each of `expected`."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    assert READY not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Not ready: ")]
    for word in expected:
        assert any(word in line for line in lines), (word, result.output)
    return lines


def test_a_production_ready_deployment_is_ready(production, check):
    OwnerFactory()  # a real account with a password of its own
    db.session.commit()
    result = check()
    assert result.exit_code == 0, result.output
    assert result.output.strip() == READY


@pytest.mark.parametrize("environment", ["development", "testing"])
def test_an_environment_other_than_production_is_refused(production, check, environment):
    production.config["PRACTICE_ENV"] = environment
    (line,) = _refused(check(), "PRACTICE_ENV")
    assert repr(environment) in line


@pytest.mark.parametrize(
    ("secret_key", "said"), [("", "missing"), ("short-key", "too short"), ("k" * 31, "too short")]
)
def test_a_missing_or_short_secret_key_is_refused(production, check, secret_key, said):
    production.config["SECRET_KEY"] = secret_key
    (line,) = _refused(check(), "SECRET_KEY")
    assert said in line
    assert "32" in line


def test_a_secret_key_of_32_characters_is_enough(production, check):
    production.config["SECRET_KEY"] = "k" * 32
    assert check().exit_code == 0


@pytest.mark.parametrize(
    "base_url", ["http://practice.example.org", "practice.example.org", "https://", ""]
)
def test_a_base_url_that_is_not_https_is_refused(production, check, base_url):
    production.config["BASE_URL"] = base_url
    _refused(check(), "BASE_URL")


def test_debug_mode_is_refused(production, check, monkeypatch):
    monkeypatch.setattr(production, "debug", True)
    (line,) = _refused(check(), "Debug mode is on")
    assert "FLASK_DEBUG" in line


@pytest.mark.parametrize("value", ["1", "true"])
def test_flask_debug_in_the_environment_is_refused(production, check, monkeypatch, value):
    monkeypatch.setenv("FLASK_DEBUG", value)
    _refused(check(), "Debug mode is on")


def test_the_demo_logins_with_their_password_are_refused(production, check):
    """The real demo: both of its logins are named."""
    from practice.services.demo import seed_demo

    seed_demo()
    db.session.commit()
    lines = _refused(check(), "owner@example.com", "therapist@example.com")
    assert len(lines) == 2
    assert all("demo's password" in line for line in lines)


def test_a_demo_login_whose_password_was_changed_passes(production, check):
    owner = OwnerFactory(email="owner@example.com", password_hash=hash_password("a new password!"))
    UserFactory(
        practice=owner.practice,
        email="therapist@example.com",
        password_hash=hash_password(DEMO_PASSWORD),
    )
    db.session.commit()
    (line,) = _refused(check(), "therapist@example.com")
    assert "owner@example.com" not in line


@contextmanager
def _database_at(revision: str | None):
    """The database's recorded migration revision set to `revision` (none: no row) for the
    block; the real one is put back after."""
    with owner_engine(current_app).begin() as connection:
        (head,) = MigrationContext.configure(connection).get_current_heads()
        connection.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision}
            )
    try:
        yield head
    finally:
        with owner_engine(current_app).begin() as connection:
            connection.execute(text("DELETE FROM alembic_version"))
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": head}
            )


def test_migrations_behind_head_are_refused(production, check):
    with _database_at("fa3ecd055752") as head:
        (line,) = _refused(check(), "not at head", "flask db upgrade")
    assert "fa3ecd055752" in line and head in line


def test_a_database_never_migrated_is_refused(production, check):
    with _database_at(None):
        (line,) = _refused(check(), "not at head")
    assert "database: none" in line


def test_a_migration_revision_it_cannot_read_is_a_line_not_a_traceback(
    production, check, tmp_path, monkeypatch
):
    unreadable = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    monkeypatch.setitem(production.config, "DATABASE_OWNER_URL", unreadable)
    (line,) = _refused(check(), "Cannot read the database's migration revision")
    assert "DATABASE_OWNER_URL" in line


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's grants")
def test_every_refusal_at_once(production, check, monkeypatch):
    production.config.update(
        PRACTICE_ENV="development", SECRET_KEY="", BASE_URL="http://127.0.0.1:5000"
    )
    monkeypatch.setenv("FLASK_DEBUG", "1")
    OwnerFactory(email="owner@example.com", password_hash=hash_password(DEMO_PASSWORD))
    db.session.commit()
    with _database_at("fa3ecd055752"):
        lines = _refused(
            check(), "PRACTICE_ENV", "SECRET_KEY", "BASE_URL", "Debug", "owner@", "not at head"
        )
    assert len(lines) == 6

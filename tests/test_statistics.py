"""Statistics are kept current: ANALYZE after `db upgrade` and after `seed-demo`, and SQLite's
`PRAGMA optimize` before a connection closes and now and then while it lives.

Without statistics both planners guess, and with `practice_id = ?` in every query a guess can
loop over a whole practice for each row of a join (tests/test_plans.py). Each test builds an
app on a database of its own (tests/test_migrations.py's `migration_app`), so the suite's
database keeps whatever statistics it has.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import psycopg
import sqlalchemy as sa
from flask_migrate import upgrade

from practice import extensions
from practice.extensions import db
from tests.test_migrations import migration_app, throwaway_postgres  # noqa: F401 - a fixture

T0 = datetime(2026, 1, 1, tzinfo=UTC)
COUPLES = 200


def _sqlite_statistics(path) -> dict[str, int]:
    """Rows of sqlite_stat1 by table, read without the app (whose connections optimize)."""
    if not _sqlite_has_statistics_table(path):
        return {}
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT tbl, count(*) FROM sqlite_stat1 GROUP BY tbl")
        return dict(rows.fetchall())
    finally:
        connection.close()


def _sqlite_has_statistics_table(path) -> bool:
    connection = sqlite3.connect(path)
    try:
        found = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        return found.fetchone() is not None
    finally:
        connection.close()


def _load_couples(connection) -> None:
    """A practice and its couples, with plain inserts (no statistics gathered on the way)."""
    tables = db.metadata.tables
    connection.execute(
        sa.insert(tables["practices"]),
        [{"id": 1, "name": "Stats", "slug": "stats", "time_zone": "UTC", "created_at": T0}],
    )
    connection.execute(
        sa.insert(tables["couples"]),
        [
            {
                "id": n,
                "practice_id": 1,
                "label": f"Couple {n:03d}",
                "status": ("active", "paused", "closed")[n % 3],
                "presenting_concern": "other",
                "start_date": date(2026, 1, 1),
                "time_zone": "UTC",
                "therapist_notes": "",
                "created_at": T0,
            }
            for n in range(1, COUPLES + 1)
        ],
    )


def _look_up_couples(connection) -> None:
    # A lookup the planner answers with an index: the kind of use that asks for statistics.
    found = connection.execute(
        sa.text("SELECT count(*) FROM couples WHERE practice_id = 1 AND status = 'active'")
    ).scalar()
    assert found > 0


def test_sqlite_upgrade_and_seed_demo_leave_statistics(tmp_path, monkeypatch):
    path = tmp_path / "seeded.db"
    with migration_app(f"sqlite:///{path}", tmp_path, monkeypatch) as app:
        upgrade()
        # ANALYZE ran: the statistics table exists (empty tables have no rows in it yet).
        assert _sqlite_has_statistics_table(path)

        result = app.test_cli_runner().invoke(args=["practice", "seed-demo"])
        assert result.exit_code == 0, result.output

    statistics = _sqlite_statistics(path)
    for table in ("couples", "partners", "partner_invites", "homework_responses", "users"):
        assert statistics.get(table), f"no statistics for {table} after seed-demo"


def test_sqlite_connection_optimizes_before_it_closes(tmp_path, monkeypatch):
    path = tmp_path / "closing.db"
    with migration_app(f"sqlite:///{path}", tmp_path, monkeypatch):
        upgrade()
        with db.engine.begin() as connection:
            _load_couples(connection)
        with db.engine.connect() as connection:
            _look_up_couples(connection)
        assert "couples" not in _sqlite_statistics(path)

        db.engine.dispose()  # closes the pooled connection: SQLite's advice, optimize first

    assert _sqlite_statistics(path).get("couples")


def test_a_long_lived_sqlite_connection_optimizes_now_and_then(tmp_path, monkeypatch):
    path = tmp_path / "long-lived.db"
    with migration_app(f"sqlite:///{path}", tmp_path, monkeypatch):
        upgrade()
        with db.engine.begin() as connection:
            _load_couples(connection)
        with db.engine.connect() as connection:
            _look_up_couples(connection)
        assert "couples" not in _sqlite_statistics(path)

        # The same pooled connection, checked out again once its hour has passed.
        monkeypatch.setattr(extensions, "SQLITE_OPTIMIZE_EVERY", 0.0)
        with db.engine.connect() as connection:
            assert _sqlite_statistics(path).get("couples")


def _last_analyzed(url: str) -> dict[str, datetime | None]:
    """When each table was last analysed by hand (ANALYZE), read on a connection of its own."""
    dsn = sa.engine.make_url(url).set(drivername="postgresql")
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as connection:
        rows = connection.execute("SELECT relname, last_analyze FROM pg_stat_user_tables")
        return dict(rows.fetchall())


def test_postgresql_upgrade_and_seed_demo_analyze(throwaway_postgres, tmp_path, monkeypatch):  # noqa: F811
    with migration_app(throwaway_postgres, tmp_path, monkeypatch) as app:
        upgrade()
        analyzed = _last_analyzed(throwaway_postgres)
        never = sorted(name for name in db.metadata.tables if analyzed.get(name) is None)
        assert never == [], f"not analysed after db upgrade: {never}"

        # `db upgrade` at the head (as every deploy runs it) leaves a busy database alone.
        upgrade()
        assert _last_analyzed(throwaway_postgres) == analyzed

        result = app.test_cli_runner().invoke(args=["practice", "seed-demo"])
        assert result.exit_code == 0, result.output
        after_seed = _last_analyzed(throwaway_postgres)
        for table in ("couples", "partners", "homework_responses"):
            assert after_seed[table] > analyzed[table], f"{table} not analysed after seed-demo"

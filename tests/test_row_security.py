"""Row-level security on PostgreSQL: the database's own wall, beneath the ORM guard.

The app connects as a role that owns no table; every tenant table is forced and has one
policy keyed on `app.practice_id`. These tests go around the ORM guard (raw SQL, bulk
statements) to show that the database alone holds the line.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from practice.extensions import db
from practice.models import AuditEvent, User
from practice.services import accounts, demo
from practice.tenancy import practice_context, unscoped
from tests.conftest import IN_CI, owner_engine

pytestmark = pytest.mark.postgres

POLICY = "({key} = (NULLIF(current_setting('app.practice_id'::text, true), ''::text))::integer)"


@pytest.fixture(autouse=True)
def _postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's (TEST_DATABASE_URL)")


@pytest.fixture
def seeded(app):
    """The demo's practice, made through the forms' own service calls, and a second one."""
    demo.seed_demo()
    accounts.sign_up(
        practice_name="Second practice",
        name="Second owner",
        email="second@example.org",
        password="correct horse battery",  # noqa: S106
        time_zone="Europe/London",
    )
    db.session.commit()
    with owner_engine(app).connect() as connection:
        practices = connection.exec_driver_sql("SELECT id FROM practices ORDER BY id").scalars()
        return list(practices)


def _tenant_tables(connection) -> list[str]:
    return list(
        connection.exec_driver_sql(
            "SELECT DISTINCT table_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
            " AND (column_name = 'practice_id' OR table_name = 'practices')"
            " ORDER BY table_name"
        ).scalars()
    )


def test_every_tenant_table_is_forced_and_has_the_one_policy(app):
    with owner_engine(app).connect() as connection:
        tables = _tenant_tables(connection)
        rows = connection.exec_driver_sql(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname,"
            " pg_get_expr(p.polqual, p.polrelid), p.polcmd"
            " FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
        ).all()
    policies = {row[0]: row[1:] for row in rows}
    assert len(tables) > 30
    for table in tables:
        key = "id" if table == "practices" else "practice_id"
        assert policies[table] == (True, True, "tenant_isolation", POLICY.format(key=key), "*"), (
            table
        )
    # One policy a table: a second, permissive one would widen it.
    assert sorted(row[0] for row in rows if row[3]) == tables


def test_the_app_connects_as_a_role_that_owns_nothing_and_cannot_bypass(app):
    with db.engine.connect() as connection:
        role, superuser, bypass = connection.exec_driver_sql(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).one()
        owned = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            " AND tableowner = current_user"
        ).scalar()
    with owner_engine(app).connect() as connection:
        owner = connection.exec_driver_sql("SELECT current_user").scalar()
    assert role != owner
    assert (superuser, bypass, owned) == (False, False, 0)


def test_ci_runs_postgresql_with_row_level_security_on(app):
    """CI's PostgreSQL run is the run with the policies in force: it must not be a superuser's."""
    if not IN_CI:
        pytest.skip("checks CI's own run")
    with db.engine.connect() as connection:
        assert (
            connection.exec_driver_sql(
                "SELECT rolsuper FROM pg_roles r WHERE r.rolname = current_user"
            ).scalar()
            is False
        )


def _counts(connection, tables: list[str]) -> dict[str, int]:
    return {
        # Names from the catalogue, not from input.
        table: connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()  # noqa: S608
        for table in tables
    }


def test_raw_sql_with_no_practice_set_sees_no_rows_in_any_tenant_table(app, seeded):
    with owner_engine(app).connect() as connection:
        tables = _tenant_tables(connection)
        held = _counts(connection, tables)
    with db.engine.connect() as connection:
        seen = _counts(connection, tables)
    assert sum(held.values()) > 100  # the demo wrote to many tables
    assert seen == dict.fromkeys(tables, 0)


def test_raw_sql_in_a_practice_sees_that_practice_only(app, seeded):
    first, second = seeded
    with practice_context(first):
        ids = set(db.session.execute(text("SELECT DISTINCT practice_id FROM users")).scalars())
        practices = set(db.session.execute(text("SELECT id FROM practices")).scalars())
    assert ids == practices == {first}
    db.session.rollback()
    with practice_context(second):
        ids = set(db.session.execute(text("SELECT DISTINCT practice_id FROM users")).scalars())
    assert ids == {second}


def test_the_setting_ends_with_its_transaction(app, seeded):
    first, _ = seeded
    with practice_context(first):
        assert db.session.execute(text("SELECT count(*) FROM users")).scalar() > 0
    db.session.commit()  # the same pooled connection serves the next transaction
    assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_a_bulk_update_that_moves_users_to_another_practice_is_refused(app, seeded):
    first, second = seeded
    with practice_context(first), pytest.raises(DBAPIError, match="row-level security"):
        db.session.execute(
            update(User).values(practice_id=second).execution_options(synchronize_session=False)
        )
    db.session.rollback()


def test_a_raw_insert_for_another_practice_is_refused(app, seeded):
    first, second = seeded
    with practice_context(first), pytest.raises(DBAPIError, match="row-level security"):
        db.session.execute(
            text(
                "INSERT INTO audit_events (practice_id, created_at, action, details)"
                " VALUES (:other, now(), 'forged', '{}')"
            ),
            {"other": second},
        )
    db.session.rollback()


def _scope(scope: str, practice_id: int):
    return practice_context(practice_id) if scope == "practice" else unscoped()


@pytest.mark.parametrize("scope", ["practice", "unscoped"])
def test_audit_rows_cannot_be_deleted_or_changed_by_the_app(app, seeded, scope):
    first, _ = seeded
    for statement in (
        delete(AuditEvent).execution_options(synchronize_session=False),
        update(AuditEvent).values(action="rewritten").execution_options(synchronize_session=False),
        text("TRUNCATE audit_events"),
    ):
        with _scope(scope, first), pytest.raises(DBAPIError, match="permission denied"):
            db.session.execute(statement)
        db.session.rollback()
    with owner_engine(app).connect() as connection:
        rewritten = connection.exec_driver_sql(
            "SELECT count(*) FROM audit_events WHERE action = 'rewritten'"
        ).scalar()
        total = connection.exec_driver_sql("SELECT count(*) FROM audit_events").scalar()
    assert rewritten == 0
    assert total > 0


def test_the_unscoped_role_is_taken_on_only_inside_unscoped_blocks(app, seeded):
    first, _ = seeded

    def role() -> str:
        return db.session.execute(text("SELECT current_user")).scalar()

    with practice_context(first):
        inside_practice = role()
        with unscoped():
            inside_unscoped = role()
            seen = db.session.execute(text("SELECT count(DISTINCT practice_id) FROM users"))
            every_practice = seen.scalar()
        after = role()
    assert inside_unscoped == "practice_unscoped" != inside_practice == after
    assert every_practice == 2

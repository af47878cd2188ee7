"""Wall 4 of DESIGN.md's tenancy: PostgreSQL's row-level security beneath the ORM guard.

Every tenant table (every table with `practice_id`, and `practices` by its `id`) has one
policy, `tenant_isolation`, that keeps the rows of the practice named by the transaction's
`app.practice_id` setting; the tables are forced, so their owner is held to it too, and the
app connects as a role that owns none of them. An unset setting means no rows, never an error.

The setting comes from the same context the ORM guard reads (`tenancy.current_practice_id`):
before a statement runs, the connection is told, with `SET LOCAL` semantics (`set_config(...,
true)`), the practice of the moment, if the transaction has not been told it already. It is
one round trip per transaction, and one more each time the practice or the scope changes.

Inside `tenancy.unscoped()` (the log-in lookup, the link and feed tokens, sign-up, the
cross-practice sweeps: README lists them), the transaction takes on a second role, the
*unscoped* role, `NOLOGIN BYPASSRLS`, granted to the app's role and used nowhere else; it
drops back to the app's own role as the block ends. Both roles may read and write the tables,
and neither may change or delete an audit row: the audit trail is append-only in the database
too. The grants are made by `grant_app_role` after every `flask db upgrade` (migrations/env.py)
when the app connects as a role of its own.
"""

from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, event, inspect, text

from practice.tenancy import CREATING, REFRESH, current_practice_id, flush_practice_id, is_unscoped

log = logging.getLogger(__name__)

# The policy, `tenant_isolation`, is made by the migrations (each that adds a tenant table
# gives it one; tests/test_row_security.py checks every table has it).
# Written once and never changed or deleted by the app: not even its unscoped role may.
APPEND_ONLY = ("audit_events",)

_TOLD = "practice_row_security_told"  # on the connection: what this transaction was told
_MODE = "practice_row_security_mode"  # on the pooled connection: how its role meets the policies
_TRANSACTION_CONTROL = ("SAVEPOINT", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT")
_UNSCOPED_ROLE: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()


class RowSecurityError(RuntimeError):
    """The database role cannot work under the policies; the message says what to do."""


# --- At run time: tell each transaction its practice -----------------------------------------


def install(engine: Engine, unscoped_role: str) -> None:
    """Tell every transaction on `engine` (PostgreSQL) the practice and scope of the moment."""
    if engine.dialect.name != "postgresql" or event.contains(
        engine, "before_cursor_execute", _tell
    ):
        return
    _UNSCOPED_ROLE[engine] = unscoped_role
    event.listen(engine, "before_cursor_execute", _tell)
    # SET LOCAL ends with the transaction, and with a savepoint rolled back.
    event.listen(engine, "begin", _forget)
    event.listen(engine, "rollback_savepoint", _forget_savepoint)


def _forget(connection: Connection) -> None:
    connection.info.pop(_TOLD, None)


def _forget_savepoint(connection: Connection, name, context) -> None:
    connection.info.pop(_TOLD, None)


def _tell(connection: Connection, cursor, statement, parameters, context, executemany) -> None:
    if statement.startswith(_TRANSACTION_CONTROL):
        return  # SAVEPOINT and its ROLLBACK TO: no rows read, and maybe an aborted transaction
    mode = _mode(connection)
    # A refresh by primary key of an object loaded earlier is let through, as the ORM guard
    # lets it through: it reveals nothing the session does not hold already.
    unscoped = is_unscoped() or (
        context is not None and context.execution_options.get(REFRESH, False)
    )
    practice_id = current_practice_id()
    if practice_id is None and not unscoped:
        practice_id = flush_practice_id()
        if practice_id == CREATING:
            # A flush that creates a practice: its row cannot name a practice id it does not
            # have yet. The ORM guard has checked every row of the flush.
            practice_id, unscoped = None, True
    wanted = (practice_id, unscoped and mode == "switch")
    if connection.info.get(_TOLD) == wanted:
        return
    dbapi_connection = connection.connection.dbapi_connection
    # A cursor of its own: the statement's may be a server-side one.
    with dbapi_connection.cursor() as own:
        own.execute(
            "SELECT set_config('app.practice_id', %s, true), set_config('role', %s, true)",
            (
                "" if practice_id is None else str(practice_id),
                _UNSCOPED_ROLE[connection.engine] if wanted[1] else "none",
            ),
        )
    connection.info[_TOLD] = wanted


def _mode(connection: Connection) -> str:
    """How this connection's role meets the policies, found once per pooled connection:
    "switch" (it takes on the unscoped role in unscoped blocks), "exempt" (a superuser or a
    BYPASSRLS role: the policies do not apply to it) or "off" (no policies in this database)."""
    mode = connection.info.get(_MODE)
    if mode is not None:
        return mode
    dbapi_connection = connection.connection.dbapi_connection
    role = _UNSCOPED_ROLE[connection.engine]
    with dbapi_connection.cursor() as own:
        own.execute(
            "SELECT r.rolsuper OR r.rolbypassrls,"
            " EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = 'practices'"
            "   AND c.relnamespace = current_schema()::regnamespace AND c.relforcerowsecurity),"
            " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)"
            "   AND pg_has_role(current_user, %s, 'MEMBER'),"
            " current_user"
            " FROM pg_roles r WHERE r.rolname = current_user",
            (role, role),
        )
        exempt, forced, member, user = own.fetchone()
    if exempt:
        mode = "exempt"
    elif member:
        mode = "switch"
    elif not forced:
        mode = "off"
    else:
        raise RowSecurityError(
            f"The database role {user!r} is held to row-level security but cannot take on the "
            f"role {role!r} that the log-in lookups need. Run `flask db upgrade` with "
            "DATABASE_OWNER_URL set (README: Running with PostgreSQL)."
        )
    if mode == "exempt" and forced:
        log.warning(
            "the database role %s bypasses row-level security: connect as a role of its own "
            "(README: Running with PostgreSQL)",
            user,
        )
    connection.info[_MODE] = mode
    return mode


# --- After migrations: the app's grants -------------------------------------------------------


def grant_app_role(connection: Connection, app_role: str, unscoped_role: str) -> None:
    """Give the app's role, and the unscoped role it may take on, what they need and no more:
    rows of every table, only the version of the migrations' own, sequences, and never an
    UPDATE or DELETE of an audit row. Creates the unscoped role if it is missing (which needs
    a superuser)."""
    exists = connection.execute(
        text("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role)"),
        {"role": app_role},
    ).scalar()
    if not exists:
        raise RowSecurityError(
            f"The app's database role {app_role!r} does not exist: create it (README: Running "
            "with PostgreSQL), then run `flask db upgrade` again."
        )
    has_unscoped = connection.execute(
        text("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role)"),
        {"role": unscoped_role},
    ).scalar()
    quote = connection.dialect.identifier_preparer.quote
    app, unscoped = quote(app_role), quote(unscoped_role)
    if not has_unscoped:
        connection.exec_driver_sql(f"CREATE ROLE {unscoped} NOLOGIN BYPASSRLS")
    member = connection.execute(
        text("SELECT pg_has_role(:app, :unscoped, 'MEMBER')"),
        {"app": app_role, "unscoped": unscoped_role},
    ).scalar()
    if not member:  # granted by the database's administrator already, when roles are theirs
        connection.exec_driver_sql(f"GRANT {unscoped} TO {app}")
    tables = inspect(connection).get_table_names()
    for role in (app, unscoped):
        connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {_schema(connection)} TO {role}")
        for table in tables:
            if table == "alembic_version":
                # The preflight (check-production) reads which migration the database is at.
                connection.exec_driver_sql(f'GRANT SELECT ON "{table}" TO {role}')
            elif table in APPEND_ONLY:
                connection.exec_driver_sql(f'GRANT SELECT, INSERT ON "{table}" TO {role}')
                connection.exec_driver_sql(
                    f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM {role}'
                )
            else:
                connection.exec_driver_sql(
                    f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {role}'
                )
        # Moving a sequence on (`setval`, after a bulk load with ids of its own) is
        # maintenance: the unscoped role's alone.
        rights = "USAGE, SELECT, UPDATE" if role == unscoped else "USAGE, SELECT"
        connection.exec_driver_sql(
            f"GRANT {rights} ON ALL SEQUENCES IN SCHEMA {_schema(connection)} TO {role}"
        )


def _schema(connection: Connection) -> str:
    name = connection.exec_driver_sql("SELECT current_schema()").scalar()
    return connection.dialect.identifier_preparer.quote(name)

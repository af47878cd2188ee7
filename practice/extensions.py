"""Unbound extensions; `create_app` binds them. Nothing here connects to anything."""

import sqlite3
import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Connection, Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can diff and drop on every database."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite ignores foreign keys unless asked, per connection; our composite keys matter."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # SQLite's own lower() folds ASCII only: "Émile" would not match a search for "émile".
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        # Statistics, as SQLite advises for a long-lived connection: check every table at
        # open (from SQLite 3.46; earlier versions ignore the 0x10000 bit), then now and
        # then while it lives, and once more when it closes (below).
        _sqlite_optimize(dbapi_connection, "PRAGMA optimize=0x10002")
        connection_record.info[_OPTIMIZED_AT] = time.monotonic()


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


# --- Statistics --------------------------------------------------------------------------------
#
# Without statistics both planners guess, and every query here says `practice_id = ?`: a guess
# can loop over a whole practice for each row of a join. SQLite never gathers statistics unless
# asked; PostgreSQL's autovacuum does, but not yet after a bulk load. So: ANALYZE after
# `db upgrade` (migrations/env.py), after `seed-demo` and after the bench's load, and SQLite's
# `PRAGMA optimize` (it analyses only the tables that changed enough or lack statistics).

# SQLite's advice for long-lived connections: optimize every few hours, or hourly.
SQLITE_OPTIMIZE_EVERY = 3600.0
_OPTIMIZED_AT = "practice_sqlite_optimized_at"


def _sqlite_optimize(dbapi_connection, pragma: str = "PRAGMA optimize") -> None:
    """Run `pragma` on a SQLite connection; a busy or read-only database skips it this time."""
    try:
        cursor = dbapi_connection.cursor()
        try:
            # SQLite's advice with optimize: bound the work (and so how long it holds the
            # write lock) by sampling at most this many rows of each index.
            cursor.execute("PRAGMA analysis_limit=400")
            cursor.execute(pragma)
            cursor.fetchall()
        finally:
            cursor.close()
    except sqlite3.Error:
        pass  # statistics are an optimisation: never fail a request or a shutdown over them


@event.listens_for(Pool, "checkout")
def _sqlite_optimizes_now_and_then(dbapi_connection, connection_record, connection_proxy) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    now = time.monotonic()
    if now - connection_record.info.get(_OPTIMIZED_AT, now) >= SQLITE_OPTIMIZE_EVERY:
        _sqlite_optimize(dbapi_connection)
        connection_record.info[_OPTIMIZED_AT] = now


@event.listens_for(Pool, "close")
def _sqlite_optimizes_before_closing(dbapi_connection, connection_record) -> None:
    """SQLite's advice: run PRAGMA optimize just before closing each connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        _sqlite_optimize(dbapi_connection)


def refresh_statistics(connection: Connection) -> None:
    """ANALYZE the whole database, on PostgreSQL or SQLite: after a migration or a bulk load."""
    connection.exec_driver_sql("ANALYZE")

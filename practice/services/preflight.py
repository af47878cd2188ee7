"""Before opening to the public: what would make this deployment unsafe, one line each.

`flask practice check-production` prints these and refuses to say "ready" while any remain.
Nothing here writes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from practice.extensions import db
from practice.models import User
from practice.security import verify_password
from practice.services.demo import DEMO_PASSWORD, DEMO_PEOPLE
from practice.tenancy import unscoped

SECRET_KEY_MIN_LENGTH = 32
_TRUE = {"1", "true", "yes", "on"}


def production_refusals() -> list[str]:
    """Every reason this app is not ready for production, each a line that says how to fix it;
    an empty list when it is."""
    config = current_app.config
    refusals = []
    if config.get("PRACTICE_ENV") != "production":
        refusals.append(
            f"PRACTICE_ENV is {config.get('PRACTICE_ENV')!r}, not 'production': set "
            "PRACTICE_ENV=production."
        )
    secret_key = config.get("SECRET_KEY") or ""
    if len(secret_key) < SECRET_KEY_MIN_LENGTH:
        refusals.append(
            f"SECRET_KEY is {'missing' if not secret_key else 'too short'}: set at least "
            f"{SECRET_KEY_MIN_LENGTH} random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
    base_url = urlsplit(config.get("BASE_URL") or "")
    if base_url.scheme != "https" or not base_url.hostname:
        refusals.append(
            "BASE_URL is not an https:// address: every emailed link is built from it "
            "(e.g. BASE_URL=https://practice.example.org)."
        )
    if current_app.debug or (os.environ.get("FLASK_DEBUG") or "").strip().lower() in _TRUE:
        refusals.append(
            "Debug mode is on: it shows code and settings to anyone who causes an error. "
            "Unset FLASK_DEBUG and drop --debug."
        )
    refusals += _demo_passwords()
    refusals += _migrations()
    return refusals


def _demo_passwords() -> list[str]:
    emails = [email for _, _, email in DEMO_PEOPLE]
    try:
        with unscoped():  # the demo's logins, whatever practice holds them
            users = db.session.scalars(select(User).where(User.email.in_(emails))).all()
    except SQLAlchemyError as error:
        db.session.rollback()
        return [
            f"Cannot read the therapists' accounts to look for demo logins: {_first_line(error)}"
        ]
    return [
        f"{user.email} still signs in with the demo's password: change it, or remove the demo."
        for user in users
        if verify_password(user.password_hash, DEMO_PASSWORD)
    ]


def _migrations() -> list[str]:
    """The database's migration revision against the scripts' head, read as the tables' owner
    when there is one (the app's role has no grant on alembic_version)."""
    script = ScriptDirectory.from_config(_alembic_config())
    heads = set(script.get_heads())
    owner_url = current_app.config.get("DATABASE_OWNER_URL")
    engine = create_engine(owner_url, poolclass=NullPool) if owner_url else db.engine
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # its "Context impl …" lines are not the report's
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        reader = "DATABASE_OWNER_URL" if owner_url else "the app's role (DATABASE_URL)"
        hint = "" if owner_url else " Set DATABASE_OWNER_URL to the tables' owner."
        return [
            f"Cannot read the database's migration revision as {reader}: "
            f"{_first_line(error)}.{hint}"
        ]
    finally:
        quiet.setLevel(level)
        if owner_url:
            engine.dispose()
    if current == heads:
        return []
    at = ", ".join(sorted(current)) or "none"
    return [
        f"The database's migrations are not at head (database: {at}; code: "
        f"{', '.join(sorted(heads))}): run `flask db upgrade`."
    ]


def _alembic_config() -> Config:
    directory = Path(current_app.extensions["migrate"].directory)
    config = Config(str(directory / "alembic.ini"))
    config.set_main_option("script_location", str(directory))
    return config


def _first_line(error: Exception) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0].rstrip(".")

"""Test fixtures: one app per session on a real database, a clean database per test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. Redis-backed tests use the real
server at TEST_REDIS_URL (default db 15 on localhost), flushed per test. With CI=true a
missing service fails the run instead of skipping.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BASE_URL = "https://practice.example.org"

# The app reads its environment when built: pin the ones tests depend on first.
os.environ["PRACTICE_ENV"] = "testing"
os.environ.pop("REDIS_URL", None)
os.environ.pop("DATABASE_URL", None)


def missing_service(what: str) -> None:
    """Skip a test that needs `what`, or fail it on CI, where nothing may be skipped quietly."""
    if IN_CI:
        pytest.fail(f"{what} is required on CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


# --- SMTP: a real server on loopback --------------------------------------------------


class Inbox:
    """Messages received by the test SMTP server."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        self.messages.append(message)
        return "250 OK"

    def links(self) -> list[str]:
        return [
            link
            for message in self.messages
            for link in re.findall(r"https?://\S+", message.get_content())
        ]

    def clear(self) -> None:
        self.messages.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A local port nobody listens on (bound for a moment, then closed): a service that is down."""
    return _free_port()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server) -> Inbox:
    _, inbox = smtp_server
    inbox.clear()
    return inbox


# --- The app and its database -----------------------------------------------------------


def _database_url(instance_path) -> str:
    from practice.config import normalise_database_url

    if TEST_DATABASE_URL:
        return normalise_database_url(TEST_DATABASE_URL)
    return f"sqlite:///{instance_path}/test.db"


@pytest.fixture(scope="session")
def app(tmp_path_factory, smtp_server):
    from flask_migrate import upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    instance_path = tmp_path_factory.mktemp("instance")
    os.environ["PRACTICE_INSTANCE_PATH"] = str(instance_path)
    from practice import create_app

    controller, _ = smtp_server
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
            "BASE_URL": BASE_URL,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": controller.hostname,
            "MAIL_PORT": controller.port,
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": None,
            "JOBS_INLINE": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    from practice.extensions import db

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError:
            missing_service(f"the database at {TEST_DATABASE_URL or 'sqlite'}")
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()  # the real migrations build the test schema
    return app


def _clean(db) -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _clean_postgresql(connection, tables)
        else:
            for table in tables:
                connection.execute(table.delete())


def _clean_postgresql(connection, tables) -> None:
    """Delete what the last test wrote and restart the id sequences it used.

    TRUNCATE … RESTART IDENTITY CASCADE took 270 ms a test, most of the suite's time: every
    table refers to `practices`, so it always emptied all of them, file by file. A test writes
    a few rows to a few tables; deleting those (children first) and resetting the sequences
    it used takes a few milliseconds.
    """
    probe = "SELECT '{0}' WHERE EXISTS (SELECT 1 FROM {0})"  # our own table names only
    with_rows = set(
        connection.exec_driver_sql(
            " UNION ALL ".join(probe.format(table.name) for table in tables)
        ).scalars()
    )
    for table in tables:  # children first
        if table.name in with_rows:
            connection.execute(table.delete())
    connection.exec_driver_sql(
        "SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), 1, false)"
        " FROM pg_sequences"
        " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
    )


@pytest.fixture(autouse=True)
def _app_context(request):
    """Every test that uses the app runs in an app context, on an empty database."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from practice.extensions import db
    from practice.tenancy import set_current_practice

    with app.app_context(), _fresh_state_per_request(app):
        _clean(db)
        set_current_practice(None)
        yield
        db.session.rollback()
        set_current_practice(None)
        db.session.remove()


@contextmanager
def _fresh_state_per_request(app):
    """Give every request what its own app context would: an empty `g` and its own session.

    The test keeps one app context open, and Flask reuses an open app context for a request
    instead of pushing a new one. Without this, `g` would outlive the request (Flask-Login's
    cached user, Flask-WTF's cached token), so the next request, even one from another client,
    could be answered as the previous one's user; and one database session would serve every
    request, hiding lazy loads that in production run in a fresh session.
    """
    from flask import g, request_started, request_tearing_down

    from practice.extensions import db

    def start(sender, **extra) -> None:
        vars(g).clear()
        db.session.remove()

    def end(sender, **extra) -> None:
        db.session.remove()

    request_started.connect(start, app)
    request_tearing_down.connect(end, app)
    try:
        yield
    finally:
        request_started.disconnect(start, app)
        request_tearing_down.disconnect(end, app)


# --- Clients --------------------------------------------------------------------------------


class Client(FlaskClient):
    """A test client that knows how to send a valid CSRF token, like a browser form does."""

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            if "csrf_token" not in session:
                session["csrf_token"] = os.urandom(20).hex()
            raw = session["csrf_token"]
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = "correct horse battery"):  # noqa: S107
        response = self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def client(app) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def make_client(app):
    def make() -> Client:
        app.test_client_class = Client
        return app.test_client()

    return make


# --- Redis -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(TEST_REDIS_URL, socket_timeout=2).ping()
    except RedisError:
        missing_service(f"Redis at {TEST_REDIS_URL}")
    return TEST_REDIS_URL


@pytest.fixture
def redis_jobs(app, redis_url):
    """Switch the app to real RQ queues on the test Redis for one test."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    saved = {key: app.config[key] for key in ("REDIS_URL", "JOBS_INLINE")}
    app.config.update(REDIS_URL=redis_url, JOBS_INLINE=False)
    app.extensions.pop("practice_redis", None)
    yield connection
    app.config.update(saved)
    app.extensions.pop("practice_redis", None)
    connection.flushdb()

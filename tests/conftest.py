"""Test fixtures: one app per session on a real database, a clean database per test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. On PostgreSQL the test database
is set up as production's is: TEST_DATABASE_URL is the tables' owner, which runs the
migrations and the clean-up between tests, and the app connects as a role of its own
(TEST_DATABASE_APP_URL, by default the same URL as the role `practice_app`), held to
row-level security. Redis-backed tests use the real server at TEST_REDIS_URL (default db 15
on localhost), flushed per test. With CI=true a missing service fails the run instead of
skipping.

Under pytest-xdist (`make test` runs `-n 2`) each worker, gw0, gw1, …, runs a session of its
own on a database of its own: TEST_DATABASE_URL's name with the worker's suffix
(practice_test_gw0), dropped and created afresh as the session starts; and on the Redis index
TEST_REDIS_URL's minus the worker's number (15, 14, …; a worker started in place of one that
crashed, gw2, takes the next: 13). On SQLite each worker's instance folder is already its own
(tmp_path_factory).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# pytest-xdist names each worker process in its environment ("gw0", "gw1", …); "" without it.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_NUMBER = int(WORKER.removeprefix("gw")) if WORKER else 0
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_DATABASE_APP_ROLE = "practice_app"
TEST_DATABASE_APP_URL = os.environ.get("TEST_DATABASE_APP_URL", "")
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


def _worker_database(url: str) -> str:
    """This worker's database on the server at `url`: its name with the worker's suffix."""
    from sqlalchemy import make_url

    if not WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


def _database_urls(instance_path) -> tuple[str, str | None]:
    """The app's URL, and the owner's (None on SQLite, where one connection does both)."""
    from sqlalchemy import make_url

    from practice.config import normalise_database_url

    if not TEST_DATABASE_URL:
        return f"sqlite:///{instance_path}/test.db", None
    owner = normalise_database_url(_worker_database(TEST_DATABASE_URL))
    app = (
        _worker_database(TEST_DATABASE_APP_URL)
        if TEST_DATABASE_APP_URL
        else make_url(owner).set(username=TEST_DATABASE_APP_ROLE)
    )
    if not isinstance(app, str):
        app = app.render_as_string(hide_password=False)
    return normalise_database_url(app), owner


@contextmanager
def _postgresql_server_setup(owner_url: str, app_url: str) -> Iterator[None]:
    """Hold the server's test-setup lock for the block: create this worker's database afresh
    (under xdist) and the app's login role if missing, as a database administrator would.

    Roles are the cluster's, not a database's: the app's role here, the unscoped role and its
    membership in the migrations' grants. Sessions set up at the same moment (the workers of
    one run, or other runs on the same server) would each see a role missing and create it,
    and all but one fail; the lock, an advisory lock in the `postgres` maintenance database
    that every session connects to, lets one session at a time through, to its upgrade's end.
    """
    import psycopg
    from psycopg import sql
    from sqlalchemy import make_url

    owner = make_url(owner_url)
    maintenance = owner.set(drivername="postgresql", database="postgres")
    try:
        connection = psycopg.connect(
            maintenance.render_as_string(hide_password=False), autocommit=True
        )
    except psycopg.OperationalError:
        missing_service(f"PostgreSQL at {TEST_DATABASE_URL}")
    with connection:
        connection.execute("SELECT pg_advisory_lock(hashtext('practice: test session setup'))")
        if WORKER:
            database = sql.Identifier(owner.database)
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(database))
        role = make_url(app_url).username
        if not connection.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (role,)
        ).fetchone()[0]:
            connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        yield  # closing the connection releases the lock


@pytest.fixture(scope="session")
def app(tmp_path_factory, smtp_server):
    from flask_migrate import upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    instance_path = tmp_path_factory.mktemp("instance")
    os.environ["PRACTICE_INSTANCE_PATH"] = str(instance_path)
    from practice import create_app

    app_url, owner_url = _database_urls(instance_path)

    controller, _ = smtp_server
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app_url,
            "DATABASE_OWNER_URL": owner_url,
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

    server_setup = _postgresql_server_setup(owner_url, app_url) if owner_url else nullcontext()
    with app.app_context(), server_setup:
        owner = owner_engine(app)
        try:
            with owner.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError:
            missing_service(f"the database at {TEST_DATABASE_URL or 'sqlite'}")
        db.metadata.drop_all(owner)
        with owner.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()  # the real migrations build the test schema, and grant the app's role
    return app


def owner_engine(app):
    """The tables' owner: it builds the schema and cleans up between tests (on SQLite, the
    app's own engine)."""
    from sqlalchemy import create_engine

    from practice.extensions import db

    if not app.config.get("DATABASE_OWNER_URL"):
        return db.engine
    engine = app.extensions.get("test_owner_engine")
    if engine is None:
        engine = app.extensions["test_owner_engine"] = create_engine(
            app.config["DATABASE_OWNER_URL"]
        )
    return engine


def _clean(app) -> None:
    from practice.extensions import db

    tables = list(reversed(db.metadata.sorted_tables))
    with owner_engine(app).begin() as connection:
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
        _clean(app)
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


@pytest.fixture
def reports_path(app, tmp_path, monkeypatch) -> Path:
    """A reports (and exports) folder of this test's own: report ids restart with every
    clean database, so files must not outlive the test."""
    path = tmp_path / "reports"
    monkeypatch.setitem(app.config, "REPORTS_PATH", str(path))
    return path


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


def _worker_redis_url(url: str) -> str:
    """This worker's Redis database: TEST_REDIS_URL's index less the worker's number (15 for
    gw0, 14 for gw1, …), since every Redis test flushes its database."""
    parts = urlsplit(url)
    index = int(parts.path.strip("/") or 0)
    if index < WORKER_NUMBER:
        pytest.fail(
            f"TEST_REDIS_URL {url} leaves no Redis database for worker {WORKER} (each worker "
            "takes the index below the previous one's): give a higher index, or fewer workers",
            pytrace=False,
        )
    return urlunsplit(parts._replace(path=f"/{index - WORKER_NUMBER}"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    url = _worker_redis_url(TEST_REDIS_URL)
    try:
        Redis.from_url(url, socket_timeout=2).ping()
    except RedisError:
        missing_service(f"Redis at {url}")
    return url


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

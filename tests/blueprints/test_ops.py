"""Health and readiness probes: JSON, no sign-in, and a clear 503 when a dependency is down."""

from __future__ import annotations

import pytest

from tests.conftest import closed_port

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def unreachable_redis(app):
    """Point the app at a Redis nobody listens on, for one test."""
    saved = app.config["REDIS_URL"]
    saved_connection = app.extensions.pop("practice_redis", None)
    app.config["REDIS_URL"] = CLOSED_PORT_REDIS
    yield
    app.config["REDIS_URL"] = saved
    app.extensions.pop("practice_redis", None)
    if saved_connection is not None:
        app.extensions["practice_redis"] = saved_connection


def test_healthz_answers_ok_without_a_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_checks_the_database_and_says_redis_is_not_configured(app, client):
    assert not app.config["REDIS_URL"]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("not configured")


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unreachable_redis_degrades_readyz_but_keeps_the_node(client, unreachable_redis, accept):
    # Rate limits fall back to memory and jobs wait for the requeue sweep: the node still
    # serves, so a load balancer must keep it.
    response = client.get("/readyz", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "redis": "degraded"}
    assert "Traceback" not in response.get_data(as_text=True)


def test_readyz_is_ok_again_once_redis_is_unset(app, client, unreachable_redis):
    assert client.get("/readyz").get_json()["status"] == "degraded"
    app.config["REDIS_URL"] = None
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


@pytest.fixture
def database_down_client(app):
    """A client of an app whose database nobody listens on (a second app: the engine is
    made from the settings the app was built with)."""
    from practice import create_app
    from practice.extensions import db, limiter

    saved = limiter.enabled
    broken = create_app(
        {
            **app.config,
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://127.0.0.1:{closed_port()}/x",
        }
    )
    broken.test_client_class = type(app.test_client())
    try:
        yield broken.test_client()
    finally:
        limiter.enabled = saved
        with broken.app_context():
            db.engine.dispose()


def test_readyz_answers_503_when_the_database_is_down(database_down_client):
    response = database_down_client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unavailable"

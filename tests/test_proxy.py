"""Behind a reverse proxy (PROXY_COUNT): the client's address and scheme come from the last
PROXY_COUNT hops of X-Forwarded-For and -Proto, never from what the client itself sent, and
without one no forwarded header is believed."""

from __future__ import annotations

import pytest
from flask import request
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from practice.config import ConfigError, load_config
from practice.extensions import db
from practice.models import AuditEvent
from practice.tenancy import unscoped
from tests.blueprints.conftest import rate_limited
from tests.conftest import Client
from tests.factories import PASSWORD, OwnerFactory

CLIENT = "203.0.113.9"
OTHER = "198.51.100.7"


@pytest.fixture(autouse=True)
def _form_clients(app, monkeypatch):
    """The rate-limited app's clients post forms with their CSRF token, as a browser does."""
    monkeypatch.setattr(app, "test_client_class", Client)


def _probe(client):
    """A page that says what the app sees (added before the app's first request)."""
    app = client.application

    def seen():
        return {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    app.add_url_rule("/_test/seen", "test_seen", seen)
    return lambda **headers: client.get("/_test/seen", headers=headers).get_json()


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "seen"),
    [
        (1, CLIENT, CLIENT),
        # Only the last hop is the proxy's: what comes before it the client wrote itself.
        (1, f"{OTHER}, {CLIENT}", CLIENT),
        (2, f"{OTHER}, {CLIENT}", OTHER),
        (0, CLIENT, "127.0.0.1"),
    ],
)
def test_the_client_address_is_the_proxys_word_only_behind_a_proxy(
    app, proxies, forwarded_for, seen
):
    with rate_limited(app, PROXY_COUNT=proxies) as client:
        probe = _probe(client)
        assert probe(**{"X-Forwarded-For": forwarded_for})["remote_addr"] == seen
        assert probe()["remote_addr"] == "127.0.0.1"


@pytest.mark.parametrize(("proxies", "scheme"), [(1, "https"), (0, "http")])
def test_the_scheme_follows_the_proxy_but_the_host_never_does(app, proxies, scheme):
    with rate_limited(app, PROXY_COUNT=proxies) as client:
        probe = _probe(client)
        seen = probe(**{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert seen["scheme"] == scheme
    assert seen["host"] == "localhost"  # links come from BASE_URL, never a header


def test_without_proxies_the_app_is_not_wrapped(app):
    assert not isinstance(app.wsgi_app, ProxyFix)
    with rate_limited(app, PROXY_COUNT=1) as client:
        wrapped = client.application.wsgi_app
    assert isinstance(wrapped, ProxyFix)
    assert (wrapped.x_for, wrapped.x_proto, wrapped.x_host, wrapped.x_prefix) == (1, 1, 0, 0)


def _attempt(client, forwarded_for: str):
    return client.post_form(
        "/login",
        {"email": "nobody@example.com", "password": "wrong!!"},
        headers={"X-Forwarded-For": forwarded_for},
    ).status_code


@pytest.mark.parametrize(("proxies", "other_is_limited"), [(1, False), (0, True)])
def test_rate_limits_count_per_forwarded_client_only_behind_a_proxy(app, proxies, other_is_limited):
    with rate_limited(app, PROXY_COUNT=proxies, LOGIN_RATE_LIMIT="2 per minute") as client:
        assert [_attempt(client, CLIENT) for _ in range(3)] == [422, 422, 429]
        assert (_attempt(client, OTHER) == 429) is other_is_limited
        # A client naming another address itself does not escape its own limit.
        assert _attempt(client, f"{OTHER}, {CLIENT}") == 429


@pytest.mark.parametrize(("proxies", "recorded"), [(1, CLIENT), (0, "127.0.0.1")])
def test_the_audit_trail_records_the_forwarded_address_only_behind_a_proxy(app, proxies, recorded):
    owner = OwnerFactory()
    db.session.commit()
    with rate_limited(app, PROXY_COUNT=proxies) as client:
        response = client.post_form(
            "/login",
            {"email": owner.email, "password": PASSWORD},
            headers={"X-Forwarded-For": f"{OTHER}, {CLIENT}"},
        )
        assert response.status_code == 302
    with unscoped():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login"))
    assert event.ip == recorded


def test_proxy_count_is_read_from_the_environment(tmp_path):
    assert load_config(tmp_path, {"SECRET_KEY": "k"})["PROXY_COUNT"] == 0
    assert load_config(tmp_path, {"SECRET_KEY": "k", "PROXY_COUNT": "2"})["PROXY_COUNT"] == 2
    with pytest.raises(ConfigError, match="PROXY_COUNT must be 0 or more"):
        load_config(tmp_path, {"SECRET_KEY": "k", "PROXY_COUNT": "-1"})
    with pytest.raises(ConfigError, match="PROXY_COUNT must be a whole number"):
        load_config(tmp_path, {"SECRET_KEY": "k", "PROXY_COUNT": "one"})

"""Redis unreachable: nobody is locked out.

The app is built as production builds it with `REDIS_URL` at a local port nobody listens on,
rate limits on. Every rate-limited form still answers as it does with Redis up (limits count
in this process's memory, with a warning in the log), and a job it starts stays pending for
the requeue sweep. The forms are found in `app.url_map`: a new rate-limited route fails
`test_every_rate_limited_route_is_tried_here` until it is added to REQUESTS below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import pytest
from flask import Flask
from flask_limiter.util import get_qualified_name
from sqlalchemy import select

from practice.extensions import db, limiter
from practice.models import JobRun, Partner, User
from practice.services import accounts, portal_access, two_factor
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.conftest import Client, closed_port
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import PASSWORD, OwnerFactory, TherapistInvitationFactory

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def redis_down(app, tmp_path) -> Flask:
    """A second app, with the Redis settings production derives from an unreachable REDIS_URL.

    Flask-Limiter reads its settings once, in init_app (see test_auth.py), hence a second app.
    The limiter is one object per process and init_app does not forget that its last storage
    died; a real process has one app, so each test here starts it afresh.
    """
    from practice import create_app
    from practice.config import load_config

    url = f"redis://127.0.0.1:{closed_port()}/0"
    derived = load_config(tmp_path, {"SECRET_KEY": "k", "REDIS_URL": url})
    settings = {
        key: value
        for key, value in derived.items()
        if key.startswith("RATELIMIT_") or key in ("REDIS_URL", "JOBS_INLINE")
    }
    assert settings["REDIS_URL"] == url and settings["JOBS_INLINE"] is False
    saved = limiter.enabled
    limiter._storage_dead = False
    down = create_app(
        {
            **app.config,
            **settings,
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "3 per minute",
            "PORTAL_LINK_RATE_LIMIT": "3 per minute",
        }
    )
    down.test_client_class = Client
    try:
        yield down
    finally:
        limiter._storage_dead = False
        limiter.enabled = saved
        with down.app_context():
            db.engine.dispose()


# --- what each rate-limited route is sent, and what it answers -----------------------------


@dataclass
class World:
    """The records the requests name: an owner, a couple with a partner's links, and so on."""

    owner_email: str
    partner_email: str
    personal_token: str
    sign_in_token: str
    reset_token: str
    invitation_token: str


def build_world() -> World:
    owner = OwnerFactory(email="ada@example.com")
    couple = CoupleFactory(practice=owner.practice, partner1_email="ann@example.com")
    ids = CoupleIds.of(couple)
    invitation = TherapistInvitationFactory(inviter=owner, email="bo@example.com")
    with practice_context(ids.practice_id):
        ann = db.session.get(Partner, ids.partner_ids[0])
        _, personal_token = portal_access.create_invite(
            db.session.get(User, owner.id), ann, email_it=False
        )
        sign_in_token = portal_access.create_sign_in_link(ann)
        reset_token = accounts.create_password_reset(db.session.get(User, owner.id))
        invitation_token = accounts.issue_invitation_token(invitation)
    world = World(
        owner_email="ada@example.com",
        partner_email="ann@example.com",
        personal_token=personal_token,
        sign_in_token=sign_in_token,
        reset_token=reset_token,
        invitation_token=invitation_token,
    )
    db.session.commit()
    return world


def in_the_portal(client: Client, world: World) -> None:
    assert client.post_form(f"/p/{world.personal_token}").status_code == 302
    assert client.post_form("/portal/privacy", {"understood": "y"}).status_code == 302


def two_step_sign_in(client: Client, world: World):
    """The owner turns two-step sign-in on, then signs in: password, then a code."""
    secret = pyotp.random_base32()
    with unscoped():
        owner = db.session.scalar(select(User).where(User.email == world.owner_email))
    with practice_context(owner.practice_id):
        two_factor.enrol(owner, secret, pyotp.TOTP(secret).now())
        db.session.commit()
    password = client.post_form("/login", {"email": world.owner_email, "password": PASSWORD})
    assert password.location == "/login/code"
    # The next half-minute's code: the one typed at set-up is used.
    return client.post_form("/login/code", {"code": pyotp.TOTP(secret).at(int(time.time()) + 30)})


@dataclass(frozen=True)
class Request:
    send: Callable[[Client, World], object]
    status: int
    location: str | None = None  # where a redirect leads
    text: str | None = None  # words on the page it answers with
    job: str | None = None  # the job it starts, which must stay pending
    emails: int = 0  # emails it sends itself, not through a job


# (endpoint, method) -> the request a person would make there, and its normal answer.
REQUESTS: dict[tuple[str, str], Request] = {
    ("auth.signup", "POST"): Request(
        # Closed as a server closes it once sent: the email goes then, straight to the mail
        # server (there is no practice yet to queue a job for), so Redis is not involved.
        lambda c, w: _closed(c.post_form("/signup", {"email": "cy@example.com"})),
        200,
        text="Check your inbox",
        emails=1,
    ),
    ("auth.signup_confirm", "POST"): Request(
        lambda c, w: c.post_form(
            f"/signup/confirm/{accounts.sign_up_link_token('cy@example.com')}",
            {
                "practice_name": "Harbour Counselling",
                "name": "Cy",
                "password": NEW_PASSWORD,
                "time_zone": "UTC",
            },
        ),
        302,
        location="/dashboard",
    ),
    ("auth.login", "POST"): Request(
        lambda c, w: c.post_form("/login", {"email": w.owner_email, "password": PASSWORD}),
        302,
        location="/dashboard",
    ),
    ("auth.login_code", "POST"): Request(
        lambda c, w: two_step_sign_in(c, w), 302, location="/dashboard"
    ),
    ("auth.forgot_password", "POST"): Request(
        lambda c, w: c.post_form("/password/forgot", {"email": w.owner_email}),
        302,
        location="/login",
        job="email.password_reset",
    ),
    ("auth.reset_password", "POST"): Request(
        lambda c, w: c.post_form(
            f"/password/reset/{w.reset_token}",
            {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ),
        302,
        location="/login",
    ),
    ("auth.accept_invitation", "POST"): Request(
        lambda c, w: c.post_form(
            f"/invitation/{w.invitation_token}", {"name": "Bo", "password": NEW_PASSWORD}
        ),
        302,
        location="/dashboard",
    ),
    ("portal.welcome", "GET"): Request(
        lambda c, w: c.get(f"/p/{w.personal_token}"), 200, text="Continue"
    ),
    ("portal.redeem", "POST"): Request(
        lambda c, w: c.post_form(f"/p/{w.personal_token}"), 302, location="/portal"
    ),
    ("portal.sign_in_link", "GET"): Request(
        lambda c, w: c.get(f"/s/{w.sign_in_token}"), 200, text="Continue"
    ),
    ("portal.redeem_sign_in_link", "POST"): Request(
        lambda c, w: c.post_form(f"/s/{w.sign_in_token}"), 302, location="/portal"
    ),
    ("portal.new_link", "POST"): Request(
        # Closed as a server closes it once sent: the link's work runs after the answer.
        lambda c, w: _closed(c.post_form("/portal/new-link", {"email": w.partner_email})),
        200,
        text="a sign-in link is on its way",
        job="email.partner_sign_in_link",
    ),
    ("portal.unlock", "POST"): Request(
        # No PIN is set, so the device is not locked: straight back to the portal.
        lambda c, w: (in_the_portal(c, w), c.post_form("/portal/unlock", {"pin": "1234"}))[1],
        302,
        location="/portal",
    ),
}


def _closed(response):
    response.close()
    return response


def rate_limited_routes(app: Flask) -> set[tuple[str, str]]:
    """(endpoint, method) of every route with a limit of its own."""
    routes = set()
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            for limit in limiter.limit_manager.decorated_limits(get_qualified_name(view)):
                methods = {m.upper() for m in (limit.methods or rule.methods)}
                routes |= {
                    (rule.endpoint, m) for m in methods & (rule.methods - {"HEAD", "OPTIONS"})
                }
    return routes


def pending_runs() -> list[tuple[str, str]]:
    db.session.expire_all()
    with unscoped():
        return [(run.function, run.status) for run in db.session.scalars(select(JobRun))]


def test_every_rate_limited_route_is_tried_here(redis_down):
    limited = rate_limited_routes(redis_down)
    assert ("auth.login", "POST") in limited  # the enumeration itself finds the limits
    assert limited == set(REQUESTS)


@pytest.mark.parametrize("route", sorted(REQUESTS), ids="-".join)
def test_a_rate_limited_route_works_with_redis_unreachable(redis_down, inbox, route):
    world = build_world()
    request = REQUESTS[route]
    client = redis_down.test_client()

    response = request.send(client, world)

    assert response.status_code == request.status, response.get_data(as_text=True)[:2000]
    if request.location:
        assert response.headers["Location"] == request.location
    if request.text:
        assert request.text in page(response).text
    runs = pending_runs()
    if request.job:
        # Redis is down: the run waits for the requeue sweep, nothing is sent yet.
        assert runs == [(request.job, "pending")]
    else:
        assert runs == []
    assert len(inbox.messages) == request.emails


def test_limits_still_count_in_memory_and_the_log_says_so_without_client_data(redis_down, caplog):
    caplog.set_level(logging.INFO)
    build_world()
    client = redis_down.test_client()
    typed = {"email": "someone.private@example.com", "password": "a typed secret"}

    answers = [client.post_form("/login", typed).status_code for _ in range(4)]

    assert answers == [422, 422, 422, 429]  # "3 per minute", counted in this process
    assert "Too many attempts" in page(client.post_form("/login", typed)).text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("in-memory" in r.getMessage() for r in warnings), [r.getMessage() for r in warnings]
    for record in caplog.records:
        assert typed["email"] not in record.getMessage()
        assert typed["password"] not in record.getMessage()
    # Another address is not refused: the limit is per client, as with Redis.
    other = client.post_form("/login", typed, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 422

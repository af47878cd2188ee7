"""The partner portal through HTTP: personal links, emailed sign-in links, portal sessions.

A GET of a link changes nothing (mail scanners open links); the POST, with its CSRF token,
starts a portal session. Every dead link looks the same. The portal session is its own
sign-in, separate from a therapist's.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from practice.extensions import db
from practice.models import (
    AuditEvent,
    Couple,
    Partner,
    PartnerInvite,
    PartnerSignInLink,
    PortalSession,
    Practice,
    PrivacyAcknowledgement,
    User,
)
from practice.models.base import utcnow
from practice.services import portal_access
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import link_path, page, rate_limited, without_form_tokens
from tests.blueprints.test_couples import (
    LAPTOP,
    PHONE,
    add_couple,
    enter_portal,
    in_portal,
    link_works,
    live_sessions,
    location,
    personal_link,
)
from tests.conftest import BASE_URL

DEAD_LINK = "This link no longer works"


# --- helpers -------------------------------------------------------------------------------------


def everything_in_the_database() -> dict[str, list[tuple]]:
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in db.metadata.sorted_tables
        }


def portal_sessions() -> list[PortalSession]:
    db.session.expire_all()
    with unscoped():
        return list(db.session.scalars(select(PortalSession).order_by(PortalSession.id)))


def invite_of(partner_id: int) -> PartnerInvite:
    db.session.expire_all()
    with unscoped():
        return db.session.scalars(
            select(PartnerInvite)
            .where(PartnerInvite.partner_id == partner_id)
            .order_by(PartnerInvite.id.desc())
        ).first()


def partner_row(partner_id: int) -> Partner:
    db.session.expire_all()
    with unscoped():
        return db.session.get(Partner, partner_id)


def actions() -> list[str]:
    with unscoped():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def session_keys(client) -> set[str]:
    with client.session_transaction() as session:
        return set(session.keys())


def signed_out_path(response) -> str:
    assert response.status_code == 302
    return urlsplit(location(response)).path


@pytest.fixture
def couple(practice_a):
    return add_couple(
        practice_a,
        label="Kim & Lee",
        partner1_name="Kim",
        partner2_name="Lee",
        partner1_email="kim@example.com",
        partner2_email="lee@example.com",
        therapist_notes="Kim found the messages in May.",
    )


@pytest.fixture
def token(couple) -> str:
    return personal_link(couple, 1)


# --- the link's page: a GET changes nothing ------------------------------------------------------


def test_get_and_head_of_a_personal_link_change_nothing(make_client, couple, token):
    before = everything_in_the_database()
    scanner = make_client()
    for _ in range(3):  # mail scanners open links, sometimes more than once
        assert scanner.get(f"/p/{token}").status_code == 200
        head = scanner.head(f"/p/{token}")
        assert head.status_code == 200
        assert head.get_data() == b""

    assert everything_in_the_database() == before
    assert portal_sessions() == []
    invite = invite_of(couple.partner_ids[0])
    assert (invite.use_count, invite.last_used_at) == (0, None)
    assert partner_row(couple.partner_ids[0]).joined_at is None
    assert "portal" not in session_keys(scanner)
    assert not in_portal(scanner)


def test_the_link_page_names_the_partner_therapist_and_practice(make_client, practice_a, token):
    response = make_client().get(f"/p/{token}")
    assert response.status_code == 200
    text = page(response).text
    assert "Welcome, Kim" in text
    assert practice_a.therapist_name in text
    assert practice_a.practice_name in text
    assert "Continue" in text
    assert "Lee" not in text  # one partner's link says nothing of the other
    assert "Kim found the messages" not in text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]


# --- the POST starts a portal session ------------------------------------------------------------


def test_continuing_starts_a_portal_session_and_drops_the_token_from_the_url(
    make_client, couple, token
):
    browser = make_client()
    response = browser.post_form(f"/p/{token}", headers={"User-Agent": PHONE})
    assert response.status_code == 302
    assert location(response) == "/portal"
    assert token not in location(response)
    assert "portal" in session_keys(browser)
    assert "_user_id" not in session_keys(browser)

    (portal_session,) = portal_sessions()
    assert portal_session.partner_id == couple.partner_ids[0]
    assert portal_session.started_via == "invite"
    assert portal_session.device == "Phone · Safari"
    assert portal_session.ended_at is None
    invite = invite_of(couple.partner_ids[0])
    assert invite.use_count == 1
    assert invite.last_used_at is not None
    assert partner_row(couple.partner_ids[0]).joined_at is not None
    assert {"partner.invite_used", "portal.session_started"} <= set(actions())

    follow = browser.get("/portal")  # first visit: the privacy notice, still without the token
    assert signed_out_path(follow) == "/portal/privacy"
    assert token not in location(follow)


@pytest.mark.parametrize("csrf_token", [None, "forged-token"])
def test_continuing_without_a_valid_csrf_token_is_refused(make_client, couple, token, csrf_token):
    browser = make_client()
    data = {} if csrf_token is None else {"csrf_token": csrf_token}
    response = browser.post(f"/p/{token}", data=data)
    assert response.status_code == 400
    assert "This form has expired" in page(response).text
    assert portal_sessions() == []
    assert invite_of(couple.partner_ids[0]).use_count == 0
    assert "portal" not in session_keys(browser)
    assert not in_portal(browser)


def test_a_personal_link_works_on_several_devices(make_client, couple, token):
    phone, laptop = make_client(), make_client()
    enter_portal(phone, token, PHONE)
    enter_portal(laptop, token, LAPTOP)
    assert [s.device for s in portal_sessions()] == ["Phone · Safari", "Computer · Firefox"]
    assert invite_of(couple.partner_ids[0]).use_count == 2
    assert in_portal(phone)
    assert in_portal(laptop)


# --- every dead link looks the same --------------------------------------------------------------


@pytest.fixture
def dead_links(practice_a, couple) -> dict[str, str]:
    """Tokens of links that no longer work, one per reason, and one never issued."""
    expired = personal_link(couple, 1)
    with unscoped():
        db.session.execute(
            update(PartnerInvite)
            .where(PartnerInvite.partner_id == couple.partner_ids[0])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    db.session.commit()

    revoked_couple = add_couple(practice_a, label="Revoked")
    revoked = personal_link(revoked_couple, 1)
    replaced = personal_link(revoked_couple, 2)
    personal_link(revoked_couple, 2)  # the re-issue voids `replaced`
    with unscoped():
        db.session.execute(
            update(PartnerInvite)
            .where(PartnerInvite.partner_id == revoked_couple.partner_ids[0])
            .values(revoked_at=utcnow(), revoke_reason="revoked")
        )
    db.session.commit()

    closed_couple = add_couple(practice_a, label="Closed")
    closed = personal_link(closed_couple, 1)  # usable until the couple closes
    with unscoped():
        db.session.execute(
            update(Couple).where(Couple.id == closed_couple.id).values(status="closed")
        )
    db.session.commit()

    return {
        "expired": expired,
        "revoked": revoked,
        "replaced": replaced,
        "closed-couple": closed,
        "unknown": secrets.token_urlsafe(32),
        "garbage": "not-a-token",
        "overlong": "x" * 2000,
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_dead_link_gets_the_same_page_and_status(make_client, dead_links, method):
    before = everything_in_the_database()
    answers = {}
    for reason, dead in dead_links.items():
        browser = make_client()
        if method == "GET":
            answers[reason] = browser.get(f"/p/{dead}")
        else:
            answers[reason] = browser.post_form(f"/p/{dead}")
        assert "portal" not in session_keys(browser), reason

    for reason, response in answers.items():
        assert response.status_code == 404, reason
        assert DEAD_LINK in page(response).text, reason
    bodies = {
        reason: without_form_tokens(r.get_data(as_text=True)) for reason, r in answers.items()
    }
    assert len(set(bodies.values())) == 1, "the page tells one dead link from another"
    header_names = {reason: sorted(dict(r.headers)) for reason, r in answers.items()}
    assert len({tuple(names) for names in header_names.values()}) == 1
    assert everything_in_the_database() == before
    assert portal_sessions() == []


def test_the_dead_link_page_offers_an_emailed_sign_in_link(make_client):
    response = make_client().get(f"/p/{secrets.token_urlsafe(32)}")
    shown = page(response)
    assert "Ask your therapist for a new one" in shown.text
    assert "email" in shown.values
    assert 'action="/portal/new-link"' in response.get_data(as_text=True)


# --- rate limits ---------------------------------------------------------------------------------


@pytest.fixture
def rate_limited_client(app):
    """A client with rate limits on, three link attempts a minute per address."""
    with rate_limited(app, PORTAL_LINK_RATE_LIMIT="3 per minute") as client:
        yield client


def guess() -> str:
    return secrets.token_urlsafe(32)


def sign_in_token(partner_id: int) -> str:
    """A live emailed sign-in link's token, made as the email job makes it."""
    with unscoped():
        practice_id = db.session.get(Partner, partner_id).practice_id
    with practice_context(practice_id):
        token = portal_access.create_sign_in_link(db.session.get(Partner, partner_id))
        db.session.commit()
    return token


# endpoint -> (send(client, token, **request_options), the kind of token that works there)
LINK_ENDPOINTS = {
    "personal-link-page": (lambda c, t, **kw: c.get(f"/p/{t}", **kw), "personal"),
    "personal-link-post": (lambda c, t, **kw: c.post_form(f"/p/{t}", **kw), "personal"),
    "sign-in-link-page": (lambda c, t, **kw: c.get(f"/s/{t}", **kw), "sign-in"),
    "sign-in-link-post": (lambda c, t, **kw: c.post_form(f"/s/{t}", **kw), "sign-in"),
    "new-link": (
        lambda c, t, **kw: c.post_form("/portal/new-link", {"email": f"{t[:8]}@example.com"}, **kw),
        "any",
    ),
}


@pytest.mark.parametrize("endpoint", sorted(LINK_ENDPOINTS))
def test_link_endpoints_are_rate_limited_per_address(
    rate_limited_client, inbox, couple, token, endpoint
):
    send, kind = LINK_ENDPOINTS[endpoint]
    good = sign_in_token(couple.partner_ids[0]) if kind == "sign-in" else token
    client = rate_limited_client
    for _ in range(3):  # guessing tokens: each a different one
        assert send(client, guess()).status_code in (200, 404)

    refused = send(client, good)  # even a good link, once this address is over the limit
    assert refused.status_code == 429
    assert "Too many attempts" in page(refused).text
    assert "Retry-After" in refused.headers
    assert portal_sessions() == []
    assert inbox.messages == []

    assert client.get("/portal/signed-out").status_code == 200  # pages are not limited
    from_elsewhere = send(client, good, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert from_elsewhere.status_code == (302 if endpoint.endswith("-post") else 200)


# --- the privacy notice --------------------------------------------------------------------------


def test_the_first_visit_asks_for_the_privacy_acknowledgement(
    make_client, practice_a, couple, token
):
    browser = make_client()
    assert browser.post_form(f"/p/{token}").status_code == 302
    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"

    notice = browser.get("/portal/privacy")
    assert notice.status_code == 200
    text = page(notice).text
    assert practice_a.therapist_name in text
    assert "What you tell your therapist privately stays private." in text  # the practice's
    assert "limited secrets" in text

    unticked = browser.post_form("/portal/privacy", {})
    assert unticked.status_code == 422
    assert page(unticked).errors == {"understood": "Please tick the box to continue."}
    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(PrivacyAcknowledgement)) == 0

    ticked = browser.post_form("/portal/privacy", {"understood": "y"})
    assert ticked.status_code == 302
    assert location(ticked) == "/portal"
    assert browser.get("/portal").status_code == 200
    with unscoped():
        (ack,) = db.session.scalars(select(PrivacyAcknowledgement)).all()
        assert (ack.partner_id, ack.notice_version, ack.secrets_policy) == (
            couple.partner_ids[0],
            1,
            "limited_secrets",
        )
    assert partner_row(couple.partner_ids[0]).privacy_acknowledged_version == 1
    assert "partner.privacy_acknowledged" in actions()

    again = browser.get("/portal/privacy")
    assert "You acknowledged this notice" in page(again).text
    assert 'name="understood"' not in again.get_data(as_text=True)
    browser.post_form("/portal/privacy", {"understood": "y"})
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(PrivacyAcknowledgement)) == 1


def test_a_new_notice_version_is_acknowledged_again(make_client, practice_a, token):
    browser = make_client()
    enter_portal(browser, token)
    with unscoped():
        db.session.execute(
            update(Practice)
            .where(Practice.id == practice_a.practice_id)
            .values(privacy_notice_version=2, secrets_policy="no_secrets")
        )
    db.session.commit()

    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"
    assert "no secrets" in page(browser.get("/portal/privacy")).text
    assert browser.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    assert browser.get("/portal").status_code == 200
    with unscoped():
        versions = db.session.scalars(
            select(PrivacyAcknowledgement.notice_version).order_by(PrivacyAcknowledgement.id)
        ).all()
    assert versions == [1, 2]


def _notice_words(app, monkeypatch, words: str) -> None:
    """Deploy new wording of the notice, as a release of the app would."""
    from jinja2 import ChoiceLoader, DictLoader

    from practice.services.portal_access import PRIVACY_NOTICE_TEMPLATE

    loader = ChoiceLoader([DictLoader({PRIVACY_NOTICE_TEMPLATE: words}), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    app.jinja_env.cache.clear()
    monkeypatch.setitem(app.extensions, "practice_privacy_notice", {})


def test_new_words_in_the_notice_are_acknowledged_again(
    app, monkeypatch, make_client, owner_client, couple, token
):
    browser = make_client()
    enter_portal(browser, token)
    assert browser.get("/portal").status_code == 200
    couple_page = f"/couples/{couple.id}"
    assert "Asked to read the updated notice" not in page(owner_client.get(couple_page)).text

    _notice_words(app, monkeypatch, "<p>Your therapist reads what you write. New words.</p>")

    assert "Asked to read the updated notice" in page(owner_client.get(couple_page)).text
    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"
    assert "New words." in page(browser.get("/portal/privacy")).text
    assert browser.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    assert browser.get("/portal").status_code == 200
    with unscoped():
        acks = db.session.scalars(
            select(PrivacyAcknowledgement).order_by(PrivacyAcknowledgement.id)
        ).all()
    # The same policy version, two different texts: each acknowledgement names its words.
    assert [ack.notice_version for ack in acks] == [1, 1]
    assert len({ack.notice_digest for ack in acks}) == 2


def test_the_notice_promises_only_what_the_portal_does(make_client, token):
    browser = make_client()
    assert browser.post_form(f"/p/{token}").status_code == 302
    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"

    notice = browser.get("/portal/privacy")
    text = page(notice).text.lower()
    html = notice.get_data(as_text=True)

    # Each feature the notice names is on the portal: the weekly check-in with its share box
    # and sealed reflection, the safety questions, the quick exit and the PIN.
    assert "weekly check-in" in text and "choose to share it with your partner" in text
    assert browser.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    checkin = browser.get("/portal/checkin")
    assert checkin.status_code == 200
    form = page(checkin)
    assert "checkin-reflection" in form.values and "share this check-in with" in form.text.lower()
    assert "Quick exit" in html and 'action="/portal/exit"' in html
    assert "pin" in text and browser.get("/portal/pin").status_code == 200
    # Nothing the portal does not have: no messaging with the therapist.
    for promise in ("message your therapist", "chat with"):
        assert promise not in text, promise


# --- the portal home -----------------------------------------------------------------------------


def test_the_portal_home_shows_the_partners_couple_and_therapist_only(
    make_client, practice_a, practice_b, couple, token
):
    other = add_couple(
        practice_a,
        label="Yolanda & Yusuf",
        partner1_name="Yolanda",
        partner2_name="Yusuf",
        therapist_notes="Yusuf's notes",
    )
    elsewhere = add_couple(practice_b, partner1_name="Zeno", partner2_name="Zara")
    enter_portal(make_client(), personal_link(other))  # the other couple is in the portal too
    enter_portal(make_client(), personal_link(elsewhere))

    browser = make_client()
    enter_portal(browser, token)
    response = browser.get("/portal")
    assert response.status_code == 200
    text = page(response).text
    assert "Hello, Kim" in text
    assert "Lee" in text
    assert practice_a.therapist_name in text
    assert practice_a.practice_name in text
    html = response.get_data(as_text=True)
    for hidden in ("Yolanda", "Yusuf", "Zeno", "Zara", practice_b.practice_name):
        assert hidden not in html, hidden
    for url in ("/portal", "/portal/privacy"):  # the therapist's notes stay with therapists
        assert "Kim found the messages" not in browser.get(url).get_data(as_text=True), url


# --- the portal session is its own sign-in -------------------------------------------------------

THERAPIST_PAGES = ["/dashboard", "/couples", "/couples/new", "/account", "/settings/team"]


def test_a_partner_cookie_opens_no_therapist_page(make_client, couple, token):
    browser = make_client()
    enter_portal(browser, token)
    assert "portal" in session_keys(browser)
    assert "_user_id" not in session_keys(browser)  # a portal session only

    for url in [*THERAPIST_PAGES, f"/couples/{couple.id}", f"/couples/{couple.id}/edit"]:
        response = browser.get(url)
        assert response.status_code == 302, url
        assert urlsplit(location(response)).path == "/login", url
    response = browser.post_form(f"/couples/{couple.id}/close")
    assert urlsplit(location(response)).path == "/login"
    assert in_portal(browser)  # and the portal still works


def test_a_therapist_cookie_opens_no_portal_page(therapist_client, couple, token):
    for url in ["/portal", "/portal/privacy"]:
        response = therapist_client.get(url)
        assert signed_out_path(response) == "/portal/signed-out", url
    response = therapist_client.post_form("/portal/sign-out")
    assert signed_out_path(response) == "/portal/signed-out"
    assert therapist_client.get("/dashboard").status_code == 200  # still a signed-in therapist


def test_a_forged_portal_cookie_opens_nothing(make_client, couple, token):
    browser = make_client()
    enter_portal(browser, token)
    (portal_session,) = portal_sessions()
    for forged in (
        {"sid": portal_session.id, "pid": couple.partner_ids[1], "v": 1},  # the other partner
        {"sid": portal_session.id, "pid": couple.partner_ids[0], "v": 2},  # a future version
        {"sid": "x", "pid": None, "v": []},
        "not a dict",
    ):
        intruder = make_client()
        with intruder.session_transaction() as session:
            session["portal"] = forged
        assert signed_out_path(intruder.get("/portal")) == "/portal/signed-out", forged


# --- ending portal sessions ----------------------------------------------------------------------


def copy_of(make_client, browser):
    """Another browser holding a copy of this one's session cookie."""
    copy = make_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    return copy


def test_revoking_the_partners_access_ends_the_session_at_the_next_request(
    therapist_client, make_client, couple, token
):
    phone = make_client()
    enter_portal(phone, token)
    stolen = copy_of(make_client, phone)
    assert in_portal(stolen)

    response = therapist_client.post_form(
        f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/access/revoke"
    )
    assert response.status_code == 302

    assert signed_out_path(phone.get("/portal")) == "/portal/signed-out"
    assert signed_out_path(stolen.get("/portal/privacy")) == "/portal/signed-out"
    (ended,) = portal_sessions()
    assert ended.ended_at is not None
    assert ended.end_reason == "access revoked"
    assert partner_row(couple.partner_ids[0]).session_version == 2
    assert "portal" not in session_keys(phone)  # the dead session is dropped from the cookie


def subscribe_to_calendar(client) -> str:
    """Subscribe in the portal; return the path of the private feed URL it shows."""
    html = client.post_form("/portal/calendar/subscribe").get_data(as_text=True)
    start = html.index(f"{BASE_URL}/calendar/")
    return urlsplit(html[start : html.index('"', start)]).path


def test_revoked_means_out_by_every_way_in_until_a_new_link(
    therapist_client, make_client, inbox, couple, token
):
    kim = make_client()
    enter_portal(kim, token)
    feed = subscribe_to_calendar(kim)
    assert make_client().get(feed).status_code == 200
    ask_for_a_link(make_client, "kim@example.com")  # a sign-in link already in a mailbox
    (emailed,) = inbox.links()
    inbox.clear()
    unknown_feed = make_client().get(f"/calendar/{secrets.token_urlsafe(32)}.ics")

    response = therapist_client.post_form(
        f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/access/revoke"
    )
    assert response.status_code == 302

    assert not in_portal(kim)
    assert not link_works(token, make_client)
    # Someone who knows Kim's address asks for a link: told what anyone is told, sent nothing.
    asked = ask_for_a_link(make_client, "kim@example.com")
    assert "Check your email" in page(asked).text
    assert inbox.messages == []
    # The link emailed before the revoke is dead, like any dead link.
    for dead in (
        make_client().get(link_path(emailed)),
        make_client().post_form(link_path(emailed)),
    ):
        assert dead.status_code == 404
        assert DEAD_LINK in page(dead).text
    # The calendar feed answers exactly as a token that never existed.
    revoked_feed = make_client().get(feed)
    assert revoked_feed.status_code == unknown_feed.status_code == 404
    assert revoked_feed.get_data() == unknown_feed.get_data()
    assert [s.end_reason for s in portal_sessions()] == ["access revoked"]
    text = page(therapist_client.get(f"/couples/{couple.id}")).text
    assert "Access revoked" in text

    # A new personal link lets Kim back in; the old feed stays dead, a new one works.
    enter_portal(kim, personal_link(couple, 1))
    assert make_client().get(feed).status_code == 404
    assert make_client().get(subscribe_to_calendar(kim)).status_code == 200
    assert ask_for_a_link(make_client, "kim@example.com").status_code == 200
    assert len(inbox.messages) == 1


def test_a_therapist_ending_one_device_leaves_the_other_signed_in(
    therapist_client, make_client, couple, token
):
    phone, laptop = make_client(), make_client()
    enter_portal(phone, token, PHONE)
    enter_portal(laptop, token, LAPTOP)
    phone_copy = copy_of(make_client, phone)
    phone_session, laptop_session = live_sessions(couple.partner_ids[0])

    response = therapist_client.post_form(
        f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/sessions/{phone_session}/end"
    )
    assert response.status_code == 302

    assert not in_portal(phone)
    assert not in_portal(phone_copy)
    assert in_portal(laptop)
    assert "Hello, Kim" in page(laptop.get("/portal")).text
    assert live_sessions(couple.partner_ids[0]) == [laptop_session]


def test_a_partner_signs_out(make_client, couple, token):
    browser = make_client()
    enter_portal(browser, token)
    copy = copy_of(make_client, browser)

    assert browser.get("/portal/sign-out").status_code == 405
    no_token = browser.post("/portal/sign-out")
    assert no_token.status_code == 400
    assert in_portal(browser)

    response = browser.post_form("/portal/sign-out")
    assert response.status_code == 200
    assert "You are signed out" in page(response).text
    assert "portal" not in session_keys(browser)
    assert not in_portal(browser)
    assert not in_portal(copy)  # the session is over on the server, not just in this cookie
    (ended,) = portal_sessions()
    assert ended.end_reason == "signed out"
    assert "portal.session_ended" in actions()


def test_a_link_used_on_a_signed_in_device_ends_that_devices_session(make_client, couple, token):
    tablet = make_client()  # one tablet at home, shared
    enter_portal(tablet, token)
    left_behind = copy_of(make_client, tablet)

    enter_portal(tablet, personal_link(couple, 2))

    first, second = portal_sessions()
    assert (first.partner_id, first.end_reason) == (
        couple.partner_ids[0],
        "another sign-in on this device",
    )
    assert (second.partner_id, second.ended_at) == (couple.partner_ids[1], None)
    assert "Lee" in page(tablet.get("/portal")).text
    assert not in_portal(left_behind)  # over on the server, not just gone from the cookie


def test_a_dead_link_on_a_signed_in_device_leaves_its_session_alone(make_client, couple, token):
    phone = make_client()
    enter_portal(phone, token)

    response = phone.post_form(f"/p/{secrets.token_urlsafe(32)}")

    assert response.status_code == 404
    (live,) = portal_sessions()
    assert live.ended_at is None
    assert in_portal(phone)


def test_a_link_of_another_practice_on_a_signed_in_device(make_client, couple, token, practice_b):
    elsewhere = add_couple(practice_b, label="Elsewhere", partner1_name="Noor")
    tablet = make_client()
    enter_portal(tablet, token)

    enter_portal(tablet, personal_link(elsewhere, 1))

    first, second = portal_sessions()
    assert (first.practice_id, first.end_reason) == (
        couple.practice_id,
        "another sign-in on this device",
    )
    assert (second.practice_id, second.ended_at) == (elsewhere.practice_id, None)
    with unscoped():
        ended = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "portal.session_ended")
        ).one()
    assert ended.practice_id == couple.practice_id  # recorded in its own practice's log
    assert "Noor" in page(tablet.get("/portal")).text


def test_an_idle_portal_session_ends(make_client, couple, token):
    browser = make_client()
    enter_portal(browser, token)
    (session_id,) = live_sessions(couple.partner_ids[0])

    with unscoped():
        db.session.execute(
            update(PortalSession)
            .where(PortalSession.id == session_id)
            .values(last_seen_at=utcnow() - timedelta(days=29))
        )
    db.session.commit()
    assert in_portal(browser)  # within the practice's 30 days: and the visit counts
    assert portal_sessions()[0].last_seen_at > utcnow() - timedelta(minutes=1)

    with unscoped():
        db.session.execute(
            update(PortalSession)
            .where(PortalSession.id == session_id)
            .values(last_seen_at=utcnow() - timedelta(days=31))
        )
    db.session.commit()
    assert not in_portal(browser)
    (ended,) = portal_sessions()
    assert ended.end_reason == "idle"


# --- the emailed sign-in link --------------------------------------------------------------------


def ask_for_a_link(make_client, email: str):
    response = make_client().post_form("/portal/new-link", {"email": email})
    response.close()  # as a server does once the page is sent: the request's work runs then
    return response


@pytest.mark.parametrize(
    "other",
    ["nobody@example.com", "therapist", "closed-couple", "revoked-partner"],
)
def test_asking_for_a_sign_in_link_answers_alike_for_known_and_unknown_emails(
    make_client, practice_a, couple, inbox, other
):
    if other == "therapist":
        other = practice_a.therapist_email
    elif other == "closed-couple":
        add_couple(practice_a, partner1_email="gone@example.com", status="closed")
        other = "gone@example.com"
    elif other == "revoked-partner":
        revoked = add_couple(practice_a, partner1_email="revoked@example.com")
        with practice_context(practice_a.practice_id):
            therapist = db.session.get(User, practice_a.therapist_id)
            partner = db.session.get(Partner, revoked.partner_ids[0])
            portal_access.revoke_partner_access(therapist, partner)
            db.session.commit()
        other = "revoked@example.com"

    known = ask_for_a_link(make_client, "Kim@Example.com")
    assert len(inbox.messages) == 1
    unknown = ask_for_a_link(make_client, other)
    assert len(inbox.messages) == 1  # nothing sent for the other address

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert sorted(dict(known.headers)) == sorted(dict(unknown.headers))
    assert "Check your email" in page(known).text
    (message,) = inbox.messages
    assert message["To"] == "kim@example.com"


def test_a_bad_email_on_the_sign_in_link_form_is_shown_beside_the_field(make_client, inbox):
    response = make_client().post_form("/portal/new-link", {"email": "kim.example.com"})
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors == {"email": "Enter a valid email."}
    assert shown.values["email"] == "kim.example.com"
    assert inbox.messages == []


def test_the_emailed_sign_in_link_works_once(make_client, couple, inbox):
    ask_for_a_link(make_client, "kim@example.com")
    (link,) = inbox.links()
    assert link.startswith(f"{BASE_URL}/s/")
    path = link_path(link)
    assert "partner.sign_in_link_requested" in actions()

    before = everything_in_the_database()
    scanner = make_client()
    for _ in range(3):
        opened = scanner.get(path)
        assert opened.status_code == 200
        assert "Welcome back" in page(opened).text
        assert scanner.head(path).status_code == 200
    assert everything_in_the_database() == before
    assert "portal" not in session_keys(scanner)

    assert make_client().post(path).status_code == 400  # no CSRF token: nothing used up
    browser = make_client()
    response = browser.post_form(path, headers={"User-Agent": LAPTOP})
    assert response.status_code == 302
    assert location(response) == "/portal"
    (portal_session,) = portal_sessions()
    assert portal_session.partner_id == couple.partner_ids[0]
    assert portal_session.started_via == "email link"
    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"

    unknown = make_client().get(f"/p/{secrets.token_urlsafe(32)}")
    for second_use in (make_client().get(path), make_client().post_form(path)):
        assert second_use.status_code == 404
        assert without_form_tokens(second_use.get_data(as_text=True)) == without_form_tokens(
            unknown.get_data(as_text=True)
        )
    assert len(portal_sessions()) == 1


def test_an_expired_sign_in_link_is_dead(make_client, couple, inbox):
    ask_for_a_link(make_client, "kim@example.com")
    path = link_path(inbox.links()[0])
    with unscoped():
        db.session.execute(
            update(PartnerSignInLink).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    db.session.commit()
    for response in (make_client().get(path), make_client().post_form(path)):
        assert response.status_code == 404
        assert DEAD_LINK in page(response).text
    assert portal_sessions() == []

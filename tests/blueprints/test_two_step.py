"""Two-step sign-in through its pages: set up by scanning (the key read off the page, codes
made as an authenticator app makes them), then every sign-in asks for a code; a code works
once; recovery codes work once each; a remembered browser is not asked for 30 days; the owner
can require it of everyone and reset a therapist's; the command line resets an owner's."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from practice.extensions import db
from practice.models import AuditEvent, Practice, RecoveryCode, User
from practice.tenancy import unscoped
from tests.blueprints.conftest import page

PASSWORD = "correct horse battery"


def _actions() -> list[str]:
    db.session.expire_all()
    with unscoped():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _enrol(client) -> tuple[pyotp.TOTP, list[str]]:
    """Set it up as a therapist does: read the key off the page, type a code back."""
    setup = client.get("/account/two-step")
    assert setup.status_code == 200
    html = setup.get_data(as_text=True)
    assert "<svg" in html and "QR code for your authenticator app" in html
    (grouped,) = re.findall(r'<code class="copy-box">([A-Z2-7 ]+)</code>', html)
    totp = pyotp.TOTP(grouped.replace(" ", ""))

    wrong = client.post_form("/account/two-step", {"code": "000000"})
    assert wrong.status_code == 422
    assert "That code does not match" in page(wrong).text

    done = client.post_form("/account/two-step", {"code": totp.now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "shown only now" in page(done).text
    return totp, codes


def _next_code(totp: pyotp.TOTP) -> str:
    """The code an app shows in the next half-minute: the one typed at set-up is used."""
    return totp.at(int(time.time()) + 30)


def _password_step(client, email: str):
    response = client.post_form("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def _signed_in(client) -> bool:
    response = client.get("/dashboard")
    return response.status_code == 200


def test_set_up_then_every_sign_in_asks_for_a_code_that_works_once(
    make_client, therapist_client, practice_a
):
    totp, _ = _enrol(therapist_client)
    assert "auth.two_factor_enabled" in _actions()
    with unscoped():
        user = db.session.get(User, practice_a.therapist_id)
        stored = user.totp_secret
    assert stored and totp.secret not in stored  # sealed, never the key itself

    browser = make_client()
    step = _password_step(browser, practice_a.therapist_email)
    assert step.location == "/login/code"
    assert not _signed_in(browser)  # the password alone opens nothing
    assert "auth.login" not in _actions()[-1:]

    refused = browser.post_form("/login/code", {"code": "123456"})
    assert refused.status_code == 422
    assert "That code is not right" in page(refused).text
    code = _next_code(totp)
    accepted = browser.post_form("/login/code", {"code": code})
    assert accepted.status_code == 302 and accepted.location == "/dashboard"
    assert _signed_in(browser)
    assert _actions().count("auth.login") >= 1

    # The same code, in another browser a moment later, is refused: a code works once.
    again = make_client()
    _password_step(again, practice_a.therapist_email)
    assert again.post_form("/login/code", {"code": code}).status_code == 422
    assert not _signed_in(again)
    assert "auth.two_factor_failed" in _actions()


def test_a_recovery_code_signs_in_once(make_client, therapist_client, practice_a):
    _, codes = _enrol(therapist_client)
    browser = make_client()
    _password_step(browser, practice_a.therapist_email)
    assert browser.post_form("/login/code", {"code": codes[3].upper()}).status_code == 302
    assert _signed_in(browser)

    other = make_client()
    _password_step(other, practice_a.therapist_email)
    assert other.post_form("/login/code", {"code": codes[3]}).status_code == 422
    with unscoped():
        used = db.session.scalars(
            select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))
        ).all()
    assert len(used) == 1
    assert "auth.recovery_code_used" in _actions()


def test_a_remembered_browser_is_not_asked_again(make_client, therapist_client, practice_a):
    totp, _ = _enrol(therapist_client)
    browser = make_client()
    _password_step(browser, practice_a.therapist_email)
    done = browser.post_form("/login/code", {"code": _next_code(totp), "remember": "y"})
    assert "practice_device=" in done.headers["Set-Cookie"]
    assert "HttpOnly" in done.headers["Set-Cookie"]
    browser.post_form("/logout")

    back = _password_step(browser, practice_a.therapist_email)
    assert back.location == "/dashboard"  # straight in: this browser is remembered
    assert _signed_in(browser)

    # Another browser is asked.
    assert _password_step(make_client(), practice_a.therapist_email).location == "/login/code"


def test_the_owner_requires_it_and_resets_a_therapists(
    make_client, owner_client, therapist_client, practice_a
):
    _enrol(owner_client)  # requiring it of everyone includes the owner
    required = owner_client.post_form("/settings/team/two-step", {"required": "1"})
    assert required.status_code == 302
    with unscoped():
        assert db.session.get(Practice, practice_a.practice_id).require_two_factor

    # The therapist, signed in before, is taken to set it up; their account and signing
    # out still work.
    sent = therapist_client.get("/dashboard")
    assert sent.status_code == 302 and sent.location == "/account/two-step"
    assert therapist_client.get("/couples").location == "/account/two-step"
    assert therapist_client.get("/account").status_code == 200
    totp, _ = _enrol(therapist_client)
    assert therapist_client.get("/dashboard").status_code == 200
    # It cannot be turned off while the practice requires it.
    therapist_client.post_form("/account/two-step/off")
    with unscoped():
        assert db.session.get(User, practice_a.therapist_id).totp_enabled_at is not None

    # Lost phone: the owner resets it; the next sign-in is by password, then set up again.
    reset = owner_client.post_form(f"/settings/team/{practice_a.therapist_id}/reset-two-step")
    assert reset.status_code == 302
    assert "auth.two_factor_reset" in _actions()
    browser = make_client()
    assert _password_step(browser, practice_a.therapist_email).location == "/dashboard"
    assert browser.get("/dashboard").location == "/account/two-step"


def test_a_therapist_of_another_practice_cannot_be_reset(owner_client, practice_a, practice_b):
    response = owner_client.post_form(f"/settings/team/{practice_b.therapist_id}/reset-two-step")
    assert response.status_code == 404


def test_the_command_line_resets_an_owners_two_step_sign_in(app, owner_client, practice_a):
    _enrol(owner_client)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["practice", "reset-2fa", practice_a.owner_email.upper()])
    assert result.exit_code == 0, result.output
    assert "is reset" in result.output
    with unscoped():
        owner = db.session.get(User, practice_a.owner_id)
        assert owner.totp_enabled_at is None and owner.totp_secret is None
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.two_factor_reset")
        ).one()
    assert event.actor_label == "command line"
    unknown = runner.invoke(args=["practice", "reset-2fa", "nobody@example.com"])
    assert unknown.exit_code != 0 and "No therapist signs in with" in unknown.output


def test_guessing_codes_is_rate_limited(rate_limited_client, therapist_client, practice_a):
    totp, _ = _enrol(therapist_client)
    client = rate_limited_client
    _password_step(client, practice_a.therapist_email)
    for _ in range(10):  # the code step's own ten a minute
        assert client.post_form("/login/code", {"code": "000000"}).status_code == 422
    refused = client.post_form("/login/code", {"code": _next_code(totp)})
    assert refused.status_code == 429
    assert "Too many attempts" in page(refused).text
    assert client.get("/dashboard").status_code == 302  # the right code did not get in


def test_after_a_key_rotation_a_sign_in_reseals_the_secret_so_the_old_key_can_go(
    app, make_client, therapist_client, practice_a, monkeypatch
):
    from datetime import timedelta

    from practice.models.base import utcnow
    from practice.services import two_factor

    totp, _ = _enrol(therapist_client)
    old_key = app.secret_key
    monkeypatch.setitem(app.config, "SECRET_KEY", "a new key " * 6)
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [old_key])
    with unscoped():
        sealed_before = db.session.get(User, practice_a.therapist_id).totp_secret

    browser = make_client()
    _password_step(browser, practice_a.therapist_email)
    accepted = browser.post_form("/login/code", {"code": _next_code(totp)})
    assert accepted.status_code == 302 and accepted.location == "/dashboard"
    db.session.expire_all()
    with unscoped():
        user = db.session.get(User, practice_a.therapist_id)
        assert user.totp_secret != sealed_before  # sealed again, with the new key

    # The old key dropped: the resealed secret still opens, and a later code is accepted.
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
    later = utcnow() + timedelta(minutes=2)
    with unscoped():
        user = db.session.get(User, practice_a.therapist_id)
        assert two_factor.verify(user, totp.at(later), now=later)


def test_a_secret_sealed_with_a_dropped_key_refuses_codes_kindly_and_takes_a_recovery_code(
    app, make_client, therapist_client, practice_a, monkeypatch
):
    totp, recovery_codes = _enrol(therapist_client)
    monkeypatch.setitem(app.config, "SECRET_KEY", "a new key " * 6)
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])  # the old key dropped too soon

    browser = make_client()
    _password_step(browser, practice_a.therapist_email)
    refused = browser.post_form("/login/code", {"code": _next_code(totp)})
    assert refused.status_code == 422
    assert "That code is not right" in page(refused).text
    accepted = browser.post_form("/login/code", {"code": recovery_codes[0]})
    assert accepted.status_code == 302 and accepted.location == "/dashboard"

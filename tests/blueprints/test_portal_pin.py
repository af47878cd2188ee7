"""The portal PIN: a shared device shows nothing of the portal until the PIN is entered."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from practice.extensions import db
from practice.models import AuditEvent, Couple, Partner, PortalSession, User
from practice.models.base import utcnow
from practice.services import homework
from practice.services.portal_pin import PIN_IDLE, PIN_TRIES
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_couples import enter_portal, location, personal_link
from tests.blueprints.test_portal import (  # noqa: F401 - fixtures
    actions,
    couple,
    in_portal,
    portal_sessions,
    token,
)
from tests.couple_factories import public  # noqa: I001

PIN = "482916"


def set_pin(browser, pin: str = PIN, current: str = ""):
    return browser.post_form(
        "/portal/pin", {"current_pin": current, "new_pin": pin, "confirm_pin": pin}
    )


def partner_row(partner_id: int) -> Partner:
    db.session.expire_all()
    with unscoped():
        return db.session.get(Partner, partner_id)


def is_locked(browser) -> bool:
    response = browser.get("/portal")
    if response.status_code == 200:
        return False
    assert response.status_code == 302
    return location(response).startswith("/portal/unlock")


@pytest.fixture
def phone(make_client, token):  # noqa: F811
    browser = make_client()
    enter_portal(browser, token)
    return browser


def test_setting_a_pin_stores_only_its_hash_and_keeps_this_device_open(phone, couple):  # noqa: F811
    home = phone.get("/portal").get_data(as_text=True)
    assert "data-lock-after" not in home and 'action="/portal/lock"' not in home
    form = page(phone.get("/portal/pin"))
    assert "current_pin" not in form.values  # nothing to prove before the first PIN

    response = set_pin(phone)

    assert response.status_code == 302
    partner = partner_row(couple.partner_ids[0])
    assert partner.pin_hash and PIN not in partner.pin_hash
    assert partner.pin_set_at is not None
    assert not is_locked(phone)
    assert "portal.pin_set" in actions()


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("12", "12", "new_pin", "4 to 8 digits"),
        ("123456789", "123456789", "new_pin", "4 to 8 digits"),
        ("12a4", "12a4", "new_pin", "numbers only"),
        ("", "", "new_pin", "4 to 8 digits"),
        ("١٢٣٤", "١٢٣٤", "new_pin", "numbers only"),  # Arabic-Indic digits are not 0-9
        ("4829", "4828", "confirm_pin", "not the same"),
        ("9" * 100, "9" * 100, "new_pin", "4 to 8 digits"),
    ],
)
def test_a_bad_pin_is_refused_beside_its_field(phone, couple, new, confirm, field, message):  # noqa: F811
    response = phone.post_form(
        "/portal/pin", {"current_pin": "", "new_pin": new, "confirm_pin": confirm}
    )

    assert response.status_code == 422
    assert message in page(response).errors[field]
    assert partner_row(couple.partner_ids[0]).pin_hash is None


def test_another_device_is_locked_until_the_pin_is_entered(phone, make_client, couple):  # noqa: F811
    apology = apology_of_the_first_partner(couple)
    set_pin(phone)
    tablet = make_client()
    enter_portal_locked(tablet, personal_link(couple, 1))

    for path in (
        "/portal",
        f"/portal/homework/{public(apology)}",
        "/portal/privacy",
        "/portal/pin",
    ):
        response = tablet.get(path)
        assert response.status_code == 302, path
        assert location(response).startswith("/portal/unlock"), path
    unlock_page = tablet.get("/portal/unlock").get_data(as_text=True)
    assert "Kim" not in unlock_page and "Lee" not in unlock_page  # no names, no content
    autosave = tablet.post_form(
        f"/portal/homework/{public(apology)}/autosave",
        {"content-what_i_did": "typed while locked", "version": "0"},
        headers={"Accept": "application/json"},
    )
    assert autosave.status_code == 423
    assert "kept on this device" in autosave.get_json()["message"]

    opened = tablet.post_form(
        f"/portal/unlock?next=/portal/homework/{public(apology)}", {"pin": PIN}
    )
    assert location(opened) == f"/portal/homework/{public(apology)}"
    assert tablet.get(f"/portal/homework/{public(apology)}").status_code == 200


def test_wrong_pins_count_down_and_the_last_signs_the_device_out(phone, make_client, couple):  # noqa: F811
    set_pin(phone)
    tablet = make_client()
    enter_portal_locked(tablet, personal_link(couple, 1))

    for tries_left in range(PIN_TRIES - 1, 0, -1):
        response = tablet.post_form("/portal/unlock", {"pin": "000000"})
        assert response.status_code == 422
        plural = "try" if tries_left == 1 else "tries"
        assert f"{tries_left} {plural} left" in page(response).errors["pin"]

    last = tablet.post_form("/portal/unlock", {"pin": "000000"})

    assert last.status_code == 403
    assert "Signed out for your safety" in page(last).text
    assert not in_portal(tablet)
    ended = [s for s in portal_sessions() if s.end_reason == "too many wrong PINs"]
    assert len(ended) == 1
    assert in_portal(phone)  # the partner's own phone is not affected


def test_a_right_pin_resets_the_count(phone, make_client, couple):  # noqa: F811
    set_pin(phone)
    phone.post_form("/portal/lock")
    for _ in range(PIN_TRIES - 1):
        phone.post_form("/portal/unlock", {"pin": "000000"})
    phone.post_form("/portal/unlock", {"pin": PIN})
    phone.post_form("/portal/lock")

    response = phone.post_form("/portal/unlock", {"pin": "000000"})

    assert f"{PIN_TRIES - 1} tries left" in page(response).errors["pin"]


def test_the_portal_locks_after_idle_minutes_and_on_request(phone, couple):  # noqa: F811
    set_pin(phone)
    assert not is_locked(phone)

    with unscoped():
        db.session.execute(
            update(PortalSession).values(unlocked_at=utcnow() - PIN_IDLE - timedelta(seconds=1))
        )
    db.session.commit()
    assert is_locked(phone)

    phone.post_form("/portal/unlock", {"pin": PIN})
    assert not is_locked(phone)
    home = phone.get("/portal").get_data(as_text=True)
    assert 'action="/portal/lock"' in home
    assert f'data-lock-after="{int(PIN_IDLE.total_seconds())}"' in home  # the idle reload
    phone.post_form("/portal/lock")
    assert is_locked(phone)


def test_use_keeps_the_portal_open(phone, couple):  # noqa: F811
    set_pin(phone)
    almost = utcnow() - PIN_IDLE + timedelta(seconds=30)
    with unscoped():
        db.session.execute(update(PortalSession).values(unlocked_at=almost))
    db.session.commit()

    assert not is_locked(phone)  # used just in time: the window slides

    (session,) = portal_sessions()
    assert session.unlocked_at > almost + timedelta(seconds=20)


def test_changing_or_removing_the_pin_needs_the_current_one(phone, couple):  # noqa: F811
    set_pin(phone)

    wrong = set_pin(phone, "1111", current="9999")
    assert wrong.status_code == 422
    assert "not your current PIN" in page(wrong).errors["current_pin"]
    refused = phone.post_form("/portal/pin/remove", {"remove-current_pin": "9999"})
    assert refused.status_code == 422
    assert partner_row(couple.partner_ids[0]).pin_hash is not None

    assert set_pin(phone, "1111", current=PIN).status_code == 302
    removed = phone.post_form("/portal/pin/remove", {"remove-current_pin": "1111"})
    assert removed.status_code == 302
    assert partner_row(couple.partner_ids[0]).pin_hash is None
    assert {"portal.pin_changed", "portal.pin_removed"} <= set(actions())


def test_the_therapist_clears_a_forgotten_pin(phone, make_client, therapist_client, couple):  # noqa: F811
    set_pin(phone)
    partner_id = couple.partner_ids[0]
    shown = therapist_client.get(f"/couples/{couple.id}").get_data(as_text=True)
    assert f"/couples/{couple.id}/partners/{partner_id}/pin/clear" in shown

    cleared = therapist_client.post_form(f"/couples/{couple.id}/partners/{partner_id}/pin/clear")

    assert cleared.status_code == 302
    assert partner_row(partner_id).pin_hash is None
    with unscoped():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "portal.pin_cleared")
        ).one()
    assert event.actor_user_id is not None and event.couple_id == couple.id
    tablet = make_client()
    enter_portal(tablet, personal_link(couple, 1))  # no PIN asked any more
    assert in_portal(tablet)


def test_a_locked_device_can_still_sign_out(phone, make_client, couple):  # noqa: F811
    set_pin(phone)
    tablet = make_client()
    enter_portal_locked(tablet, personal_link(couple, 1))

    assert tablet.post_form("/portal/sign-out").status_code == 200
    assert not in_portal(tablet)


def test_unlock_goes_back_only_to_a_portal_page(phone, couple):  # noqa: F811
    set_pin(phone)
    phone.post_form("/portal/lock")
    for target in ("https://evil.test/", "//evil.test/portal", "/couples", "/portal\\..\\x"):
        phone.post_form("/portal/lock")
        response = phone.post_form(f"/portal/unlock?next={target}", {"pin": PIN})
        assert location(response) == "/portal", target


# --- helpers ----------------------------------------------------------------------------------


def enter_portal_locked(browser, token: str) -> None:  # noqa: F811
    """Use a personal link on a new device of a partner who has a PIN: it opens locked."""
    response = browser.post_form(f"/p/{token}")
    assert response.status_code == 302
    assert is_locked(browser)


def apology_of_the_first_partner(couple) -> int:  # noqa: F811
    with practice_context(couple.practice_id):
        assignment = homework.assign(
            db.session.get(User, couple.therapist_ids[0]),
            db.session.get(Couple, couple.id),
            kind_key="apology",
            mode="one",
            partner_id=couple.partner_ids[0],
            instructions="",
            due_date=None,
        )
        db.session.commit()
        return assignment.responses[0].id


def _guess_at_once(app, make_client, device, pins: list[str]) -> list[tuple[int, str]]:
    """Send every PIN from the same device (one cookie) at the same moment, one per thread."""
    cookie = device.get_cookie("session").value
    clients = []
    for _ in pins:
        client = make_client()
        client.set_cookie("session", cookie)
        clients.append((client, client.csrf_token()))
    db.session.remove()  # the test's own thread holds no connection while they race
    start = threading.Barrier(len(pins), timeout=30)
    answers: list[tuple[int, str]] = []

    def guess(client, csrf, pin) -> None:
        with app.app_context():
            start.wait()
            response = client.post("/portal/unlock", data={"pin": pin, "csrf_token": csrf})
            answers.append((response.status_code, page(response).errors.get("pin", "")))

    threads = [
        threading.Thread(target=guess, args=(client, csrf, pin))
        for (client, csrf), pin in zip(clients, pins, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert len(answers) == len(pins), "every guess got an answer"
    return answers


def test_wrong_pins_sent_at_once_are_each_counted(app, phone, make_client, couple):  # noqa: F811
    set_pin(phone)
    tablet = make_client()
    enter_portal_locked(tablet, personal_link(couple, 1))

    answers = _guess_at_once(app, make_client, tablet, ["000000"] * 14)

    counting_down = sorted(error for status, error in answers if status == 422)
    assert counting_down == sorted(
        f"That PIN is not right. {n} {'try' if n == 1 else 'tries'} left."
        for n in range(PIN_TRIES - 1, 0, -1)
    )
    # The rest are refused: locked out (403) if they read the session before the last try
    # ended it, or signed out (a redirect) if they came after; none is counted.
    refused = [status for status, _ in answers if status != 422]
    assert len(refused) == 14 - (PIN_TRIES - 1) and set(refused) <= {403, 302}, refused
    (ended,) = [s for s in portal_sessions() if s.end_reason == "too many wrong PINs"]
    assert ended.pin_failures == PIN_TRIES
    assert not in_portal(tablet)
    assert in_portal(phone)


def test_a_right_pin_among_a_burst_of_wrong_ones_does_not_buy_more_guesses(
    app,
    phone,
    make_client,
    couple,  # noqa: F811
):
    set_pin(phone)
    tablet = make_client()
    enter_portal_locked(tablet, personal_link(couple, 1))

    answers = _guess_at_once(app, make_client, tablet, ["000000"] * 14 + [PIN])

    # Whatever the order, the right PIN buys no guesses: at most four wrong ones are weighed
    # before it (it resets the count) and four after it, by requests that read the device as
    # locked. A fifth weighed in a row ends the device's session; when the right PIN comes
    # early, the wrong ones that find the device open are not weighed, and it stays open.
    wrong_answers = [error for status, error in answers if status == 422]
    assert len(wrong_answers) <= 2 * (PIN_TRIES - 1), answers
    ended = [s.end_reason for s in portal_sessions() if s.ended_at]
    if ended:
        assert ended == ["too many wrong PINs"]
        assert not in_portal(tablet)
    else:
        assert in_portal(tablet)

"""Signing up, in and out, passwords and sessions, through HTTP.

Real database, real SMTP server (the inbox), the app's own CSRF, sessions and rate limits.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import event, func, select

from practice.extensions import db
from practice.models import AuditEvent, Practice, User, UserSession
from practice.services import DomainError, accounts
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import link_path, page
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, OwnerFactory, UserFactory

NEW_PASSWORD = "a brand new passphrase"
LONG = "x" * 5000
LONG_PASSWORD = "p" * 5000
LONG_EMAIL = "a" * 4988 + "@example.com"
SHORT = "Qz7#k"
UNICODE_NAME = "Zoë Ñandú-Łukasz 心理 💜"
PASSWORD_FIELDS = {"password", "confirm", "current_password", "new_password"}
EXPIRED_FORM = "This form has expired"


def commit() -> None:
    db.session.commit()


def can_sign_in(email: str, password: str) -> bool:
    try:
        accounts.authenticate(email, password)
    except DomainError:
        return False
    finally:
        db.session.rollback()
    return True


def location(response) -> str:
    return response.headers["Location"]


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(make_client, cookie: str, url: str = "/dashboard"):
    """Send a saved session cookie from another browser."""
    other = make_client()
    other.set_cookie("session", cookie)
    return other.get(url)


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/login"


@pytest.fixture
def ada(app):
    """An owner with a known email, committed."""
    owner = OwnerFactory(email="ada@example.com", name="Ada Owner")
    ids = {"id": owner.id, "practice_id": owner.practice_id, "email": owner.email}
    commit()
    return ids


# --- sign-up ----------------------------------------------------------------------------


def test_the_sign_up_page_renders(client):
    response = client.get("/signup")
    assert response.status_code == 200
    form = page(response)
    assert set(form.values) == {"email", "csrf_token"}  # the rest comes with the emailed link
    assert "Create your practice" in form.text


def sign_up(client, inbox, email: str, **fields):
    """Sign up through both forms: the address, then the emailed link's form."""
    asked = client.post_form("/signup", {"email": email})
    assert asked.status_code == 200
    asked.close()  # as a server closes a sent answer: the email goes then
    (link,) = inbox.links()
    return client.post_form(link_path(link), fields)


def test_sign_up_creates_the_practice_and_signs_the_owner_in(client, inbox):
    response = sign_up(
        client,
        inbox,
        "Ada@Example.com",
        practice_name="Harbour Couples Therapy",
        name="Ada Lovelace",
        password=PASSWORD,
        time_zone="Europe/Berlin",
    )
    assert response.status_code == 302
    assert location(response) == "/dashboard"

    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Harbour Couples Therapy" in dashboard.get_data(as_text=True)
    with unscoped():
        (owner,) = db.session.scalars(select(User)).all()
        practice = db.session.get(Practice, owner.practice_id)
    assert (owner.email, owner.role) == ("ada@example.com", "owner")
    assert practice.time_zone == "Europe/Berlin"
    assert client.get("/settings/team").status_code == 200  # the owner runs the team


def test_sign_up_with_unicode_names_works(client, inbox):
    response = sign_up(
        client,
        inbox,
        "zoe@example.com",
        practice_name="心理 Praxis Zoë",
        name=UNICODE_NAME,
        password="pässwörd mit Ümlauten 心",
        time_zone="Asia/Tokyo",
    )
    assert response.status_code == 302
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "心理 Praxis Zoë" in dashboard
    assert can_sign_in("zoe@example.com", "pässwörd mit Ümlauten 心")


@pytest.mark.parametrize("url", ["/signup", "/login"])
def test_a_signed_in_therapist_is_sent_to_the_dashboard(client, ada, url):
    client.login("ada@example.com")
    response = client.get(url)
    assert response.status_code == 302
    assert location(response) == "/dashboard"


# --- every bad input, on every form --------------------------------------------------------


class Case(NamedTuple):
    form: str
    data: dict | None  # None: nothing but the CSRF token
    errors: dict[str, str]  # field -> words its message must hold; "" -> the form as a whole


def case(id_: str, form: str, data: dict | None, errors: dict[str, str]):
    return pytest.param(Case(form, data, errors), id=f"{form}-{id_}")


def signup_data(**overrides) -> dict:
    """The second form of a sign-up, behind the link emailed to bea@example.com."""
    data = {
        "practice_name": "Harbour Couples Therapy",
        "name": "Bea Therapist",
        "password": PASSWORD,
        "time_zone": "Europe/Paris",
    }
    data.update(overrides)
    return data


BAD_INPUT = [
    # sign-up: the address
    case("empty", "signup", {"email": ""}, {"email": "Enter your email."}),
    case("missing", "signup", None, {"email": "Enter your email."}),
    case("overlong", "signup", {"email": LONG_EMAIL}, {"email": "Enter a valid email."}),
    case("invalid-email", "signup", {"email": "bea.example.com"}, {"email": "valid email"}),
    case("email-with-spaces", "signup", {"email": "bea @example.com"}, {"email": "valid"}),
    case("unicode", "signup", {"email": "名前@"}, {"email": "valid email"}),
    # sign-up: the practice, from the emailed link
    case(
        "empty",
        "confirm",
        dict.fromkeys(["practice_name", "name", "password", "time_zone"], ""),
        {
            "practice_name": "Name your practice.",
            "name": "Tell us your name.",
            "password": "Choose a password.",
            "time_zone": "Not a valid choice",
        },
    ),
    case(
        "missing",
        "confirm",
        None,
        {
            "practice_name": "Name your practice.",
            "name": "Tell us your name.",
            "password": "Choose a password.",
        },
    ),
    case(
        "blank",
        "confirm",
        signup_data(practice_name="   ", name="\t "),
        {"practice_name": "Name your practice.", "name": "Tell us your name."},
    ),
    case(
        "overlong",
        "confirm",
        signup_data(practice_name=LONG, name=LONG, password=LONG_PASSWORD),
        {
            "practice_name": "longer than 200",
            "name": "longer than 120",
            "password": "Use 10 to 256 characters.",
        },
    ),
    case(
        "unicode",
        "confirm",
        signup_data(practice_name="心理 Praxis Zoë", name=UNICODE_NAME, password=SHORT),
        {"password": "Use 10 to 256 characters."},
    ),
    case(
        "garbage-time-zone",
        "confirm",
        signup_data(time_zone="Mars/Olympus_Mons"),
        {"time_zone": "Not a valid choice"},
    ),
    case(
        "password-is-email",
        "confirm",
        signup_data(password="BEA@example.com"),
        {"password": "cannot be your email"},
    ),
    # sign-in
    case(
        "empty",
        "login",
        {"email": "", "password": ""},
        {"email": "Enter your email.", "password": "Enter your password."},
    ),
    case(
        "missing",
        "login",
        None,
        {"email": "Enter your email.", "password": "Enter your password."},
    ),
    case(
        "overlong",
        "login",
        {"email": LONG, "password": LONG_PASSWORD},
        {"email": "longer than 254", "password": "longer than 1024"},
    ),
    case(
        "wrong-password",
        "login",
        {"email": "ada@example.com", "password": "not the password"},
        {"": "do not match"},
    ),
    case(
        "invalid-email",
        "login",
        {"email": "ada.example.com", "password": PASSWORD},
        {"": "do not match"},
    ),
    case(
        "unicode",
        "login",
        {"email": "zoë@exämple.com", "password": "pässwörd 心"},
        {"": "do not match"},
    ),
    # forgotten password
    case("empty", "forgot", {"email": ""}, {"email": "Enter your email."}),
    case("missing", "forgot", None, {"email": "Enter your email."}),
    case("invalid-email", "forgot", {"email": "ada.example.com"}, {"email": "valid email"}),
    case("overlong", "forgot", {"email": LONG_EMAIL}, {"email": "valid email"}),
    case("unicode", "forgot", {"email": "名前@"}, {"email": "valid email"}),
    # reset link
    case(
        "empty",
        "reset",
        {"password": "", "confirm": ""},
        {"password": "Choose a password.", "confirm": "Repeat the password."},
    ),
    case(
        "missing",
        "reset",
        None,
        {"password": "Choose a password.", "confirm": "Repeat the password."},
    ),
    case(
        "mismatch",
        "reset",
        {"password": NEW_PASSWORD, "confirm": "a different passphrase"},
        {"confirm": "The two differ."},
    ),
    case(
        "short",
        "reset",
        {"password": SHORT, "confirm": SHORT},
        {"password": "Use 10 to 256 characters."},
    ),
    case(
        "overlong",
        "reset",
        {"password": LONG_PASSWORD, "confirm": LONG_PASSWORD},
        {"password": "Use 10 to 256 characters."},
    ),
    case(
        "password-is-email",
        "reset",
        {"password": "Ada@Example.com", "confirm": "Ada@Example.com"},
        {"password": "cannot be your email"},
    ),
    case(
        "unicode",
        "reset",
        {"password": "pässwörd mit Ümlauten 心", "confirm": "pässwörd mit Umlauten 心"},
        {"confirm": "The two differ."},
    ),
    # invitation
    case(
        "empty",
        "accept",
        {"name": "", "password": ""},
        {"name": "Tell us your name.", "password": "Choose a password."},
    ),
    case(
        "missing",
        "accept",
        None,
        {"name": "Tell us your name.", "password": "Choose a password."},
    ),
    case(
        "overlong",
        "accept",
        {"name": LONG, "password": LONG_PASSWORD},
        {"name": "longer than 120", "password": "Use 10 to 256 characters."},
    ),
    case(
        "unicode",
        "accept",
        {"name": UNICODE_NAME, "password": SHORT},
        {"password": "Use 10 to 256 characters."},
    ),
    case(
        "password-is-email",
        "accept",
        {"name": "Bob", "password": "bob@example.com"},
        {"password": "cannot be your email"},
    ),
    # account
    case(
        "empty",
        "account",
        {"current_password": "", "new_password": ""},
        {"current_password": "Enter your current password.", "new_password": "Choose a password."},
    ),
    case(
        "missing",
        "account",
        None,
        {"current_password": "Enter your current password.", "new_password": "Choose a password."},
    ),
    case(
        "wrong-current",
        "account",
        {"current_password": "not the password", "new_password": NEW_PASSWORD},
        {"current_password": "not right"},
    ),
    case(
        "short",
        "account",
        {"current_password": PASSWORD, "new_password": SHORT},
        {"new_password": "Use 10 to 256 characters."},
    ),
    case(
        "overlong",
        "account",
        {"current_password": LONG_PASSWORD, "new_password": LONG_PASSWORD},
        {"new_password": "Use 10 to 256 characters."},
    ),
    case(
        "new-is-email",
        "account",
        {"current_password": PASSWORD, "new_password": "ada@EXAMPLE.com"},
        {"new_password": "cannot be your email"},
    ),
]

FORMS = ["signup", "confirm", "login", "forgot", "reset", "accept", "account"]


@pytest.fixture
def open_form(client, ada, inbox):
    """Return (client, url) for a form, with whatever it needs (a link, a session) in place."""

    def open_(form: str):
        if form in ("signup", "login"):
            return client, f"/{form}"
        if form == "forgot":
            return client, "/password/forgot"
        if form == "confirm":
            return client, f"/signup/confirm/{accounts.sign_up_link_token('bea@example.com')}"
        if form == "reset":
            accounts.request_password_reset("ada@example.com")
            commit()
            (link,) = inbox.links()
            return client, link_path(link)
        if form == "accept":
            with practice_context(ada["practice_id"]):
                owner = db.session.get(User, ada["id"])
                accounts.invite_therapist(owner, email="bob@example.com", name="Bob")
                commit()
            (link,) = inbox.links()
            return client, link_path(link)
        client.login("ada@example.com")
        return client, "/account"

    return open_


@pytest.mark.parametrize("form", FORMS)
def test_every_form_page_renders(open_form, form):
    client, url = open_form(form)
    response = client.get(url)
    assert response.status_code == 200
    assert "csrf_token" in page(response).values


@pytest.mark.parametrize("bad", BAD_INPUT)
def test_bad_input_is_answered_with_a_message_beside_the_field(open_form, bad: Case):
    client, url = open_form(bad.form)
    response = client.post_form(url, bad.data)
    html = response.get_data(as_text=True)

    assert response.status_code == 422, html[:500]
    shown = page(response)
    expected_fields = {field for field in bad.errors if field}
    assert set(shown.errors) == expected_fields, shown.errors
    for field, words in bad.errors.items():
        if field:
            assert words in shown.errors[field], (field, shown.errors[field])
        else:
            assert any(words in error for error in shown.form_errors), shown.form_errors

    # What was typed is still there (never a password), so nothing has to be retyped.
    for field, typed in (bad.data or {}).items():
        if field in PASSWORD_FIELDS:
            assert shown.values.get(field, "") == ""
            if "@" not in typed and len(typed) >= 5:
                assert typed not in html, f"the {field} was echoed back"
        elif field == "time_zone":
            if typed == "Europe/Paris":
                assert shown.selected[field] == typed
        else:
            assert shown.values[field] == typed, field

    # Nothing changed behind the refusal.
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(Practice)) == 1
    assert can_sign_in("ada@example.com", PASSWORD)


@pytest.mark.parametrize("form", FORMS)
def test_a_null_character_is_refused_with_a_page_not_a_crash(open_form, form):
    """PostgreSQL cannot store U+0000: it must never reach the database."""
    client, url = open_form(form)
    fields = {
        "signup": {"email": "bea\x00@example.com"},
        "confirm": signup_data(practice_name="Harbour\x00", name="Bea\x00"),
        "login": {"email": "ada@example.com\x00", "password": PASSWORD},
        "forgot": {"email": "ada\x00@example.com"},
        "reset": {"password": "pass\x00phrase long", "confirm": "pass\x00phrase long"},
        "accept": {"name": "Bob\x00", "password": NEW_PASSWORD},
        "account": {"current_password": PASSWORD, "new_password": "pass\x00phrase long"},
    }[form]
    response = client.post_form(url, fields)
    assert response.status_code == 400
    assert "control character" in page(response).text
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert can_sign_in("ada@example.com", PASSWORD)


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("/password/reset/not-a-real-token", "Send me a new link"),
        ("/invitation/nope", "owner"),
        ("/signup/confirm/not-a-real-token", "Send me a new link"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unknown_link_shows_a_friendly_404(client, url, what, method):
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post_form(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 404
    text = page(response).text
    assert "This link no longer works" in text
    assert what in text


# --- signing in and out ---------------------------------------------------------------------


def test_a_wrong_password_says_so_and_keeps_the_email(client, ada):
    response = client.post_form("/login", {"email": "ada@example.com", "password": "wrong one!"})
    assert response.status_code == 422
    shown = page(response)
    assert shown.form_errors == ["That email and password do not match an account."]
    assert shown.values["email"] == "ada@example.com"
    assert "wrong one!" not in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_an_unknown_email_reads_exactly_like_a_wrong_password(make_client, ada):
    wrong = make_client().post_form("/login", {"email": "ada@example.com", "password": "nope!"})
    unknown = make_client().post_form("/login", {"email": "who@example.com", "password": "nope!"})
    assert wrong.status_code == unknown.status_code == 422
    assert page(wrong).form_errors == page(unknown).form_errors


def test_a_deactivated_therapist_cannot_sign_in(client, ada):
    with unscoped():
        practice = db.session.get(Practice, ada["practice_id"])
    UserFactory(practice=practice, email="bob@example.com", active=False)
    commit()
    response = client.post_form("/login", {"email": "bob@example.com", "password": PASSWORD})
    assert response.status_code == 422
    assert "deactivated" in " ".join(page(response).form_errors)
    assert client.get("/dashboard").status_code == 302


def test_signing_in_starts_a_fresh_session_with_safe_cookie_flags(client, ada):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = client.login("ada@example.com")
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    with client.session_transaction() as session:
        assert "planted" not in session
    with unscoped():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.login" in actions


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "http://evil.com/dashboard",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "evil.com",
        "",
    ],
)
def test_next_cannot_send_anyone_off_site(client, ada, target):
    response = client.post_form(
        f"/login?next={quote(target, safe='')}", {"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert location(response) == "/dashboard"


def test_next_brings_the_therapist_back_to_the_page_they_asked_for(client, ada):
    asked = client.get("/settings/team")
    assert asked.status_code == 302
    target = location(asked)
    assert urlsplit(target).path == "/login"
    response = client.post_form(target, {"email": "ada@example.com", "password": PASSWORD})
    assert location(response) == "/settings/team"


def test_logout_needs_a_post_with_a_csrf_token(client, ada):
    client.login("ada@example.com")

    assert client.get("/logout").status_code == 405
    no_token = client.post("/logout")
    assert no_token.status_code == 400
    assert EXPIRED_FORM in page(no_token).text
    assert client.get("/dashboard").status_code == 200  # still signed in

    response = client.post_form("/logout")
    assert response.status_code == 302
    assert location(response) == "/login"
    assert_sent_to_login(client.get("/dashboard"))
    with unscoped():
        assert "auth.logout" in db.session.scalars(select(AuditEvent.action)).all()


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/login", {"email": "ada@example.com", "password": PASSWORD}),
        ("/signup", {"email": "bea@example.com"}),
        ("/signup/confirm/{token}", signup_data()),
        ("/password/forgot", {"email": "ada@example.com"}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_post_without_a_valid_csrf_token_is_refused_kindly(client, ada, inbox, url, data, token):
    url = url.format(token=accounts.sign_up_link_token("bea@example.com"))
    if token:
        data = {**data, "csrf_token": token}
    response = client.post(url, data=data)
    response.close()  # anything meant to be sent once the answer is sent would be sent now
    assert response.status_code == 400
    shown = page(response)
    assert EXPIRED_FORM in shown.text
    assert "what you typed is still there" in shown.text
    assert client.get("/dashboard").status_code == 302  # not signed in
    assert inbox.messages == []
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(Practice)) == 1


def test_a_signed_in_form_without_a_csrf_token_changes_nothing(client, ada):
    client.login("ada@example.com")
    response = client.post(
        "/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert EXPIRED_FORM in page(response).text
    assert can_sign_in("ada@example.com", PASSWORD)


# --- old cookies stop working ---------------------------------------------------------------


@pytest.fixture
def bob(ada):
    with unscoped():
        practice = db.session.get(Practice, ada["practice_id"])
    therapist = UserFactory(practice=practice, email="bob@example.com", name="Bob Therapist")
    bob_id = therapist.id
    commit()
    return bob_id


def test_signing_out_everywhere_kills_a_copied_cookie(client, make_client, ada):
    client.login("ada@example.com")
    cookie = session_cookie(client)
    assert replay(make_client, cookie).status_code == 200  # the copy works until then

    response = client.post_form("/account/sign-out-everywhere")
    assert_sent_to_login(response)

    assert_sent_to_login(replay(make_client, cookie))
    assert_sent_to_login(client.get("/dashboard"))


def test_signing_out_kills_a_copied_cookie_but_not_the_other_devices(client, make_client, ada):
    client.login("ada@example.com")
    cookie = session_cookie(client)
    phone = make_client()
    phone.login("ada@example.com")
    assert replay(make_client, cookie).status_code == 200  # the copy works until then

    assert_sent_to_login(client.post_form("/logout"))

    assert_sent_to_login(replay(make_client, cookie))  # over on the server, not just here
    assert_sent_to_login(client.get("/dashboard"))
    assert phone.get("/dashboard").status_code == 200  # the phone stays signed in
    assert_sent_to_login(replay(make_client, cookie))  # and it stays that way


LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile Safari/604.1"


def sign_in_on(make_client, user_agent: str, email: str = "ada@example.com"):
    browser = make_client()
    response = browser.post_form(
        "/login", {"email": email, "password": PASSWORD}, headers={"User-Agent": user_agent}
    )
    assert response.status_code == 302
    return browser


def device_sign_out_actions(html: str) -> list[str]:
    return re.findall(r'action="(/account/devices/\d+/sign-out)"', html)


def test_the_account_page_lists_signed_in_devices_and_signs_one_out(make_client, ada):
    laptop = sign_in_on(make_client, LAPTOP)
    phone = sign_in_on(make_client, PHONE)
    copy_of_phone = session_cookie(phone)

    shown = laptop.get("/account", headers={"User-Agent": LAPTOP})
    text = page(shown).text
    assert "Computer · Firefox (this device)" in text
    assert "Phone · Safari" in text
    (sign_out_phone,) = device_sign_out_actions(shown.get_data(as_text=True))  # not this one

    assert laptop.post(sign_out_phone).status_code == 400  # no CSRF token: nothing ends
    assert phone.get("/dashboard").status_code == 200
    response = laptop.post_form(sign_out_phone)
    assert response.status_code == 302
    assert location(response) == "/account"

    after = laptop.get("/account")
    assert "That device is signed out." in page(after).text
    assert "Phone · Safari" not in page(after).text
    assert device_sign_out_actions(after.get_data(as_text=True)) == []
    assert_sent_to_login(phone.get("/dashboard"))
    assert_sent_to_login(replay(make_client, copy_of_phone))
    assert laptop.get("/dashboard").status_code == 200
    with unscoped():
        assert "auth.session_ended" in db.session.scalars(select(AuditEvent.action)).all()


def test_a_therapist_cannot_sign_out_someone_elses_device(make_client, ada, bob):
    ada_phone = sign_in_on(make_client, PHONE)
    bob_laptop = sign_in_on(make_client, LAPTOP, "bob@example.com")
    ada_laptop = sign_in_on(make_client, LAPTOP)
    (ada_phone_action,) = device_sign_out_actions(ada_laptop.get("/account").get_data(True))

    response = bob_laptop.post_form(ada_phone_action)

    assert response.status_code == 404
    assert ada_phone.get("/dashboard").status_code == 200


def test_the_session_check_rides_in_the_one_query_that_loads_the_therapist(client, ada):
    client.login("ada@example.com")
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get("/dashboard").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    with_sessions = [s for s in statements if "user_sessions" in s]
    assert len(with_sessions) == 1, with_sessions
    (loader,) = with_sessions
    assert "from users" in loader and "join practices" in loader


def test_changing_the_password_kills_other_cookies_but_keeps_this_one(client, make_client, ada):
    client.login("ada@example.com")
    cookie = session_cookie(client)
    assert replay(make_client, cookie).status_code == 200

    response = client.post_form(
        "/account", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert location(response) == "/account"

    assert_sent_to_login(replay(make_client, cookie))
    assert "Other devices are signed out" in page(client.get("/account")).text
    assert client.get("/dashboard").status_code == 200
    assert can_sign_in("ada@example.com", NEW_PASSWORD)


def test_deactivation_kills_the_therapists_cookies(make_client, ada, bob):
    therapist = make_client()
    therapist.login("bob@example.com")
    cookie = session_cookie(therapist)
    assert replay(make_client, cookie).status_code == 200

    owner = make_client()
    owner.login("ada@example.com")
    assert owner.post_form(f"/settings/team/{bob}/deactivate").status_code == 302

    assert_sent_to_login(replay(make_client, cookie))
    assert_sent_to_login(therapist.get("/dashboard"))


@pytest.mark.parametrize(
    ("clock", "ago", "signed_in"),
    [
        ("seen_at", 59 * 60, True),
        ("seen_at", 61 * 60, False),
        ("seen_at", 10 * 24 * 3600, False),
        ("auth_at", 11 * 3600, True),
        ("auth_at", 13 * 3600, False),
    ],
)
def test_idle_and_absolute_timeouts_sign_out(client, ada, clock, ago, signed_in):
    client.login("ada@example.com")
    with client.session_transaction() as session:
        session[clock] = time.time() - ago

    response = client.get("/dashboard")
    if signed_in:
        assert response.status_code == 200
        return
    assert_sent_to_login(response)
    assert "period of inactivity" in page(client.get(location(response))).text
    assert_sent_to_login(client.get("/dashboard"))  # and it stays that way
    with unscoped():
        (timed_out,) = db.session.scalars(select(UserSession)).all()
    assert (timed_out.end_reason, timed_out.ended_at is not None) == ("timed out", True)


# --- rate limits ----------------------------------------------------------------------------


def test_the_eleventh_sign_in_attempt_in_a_minute_is_refused_kindly(rate_limited_client, ada):
    client = rate_limited_client
    for _ in range(10):
        response = client.post_form("/login", {"email": "ada@example.com", "password": "wrong!!"})
        assert response.status_code == 422
    refused = client.post_form("/login", {"email": "ada@example.com", "password": PASSWORD})

    assert refused.status_code == 429
    shown = page(refused)
    assert "Too many attempts" in shown.text
    assert "wait a minute" in shown.text
    assert "Traceback" not in refused.get_data(as_text=True)
    assert "Retry-After" in refused.headers
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert client.get("/dashboard").status_code == 302  # the right password did not get in
    assert client.get("/login").status_code == 200  # reading the page is not limited


def test_the_session_app_is_not_rate_limited(client, ada):
    for _ in range(12):
        response = client.post_form("/login", {"email": "ada@example.com", "password": "wrong!!"})
        assert response.status_code == 422


# --- headers --------------------------------------------------------------------------------

PUBLIC_PAGES = [
    "/login",
    "/signup",
    "/signup/confirm/{token}",
    "/signup/confirm/not-a-real-token",
    "/password/forgot",
    "/no-such-page",
]
SIGNED_IN_PAGES = ["/dashboard", "/account", "/settings/team", "/settings/practice"]


def assert_security_headers(response) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


def assert_nothing_inline(html: str) -> None:
    """The CSP forbids inline script and style: the page must not rely on any."""
    lowered = html.lower()
    assert "<script>" not in lowered
    assert " style=" not in lowered
    assert "<style" not in lowered
    assert " onclick=" not in lowered and " onsubmit=" not in lowered


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_carry_the_security_headers(client, url):
    response = client.get(url.format(token=accounts.sign_up_link_token("bea@example.com")))
    assert response.status_code in (200, 404)
    assert_security_headers(response)
    assert_nothing_inline(response.get_data(as_text=True))


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_signed_in_pages_are_never_cached(client, ada, url):
    client.login("ada@example.com")
    response = client.get(url)
    assert response.status_code == 200
    assert_security_headers(response)
    assert "no-store" in response.headers["Cache-Control"]
    assert_nothing_inline(response.get_data(as_text=True))


# --- password reset, end to end -------------------------------------------------------------


@pytest.mark.parametrize(
    "foreign_host",
    [{"headers": {"Host": "evil.example"}}, {"base_url": "http://evil.example"}],
    ids=["host-header", "base-url"],
)
def test_password_reset_end_to_end_links_to_the_configured_site(
    client, make_client, ada, inbox, foreign_host
):
    # A browser on the foreign host: its own session cookie, its own form token.
    form = client.get("/password/forgot", **foreign_host)
    token = page(form).values["csrf_token"]
    response = client.post(
        "/password/forgot", data={"email": "ada@example.com", "csrf_token": token}, **foreign_host
    )
    assert response.status_code == 302

    (message,) = inbox.messages
    assert message["To"] == "ada@example.com"
    assert "evil.example" not in message.get_content()
    (link,) = inbox.links()
    assert link.startswith(f"{BASE_URL}/password/reset/")
    path = link_path(link)

    browser = make_client()
    opened = browser.get(path)
    assert opened.status_code == 200
    assert "Choose a new password" in page(opened).text
    saved = browser.post_form(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert saved.status_code == 302
    assert location(saved) == "/login"
    assert "Your password is changed" in page(browser.get("/login")).text

    old_password = browser.post_form("/login", {"email": "ada@example.com", "password": PASSWORD})
    assert old_password.status_code == 422
    browser.login("ada@example.com", NEW_PASSWORD)

    again = make_client().get(path)
    assert again.status_code == 404
    assert "This link no longer works" in page(again).text


def test_the_reset_link_page_changes_nothing_on_get(client, ada, inbox):
    client.post_form("/password/forgot", {"email": "ada@example.com"})
    path = link_path(inbox.links()[0])
    for _ in range(3):  # mail scanners open links
        assert client.get(path).status_code == 200
    assert can_sign_in("ada@example.com", PASSWORD)


@pytest.mark.parametrize("other", ["nobody@example.com", "inactive@example.com"])
def test_forgot_password_answers_alike_for_known_and_unknown_emails(
    make_client, ada, bob, inbox, other
):
    with unscoped():
        practice = db.session.get(Practice, ada["practice_id"])
    UserFactory(practice=practice, email="inactive@example.com", active=False)
    commit()

    def ask(email: str):
        client = make_client()
        response = client.post_form("/password/forgot", {"email": email})
        with client.session_transaction() as session:
            flashes = session.get("_flashes")
        follow = page(client.get(location(response)))
        return response, flashes, follow

    known, known_flashes, known_page = ask("ada@example.com")
    assert len(inbox.messages) == 1
    unknown, unknown_flashes, unknown_page = ask(other)
    assert len(inbox.messages) == 1  # nothing sent for the other address

    assert known.status_code == unknown.status_code == 302
    assert location(known) == location(unknown) == "/login"
    assert known.get_data() == unknown.get_data()
    assert sorted(dict(known.headers)) == sorted(dict(unknown.headers))
    assert known_flashes == unknown_flashes
    assert "If that email belongs to an account" in known_page.text
    assert known_page.text == unknown_page.text


# --- error pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "status", "title"),
    [
        ("GET", "/no-such-page", 404, "Page not found"),
        ("GET", "/logout", 405, "Not allowed"),
        ("POST", "/account", 400, EXPIRED_FORM),
        ("POST", "/settings/team/invite", 400, EXPIRED_FORM),
    ],
)
def test_error_pages_render_for_a_signed_in_therapist(client, ada, method, url, status, title):
    """Errors that strike before the request hook sets the practice still render the page."""
    client.login("ada@example.com")
    response = client.open(url, method=method)
    assert response.status_code == status
    text = page(response).text
    assert title in text
    with unscoped():
        assert db.session.get(Practice, ada["practice_id"]).name in text  # the signed-in footer
    assert client.get("/dashboard").status_code == 200

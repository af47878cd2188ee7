"""Signing up in two steps: an address, then the practice from the link emailed to it.

The first step answers every address alike, so it tells nobody who has an account: the same
page, the same statements before it, and one email once it is sent (a link to go on for a new
address, a note that someone tried for one with an account). The link is signed and dated
(nothing stored); an expired or altered one gets a page that says so, never a 500.
"""

from __future__ import annotations

import base64
import time

import pytest
from sqlalchemy import event, func, select

from practice.extensions import db
from practice.models import AuditEvent, JobRun, Practice, User
from practice.security import seal
from practice.services import accounts
from practice.tenancy import unscoped
from tests.blueprints.conftest import link_path, page, rate_limited
from tests.conftest import BASE_URL
from tests.factories import OwnerFactory

PASSWORD = "a long and private sentence"
DAY = 24 * 60 * 60


def count(model) -> int:
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(func.count()).select_from(model))


class Statements:
    """The SQL statements run while the block is open (their text, never their values)."""

    def __enter__(self) -> list[str]:
        self.seen: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)


def ask(client, email: str):
    """Ask for a sign-up link; returns the response (not yet closed), the statements run
    before the answer, and those run once it is closed, as a server closes a sent answer."""
    with Statements() as before:
        response = client.post_form("/signup", {"email": email})
    body = response.get_data()
    with Statements() as after:
        response.close()
    return response, body, before, after


def sign_up_link(inbox) -> str:
    (link,) = [link for link in inbox.links() if "/signup/confirm/" in link]
    return link_path(link)


def token_sealed(value, *, purpose=accounts.SIGN_UP_LINK_PURPOSE, age: int = 0) -> str:
    """A sign-up token as the app makes one, or one made `age` seconds ago, or sealed for
    another purpose."""
    return seal(value, purpose=purpose, at=int(time.time()) - age)


def token_of_another_key(value: str) -> str:
    from cryptography.fernet import Fernet

    return Fernet(Fernet.generate_key()).encrypt(value.encode()).decode()


def create_practice_form(**overrides) -> dict:
    return {
        "practice_name": "Harbour Couples Therapy",
        "name": "Ada Lovelace",
        "password": PASSWORD,
        "time_zone": "Europe/Berlin",
        **overrides,
    }


# --- the first step tells nothing ----------------------------------------------------------


def test_a_known_and_an_unknown_address_get_the_same_answer_and_one_email_each(make_client, inbox):
    ask(make_client(), "warm@example.com")  # the same warm caches for both requests below
    inbox.clear()

    unknown, unknown_body, unknown_sql, unknown_work = ask(make_client(), "cy@example.com")
    (link_email,) = inbox.messages
    OwnerFactory(email="cy@example.com", name="Cy Owner")
    db.session.commit()
    inbox.clear()
    known, known_body, known_sql, known_work = ask(make_client(), "cy@example.com")
    (note,) = inbox.messages

    # The same answer: status, headers and page, byte for byte.
    assert known.status_code == unknown.status_code == 200
    assert known_body == unknown_body
    assert sorted(dict(known.headers)) == sorted(dict(unknown.headers))
    text = page(known).text
    assert "Check your inbox" in text and "cy@example.com" in text and "24 hours" in text
    # The same work: nothing looked up before the answer, the same statements after it.
    assert known_sql == unknown_sql
    assert not any("users" in statement for statement in known_sql)
    assert known_work == unknown_work
    assert any("users" in statement for statement in known_work)
    assert count(JobRun) == 0  # sent directly: there is no practice yet to run a job for

    # One email each: a link to go on for the new address, a note for the known one.
    assert link_email["To"] == "cy@example.com"
    assert link_email["Subject"] == "Confirm your email to create your practice"
    assert "24 hours" in link_email.get_content()
    assert note["To"] == "cy@example.com"
    assert note["Subject"] == "Someone tried to sign up with your email"
    content = note.get_content()
    assert "Cy Owner" in content and "already has an account" in content
    assert f"{BASE_URL}/login" in content
    assert f"{BASE_URL}/password/forgot" in content
    assert "/signup/confirm/" not in content  # no way to make a second account
    assert count(Practice) == 1


def test_nothing_is_looked_up_or_sent_before_the_answer_is_sent(client, inbox):
    response = client.post_form("/signup", {"email": "cy@example.com"})
    assert response.status_code == 200
    assert inbox.messages == []
    response.close()
    assert len(inbox.messages) == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your email."),
        ("cy.example.com", "Enter a valid email."),
        ("cy @example.com", "Enter a valid email."),
        ("c" * 300 + "@example.com", "Enter a valid email."),
    ],
)
def test_a_bad_address_is_answered_beside_the_field_and_kept(client, inbox, typed, message):
    response = client.post_form("/signup", {"email": typed})
    assert response.status_code == 422
    shown = page(response)
    assert message in shown.errors["email"]
    assert shown.values["email"] == typed
    response.close()
    assert inbox.messages == []


def test_the_eleventh_sign_up_request_in_a_minute_is_refused_kindly(app):
    with rate_limited(app) as client:
        for _ in range(10):
            assert client.post_form("/signup", {"email": "not an address"}).status_code == 422
        refused = client.post_form("/signup", {"email": "cy@example.com"})
        assert refused.status_code == 429
        assert "Too many attempts" in page(refused).text
        assert client.get("/signup").status_code == 200  # reading the page is not limited


def test_on_a_developers_machine_the_link_is_shown_on_the_page(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PRACTICE_ENV", "development")
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
    response = client.post_form("/signup", {"email": "cy@example.com"})
    assert response.status_code == 200
    assert "Development only" in page(response).text
    assert f"{BASE_URL}/signup/confirm/" in response.get_data(as_text=True)


# --- the link ------------------------------------------------------------------------------


def test_the_confirmation_round_trip_through_the_real_forms(make_client, inbox):
    browser = make_client()
    assert page(browser.get("/signup")).values.keys() == {"csrf_token", "email"}
    asked, _, _, _ = ask(browser, "Ada@Example.com")
    assert "Ada@Example.com" in page(asked).text  # the address as they typed it
    (message,) = inbox.messages
    assert message["To"] == "ada@example.com"
    path = sign_up_link(inbox)

    for _ in range(3):  # mail scanners open links: a GET changes nothing
        opened = browser.get(path)
        assert opened.status_code == 200
    shown = page(opened)
    assert "ada@example.com" in shown.text  # shown, not a field to change
    assert set(shown.values) == {"csrf_token", "practice_name", "name", "password"}
    assert shown.selected["time_zone"] == "UTC"
    assert "data-browser-time-zone" in opened.get_data(as_text=True)  # app.js may offer its own
    assert count(Practice) == 0

    typed_name = "心理 Praxis Zoë & <Co>"
    created = browser.post_form(
        path, create_practice_form(practice_name=typed_name, name="Ada Lovelace")
    )
    assert created.status_code == 302
    assert created.headers["Location"] == "/dashboard"

    dashboard = browser.get("/dashboard")
    assert dashboard.status_code == 200
    assert typed_name in page(dashboard).text
    assert "Your practice is ready. Welcome." in page(dashboard).text
    with unscoped():
        (owner,) = db.session.scalars(select(User)).all()
        practice = db.session.get(Practice, owner.practice_id)
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert (owner.email, owner.name, owner.role) == ("ada@example.com", "Ada Lovelace", "owner")
    assert (practice.name, practice.time_zone) == (typed_name, "Europe/Berlin")
    assert "practice.created" in actions
    assert browser.get("/settings/team").status_code == 200  # the owner runs the team

    # The same link again, from another browser: the address has its account now.
    again = make_client().get(path)
    assert again.status_code == 409
    text = page(again).text
    assert "This address already has an account" in text
    assert 'href="/login"' in again.get_data(as_text=True)
    assert 'href="/password/forgot"' in again.get_data(as_text=True)
    posted_again = make_client().post_form(path, create_practice_form(practice_name="Second"))
    assert posted_again.status_code == 409
    assert count(Practice) == 1


def test_a_signed_in_therapist_opening_a_link_is_sent_to_the_dashboard(make_client):
    owner = OwnerFactory(email="ada@example.com")
    db.session.commit()
    browser = make_client()
    browser.login(owner.email)
    response = browser.get(f"/signup/confirm/{token_sealed('bea@example.com')}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_an_address_that_got_an_account_since_is_told_so_and_nothing_is_made(client):
    path = f"/signup/confirm/{token_sealed('bea@example.com')}"
    assert client.get(path).status_code == 200
    OwnerFactory(email="bea@example.com")  # an invitation accepted, a sign-up in another tab
    db.session.commit()

    posted = client.post_form(path, create_practice_form())
    assert posted.status_code == 409
    text = page(posted).text
    assert "This address already has an account" in text
    assert "already exists" not in text  # not the form's error: a page of its own
    assert count(Practice) == 1


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        ({"password": "Qz7#k"}, {"password": "Use 10 to 256 characters."}),
        ({"password": "ADA@example.com"}, {"password": "cannot be your email"}),
        (
            {"practice_name": "   ", "name": " "},
            {"practice_name": "Name your practice.", "name": "Tell us your name."},
        ),
        ({"practice_name": "Harbour\nCounselling"}, {"practice_name": "one line"}),
        ({"practice_name": "x" * 201}, {"practice_name": "longer than 200"}),
        ({"time_zone": "Mars/Olympus_Mons"}, {"time_zone": "Not a valid choice"}),
    ],
)
def test_a_refused_second_form_keeps_what_was_typed(client, typed, errors):
    path = f"/signup/confirm/{token_sealed('ada@example.com')}"
    data = create_practice_form(
        **{"practice_name": "心理 Praxis Zoë", "name": "Zoë Ñandú", **typed}
    )

    response = client.post_form(path, data)

    assert response.status_code == 422
    shown = page(response)
    for field, words in errors.items():
        assert words in shown.errors[field], shown.errors
    assert shown.values["practice_name"] == data["practice_name"]
    assert shown.values["name"] == data["name"]
    if data["time_zone"] == "Europe/Berlin":
        assert shown.selected["time_zone"] == "Europe/Berlin"
    assert shown.values["password"] == ""  # never echoed back
    html = response.get_data(as_text=True)
    assert data["password"] not in html or "@" in data["password"]
    assert "data-browser-time-zone" not in html  # the script leaves the chosen zone alone
    assert "ada@example.com" in shown.text
    assert count(Practice) == 0


# --- links that no longer work -------------------------------------------------------------


def test_the_link_does_not_show_the_address_it_was_sent_to(client, inbox):
    ask(client, "ada.lovelace@example.com")
    path = sign_up_link(inbox)
    token = path.rsplit("/", 1)[1]
    assert "lovelace" not in token
    assert b"lovelace" not in base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert "Create your practice" in page(client.get(path)).text


def test_a_link_works_for_24_hours(client):
    fresh = client.get(f"/signup/confirm/{token_sealed('ada@example.com', age=DAY - 60)}")
    assert fresh.status_code == 200
    assert "Create your practice" in page(fresh).text


def expired_or_altered() -> list:
    def altered(token: str) -> str:
        # A character of the signature changed (not the last: its low bits may be padding).
        position = len(token) - 5
        return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]

    return [
        pytest.param(lambda: token_sealed("ada@example.com", age=DAY + 60), id="expired"),
        pytest.param(lambda: altered(token_sealed("ada@example.com")), id="altered"),
        pytest.param(lambda: token_sealed("ada@example.com")[:-10], id="truncated"),
        pytest.param(lambda: token_of_another_key("ada@example.com"), id="another-key"),
        # A partner's link waiting for its email is sealed by the app too, with another key.
        pytest.param(lambda: token_sealed("ada@example.com", purpose="sealed"), id="sealed"),
        pytest.param(lambda: token_sealed("not an address"), id="not-an-address"),
        pytest.param(lambda: "not-a-token", id="garbage"),
        pytest.param(lambda: "x" * 3000, id="very-long"),
    ]


@pytest.mark.parametrize("make_token", expired_or_altered())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_or_altered_link_gets_a_clear_page(client, make_token, method):
    path = f"/signup/confirm/{make_token()}"
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post_form(path, create_practice_form())

    assert response.status_code == 404
    text = page(response).text
    assert "This link no longer works" in text
    assert "24 hours" in text
    assert 'href="/signup"' in response.get_data(as_text=True)  # a way to ask again
    assert count(Practice) == 0

"""Two sign-ups at the same moment, through the form behind the emailed link, on the real
database.

Both have passed every check (the email is free, the slug is free) before either writes, so
the database's unique constraints are what catches the second. One email (the same link
opened in two tabs, or two links to one address): one practice is made, and the second
person gets the page a later use of the link gets, "this address already has an account",
never a 500. One practice name: both practices are made, the second with the next free slug.
"""

from __future__ import annotations

import contextlib
import threading

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from practice.extensions import db
from practice.models import Practice, User
from practice.services import accounts
from practice.tenancy import unscoped
from tests.blueprints.conftest import page

PASSWORD = "a long enough passphrase"
ALREADY_REGISTERED = "This address already has an account"


def confirm_path(email: str) -> str:
    """The path of the link a sign-up emails to `email`."""
    return f"/signup/confirm/{accounts.sign_up_link_token(email)}"


def create_practice_form(practice_name: str) -> dict:
    return {
        "practice_name": practice_name,
        "name": "Cy",
        "password": PASSWORD,
        "time_zone": "UTC",
    }


def sign_up_at_once(make_client, posts: list[tuple[str, dict]]) -> list:
    """Post each (path, form) from its own browser and thread; every thread holds its first
    write until all have passed the checks. Returns the responses, in the order of `posts`."""
    clients = [make_client() for _ in posts]
    prepared = [
        (path, {**form, "csrf_token": client.csrf_token()})
        for client, (path, form) in zip(clients, posts, strict=True)
    ]
    db.session.remove()  # the test's own session holds no connection during the race

    barrier = threading.Barrier(len(posts), timeout=10)
    racers: set[int] = set()
    reached_write: list[int] = []
    responses: list = [None] * len(posts)

    def before_first_write(session, flush_context, instances) -> None:
        me = threading.get_ident()
        first_write = any(isinstance(row, Practice) for row in session.new)
        if me in racers and me not in reached_write and first_write:
            reached_write.append(me)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # if another never gets here, reached_write says so below

    def post(index: int) -> None:
        racers.add(threading.get_ident())
        path, data = prepared[index]
        responses[index] = clients[index].post(path, data=data)

    event.listen(Session, "before_flush", before_first_write)
    try:
        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(posts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(Session, "before_flush", before_first_write)

    assert len(reached_write) == len(posts), "every sign-up must have passed the checks first"
    return responses


def practices_and_owners() -> tuple[list[tuple[str, str]], list[str]]:
    db.session.expire_all()
    with unscoped():
        practices = db.session.execute(select(Practice.name, Practice.slug)).all()
        emails = db.session.scalars(select(User.email)).all()
    return sorted(map(tuple, practices)), sorted(emails)


def test_two_confirmations_of_one_address_make_one_account_and_tell_the_other_why(app, make_client):
    path = confirm_path("cy@example.com")
    responses = sign_up_at_once(
        make_client,
        [
            (path, create_practice_form("Harbour Counselling")),
            (path, create_practice_form("Lighthouse Therapy")),
        ],
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [302, 409], [r.get_data(as_text=True)[:3000] for r in responses]
    (refused,) = [r for r in responses if r.status_code == 409]
    shown = page(refused)
    assert ALREADY_REGISTERED in shown.text
    assert "cy@example.com" in shown.text
    practices, emails = practices_and_owners()
    assert emails == ["cy@example.com"]
    assert len(practices) == 1  # the refused sign-up left no practice behind


def test_the_same_answer_as_a_later_confirmation_gets(app, client, make_client):
    """The race reveals nothing a plain second use of the link does not."""
    path = confirm_path("cy@example.com")
    assert client.post_form(path, create_practice_form("One")).status_code == 302
    later = make_client().post_form(confirm_path("cy@example.com"), create_practice_form("Two"))
    assert later.status_code == 409
    assert ALREADY_REGISTERED in page(later).text


def test_two_sign_ups_with_one_practice_name_both_get_a_practice(app, make_client):
    responses = sign_up_at_once(
        make_client,
        [
            (confirm_path("cy@example.com"), create_practice_form("Harbour Counselling")),
            (confirm_path("di@example.com"), create_practice_form("Harbour Counselling")),
        ],
    )

    assert [r.status_code for r in responses] == [302, 302], [
        r.get_data(as_text=True)[:3000] for r in responses
    ]
    assert all(r.headers["Location"] == "/dashboard" for r in responses)
    practices, emails = practices_and_owners()
    assert emails == ["cy@example.com", "di@example.com"]
    assert practices == [
        ("Harbour Counselling", "harbour-counselling"),
        ("Harbour Counselling", "harbour-counselling-2"),
    ]

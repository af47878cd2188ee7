"""Two sign-ups at the same moment, through the sign-up form, on the real database.

Both have passed every check (the email is free, the slug is free) before either writes, so
the database's unique constraints are what catches the second. One email: the second person
is told, beside the email field, exactly what a later duplicate sign-up is told. One practice
name: both practices are made, the second with the next free slug.
"""

from __future__ import annotations

import contextlib
import threading

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from practice.extensions import db
from practice.models import Practice, User
from practice.tenancy import unscoped
from tests.blueprints.conftest import page

PASSWORD = "a long enough passphrase"
DUPLICATE_EMAIL = "An account with this email already exists. Sign in, or reset your password."


def sign_up_form(practice_name: str, email: str) -> dict:
    return {
        "practice_name": practice_name,
        "name": "Cy",
        "email": email,
        "password": PASSWORD,
        "time_zone": "UTC",
    }


def sign_up_at_once(make_client, forms: list[dict]) -> list:
    """Post each form from its own browser and thread; every thread holds its first write
    until all have passed the checks. Returns the responses, in the order of `forms`."""
    clients = [make_client() for _ in forms]
    posts = [
        {**form, "csrf_token": client.csrf_token()}
        for client, form in zip(clients, forms, strict=True)
    ]
    db.session.remove()  # the test's own session holds no connection during the race

    barrier = threading.Barrier(len(forms), timeout=10)
    racers: set[int] = set()
    reached_write: list[int] = []
    responses: list = [None] * len(forms)

    def before_first_write(session, flush_context, instances) -> None:
        me = threading.get_ident()
        first_write = any(isinstance(row, Practice) for row in session.new)
        if me in racers and me not in reached_write and first_write:
            reached_write.append(me)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # if another never gets here, reached_write says so below

    def post(index: int) -> None:
        racers.add(threading.get_ident())
        responses[index] = clients[index].post("/signup", data=posts[index])

    event.listen(Session, "before_flush", before_first_write)
    try:
        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(forms))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(Session, "before_flush", before_first_write)

    assert len(reached_write) == len(forms), "every sign-up must have passed the checks first"
    return responses


def practices_and_owners() -> tuple[list[tuple[str, str]], list[str]]:
    db.session.expire_all()
    with unscoped():
        practices = db.session.execute(select(Practice.name, Practice.slug)).all()
        emails = db.session.scalars(select(User.email)).all()
    return sorted(map(tuple, practices)), sorted(emails)


def test_two_sign_ups_with_one_email_make_one_account_and_tell_the_other_why(app, make_client):
    responses = sign_up_at_once(
        make_client,
        [
            sign_up_form("Harbour Counselling", "cy@example.com"),
            sign_up_form("Lighthouse Therapy", "cy@example.com"),
        ],
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [302, 422], [r.get_data(as_text=True)[:3000] for r in responses]
    (refused,) = [r for r in responses if r.status_code == 422]
    shown = page(refused)
    assert shown.errors["email"] == DUPLICATE_EMAIL
    assert shown.values["email"] == "cy@example.com"  # what was typed is still there
    assert shown.values["practice_name"] in ("Harbour Counselling", "Lighthouse Therapy")
    practices, emails = practices_and_owners()
    assert emails == ["cy@example.com"]
    assert len(practices) == 1  # the refused sign-up left no practice behind


def test_the_same_duplicate_answer_as_a_later_sign_up_gets(app, client, make_client):
    """The race reveals nothing a plain duplicate sign-up does not."""
    assert client.post_form("/signup", sign_up_form("One", "cy@example.com")).status_code == 302
    later = make_client().post_form("/signup", sign_up_form("Two", "cy@example.com"))
    assert later.status_code == 422
    assert page(later).errors["email"] == DUPLICATE_EMAIL


def test_two_sign_ups_with_one_practice_name_both_get_a_practice(app, make_client):
    responses = sign_up_at_once(
        make_client,
        [
            sign_up_form("Harbour Counselling", "cy@example.com"),
            sign_up_form("Harbour Counselling", "di@example.com"),
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

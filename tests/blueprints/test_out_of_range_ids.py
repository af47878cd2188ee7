"""Ids past the database's integer range name nothing: every `<int:>` route answers 404.

The ids are INTEGER columns: PostgreSQL's stop at 2^31 - 1, and SQLite's driver cannot even
bind a number from 2^63 on. The routes come from `app.url_map`, so a new one is swept the day
it is added; each is asked for by someone who could open it with a real id (the owner for the
therapists' pages, a signed-in partner for the portal's).
"""

from __future__ import annotations

import re

import pytest
from flask import current_app

from practice.extensions import db
from practice.models import Partner, User
from practice.services import MAX_ID, portal_access
from practice.tenancy import practice_context
from tests.blueprints.conftest import page
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import OwnerFactory

# PostgreSQL's integer overflows, SQLite's driver cannot bind, far beyond, and a number so
# long that Python refuses to read it (over 4300 digits).
OUT_OF_RANGE = {
    "2^31": str(2**31),
    "2^63": str(2**63),
    "10^30": "1" + "0" * 30,
    "9x5000": "9" * 5000,
}
INT_ARGUMENT = re.compile(r"<int:(\w+)>")


def int_rules(portal: bool) -> list[tuple[str, str]]:
    """(rule, method) for every route with an `<int:>` argument, portal or therapists' side."""
    found = [
        (rule.rule, method)
        for rule in current_app.url_map.iter_rules()
        if INT_ARGUMENT.search(rule.rule) and (rule.endpoint.startswith("portal.") == portal)
        for method in sorted(rule.methods & {"GET", "POST"})
    ]
    assert found, "no route takes an <int:> id: the sweep would prove nothing"
    return sorted(found)


def send(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    return client.post_form(url, {"name": "Mallory", "email": "m@example.com", "version": "1"})


def assert_all_404(client, rules: list[tuple[str, str]], number: str) -> None:
    wrong = {}
    for rule, method in rules:
        url = INT_ARGUMENT.sub(number, rule)
        response = send(client, method, url)
        if response.status_code != 404 or "Page not found" not in page(response).text:
            wrong[(method, url[:80])] = response.status_code
        db.session.rollback()
    assert not wrong, f"not answered 404: {wrong}"


@pytest.fixture
def people(make_client):
    """The owner of a practice, signed in; the first partner of one of its couples, in the
    portal."""
    owner = OwnerFactory()
    couple = CoupleFactory(practice=owner.practice, therapist=owner)
    ids = CoupleIds.of(couple)
    owner_email, owner_id = owner.email, owner.id
    with practice_context(ids.practice_id):
        _, token = portal_access.create_invite(
            db.session.get(User, owner_id),
            db.session.get(Partner, ids.partner_ids[0]),
            email_it=False,
        )
    db.session.commit()
    therapist = make_client()
    therapist.login(owner_email)
    partner = make_client()
    assert partner.post_form(f"/p/{token}").status_code == 302
    assert partner.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    assert partner.get("/portal").status_code == 200
    return therapist, partner


@pytest.mark.parametrize("number", sorted(OUT_OF_RANGE))
def test_every_therapist_id_route_answers_404_past_the_integer_range(app, people, number):
    therapist, _ = people
    assert_all_404(therapist, int_rules(portal=False), OUT_OF_RANGE[number])
    assert therapist.get("/dashboard").status_code == 200  # still signed in, nothing broke


@pytest.mark.parametrize("number", sorted(OUT_OF_RANGE))
def test_every_portal_id_route_answers_404_past_the_integer_range(app, people, number):
    _, partner = people
    assert_all_404(partner, int_rules(portal=True), OUT_OF_RANGE[number])
    assert partner.get("/portal").status_code == 200


def test_the_largest_id_is_still_an_id(app, people):
    """The bound is the largest id a row can have, not one below it: MAX_ID reaches the view
    (which finds no such couple), MAX_ID + 1 does not match the route at all."""
    therapist, _ = people
    adapter = current_app.url_map.bind("localhost")
    assert adapter.match(f"/couples/{MAX_ID}") == ("couples.show", {"couple_id": MAX_ID})
    assert therapist.get(f"/couples/{MAX_ID}").status_code == 404
    with pytest.raises(Exception, match="404"):
        adapter.match(f"/couples/{MAX_ID + 1}")

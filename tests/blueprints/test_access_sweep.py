"""The access sweep: every route that names a record by id answers 404 outside its reach.

The routes come from `app.url_map`, so a new route is swept the day it is added; a route
whose id argument has no factory below fails the sweep until one is written.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import current_app
from werkzeug.routing import Rule

from practice.extensions import db
from practice.models import Practice, User
from practice.services import accounts
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import PracticeSet, page
from tests.factories import TherapistInvitationFactory, UserFactory

SWEPT_METHODS = {"GET", "POST"}
# Blueprints whose every route is the owner's alone.
OWNER_ONLY_BLUEPRINTS = {"settings"}


def a_therapist(practice: PracticeSet) -> int:
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
    return UserFactory(practice=home).id


def an_open_invitation(practice: PracticeSet) -> int:
    with unscoped():
        owner = db.session.get(User, practice.owner_id)
    invitation = TherapistInvitationFactory(inviter=owner)
    with practice_context(practice.practice_id):
        accounts.issue_invitation_token(invitation)  # a live link, so a resend would show
    return invitation.id


# Argument name -> a factory that creates that kind of record in the given practice.
ID_FACTORIES: dict[str, Callable[[PracticeSet], int]] = {
    "user_id": a_therapist,
    "invitation_id": an_open_invitation,
}


def id_arguments(rule: Rule) -> set[str]:
    return {argument for argument in rule.arguments if argument.endswith("_id")}


def id_rules() -> list[Rule]:
    return sorted(
        (rule for rule in current_app.url_map.iter_rules() if id_arguments(rule)),
        key=lambda rule: rule.rule,
    )


def build_requests(rules: list[Rule], practice: PracticeSet) -> list[tuple[str, str]]:
    """(method, url) for each rule and method, naming fresh records of `practice`."""
    missing = {
        f"{rule.endpoint}: {argument}"
        for rule in rules
        for argument in rule.arguments
        if argument not in ID_FACTORIES
    }
    assert not missing, (
        "These route arguments have no factory in ID_FACTORIES, so the access sweep cannot "
        f"cover them: {sorted(missing)}. Add one that creates the record in a practice."
    )
    adapter = current_app.url_map.bind("localhost")
    requests = []
    for rule in rules:
        values = {argument: ID_FACTORIES[argument](practice) for argument in rule.arguments}
        methods = rule.methods & SWEPT_METHODS
        assert methods, f"{rule.endpoint} answers none of {SWEPT_METHODS}"
        requests.extend((method, adapter.build(rule.endpoint, values)) for method in methods)
    db.session.commit()
    return sorted(requests)


def send(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    # A form a real page could send: valid CSRF token, plausible fields.
    return client.post_form(url, {"name": "Mallory", "email": "mallory@evil.test"})


def everything_in_the_database() -> dict[str, list[tuple]]:
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in db.metadata.sorted_tables
        }


def test_every_id_argument_has_a_factory(app):
    rules = id_rules()
    assert rules, "no route takes an id: the sweep below would prove nothing"
    arguments = {argument for rule in rules for argument in id_arguments(rule)}
    assert arguments <= set(ID_FACTORIES), sorted(arguments - set(ID_FACTORIES))


@pytest.mark.parametrize("who", ["owner", "therapist"])
def test_another_practice_gets_404_for_every_id(make_client, practice_a, practice_b, inbox, who):
    requests = build_requests(id_rules(), practice_a)
    outsider = make_client()
    outsider.login(practice_b.owner_email if who == "owner" else practice_b.therapist_email)
    before = everything_in_the_database()

    answers = {(method, url): send(outsider, method, url) for method, url in requests}

    wrong = {
        key: response.status_code
        for key, response in answers.items()
        if response.status_code != 404
    }
    assert not wrong, f"practice B's {who} was not answered 404: {wrong}"
    for response in answers.values():
        assert "Page not found" in page(response).text
    assert everything_in_the_database() == before  # nothing changed, nothing was audited
    assert inbox.messages == []

    # The same requests do reach real records: A's owner is not answered 404.
    owner = make_client()
    owner.login(practice_a.owner_email)
    for method, url in requests:
        status = send(owner, method, url).status_code
        assert status != 404 and status < 500, (method, url, status)


def test_a_therapist_gets_404_on_the_owner_only_routes_of_their_own_practice(
    make_client, practice_a, inbox
):
    rules = sorted(
        (
            rule
            for rule in current_app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in OWNER_ONLY_BLUEPRINTS
        ),
        key=lambda rule: rule.rule,
    )
    assert rules
    requests = build_requests(rules, practice_a)
    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    before = everything_in_the_database()

    for method, url in requests:
        response = send(therapist, method, url)
        assert response.status_code == 404, (method, url, response.status_code)

    assert everything_in_the_database() == before
    assert inbox.messages == []

"""The owner's settings: the team (invite, resend, withdraw, deactivate, restore) and the
practice itself, through HTTP. Everything under /settings is the owner's alone.
"""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import select

from practice.extensions import db
from practice.models import Practice, TherapistInvitation, User
from practice.services import DomainError, accounts
from practice.tenancy import unscoped
from tests.blueprints.conftest import link_path, page
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
LONG = "x" * 5000


def fresh(model, object_id: int):
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(select(model).where(model.id == object_id))


def can_sign_in(email: str, password: str = PASSWORD) -> bool:
    try:
        accounts.authenticate(email, password)
    except DomainError:
        return False
    finally:
        db.session.rollback()
    return True


def settings_urls(practice) -> list[tuple[str, str]]:
    """(method, url) for every /settings route, with ids of real rows of this practice."""
    ids = {"user_id": practice.therapist_id, "invitation_id": practice.invitation_id}
    adapter = current_app.url_map.bind("localhost")
    found = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/settings"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(
                (method, adapter.build(rule.endpoint, {a: ids[a] for a in rule.arguments}))
            )
    return found


def invite(owner_client, inbox, name="Bob Builder", email="Bob@Example.com") -> str:
    """Invite through the team page; return the emailed link's path."""
    before = len(inbox.messages)
    response = owner_client.post_form("/settings/team/invite", {"name": name, "email": email})
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/team"
    assert len(inbox.messages) == before + 1
    return link_path(inbox.links()[-1])


def invitation_id_for(email: str) -> int:
    with unscoped():
        return db.session.scalar(
            select(TherapistInvitation.id).where(TherapistInvitation.email == email)
        )


# --- the team page --------------------------------------------------------------------------


def test_the_owner_sees_the_team_and_the_waiting_invitations(owner_client, practice_a, practice_b):
    response = owner_client.get("/settings/team")
    assert response.status_code == 200
    text = page(response).text
    for shown in (
        practice_a.owner_email,
        practice_a.therapist_name,
        practice_a.therapist_email,
        practice_a.invitation_name,
        practice_a.invitation_email,
    ):
        assert shown in text
    for hidden in (practice_b.owner_email, practice_b.therapist_email, practice_b.invitation_email):
        assert hidden not in text  # another practice's people are never listed
    html = response.get_data(as_text=True)
    assert f"/settings/team/{practice_a.therapist_id}/deactivate" in html
    assert f"/settings/team/{practice_a.owner_id}/deactivate" not in html
    assert f"/settings/team/invitations/{practice_a.invitation_id}/resend" in html


def test_a_therapist_gets_404_on_every_settings_page(therapist_client, practice_a, inbox):
    urls = settings_urls(practice_a)
    assert ("GET", "/settings/team") in urls and ("POST", "/settings/practice") in urls
    for method, url in urls:
        if method == "GET":
            response = therapist_client.get(url)
        else:
            response = therapist_client.post_form(url, {"name": "Mallory", "email": "m@evil.test"})
        assert response.status_code == 404, (method, url)
        assert "Page not found" in page(response).text

    # Nothing happened behind the 404s.
    assert inbox.messages == []
    assert fresh(User, practice_a.therapist_id).active is True
    invitation = fresh(TherapistInvitation, practice_a.invitation_id)
    assert invitation.revoked_at is None and invitation.token_hash is None
    assert fresh(Practice, practice_a.practice_id).name == practice_a.practice_name
    with unscoped():
        assert (
            db.session.scalar(
                select(TherapistInvitation.id).where(TherapistInvitation.email == "m@evil.test")
            )
            is None
        )


def test_settings_ask_a_visitor_to_sign_in(client, practice_a):
    for method, url in settings_urls(practice_a):
        response = client.get(url) if method == "GET" else client.post_form(url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login")


# --- invitations ----------------------------------------------------------------------------


def test_an_invitation_sends_a_link_that_works(owner_client, make_client, practice_a, inbox):
    path = invite(owner_client, inbox)

    (message,) = inbox.messages
    assert message["To"] == "bob@example.com"
    assert practice_a.practice_name in message["Subject"]
    team = page(owner_client.get("/settings/team")).text
    assert "Invitation sent to bob@example.com" in team
    assert "Bob Builder" in team

    visitor = make_client()
    opened = visitor.get(path)
    assert opened.status_code == 200
    shown = page(opened)
    assert f"Join {practice_a.practice_name}" in shown.text
    assert "bob@example.com" in shown.text
    assert shown.values["name"] == "Bob Builder"  # pre-filled from the invitation


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "", "email": ""}, {"name": "Enter their name.", "email": "Enter their email."}),
        ({}, {"name": "Enter their name.", "email": "Enter their email."}),
        ({"name": "Bob", "email": "bob.example.com"}, {"email": "Enter a valid email."}),
        ({"name": LONG, "email": "bob@example.com"}, {"name": "longer than 120"}),
        ({"name": "Zoë 心理 💜", "email": "zoë@"}, {"email": "Enter a valid email."}),
        ({"name": "Taken", "email": "TAKEN"}, {"email": "already has an account"}),
    ],
    ids=["empty", "missing", "invalid-email", "overlong", "unicode", "has-an-account"],
)
def test_invite_errors_are_shown_beside_the_field(owner_client, practice_a, inbox, data, errors):
    if data.get("email") == "TAKEN":
        data = {**data, "email": practice_a.therapist_email.upper()}
    response = owner_client.post_form("/settings/team/invite", data)
    assert response.status_code == 422
    shown = page(response)
    assert set(shown.errors) == set(errors)
    for field, words in errors.items():
        assert words in shown.errors[field]
    for field, typed in data.items():
        assert shown.values[field] == typed
    assert practice_a.therapist_email in shown.text  # still the team page around the form
    assert inbox.messages == []


def test_accepting_through_the_link_signs_the_new_therapist_in(
    owner_client, make_client, practice_a, inbox
):
    path = invite(owner_client, inbox)

    newcomer = make_client()
    newcomer.get(path)
    response = newcomer.post_form(path, {"name": "Bob B. Builder", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"

    dashboard = newcomer.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Welcome to the practice." in page(dashboard).text
    account = page(newcomer.get("/account")).text
    assert "Bob B. Builder" in account
    assert f"Therapist at {practice_a.practice_name}" in account
    assert newcomer.get("/settings/team").status_code == 404  # a therapist, not an owner

    team = page(owner_client.get("/settings/team"))
    assert "Bob B. Builder" in team.text
    assert "Invitations waiting" in team.text  # the factory's invitation is still open
    with unscoped():
        bob = db.session.scalar(select(User).where(User.email == "bob@example.com"))
    assert (bob.practice_id, bob.role) == (practice_a.practice_id, "therapist")

    again = make_client().get(path)
    assert again.status_code == 404
    assert "This link no longer works" in page(again).text


def test_resending_mails_a_fresh_link_and_voids_the_old_one(
    owner_client, make_client, practice_a, inbox
):
    old_path = invite(owner_client, inbox)
    invitation_id = invitation_id_for("bob@example.com")

    response = owner_client.post_form(f"/settings/team/invitations/{invitation_id}/resend")
    assert response.status_code == 302
    assert len(inbox.messages) == 2
    assert inbox.messages[1]["To"] == "bob@example.com"
    new_path = link_path(inbox.links()[-1])
    assert new_path != old_path
    assert "the earlier one no longer works" in page(owner_client.get("/settings/team")).text

    visitor = make_client()
    assert visitor.get(old_path).status_code == 404
    assert visitor.get(new_path).status_code == 200


def test_withdrawing_an_invitation_voids_its_link(owner_client, make_client, practice_a, inbox):
    path = invite(owner_client, inbox)
    invitation_id = invitation_id_for("bob@example.com")

    response = owner_client.post_form(f"/settings/team/invitations/{invitation_id}/revoke")
    assert response.status_code == 302
    team = page(owner_client.get("/settings/team")).text
    assert "Invitation withdrawn." in team
    assert "Bob Builder" not in team

    assert make_client().get(path).status_code == 404
    refused = make_client().post_form(path, {"name": "Bob", "password": NEW_PASSWORD})
    assert refused.status_code == 404
    assert not can_sign_in("bob@example.com", NEW_PASSWORD)

    # A withdrawn invitation cannot be resent.
    owner_client.post_form(f"/settings/team/invitations/{invitation_id}/resend")
    assert "no longer open" in page(owner_client.get("/settings/team")).text
    assert len(inbox.messages) == 1


def test_team_buttons_need_a_csrf_token(owner_client, practice_a, inbox):
    for url in (
        f"/settings/team/{practice_a.therapist_id}/deactivate",
        f"/settings/team/invitations/{practice_a.invitation_id}/resend",
        f"/settings/team/invitations/{practice_a.invitation_id}/revoke",
    ):
        response = owner_client.post(url)
        assert response.status_code == 400
        assert "This form has expired" in page(response).text
    assert fresh(User, practice_a.therapist_id).active is True
    assert fresh(TherapistInvitation, practice_a.invitation_id).revoked_at is None
    assert inbox.messages == []


# --- deactivating and restoring -------------------------------------------------------------


def test_deactivating_and_restoring_a_therapist(owner_client, make_client, practice_a):
    therapist_id, email = practice_a.therapist_id, practice_a.therapist_email

    response = owner_client.post_form(f"/settings/team/{therapist_id}/deactivate")
    assert response.status_code == 302
    team = owner_client.get("/settings/team")
    assert f"{practice_a.therapist_name} is deactivated and signed out." in page(team).text
    assert "Deactivated" in page(team).text
    assert f"/settings/team/{therapist_id}/reactivate" in team.get_data(as_text=True)

    refused = make_client().post_form("/login", {"email": email, "password": PASSWORD})
    assert refused.status_code == 422
    assert "deactivated" in " ".join(page(refused).form_errors)

    response = owner_client.post_form(f"/settings/team/{therapist_id}/reactivate")
    assert response.status_code == 302
    assert (
        f"{practice_a.therapist_name} is restored." in page(owner_client.get("/settings/team")).text
    )
    make_client().login(email)
    assert fresh(User, therapist_id).active is True


def test_the_owner_cannot_deactivate_themselves(owner_client, practice_a):
    response = owner_client.post_form(f"/settings/team/{practice_a.owner_id}/deactivate")
    assert response.status_code == 302
    assert (
        "The practice owner cannot be deactivated." in page(owner_client.get("/settings/team")).text
    )
    assert fresh(User, practice_a.owner_id).active is True
    assert owner_client.get("/dashboard").status_code == 200


def test_an_unknown_team_member_is_a_404(owner_client, practice_a):
    for url in ("/settings/team/999999/deactivate", "/settings/team/invitations/999999/resend"):
        assert owner_client.post_form(url).status_code == 404


# --- practice settings ----------------------------------------------------------------------


def test_the_settings_page_shows_the_current_values(owner_client, practice_a):
    response = owner_client.get("/settings/practice")
    assert response.status_code == 200
    shown = page(response)
    assert shown.values["name"] == practice_a.practice_name
    assert shown.selected["time_zone"] == "Europe/London"
    assert shown.checked["secrets_policy"] == "limited_secrets"
    assert "stays private" in shown.values["secrets_policy_text"]


def test_saving_practice_settings(owner_client, practice_a):
    response = owner_client.post_form(
        "/settings/practice",
        {
            "name": "Riverside Couples",
            "time_zone": "America/New_York",
            "secrets_policy": "no_secrets",
            "secrets_policy_text": "  We keep no secrets between partners.  ",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/practice"
    assert "Practice settings saved." in page(owner_client.get("/settings/practice")).text
    practice = fresh(Practice, practice_a.practice_id)
    assert (practice.name, practice.time_zone, practice.secrets_policy) == (
        "Riverside Couples",
        "America/New_York",
        "no_secrets",
    )
    assert practice.secrets_policy_text == "We keep no secrets between partners."


VALID_SETTINGS = {
    "name": "Riverside Couples",
    "time_zone": "America/New_York",
    "secrets_policy": "no_secrets",
    "secrets_policy_text": "We keep no secrets between partners.",
}


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"name": "", "secrets_policy_text": ""},
            {
                "name": "Name your practice.",
                "secrets_policy_text": "Explain your policy in a few sentences.",
            },
        ),
        ({"name": "   "}, {"name": "Name your practice."}),
        ({"name": LONG}, {"name": "longer than 200"}),
        ({"secrets_policy_text": LONG}, {"secrets_policy_text": "Keep it under 4,000 characters."}),
        ({"time_zone": "Mars/Olympus_Mons"}, {"time_zone": "Not a valid choice"}),
        ({"time_zone": ""}, {"time_zone": "Not a valid choice"}),
        ({"secrets_policy": "all_secrets"}, {"secrets_policy": "Not a valid choice"}),
        ({"name": "心理 Praxis Zoë 💜", "secrets_policy": ""}, {"secrets_policy": "valid choice"}),
    ],
    ids=[
        "empty",
        "blank-name",
        "overlong-name",
        "overlong-text",
        "garbage-time-zone",
        "empty-time-zone",
        "unknown-policy",
        "unicode",
    ],
)
def test_practice_settings_errors_are_shown_beside_the_field(
    owner_client, practice_a, overrides, errors
):
    data = {**VALID_SETTINGS, **overrides}
    response = owner_client.post_form("/settings/practice", data)
    assert response.status_code == 422
    shown = page(response)
    assert set(shown.errors) == set(errors)
    for field, words in errors.items():
        assert words in shown.errors[field], shown.errors[field]
    assert shown.values["name"] == data["name"]
    assert shown.values["secrets_policy_text"] == data["secrets_policy_text"]

    practice = fresh(Practice, practice_a.practice_id)
    assert (practice.name, practice.time_zone) == (practice_a.practice_name, "Europe/London")


def test_fields_left_out_of_the_post_keep_their_current_values(owner_client, practice_a):
    response = owner_client.post_form("/settings/practice", {"name": "Riverside Couples"})
    assert response.status_code == 302
    practice = fresh(Practice, practice_a.practice_id)
    assert (practice.name, practice.time_zone, practice.secrets_policy) == (
        "Riverside Couples",
        "Europe/London",
        "limited_secrets",
    )

"""An email that could not be sent shows on the page that started it.

A personal link is shown once; if its email fails, the therapist must know the partner does
not have it. A therapist's invitation likewise: the team page says which email failed, next to
Resend. The page reads it from the job's own record (its status in the database), in one
query. Mail fails here for real: the SMTP server is a local port nobody listens on. Password
resets and emailed sign-in links are public forms that say the same whatever happens, and
are left alone.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from practice.extensions import db
from practice.models import JobRun, Practice, TherapistInvitation, User
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.conftest import closed_port
from tests.couple_factories import CoupleFactory, CoupleIds

NOT_SENT = "could not be sent"


@pytest.fixture
def couple(practice_a) -> CoupleIds:
    with unscoped():
        owner = db.session.get(User, practice_a.owner_id)
        couple = CoupleFactory(
            practice=owner.practice,
            therapist=owner,
            partner1_name="Ann",
            partner1_email="ann@x.org",
        )
        ids = CoupleIds.of(couple)
    db.session.commit()
    return ids


@pytest.fixture
def mail_down(app, monkeypatch):
    """The SMTP server does not answer (until the test calls the returned function)."""
    saved = app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", closed_port())

    def back_up() -> None:
        app.config["MAIL_PORT"] = saved

    return back_up


def runs() -> list[tuple[str, str]]:
    db.session.expire_all()
    with unscoped():
        return [
            (run.function, run.status)
            for run in db.session.scalars(select(JobRun).order_by(JobRun.id))
        ]


def email_a_link(client, couple: CoupleIds):
    url = f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/invite"
    return client.post_form(url, {"email_it": "y"})


def test_a_personal_link_whose_email_failed_says_so_where_it_was_made(
    owner_client, couple, inbox, mail_down
):
    made = email_a_link(owner_client, couple)

    assert made.status_code == 200
    shown = page(made).text
    assert f"The email to ann@x.org {NOT_SENT}" in shown
    assert "Copy the link above" in shown
    assert "We are also emailing it" not in shown
    assert runs() == [("email.partner_invite", "failed")]

    couple_page = page(owner_client.get(f"/couples/{couple.id}")).text
    assert f"The email to ann@x.org {NOT_SENT}" in couple_page
    assert "Ann does not have this link" in couple_page
    assert "Create a new link below" in couple_page
    assert inbox.messages == []

    mail_down()  # the mail server is back: a new link, emailed again, arrives
    again = email_a_link(owner_client, couple)
    assert "We are also emailing it to ann@x.org" in page(again).text
    assert len(inbox.messages) == 1
    assert NOT_SENT not in page(owner_client.get(f"/couples/{couple.id}")).text


def test_an_emailed_link_shows_no_failure_while_it_waits_for_redis(
    app, owner_client, couple, inbox, monkeypatch
):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    app.extensions.pop("practice_redis", None)
    try:
        made = email_a_link(owner_client, couple)
    finally:
        app.extensions.pop("practice_redis", None)

    assert made.status_code == 200
    assert "We are also emailing it to ann@x.org" in page(made).text
    assert runs() == [("email.partner_invite", "pending")]  # the requeue sweep sends it later
    assert NOT_SENT not in page(owner_client.get(f"/couples/{couple.id}")).text
    assert inbox.messages == []


def test_the_couple_page_asks_about_failed_emails_in_one_query(
    app, owner_client, couple, mail_down
):
    email_a_link(owner_client, couple)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        shown = owner_client.get(f"/couples/{couple.id}")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert NOT_SENT in page(shown).text
    # One statement reads the runs themselves (the page's summaries join theirs to reports).
    assert sum("FROM job_runs" in statement for statement in statements) == 1


def test_a_practice_name_stored_with_a_line_break_no_longer_stops_its_emails(
    owner_client, couple, practice_a, inbox
):
    """Saved before forms refused it: the emails naming the practice still go, on one line."""
    with unscoped():
        db.session.execute(
            update(Practice)
            .where(Practice.id == practice_a.practice_id)
            .values(name="Harbour\r\nBcc: everyone@example.com")
        )
    db.session.commit()

    made = email_a_link(owner_client, couple)

    assert "We are also emailing it to ann@x.org" in page(made).text
    (message,) = inbox.messages
    assert message["Subject"] == "Your personal link from Harbour Bcc: everyone@example.com"
    assert message["Bcc"] is None
    assert runs() == [("email.partner_invite", "done")]


def invite_bob(owner_client):
    return owner_client.post_form(
        "/settings/team/invite", {"name": "Bob Builder", "email": "bob@example.com"}
    )


def test_an_invitation_whose_email_failed_says_so_on_the_team_page(
    owner_client, practice_a, inbox, mail_down
):
    response = invite_bob(owner_client)

    assert response.status_code == 302
    team = page(owner_client.get("/settings/team")).text
    assert "Invitation sent to bob@example.com" not in team
    assert f"The invitation email to bob@example.com {NOT_SENT}" in team  # the flash
    assert f"The email to bob@example.com {NOT_SENT}" in team  # beside the invitation
    assert "Resend" in team
    assert inbox.messages == []

    mail_down()  # back up: Resend sends it, and the failure is no longer the news
    with unscoped():
        (invitation_id,) = db.session.scalars(
            select(TherapistInvitation.id).where(TherapistInvitation.email == "bob@example.com")
        ).all()
    resent = owner_client.post_form(f"/settings/team/invitations/{invitation_id}/resend")
    assert resent.status_code == 302
    team = page(owner_client.get("/settings/team")).text
    assert "A fresh link is on its way" in team
    assert NOT_SENT not in team
    (message,) = inbox.messages
    assert message["To"] == "bob@example.com"
    assert runs() == [
        ("email.therapist_invitation", "failed"),
        ("email.therapist_invitation", "done"),
    ]

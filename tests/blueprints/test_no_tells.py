"""No tells: a "not found" costs the same whatever its reason.

A partner asking for the other partner's private draft by its public id, and a partner asking
for an id that names nothing, are answered by the same code doing the same work: the same
SQL statements, in the same order, and the same page. What is compared is the structure (the
statements) and what was loaded, never the time, which on a busy machine is noise.
"""

from __future__ import annotations

import secrets

from sqlalchemy import event

from practice.extensions import db
from practice.models import Couple, HomeworkResponse, JobRun, Partner, Practice, User
from practice.services import homework, portal_access
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.couple_factories import CoupleFactory, CoupleIds


def _signed_in(make_client, practice_id: int, partner_id: int):
    client = make_client()
    with practice_context(practice_id):
        partner = db.session.get(Partner, partner_id)
        owner = db.session.scalar(
            db.select(User).where(User.practice_id == practice_id, User.role == "owner")
        )
        _, token = portal_access.create_invite(owner, partner, email_it=False)
        db.session.commit()
    assert client.post_form(f"/p/{token}").status_code == 302
    assert client.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    return client


def _work(client, url: str) -> tuple[int, str, list[str], int]:
    """What answering `url` did: its status and page, the statements it ran and how many
    pieces of homework it loaded."""
    seen: list[str] = []
    loaded: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    def load(target, context) -> None:
        loaded.append(target.id)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(HomeworkResponse, "load", load)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(HomeworkResponse, "load", load)
    return response.status_code, page(response).text, seen, len(loaded)


def test_the_other_partners_private_draft_and_a_missing_id_are_the_same_not_found(
    app, make_client, practice_a
):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        owner = db.session.get(User, practice_a.owner_id)
    ids = CoupleIds.of(CoupleFactory(practice=home, therapist=owner))
    db.session.commit()
    with practice_context(practice_a.practice_id):
        couple = db.session.get(Couple, ids.id)
        owner = db.session.get(User, practice_a.owner_id)
        (draft,) = homework.assign(
            owner,
            couple,
            kind_key="apology",
            mode="one",
            instructions="",
            due_date=None,
            partner_id=ids.partner_ids[1],
        ).responses
        homework.save_draft(
            db.session.get(Partner, ids.partner_ids[1]),
            draft,
            content={"what_i_did": "words the other partner must not learn of"},
            base_version=draft.version,
        )
        hidden_id = draft.public_id
        db.session.commit()
    reader = _signed_in(make_client, practice_a.practice_id, ids.partner_ids[0])
    missing_id = secrets.token_urlsafe(16)
    reader.get("/portal")  # the same warm caches for both requests below

    hidden = _work(reader, f"/portal/homework/{hidden_id}")
    missing = _work(reader, f"/portal/homework/{missing_id}")

    status, text, statements, loaded = hidden
    assert status == 404 and "Page not found" in text
    assert hidden == missing  # the same page, the same statements, nothing loaded
    assert loaded == 0
    assert any("homework_responses" in statement for statement in statements)

    # The author reaches it through the same statement.
    author = _signed_in(make_client, practice_a.practice_id, ids.partner_ids[1])
    status, _, _, loaded = _work(author, f"/portal/homework/{hidden_id}")
    assert status == 200 and loaded >= 1


def _asked(client, email: str) -> tuple[object, list[str]]:
    """Ask for a sign-in link; the response and the statements run before it was answered."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post_form("/portal/new-link", {"email": email})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return response, seen


def _job_runs() -> int:
    db.session.expire_all()
    with unscoped():
        return db.session.scalar(db.select(db.func.count()).select_from(JobRun))


def test_asking_for_a_link_does_the_same_work_for_a_known_and_an_unknown_address(
    make_client, practice_a, inbox
):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
    CoupleFactory(practice=home, partner1_email="kim@example.com")
    db.session.commit()
    make_client().post_form("/portal/new-link", {"email": "warm@example.com"}).close()

    known, known_sql = _asked(make_client(), "kim@example.com")
    assert _job_runs() == 0  # nothing looked up, written or queued before the answer
    unknown, unknown_sql = _asked(make_client(), "nobody@example.com")
    assert _job_runs() == 0

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert known_sql == unknown_sql
    assert not any("partners" in statement for statement in known_sql)

    # Once each answer is sent, the known address gets its link and the other nothing.
    known.close()
    unknown.close()
    assert _job_runs() == 1
    (message,) = inbox.messages
    assert message["To"] == "kim@example.com"

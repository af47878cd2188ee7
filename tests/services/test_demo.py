"""The demo practice (`seed-demo`): its homework goes through the same form path as the portal.

Each piece of demo writing is posted as the edit page's fields, read by the kind's
`parse_form`, and saved by the portal's service calls; the therapist's steps post what the
therapist's forms would. These tests show the demo depends on that path: what is stored is what
the form gives back, and a kind whose form reader drops a field makes the demo fail loudly.

Real database; nothing of ours is mocked.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from practice.extensions import db
from practice.homework import KINDS, get_kind
from practice.homework.workflow import Status
from practice.models import Appointment, AuditEvent, Couple, Practice, User
from practice.models.base import utcnow
from practice.models.homework import (
    Agreement,
    AgreementAcceptance,
    ContractSignature,
    HomeworkResponse,
    ResponseTransition,
)
from practice.models.notice import Notice
from practice.services import DomainError, appointments, joint, review, windows
from practice.services.demo import (
    ALEX_AGREEMENT_NOTE,
    DEMO_PASSWORD,
    DEV_FIRST_COMMENT,
    DEV_SECOND_COMMENT,
    seed_demo,
)
from practice.tenancy import practice_context

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def demo():
    result = seed_demo()
    db.session.commit()
    with practice_context(result["practice"]["id"]):
        yield result


def _couple(label: str) -> Couple:
    return db.session.scalar(select(Couple).where(Couple.label == label))


def _responses(couple: Couple, kind: str) -> list[HomeworkResponse]:
    return list(
        db.session.scalars(
            select(HomeworkResponse)
            .where(HomeworkResponse.couple_id == couple.id, HomeworkResponse.kind == kind)
            .order_by(HomeworkResponse.id)
        )
    )


def _partner(couple: Couple, name: str):
    (partner,) = [p for p in couple.partners if p.display_name == name]
    return partner


def _transitions(response: HomeworkResponse) -> list[tuple[str, str, int | None, int | None]]:
    rows = db.session.scalars(
        select(ResponseTransition)
        .where(ResponseTransition.response_id == response.id)
        .order_by(ResponseTransition.id)
    )
    return [(t.from_status, t.to_status, t.actor_user_id, t.actor_partner_id) for t in rows]


def test_every_piece_of_demo_writing_is_what_its_form_gives_back(demo):
    written = list(db.session.scalars(select(HomeworkResponse).where(HomeworkResponse.version > 0)))
    assert {r.kind for r in written} == set(KINDS)  # every kind has demo writing
    for response in written:
        kind = get_kind(response.kind)
        posted = MultiDict(kind.form_values(response.content))
        assert kind.parse_form(posted) == response.content, response.kind
        # Saved by a partner, as the portal saves it.
        assert response.last_saved_by_partner_id is not None


def test_the_demo_writing_reads_as_typed(demo):
    alex_sam = _couple("Alex & Sam")
    (apology,) = _responses(alex_sam, "apology")
    assert apology.content["what_i_did"].startswith("For eight months I had an affair")
    assert apology.status == Status.REVIEWED
    sam_sheet, alex_sheet = _responses(alex_sam, "boundaries")
    assert [p["domain"] for p in sam_sheet.content["proposals"]] == ["communication", "privacy"]
    assert sam_sheet.status == Status.SUBMITTED
    assert [p["agreement"] for p in alex_sheet.content["proposals"]] == ["Be more open."]
    assert alex_sheet.status == Status.DRAFT
    (window,) = _responses(alex_sam, "processing_window")
    assert window.content["code_word"] == "lighthouse"
    assert [(s["weekday"], s["start"], s["minutes"]) for s in window.content["slots"]] == [
        (1, "19:30", 45),
        (5, "10:00", 45),
    ]


def test_the_contract_is_written_in_two_saves_each_partner_their_own_part(demo):
    couple = _couple("Alex & Sam")
    sam, alex = couple.partners  # Sam is at position 1, Alex at position 2
    assert (sam.display_name, alex.display_name) == ("Sam", "Alex")
    (contract,) = _responses(couple, "repair_contract")
    assert contract.version == 2  # Sam's save, then Alex's on the version Alex read
    assert contract.last_saved_by_partner_id == alex.id
    assert contract.content["commitments_1"][0] == "Name a trigger when it happens, without blame."
    assert (
        contract.content["commitments_2"][0] == "Answer questions in the window fully and calmly."
    )
    assert contract.content["support"].startswith("A short hug")
    assert contract.content["breaks"].startswith("Any new contact with the colleague")
    assert contract.content["revisit_date"]
    assert _transitions(contract)[0] == (Status.ASSIGNED, Status.DRAFT, None, sam.id)

    # Final, signed by Sam only: the page says it waits for Alex.
    assert contract.status == Status.FINAL
    version = joint.current_contract(contract)
    assert version is not None and version.content == contract.content
    signatures = db.session.scalars(
        select(ContractSignature).where(ContractSignature.version_id == version.id)
    ).all()
    assert [(s.partner_id, s.typed_name) for s in signatures] == [(sam.id, "Sam")]


def test_the_window_is_confirmed_by_both(demo):
    couple = _couple("Alex & Sam")
    (window,) = _responses(couple, "processing_window")
    assert window.status == Status.CONFIRMED
    assert set(windows.confirmations(window)) == {p.id for p in couple.partners}


def test_an_agreement_made_from_a_proposal_one_accepts_the_other_would_discuss(demo):
    couple = _couple("Alex & Sam")
    sam, alex = _partner(couple, "Sam"), _partner(couple, "Alex")
    therapist = db.session.scalar(select(User).where(User.email == "therapist@example.com"))
    (agreement,) = db.session.scalars(select(Agreement).where(Agreement.couple_id == couple.id))
    assert agreement.text == "Tell each other about any message from an ex within 24 hours."
    assert agreement.time_frame == "three months"
    assert agreement.review_date is None
    sam_sheet, _ = _responses(couple, "boundaries")
    assert agreement.merged_from == [[sam_sheet.id, 0]]  # "Use" on Sam's first proposal
    answers = db.session.scalars(
        select(AgreementAcceptance)
        .where(AgreementAcceptance.agreement_id == agreement.id)
        .order_by(AgreementAcceptance.id)
    )
    assert [(a.partner_id, a.decision, a.note) for a in answers] == [
        (sam.id, "accepted", None),
        (alex.id, "discuss", ALEX_AGREEMENT_NOTE),
    ]
    # The therapist is told that Alex would like to talk; the notice carries no words of it.
    (notice,) = db.session.scalars(
        select(Notice).where(
            Notice.recipient_user_id == therapist.id, Notice.couple_id == couple.id
        )
    ).all()
    assert notice.kind == "agreement.discuss"
    assert notice.link == f"/couples/{couple.id}/agreements"


def test_the_returned_apology_has_a_history_of_two_comments(demo):
    couple = _couple("Priya & Dev")
    dev = _partner(couple, "Dev")
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    (apology,) = _responses(couple, "apology")
    assert apology.status == Status.RETURNED  # Dev acts next
    assert [(c.author_user_id, c.body.split(".")[0]) for c in apology.comments] == [
        (owner.id, "Thank you for starting"),
        (owner.id, "This is much clearer, thank you"),
    ]
    # The revised apology is what Dev sent second.
    assert apology.content["what_i_did"].startswith("For two years I hid a credit card debt")
    assert _transitions(apology) == [
        (Status.ASSIGNED, Status.DRAFT, None, dev.id),
        (Status.DRAFT, Status.SUBMITTED, None, dev.id),
        (Status.SUBMITTED, Status.RETURNED, owner.id, None),
        (Status.RETURNED, Status.SUBMITTED, None, dev.id),
        (Status.SUBMITTED, Status.RETURNED, owner.id, None),
    ]


# A field each kind cannot do without: read without it, the demo cannot complete its steps.
DROPPED = {
    "apology": "amends",
    "boundaries": "proposals",
    "processing_window": "code_word",
    "connection_ritual": "checkin_time",
    "repair_contract": "breaks",
}


@pytest.mark.parametrize("kind_key", sorted(DROPPED))
def test_a_form_reader_that_drops_a_field_makes_the_demo_fail_loudly(kind_key, monkeypatch):
    kind = get_kind(kind_key)
    reads = []
    parse_form = kind.parse_form

    def dropping(form):
        reads.append(kind_key)
        content = parse_form(form)
        content.pop(DROPPED[kind_key])
        return content

    monkeypatch.setattr(kind, "parse_form", dropping)
    with pytest.raises(DomainError):
        seed_demo()
    db.session.rollback()
    assert reads  # the demo's writing of this kind went through its form reader


def test_the_demo_reads_every_kind_through_its_form(monkeypatch):
    reads = []
    for kind in KINDS.values():
        parse_form = kind.parse_form

        def counting(form, parse_form=parse_form, key=kind.key):
            reads.append(key)
            return parse_form(form)

        monkeypatch.setattr(kind, "parse_form", counting)
    result = seed_demo()
    with practice_context(result["practice"]["id"]):
        writes = db.session.execute(select(HomeworkResponse.kind, HomeworkResponse.version)).all()
    db.session.rollback()
    # One form read per save the demo makes: every save went through the form.
    expected: dict[str, int] = {}
    for kind_key, version in writes:
        expected[kind_key] = expected.get(kind_key, 0) + version
    assert {key: reads.count(key) for key in set(reads)} == {
        key: count for key, count in expected.items() if count
    }


def test_the_demo_screens_show_what_was_seeded(demo, client):
    """The review pages, through the front door: the contract waits for Alex, the window is
    agreed by both, and the returned apology shows both comments."""
    alex_sam = _couple("Alex & Sam")
    (contract,) = _responses(alex_sam, "repair_contract")
    (window,) = _responses(alex_sam, "processing_window")
    review = f"/couples/{alex_sam.id}/homework/"
    contract_page, window_page = review + str(contract.id), review + str(window.id)
    priya_dev = _couple("Priya & Dev")
    (apology,) = _responses(priya_dev, "apology")
    apology_page = f"/couples/{priya_dev.id}/homework/{apology.id}"

    client.login("therapist@example.com", DEMO_PASSWORD)
    # (The standing opens a sentence or follows a colon: its case varies with the page.)
    assert "waiting for alex to sign" in client.get(contract_page).get_data(as_text=True).lower()
    assert "agreed by both" in client.get(window_page).get_data(as_text=True).lower()
    client.post_form("/logout")

    client.login("owner@example.com", DEMO_PASSWORD)
    page = client.get(apology_page).get_data(as_text=True)
    for comment in (DEV_FIRST_COMMENT, DEV_SECOND_COMMENT):
        assert str(escape(comment)) in page


def test_check_ins_go_back_weeks_on_their_own_clock_and_one_couple_is_flagged(demo, app):
    """Alex & Sam have a run of weekly check-ins (the suite's small variant of the demo's
    year), each handed in during its own week; Priya & Dev three stuck weeks; Jamie & Taylor
    two weeks, the latest with an unsafe answer, which flags them for their therapist."""
    from practice.models.checkin import Checkin, SafetyAnswer, SafetyFlag
    from practice.services import checkins, trends

    weeks = app.config["DEMO_CHECKIN_WEEKS"]
    alex_sam, priya_dev = _couple("Alex & Sam"), _couple("Priya & Dev")
    jamie_taylor = _couple("Jamie & Taylor")
    for couple, count in ((alex_sam, weeks * 2), (priya_dev, 5 + 2), (jamie_taylor, 2 * 2)):
        rows = db.session.scalars(
            select(Checkin).where(Checkin.couple_id == couple.id).order_by(Checkin.week_of)
        ).all()
        assert len(rows) == count
        for row in rows:  # handed in during the week it belongs to, not at seeding time
            opened = checkins.opens_at(couple, row.week_of)
            assert opened <= row.submitted_at < opened + timedelta(days=7)
            assert row.content["markers"]  # what the form parsed, not an empty check-in
    trend = trends.couple_trend(alex_sam, 12)
    sam_recovery = trends.marker_series(trend, "recovery")[0].values
    known = [v for v in sam_recovery if v is not None]
    assert known and known[-1] >= known[0]  # better by the end than at the start
    # The stuck couple: the same argument came back most days, every week; Priya recovers
    # more slowly each week, and Dev stopped checking in: both show under "needs you today".
    stuck = trends.marker_series(trends.couple_trend(priya_dev, 12), "same_fight")
    assert {v for line in stuck for v in line.values if v is not None} == {1}
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    today = review.needs_you_today(owner, review.dashboard_counts(owner))
    needs = {item.label: item.needs for item in today.couples}
    assert needs["Priya & Dev"].falling == (("Priya", 1),)
    assert [name for name, _ in needs["Priya & Dev"].missed] == ["Dev"]
    assert needs["Jamie & Taylor"].safety == 1
    # All but the latest week were read by the therapist.
    assert needs["Alex & Sam"].checkins == 2

    (flag,) = db.session.scalars(select(SafetyFlag).where(SafetyFlag.addressed_at.is_(None)))
    assert flag.couple_id == jamie_taylor.id
    answer = db.session.get(SafetyAnswer, flag.answer_id)
    assert answer.answers["safe_at_home"] == "not_sure"
    therapist = db.session.scalar(select(User).where(User.email == "therapist@example.com"))
    kinds = db.session.scalars(
        select(Notice.kind).where(
            Notice.recipient_user_id == therapist.id, Notice.couple_id == jamie_taylor.id
        )
    ).all()
    assert kinds == ["safety.answer"]


def test_the_demo_sessions_are_recorded_through_the_form_service_one_of_them_today(demo):
    """Every couple has sessions, recorded by `appointments.record` (one audit event each,
    as the session form leaves): past ones a week or more apart over the last weeks, and
    one today in the practice's day, which the dashboard lists."""
    practice = db.session.get(Practice, demo["practice"]["id"])
    zone = ZoneInfo(practice.time_zone)
    today = utcnow().astimezone(zone).date()
    rows = db.session.scalars(select(Appointment).order_by(Appointment.starts_at)).all()
    recorded = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "appointment.recorded")
    ).all()
    assert len(recorded) == len(rows)
    by_couple: dict[str, list[Appointment]] = {}
    for row in rows:
        by_couple.setdefault(row.couple.label, []).append(row)
    assert set(by_couple) == {"Alex & Sam", "Priya & Dev", "Jamie & Taylor", "Robin & Chris"}

    alex_sam = by_couple["Alex & Sam"]
    days = [row.starts_at.astimezone(zone).date() for row in alex_sam]
    assert days[-1] == today
    assert [(today - day).days for day in days] == [35, 28, 21, 14, 7, 0]
    assert all(row.notes for row in alex_sam)  # the therapist's own words
    assert all(row.next_steps for row in alex_sam[:-1])
    (alone,) = [row for row in alex_sam if row.attendance == "one"]
    assert alone.attendance_label == "Sam only"
    assert {key for row in rows for key in row.next_homework} == set(KINDS)
    (notes_only,) = by_couple["Robin & Chris"]
    assert notes_only.attendance_label == "Therapist notes only"

    therapist = db.session.scalar(select(User).where(User.email == "therapist@example.com"))
    owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
    now = utcnow()
    assert [row.couple.label for row in appointments.today(therapist, now)] == ["Alex & Sam"]
    assert [row.couple.label for row in appointments.today(owner, now)] == [
        "Alex & Sam",
        "Priya & Dev",
    ]


def test_the_dashboard_shows_the_demo_session_of_the_day(demo, client):
    client.login("therapist@example.com", DEMO_PASSWORD)
    page = client.get("/dashboard").get_data(as_text=True)
    card = page.split('id="sessions-today-heading"', 1)[1].split("</section>", 1)[0]
    assert "11:00" in card
    assert str(escape("Alex & Sam")) in card
    assert "Both partners" in card

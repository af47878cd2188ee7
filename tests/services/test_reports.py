"""Session summaries, read back from the PDF: each audience gets what it may read and nothing
else, each in its own time zone; asking twice attaches; bad periods are refused in words; a
stored file that changed is not served.

The jobs run inline here (no Redis): the commit that asks for a summary makes it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from practice.extensions import db
from practice.jobs import dispatch
from practice.models import Couple, JobRun, Partner, Report, User
from practice.models.base import utcnow
from practice.models.checkin import SafetyFlag
from practice.services import DomainError, NotFound, reports, safety
from practice.services import agreements as agreement_service
from practice.services import appointments as appointment_service
from practice.services import checkins as checkin_service
from practice.services import homework as homework_service
from practice.services.appointments import AppointmentDetails
from practice.tenancy import practice_context
from tests.conftest import closed_port
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import PracticeFactory, UserFactory

PRACTICE_ZONE = "America/New_York"
COUPLE_ZONE = "Europe/Berlin"
SESSION_START = clock(14, 30)

# One distinctive word per piece of the story, to look for in the PDFs' text.
PRIVATE_DRAFT = "Obsidianfell"  # a partner's private apology draft
SHARED_PIECE = "Lanternmoss"  # an apology handed in and shared with the couple
PRIVATE_CHECKIN_TEXT = "Cindervale"  # what a partner wrote in an unshared check-in
SHARED_CHECKIN_TEXT = "Brackenhollow"  # what a partner wrote in a shared check-in
FLAG_NOTE = "Kestrelbrook"  # the therapist's note on an addressed safety flag
SESSION_NOTES = "Quillwort"  # the therapist's private notes of the session
NEXT_STEPS = "Zephyrine"  # the session's next steps, for the couple
AGREEMENT = "Heronsgate"  # an agreement in force
COUPLE_NOTES = "Marrowfen"  # the therapist's notes on the couple (no summary shows them)
REVIEW_NOTE = "Ashgrove"  # the therapist's note on a reviewed check-in (nor these)
# Trigger counts: the check-in tables show them. The shared week's and the unshared weeks'.
SHARED_TRIGGERS = 42
PRIVATE_TRIGGERS = (96, 97)


@dataclass(frozen=True)
class Story:
    """Ids of a couple with a period's worth of everything, safe across commits."""

    practice_id: int
    couple_id: int
    user_id: int
    appointment_id: int
    sharer: str  # the partner who shared one week
    keeper: str  # the partner who shared nothing, and answered a safety item
    session_utc: datetime


NOTES_ONLY_START = clock(7, 5)


def checkin(partner: Partner, *, weeks_ago: int, triggers: int, text: str, share: bool):
    now = utcnow() - timedelta(weeks=weeks_ago)
    opened = checkin_service.current(partner, now=now)
    form = {
        "checkin-facts": f"{text} facts of the week",
        "checkin-reflection": f"{text} reflection",
        "marker-recovery": "4",
        "triggers-count": str(triggers),
    }
    return checkin_service.submit(
        partner, opened, form=form, base_version=opened.version, share=share, now=now
    )


def write_story() -> Story:
    """A practice in New York, a couple in Berlin, and one session tomorrow with a period
    before it holding: a private apology draft, a shared apology, check-ins shared and not,
    a safety answer whose flag was addressed with a note, an agreement, and the therapist's
    notes."""
    practice = PracticeFactory(time_zone=PRACTICE_ZONE)
    therapist = UserFactory(practice=practice)
    couple = CoupleFactory(
        therapist=therapist, time_zone=COUPLE_ZONE, therapist_notes=f"{COUPLE_NOTES} notes"
    )
    ids = CoupleIds.of(couple)
    user_id = therapist.id
    db.session.commit()
    with practice_context(ids.practice_id):
        user = db.session.get(User, user_id)
        couple = db.session.get(Couple, ids.id)
        sharer = db.session.get(Partner, ids.partner_ids[0])  # hurt
        keeper = db.session.get(Partner, ids.partner_ids[1])  # broke trust

        def apology_for(partner):
            (response,) = homework_service.assign(
                user,
                couple,
                kind_key="apology",
                mode="one",
                instructions="",
                due_date=None,
                partner_id=partner.id,
            ).responses
            return response

        draft = apology_for(keeper)
        homework_service.save_draft(
            keeper,
            draft,
            content={"what_i_did": f"{PRIVATE_DRAFT} draft words"},
            base_version=draft.version,
        )
        shared = apology_for(keeper)
        homework_service.submit(
            keeper,
            shared,
            content={
                "what_i_did": f"{SHARED_PIECE} I broke our trust.",
                "how_it_hurt": "It left you alone with it.",
                "responsibility": "That is mine.",
                "amends": "I will tell you first, every Sunday at six.",
            },
            base_version=shared.version,
        )
        homework_service.release(user, shared)

        checkin(sharer, weeks_ago=1, triggers=SHARED_TRIGGERS, text=SHARED_CHECKIN_TEXT, share=True)
        checkin(
            sharer,
            weeks_ago=0,
            triggers=PRIVATE_TRIGGERS[0],
            text=PRIVATE_CHECKIN_TEXT,
            share=False,
        )
        unshared = checkin(
            keeper,
            weeks_ago=0,
            triggers=PRIVATE_TRIGGERS[1],
            text=PRIVATE_CHECKIN_TEXT,
            share=False,
        )
        checkin_service.mark_reviewed(user, unshared, note=f"{REVIEW_NOTE} note")
        safety.record_checkin_items(
            keeper, unshared, {"safe_at_home": "no", "feel_heard": "no"}, link="/couples"
        )
        db.session.flush()
        (flag,) = db.session.scalars(select(SafetyFlag)).all()
        safety.mark_addressed(user, flag, f"{FLAG_NOTE} we spoke on the phone")

        agreement_service.add_agreement(
            user,
            couple,
            domain="communication",
            text=f"{AGREEMENT} phones stay open",
            time_frame="",
            review_date=None,
        )
        day = utcnow().astimezone(ZoneInfo(COUPLE_ZONE)).date() + timedelta(days=1)
        # The therapist's own record between sessions: no meeting, so not in the couple's copy.
        appointment_service.record(
            user,
            couple,
            AppointmentDetails(
                day=day - timedelta(days=2),
                start=NOTES_ONLY_START,
                minutes=15,
                attendance="notes",
                notes="a call with the referring doctor",
            ),
        )
        appointment = appointment_service.record(
            user,
            couple,
            AppointmentDetails(
                day=day,
                start=SESSION_START,
                notes=f"{SESSION_NOTES} private observations",
                next_steps=f"{NEXT_STEPS} walk every evening",
            ),
        )
        db.session.commit()
        return Story(
            practice_id=ids.practice_id,
            couple_id=ids.id,
            user_id=user_id,
            appointment_id=appointment.id,
            sharer=sharer.display_name,
            keeper=keeper.display_name,
            session_utc=datetime.combine(day, SESSION_START, tzinfo=ZoneInfo(COUPLE_ZONE)),
        )


def summary_of(story: Story, audience: str) -> tuple[Report, str]:
    """Ask for the session's summary for `audience`, as the therapist does; the commit makes
    it. Returns the report and the PDF's text, whitespace made single spaces."""
    with practice_context(story.practice_id):
        user = db.session.get(User, story.user_id)
        couple = db.session.get(Couple, story.couple_id)
        appointment = appointment_service.get(user, couple, story.appointment_id)
        report, attached = reports.request_summary(user, couple, audience, appointment=appointment)
        assert not attached
        report_id = report.id
        db.session.commit()
        report = reports.get_report(user, report_id)
        assert reports.progress(report).state == "done"
        data = reports.read_file(report)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == report.pages >= 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    return report, re.sub(r"\s+", " ", text)


def session_time(story: Story, zone: str) -> str:
    moment = story.session_utc.astimezone(ZoneInfo(zone))
    return f"{moment.strftime('%A %-d %B %Y, %H:%M')} {moment.tzname()}"


def weekly_rows(text: str, name: str) -> str:
    """A partner's weekly check-in table: from its heading to whatever follows it."""
    heading = f"{name}: weeks of this period"
    start = text.find(heading)
    if start < 0:
        return ""
    after = start + len(heading)
    ends = [
        found
        for marker in (
            ": weeks of this period",
            "Safety flags",
            "This copy holds",
            "Therapist copy.",
        )
        if (found := text.find(marker, after)) > 0
    ]
    return text[start : min(ends, default=len(text))]


def test_the_couple_copy_holds_only_what_both_partners_see(app, reports_path):
    story = write_story()

    _, text = summary_of(story, "couple")

    for private in (
        PRIVATE_DRAFT,
        PRIVATE_CHECKIN_TEXT,
        FLAG_NOTE,
        SESSION_NOTES,
        COUPLE_NOTES,
        REVIEW_NOTE,
    ):
        assert private not in text, f"{private!r} is in the couple's copy"
    for heading in ("Safety flags", "Private notes", "Not yet seen", "Addressed"):
        assert heading not in text
    # The therapist's notes-only entry is no meeting with the couple: not among their sessions.
    assert "Therapist notes only" not in text and "07:05" not in text
    for shared in (NEXT_STEPS, SHARED_PIECE, AGREEMENT):
        assert shared in text, f"{shared!r} is missing from the couple's copy"
    assert "Couple copy: only what you both see in your portal" in text
    # The check-in tables: the shared week of the partner who shared it, and nothing of the
    # partner who shared nothing, not even the table.
    sharer_rows = weekly_rows(text, story.sharer)
    assert str(SHARED_TRIGGERS) in sharer_rows
    assert f"{story.keeper}: weeks of this period" not in text
    for number in PRIVATE_TRIGGERS:
        assert re.search(rf"\b{number}\b", text) is None, f"{number} is in the couple's copy"


def test_the_therapist_copy_holds_the_notes_the_drafts_and_the_flags(app, reports_path):
    story = write_story()

    _, text = summary_of(story, "therapist")

    for present in (SESSION_NOTES, PRIVATE_DRAFT, FLAG_NOTE, NEXT_STEPS, SHARED_PIECE, AGREEMENT):
        assert present in text, f"{present!r} is missing from the therapist's copy"
    assert "Private notes" in text
    assert "Therapist notes only" in text  # the therapist's own entry, in their copy
    assert "Safety flags" in text and "Addressed" in text
    assert story.keeper in weekly_rows(text, story.keeper)
    assert str(PRIVATE_TRIGGERS[1]) in weekly_rows(text, story.keeper)
    sharer_rows = weekly_rows(text, story.sharer)
    assert str(SHARED_TRIGGERS) in sharer_rows and str(PRIVATE_TRIGGERS[0]) in sharer_rows


def test_each_copy_gives_the_session_time_in_its_audiences_zone(app, reports_path):
    story = write_story()
    practice_time = session_time(story, PRACTICE_ZONE)
    couple_time = session_time(story, COUPLE_ZONE)
    assert practice_time != couple_time
    assert couple_time.split(", ")[1].startswith("14:30")

    _, therapist_text = summary_of(story, "therapist")
    _, couple_text = summary_of(story, "couple")

    assert practice_time in therapist_text
    assert couple_time not in therapist_text
    assert couple_time in couple_text
    assert practice_time not in couple_text


# --- asking for one -------------------------------------------------------------------------


def ask(story: Story, audience: str = "couple") -> tuple[int, bool]:
    with practice_context(story.practice_id):
        user = db.session.get(User, story.user_id)
        couple = db.session.get(Couple, story.couple_id)
        appointment = appointment_service.get(user, couple, story.appointment_id)
        report, attached = reports.request_summary(user, couple, audience, appointment=appointment)
        report_id = report.id
        db.session.commit()
    return report_id, attached


def job_runs(story: Story) -> list[JobRun]:
    db.session.expire_all()
    with practice_context(story.practice_id):
        return list(db.session.scalars(select(JobRun).order_by(JobRun.id)))


@pytest.fixture
def redis_down(app):
    """Jobs go to a queue whose Redis is down: every run stays pending."""
    saved = {key: app.config[key] for key in ("REDIS_URL", "JOBS_INLINE")}
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", JOBS_INLINE=False)
    app.extensions.pop("practice_redis", None)
    yield
    app.config.update(saved)
    app.extensions.pop("practice_redis", None)


def test_asking_again_while_one_is_on_its_way_attaches_to_it(app, reports_path, redis_down):
    story = write_story()
    first, attached = ask(story)
    assert not attached
    (run,) = [r for r in job_runs(story) if r.function == reports.JOB_NAME]
    assert run.status == "pending"

    again, attached = ask(story)

    assert (again, attached) == (first, True)
    # Another audience is another summary.
    therapist_copy, attached = ask(story, "therapist")
    assert therapist_copy != first and not attached
    assert len([r for r in job_runs(story) if r.function == reports.JOB_NAME]) == 2

    # A worker makes the first; asking after that makes a new one.
    dispatch.run(run.id, story.practice_id)
    with practice_context(story.practice_id):
        assert db.session.get(Report, first).is_ready
    later, attached = ask(story)
    assert later not in (first, therapist_copy) and not attached


def test_a_finished_summary_is_not_attached_to(app, reports_path):
    story = write_story()
    first, _ = ask(story)
    second, attached = ask(story)
    assert second != first and not attached
    with practice_context(story.practice_id):
        assert all(db.session.get(Report, i).is_ready for i in (first, second))


@pytest.mark.parametrize(
    ("start", "end", "message", "field"),
    [
        (date(2026, 3, 10), date(2026, 3, 9), "The period ends before it starts.", "end"),
        (date(2025, 1, 1), date(2026, 1, 2), "A summary covers at most 366 days.", "start"),
        (None, date(2026, 3, 9), "Give the first and the last day of the period.", "start"),
        (date(2026, 3, 9), None, "Give the first and the last day of the period.", "start"),
    ],
    ids=["ends-before-it-starts", "367-days", "no-start", "no-end"],
)
def test_a_period_that_cannot_be_summarised_is_refused_in_words(
    app, reports_path, start, end, message, field
):
    story = write_story()
    with practice_context(story.practice_id):
        user = db.session.get(User, story.user_id)
        couple = db.session.get(Couple, story.couple_id)
        with pytest.raises(DomainError) as refused:
            reports.request_summary(user, couple, "therapist", start=start, end=end)
        assert (refused.value.message, refused.value.field) == (message, field)
        db.session.rollback()
        assert db.session.scalars(select(Report)).all() == []


def test_a_period_of_366_days_is_made(app, reports_path):
    story = write_story()
    with practice_context(story.practice_id):
        user = db.session.get(User, story.user_id)
        couple = db.session.get(Couple, story.couple_id)
        end = utcnow().astimezone(ZoneInfo(COUPLE_ZONE)).date()
        report, _ = reports.request_summary(
            user, couple, "couple", start=end - timedelta(days=365), end=end
        )
        report_id = report.id
        db.session.commit()
        report = db.session.get(Report, report_id)
        assert report.is_ready and (report.period_end - report.period_start).days == 365


def test_an_unknown_audience_is_refused(app, reports_path):
    story = write_story()
    with practice_context(story.practice_id):
        user = db.session.get(User, story.user_id)
        couple = db.session.get(Couple, story.couple_id)
        with pytest.raises(DomainError, match="Choose whose copy to prepare."):
            reports.request_summary(
                user, couple, "partner", start=date(2026, 3, 1), end=date(2026, 3, 9)
            )


# --- the stored file ----------------------------------------------------------------------------


def test_a_stored_file_that_changed_is_not_served(app, reports_path):
    story = write_story()
    report_id, _ = ask(story)
    with practice_context(story.practice_id):
        report = db.session.get(Report, report_id)
        data = reports.read_file(report)
        path = reports.file_path(report)
        assert path.read_bytes() == data

        # The same length, one byte different.
        changed = bytearray(data)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        with pytest.raises(NotFound):
            reports.read_file(report)

        path.write_bytes(data + b"\n")
        with pytest.raises(NotFound):
            reports.read_file(report)

        path.write_bytes(data)
        assert reports.read_file(report) == data

        path.unlink()
        with pytest.raises(NotFound):
            reports.read_file(report)


def test_another_practices_therapist_does_not_find_the_report(app, reports_path):
    story = write_story()
    report_id, _ = ask(story, "therapist")
    stranger = UserFactory()
    stranger_id, stranger_practice = stranger.id, stranger.practice_id
    db.session.commit()
    with practice_context(stranger_practice), pytest.raises(NotFound):
        reports.get_report(db.session.get(User, stranger_id), report_id)

"""The reminder sweep: each reminder once (a second sweep, or one at the same moment, sends
nothing more), at the right local time, never in quiet hours unless asked for, nothing stale
after an outage, and every message content-free."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.models import Checkin, JobRun, Notice
from practice.models.base import utcnow
from practice.models.checkin import ReminderSent
from practice.models.homework import Agreement
from practice.services import checkins, reminders
from practice.tenancy import unscoped
from tests.services.test_homework import assign, world  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("app")

# Sunday 6 December 2026, London (UTC+0): the practice's default check-in is Sunday 18:00.
OPENS = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def joined(w, *, email=True, catch_up=True) -> None:
    for couple in (w.couple, w.other_couple):
        couple.time_zone = "Europe/London"
        for partner in couple.partners:
            partner.joined_at = OPENS - timedelta(days=30)
            partner.time_zone = "Europe/London"
            partner.email = f"{partner.display_name.lower()}@example.com" if email else None
    db.session.commit()
    if catch_up:
        # The week before OPENS is still open at the start: its reminder (a nudge by now)
        # goes in a first sweep, as it would have on a live system.
        assert reminders.tick(OPENS - timedelta(minutes=1)) == {"checkin.nudge": 4}


def sent(kind: str | None = None) -> list[ReminderSent]:
    with unscoped():
        rows = db.session.scalars(select(ReminderSent).order_by(ReminderSent.id)).all()
    return [row for row in rows if kind is None or row.kind == kind]


def partner_notices(kind: str) -> list[Notice]:
    with unscoped():
        return db.session.scalars(select(Notice).where(Notice.kind == kind)).all()


def test_the_check_in_reminder_goes_once_to_each_partner_when_it_opens(world, inbox):  # noqa: F811
    joined(world)
    before = len(inbox.messages)
    assert reminders.tick(OPENS + timedelta(minutes=1)) == {"checkin.open": 4}
    assert reminders.tick(OPENS + timedelta(minutes=2)) == {}
    assert len(partner_notices("checkin.open")) == 4
    with unscoped():
        runs = db.session.scalars(select(JobRun).where(JobRun.function == "email.checkin_reminder"))
        assert len(runs.all()) == 8  # last week's nudge, then this week's
    # The email says nothing anyone wrote, and no name of the other partner.
    bodies = [message.get_content() for message in inbox.messages[before:]]
    assert len(bodies) == 4
    assert all("check-in is open" in body for body in bodies)
    assert not any("Ben" in body for body in bodies if "Hello Ann" in body)


def test_a_partner_who_handed_in_gets_no_nudge_and_the_other_gets_one_a_day_later(world):  # noqa: F811
    joined(world, email=False)
    reminders.tick(OPENS + timedelta(minutes=1))
    mine = checkins.current(world.ann, OPENS + timedelta(hours=1))
    mine.status = "submitted"
    db.session.commit()
    assert reminders.tick(OPENS + timedelta(hours=23)) == {}
    assert reminders.tick(OPENS + timedelta(days=1, minutes=1)) == {"checkin.nudge": 3}
    this_week = [r.due_key for r in sent("checkin.nudge") if r.due_key.endswith("2026-12-06")]
    assert f"partner:{world.ann.id}:2026-12-06" not in this_week
    assert f"partner:{world.ben.id}:2026-12-06" in this_week
    assert reminders.tick(OPENS + timedelta(days=1, hours=2)) == {}


def test_quiet_hours_hold_a_reminder_until_the_morning(world):  # noqa: F811
    joined(world, email=False)
    world.couple.checkin_weekday, world.couple.checkin_hour = 6, 22  # Sunday 22:00
    db.session.commit()
    # 22:05 in London: both couples' check-ins are open, and it is quiet: nothing goes.
    assert reminders.tick(datetime(2026, 12, 6, 22, 5, tzinfo=UTC)) == {}
    # 08:00 the next morning: both go.
    assert reminders.tick(datetime(2026, 12, 7, 8, 0, tzinfo=UTC)) == {"checkin.open": 4}


def test_after_an_outage_only_what_is_still_useful_is_sent(world):  # noqa: F811
    joined(world, email=False)
    # Down for eight days: the week that opened on OPENS is stale; the next one's opening
    # reminder is sent, once.
    later = OPENS + timedelta(days=7, minutes=5)
    assert reminders.tick(later) == {"checkin.open": 4}
    assert reminders.tick(later + timedelta(minutes=1)) == {}
    weeks = {row.due_key.rsplit(":", 1)[1] for row in sent("checkin.open")}
    assert weeks == {"2026-12-13"}


def test_window_reminders_come_an_hour_before_only_to_partners_who_asked(world):  # noqa: F811
    joined(world, email=False)
    (window,) = assign(world, "processing_window", "joint").responses
    window.content = {"slots": [{"weekday": 1, "start": "22:30", "minutes": 45}], "code_word": ""}
    window.status = "confirmed"
    world.ann.window_reminders = True
    db.session.commit()
    # The window starts at 22:30 London: inside quiet hours, but the partner asked.
    assert reminders.tick(datetime(2026, 12, 8, 21, 29, tzinfo=UTC)).get("window.soon", 0) == 0
    assert reminders.tick(datetime(2026, 12, 8, 21, 31, tzinfo=UTC)).get("window.soon") == 1
    assert reminders.tick(datetime(2026, 12, 8, 21, 50, tzinfo=UTC)).get("window.soon", 0) == 0
    (notice,) = partner_notices("window.soon")
    assert notice.recipient_partner_id == world.ann.id


def test_an_agreed_ritual_reminds_an_hour_before_its_repair_check_in(world):  # noqa: F811
    joined(world, email=False)
    (plan,) = assign(world, "connection_ritual", "joint").responses
    plan.content = {
        "checkin_weekday": 6,
        "checkin_time": "17:00",
        "date_idea": "walk",
        "date_words": "",
        "care_1": "Make the coffee.",
        "care_2": "Leave a note.",
    }
    plan.status = "confirmed"
    world.ann.window_reminders = True
    db.session.commit()
    # Sunday 13 Dec 2026, 17:00 in London (GMT): an hour before, once.
    assert reminders.tick(datetime(2026, 12, 13, 15, 59, tzinfo=UTC)).get("window.soon", 0) == 0
    assert reminders.tick(datetime(2026, 12, 13, 16, 1, tzinfo=UTC)).get("window.soon") == 1
    assert reminders.tick(datetime(2026, 12, 13, 16, 20, tzinfo=UTC)).get("window.soon", 0) == 0
    (notice,) = partner_notices("window.soon")
    assert notice.recipient_partner_id == world.ann.id


def test_therapists_are_reminded_of_a_review_day_once(world):  # noqa: F811
    joined(world, email=False)
    db.session.add(
        Agreement(
            couple_id=world.couple.id,
            domain="privacy",
            text="Share locations while travelling.",
            review_date=OPENS.date() - timedelta(days=1),
            created_by_id=world.therapist.id,
        )
    )
    db.session.commit()
    assert reminders.tick(OPENS - timedelta(seconds=30)) == {"agreement.review": 1}
    assert reminders.tick(OPENS - timedelta(seconds=10)) == {}
    (notice,) = partner_notices("agreement.review")
    assert notice.recipient_user_id == world.therapist.id


def test_two_sweeps_at_the_same_moment_send_each_reminder_once(app, world):  # noqa: F811
    joined(world)
    now = OPENS + timedelta(minutes=1)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                results.append(reminders.tick(now))
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(result.get("checkin.open", 0) for result in results) == 4
    assert len(sent("checkin.open")) == 4
    # How the four claims split between the two sweeps depends on the database's locking
    # (SQLite releases an outermost savepoint as a commit); that each is sent once does not.
    with unscoped():
        emails = db.session.scalars(
            select(JobRun).where(JobRun.function == "email.checkin_reminder")
        ).all()
    assert len(emails) == 8  # the first sweep's four nudges, then four once


def test_a_checkin_row_is_not_needed_for_a_reminder(world):  # noqa: F811
    joined(world, email=False)
    reminders.tick(OPENS + timedelta(minutes=1))
    with unscoped():
        assert db.session.scalars(select(Checkin)).all() == []


def test_the_tick_command_sends_what_is_due_and_then_nothing(app, world):  # noqa: F811
    joined(world, email=False, catch_up=False)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "tick"])
    assert first.exit_code == 0, first.output
    # Some week's check-in is always open: its reminder goes (unless it is quiet in London).
    assert "checkin." in first.output or reminders.quiet("Europe/London", utcnow())
    again = runner.invoke(args=["jobs", "tick"])
    assert again.exit_code == 0 and again.output.strip() == "nothing due"

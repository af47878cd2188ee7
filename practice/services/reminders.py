"""Reminders: one periodic sweep (`flask jobs tick`, every minute from cron or a systemd
timer) that sends each reminder exactly once.

What it sends (every message content-free, as a notice and, where there is an address, an
email):

- to each partner, when the week's check-in opens, and one nudge a day later if it is not
  handed in; never during quiet hours (21:00 to 08:00 where the partner is): a reminder due
  then waits for the morning;
- to a partner who asked for them, an hour before each agreed processing window (quiet
  hours do not hold these back: the partner chose the time);
- to each partner, when a questionnaire the therapist sent falls due (quiet hours hold it);
- to the couple's therapists, when a repair contract's revisit day or an agreement's review
  day comes.

The same sweep deletes the closed couples whose scheduled deletion is due
(`exports.delete_due_couples`): it runs per practice on the same timer.

Exactly once: a reminder is claimed by inserting its key into `reminders_sent` (unique per
practice, kind and key) in the same transaction that records the notice and the email job.
A second sweep, or one running at the same moment, fails to claim it and sends nothing; the
email is dispatched only when the claiming transaction commits.

After an outage the sweep sends what is still useful (a check-in still open, a window not
yet begun, a revisit still due) and skips what is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from practice.checkins.status import HANDED_IN
from practice.extensions import db
from practice.homework import get_kind
from practice.homework.workflow import Status
from practice.jobs import enqueue
from practice.models import Couple, Partner, Practice
from practice.models.base import utcnow
from practice.models.checkin import Checkin, ReminderSent
from practice.models.homework import Agreement, ContractVersion, HomeworkResponse
from practice.services import checkins, exports, measures, notices
from practice.tenancy import practice_context, unscoped

QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)
NUDGE_AFTER = timedelta(days=1)
WINDOW_LEAD = timedelta(hours=1)


@dataclass
class Sweep:
    """What one sweep sent, by kind (for the command's output and for tests)."""

    sent: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.sent[kind] = self.sent.get(kind, 0) + 1


def quiet(zone: str, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(zone)).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def claim(kind: str, due_key: str) -> bool:
    """Claim a reminder: True for the one sweep that may send it."""
    try:
        with db.session.begin_nested():
            db.session.add(ReminderSent(kind=kind, due_key=due_key))
    except IntegrityError:
        return False
    return True


def _partners_in_portal(couple: Couple) -> list[Partner]:
    return [p for p in couple.partners if p.joined_at is not None and p.access_revoked_at is None]


def _checkin_reminders(couple: Couple, now: datetime, sweep: Sweep) -> None:
    week = checkins.week_of(couple, now)
    opened = checkins.opens_at(couple, week)
    if now - opened >= timedelta(days=7):
        return  # stale: the next week's has opened
    handed_in = set(
        db.session.scalars(
            select(Checkin.partner_id).where(
                Checkin.couple_id == couple.id,
                Checkin.week_of == week,
                Checkin.status.in_(HANDED_IN),
            )
        )
    )
    for partner in _partners_in_portal(couple):
        if partner.id in handed_in or quiet(partner.time_zone, now):
            continue
        # One message at a time: a day after opening only the nudge is still worth sending
        # (an "it is open" that comes late would read as a second, stale reminder).
        kind = "checkin.nudge" if now >= opened + NUDGE_AFTER else "checkin.open"
        if claim(kind, f"partner:{partner.id}:{week.isoformat()}"):
            notices.notify_partner(partner, kind, "/portal")
            if partner.email:
                enqueue("email.checkin_reminder", partner_id=partner.id)
            sweep.count(kind)


def _window_reminders(couple: Couple, now: datetime, sweep: Sweep) -> None:
    wanting = [p for p in _partners_in_portal(couple) if p.window_reminders]
    if not wanting:
        return
    zone = ZoneInfo(couple.time_zone)
    windows = db.session.scalars(
        select(HomeworkResponse).where(
            HomeworkResponse.couple_id == couple.id,
            HomeworkResponse.status == Status.CONFIRMED,
        )
    ).all()
    local_now = now.astimezone(zone)
    for window in windows:
        for slot in get_kind(window.kind).complete_slots(window.content):
            hour, minute = (int(part) for part in slot["start"].split(":"))
            day = local_now.date() + timedelta(days=(slot["weekday"] - local_now.weekday()) % 7)
            start = datetime.combine(day, time(hour, minute), tzinfo=zone)
            if start <= local_now:
                start += timedelta(days=7)
            if start - local_now > WINDOW_LEAD:
                continue
            for partner in wanting:
                key = f"partner:{partner.id}:{start.astimezone(ZoneInfo('UTC')).isoformat()}"
                if claim("window.soon", key):
                    notices.notify_partner(partner, "window.soon", "/portal")
                    if partner.email:
                        enqueue("email.window_reminder", partner_id=partner.id)
                    sweep.count("window.soon")


def _measure_reminders(couple: Couple, now: datetime, sweep: Sweep) -> None:
    """A measure due: once per measure, outside quiet hours; only the words "a questionnaire
    is ready" (no instrument, item or score in the notice, the email or the job)."""
    partners = {p.id: p for p in _partners_in_portal(couple)}
    for measure in measures.due_for_reminder(couple, now):
        partner = partners.get(measure.partner_id)
        if partner is None or quiet(partner.time_zone, now):
            continue
        if claim("measure.due", f"measure:{measure.id}"):
            notices.notify_partner(partner, "measure.due", "/portal/measures")
            if partner.email:
                enqueue("email.measure_reminder", partner_id=partner.id)
            sweep.count("measure.due")


def _therapist_reminders(couple: Couple, now: datetime, sweep: Sweep) -> None:
    today = now.astimezone(ZoneInfo(couple.time_zone)).date()
    versions = db.session.scalars(
        select(ContractVersion)
        .join(HomeworkResponse, HomeworkResponse.id == ContractVersion.response_id)
        .where(
            HomeworkResponse.couple_id == couple.id,
            ContractVersion.superseded_at.is_(None),
            ContractVersion.revisit_date <= today,
        )
    ).all()
    for version in versions:
        if claim("contract.revisit", f"version:{version.id}:{version.revisit_date}"):
            notices.notify_therapists(couple, "contract.revisit", f"/couples/{couple.id}")
            sweep.count("contract.revisit")
    due = db.session.scalars(
        select(Agreement).where(
            Agreement.couple_id == couple.id,
            Agreement.retired_at.is_(None),
            Agreement.review_date <= today,
        )
    ).all()
    for agreement in due:
        if claim("agreement.review", f"agreement:{agreement.id}:{agreement.review_date}"):
            notices.notify_therapists(
                couple, "agreement.review", f"/couples/{couple.id}/agreements"
            )
            sweep.count("agreement.review")


def sweep_practice(practice_id: int, now: datetime) -> Sweep:
    """Every reminder due in one practice, claimed and recorded in the caller's transaction."""
    sweep = Sweep()
    with practice_context(practice_id):
        couples = db.session.scalars(select(Couple).where(Couple.status == "active")).all()
        for couple in couples:
            _checkin_reminders(couple, now, sweep)
            _window_reminders(couple, now, sweep)
            _measure_reminders(couple, now, sweep)
            _therapist_reminders(couple, now, sweep)
        # The same timer deletes the closed records whose retention period is over.
        for _ in exports.delete_due_couples(now):
            sweep.count("couple.deleted")
    return sweep


def tick(now: datetime | None = None) -> dict[str, int]:
    """One sweep over every practice, each committed on its own (a failure in one practice
    never holds back another's reminders)."""
    now = now or utcnow()
    with unscoped():  # the list of practices is the one thing read across them
        practice_ids = db.session.scalars(select(Practice.id).order_by(Practice.id)).all()
    total: dict[str, int] = {}
    for practice_id in practice_ids:
        try:
            sweep = sweep_practice(practice_id, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        for kind, count in sweep.sent.items():
            total[kind] = total.get(kind, 0) + count
    return total

"""Therapy sessions with a couple (`Appointment`): recorded by a therapist who sees the couple,
entered and shown in the couple's time zone, stored in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.homework import KINDS
from practice.models import Appointment, Couple, Report, User
from practice.models.report import ATTENDANCE
from practice.services import MULTI_LINE_MESSAGE, MULTI_LINE_REFUSED, DomainError, NotFound, audit
from practice.services import couples as couple_service

NOTES_MAX = 20000
MINUTES_RANGE = (5, 480)


@dataclass
class AppointmentDetails:
    """What the session form holds: a day and time in the couple's zone, and the rest."""

    day: date
    start: time
    minutes: int = 50
    attendance: str = "both"
    partner_id: int | None = None  # the partner who came, when only one did
    notes: str = ""
    next_steps: str = ""
    next_homework: list[str] = field(default_factory=list)


def _check_text(value: str, field_name: str) -> str:
    if len(value) > NOTES_MAX:
        raise DomainError(f"Keep this under {NOTES_MAX:,} characters.", field_name)
    if MULTI_LINE_REFUSED.search(value):
        raise DomainError(MULTI_LINE_MESSAGE, field_name)
    return value


def _apply(couple: Couple, appointment: Appointment, details: AppointmentDetails) -> None:
    low, high = MINUTES_RANGE
    if not low <= details.minutes <= high:
        raise DomainError(f"A session lasts between {low} and {high} minutes.", "minutes")
    if details.attendance not in ATTENDANCE:
        raise DomainError("Choose who came to the session.", "attendance")
    partner_id = None
    if details.attendance == "one":
        ids = {partner.id for partner in couple.partners}
        if details.partner_id not in ids:
            raise DomainError("Choose which partner came.", "partner_id")
        partner_id = details.partner_id
    unknown = [key for key in details.next_homework if key not in KINDS]
    if unknown:
        raise DomainError("Choose homework from the list.", "next_homework")
    starts = datetime.combine(details.day, details.start, tzinfo=ZoneInfo(couple.time_zone))
    appointment.starts_at = starts
    appointment.minutes = details.minutes
    appointment.attendance = details.attendance
    appointment.partner_id = partner_id
    appointment.notes = _check_text(details.notes, "notes")
    appointment.next_steps = _check_text(details.next_steps, "next_steps")
    # In the registry's order, each once.
    appointment.next_homework = [key for key in KINDS if key in set(details.next_homework)]


def record(user: User, couple: Couple, details: AppointmentDetails) -> Appointment:
    """Record a session with a couple the user sees (not a closed one)."""
    if couple.is_closed:
        raise DomainError("Reopen the couple to record a session.")
    appointment = Appointment(couple_id=couple.id, created_by_id=user.id)
    _apply(couple, appointment, details)
    db.session.add(appointment)
    db.session.flush()
    audit.record("appointment.recorded", actor=user, target=couple)
    return appointment


def update(user: User, appointment: Appointment, details: AppointmentDetails) -> Appointment:
    """Change a recorded session (a closed couple's too: notes are finished after the end)."""
    _apply(appointment.couple, appointment, details)
    audit.record("appointment.updated", actor=user, target=appointment.couple)
    return appointment


def delete(user: User, appointment: Appointment) -> None:
    """Delete a session. The summaries made from it stay (one may be in the couple's portal):
    they keep their period and lose only the link to the session."""
    couple = appointment.couple
    db.session.execute(
        sql_update(Report)
        .where(Report.appointment_id == appointment.id)
        .values(appointment_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.delete(appointment)
    audit.record("appointment.deleted", actor=user, target=couple)


def get(user: User, couple: Couple, appointment_id: int) -> Appointment:
    """One of the couple's sessions (the couple already checked for the user), or NotFound."""
    appointment = db.session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id, Appointment.couple_id == couple.id
        )
    )
    if appointment is None:
        raise NotFound()
    return appointment


def for_couple(couple: Couple) -> list[Appointment]:
    """The couple's sessions, the latest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.couple_id == couple.id)
            .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
            .options(joinedload(Appointment.partner))
        )
    )


def between(couple: Couple, start: date, end: date) -> list[Appointment]:
    """The couple's sessions on the days `start` to `end` (their zone), in time order."""
    zone = ZoneInfo(couple.time_zone)
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.couple_id == couple.id,
                Appointment.starts_at >= datetime.combine(start, time(0), tzinfo=zone),
                Appointment.starts_at
                < datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone),
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .options(joinedload(Appointment.partner))
        )
    )


def previous(appointment: Appointment) -> Appointment | None:
    """The couple's meeting before this one (a "therapist notes only" entry is no meeting)."""
    return db.session.scalar(
        select(Appointment)
        .where(
            Appointment.couple_id == appointment.couple_id,
            Appointment.starts_at < appointment.starts_at,
            Appointment.attendance != "notes",
        )
        .order_by(Appointment.starts_at.desc())
        .limit(1)
    )


def in_window(user: User, start: datetime, end: datetime) -> list[Appointment]:
    """Sessions from `start` to `end` with the couples the user sees, in time order."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
                Appointment.couple_id.in_(couple_service.visible_couple_ids(user)),
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .options(joinedload(Appointment.couple), joinedload(Appointment.partner))
        )
    )


def today(user: User, now: datetime) -> list[Appointment]:
    """The day's sessions (the practice's day) with the couples the user sees."""
    zone = ZoneInfo(user.practice.time_zone)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    return in_window(user, start, start + timedelta(days=1))

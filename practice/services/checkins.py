"""Weekly check-ins: the week a check-in belongs to, writing it (saved as typed, never
silently overwritten), handing it in, and who may read it.

A check-in opens once a week, on the couple's day and hour in the couple's own time zone
(the practice's default unless the couple has its own). Each partner has one per week. It is
private to its author and the therapists unless the author shares it; the paired reflection
is sealed: each partner sees the other's answer only once both have handed theirs in. The
safety items are not part of it at all: they are stored as safety answers, which no
partner-facing page reads (services.safety).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from practice.checkins import questions
from practice.checkins.status import HANDED_IN, WRITABLE, CheckinStatus
from practice.extensions import db
from practice.models import Couple, Partner, Practice, User
from practice.models.base import utcnow
from practice.models.checkin import Checkin, SafetyAnswer, SafetyFlag
from practice.models.homework import Agreement
from practice.services import Conflict, DomainError, NotFound, audit, retry_on_conflict


class CheckinInvalid(DomainError):
    """Some answers do not fit; `errors` maps form field names to messages. Nothing saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some answers could not be saved as they are. Nothing was changed.")
        self.errors = errors


class CheckinConflict(DomainError):
    """Saved on another device since this page was opened: both versions go back."""

    def __init__(self, checkin: Checkin, attempted: dict):
        super().__init__("You saved this check-in on another device while writing here.")
        self.current_content = checkin.content
        self.current_version = checkin.version
        self.attempted = attempted


@dataclass(frozen=True)
class Schedule:
    weekday: int  # 0 Monday … 6 Sunday
    hour: int
    zone: ZoneInfo


def schedule(couple: Couple) -> Schedule:
    # Usually loaded with the request already (the portal session brings its practice).
    practice = db.session.get(Practice, couple.practice_id)
    weekday = couple.checkin_weekday if couple.checkin_weekday is not None else None
    hour = couple.checkin_hour if couple.checkin_hour is not None else None
    return Schedule(
        weekday=practice.checkin_weekday if weekday is None else weekday,
        hour=practice.checkin_hour if hour is None else hour,
        zone=ZoneInfo(couple.time_zone),
    )


def week_of(couple: Couple, now: datetime | None = None) -> date:
    """The day the current week's check-in opened: the latest opening at or before `now`,
    in the couple's time zone."""
    plan = schedule(couple)
    local = (now or utcnow()).astimezone(plan.zone)
    day = local.date() - timedelta(days=(local.weekday() - plan.weekday) % 7)
    if datetime.combine(day, time(plan.hour), tzinfo=plan.zone) > local:
        day -= timedelta(days=7)
    return day


def opens_at(couple: Couple, week: date) -> datetime:
    """The moment the check-in of `week` opened (aware, in the couple's zone)."""
    plan = schedule(couple)
    return datetime.combine(week, time(plan.hour), tzinfo=plan.zone)


def agreement_keys(couple: Couple) -> tuple[str, ...]:
    """The couple's agreements in force, as the check-in names them (public ids)."""
    return tuple(
        db.session.scalars(
            select(Agreement.public_id)
            .where(Agreement.couple_id == couple.id, Agreement.retired_at.is_(None))
            .order_by(Agreement.created_at, Agreement.id)
        )
    )


def current(partner: Partner, now: datetime | None = None) -> Checkin:
    """This week's check-in of the partner, opened on first use (once, even when two
    requests open it at the same moment)."""
    week = week_of(partner.couple, now)

    def find_or_open() -> Checkin:
        found = db.session.scalar(
            select(Checkin).where(Checkin.partner_id == partner.id, Checkin.week_of == week)
        )
        if found is not None:
            return found
        checkin = Checkin(
            couple_id=partner.couple_id,
            partner_id=partner.id,
            week_of=week,
            status=CheckinStatus.OPEN,
            content=questions.empty(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(checkin)
        except IntegrityError:
            raise Conflict() from None
        return checkin

    return retry_on_conflict(find_or_open)


def peek(partner: Partner, now: datetime | None = None) -> Checkin | None:
    """This week's check-in if the partner has opened it (a page that only shows it does
    not open it)."""
    week = week_of(partner.couple, now)
    return db.session.scalar(
        select(Checkin).where(Checkin.partner_id == partner.id, Checkin.week_of == week)
    )


def get_partner_checkin(partner: Partner, public_id: str) -> Checkin:
    """A check-in the partner may read (their own; the other's when shared), or NotFound."""
    checkin = db.session.scalar(
        select(Checkin).where(
            Checkin.public_id == public_id, Checkin.couple_id == partner.couple_id
        )
    )
    if checkin is None or not partner_can_read(partner, checkin):
        raise NotFound()
    return checkin


def partner_can_read(partner: Partner, checkin: Checkin) -> bool:
    if checkin.couple_id != partner.couple_id:
        return False
    if checkin.partner_id == partner.id:
        return True
    return checkin.shared and checkin.status not in WRITABLE


def both_handed_in(couple_id: int, week: date) -> bool:
    rows = db.session.scalars(
        select(Checkin.status).where(Checkin.couple_id == couple_id, Checkin.week_of == week)
    ).all()
    return len(rows) == 2 and all(status not in WRITABLE for status in rows)


def reflection_of_other(partner: Partner, checkin: Checkin) -> str | None:
    """The other partner's answer to the week's sealed reflection, once both handed in and no
    safety answer of that week waits for the therapist (one query: both check-ins of the week,
    with whether one is held).

    A safety answer changes nothing a partner can see: while its flag is open, the week's
    reflections stay sealed for both, exactly as before both had handed in; addressing the
    flag releases them."""
    opened = opens_at(partner.couple, checkin.week_of)
    week_ids = select(Checkin.id).where(
        Checkin.couple_id == partner.couple_id, Checkin.week_of == checkin.week_of
    )
    held = (
        select(SafetyFlag.id)
        .join(SafetyAnswer, SafetyAnswer.id == SafetyFlag.answer_id)
        .where(
            SafetyFlag.couple_id == partner.couple_id,
            SafetyFlag.addressed_at.is_(None),
            or_(
                SafetyAnswer.checkin_id.in_(week_ids),
                and_(
                    SafetyAnswer.checkin_id.is_(None),
                    SafetyFlag.raised_at >= opened,
                    SafetyFlag.raised_at < opened + timedelta(days=7),
                ),
            ),
        )
        .exists()
    )
    rows = db.session.execute(
        select(Checkin, held).where(
            Checkin.couple_id == partner.couple_id, Checkin.week_of == checkin.week_of
        )
    ).all()
    if len(rows) != 2 or any(row[0].status in WRITABLE or row[1] for row in rows):
        return None
    other = next(row[0] for row in rows if row[0].partner_id != partner.id)
    return other.content.get("reflection", "")


def save(
    partner: Partner,
    checkin: Checkin,
    *,
    form,
    base_version: int,
    share: bool | None = None,
    now: datetime | None = None,
) -> Checkin:
    """Save what the partner typed, if nobody saved since `base_version`. `now` is the clock
    (the demo writes past weeks through this same path)."""
    if checkin.partner_id != partner.id:
        raise NotFound()
    if checkin.status not in WRITABLE:
        raise DomainError("This check-in has been handed in, so it can no longer be changed.")
    content, errors = questions.parse_form(form, agreement_keys(partner.couple))
    if errors:
        raise CheckinInvalid(errors)
    if base_version != checkin.version:
        raise CheckinConflict(checkin, content)
    values = {
        "content": content,
        "version": base_version + 1,
        "last_saved_at": now or utcnow(),
        "status": CheckinStatus.DRAFT,
    }
    if share is not None:
        values["shared"] = share
    saved = db.session.execute(
        update(Checkin)
        .where(
            Checkin.id == checkin.id,
            Checkin.version == base_version,
            Checkin.status.in_(WRITABLE),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(checkin)
    if saved != 1:
        if checkin.status not in WRITABLE:
            raise DomainError("This check-in has been handed in, so it can no longer be changed.")
        raise CheckinConflict(checkin, content)
    return checkin


def submit(
    partner: Partner,
    checkin: Checkin,
    *,
    form,
    base_version: int,
    share: bool | None = None,
    now: datetime | None = None,
) -> Checkin:
    """Save and hand in. Every answer is optional: a check-in is never refused as incomplete."""
    save(partner, checkin, form=form, base_version=base_version, share=share, now=now)
    checkin.status = CheckinStatus.SUBMITTED
    checkin.submitted_at = now or utcnow()
    _keep_summary(partner, checkin)
    audit.record("checkin.submitted", actor=partner, target=checkin, couple_id=checkin.couple_id)
    return checkin


def _keep_summary(partner: Partner, checkin: Checkin) -> None:
    """The partner's latest week handed in and how many markers fell three weeks running,
    kept on the partner so that "needs you today" never reads check-ins (services.review)."""
    others = db.session.execute(
        select(Checkin.week_of, Checkin.content)
        .where(
            Checkin.partner_id == partner.id,
            Checkin.status.in_(HANDED_IN),
            Checkin.id != checkin.id,
        )
        .order_by(Checkin.week_of.desc())
        .limit(12)  # a marker skipped some weeks still has its last four answers
    ).all()
    if others and others[0].week_of > checkin.week_of:
        return  # an older week handed in late: the summary is the latest week's
    partner.last_checkin_on = checkin.week_of
    partner.declining_markers = questions.declining(
        [*(row.content for row in reversed(others)), checkin.content]
    )


def mark_reviewed(
    user: User, checkin: Checkin, note: str | None = None, *, now: datetime | None = None
) -> None:
    if checkin.status in WRITABLE:
        raise DomainError("It has not been handed in yet.")
    if note is not None:
        if len(note) > 10_000:
            raise DomainError("Keep the note under 10,000 characters.", "note")
        checkin.therapist_note = note.strip()
    if checkin.status != CheckinStatus.REVIEWED:
        checkin.status = CheckinStatus.REVIEWED
        checkin.reviewed_at = now or utcnow()
        checkin.reviewed_by_id = user.id
    audit.record("checkin.reviewed", actor=user, target=checkin, couple_id=checkin.couple_id)


def history(partner: Partner, weeks: int = 52) -> list[Checkin]:
    """The partner's own check-ins, newest first (for their trend and their list)."""
    return list(
        db.session.scalars(
            select(Checkin)
            .where(Checkin.partner_id == partner.id)
            .order_by(Checkin.week_of.desc())
            .limit(weeks)
        )
    )

"""The connection ritual: the couple's agreed plan, and each partner's light weekly tick.

The plan is a homework kind (`practice.homework.connection_ritual`) that both partners agree
to through `windows.confirm`. The tick is a recurring log, not homework (nobody assigns it,
nothing is handed in or reviewed): one row per partner per week, the check-in's week (it
starts on the couple's day, in the couple's time zone). A partner ticks off this week or
the one before once the plan is agreed, in a few taps; saving again changes it.

Who sees a tick follows the privacy model's `private` audience: the partner who ticked and
the couple's therapists. The other partner never sees it, its answers or its note. Completion
shows on the therapists' trends page and summary, and in the partner's own trends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from practice.audience import Audience
from practice.extensions import db
from practice.homework.connection_ritual import ConnectionRitual
from practice.homework.workflow import Status
from practice.models import Couple, Partner
from practice.models.base import utcnow
from practice.models.homework import HomeworkResponse
from practice.models.ritual import DAYS_IN_WEEK, NOTE_LIMIT, RitualTick
from practice.services import (
    SINGLE_LINE_MESSAGE,
    SINGLE_LINE_REFUSED,
    Conflict,
    DomainError,
    audit,
    retry_on_conflict,
)
from practice.services import checkins as checkin_service
from practice.services import homework as homework_service

KIND = ConnectionRitual.key
AUDIENCE = Audience.PRIVATE

# The tick form's words for each answer, said by the partner who ticks.
REPAIR_CHECKIN_CHOICES = {
    "yes": "We had it",
    "moved": "We had it, at another time",
    "no": "It did not happen",
}
FUN_DATE_CHOICES = {
    "yes": "We had it",
    "planned": "Not yet, but it is planned",
    "no": "Not this week",
}
# How a week reads in a table or a list: short, the same for a therapist and a partner.
REPAIR_CHECKIN_SHORT = {"yes": "check-in held", "moved": "check-in moved", "no": "no check-in"}
FUN_DATE_SHORT = {"yes": "date kept", "planned": "date planned", "no": "no date"}
NO_PLAN = "There is no connection ritual to tick off yet: plan one together and agree to it first."
# A plan both agreed to (or closed by the therapist after it ran) is one to tick off.
AGREED = (Status.CONFIRMED, Status.COMPLETED)
WRONG_WEEK = "Tick this week or last week; earlier weeks are closed."


class TickInvalid(DomainError):
    """Some answers do not fit; `errors` maps form field names to messages. Nothing saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some answers need a look. Nothing was saved yet.")
        self.errors = errors


# -- the plan ------------------------------------------------------------------------------------


def latest_plan(couple: Couple, *, seen_by: Partner | None = None) -> HomeworkResponse | None:
    """The couple's newest connection ritual plan, in any status; with `seen_by`, only one
    that partner may see (the audience rule is part of the statement)."""
    statement = (
        select(HomeworkResponse)
        .where(HomeworkResponse.couple_id == couple.id, HomeworkResponse.kind == KIND)
        .order_by(HomeworkResponse.id.desc())
        .limit(1)
    )
    if seen_by is not None:
        statement = statement.where(homework_service.partner_may_see(seen_by))
    return db.session.scalar(statement)


def open_for_ticks(couple: Couple, plan: HomeworkResponse | None) -> bool:
    """Whether the couple ticks off weeks now: their plan was agreed to by both. A plan
    reopened for changes keeps its weeks open once any was ticked (a query only then)."""
    if plan is None:
        return False
    if plan.status in AGREED:
        return True
    return (
        db.session.scalar(select(RitualTick.id).where(RitualTick.couple_id == couple.id).limit(1))
        is not None
    )


def agreed_plan_in(responses: list[HomeworkResponse]) -> HomeworkResponse | None:
    """The plan both partners agreed to, among pieces already loaded (the portal home's): no
    query of its own."""
    for response in responses:
        if response.kind == KIND and response.status == Status.CONFIRMED:
            return response
    return None


# -- the weeks a partner may tick ----------------------------------------------------------------


def tick_weeks(couple: Couple, now: datetime | None = None) -> tuple[date, date]:
    """This week and the one before: the weeks open for ticking."""
    this_week = checkin_service.week_of(couple, now)
    return this_week, this_week - timedelta(days=7)


def partner_ticks(partner: Partner, weeks: int = 6, now: datetime | None = None):
    """The partner's own ticks of the last `weeks` weeks, newest first."""
    this_week = checkin_service.week_of(partner.couple, now)
    return list(
        db.session.scalars(
            select(RitualTick)
            .where(
                RitualTick.partner_id == partner.id,
                RitualTick.week_of > this_week - timedelta(weeks=weeks),
            )
            .order_by(RitualTick.week_of.desc())
        )
    )


# -- ticking -------------------------------------------------------------------------------------


def _check(values: dict, allowed: tuple[date, ...]) -> dict[str, str]:
    """What does not fit in a tick's values, by form field name (the rules, whoever calls)."""
    errors: dict[str, str] = {}
    if values.get("week") not in allowed:
        errors["week"] = WRONG_WEEK
    if values.get("repair_checkin") not in REPAIR_CHECKIN_CHOICES:
        errors["repair_checkin"] = "Say whether the repair check-in happened."
    if values.get("fun_date") not in FUN_DATE_CHOICES:
        errors["fun_date"] = "Say whether the date happened."
    days = values.get("care_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= DAYS_IN_WEEK:
        errors["care_days"] = f"Choose on how many days, from 0 to {DAYS_IN_WEEK}."
    note = values.get("note")
    if not isinstance(note, str):
        errors["note"] = "Expected text."
    elif len(note) > NOTE_LIMIT:
        errors["note"] = f"Keep the note under {NOTE_LIMIT} characters."
    elif SINGLE_LINE_REFUSED.search(note):
        errors["note"] = SINGLE_LINE_MESSAGE
    return errors


def tick(
    partner: Partner,
    *,
    week: date,
    repair_checkin: str,
    fun_date: str,
    care_days: int,
    note: str = "",
    now: datetime | None = None,
) -> RitualTick:
    """Save the partner's tick of `week` (this week or last), or change it if there is one.

    Raises TickInvalid (field name: message) for answers that do not fit, and DomainError
    when the couple has no ritual plan to tick off."""
    couple = partner.couple
    values = {
        "week": week,
        "repair_checkin": repair_checkin,
        "fun_date": fun_date,
        "care_days": care_days,
        "note": note,
    }
    errors = _check(values, tick_weeks(couple, now))
    if errors:
        raise TickInvalid(errors)
    if not open_for_ticks(couple, latest_plan(couple)):
        raise DomainError(NO_PLAN)

    def find_or_add() -> RitualTick:
        found = db.session.scalar(
            select(RitualTick).where(
                RitualTick.partner_id == partner.id, RitualTick.week_of == week
            )
        )
        if found is None:
            found = RitualTick(couple_id=partner.couple_id, partner_id=partner.id, week_of=week)
            try:
                with db.session.begin_nested():
                    _fill(found, values, now)
                    db.session.add(found)
            except IntegrityError:
                raise Conflict() from None
        else:
            _fill(found, values, now)
        return found

    row = retry_on_conflict(find_or_add)
    db.session.flush()
    # Who ticked which week: never what they answered or wrote.
    audit.record(
        "ritual.ticked",
        actor=partner,
        couple_id=partner.couple_id,
        details={"week": week.isoformat()},
    )
    return row


def _fill(row: RitualTick, values: dict, now: datetime | None) -> None:
    row.repair_checkin = values["repair_checkin"]
    row.fun_date = values["fun_date"]
    row.care_days = values["care_days"]
    row.note = values["note"]
    row.updated_at = now or utcnow()


def parse_form(form, couple: Couple, now: datetime | None = None) -> tuple[dict, dict]:
    """A tick's values from the posted form, and what did not fit (field: message)."""
    errors: dict[str, str] = {}
    values: dict = {
        "repair_checkin": form.get("repair_checkin", ""),
        "fun_date": form.get("fun_date", ""),
        "note": form.get("note", ""),
    }
    try:
        values["week"] = date.fromisoformat(form.get("week", "").strip())
    except ValueError:
        values["week"] = None
    raw_days = form.get("care_days", "").strip()
    whole = raw_days.isascii() and raw_days.isdigit() and len(raw_days) < 3
    values["care_days"] = int(raw_days) if whole else None
    errors.update(_check(values, tick_weeks(couple, now)))
    return values, errors


def tick_from_form(partner: Partner, form, *, now: datetime | None = None) -> RitualTick:
    """Save what the tick form posted: the view's call, and the demo's."""
    values, errors = parse_form(form, partner.couple, now)
    if errors:
        raise TickInvalid(errors)
    return tick(partner, now=now, **values)


def form_values(row: RitualTick | None, week: date) -> dict[str, str]:
    """The tick form's fields for a week: what was saved, or nothing chosen yet."""
    values = {"week": week.isoformat()}
    if row is not None:
        values.update(
            repair_checkin=row.repair_checkin,
            fun_date=row.fun_date,
            care_days=str(row.care_days),
            note=row.note,
        )
    return values


# -- completion, for the trends and the summary -------------------------------------------------


@dataclass(frozen=True)
class PartnerTotals:
    """One partner's ritual over the weeks shown: what they ticked, counted."""

    partner: Partner
    weeks: int  # the weeks shown from the first one ticked (by anyone shown)
    ticked: int = 0
    checkins_held: int = 0
    dates_held: int = 0
    care_days: int = 0  # summed over the weeks ticked

    @property
    def care_average(self) -> str:
        """Days of care a week, over the weeks ticked: "6", "5.5" ("" when none was)."""
        return f"{round(self.care_days / self.ticked, 1):g}" if self.ticked else ""


@dataclass(frozen=True)
class Completion:
    """The ritual's weeks for the partners shown: (week, a tick or None per partner), newest
    first, only the weeks someone ticked; and each partner's totals."""

    partners: list[Partner]
    rows: list[tuple[date, list[RitualTick | None]]] = field(default_factory=list)
    totals: list[PartnerTotals] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.rows)

    @staticmethod
    def describe(row: RitualTick) -> str:
        """A week's tick in a few words: "check-in held · date planned · care on 5 of 7 days"."""
        return (
            f"{REPAIR_CHECKIN_SHORT[row.repair_checkin]} · {FUN_DATE_SHORT[row.fun_date]} · "
            f"care on {row.care_days} of {DAYS_IN_WEEK} days"
        )


def completion(couple: Couple, weeks: list[date], partners: list[Partner] | None = None):
    """The ritual's completion over `weeks` (a trend's), from the ticks: one query. With
    `partners`, only theirs are read (a partner's own trend reads only their own)."""
    shown = list(partners if partners is not None else couple.partners)
    if not weeks or not shown:
        return Completion(shown)
    ids = [partner.id for partner in shown]
    ticks = db.session.scalars(
        select(RitualTick).where(
            RitualTick.couple_id == couple.id,
            RitualTick.partner_id.in_(ids),
            RitualTick.week_of >= weeks[0],
            RitualTick.week_of <= weeks[-1],
        )
    ).all()
    by_week: dict[date, dict[int, RitualTick]] = {}
    for row in ticks:
        by_week.setdefault(row.week_of, {})[row.partner_id] = row
    # The weeks before anyone ticked are before the ritual began: they are not counted.
    counted = sum(1 for week in weeks if by_week and week >= min(by_week))
    rows = [
        (week, [by_week[week].get(partner_id) for partner_id in ids])
        for week in sorted(by_week, reverse=True)
    ]
    totals = []
    for partner in shown:
        mine = [row for row in ticks if row.partner_id == partner.id]
        totals.append(
            PartnerTotals(
                partner=partner,
                weeks=counted,
                ticked=len(mine),
                checkins_held=sum(1 for row in mine if row.checkin_held),
                dates_held=sum(1 for row in mine if row.date_held),
                care_days=sum(row.care_days for row in mine),
            )
        )
    return Completion(shown, rows, totals)

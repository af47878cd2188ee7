"""The trigger log: a partner notes, in a few taps, each time something set off the hurt.

Who sees an entry follows the privacy model's `private` audience: the partner who logged it
and the couple's therapists. The other partner never sees an entry or learns that one exists
(no page of theirs reads or counts them). There is no review step: entries
are many a week, and the week's count and longest recovery prefill that week's check-in,
whose answers feed the trends.

A week is the check-in's week: from the moment the couple's check-in opened to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from practice.audience import Audience
from practice.checkins.questions import GROUNDING_STEPS
from practice.extensions import db
from practice.models import Couple, Partner
from practice.models.base import utcnow
from practice.models.checkin import Checkin
from practice.models.trigger import MAX_INTENSITY, MAX_MINUTES_TO_STEADY, TriggerEntry
from practice.services import MULTI_LINE_MESSAGE, MULTI_LINE_REFUSED, DomainError, NotFound
from practice.services import checkins as checkin_service

AUDIENCE = Audience.PRIVATE
TEXT_LIMIT = 5000
# A phone's clock a little ahead of the server's is not "in the future".
CLOCK_SLACK = timedelta(minutes=10)
OLDEST = timedelta(days=366)
WHEN_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")

REASSURANCE_CHOICES = {
    "not_asked": "I did not ask for reassurance",
    "asked_given": "I asked, and it was given",
    "asked_not_given": "I asked, and it was not given",
}
# The log's words for what helped: the same keys as the check-in's, said by one person.
HELPED_CHOICES = {
    "named_it": "Naming it out loud when it happened",
    "breathed": "Pausing to breathe for half a minute",
    "facts": "Checking the facts, not the guesses",
    "reassured": "Reassurance, or the information I needed",
    "small_repair": "A small repair: a hug, a check-in, a change of plan",
    "code_word": "Our code word",
    "on_my_own": "Something on my own: a walk, writing it down",
}
assert tuple(HELPED_CHOICES) == tuple(GROUNDING_STEPS)  # noqa: S101 - one list of keys

FIELDS = ("occurred_at", "intensity", "minutes_to_steady", "reassurance", "what_set_it_off")


class TriggerInvalid(DomainError):
    """Some answers do not fit; `errors` maps form field names to messages. Nothing saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some answers need a look. Nothing was saved yet.")
        self.errors = errors


@dataclass(frozen=True)
class WeekSummary:
    count: int
    longest_minutes: int | None  # the longest minutes_to_steady of the week, if any was given


def _zone(partner: Partner) -> ZoneInfo:
    return ZoneInfo(partner.time_zone)


def when_value(moment: datetime, partner: Partner) -> str:
    """A moment as the form's "when" field shows it, in the partner's own zone."""
    return moment.astimezone(_zone(partner)).strftime("%Y-%m-%dT%H:%M")


def _whole(raw: str, top: int) -> int | None:
    """A whole number from 0 to `top`, or None when it is not one."""
    raw = raw.strip()
    if not raw.isdigit() or int(raw) > top:
        return None
    return int(raw)


def parse_form(form, partner: Partner, now: datetime | None = None) -> tuple[dict, dict]:
    """The entry's values from the posted log form, and what did not fit (field: message).

    A blank "when" is now. What fits is kept even when another field is refused."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    values: dict = {}
    raw_when = form.get("occurred_at", "").strip()
    values["occurred_at"] = now
    if raw_when:
        parsed = None
        for pattern in WHEN_FORMATS:
            try:
                parsed = datetime.strptime(raw_when, pattern)  # noqa: DTZ007 - the zone is set below
            except ValueError:
                continue
            break
        if parsed is None:
            errors["occurred_at"] = "Enter the date and time it happened, or leave it for now."
        else:
            values["occurred_at"] = parsed.replace(tzinfo=_zone(partner))
    raw_intensity = form.get("intensity", "").strip()
    values["intensity"] = _whole(raw_intensity, MAX_INTENSITY)
    if values["intensity"] is None:
        errors["intensity"] = "Choose how strong it was, from 0 to 10."
    raw_minutes = form.get("minutes_to_steady", "").strip()
    values["minutes_to_steady"] = None
    if raw_minutes:
        values["minutes_to_steady"] = _whole(raw_minutes, MAX_MINUTES_TO_STEADY)
        if values["minutes_to_steady"] is None:
            errors["minutes_to_steady"] = (
                f"Enter whole minutes from 0 to {MAX_MINUTES_TO_STEADY:,} (a day), "
                "or leave it empty."
            )
    values["helped"] = [key for key in HELPED_CHOICES if form.get(f"helped-{key}")]
    values["reassurance"] = form.get("reassurance", "")
    values["what_set_it_off"] = form.get("what_set_it_off", "")
    return values, errors


def _check(values: dict, now: datetime) -> dict[str, str]:
    """What does not fit in an entry's values, by field name (the rules, whoever calls)."""
    errors: dict[str, str] = {}
    occurred_at = values.get("occurred_at")
    if isinstance(occurred_at, datetime):
        if occurred_at.tzinfo is None:
            errors["occurred_at"] = "Enter the date and time it happened, or leave it for now."
        elif occurred_at > now + CLOCK_SLACK:
            errors["occurred_at"] = "That time has not come yet: enter when it happened."
        elif occurred_at < now - OLDEST:
            errors["occurred_at"] = "Enter a time within the last year."
    intensity = values.get("intensity")
    if not isinstance(intensity, int) or not 0 <= intensity <= MAX_INTENSITY:
        errors["intensity"] = "Choose how strong it was, from 0 to 10."
    minutes = values.get("minutes_to_steady")
    if minutes is not None and (
        not isinstance(minutes, int) or not 0 <= minutes <= MAX_MINUTES_TO_STEADY
    ):
        errors["minutes_to_steady"] = (
            f"Enter whole minutes from 0 to {MAX_MINUTES_TO_STEADY:,} (a day), or leave it empty."
        )
    helped = values.get("helped") or []
    if any(key not in HELPED_CHOICES for key in helped):
        errors["helped"] = "Tick only the steps listed."
    if values.get("reassurance") not in REASSURANCE_CHOICES:
        errors["reassurance"] = "Choose one of the three answers about reassurance."
    text = values.get("what_set_it_off") or ""
    if len(text) > TEXT_LIMIT:
        errors["what_set_it_off"] = f"Keep this under {TEXT_LIMIT:,} characters."
    elif MULTI_LINE_REFUSED.search(text):
        errors["what_set_it_off"] = MULTI_LINE_MESSAGE
    return errors


def log_trigger(
    partner: Partner,
    *,
    occurred_at: datetime,
    intensity: int,
    helped: list[str] | tuple[str, ...] = (),
    minutes_to_steady: int | None = None,
    reassurance: str = "not_asked",
    what_set_it_off: str = "",
    now: datetime | None = None,
) -> TriggerEntry:
    """Log one trigger for `partner`, or raise TriggerInvalid (field name: message)."""
    values = {
        "occurred_at": occurred_at,
        "intensity": intensity,
        "helped": list(helped),
        "minutes_to_steady": minutes_to_steady,
        "reassurance": reassurance,
        "what_set_it_off": what_set_it_off,
    }
    errors = _check(values, now or utcnow())
    if errors:
        raise TriggerInvalid(errors)
    entry = TriggerEntry(
        couple_id=partner.couple_id,
        partner_id=partner.id,
        occurred_at=occurred_at,
        intensity=intensity,
        helped=[key for key in HELPED_CHOICES if key in values["helped"]],
        minutes_to_steady=minutes_to_steady,
        reassurance=reassurance,
        what_set_it_off=what_set_it_off,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def log_from_form(partner: Partner, form, *, now: datetime | None = None) -> TriggerEntry:
    """Log what the form posted: the view's call, and the demo's."""
    now = now or utcnow()
    values, errors = parse_form(form, partner, now)
    if errors:
        raise TriggerInvalid({**_check(values, now), **errors})
    return log_trigger(partner, now=now, **values)


def week_bounds(couple: Couple, week: date) -> tuple[datetime, datetime]:
    """The check-in week that began on `week`: from its opening to the next."""
    start = checkin_service.opens_at(couple, week)
    return start, start + timedelta(days=7)


def _in_week(partner: Partner, week: date) -> tuple:
    """The partner's entries of a check-in week, as conditions."""
    start, end = week_bounds(partner.couple, week)
    return (
        TriggerEntry.partner_id == partner.id,
        TriggerEntry.occurred_at >= start,
        TriggerEntry.occurred_at < end,
    )


def partner_entries(partner: Partner, week: date) -> list[TriggerEntry]:
    """The partner's own entries of a check-in week, newest first."""
    return list(
        db.session.scalars(
            select(TriggerEntry)
            .where(*_in_week(partner, week))
            .order_by(TriggerEntry.occurred_at.desc(), TriggerEntry.id.desc())
        )
    )


def week_summary(partner: Partner, week: date) -> WeekSummary:
    """How many triggers the partner logged in a check-in week, and the longest recovery."""
    count, longest = db.session.execute(
        select(func.count(TriggerEntry.id), func.max(TriggerEntry.minutes_to_steady)).where(
            *_in_week(partner, week)
        )
    ).one()
    return WeekSummary(count=count, longest_minutes=longest)


def couple_entries(couple: Couple, since: datetime, until: datetime) -> list[TriggerEntry]:
    """Both partners' entries between two moments, newest first: for the couple's
    therapists only (the caller has checked the therapist may see the couple)."""
    return list(
        db.session.scalars(
            select(TriggerEntry)
            .where(
                TriggerEntry.couple_id == couple.id,
                TriggerEntry.occurred_at >= since,
                TriggerEntry.occurred_at < until,
            )
            .order_by(TriggerEntry.occurred_at.desc(), TriggerEntry.id.desc())
        )
    )


def weekly(couple: Couple, weeks: list[date], partner_ids=None) -> dict:
    """Each partner's count and longest recovery per check-in week, from the log: one query.
    `{partner_id: {week: WeekSummary}}`, weeks with no entry left out. With `partner_ids`,
    only those partners' entries are read (a partner's own trend reads only theirs)."""
    if not weeks:
        return {}
    first, _ = week_bounds(couple, weeks[0])
    _, after = week_bounds(couple, weeks[-1])
    statement = select(
        TriggerEntry.partner_id, TriggerEntry.occurred_at, TriggerEntry.minutes_to_steady
    ).where(
        TriggerEntry.couple_id == couple.id,
        TriggerEntry.occurred_at >= first,
        TriggerEntry.occurred_at < after,
    )
    if partner_ids is not None:
        statement = statement.where(TriggerEntry.partner_id.in_(list(partner_ids)))
    starts = [(week, week_bounds(couple, week)) for week in weeks]
    tally: dict[int, dict[date, list]] = {}
    for partner_id, occurred_at, minutes in db.session.execute(statement):
        for week, (start, end) in starts:
            if start <= occurred_at < end:
                counts = tally.setdefault(partner_id, {}).setdefault(week, [0, None])
                counts[0] += 1
                if minutes is not None and (counts[1] is None or minutes > counts[1]):
                    counts[1] = minutes
                break
    return {
        partner_id: {week: WeekSummary(*counts) for week, counts in by_week.items()}
        for partner_id, by_week in tally.items()
    }


def checkin_prefill(partner: Partner, checkin: Checkin) -> WeekSummary | None:
    """The week's log for the check-in's trigger questions, or None when nothing was logged.

    The check-in form shows it in the questions the partner has not answered yet; once the
    partner saves, their own answer stands (they may change the numbers)."""
    if checkin.partner_id != partner.id:
        raise NotFound()
    summary = week_summary(partner, checkin.week_of)
    return summary if summary.count else None

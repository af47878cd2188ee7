"""Scored measures: the therapist sends a questionnaire now or on a schedule, each partner
answers it privately in the portal (saved as typed, never silently overwritten), and it is
scored by the questionnaire engine when handed in.

What a measure is comes from its definition file (`practice/instruments/definitions/`):
items, anchors, a sum and its cut-off, source and licence. Any definition with purpose
"measure" and a sum is offered; the practice chooses which are enabled and their default
schedule. Nothing here names an instrument.

Private: a partner reads only their own measures and scores; the couple's therapists read
both partners'. Reminders say only that a questionnaire is ready (services.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from practice.charts import DatedSeries, dated_chart
from practice.extensions import db
from practice.instruments import PREFER_NOT, Instrument, InstrumentError, instruments, score
from practice.models import Couple, Partner, Practice, User
from practice.models.base import MAX_ID, utcnow
from practice.models.measure import MeasureResponse, MeasureSchedule, MeasureSetting
from practice.services import DomainError, NotFound, appointments, audit

DEFAULT_EVERY_WEEKS = 4
DEFAULT_FOR_WEEKS = 26
MAX_EVERY_WEEKS = 52
MAX_FOR_WEEKS = 104
FIELD = "item-"  # the answer form's field for an item: "item-<key>"


class MeasureInvalid(DomainError):
    """Answers that do not fit, by form field; nothing was saved."""

    def __init__(self, errors: dict[str, str], message: str | None = None):
        super().__init__(message or "Some answers need a look. Nothing was changed.")
        self.errors = errors


class MeasureConflict(DomainError):
    """Saved on another device since the page was opened."""

    def __init__(self, response: MeasureResponse):
        super().__init__(
            "You saved this questionnaire on another device while answering here. What you "
            "chose here is still in the form: check it, then save again."
        )
        self.current_version = response.version


# -- which measures a practice offers ----------------------------------------------------------


def measure_instruments() -> list[Instrument]:
    """Every definition a practice may send as a scored measure (a sum with a cut-off)."""
    found = [i for i in instruments().values() if i.purpose == "measure" and i.scoring == "sum"]
    return sorted(found, key=lambda i: i.name)


def instrument(key: str) -> Instrument:
    for candidate in measure_instruments():
        if candidate.key == key:
            return candidate
    raise NotFound()


def name_of(key: str) -> str:
    """An instrument's name, or its key when its definition is gone."""
    try:
        return instrument(key).name
    except NotFound:
        return key


@dataclass(frozen=True)
class Choice:
    """A measure as the practice has set it."""

    instrument: Instrument
    enabled: bool
    every_weeks: int
    for_weeks: int


def choices() -> list[Choice]:
    """Every measure with the practice's setting (or the definition's default)."""
    stored = {s.instrument: s for s in db.session.scalars(select(MeasureSetting))}
    found = []
    for item in measure_instruments():
        setting = stored.get(item.key)
        found.append(
            Choice(
                item,
                setting.enabled if setting else item.enabled_by_default,
                setting.every_weeks if setting else DEFAULT_EVERY_WEEKS,
                setting.for_weeks if setting else DEFAULT_FOR_WEEKS,
            )
        )
    return found


def enabled_choices() -> list[Choice]:
    return [choice for choice in choices() if choice.enabled]


def _check_weeks(every_weeks: int | None, for_weeks: int | None, prefix: str = "") -> None:
    if every_weeks is not None and not 1 <= every_weeks <= MAX_EVERY_WEEKS:
        raise DomainError(f"Choose every 1 to {MAX_EVERY_WEEKS} weeks.", f"{prefix}every_weeks")
    if for_weeks is None or not 1 <= for_weeks <= MAX_FOR_WEEKS:
        raise DomainError(f"Choose 1 to {MAX_FOR_WEEKS} weeks.", f"{prefix}for_weeks")


def update_settings(
    owner: User, practice: Practice, wanted: dict[str, tuple[bool, int, int]]
) -> None:
    """The practice's measures: instrument key -> (enabled, every weeks, for weeks). Owner
    only, audited."""
    if not owner.is_owner:
        raise NotFound()
    known = {choice.instrument.key: choice for choice in choices()}
    if set(wanted) - set(known):
        raise DomainError("Choose among the listed questionnaires.")
    for key, (_, every_weeks, for_weeks) in wanted.items():
        _check_weeks(every_weeks, for_weeks, prefix=f"{key}-")
    stored = {s.instrument: s for s in db.session.scalars(select(MeasureSetting))}
    for key, (enabled, every_weeks, for_weeks) in wanted.items():
        setting = stored.get(key) or MeasureSetting(instrument=key)
        setting.enabled, setting.every_weeks, setting.for_weeks = enabled, every_weeks, for_weeks
        db.session.add(setting)
    audit.record(
        "practice.measure_settings_changed",
        actor=owner,
        target=practice,
        details={"enabled": sorted(key for key, row in wanted.items() if row[0])},
    )


# -- sending a measure ---------------------------------------------------------------------------


def couple_today(couple: Couple, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(couple.time_zone)).date()


def due_dates(starts_on: date, every_weeks: int | None, for_weeks: int) -> list[date]:
    """The days a measure falls due: the start, then every `every_weeks` weeks while within
    `for_weeks` weeks of it (every 4 weeks for 26 weeks: 7 days, the last in week 24). Once
    (`every_weeks` None): the start only."""
    if every_weeks is None:
        return [starts_on]
    last = starts_on + timedelta(weeks=for_weeks)
    days, day = [], starts_on
    while day < last:
        days.append(day)
        day += timedelta(weeks=every_weeks)
    return days


def send(
    user: User,
    couple: Couple,
    *,
    instrument_key: str,
    starts_on: date | None,
    every_weeks: int | None,
    for_weeks: int | None,
    now: datetime | None = None,
) -> MeasureSchedule:
    """Send a measure to both partners: now (`every_weeks` None), or from `starts_on` every
    `every_weeks` weeks for `for_weeks` weeks. One measure per partner per due day is made at
    once. `now` is the clock (the demo sends in the past through this same call)."""
    if couple.is_closed:
        raise DomainError("Reopen the couple to send a questionnaire.")
    try:
        chosen = instrument(instrument_key)
    except NotFound:
        raise DomainError("Choose one of the listed questionnaires.", "instrument") from None
    if chosen.key not in {c.instrument.key for c in enabled_choices()}:
        raise DomainError("Choose one of the listed questionnaires.", "instrument")
    today = couple_today(couple, now)
    starts_on = starts_on or today
    if starts_on < today:
        raise DomainError("Choose today or a later day.", "starts_on")
    if starts_on > today + timedelta(days=366):
        raise DomainError("Choose a day within the coming year.", "starts_on")
    if every_weeks is None:
        for_weeks = for_weeks or 1
    _check_weeks(every_weeks, for_weeks)
    days = due_dates(starts_on, every_weeks, for_weeks)
    schedule = MeasureSchedule(
        couple_id=couple.id,
        instrument=chosen.key,
        starts_on=starts_on,
        every_weeks=every_weeks,
        ends_on=days[-1],
        created_by_id=user.id,
        created_at=now or utcnow(),
    )
    db.session.add(schedule)
    db.session.flush()
    db.session.add_all(
        MeasureResponse(
            couple_id=couple.id,
            partner_id=partner.id,
            schedule_id=schedule.id,
            instrument=chosen.key,
            due_on=day,
            answers={},
        )
        for day in days
        for partner in couple.partners
    )
    audit.record(
        "measure.scheduled",
        actor=user,
        target=couple,
        details={"instrument": chosen.key, "times": len(days)},
    )
    return schedule


def get_schedule(couple: Couple, schedule_id: int) -> MeasureSchedule:
    found = None
    if 0 < schedule_id <= MAX_ID:
        found = db.session.scalar(
            select(MeasureSchedule).where(
                MeasureSchedule.id == schedule_id, MeasureSchedule.couple_id == couple.id
            )
        )
    if found is None:
        raise NotFound()
    return found


def stop(user: User, couple: Couple, schedule: MeasureSchedule, now: datetime | None = None) -> int:
    """Stop a schedule: the measures not yet due go (nobody has seen them); what is due stays
    answerable and every answer stays. Returns how many were taken off."""
    if schedule.stopped_at is not None:
        return 0
    today = couple_today(couple, now)
    removed = db.session.execute(
        delete(MeasureResponse)
        .where(
            MeasureResponse.schedule_id == schedule.id,
            MeasureResponse.due_on > today,
            MeasureResponse.submitted_at.is_(None),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    schedule.stopped_at = now or utcnow()
    schedule.ends_on = max(schedule.starts_on, min(schedule.ends_on, today))
    audit.record("measure.stopped", actor=user, target=couple, details={"removed": removed})
    return removed


def couple_record(couple: Couple) -> tuple[list[MeasureSchedule], list[MeasureResponse]]:
    """The couple's schedules (latest first) and every measure (by due day), in one statement
    (the therapist's page)."""
    pairs = db.session.execute(
        select(MeasureSchedule, MeasureResponse)
        .outerjoin(MeasureResponse, MeasureResponse.schedule_id == MeasureSchedule.id)
        .where(MeasureSchedule.couple_id == couple.id)
    ).all()
    found = {schedule.id: schedule for schedule, _ in pairs}
    rows = [row for _, row in pairs if row is not None]
    return (
        sorted(found.values(), key=lambda s: (s.created_at, s.id), reverse=True),
        sorted(rows, key=lambda r: (r.due_on, r.partner_id, r.id)),
    )


def couple_measures(couple: Couple) -> list[MeasureResponse]:
    """Every measure of the couple, by due day (therapists only)."""
    return list(
        db.session.scalars(
            select(MeasureResponse)
            .where(MeasureResponse.couple_id == couple.id)
            .order_by(MeasureResponse.due_on, MeasureResponse.partner_id, MeasureResponse.id)
        )
    )


# -- a partner's measures ------------------------------------------------------------------------


def _latest_due(rows: list[MeasureResponse], today: date) -> set[int]:
    """Per schedule, the id of its latest measure due by today: the one still answerable (an
    older unanswered one lapses when the next falls due)."""
    latest: dict[int, MeasureResponse] = {}
    for row in rows:
        if row.due_on <= today:
            kept = latest.get(row.schedule_id)
            if kept is None or row.due_on > kept.due_on:
                latest[row.schedule_id] = row
    return {row.id for row in latest.values()}


def is_open(response: MeasureResponse, latest: set[int]) -> bool:
    return response.submitted_at is None and response.id in latest


def partner_measures(partner: Partner) -> list[MeasureResponse]:
    """The partner's own measures due by today, newest first."""
    today = couple_today(partner.couple)
    return list(
        db.session.scalars(
            select(MeasureResponse)
            .where(MeasureResponse.partner_id == partner.id, MeasureResponse.due_on <= today)
            .order_by(MeasureResponse.due_on.desc(), MeasureResponse.id.desc())
        )
    )


def open_for(partner: Partner, rows: list[MeasureResponse] | None = None) -> list[MeasureResponse]:
    """The partner's measures waiting for an answer now (from `rows`, their measures due by
    today, when the caller has them)."""
    rows = partner_measures(partner) if rows is None else rows
    latest = _latest_due(rows, couple_today(partner.couple))
    return [row for row in rows if is_open(row, latest)]


def get_partner_measure(partner: Partner, public_id: str) -> MeasureResponse:
    """The partner's own measure, due by today; NotFound for anyone else's or a future one."""
    found = db.session.scalar(
        select(MeasureResponse).where(
            MeasureResponse.public_id == public_id, MeasureResponse.partner_id == partner.id
        )
    )
    if found is None or found.due_on > couple_today(partner.couple):
        raise NotFound()
    return found


def answerable(response: MeasureResponse, now: datetime | None = None) -> bool:
    """Not handed in, and the latest of its schedule that is due."""
    if response.submitted_at is not None:
        return False
    today = couple_today(response.couple, now)
    later = db.session.scalar(
        select(MeasureResponse.id).where(
            MeasureResponse.schedule_id == response.schedule_id,
            MeasureResponse.partner_id == response.partner_id,
            MeasureResponse.due_on > response.due_on,
            MeasureResponse.due_on <= today,
        )
    )
    return later is None


def form_values(response: MeasureResponse) -> dict[str, str]:
    """What is stored, as the form's fields (the autosave's echo)."""
    return {f"{FIELD}{key}": str(value) for key, value in response.answers.items() if value != ""}


def parse_form(chosen: Instrument, form) -> dict[str, str]:
    """The answers posted (item key -> anchor value or "prefer_not"); an item left blank is
    not stored. A value that is not one of the item's answers is refused, never guessed."""
    answers, errors = {}, {}
    for item in chosen.items:
        raw = (form.get(f"{FIELD}{item.key}") or "").strip()
        if not raw:
            continue
        if raw != PREFER_NOT and raw not in {str(a.value) for a in item.anchors}:
            errors[f"{FIELD}{item.key}"] = "Choose one of the answers."
            continue
        answers[item.key] = raw
    if errors:
        raise MeasureInvalid(errors)
    return answers


def save(
    partner: Partner,
    response: MeasureResponse,
    *,
    form,
    base_version: int,
    now: datetime | None = None,
) -> MeasureResponse:
    """Store the answers as chosen, if nobody saved since `base_version`."""
    if response.partner_id != partner.id:
        raise NotFound()
    if response.due_on > couple_today(response.couple, now) or not answerable(response, now):
        raise DomainError("This questionnaire is closed, so its answers can no longer change.")
    answers = parse_form(instrument(response.instrument), form)
    if base_version != response.version:
        raise MeasureConflict(response)
    saved = db.session.execute(
        update(MeasureResponse)
        .where(
            MeasureResponse.id == response.id,
            MeasureResponse.version == base_version,
            MeasureResponse.submitted_at.is_(None),
        )
        .values(answers=answers, version=base_version + 1, last_saved_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(response)
    if saved != 1:
        raise MeasureConflict(response)
    return response


def submit(
    partner: Partner,
    response: MeasureResponse,
    *,
    form,
    base_version: int,
    now: datetime | None = None,
) -> MeasureResponse:
    """Save, then hand in and score. Every item needs an answer (or "prefer not to answer"):
    a sum with a gap is no score. An item declined leaves the score unknown."""
    save(partner, response, form=form, base_version=base_version, now=now)
    chosen = instrument(response.instrument)
    missing = {
        f"{FIELD}{item.key}": "Choose an answer, or “Prefer not to answer”."
        for item in chosen.items
        if item.key not in response.answers
    }
    if missing:
        raise MeasureInvalid(
            missing, "Answer every question before handing it in: your answers are saved."
        )
    try:
        result = score(chosen, dict(response.answers))
    except InstrumentError:  # the form's own check let nothing else through
        raise MeasureInvalid({}) from None
    response.score = result.score
    response.past_cutoff = result.positive
    response.submitted_at = now or utcnow()
    audit.record("measure.submitted", actor=partner, target=response, couple_id=response.couple_id)
    return response


# -- charts --------------------------------------------------------------------------------------


def cutoff_words(chosen: Instrument) -> str:
    """'below 13.5': where a score crosses the instrument's cut-off."""
    value = f"{chosen.cutoff:g}" if chosen.cutoff is not None else ""
    return f"{chosen.positive_when} {value}"


def past_words(key: str) -> str:
    """How a score past the cut-off of instrument `key` reads: 'below 13.5'."""
    try:
        return cutoff_words(instrument(key))
    except NotFound:
        return "past the cut-off"


@dataclass(frozen=True)
class MeasureChart:
    instrument: Instrument
    svg: str
    svg_narrow: str
    headers: list[str]
    rows: list[list[str]]

    @property
    def title(self) -> str:
        return self.instrument.name


def charts(
    couple: Couple,
    rows: list[MeasureResponse],
    *,
    for_partner: Partner | None = None,
    until: date | None = None,
    sessions: list[date] | None = None,
    prefix: str = "measure",
    narrow: bool = True,
) -> list[MeasureChart]:
    """One chart per instrument with scores among `rows` (the couple's measures, as the page
    already read them): both partners' scores on it (`for_partner`: theirs only), the cut-off
    across and the sessions marked (`sessions`: the days to mark), with the numbers as table
    rows. `until`: scores due by that day only (a summary's period)."""
    rows = sorted(
        (
            r
            for r in rows
            if r.submitted_at is not None
            and r.score is not None
            and (for_partner is None or r.partner_id == for_partner.id)
            and (until is None or r.due_on <= until)
        ),
        key=lambda r: (r.due_on, r.id),
    )
    partners = [p for p in couple.partners if for_partner is None or p.id == for_partner.id]
    made = []
    for key in dict.fromkeys(row.instrument for row in rows):
        try:
            chosen = instrument(key)
        except NotFound:
            continue  # a definition since removed: its scores stay in the table of answers
        mine = [row for row in rows if row.instrument == key]
        series = [
            DatedSeries(
                p.display_name,
                [(r.due_on, float(r.score)) for r in mine if r.partner_id == p.id],
            )
            for p in partners
        ]
        start = mine[0].due_on - timedelta(days=7)
        end = max(mine[-1].due_on, until or mine[-1].due_on) + timedelta(days=7)
        options = {
            "start": start,
            "end": end,
            "y_min": chosen.minimum,
            "y_max": chosen.maximum,
            "title": f"{chosen.name}: scores over time",
            "cutoff": chosen.cutoff,
            "sessions": [day for day in sessions or [] if start <= day <= end],
            "y_labels": {
                chosen.minimum: str(chosen.minimum),
                chosen.maximum: str(chosen.maximum),
            },
        }
        ident = f"{prefix}-{key.replace('_', '-')}"
        names = {p.id: p.display_name for p in partners}
        made.append(
            MeasureChart(
                instrument=chosen,
                svg=dated_chart(series, ident=ident, ticks=6 if narrow else 4, **options),
                svg_narrow=dated_chart(
                    series,
                    ident=f"{ident}-narrow",
                    width=360,
                    height=260,
                    compact=True,
                    ticks=3,
                    **options,
                )
                if narrow
                else "",
                headers=["Day", "Who", "Score", f"{cutoff_words(chosen).capitalize()}?"],
                rows=[
                    [
                        f"{r.due_on:%-d %b %Y}",
                        names[r.partner_id],
                        str(r.score),
                        "Yes" if r.past_cutoff else "No",
                    ]
                    for r in mine
                ],
            )
        )
    return made


def session_days(couple: Couple) -> list[date]:
    """The days the couple met their therapist (a "notes only" entry is no meeting)."""
    zone = ZoneInfo(couple.time_zone)
    return sorted(
        a.starts_at.astimezone(zone).date()
        for a in appointments.for_couple(couple)
        if a.attendance != "notes"
    )


def summary_charts(couple: Couple, until: date, *, prefix: str) -> list[MeasureChart]:
    """The therapist's charts for a session summary: every score up to `until`, both
    partners, sessions marked; drawn for print only."""
    return charts(
        couple,
        couple_measures(couple),
        until=until,
        sessions=[day for day in session_days(couple) if day <= until],
        prefix=prefix,
        narrow=False,
    )


# -- reminders -----------------------------------------------------------------------------------


def due_for_reminder(couple: Couple, now: datetime) -> list[MeasureResponse]:
    """The couple's measures due today or earlier, not handed in and still answerable (the
    latest of their schedule): what a reminder may be sent for."""
    today = couple_today(couple, now)
    rows = list(
        db.session.scalars(
            select(MeasureResponse).where(
                MeasureResponse.couple_id == couple.id,
                MeasureResponse.due_on <= today,
                MeasureResponse.due_on > today - timedelta(weeks=MAX_EVERY_WEEKS),
            )
        )
    )
    latest = set()
    for partner_id in {row.partner_id for row in rows}:
        latest |= _latest_due([row for row in rows if row.partner_id == partner_id], today)
    return [row for row in rows if is_open(row, latest)]

"""Safety: the private screen, the check-in's two safety items, and the flags they raise.

Private to the therapists, always. A partner's answers are stored as safety answers that no
partner-facing page, trend or export reads. A positive screen or an unsafe answer raises a
flag at once: it shows on the dashboard and the couple page (therapists only), and each
assigned therapist gets a content-free notice and email ("a safety answer needs your
attention", and a link). The other partner sees nothing change. The partner who answered
never sees a score or a "flag": their page shows a calm message and where to find help now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.instruments import PREFER_NOT, Instrument, InstrumentError, get_instrument, score
from practice.jobs import enqueue
from practice.models import Couple, Partner, Practice, User
from practice.models.base import utcnow
from practice.models.checkin import Checkin, SafetyAnswer, SafetyFlag
from practice.services import DomainError, NotFound, audit, notices

SCREEN_EVERY = timedelta(days=90)
# The two items every check-in asks, worded for this product (not a validated screen).
CHECKIN_ITEMS = (
    ("safe_at_home", "I feel safe at home."),
    ("feel_heard", "I feel heard by my partner."),
)
CHECKIN_ANSWERS = (("yes", "Yes"), ("not_sure", "Not sure"), ("no", "No"))
# An answer that raises a flag: feeling unsafe at home, or not sure. Not feeling heard is
# for the therapist to read, not a safety alarm.
UNSAFE = {"safe_at_home": {"no", "not_sure"}}
DEFAULT_CRISIS_RESOURCES = (
    "If you are in danger right now, call your local emergency number. If you can, tell "
    "your therapist how you are; you do not have to go through this alone."
)


def crisis_resources(practice: Practice) -> str:
    return practice.crisis_resources.strip() or DEFAULT_CRISIS_RESOURCES


def instrument_for(practice: Practice) -> Instrument:
    """The practice's safety screen: its chosen instrument, or our own questions."""
    try:
        chosen = get_instrument(practice.safety_instrument)
    except InstrumentError:
        chosen = get_instrument("own_safety")
    return chosen if chosen.purpose == "safety" else get_instrument("own_safety")


def screen_due(partner: Partner, now: datetime | None = None) -> bool:
    """On first entry (after the privacy notice) and again every 90 days."""
    now = now or utcnow()
    return partner.screened_at is None or now - partner.screened_at >= SCREEN_EVERY


def _raise_flag(partner: Partner, answer: SafetyAnswer, link: str) -> SafetyFlag:
    flag = SafetyFlag(
        couple_id=partner.couple_id,
        partner_id=partner.id,
        answer_id=answer.id,
        raised_at=answer.answered_at or utcnow(),
    )
    db.session.add(flag)
    db.session.flush()
    couple = partner.couple
    notices.notify_therapists(couple, "safety.answer", link)
    for therapist in couple.therapists:
        if therapist.active:
            enqueue("email.safety_flag", user_id=therapist.id, couple_id=couple.id)
    audit.record("safety.flag_raised", target=flag, couple_id=partner.couple_id)
    return flag


def record_screen(
    partner: Partner, practice: Practice, answers: dict[str, int | str], *, link: str
) -> SafetyAnswer:
    """Store the partner's screen answers; a positive screen raises a flag at once."""
    instrument = instrument_for(practice)
    try:
        result = score(instrument, answers)
    except InstrumentError:
        raise DomainError(
            "Choose one answer for each question, or 'Prefer not to answer'."
        ) from None
    answer = SafetyAnswer(
        couple_id=partner.couple_id,
        partner_id=partner.id,
        instrument=instrument.key,
        context="screen",
        answers=dict(answers),
        score=result.score,
        positive=result.positive,
    )
    db.session.add(answer)
    db.session.flush()
    partner.screened_at = utcnow()
    audit.record("safety.screen_answered", actor=partner, target=partner)
    if result.positive:
        _raise_flag(partner, answer, link)
    return answer


def record_checkin_items(
    partner: Partner,
    checkin: Checkin,
    answers: dict[str, str],
    *,
    link: str,
    now: datetime | None = None,
) -> SafetyAnswer | None:
    """The check-in's two safety items, kept apart from the check-in itself. An unsafe
    answer raises a flag at once; later saves of the same week update the answer and raise
    a flag only if none is open for it."""
    keys = {key for key, _ in CHECKIN_ITEMS}
    allowed = {value for value, _ in CHECKIN_ANSWERS} | {PREFER_NOT, ""}
    cleaned = {key: answers.get(key, "") for key in keys}
    if any(value not in allowed for value in cleaned.values()):
        raise DomainError("Choose one of the answers, or leave it.")
    if not any(cleaned.values()):
        return None
    answer = db.session.scalar(
        select(SafetyAnswer).where(
            SafetyAnswer.checkin_id == checkin.id, SafetyAnswer.partner_id == partner.id
        )
    )
    unsafe = any(cleaned.get(key) in values for key, values in UNSAFE.items())
    if answer is None:
        answer = SafetyAnswer(
            couple_id=partner.couple_id,
            partner_id=partner.id,
            instrument="checkin_items",
            context="checkin",
            checkin_id=checkin.id,
            answers=cleaned,
            positive=unsafe,
            answered_at=now or utcnow(),
        )
        db.session.add(answer)
        db.session.flush()
    else:
        answer.answers = cleaned
        answer.positive = unsafe
        answer.answered_at = now or utcnow()
    if unsafe:
        open_flag = db.session.scalar(
            select(SafetyFlag.id).where(
                SafetyFlag.answer_id == answer.id, SafetyFlag.addressed_at.is_(None)
            )
        )
        if open_flag is None:
            _raise_flag(partner, answer, link)
    return answer


def open_flags(couple_ids) -> list[SafetyFlag]:
    """Flags not yet addressed, for these couples (a select of ids), oldest first."""
    return list(
        db.session.scalars(
            select(SafetyFlag)
            .where(SafetyFlag.couple_id.in_(couple_ids), SafetyFlag.addressed_at.is_(None))
            .order_by(SafetyFlag.raised_at, SafetyFlag.id)
            .options(joinedload(SafetyFlag.partner).joinedload(Partner.couple))
        )
    )


def get_flag(couple: Couple, flag_id: int) -> SafetyFlag:
    flag = db.session.scalar(
        select(SafetyFlag).where(SafetyFlag.id == flag_id, SafetyFlag.couple_id == couple.id)
    )
    if flag is None:
        raise NotFound()
    return flag


def mark_seen(user: User, flag: SafetyFlag) -> None:
    if flag.seen_at is None:
        flag.seen_at = utcnow()
        flag.seen_by_id = user.id
        audit.record("safety.flag_seen", actor=user, target=flag, couple_id=flag.couple_id)


def mark_addressed(user: User, flag: SafetyFlag, note: str) -> None:
    if not note.strip():
        raise DomainError(
            "Write what was done: it stays with the flag, for therapists only.", "note"
        )
    if len(note) > 10_000:
        raise DomainError("Keep the note under 10,000 characters.", "note")
    mark_seen(user, flag)
    flag.addressed_at = utcnow()
    flag.addressed_by_id = user.id
    flag.note = note.strip()
    audit.record("safety.flag_addressed", actor=user, target=flag, couple_id=flag.couple_id)


def update_settings(
    owner: User,
    practice: Practice,
    *,
    checkin_weekday: int,
    checkin_hour: int,
    safety_instrument: str,
    crisis_resources: str,
    quick_exit_url: str,
) -> None:
    """The practice's check-in schedule and safety settings (owner only, audited)."""
    if not owner.is_owner:
        raise NotFound()
    if checkin_weekday not in range(7):
        raise DomainError("Choose a day of the week.", "checkin_weekday")
    if checkin_hour not in range(24):
        raise DomainError("Choose an hour from 0 to 23.", "checkin_hour")
    try:
        instrument = get_instrument(safety_instrument)
    except InstrumentError:
        raise DomainError("Choose one of the listed questionnaires.", "safety_instrument") from None
    if instrument.purpose != "safety":
        raise DomainError("Choose one of the listed questionnaires.", "safety_instrument")
    url = quick_exit_url.strip()
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise DomainError("Enter a full web address, starting with https://", "quick_exit_url")
    practice.checkin_weekday = checkin_weekday
    practice.checkin_hour = checkin_hour
    if practice.safety_instrument != instrument.key:
        # The privacy notice lists the questions: partners acknowledge the new ones.
        practice.privacy_notice_version += 1
    practice.safety_instrument = instrument.key
    practice.crisis_resources = crisis_resources.strip()
    practice.quick_exit_url = url
    audit.record(
        "practice.safety_settings_changed",
        actor=owner,
        target=practice,
        details={"instrument": instrument.key},
    )


def safety_choices() -> list[Instrument]:
    """The safety questionnaires a practice can choose, ours first."""
    from practice.instruments import instruments

    found = [i for i in instruments().values() if i.purpose == "safety"]
    return sorted(found, key=lambda i: (i.validated, i.name))

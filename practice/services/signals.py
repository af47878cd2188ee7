"""When more help may be needed: the method's signs, read from what the couple already handed in.

The method names a few moments when a couple needs more than they can do on their own: the
same argument going round and round with no way out, an injury tied up with drink or drugs,
a partner who does not feel safe or listened to, and a partner who keeps making the harm
smaller, pointing at the other or going quiet, in which case it suggests slowing the rebuild
and agreeing what must change first, with support of one's own to decide what comes next.

Here those moments are read from data the product already keeps (no table of its own) and
shown to the couple's therapists as prompts to weigh, each with its evidence: which check-in
(week, partner, answer), which safety answer, which piece of homework. Nothing here decides,
flags or notifies anyone; the partners never see any of it (the couple page and the
therapist's copy of a summary only). Safety answers stay where the safety rules keep them:
this module only reads what `services.safety` stored and decided (`SafetyAnswer.positive`,
its flags) and links to the safety page.

The signs and their thresholds (stated on the page too, from `RULES`):

- **the same fight**: a partner rated "the same argument again" 1 or 2 of 5 (1 is "most
  days") in at least 3 of their last 4 check-ins that answered it, within the window;
- **substances**: a word about drink or drugs (`SUBSTANCE_WORDS`, a short, conservative
  list) in a handed-in check-in's own words or in handed-in homework. Only the word and the
  sentence it is in are shown: whether it matters is the therapist's call;
- **unsafe or unheard**: a safety answer that the safety rules found positive (the check-in's
  "I feel safe at home" answered no or not sure, or the safety screen over its cut-off) in
  the window, or one whose flag is still open; or "I feel heard by my partner" answered "no"
  in at least 2 of the partner's last 4 check-ins that answered it;
- **responsibility**: for a partner asked to take responsibility (the partner who broke trust,
  or either partner of a mutual rupture): the homework coach found at least 2 phrases that
  blame, excuse or make the harm smaller (`OWNING_CODES`, the apology coach's rules, also
  used by the truth conversation) in their handed-in work; or their work was returned for
  revision at least 2 times in the window; or at least 2 of their pieces are overdue now.

The window is the last `WINDOW_WEEKS` weeks, in the couple's days. Statements: a fixed three
at most (the check-ins of the window; the safety answers with their flags; the returns of the
partners' handed-in work, only when there is any), whatever the size of the couple's record;
the homework is the couple page's own (`assignments`), loaded once more only when not given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from practice.checkins.questions import MARKERS
from practice.checkins.status import HANDED_IN
from practice.extensions import db
from practice.homework import get_kind
from practice.homework.base import content_texts
from practice.homework.text import compile_pattern, sentence_around, sentence_before
from practice.homework.workflow import WRITABLE, Status
from practice.instruments import PREFER_NOT, InstrumentError, get_instrument
from practice.models import Couple, Partner
from practice.models.checkin import Checkin, SafetyAnswer, SafetyFlag
from practice.models.homework import Assignment, HomeworkResponse, ResponseTransition
from practice.services import homework as homework_service
from practice.services import safety

WINDOW_WEEKS = 12

# The same fight: "the same argument again" rated this low or lower...
SAME_FIGHT_AT_MOST = 2
# ...in at least this many of the partner's last few check-ins that answered it.
SAME_FIGHT_MIN, SAME_FIGHT_OF = 3, 4

# Not heard: "I feel heard by my partner" answered one of these...
UNHEARD_ANSWERS = frozenset({"no"})
# ...in at least this many of the partner's last few check-ins that answered it.
UNHEARD_MIN, UNHEARD_OF = 2, 4

# Responsibility: the coach's findings that blame, excuse or make the harm smaller (the
# apology coach's codes; the truth conversation reuses them)...
OWNING_CODES = frozenset(
    {"you-made-me", "blame-other", "false-symmetry", "excuse", "but-i", "minimiser", "passive"}
)
OWNING_MIN = 2  # ...this many phrases in the partner's handed-in work, all pieces together;
RETURNS_MIN = 2  # or returned for revision this many times in the window;
OVERDUE_MIN = 2  # or this many pieces overdue now.
# Who is asked to take responsibility, by repair role.
RESPONSIBLE_ROLES = frozenset({"broke_trust", "mutual"})

# Words about drink or drugs. Short and conservative on purpose: words that are nearly always
# about a substance ("drinking", not "drink"; no "high", "pills", "weed" or "spirits"), so
# that what is shown is worth a look; the therapist reads the sentence and judges.
SUBSTANCE_WORDS = (
    "alcohol",
    "alcoholic",
    "drunk",
    "drinking",
    "drank",
    "booze",
    "boozing",
    "beer",
    "beers",
    "wine",
    "vodka",
    "whisky",
    "whiskey",
    "hangover",
    "hungover",
    "tipsy",
    "intoxicated",
    "sober",
    "sobriety",
    "relapse",
    "relapsed",
    "rehab",
    "drugs",
    "cocaine",
    "cannabis",
    "marijuana",
    "heroin",
    "ketamine",
)
_SUBSTANCE = compile_pattern(r"\b(?:" + "|".join(SUBSTANCE_WORDS) + r")\b")
SNIPPET_CHARS = 160

# A check-in's own words, by where they are in its content, as the therapist's page names them.
CHECKIN_TEXTS = (
    (("facts",), "The week"),
    (("feelings",), "Feelings"),
    (("went_well",), "What went well"),
    (("reflection",), "The week's question"),
    (("triggers", "helped_other"), "What else helped"),
    (("window", "how"), "The processing window"),
)


@dataclass(frozen=True)
class Evidence:
    """One thing the therapist can open and read: what it is, whose, when, what it says."""

    label: str  # what it is: "Weekly check-in", "Apology draft", "Safety screen"
    dated: str  # what its date is: "week of", "handed in", "due"...
    on: date | datetime | None  # the week (a date) or the moment (a datetime, shown locally)
    partner: str  # whose it is ("Both together" for a joint piece of work)
    answer: str  # the answer or what was found, in words
    # Where a therapist reads it: an endpoint and its arguments (never shown in the portal).
    endpoint: str | None = None
    args: dict = field(default_factory=dict)
    # What it is, as ids: ("checkin", id), ("response", id), ("safety_answer", id).
    ref: tuple[str, int] | None = None


@dataclass(frozen=True)
class Rule:
    """A sign of the method, in words: its title, the question it puts, and when it shows."""

    key: str
    title: str
    prompt: str  # a question for the therapist to weigh, never a conclusion
    shown_when: str  # the threshold, in words


@dataclass(frozen=True)
class Signal:
    """A sign that shows in the data, with its evidence (newest first)."""

    key: str
    title: str
    prompt: str
    shown_when: str
    evidence: list[Evidence]


RULES = (
    Rule(
        "same_fight",
        "The same argument keeps coming back",
        "Worth asking what the argument that keeps returning is about, and whether the "
        "structure you have set up (a processing window, a code word) is holding it, or "
        "whether the two of them need more of your help to get out of the loop.",
        f"a partner rated “the same argument again” {SAME_FIGHT_AT_MOST} or lower of 5 (1 is "
        f"“most days”) in at least {SAME_FIGHT_MIN} of their last {SAME_FIGHT_OF} check-ins "
        f"that answered it, in the last {WINDOW_WEEKS} weeks.",
    ),
    Rule(
        "substances",
        "Drink or drugs come up",
        "Consider whether drink or drugs play a part in the hurt or in how the weeks go, and "
        "whether support beyond couples work (an assessment, a specialist service) would "
        "help. Read the words in context first: a mention is not a problem in itself.",
        "a word about drink or drugs appears in a check-in handed in during the last "
        f"{WINDOW_WEEKS} weeks, or in handed-in homework. The words looked for: "
        + ", ".join(SUBSTANCE_WORDS)
        + ".",
    ),
    Rule(
        "unsafe_or_unheard",
        "A partner may not feel safe, or heard",
        "Consider whether joint work is the right setting for now, whether to make time with "
        "the partner who answered on their own, and what they need in order to speak freely. "
        "The safety answers and their flags are on the safety page.",
        "a safety answer was found unsafe by the safety questions (“I feel safe at home” "
        f"answered no or not sure, or the screen over its cut-off) in the last {WINDOW_WEEKS} "
        "weeks, or its flag is still open; or “I feel heard by my partner” was answered no in "
        f"at least {UNHEARD_MIN} of the partner's last {UNHEARD_OF} check-ins that answered it.",
    ),
    Rule(
        "responsibility",
        "Responsibility may not be owned yet",
        "Consider whether the rebuild should slow until the partner owns what they did, what "
        "the other partner needs in order to go on, and whether sessions of their own would "
        "help either of them decide their next steps.",
        "for a partner asked to take responsibility (the partner who broke trust, or either "
        f"partner of a mutual rupture): the coach found at least {OWNING_MIN} phrases that "
        "blame, excuse or make the harm smaller in their handed-in homework; or their work was "
        f"returned for revision at least {RETURNS_MIN} times in the last {WINDOW_WEEKS} weeks; "
        f"or at least {OVERDUE_MIN} of their pieces are overdue.",
    ),
)
RULES_BY_KEY = {rule.key: rule for rule in RULES}

_SAME_FIGHT = next(marker for marker in MARKERS if marker.key == "same_fight")
_SAFETY_ITEMS = dict(safety.CHECKIN_ITEMS)
_SAFETY_WORDS = dict(safety.CHECKIN_ANSWERS)


def _signal(key: str, evidence: list[Evidence]) -> Signal | None:
    if not evidence:
        return None
    rule = RULES_BY_KEY[key]
    ordered = sorted(evidence, key=lambda e: _moment(e.on), reverse=True)
    return Signal(rule.key, rule.title, rule.prompt, rule.shown_when, ordered)


def _moment(value: date | datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=ZoneInfo("UTC"))
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=ZoneInfo("UTC"))


def _week_link(couple_id: int, week: date) -> dict:
    return {"couple_id": couple_id, "week": week.isoformat()}


def _snippet(text: str, match: re.Match[str]) -> str:
    """The sentence a word is in, on one line, cut around the word when it is long."""
    sentence = sentence_around(text, match.start(), match.end())
    if len(sentence) > SNIPPET_CHARS:
        at = len(sentence_before(text, match.start()))  # where the word starts in it
        begin = max(0, min(at - SNIPPET_CHARS // 2, len(sentence) - SNIPPET_CHARS))
        cut = sentence[begin : begin + SNIPPET_CHARS]
        more = begin + SNIPPET_CHARS < len(sentence)
        sentence = ("…" if begin else "") + cut + ("…" if more else "")
    return " ".join(sentence.split())


def substance_mentions(text: str) -> list[tuple[str, str]]:
    """Each word about drink or drugs in `text` (once per word, as typed), with its sentence."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for match in _SUBSTANCE.finditer(text or ""):
        word = match.group(0)
        if word.casefold() in seen:
            continue
        seen.add(word.casefold())
        found.append((word, _snippet(text, match)))
    return found


def _checkin_text(content: dict, path: tuple[str, ...]) -> str:
    value: object = content
    for key in path:
        value = value.get(key, "") if isinstance(value, dict) else ""
    return value if isinstance(value, str) else ""


# -- reading (a fixed number of statements) -------------------------------------------------


@dataclass(frozen=True)
class _Week:
    """A handed-in check-in: the columns the signs read."""

    id: int
    partner_id: int
    week_of: date
    content: dict


@dataclass(frozen=True)
class _Answer:
    """A safety answer, the week of its check-in (if any) and its latest flag (if any)."""

    answer: SafetyAnswer
    week_of: date | None
    flag_id: int | None
    flag_addressed_at: datetime | None


def _day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def _handed_in_weeks(couple: Couple, first: date, last: date) -> list[_Week]:
    rows = db.session.execute(
        select(Checkin.id, Checkin.partner_id, Checkin.week_of, Checkin.content)
        .where(
            Checkin.couple_id == couple.id,
            Checkin.status.in_(HANDED_IN),
            Checkin.week_of >= first,
            Checkin.week_of <= last,
        )
        .order_by(Checkin.week_of, Checkin.id)
    )
    return [_Week(row.id, row.partner_id, row.week_of, row.content or {}) for row in rows]


def _safety_answers(couple: Couple, start: datetime, end: datetime) -> list[_Answer]:
    """The window's safety answers, and older ones whose flag is still open, with the week of
    their check-in and their latest flag: one statement."""
    rows = db.session.execute(
        select(SafetyAnswer, Checkin.week_of, SafetyFlag.id, SafetyFlag.addressed_at)
        .outerjoin(Checkin, Checkin.id == SafetyAnswer.checkin_id)
        .outerjoin(SafetyFlag, SafetyFlag.answer_id == SafetyAnswer.id)
        .where(
            SafetyAnswer.couple_id == couple.id,
            SafetyAnswer.answered_at < end,
            or_(
                SafetyAnswer.answered_at >= start,
                and_(SafetyFlag.id.is_not(None), SafetyFlag.addressed_at.is_(None)),
            ),
        )
        .order_by(SafetyAnswer.answered_at, SafetyAnswer.id, SafetyFlag.id)
    )
    latest: dict[int, _Answer] = {}
    for answer, week, flag_id, addressed_at in rows:
        latest[answer.id] = _Answer(answer, week, flag_id, addressed_at)  # later flags win
    return list(latest.values())


def _returns(response_ids: list[int], start: datetime, end: datetime) -> dict[int, list[datetime]]:
    """When each of these pieces was returned for revision in the window: one statement."""
    if not response_ids:
        return {}
    returned: dict[int, list[datetime]] = {}
    for response_id, at in db.session.execute(
        select(ResponseTransition.response_id, ResponseTransition.at)
        .where(
            ResponseTransition.response_id.in_(response_ids),
            ResponseTransition.to_status == Status.RETURNED.value,
            ResponseTransition.at >= start,
            ResponseTransition.at < end,
        )
        .order_by(ResponseTransition.at, ResponseTransition.id)
    ):
        returned.setdefault(response_id, []).append(at)
    return returned


def signals_for(
    couple: Couple,
    *,
    assignments: list[Assignment] | None = None,
    today: date | None = None,
) -> list[Signal]:
    """The method's signs that show in the couple's data over the last `WINDOW_WEEKS` weeks
    up to `today` (the couple's day by default), each with its evidence, in `RULES` order.

    `assignments` is the couple's homework with its pieces of work and their assignments
    (`homework.couple_assignments`), when the caller has it already. For therapists only."""
    today = today or homework_service.couple_today(couple)
    first = today - timedelta(weeks=WINDOW_WEEKS) + timedelta(days=1)
    start = _day_start(first, couple.time_zone)
    end = _day_start(today + timedelta(days=1), couple.time_zone)
    if assignments is None:
        assignments = homework_service.couple_assignments(couple)
    responses = [response for assignment in assignments for response in assignment.responses]
    partners = {partner.id: partner for partner in couple.partners}

    weeks = _handed_in_weeks(couple, first, today)
    answers = _safety_answers(couple, start, end)
    responsible = {pid for pid, p in partners.items() if p.repair_role in RESPONSIBLE_ROLES}
    handed_in = [r for r in responses if r.partner_id in responsible and r.submitted_at is not None]
    returns = _returns([r.id for r in handed_in], start, end)

    found = (
        same_fight(couple, partners, weeks),
        substances(couple, partners, weeks, responses),
        unsafe_or_unheard(couple, partners, answers),
        responsibility(couple, partners, responses, returns, today),
    )
    return [signal for signal in found if signal is not None]


# -- the signs (pure: rows in, a signal or None out) -----------------------------------------


def _name(partners: dict[int, Partner], partner_id: int | None) -> str:
    partner = partners.get(partner_id) if partner_id is not None else None
    return partner.display_name if partner is not None else ""


def same_fight(couple: Couple, partners: dict[int, Partner], weeks: list[_Week]) -> Signal | None:
    """A partner rated the same argument coming back badly in most of their latest weeks."""
    evidence = []
    for partner_id in partners:
        rated = [
            (week, week.content.get("markers", {}).get(_SAME_FIGHT.key))
            for week in weeks
            if week.partner_id == partner_id
        ]
        latest = [(week, value) for week, value in rated if isinstance(value, int)][-SAME_FIGHT_OF:]
        low = [(week, value) for week, value in latest if value <= SAME_FIGHT_AT_MOST]
        if len(low) < SAME_FIGHT_MIN:
            continue
        evidence += [
            Evidence(
                "Weekly check-in",
                "week of",
                week.week_of,
                _name(partners, partner_id),
                f"“{_SAME_FIGHT.name}”: {value} of 5"
                + (f" (“{_SAME_FIGHT.low.lower()}”)" if value == 1 else ""),
                "couples.couple_checkins",
                _week_link(couple.id, week.week_of),
                ("checkin", week.id),
            )
            for week, value in low
        ]
    return _signal("same_fight", evidence)


def substances(
    couple: Couple,
    partners: dict[int, Partner],
    weeks: list[_Week],
    responses: list[HomeworkResponse],
) -> Signal | None:
    """A word about drink or drugs in a handed-in check-in or handed-in homework."""
    evidence = []
    for week in weeks:
        for path, where in CHECKIN_TEXTS:
            for word, snippet in substance_mentions(_checkin_text(week.content, path)):
                evidence.append(
                    Evidence(
                        "Weekly check-in",
                        "week of",
                        week.week_of,
                        _name(partners, week.partner_id),
                        f"“{word}” in {where.lower()}: “{snippet}”",
                        "couples.couple_checkins",
                        _week_link(couple.id, week.week_of),
                        ("checkin", week.id),
                    )
                )
    for response in responses:
        if response.submitted_at is None and Status(response.status) in WRITABLE:
            continue  # still being written: not handed in
        words = [m for text in content_texts(response.content) for m in substance_mentions(text)]
        if not words:
            continue
        kind = get_kind(response.kind)
        evidence.append(
            Evidence(
                kind.label,
                "handed in" if response.submitted_at else "last saved",
                response.submitted_at or response.last_saved_at,
                _name(partners, response.partner_id) or "Both together",
                "; ".join(f"“{word}”: “{snippet}”" for word, snippet in words),
                "homework.review",
                {"couple_id": couple.id, "response_id": response.id},
                ("response", response.id),
            )
        )
    return _signal("substances", evidence)


def _answered(answer: SafetyAnswer, key: str) -> str:
    value = answer.answers.get(key, "") if isinstance(answer.answers, dict) else ""
    return value if value and value != PREFER_NOT else ""


def _instrument_name(key: str) -> str:
    try:
        return get_instrument(key).name
    except InstrumentError:
        return key


def _item(key: str, value: str) -> str:
    """A check-in safety item and its answer, in words: "“I feel heard by my partner”: no"."""
    return f"“{_SAFETY_ITEMS[key].rstrip('.')}”: {_SAFETY_WORDS.get(value, value).lower()}"


def unsafe_or_unheard(
    couple: Couple, partners: dict[int, Partner], answers: list[_Answer]
) -> Signal | None:
    """A safety answer the safety rules found positive, or "not heard" most recent weeks."""
    evidence = []
    for row in answers:
        answer = row.answer
        if not (answer.positive or (row.flag_id is not None and row.flag_addressed_at is None)):
            continue
        if answer.context == "checkin":
            label = "Weekly check-in, safety items"
            said = "; ".join(
                _item(key, value) for key in safety.UNSAFE if (value := _answered(answer, key))
            )
        else:
            label = "Safety screen"
            said = f"positive on “{_instrument_name(answer.instrument)}”"
        said = said or "answered differently since (see the safety page)"
        if row.flag_id is None:
            state = "no flag"
        elif row.flag_addressed_at is None:
            state = "its flag is open"
        else:
            state = "its flag was addressed"
        evidence.append(
            Evidence(
                label,
                "week of" if row.week_of else "answered",
                row.week_of or answer.answered_at,
                _name(partners, answer.partner_id),
                f"{said} ({state})",
                "couples.couple_safety",
                {"couple_id": couple.id}
                | ({"_anchor": f"flag-{row.flag_id}"} if row.flag_id else {}),
                ("safety_answer", answer.id),
            )
        )
    for partner_id in partners:
        heard = [
            (row, value)
            for row in answers
            if row.answer.partner_id == partner_id
            and row.answer.context == "checkin"
            and (value := _answered(row.answer, "feel_heard"))
        ][-UNHEARD_OF:]
        low = [(row, value) for row, value in heard if value in UNHEARD_ANSWERS]
        if len(low) < UNHEARD_MIN:
            continue
        evidence += [
            Evidence(
                "Weekly check-in, safety items",
                "week of" if row.week_of else "answered",
                row.week_of or row.answer.answered_at,
                _name(partners, partner_id),
                _item("feel_heard", value),
                "couples.couple_checkins" if row.week_of else "couples.couple_safety",
                _week_link(couple.id, row.week_of) if row.week_of else {"couple_id": couple.id},
                ("safety_answer", row.answer.id),
            )
            for row, value in low
        ]
    return _signal("unsafe_or_unheard", evidence)


def responsibility(
    couple: Couple,
    partners: dict[int, Partner],
    responses: list[HomeworkResponse],
    returns: dict[int, list[datetime]],
    today: date,
) -> Signal | None:
    """For a partner asked to take responsibility: blame and excuses in handed-in work, work
    returned again and again, or work left overdue."""
    evidence = []
    for partner_id, partner in partners.items():
        if partner.repair_role not in RESPONSIBLE_ROLES:
            continue
        name = partner.display_name
        # (how many: phrases or returns, the evidence) per piece of work
        owning: list[tuple[int, Evidence]] = []
        returned: list[tuple[int, Evidence]] = []
        overdue: list[Evidence] = []
        for response in (r for r in responses if r.partner_id == partner_id):
            kind = get_kind(response.kind)
            link = {"couple_id": couple.id, "response_id": response.id}
            ref = ("response", response.id)
            if response.submitted_at is not None:
                phrases = [
                    " ".join(finding.phrase.split())
                    for finding in kind.coach(response.content or {})
                    if finding.code in OWNING_CODES and finding.phrase
                ]
                if phrases:
                    said = ", ".join(f"“{phrase}”" for phrase in phrases)
                    owning.append(
                        (
                            len(phrases),
                            Evidence(
                                kind.label,
                                "handed in",
                                response.submitted_at,
                                name,
                                f"the coach found {said}",
                                "homework.review",
                                link,
                                ref,
                            ),
                        )
                    )
            times = returns.get(response.id, [])
            if times:
                count = "once" if len(times) == 1 else f"{len(times)} times"
                returned.append(
                    (
                        len(times),
                        Evidence(
                            kind.label,
                            "last returned",
                            times[-1],
                            name,
                            f"returned for revision {count}",
                            "homework.review",
                            link,
                            ref,
                        ),
                    )
                )
            if homework_service.is_overdue(response, today):
                due = response.assignment.due_date
                overdue.append(
                    Evidence(
                        kind.label,
                        "due",
                        due,
                        name,
                        f"overdue: {response.status_label.lower()}",
                        "homework.review",
                        link,
                        ref,
                    )
                )
        if sum(count for count, _ in owning) >= OWNING_MIN:
            evidence += [item for _, item in owning]
        if sum(count for count, _ in returned) >= RETURNS_MIN:
            evidence += [item for _, item in returned]
        if len(overdue) >= OVERDUE_MIN:
            evidence += overdue
    return _signal("responsibility", evidence)

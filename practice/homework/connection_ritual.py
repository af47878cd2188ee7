"""Connection ritual: the week the couple plans together to reconnect, not only to repair.

Three parts, from the method's weekly ritual: a repair check-in at a set day and time (in
the couple's time zone), one date with no heavy topics (an idea from a short list in our
own words, or their own), and one small act of care each partner gives every day.

Workflow (path "confirmed", no therapist step), as the processing window: one joint plan,
and each partner agrees to the same version. Each partner writes only their own act of care
(`merge_edit`); the check-in and the date are joint. Once both agreed it is read-only, and
each week each partner ticks off what happened (a light log of its own: `RitualTick`);
"Propose a change" reopens the plan as a draft.

The coach names what is missing, an act of care that names no act ("be nicer", "show more
love") rather than one thing ("make your coffee before work"), a date that turns into repair
talk, and a check-in set late at night.
"""

from __future__ import annotations

import re

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import ContentError, Finding, HomeworkKind
from practice.homework.text import HEDGE, MSG_HEDGED, VAGUE_PROMISE, compile_pattern
from practice.homework.workflow import CONFIRMED, Status

# The method's repair check-in lasts 20 to 30 minutes: the calendar keeps 30.
CHECKIN_MINUTES = 30

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# One-line fields: no control characters, line or paragraph separators (as every one-line
# field of the app; kinds do not import the services that spell it too).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ONE_LINE = "Keep this to one line, without line breaks, tabs or invisible characters."
DATE_LIMIT = 300
CARE_LIMIT = 300
CARE_KEYS = ("care_1", "care_2")

# A few ideas for the date, in our own words; the couple may write their own instead.
DATE_IDEAS: dict[str, str] = {
    "walk": "A walk somewhere neither of you has been",
    "cook": "Cook a meal together, start to finish",
    "laugh": "Something that makes you both laugh",
    "play": "A game, a puzzle or cards at home",
    "out": "Out for a coffee, a film or live music",
    "revisit": "Back to a place you both used to love",
}

# Words that stand in for an act of care without naming one.
_CARE_VAGUE = compile_pattern(
    r"\b(?:be|being)\s+(?:a\s+(?:bit|little)\s+)?(?:more\s+|much\s+more\s+)?"
    r"(?:nice|nicer|kind|kinder|sweet|sweeter|loving|caring|affectionate|thoughtful|"
    r"attentive|romantic|helpful|gentle|gentler|warm|warmer)\b"
    r"|\bshow\s+(?:you\s+|him\s+|her\s+|them\s+)?(?:more\s+|some\s+)?"
    r"(?:love|affection|care|appreciation|interest|kindness)\b"
    r"|\bmake\s+(?:you|him|her|them)\s+(?:feel\s+)?(?:loved|special|happy|appreciated|"
    r"cared\s+for|valued)\b"
    r"|\bhelp\s+(?:out\s+)?more\b"
    r"|\b(?:love|care\s+for|appreciate|support|respect)\s+(?:you|him|her|them)\s+more\b"
    r"|\bdo\s+(?:more|nice\s+things|something\s+nice|my\s+part)\b"
)
# A concrete act: a verb of doing something the other can see.
_CARE_ACT = compile_pattern(
    r"\b(?:make|makes|making|bring|brings|write|writes|leave|leaves|text|texts|send|sends|"
    r"cook|cooks|hug|hugs|kiss|kisses|give|gives|ask|asks|tell|tells|rub|rubs|massage|"
    r"walk|walks|read|reads|put|puts|take|takes|call|calls|wash|washes|clean|cleans|"
    r"pick|picks|buy|buys|plan|plans|hold|holds|tidy|tidies|listen|listens|sit|sits|"
    r"run|runs|iron|irons|fetch|fetches|water|feed|drive|drives|play|plays|sing|"
    r"say|says|thank|thanks|compliment|note|notes|coffee|tea|breakfast|dinner|lunch)\b"
)
# The date turning into the repair talk the check-in is for.
_HEAVY = compile_pattern(
    r"\b(?:talk|talking|discuss|discussing|go\s+over|going\s+over|sort\s+out|sorting\s+out|"
    r"work\s+on|work\s+through|working\s+on|working\s+through|deal\s+with)\b[^.!?;\n]{0,60}?"
    r"\b(?:affair|betrayal|what\s+happened|the\s+lie|the\s+lies|lying|trust|the\s+debt|"
    r"our\s+relationship|our\s+problems|our\s+issues|the\s+contract|the\s+rules|boundaries|"
    r"the\s+marriage|us)\b"
)

MSG_CARE_VAGUE = (
    "An act of care is easier to give, and to notice, when it names one thing: “make your "
    "coffee before work” rather than “be nicer”."
)
MSG_HEAVY_DATE = (
    "Keep the date free of heavy topics: the repair check-in is the time for those. The date "
    "is for enjoying each other."
)
MSG_LATE_CHECKIN = (
    "Late at night, tired minds find it harder to listen. A time when you are both rested "
    "helps the check-in stay calm."
)


def _blank_to_none(value: object) -> object:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _int_or_text(value: str) -> int | str | None:
    """A number when it is one, None when blank; otherwise the text, for clean() to name."""
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _text(content: dict, key: str) -> str:
    value = content.get(key)
    return value if isinstance(value, str) else ""


def care_finding(text: str, part: str) -> Finding | None:
    """A gentle flag on an act of care that names no act ("be nicer"), or hedges it."""
    hedge = HEDGE.first(text)
    if hedge:
        return Finding("hedged-care", MSG_HEDGED, part=part, phrase=hedge.group(0))
    vague = _CARE_VAGUE.search(text) or VAGUE_PROMISE.search(text)
    if vague is None:
        return None
    # "Be kind: make your coffee before work" names the act; "make you feel loved" does not.
    rest = text[: vague.start()] + " " + text[vague.end() :]
    if _CARE_ACT.search(rest):
        return None
    return Finding("vague-care", MSG_CARE_VAGUE, part=part, phrase=vague.group(0))


class ConnectionRitual(HomeworkKind):
    key = "connection_ritual"
    label = "Connection ritual"
    summary = "A weekly plan made together: a repair check-in, a fun date, a daily act of care."
    coach_checked = (
        "Checked: a day and time for the check-in, a date, an act of care from each of you "
        "that names one thing, a date kept light, and a check-in that is not late at night."
    )
    default_audience = Audience.COUPLE
    default_mode = "joint"
    allowed_modes = ("joint",)
    workflow = CONFIRMED
    # Each partner writes only their own act of care; the other's stays as it is.
    own_part_prefix = "care_"
    portal_actions_template = "portal/_agree_actions.html"
    agree_noun = "plan"
    agreed_heading = "Your agreed ritual"
    agreed_template = "portal/_ritual_agreed.html"
    hand_in_label = None  # agreeing is a step of its own, below the form
    write_hint = (
        "Each of you writes your own act of care. When it looks right to you both, save it "
        "and agree to it below."
    )
    agree_first = "Fill in every part of the plan, then save, to agree."
    reopen_to = Status.DRAFT
    change_notice = "ritual.change_proposed"
    reopen_consequence = (
        "Your agreed plan is reopened for changes, and you both need to agree again. Ticking "
        "off each week goes on as before. Your partner and your therapist are told that a "
        "change was proposed, not what it is."
    )
    default_instructions = (
        "Repair is not only about what went wrong: you also need time that is simply good. "
        "Plan a week that makes room for both. A repair check-in of about half an hour at a "
        "set time, for how the week felt and what helped. One date with no heavy topics, just "
        "for enjoying each other. And one small thing each of you does for the other every "
        "day. Each of you writes your own act of care. When the plan reads right to you both, "
        "each of you agrees to it; then tick off each week what happened."
    )
    date_ideas = DATE_IDEAS
    prints_whole = True  # agreed, the plan is short enough to print whole in a summary

    def complete_slots(self, content: dict) -> list[dict]:
        """The repair check-in, once it has a day and a time: the calendar shows it, and a
        partner who asked is reminded an hour before, as for a processing window."""
        weekday, start = content.get("checkin_weekday"), content.get("checkin_time")
        if not isinstance(weekday, int) or not start:
            return []
        return [{"weekday": weekday, "start": start, "minutes": CHECKIN_MINUTES}]

    def empty(self) -> dict:
        return {
            "checkin_weekday": None,
            "checkin_time": "",
            "date_idea": "",
            "date_words": "",
            "care_1": "",
            "care_2": "",
        }

    def clean(self, content: object) -> dict:
        """The plan as typed. A part may be missing in a draft (named only when agreeing, by
        `check_complete`); a value that is there but wrong ("25:99", a day that is no day, an
        idea not on the list) is refused."""
        if not isinstance(content, dict):
            raise ContentError({"_": "Expected an object of fields."})
        errors: dict[str, str] = {}
        for key in sorted(set(content) - set(self.empty())):
            errors[key] = "Unknown field."
        weekday = _blank_to_none(content.get("checkin_weekday"))
        if weekday is not None and (
            not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6
        ):
            errors["checkin_weekday"] = "Choose a day of the week."
        start = content.get("checkin_time") or ""
        if not isinstance(start, str) or (start and not _TIME.match(start)):
            errors["checkin_time"] = "Enter a time like 19:30."
        idea = content.get("date_idea") or ""
        if not isinstance(idea, str) or (idea and idea not in DATE_IDEAS):
            errors["date_idea"] = "Choose one of the ideas, or write your own."
        cleaned: dict = {
            "checkin_weekday": weekday,
            "checkin_time": start if isinstance(start, str) else "",
            "date_idea": idea if isinstance(idea, str) else "",
        }
        for key, limit in (("date_words", DATE_LIMIT), *((k, CARE_LIMIT) for k in CARE_KEYS)):
            value = content.get(key) or ""
            if not isinstance(value, str):
                errors[key] = "Expected text."
            elif len(value) > limit:
                errors[key] = f"Keep this under {limit:,} characters."
            elif _CONTROL.search(value):
                errors[key] = ONE_LINE
            cleaned[key] = value if isinstance(value, str) else ""
        if errors:
            raise ContentError(errors)
        return cleaned

    def parse_form(self, form) -> dict:
        return {
            "checkin_weekday": _int_or_text(form.get("content-checkin_weekday", "")),
            "checkin_time": form.get("content-checkin_time", "").strip(),
            "date_idea": form.get("content-date_idea", ""),
            "date_words": form.get("content-date_words", ""),
            "care_1": form.get("content-care_1", ""),
            "care_2": form.get("content-care_2", ""),
        }

    def form_values(self, content: dict) -> dict[str, str]:
        weekday = content.get("checkin_weekday")
        values = {"content-checkin_weekday": "" if weekday is None else str(weekday)}
        for key in ("checkin_time", "date_idea", "date_words", *CARE_KEYS):
            values[f"content-{key}"] = _text(content, key)
        return values

    def check_complete(self, content: dict) -> dict[str, str]:
        """What the plan needs before the partners can agree to it, by its part."""
        missing = {}
        if content.get("checkin_weekday") in (None, ""):
            missing["checkin_weekday"] = "Choose a day for the repair check-in."
        if not _text(content, "checkin_time").strip():
            missing["checkin_time"] = "Choose a time for the repair check-in."
        if not (_text(content, "date_idea") or _text(content, "date_words").strip()):
            missing["date_idea"] = "Choose an idea for the date, or write your own."
        for key in CARE_KEYS:
            if not _text(content, key).strip():
                missing[key] = "Each of you writes one small act of care for every day."
        return missing

    def printable(self, content: dict) -> dict:
        """A draft's excerpt: the words of the plan (the date, the acts of care), not its
        day number, time or idea key."""
        idea = DATE_IDEAS.get(_text(content, "date_idea"), "")
        return {
            "date": " ".join(part for part in (idea, _text(content, "date_words")) if part),
            **{key: _text(content, key) for key in CARE_KEYS},
        }

    def coach(self, content: dict) -> list[Finding]:
        findings = [
            Finding(f"missing-{key}", message, part=key, level="missing")
            for key, message in self.check_complete(content).items()
        ]
        for key in CARE_KEYS:
            findings.append(care_finding(_text(content, key), key))
        heavy = _HEAVY.search(_text(content, "date_words"))
        if heavy:
            findings.append(
                Finding(
                    "heavy-date", MSG_HEAVY_DATE, part="date_words", phrase=heavy[0], level="tip"
                )
            )
        start = _TIME.match(_text(content, "checkin_time"))
        if start and (int(start[1]) >= 22 or int(start[1]) < 6):
            findings.append(
                Finding("late-checkin", MSG_LATE_CHECKIN, part="checkin_time", level="tip")
            )
        return [finding for finding in findings if finding is not None]


register(ConnectionRitual())

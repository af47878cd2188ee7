"""Apology draft: four parts, and a coach that points out phrases that undo an apology.

The four parts follow the method: what I did; how I see it hurt you; I take full
responsibility; how I will make amends and change. The draft is private (its author and the
therapist) until the therapist releases it to the couple.

The coach
---------
`ApologyDraft.coach` is a pure function of the content. It reports:

- each missing part (level "missing") and each thin part, a handful of words only ("tip");
- non-apologies ("flag"), each with the exact words as typed (`Finding.phrase`) and one kind
  line on why they matter. Each phrase is reported once per part (case and spacing ignored);
- a change plan with no concrete, time-bound step ("amends-not-concrete").

Every pattern is a case-insensitive regular expression with word boundaries, so "but" is
never found in "butter" or "rebuttal", nor "just" in "justice" or "justify". Straight and
curly apostrophes are both understood (phones type "I’m"). Where two findings would cover
the same words, only the first in `RULES` order is kept: "sorry if I hurt you" is one
"sorry-if", not also an "if-i-hurt"; "it just happened" is one "passive", not also a
"minimiser".

Choices on ambiguous wording (each has a test in tests/homework/test_apology_coach.py):

- "but I": flagged, as a "but" after an admission usually introduces a reason. Not flagged
  in "not only / not just ... but" within one sentence, nor when "but I" goes on with words
  that own the act ("but I also", "but I still", "but I chose", "but I decided", "but I did
  it anyway", "but I went ahead"). "but you never / always / didn't / kept ..." is blame.
- "only": flagged as a minimiser, except as an adjective after a determiner ("the only
  person I should blame is me", "my only excuse"), in "if only" (regret), "not only" and
  after a negation ("I didn't only lie"), and in "can / could only" ("I can only imagine how
  that felt"). "only once" / "just once" / "only twice" are reported as one phrase. Known
  misses: "it was the only time" (an adjective use) is not flagged.
- "just": flagged, except "justice", "justify", "unjust" (word boundaries), "a just cause"
  / "the just" (the adjective, after "a" or "the"), "just as" (as in "just as much"), and
  after a negation ("not just once", "I can't just say sorry").
- "a little": flagged, except "a little while" and "more than a little".
- Minimisers are not looked for in the change plan, where "only" and "just" usually set a
  limit ("I will only use my phone in the living room").
- "because you": blame, except when the reason is something good about the partner
  ("because you deserve the truth", "because you trusted me", "because you matter").
  "if you hadn't ..." is blame, except about finding out ("if you hadn't found the
  messages, I would still be lying"), which is an honest admission.
- "you made me": flagged, except with good feelings ("you made me happy", "you made me
  feel loved", "you made me a better person").
- "your fault": flagged, unless a negation comes earlier in the sentence ("none of this is
  your fault", "it was not your fault").
- "sorry you feel / felt / are feeling / are upset" and "sorry for how you felt": flagged.
  "I'm sorry you were hurt by my lies" is not: it names the act, and plain "hurt" is too
  common in honest apologies to flag.
- "if I hurt you": flagged, but not "if I hurt you again" (a future promise).
- "it happened" (passive): looked for in "what I did" and "I take responsibility" only, and
  not after "how / why / when / where / what / after / before / since" ("after it happened,
  I lied again" uses it as a time, not to hide who did it). "mistakes were made" and the
  like are looked for everywhere but the change plan.
- A quotation of what not to say ('I won't say "sorry if" any more') is flagged like any
  other text: telling quotation from use is out of scope.
- The change plan counts as concrete when it has a number, a frequency ("every", "each",
  "daily", "weekly", "twice"), a day or time word ("by Friday", "tonight", "each week",
  "within 24 hours", "for the next 3 months") or a trigger ("whenever", "before", "after").
  "one day" / "someday" / "each other" / "from now on" / "always" / "never" do not count.
  Whether the step itself is concrete is left to the therapist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import Finding, HomeworkKind, TextField, clean_text_fields, text_value

WHAT, HURT, RESPONSIBILITY, AMENDS = "what_i_did", "how_it_hurt", "responsibility", "amends"
PARTS = (WHAT, HURT, RESPONSIBILITY, AMENDS)
NOT_AMENDS = (WHAT, HURT, RESPONSIBILITY)

FIELDS = [
    TextField(WHAT, "What I did", "Say plainly what you did, in your own words."),
    TextField(
        HURT, "How I see it hurt you", "Describe how you understand it affected your partner."
    ),
    TextField(
        RESPONSIBILITY,
        "I take full responsibility",
        "Own your choices, with no reasons that point elsewhere.",
    ),
    TextField(
        AMENDS,
        "How I will make amends and change",
        "Name concrete steps you will take, and when or how often.",
    ),
]

MISSING = {
    WHAT: "Name what you did, plainly. Your partner needs to hear that you know.",
    HURT: "Say how you see it hurt your partner. It shows you understand the impact.",
    RESPONSIBILITY: "Say that you take responsibility, in your own words.",
    AMENDS: "Describe what you will do to make amends and change.",
}
THIN = {
    WHAT: "A few more words would help: what exactly did you do?",
    HURT: "A few more words would help your partner feel you see what it did to them.",
    RESPONSIBILITY: "Say a little more about what you take responsibility for.",
    AMENDS: "A few more words would help: what will you do, and when?",
}
# A part with fewer words than this gets a "thin" tip.
MIN_WORDS = {WHAT: 6, HURT: 8, RESPONSIBILITY: 5, AMENDS: 8}

_WORD = re.compile(r"[\w'’]+")
_A = "['’]"  # an apostrophe, straight or curly
_NEGATION = rf"(?:\bnot|n{_A}t|\bnever|\bnone|\bno)\b"
_SENTENCE_END = re.compile(r"[.!?;\n]")
LOOK = 80  # how far around a match its exceptions look


def _sentence_before(text: str, start: int) -> str:
    """The text from the start of the sentence up to `start`."""
    return _SENTENCE_END.split(text[:start])[-1]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One kind of non-apology: a pattern and the cases where the words mean something else."""

    code: str
    pattern: re.Pattern[str]
    message: str
    parts: tuple[str, ...] = PARTS
    not_before: re.Pattern[str] | None = None  # matched against the text just before
    not_after: re.Pattern[str] | None = None  # matched against the text just after
    skip: Callable[[str, re.Match[str]], bool] | None = None  # any other exception

    def matches(self, text: str):
        for match in self.pattern.finditer(text):
            start, end = match.span()
            before, after = text[max(0, start - LOOK) : start], text[end : end + LOOK]
            if self.not_before and self.not_before.search(before):
                continue
            if self.not_after and self.not_after.match(after):
                continue
            if self.skip and self.skip(text, match):
                continue
            yield match


def _not_only_but(text: str, match: re.Match[str]) -> bool:
    return bool(re.search(r"\bnot\s+(?:only|just)\b", _sentence_before(text, match.start()), re.I))


def _negated_in_sentence(text: str, match: re.Match[str]) -> bool:
    return bool(re.search(_NEGATION, _sentence_before(text, match.start()), re.I))


MSG_SORRY_YOU_FELT = (
    "This puts the focus on how your partner feels rather than on what you did. "
    "Try “I’m sorry I …”."
)
MSG_SORRY_IF = "“If” makes the hurt sound uncertain. Say plainly what you are sorry for."
MSG_IF_I_HURT = "Your partner was hurt; “if” can sound like doubt. Name the hurt as real."
MSG_BUT = "A “but” after an apology can cancel it out. Try ending the sentence before it."
MSG_YOU_MADE_ME = "This makes your partner the reason for your choice. Describe your own choice."
MSG_BLAME = "This points to your partner’s part. In an apology, keep to your own."
MSG_MINIMISER = (
    "Words like this can make it sound smaller than it was for your partner. "
    "Check it reads the way you mean."
)
MSG_PASSIVE = "This leaves out who did it. Try saying it starting with “I”."
MSG_AMENDS = (
    "Your plan will be easier to trust with one concrete step and when you will do it, "
    "for example “every Sunday” or “by Friday”."
)

RULES: tuple[Rule, ...] = (
    Rule(
        "sorry-you-felt",
        _compile(
            r"\bsorry\s+(?:that\s+|(?:for|about)\s+(?:how|the\s+way)\s+)?you"
            rf"(?:{_A}re|{_A}ve|\s+are|\s+were|\s+have|\s+had)?\s+(?:feel|felt|feeling|upset)\b"
        ),
        MSG_SORRY_YOU_FELT,
    ),
    Rule("sorry-if", _compile(r"\b(?:sorry|apologi[sz]e)\s+if\b"), MSG_SORRY_IF),
    Rule(
        "if-i-hurt",
        _compile(
            r"\bif\s+I\s+(?:have\s+(?:ever\s+)?|had\s+|(?:may|might)\s+have\s+)?"
            r"(?:hurt|upset|offended|caused|did\s+(?:anything|something)|made\s+you)\b"
        ),
        MSG_IF_I_HURT,
        not_after=_compile(r"(?:\s+\w+){0,3}\s+again\b"),
    ),
    Rule(
        "you-made-me",
        _compile(r"\byou\s+(?:made|make|forced|drove|pushed)\s+me\b"),
        MSG_YOU_MADE_ME,
        not_after=_compile(
            r"\s+(?:so\s+|very\s+|really\s+|feel\s+)?"
            r"(?:happy|happier|proud|laugh|smile|loved|safe|special|a\s+better|better)\b"
        ),
    ),
    Rule(
        "blame-other",
        _compile(r"\bbecause\s+(?:of\s+)?you\b"),
        MSG_BLAME,
        not_after=_compile(
            rf"(?:{_A}re|{_A}ve|\s+are|\s+were|\s+have|\s+had)?\s+"
            r"(?:deserve|deserved|matter|mattered|mean|meant|trust|trusted|believe|believed|"
            r"love|loved|worth|asked|needed|relied|counted|gave\s+me\s+a\s+chance)\b"
        ),
    ),
    Rule(
        "blame-other",
        _compile(
            rf"\bif\s+(?:only\s+)?you(?:\s+hadn{_A}t|\s+had\s+not|\s+had|{_A}d|\s+would|"
            rf"\s+wouldn{_A}t|\s+weren{_A}t|\s+were\s+not|\s+were\s+(?:more|less)|"
            rf"\s+didn{_A}t|\s+did\s+not)\b"
        ),
        MSG_BLAME,
        not_after=_compile(
            r"\s+(?:like|prefer|rather|want|let|any|questions?|(?:ever\s+)?need|"
            r"(?:not\s+)?(?:found|find|discovered|caught|seen|noticed|asked\s+me))\b"
        ),
    ),
    Rule(
        "blame-other",
        _compile(
            rf"\bbut\s+you\s+(?:never|always|didn{_A}t|did\s+not|kept|started|wouldn{_A}t|"
            rf"weren{_A}t|were\s+never|ignored|pushed|left)\b"
        ),
        MSG_BLAME,
    ),
    Rule(
        "blame-other",
        _compile(r"\b(?:your\s+fault|you\s+(?:gave|left)\s+me\s+no\s+choice)\b"),
        MSG_BLAME,
        skip=_negated_in_sentence,
    ),
    Rule(
        "passive",
        _compile(
            r"\b(?:mistakes|things|words|errors|lies|(?:bad\s+)?choices)\s+"
            r"(?:were|have\s+been|had\s+been|got)\s+(?:made|said|done|told)\b"
        ),
        MSG_PASSIVE,
        parts=NOT_AMENDS,
    ),
    Rule(
        "passive",
        _compile(
            r"\b(?:it|this|that|things|stuff)\s+(?:just\s+|simply\s+|somehow\s+)?"
            r"(?:happened|occurred|got\s+out\s+of\s+hand|went\s+too\s+far)\b"
        ),
        MSG_PASSIVE,
        parts=(WHAT, RESPONSIBILITY),
        not_before=_compile(r"\b(?:how|why|when|where|what|after|before|since|until)\s+$"),
    ),
    Rule(
        "but-i",
        _compile(r"\bbut,?\s+I\b"),
        MSG_BUT,
        not_after=_compile(
            rf"(?:{_A}(?:m|ve|d|ll))?\s+(?:also|still|chose|decided|went\s+ahead|did\s+it\s+anyway)\b"
        ),
        skip=_not_only_but,
    ),
    Rule(
        "minimiser",
        _compile(r"\b(?:only|just)\s+(?:once|twice|one\s+time|the\s+once)\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=_compile(rf"{_NEGATION}\s+$"),
    ),
    Rule(
        "minimiser",
        _compile(r"\bonly\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=_compile(
            rf"(?:{_NEGATION}|\b(?:the|my|your|our|his|her|their|an|this|that|if|can|could))"
            r"\s+$"
        ),
    ),
    Rule(
        "minimiser",
        _compile(r"\bjust\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=_compile(rf"(?:{_NEGATION}(?:\s+\w+)?|\b(?:a|the))\s+$"),
        not_after=_compile(r"\s+as\b"),
    ),
    Rule(
        "minimiser",
        _compile(r"\ba\s+little\b"),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
        not_before=_compile(r"\bmore\s+than\s+$"),
        not_after=_compile(r"\s+while\b"),
    ),
    Rule(
        "minimiser",
        _compile(
            rf"\b(?:(?:not|no|\w+n{_A}t)\s+(?:a\s+|that\s+|such\s+a\s+)?(?:big|huge)(?:\s+a)?"
            rf"\s+deal|not\s+that\s+bad|no\s+big\s+thing)\b"
        ),
        MSG_MINIMISER,
        parts=NOT_AMENDS,
    ),
)

# A change plan is time-bound when it has one of these.
_WHEN = _compile(
    r"\d"
    r"|\b(?:once|twice|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|sixty|ninety|hundred|half)\b"
    r"|\b(?:every|each|daily|nightly|weekly|fortnightly|monthly|hourly|yearly)\b"
    r"|\b(?:minutes?|hours?|days?|nights?|weeks?|weekends?|months?|years?|mornings?|"
    r"evenings?|afternoons?|lunch(?:time)?|bedtime|noon|midnight|o[’']clock|[ap]\.?m\.?)\b"
    r"|\b(?:mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|"
    r"today|tonight|tomorrow)\b"
    r"|\b(?:within|whenever|before|after|until|till|by\s+the\s+end|for\s+the\s+next|"
    r"as\s+soon\s+as|straight\s+away|right\s+away|immediately|starting)\b"
)
# Vague time words that must not count as a "when".
_VAGUE_WHEN = _compile(
    r"\b(?:one|some)\s+day\b|\bsomeday\b|\bone\s+of\s+these\s+days\b"
    r"|\beach\s+other\b|\bone\s+another\b"
)


def _key(phrase: str) -> str:
    return " ".join(phrase.casefold().replace("’", "'").split())


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def find_non_apologies(part: str, text: str) -> list[tuple[int, Finding]]:
    """The non-apology findings in one part, each with where it starts in the text."""
    found: list[tuple[int, Finding]] = []
    taken: list[tuple[int, int]] = []
    reported: set[tuple[str, str]] = set()
    for rule in RULES:
        if part not in rule.parts:
            continue
        for match in rule.matches(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            phrase = match.group(0)
            if (rule.code, _key(phrase)) in reported:
                continue
            reported.add((rule.code, _key(phrase)))
            found.append((start, Finding(rule.code, rule.message, part=part, phrase=phrase)))
    return found


def has_when(text: str) -> bool:
    return bool(_WHEN.search(_VAGUE_WHEN.sub(" ", text)))


def coach_apology(content: dict) -> list[Finding]:
    """Findings on an apology draft, part by part in reading order."""
    findings: list[Finding] = []
    for part in PARTS:
        text = text_value(content, part) if isinstance(content, dict) else ""
        if not text.strip():
            findings.append(Finding("missing-part", MISSING[part], part=part, level="missing"))
            continue
        if word_count(text) < MIN_WORDS[part]:
            findings.append(Finding("thin-part", THIN[part], part=part, level="tip"))
        findings.extend(finding for _, finding in sorted(find_non_apologies(part, text), key=_at))
        if part == AMENDS and not has_when(text):
            findings.append(Finding("amends-not-concrete", MSG_AMENDS, part=part))
    return findings


def _at(item: tuple[int, Finding]) -> int:
    return item[0]


class ApologyDraft(HomeworkKind):
    key = "apology"
    label = "Apology draft"
    summary = "Four parts: what you did, how it hurt, your responsibility, and your plan to change."
    default_audience = Audience.PRIVATE
    default_mode = "one"
    default_role = "broke_trust"
    default_instructions = (
        "Write a first draft of your apology, one part at a time. Say what you did in plain "
        "words, how you understand it hurt your partner, that the responsibility is yours, "
        "and what you will do differently, and when. It does not need to be perfect: the "
        "coach points out phrases that can take away from an apology, and we will work on "
        "it together. Only you and your therapist see it until your therapist shares it."
    )

    fields: ClassVar[tuple[TextField, ...]] = tuple(FIELDS)

    def empty(self) -> dict:
        return {spec.key: "" for spec in FIELDS}

    def clean(self, content: object) -> dict:
        return clean_text_fields(content, FIELDS)

    def check_complete(self, content: dict) -> dict[str, str]:
        return {part: MISSING[part] for part in PARTS if not text_value(content, part).strip()}

    def coach(self, content: dict) -> list[Finding]:
        return coach_apology(content)


register(ApologyDraft())

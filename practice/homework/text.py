"""Text analysis shared by every coach: patterns, sentences, negation, time words, hedges.

A coach is a pure function of what a partner typed. The pieces every coach needs live here,
once, so that "is this negated?" or "does this say when?" has one answer across kinds:

- `compile_pattern`: case-insensitive regular expressions; `APOSTROPHE` matches both the
  straight and the curly apostrophe (phones type "I’m").
- `sentence_before`, `sentence_around`: sentences end at ". ! ? ;" or a line break.
- `negated`: a "not", "never", "no", "nothing", "n't", "stop" or "without" earlier in the
  same sentence; `negation_before`: one a few words before a match.
- `has_time`, `has_when`: a time, a number, a frequency or a trigger ("whenever", "within").
  Vague time words ("one day", "each other", "than before") never count.
- `Matcher`: a pattern and the exceptions where its words mean something else; `first`
  returns the first match, whose `group(0)` is the phrase exactly as typed.
- `phrase_key`: a phrase with case, apostrophes and spacing folded, to report it once.
- `vague_wording`: what makes a promise hard to keep or check: a hedge ("try to", "if
  possible"), a vague promise ("be more honest") or an amount with no measure ("drink less");
  `vague_promise_finding` turns it into the finding agreements and commitments share.
- `word_count`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from practice.homework.base import Finding

APOSTROPHE = "['’]"
# A negating word; "n't" is matched without a leading word boundary ("didn't", "can't").
NEGATION = (
    r"(?:\b(?:not|never|no|none|nothing|nobody|neither|nor|stop|stops|stopped|stopping|"
    rf"without)\b|n{APOSTROPHE}t\b)"
)
LOOK = 80  # how far around a match its exceptions look

_SENTENCE_END = re.compile(r"[.!?;\n]")
_WORD = re.compile(r"[\w'’]+")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A case-insensitive regular expression."""
    return re.compile(pattern, re.IGNORECASE)


_NEGATED = compile_pattern(NEGATION)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def sentence_before(text: str, start: int) -> str:
    """The text from the start of the sentence up to `start`."""
    return _SENTENCE_END.split(text[:start])[-1]


def sentence_around(text: str, start: int, end: int) -> str:
    """The whole sentence that holds text[start:end]."""
    return sentence_before(text, start) + text[start:end] + _SENTENCE_END.split(text[end:])[0]


def negated(text: str, start: int) -> bool:
    """Is there a negating word earlier in the sentence that holds `start`?"""
    return bool(_NEGATED.search(sentence_before(text, start)))


def negation_before(words: int) -> str:
    """A pattern for `Matcher.not_before`: a negation at most `words` words before the match.

    Narrower than `negated`: "I won't ask you to move on" is turned around, "I can't undo
    it, but we both made mistakes" is not.
    """
    return rf"{NEGATION}(?:\s+\w+){{0,{words}}}\s+$"


def in_negated_sentence(text: str, match: re.Match[str]) -> bool:
    """`negated` for a match: a `Matcher.skip` for rules that a negation turns around."""
    return negated(text, match.start())


def phrase_key(phrase: str) -> str:
    """A phrase folded for comparison: case, apostrophes and spacing ignored."""
    return " ".join(phrase.casefold().replace("’", "'").split())


@dataclass(frozen=True)
class Matcher:
    """A pattern, and the cases where its words mean something else."""

    pattern: re.Pattern[str]
    not_before: re.Pattern[str] | None = None  # searched in the text just before
    not_after: re.Pattern[str] | None = None  # matched at the start of the text just after
    skip: Callable[[str, re.Match[str]], bool] | None = None  # any other exception

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
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

    def first(self, text: str) -> re.Match[str] | None:
        """The first match; its `group(0)` is the phrase exactly as typed."""
        return next(self.finditer(text), None)


# -- when ----------------------------------------------------------------------------------

NUMBER_WORDS = (
    r"once|twice|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|sixty|ninety|hundred|half"
)
FREQUENCY_WORDS = r"every|each|daily|nightly|weekly|fortnightly|monthly|hourly|yearly"
_TIME = compile_pattern(
    r"\d"
    rf"|\b(?:{NUMBER_WORDS})\b"
    rf"|\b(?:{FREQUENCY_WORDS})\b"
    r"|\b(?:minutes?|hours?|days?|nights?|weeks?|weekends?|months?|years?|mornings?|"
    r"evenings?|afternoons?|lunch(?:time)?|bedtime|noon|midnight|o[’']clock)\b"
    r"|\b(?:mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|"
    r"today|tonight|tomorrow)\b"
    r"|\b(?:within|whenever|before|after|until|till|by\s+the\s+end|for\s+the\s+next|"
    r"as\s+soon\s+as|straight\s+away|right\s+away|immediately)\b"
)
# A trigger: the behaviour happens when something else does.
_TRIGGER = compile_pattern(r"\b(?:when|whenever|if|any|anytime|as\s+soon\s+as)\b")
# Words that look like a time but say nothing about when.
_VAGUE_TIME = compile_pattern(
    r"\b(?:one|some)\s+day\b|\bsomeday\b|\bone\s+of\s+these\s+days\b"
    r"|\beach\s+other\b|\bone\s+another\b|\bthe\s+two\s+of\s+us\b"
    r"|\bthan\s+before\b|\bever\s+(?:before|after)\b"
)


def has_time(text: str) -> bool:
    """A time, a number, a frequency, a day, or "within / before / after / whenever"."""
    return bool(_TIME.search(_VAGUE_TIME.sub(" ", text)))


def has_when(text: str) -> bool:
    """`has_time`, or a trigger: "when", "if", "any", "as soon as"."""
    plain = _VAGUE_TIME.sub(" ", text)
    return bool(_TIME.search(plain) or _TRIGGER.search(plain))


# -- vague promises ------------------------------------------------------------------------

# A hedge leaves room for not doing it: "try to", "do my best", "if possible", "usually".
HEDGE = Matcher(
    compile_pattern(
        r"\btry\s+(?:to|and)\b"
        r"|\btry(?:ing)?\s+not\s+to\b|\btrying\s+(?:to|and)\b"
        r"|\btry(?:ing)?\s+(?:my|our|your|his|her|their)\s+(?:very\s+)?(?:best|hardest)\b"
        r"|\b(?:do|doing)\s+(?:my|our|your|his|her|their)\s+(?:very\s+)?(?:best|utmost)\b"
        r"|\b(?:if|where|when|whenever)\s+(?:at\s+all\s+)?possible\b"
        r"|\bas\s+(?:much|often|far)\s+as\s+(?:possible|(?:I|we)\s+can\b(?!['’]t))"
        rf"|\bif\s+(?:I|we)\s+can\b(?!{APOSTROPHE}t)"
        rf"|\bwhen(?:ever)?\s+(?:I|we)\s+(?:can\b(?!{APOSTROPHE}t)|remember|get\s+the\s+chance|"
        r"have\s+(?:the\s+)?time|feel\s+(?:like\s+it|up\s+to\s+it))"
        r"|\b(?:aim|attempt|intend)\s+to\b"
        r"|\b(?:hopefully|ideally|usually|mostly|generally|maybe|perhaps|probably)\b"
        r"|\bmore\s+or\s+less\b|\bfor\s+the\s+most\s+part\b"
    ),
    # "if you try to call me": someone else's attempt, not a hedge; "never try to contact
    # her", "won't even try to": a firm promise.
    not_before=compile_pattern(
        r"\b(?:you|he|she|they|someone|anyone|anybody|people)\s+$|"
        + negation_before(2)
        + rf"|\b(?:you|he|she|they|someone|anyone|anybody|people)(?:{APOSTROPHE}(?:re|s)|\s+"
        + r"(?:is|are|was|were))\s+$"
    ),
)

# A promise that cannot be kept or checked as it stands, unless it also says when.
VAGUE_PROMISE = compile_pattern(
    r"\b(?:be|being|to\s+be)\s+(?:more\s+|a\s+lot\s+more\s+|completely\s+|totally\s+)?"
    r"(?:honest|open|transparent|truthful|faithful|loyal|respectful|considerate|supportive|"
    r"careful|present|available|trustworthy|understanding|patient|better|nicer|kinder)\b"
    r"|\bcommunicate(?:\s+(?:more|better|openly|honestly))?\b"
    r"|\b(?:trust|respect|support|love)\s+(?:each\s+other|one\s+another)\b"
    r"|\b(?:try|work)\s+harder\b"
    r"|\bwork\s+on\s+(?:it|us|things|ourselves|our\s+relationship|trust|communication)\b"
    r"|\bdo\s+better\b|\bmake\s+(?:an|more\s+of\s+an|more)\s+effort\b"
    r"|\bspend\s+more\s+time(?:\s+together)?\b"
    r"|\bno\s+(?:more\s+)?secrets\b|\bopen\s+and\s+honest\b"
    r"|\bbe\s+there\s+for\s+(?:each\s+other|one\s+another|you|me)\b"
    r"|\brebuild\s+trust\b|\brespect\s+(?:my|your|our)\s+(?:privacy|boundaries|space)\b"
)

# "More" or "less" than what? Not when the sentence gives a measure.
_COMPARATIVE = Matcher(
    compile_pattern(r"\b(?:more|less|fewer)(?:\s+(?:often|time|frequently|regularly))?\b"),
    # "no more contact", "any more", "once more": not a comparison.
    not_before=compile_pattern(r"\b(?:no|any|once|nothing)\s+$"),
)
_MEASURE = compile_pattern(
    rf"\d|\b(?:{NUMBER_WORDS}|{FREQUENCY_WORDS})\b"
    r"|\bat\s+(?:most|least)\b|\bup\s+to\b|\bmax(?:imum)?\b|\blimit(?:ed|s)?\b|\bnone\b"
)

Vagueness = Literal["hedge", "promise", "amount"]


def vague_wording(text: str) -> tuple[Vagueness, str] | None:
    """What makes a promise hard to keep or check, and the phrase as typed; None if nothing.

    A hedge counts wherever it is. A vague promise counts only when nothing says when ("be
    more honest" is fine followed by "about money: show each other the statements every
    month"). An amount counts when its sentence has no number, frequency or limit.
    """
    hedge = HEDGE.first(text)
    if hedge:
        return "hedge", hedge.group(0)
    if not has_when(text):
        promise = VAGUE_PROMISE.search(text)
        if promise:
            return "promise", promise.group(0)
    for match in _COMPARATIVE.finditer(text):
        if not _MEASURE.search(sentence_around(text, *match.span())):
            return "amount", match.group(0)
    return None


MSG_HEDGED = (
    "This leaves room for not doing it, so neither of you can tell when it is kept. Say what "
    "will be done."
)
MSG_VAGUE = (
    "This is hard to keep or check as it stands. Say what will be done, and when: for example "
    "“within a day” or “whenever …”."
)
MSG_AMOUNT = (
    "More or less than what? A number or a limit (“two drinks at most”, “once a week”) lets "
    "you both see it is kept."
)


def vague_promise_finding(text: str, part: str, noun: str, short_words: int) -> Finding | None:
    """The finding on a promise (an agreement, a commitment) that is hard to keep or check.

    Codes: "hedged-<noun>", "vague-<noun>" and "vague-amount", with the phrase as typed; a
    promise of `short_words` words or fewer with no "when" is "vague-<noun>" with no phrase.
    """
    found = vague_wording(text)
    if found:
        reason, phrase = found
        code, message = {
            "hedge": (f"hedged-{noun}", MSG_HEDGED),
            "promise": (f"vague-{noun}", MSG_VAGUE),
            "amount": ("vague-amount", MSG_AMOUNT),
        }[reason]
        return Finding(code, message, part=part, phrase=phrase)
    if text.strip() and not has_when(text) and word_count(text) <= short_words:
        return Finding(f"vague-{noun}", MSG_VAGUE, part=part)
    return None

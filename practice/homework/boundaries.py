"""Boundary worksheet: each partner proposes new agreements, then the therapist merges them.

Content is ``{"proposals": [{"domain", "agreement", "time_frame", "review_date"}, ...]}``,
with the domains of the method (communication; privacy; social media; substances and
spending) and "other". The therapist merges both partners' proposals into the couple's
agreements (`practice.services.agreements`).

The coach (a pure function of the content) looks at each proposal with an agreement:

- "vague-agreement": an agreement is specific when it names a behaviour and says when: a
  time, a number, or a trigger ("when", "whenever", "within", "before", "after", "any",
  "if", "as soon as"). It is flagged as vague when it has no such "when" and either uses a
  vague phrase ("be more honest", "communicate better", "trust each other", "be open", the
  phrase is reported) or is three words or fewer ("Honesty", "Tell the truth"). Only the
  agreement text counts: a time frame says how long the agreement lasts, not when the
  behaviour happens. A concrete rule without a "when" ("No alcohol at home") is left alone.
- "transparency-no-end": password or passcode sharing, location sharing, phone checks,
  reading each other's messages and shared accounts are meant to be temporary, so they need
  an end: a review date, or a time frame with an end ("3 months", "until June", "review in
  4 weeks"). "ongoing", "for now" or "always" are not an end. An end written in the
  agreement itself ("for the next 3 months", "until we review it") counts too. The phrase
  found is reported; the finding's part is the review date, where the fix goes.
- "agreement-missing": a proposal with a time frame or a review date but no agreement yet.
- "no-proposals": nothing proposed yet.

A proposal gets at most one finding per issue.

`clean` checks shape only and keeps the text as typed. A proposal with no domain (or an
empty one) is filed under "other" rather than refused, so an autosave never fails for it;
an unknown domain is refused. The page has one row per proposal (`proposals-<n>-<key>`);
a row with nothing in it is skipped, and a row with only a domain chosen is kept.
"""

from __future__ import annotations

import re
from datetime import date
from typing import ClassVar

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import ContentError, Finding, HomeworkKind

DOMAINS = {
    "communication": "Communication",
    "privacy": "Privacy",
    "social_media": "Social media",
    "substances_spending": "Substances and spending",
    "other": "Other",
}
MAX_PROPOSALS = 30
TEXT_LIMIT = 1000
PROPOSAL_KEYS = ("domain", "agreement", "time_frame", "review_date")
VAGUE_MAX_WORDS = 3
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WORD = re.compile(r"[\w'’]+")


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# A "when" for the behaviour: a time, a number, a frequency or a trigger.
_WHEN = _compile(
    r"\d"
    r"|\b(?:once|twice|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|sixty|ninety|hundred|half)\b"
    r"|\b(?:every|each|daily|nightly|weekly|fortnightly|monthly|hourly)\b"
    r"|\b(?:minutes?|hours?|days?|nights?|weeks?|weekends?|months?|mornings?|evenings?|"
    r"afternoons?|bedtime|noon|midnight|o[’']clock)\b"
    r"|\b(?:mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|"
    r"today|tonight|tomorrow)\b"
    r"|\b(?:when|whenever|within|before|after|any|anytime|if|until|as\s+soon\s+as|"
    r"immediately|right\s+away|straight\s+away)\b"
)
_VAGUE_WHEN = _compile(r"\b(?:one|some)\s+day\b|\bsomeday\b|\beach\s+other\b|\bone\s+another\b")

_VAGUE = _compile(
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

_A = "['’]"
_NEGATION = _compile(rf"\b(?:not|never|no|stop|stops|stopped|without)\b|n{_A}t\b")
_SENTENCE_END = re.compile(r"[.!?;\n]")
_TRANSPARENCY = _compile(
    # passwords and passcodes
    r"\b(?:share|sharing|shared|give|giving|know|knowing|swap|swapping|exchange)\s+"
    r"(?:\w+\s+){0,3}?(?:passwords?|passcodes?|pass\s+codes?|pin\s+codes?|log-?ins?)\b"
    # location
    r"|\b(?:share|sharing|shared)\s+(?:\w+\s+){0,2}?locations?\b"
    r"|\blocations?\s+(?:sharing|tracking|on)\b|\btrack(?:ing)?\s+(?:\w+\s+){0,2}?locations?\b"
    r"|\bfind\s+my\s+(?:iphone|phone|friends)\b|\blife360\b"
    # phone checks
    rf"|\b(?:check|checking|checks|look\s+at|looking\s+at|see|go\s+through|going\s+through|"
    rf"hand\s+over|unlock)\s+(?:my|your|our|his|her|the\s+other{_A}s|each\s+other{_A}s|"
    rf"their)\s+phones?\b"
    r"|\bphone\s+checks?\b|\bopen\s+phones?\b"
    # messages
    rf"|\b(?:read|reading|see|seeing|access\s+to|look\s+at|looking\s+at|check|checking)\s+"
    rf"(?:my|your|our|his|her|the\s+other{_A}s|each\s+other{_A}s|their|all)\s+(?:\w+\s+)?"
    rf"(?:messages|texts|emails|e-mails|dms|chats|inbox|whatsapps?)\b"
    # shared accounts
    r"|\b(?:shared|joint)\s+(?:\w+\s+)?accounts?\b|\bshare\s+(?:\w+\s+)?accounts?\b"
)

# An end to a time frame or an agreement: until, review, or a limited length.
_NUMBER = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|"
    r"couple\s+of)"
)
_UNITS = r"(?:days?|weeks?|months?|years?)"
_END_IN_AGREEMENT = _compile(
    r"\b(?:until|till|review(?:ed)?|revisit(?:ed)?|reassess(?:ed)?|re-?evaluate[ds]?|"
    r"phased?\s+out|phase\s+it\s+out|taper(?:ed)?\s+off|expires?|ends?\s+on)\b"
    rf"|\b(?:for|over|during)\s+(?:the\s+)?(?:next\s+|first\s+|coming\s+)?{_NUMBER}\s+{_UNITS}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"
)
_END_IN_TIME_FRAME = _compile(
    _END_IN_AGREEMENT.pattern
    + rf"|\b{_NUMBER}\s+{_UNITS}\b|\bthrough\b|\bthe\s+end\s+of\b"
    + r"|\b(?:january|february|march|april|june|july|august|september|october|november|"
    + r"december)\b"
)

MSG_VAGUE = (
    "This is hard to keep or check as it stands. Name what each of you will do, and when: "
    "for example “within a day” or “whenever …”."
)
MSG_TRANSPARENCY = (
    "Sharing passwords, locations or phones works best as a temporary step. Add a review "
    "date or an end to the time frame, so you both know when you will look at it again."
)
MSG_AGREEMENT_MISSING = "Write the agreement you propose here."
MSG_NO_PROPOSALS = "Propose at least one agreement."


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _proposals(content: object) -> list[dict]:
    proposals = content.get("proposals", []) if isinstance(content, dict) else []
    if not isinstance(proposals, list):
        return []
    return [item if isinstance(item, dict) else {} for item in proposals]


def _negated(text: str, start: int) -> bool:
    """Is there a "not", "never", "no" or "stop" earlier in the same sentence?"""
    return bool(_NEGATION.search(_SENTENCE_END.split(text[:start])[-1]))


def has_when(text: str) -> bool:
    return bool(_WHEN.search(_VAGUE_WHEN.sub(" ", text)))


def vague_finding(agreement: str, part: str) -> Finding | None:
    """A finding when the agreement is vague, else None."""
    if has_when(agreement):
        return None
    match = _VAGUE.search(agreement)
    if match:
        return Finding("vague-agreement", MSG_VAGUE, part=part, phrase=match.group(0))
    if len(_WORD.findall(agreement)) <= VAGUE_MAX_WORDS and not _TRANSPARENCY.search(agreement):
        return Finding("vague-agreement", MSG_VAGUE, part=part)
    return None


def transparency_finding(proposal: dict, prefix: str) -> Finding | None:
    """A finding when a transparency measure has no end or review date, else None."""
    agreement = _text(proposal.get("agreement"))
    match = next(
        (m for m in _TRANSPARENCY.finditer(agreement) if not _negated(agreement, m.start())), None
    )
    if not match or _text(proposal.get("review_date")).strip():
        return None
    if _END_IN_TIME_FRAME.search(_text(proposal.get("time_frame"))):
        return None
    if _END_IN_AGREEMENT.search(agreement):
        return None
    return Finding(
        "transparency-no-end", MSG_TRANSPARENCY, part=f"{prefix}.review_date", phrase=match[0]
    )


def coach_boundaries(content: dict) -> list[Finding]:
    findings: list[Finding] = []
    proposals = _proposals(content)
    if not any(_text(item.get("agreement")).strip() for item in proposals):
        findings.append(
            Finding("no-proposals", MSG_NO_PROPOSALS, part="proposals", level="missing")
        )
    for index, proposal in enumerate(proposals):
        prefix = f"proposals.{index}"
        agreement = _text(proposal.get("agreement"))
        if not agreement.strip():
            others = (_text(proposal.get(key)).strip() for key in ("time_frame", "review_date"))
            if any(others):
                findings.append(
                    Finding(
                        "agreement-missing",
                        MSG_AGREEMENT_MISSING,
                        part=f"{prefix}.agreement",
                        level="missing",
                    )
                )
            continue
        for finding in (
            vague_finding(agreement, f"{prefix}.agreement"),
            transparency_finding(proposal, prefix),
        ):
            if finding is not None:
                findings.append(finding)
    return findings


def clean_proposal(item: object, prefix: str, errors: dict[str, str]) -> dict | None:
    if not isinstance(item, dict):
        errors[prefix] = "Expected a proposal."
        return None
    for key in sorted(set(item) - set(PROPOSAL_KEYS), key=str):
        errors[f"{prefix}.{key}"] = "Unknown field."
    cleaned: dict[str, str] = {}
    domain = item.get("domain")
    if domain is None or domain == "":
        domain = "other"
    if not isinstance(domain, str) or domain not in DOMAINS:
        errors[f"{prefix}.domain"] = "Choose a domain from the list."
    cleaned["domain"] = domain if isinstance(domain, str) else ""
    for key in ("agreement", "time_frame"):
        value = item.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[f"{prefix}.{key}"] = "Expected text."
        elif len(value) > TEXT_LIMIT:
            errors[f"{prefix}.{key}"] = f"Keep this under {TEXT_LIMIT:,} characters."
        cleaned[key] = value if isinstance(value, str) else ""
    review = item.get("review_date")
    if review is None:
        review = ""
    if not isinstance(review, str):
        errors[f"{prefix}.review_date"] = "Enter a date like 2026-12-28."
        review = ""
    review = review.strip()
    if review:
        try:
            if not _DATE.match(review):
                raise ValueError(review)
            date.fromisoformat(review)
        except ValueError:
            errors[f"{prefix}.review_date"] = "Enter a date like 2026-12-28."
    cleaned["review_date"] = review
    return cleaned


class BoundaryWorksheet(HomeworkKind):
    key = "boundaries"
    label = "Boundary worksheet"
    summary = (
        "Proposed agreements on communication, privacy, social media, substances and spending."
    )
    default_audience = Audience.PRIVATE
    default_mode = "each"
    default_instructions = (
        "Write down the agreements you would like the two of you to make, one at a time: "
        "about how you stay in touch, what stays private, social media, and alcohol, other "
        "substances or money. Make each one specific: what each of you will do, and when. "
        "If you propose sharing passwords, locations or phones, add when you will review it, "
        "as these are meant to be temporary. Your therapist will bring both of your lists "
        "together for you to agree on."
    )

    domains: ClassVar[dict[str, str]] = DOMAINS
    max_proposals: ClassVar[int] = MAX_PROPOSALS

    def empty(self) -> dict:
        return {"proposals": []}

    def clean(self, content: object) -> dict:
        if not isinstance(content, dict):
            raise ContentError({"_": "Expected an object of fields."})
        errors: dict[str, str] = {}
        for key in sorted(set(content) - {"proposals"}, key=str):
            errors[str(key)] = "Unknown field."
        proposals = content.get("proposals")
        if proposals is None:
            proposals = []
        cleaned: list[dict] = []
        if not isinstance(proposals, list):
            errors["proposals"] = "Expected a list of proposals."
        elif len(proposals) > MAX_PROPOSALS:
            errors["proposals"] = f"Propose at most {MAX_PROPOSALS} agreements."
        else:
            for index, item in enumerate(proposals):
                proposal = clean_proposal(item, f"proposals.{index}", errors)
                if proposal is not None:
                    cleaned.append(proposal)
        if errors:
            raise ContentError(errors)
        return {"proposals": cleaned}

    def parse_form(self, form) -> dict:
        """One proposal per row of the page that has anything in it; empty rows are skipped."""
        proposals = []
        for index in range(MAX_PROPOSALS):
            row = {key: form.get(f"proposals-{index}-{key}", "") for key in PROPOSAL_KEYS}
            if any(row.values()):
                proposals.append(row)
        return {"proposals": proposals}

    def form_values(self, content: dict) -> dict[str, str]:
        return {
            f"proposals-{index}-{key}": _text(item.get(key))
            for index, item in enumerate(_proposals(content))
            for key in PROPOSAL_KEYS
        }

    def check_complete(self, content: dict) -> dict[str, str]:
        if any(_text(item.get("agreement")).strip() for item in _proposals(content)):
            return {}
        return {"proposals": MSG_NO_PROPOSALS}

    def coach(self, content: dict) -> list[Finding]:
        return coach_boundaries(content)


register(BoundaryWorksheet())

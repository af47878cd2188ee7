"""Boundary worksheet: each partner proposes new agreements, then the therapist merges them.

Content is ``{"proposals": [{"domain", "agreement", "time_frame", "review_date"}, ...]}``,
with the domains of the method (communication; privacy; social media; substances and
spending) and "other". The therapist merges both partners' proposals into the couple's
agreements (`practice.services.agreements`).

Workflow (path "reviewed"): assigned to each partner, sealed until both have handed in;
each writes and submits, the therapist reviews it, and its review page links to the merge
page (`review_actions_template`), where the proposals become agreements each partner
accepts or asks to discuss.

The coach (a pure function of the content) looks at each proposal with an agreement. The
wording rules live in `practice.homework.text`, shared with the other coaches:

- "vague-agreement": an agreement is specific when it names a behaviour and says when: a
  time, a number, or a trigger ("when", "whenever", "within", "before", "after", "any",
  "if", "as soon as"). It is flagged as vague when it has no such "when" and either uses a
  vague phrase ("be more honest", "communicate better", "trust each other", "be open", the
  phrase is reported) or is three words or fewer ("Honesty", "Tell the truth"). Only the
  agreement text counts: a time frame says how long the agreement lasts, not when the
  behaviour happens. A concrete rule without a "when" ("No alcohol at home") is left alone.
- "hedged-agreement": "try to", "do my best", "if possible", "when we can", "usually",
  wherever they are, as they leave room for not doing it. Someone else's attempt ("if you
  try to call me") and a refusal ("never try to contact her") are not hedges.
- "vague-amount": "more", "less" or "fewer" with no number, frequency or limit in the
  sentence ("drink less at weekends"); "no more than two", "more than 15 minutes", "no more
  contact" are measures or refusals. A proposal gets one of these three at most, in the
  order hedge, vague phrase, amount, too short.
- "transparency-no-end": password or passcode sharing, location sharing, phone checks,
  reading each other's messages and shared accounts are meant to be temporary, so they need
  an end: a review date, or a time frame with an end ("3 months", "until June", "review in
  4 weeks"). "ongoing", "for now" or "always" are not an end. An end written in the
  agreement itself ("for the next 3 months", "until we review it") counts too. The phrase
  found is reported; the finding's part is the review date, where the fix goes.
- Surveillance, with or without a review date (transparency is offered, limited in time,
  and agreed by both; checking up does not repair trust by itself):
  - "checking-one-sided": the writer checks the other's phone, messages, passwords,
    accounts or location ("I check your phone", "give me your passwords"), with nothing
    going the other way ("and you mine", "each other's") and not offered ("when you
    offer it"). Offering one's own ("you can check my phone") is what transparency is.
  - "checking-open-ended": a tracking app or device (Life360, spyware, an AirTag); or a
    transparency measure open at will ("whenever I want", "at any time"), at all hours
    ("every hour", "24/7", "at all times"), without notice ("random", "spot checks",
    "without asking") or to everything ("all passwords", "full access"); or a report asked
    for every hour or so ("text me where you are every hour"). On request ("any day you
    ask") and "whenever you feel anxious" are not at will; a way out ("either of us can
    pause it at any time") is not open-ended.
- "agreement-missing": a proposal with a time frame or a review date but no agreement yet.
- "no-proposals": nothing proposed yet.

A proposal gets at most one finding per issue. `coach_agreement(text, time_frame,
review_date)` gives an agreement the therapist writes the same checks, with the form's field
names as parts ("text", "review_date").

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
from practice.homework.text import APOSTROPHE as _A
from practice.homework.text import (
    LOOK,
    NEGATION,
    Matcher,
    compile_pattern,
    in_negated_sentence,
    negation_before,
    vague_promise_finding,
)

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

# What one partner may see of the other's: phones, messages, passwords, accounts, location.
_PRIVATE = (
    r"(?:phones?|messages|texts|e-?mails?|dms|chats|inbox|whatsapps?|locations?|"
    r"passwords?|passcodes?|pin\s+codes?|log-?ins?|accounts?|laptops?|computers?|devices?|"
    r"social\s+media|browsing\s+history|search\s+history|call\s+logs?|bank\s+statements?)"
)
_TRANSPARENCY = compile_pattern(
    # passwords and passcodes
    r"\b(?:share|sharing|shared|give|giving|know|knowing|swap|swapping|exchange)\s+"
    r"(?:\w+\s+){0,3}?(?:passwords?|passcodes?|pass\s+codes?|pin\s+codes?|log-?ins?)\b"
    # location
    r"|\b(?:share|sharing|shared)\s+(?:\w+\s+){0,2}?locations?\b"
    r"|\blocations?\s+(?:sharing|tracking|(?:stays?\s+|kept\s+|left\s+|turned\s+|switched\s+)?on)\b"
    r"|\btrack(?:ing)?\s+(?:\w+\s+){0,2}?locations?\b"
    r"|\bfind\s+my\s+(?:iphone|phone|friends)\b|\blife360\b"
    # phone checks
    rf"|\b(?:check|checking|checks|look\s+at|looking\s+at|see|go\s+through|going\s+through|"
    rf"hand\s+over|unlock)\s+(?:my|your|our|his|her|the\s+other{_A}s|each\s+other{_A}s|"
    rf"their)\s+phones?\b"
    r"|\bphone\s+checks?\b|\bopen\s+phones?\b"
    r"|\bchecks?\s+(?:of|on)\s+(?:my|your|our|his|her|their|each\s+other.s)\s+phones?\b"
    # messages
    rf"|\b(?:read|reading|see|seeing|access\s+to|look\s+at|looking\s+at|check|checking)\s+"
    rf"(?:all\s+(?:of\s+)?)?(?:my|your|our|his|her|the\s+other{_A}s|each\s+other{_A}s|their|all)"
    rf"\s+(?:\w+\s+)?(?:messages|texts|e-?mails?|dms|chats|inbox|whatsapps?)\b"
    # shared accounts
    r"|\b(?:shared|joint)\s+(?:\w+\s+)?accounts?\b|\bshare\s+(?:\w+\s+)?accounts?\b"
)
_PROPOSED_TRANSPARENCY = Matcher(_TRANSPARENCY, skip=in_negated_sentence)
# Apps and devices that watch without anyone choosing to share each time.
_TRACKING = Matcher(
    compile_pattern(
        r"\b(?:life360|mspy|flexispy|eyezy|spy\s*(?:apps?|ware|software)|stalkerware|"
        r"keyloggers?|tracking\s+(?:apps?|software|devices?)|tracker\s+apps?|"
        r"(?:gps|location|phone|car)\s+trackers?|air\s*tags?|"
        r"monitoring\s+(?:apps?|software)|hidden\s+cameras?|screen\s+recording|"
        r"record(?:ing)?\s+(?:\w+\s+)?(?:calls|phone\s+calls|conversations))\b"
        # tracking a person's phone or car through an app or a device
        rf"|\btrack(?:s|ing)?\s+(?:my|your|his|her|their|each\s+other{_A}s)\s+(?:phones?|cars?|"
        r"locations?|whereabouts|movements)\s+(?:with|using|via|through)\s+(?:an?\s+|the\s+)?"
        r"(?:apps?|trackers?|gps)\b"
    ),
    # a budgeting or habit app tracks money or habits, not a person
    not_before=compile_pattern(
        r"\b(?:spending|budget(?:ing)?|money|expenses?|habit|fitness|sleep|mood|drinks?|"
        r"drinking|sobriety)\s+$"
    ),
)
_NEGATED_JUST_BEFORE = compile_pattern(negation_before(4))
_NEGATION = compile_pattern(NEGATION)


def _refused(text: str, match: re.Match[str]) -> bool:
    """A negation just before or within the match: "I will not check your phone"."""
    before = text[max(0, match.start() - LOOK) : match.start()]
    return bool(_NEGATED_JUST_BEFORE.search(before) or _NEGATION.search(match[0]))


# One partner checking the other's phone, messages or accounts, rather than being shown.
_ONE_SIDED = Matcher(
    compile_pattern(
        rf"\b(?:I|I{_A}ll|I{_A}d|me)\s+(?:\w+\s+){{0,3}}?(?:check|checks|checking|read|reading|"
        r"go\s+through|going\s+through|look\s+(?:at|through)|looking\s+(?:at|through)|see|"
        r"track|tracking|monitor|monitoring|know|have|get|access|search|inspect)\s+"
        rf"(?:\w+\s+){{0,2}}?your\s+(?:\w+\s+)?{_PRIVATE}\b"
        rf"|\b(?:give|show|hand|send|forward|tell)\s+me\s+(?:\w+\s+){{0,3}}?your\s+(?:\w+\s+)?"
        rf"{_PRIVATE}\b"
        rf"|\bshare\s+your\s+(?:\w+\s+)?{_PRIVATE}\s+with\s+me\b"
    ),
    skip=_refused,
)
# Both ways, or offered: "and you mine", "each other's", "when you offer".
_MUTUAL_OR_OFFERED = compile_pattern(
    r"\beach\s+other|\bone\s+another|\bboth\s+(?:of\s+us|ways|directions)|\bmutual(?:ly)?\b"
    r"|\bin\s+return\b|\bvice\s+versa\b|\bmine\b|\bthe\s+same\s+for\s+(?:me|you)\b|\bwe\s+both\b"
    r"|\byou\s+offer|\boffered\b|\bwith\s+your\s+(?:ok|okay|permission|consent|agreement)\b"
)
# Asking to hear from the other, rather than to see into their things.
_REPORTING = compile_pattern(
    r"\b(?:text|call|ring|phone|message|facetime|video\s+call|update|send)\s+me\b|\bcheck\s+in\b"
    rf"|\bwhere\s+(?:you\s+are|you{_A}re|I\s+am|I{_A}m)\b|\bwhereabouts\b"
)
# Checking or reporting that never lets up.
_CONSTANT = Matcher(
    compile_pattern(
        r"\bevery\s+(?:hour|half[-\s]hour|\d+\s+min(?:ute)?s?|(?:1|2|3|one|two|three|few|"
        r"couple\s+of)\s+hours|(?:few|couple\s+of|five|ten|fifteen|twenty|thirty)\s+minutes)\b"
        r"|\bhourly\b|\b(?:once|twice)\s+an\s+hour\b|\bon\s+the\s+hour\b|\beach\s+hour\b"
        r"|\b24/7\b|\b(?:round|around)\s+the\s+clock\b|\bconstantly\b|\bcontinuously\b"
        r"|\bnon-?stop\b|\bday\s+and\s+night\b"
    ),
    not_before=_NEGATED_JUST_BEFORE,
)
# Access at the checker's will, without notice, or to everything.
_OPEN_ENDED = Matcher(
    compile_pattern(
        r"\b(?:whenever|any\s*time|at\s+any\s+time|every\s+time)\s+(?:I|you|he|she|they|we|"
        r"either\s+of\s+us|one\s+of\s+us)\s+(?:\w+\s+)?(?:want|wants|wanted|like|likes|"
        r"choose|chooses|wish|wishes|please|pleases|feel\s+like|feels\s+like|decide|decides|"
        r"demand|demands)\b"
        r"|\b(?:at\s+any\s+time|any\s*time)\b(?!\s+(?:you|either\s+of\s+us|one\s+of\s+us)\s+"
        r"(?:\w+\s+)?(?:ask|asks|request|requests|need|needs)\b)"
        r"|\ball\s+the\s+time\b|\bat\s+all\s+times\b|\ball\s+day(?:\s+long)?\b"
        r"|\bwithout\s+(?:asking|warning|notice|telling|permission|(?:you|me|him|her)\s+knowing)\b"
        r"|\bunannounced\b|\bby\s+surprise\b|\bsurprise\s+checks?\b|\brandom(?:ly)?\b"
        r"|\bspot[-\s]checks?\b"
        rf"|\ball\s+(?:of\s+)?(?:(?:my|your|our|his|her|their|each\s+other{_A}s|the)\s+)?"
        rf"{_PRIVATE}\b"
        r"|\beverything\s+on\s+(?:my|your|the|our)\s+(?:phones?|laptops?|computers?)\b"
        r"|\b(?:full|complete|total|unlimited|unrestricted)\s+access\b|\bread\s+everything\b"
        r"|\b(?:to|for|of)\s+everything\b"
    ),
    # "either of us can pause it at any time" is a way out, not more checking
    not_before=compile_pattern(
        negation_before(4)
        + r"|\b(?:stop|pause|end|cancel|withdraw|turn|switch|opt)\b(?:\s+\w+){0,3}\s+$"
    ),
)

# An end to a time frame or an agreement: until, review, or a limited length.
_NUMBER = (
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|"
    r"couple\s+of)"
)
_UNITS = r"(?:days?|weeks?|months?|years?)"
_END_IN_AGREEMENT = compile_pattern(
    r"\b(?:until|till|review(?:ed)?|revisit(?:ed)?|reassess(?:ed)?|re-?evaluate[ds]?|"
    r"phased?\s+out|phase\s+it\s+out|taper(?:ed)?\s+off|expires?|ends?\s+on)\b"
    rf"|\b(?:for|over|during)\s+(?:the\s+)?(?:next\s+|first\s+|coming\s+)?{_NUMBER}\s+{_UNITS}\b"
    # "for the next month", "over the coming weeks", "for the rest of the month"
    rf"|\b(?:for|over|during)\s+the\s+(?:next|coming|first)\s+{_UNITS}\b"
    r"|\bfor\s+the\s+rest\s+of\s+(?:the|this)\s+(?:week|month|year)\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b"
)
_END_IN_TIME_FRAME = compile_pattern(
    _END_IN_AGREEMENT.pattern
    + rf"|\b{_NUMBER}\s+{_UNITS}\b|\bthrough\b|\bthe\s+end\s+of\b"
    + rf"|\b(?:the\s+)?(?:next|coming)\s+{_UNITS}\b|\bthis\s+(?:week|month|year)\b"
    + r"|\b(?:january|february|march|april|june|july|august|september|october|november|"
    + r"december)\b"
)

MSG_TRANSPARENCY = (
    "Sharing passwords, locations or phones works best as a temporary step. Add a review "
    "date or an end to the time frame, so you both know when you will look at it again."
)
MSG_ONE_SIDED = (
    "Here one of you would look into the other’s phone, messages or accounts. Openness helps "
    "most when it is offered and agreed by both."
)
MSG_OPEN_ENDED = (
    "Open-ended checking (any time, everything, every hour, a tracking app) keeps you both on "
    "watch. Limit what is shared and how often, so it can wind down."
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


def _transparency(agreement: str) -> re.Match[str] | None:
    """The first transparency measure or tracking app the agreement proposes (not refuses)."""
    return _PROPOSED_TRANSPARENCY.first(agreement) or _TRACKING.first(agreement)


def vague_finding(agreement: str, part: str) -> Finding | None:
    """A finding when the agreement is vague, hedged or has an amount with no measure."""
    # "Share passwords" is short, but says what; whether it has an end is checked apart.
    short_words = 0 if _TRANSPARENCY.search(agreement) else VAGUE_MAX_WORDS
    return vague_promise_finding(agreement, part, "agreement", short_words)


def transparency_finding(
    agreement: str, time_frame: str, has_review: bool, part: str
) -> Finding | None:
    """A finding when a transparency measure has no end or review date, else None."""
    match = _transparency(agreement)
    if not match or has_review:
        return None
    if _END_IN_TIME_FRAME.search(time_frame) or _END_IN_AGREEMENT.search(agreement):
        return None
    return Finding("transparency-no-end", MSG_TRANSPARENCY, part=part, phrase=match[0])


def surveillance_findings(agreement: str, part: str) -> list[Finding]:
    """Checking that is one-sided, or open-ended in what, when or how often; review or not."""
    findings = []
    measure = _transparency(agreement)
    one_sided = _ONE_SIDED.first(agreement)
    if one_sided and not _MUTUAL_OR_OFFERED.search(agreement):
        findings.append(
            Finding("checking-one-sided", MSG_ONE_SIDED, part=part, phrase=one_sided[0])
        )
    open_ended = _TRACKING.first(agreement)
    if not open_ended and (measure or one_sided):
        open_ended = _OPEN_ENDED.first(agreement) or _CONSTANT.first(agreement)
    if not open_ended and _REPORTING.search(agreement):
        open_ended = _CONSTANT.first(agreement)
    if open_ended:
        findings.append(
            Finding("checking-open-ended", MSG_OPEN_ENDED, part=part, phrase=open_ended[0])
        )
    return findings


def agreement_findings(
    agreement: str, time_frame: str, review_date: object, *, prefix: str = "", text_key: str
) -> list[Finding]:
    """The coach's findings on one agreement; parts are `prefix` + the field's key."""
    has_review = review_date is not None and bool(str(review_date).strip())
    findings = [
        vague_finding(agreement, prefix + text_key),
        transparency_finding(agreement, time_frame, has_review, prefix + "review_date"),
    ]
    return [f for f in findings if f is not None] + surveillance_findings(
        agreement, prefix + text_key
    )


def coach_agreement(text: str, time_frame: str = "", review_date: object = None) -> list[Finding]:
    """The worksheet's coach on an agreement the therapist writes (parts: the form's fields).

    `review_date` is a date, its ISO text, or None/"" for none.
    """
    return agreement_findings(text, time_frame or "", review_date, text_key="text")


def coach_boundaries(content: dict) -> list[Finding]:
    findings: list[Finding] = []
    proposals = _proposals(content)
    if not any(_text(item.get("agreement")).strip() for item in proposals):
        findings.append(
            Finding("no-proposals", MSG_NO_PROPOSALS, part="proposals", level="missing")
        )
    for index, proposal in enumerate(proposals):
        prefix = f"proposals.{index}."
        agreement = _text(proposal.get("agreement"))
        if not agreement.strip():
            others = (_text(proposal.get(key)).strip() for key in ("time_frame", "review_date"))
            if any(others):
                findings.append(
                    Finding(
                        "agreement-missing",
                        MSG_AGREEMENT_MISSING,
                        part=f"{prefix}agreement",
                        level="missing",
                    )
                )
            continue
        findings.extend(
            agreement_findings(
                agreement,
                _text(proposal.get("time_frame")),
                _text(proposal.get("review_date")),
                prefix=prefix,
                text_key="agreement",
            )
        )
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
    coach_checked = (
        "No vague agreements found, and no checking that is one-sided, open-ended or without an "
        "end. This is a pattern check: it cannot judge what is meant."
    )
    default_audience = Audience.PRIVATE
    default_mode = "each"
    review_actions_template = "homework/_boundaries_merge.html"
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

    def printable(self, content: dict) -> dict:
        """An excerpt reads as the proposals do: "Privacy: … (for three months)"."""
        lines = []
        for item in content.get("proposals") or []:
            if not isinstance(item, dict) or not str(item.get("agreement") or "").strip():
                continue
            domain = DOMAINS.get(item.get("domain"), DOMAINS["other"])
            frame = str(item.get("time_frame") or "").strip()
            lines.append(f"{domain}: {item['agreement']}" + (f" ({frame})" if frame else ""))
        return {"proposals": lines}

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

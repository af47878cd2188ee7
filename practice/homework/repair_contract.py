"""Repair contract: a short shared document both partners sign, and revisit after a month.

Workflow (path "signed"): one joint document; each partner writes only their own three
commitments (`merge_edit`), support and what breaks it are joint. The therapist marks a
complete text final (a numbered version), and both partners sign it with their typed names.
A final or signed contract is read-only; "Propose a change" (`reopen_to`) reopens it, the
version's signatures stop counting, and the other partner and the therapist get a notice.

The coach (a pure function of the content) reports what is missing, then:

- each commitment that is hard to keep or check: a hedge ("try to", "if possible";
  "hedged-commitment"), a vague promise with no "when" ("be more honest";
  "vague-commitment"), an amount with no measure ("drink less"; "vague-amount"), or a
  single word ("Honesty"). The exact phrase is reported; the part is the commitment
  (`commitments_1.0` is the first partner's first). Ordinary rules ("Stop drinking") and
  refusals ("never try to contact her") are left alone;
- an ultimatum in "what breaks it" ("I'm leaving", "it's over", "last chance", "one more
  lie", "means divorce"), as a gentle tip: naming what would end things is fair, and the
  tip only suggests saying what would happen first. "I will leave the room", "when I'm out
  with friends", "it's over the limit" and negated wording ("this is not a last chance")
  are not ultimatums;
- a first revisit more than three months away.
"""

from __future__ import annotations

from datetime import date

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import ContentError, Finding, HomeworkKind
from practice.homework.text import APOSTROPHE as _A
from practice.homework.text import (
    Matcher,
    compile_pattern,
    negation_before,
    vague_promise_finding,
)
from practice.homework.workflow import SIGNED, Status

COMMITMENTS_EACH = 3
TEXT_LIMIT = 1000
COMMITMENT_KEYS = ("commitments_1", "commitments_2")
SHORT_WORDS = 1  # a commitment of one word ("Honesty") says neither what nor when

# Followed by the end of its clause: "I'm out." but not "when I'm out with friends".
_CLAUSE_END = r"(?=\s*(?:[.!?,;:)]|$|\band\b|\bfor\s+good\b))"
_ULTIMATUM = Matcher(
    compile_pattern(
        # "I will leave", "I'll file for divorce", "I'm leaving you"
        rf"\bI(?:{_A}ll|\s+will|\s+am\s+going\s+to|{_A}m\s+going\s+to|\s+would|{_A}d)\s+"
        r"(?:leave|walk\s+(?:out|away)|file\s+for\s+(?:a\s+)?divorce|divorce\s+you|move\s+out|"
        r"end\s+(?:it|this|things|us|the\s+marriage|our\s+marriage|the\s+relationship)|"
        r"kick\s+you\s+out|throw\s+you\s+out|take\s+the\s+(?:kids|children)|be\s+gone|be\s+done)"
        r"(?:\s+(?:you|this\s+marriage|the\s+marriage|this\s+relationship|immediately|"
        rf"straight\s+away))?{_CLAUSE_END}"
        rf"|\bI(?:{_A}m|\s+am)\s+(?:leaving(?:\s+you)?|gone|done|out|finished|through){_CLAUSE_END}"
        # "it's over", "we're done", "that's it"
        rf"|\b(?:it{_A}s|it\s+is|it\s+will\s+be|we{_A}re|we\s+are|we{_A}ll\s+be|we\s+will\s+be|"
        r"that\s+will\s+be|the\s+marriage\s+is|the\s+relationship\s+is)\s+(?:over|done|"
        r"finished|through|the\s+end(?:\s+of\s+(?:us|the\s+marriage|our\s+marriage|"
        rf"everything))?){_CLAUSE_END}"
        rf"|\bthat(?:{_A}s|\s+is)\s+it{_CLAUSE_END}"
        # "last chance", "no second chances", "one more lie"
        r"|\b(?:last|final)\s+(?:chance|warning|straw)\b"
        r"|\bno\s+(?:more\s+|second\s+|further\s+)?chances\b|\bzero\s+tolerance\b"
        r"|\b(?:one|three)\s+strikes?\b|\bone\s+more\s+(?:lie|time|slip|mistake|chance)\b"
        # "you'll never see the kids again", "means divorce"
        rf"|\byou(?:{_A}ll|\s+will)\s+(?:never\s+see\s+(?:me|us|the\s+(?:kids|children))"
        r"(?:\s+again)?|lose\s+(?:me|us|everything|the\s+(?:kids|children)))\b"
        r"|\b(?:means|mean|then|equals)\s+(?:a\s+)?(?:divorce|separation|the\s+end)\b"
    ),
    # "this is not a last chance"; "when I'm out", "once we're done"
    not_before=compile_pattern(
        negation_before(3) + r"|\b(?:when|while|if|once|after|until|whenever)\s+$"
    ),
)

MSG_ULTIMATUM = (
    "This reads as an ultimatum. Naming what would end things is fair; you might also say "
    "what you would do first, such as bring it to a session."
)
MSG_REVISIT_FAR = "A first revisit within a month or so lets you adjust before small problems grow."


def ultimatum_finding(breaks: str) -> Finding | None:
    """A gentle tip when "what breaks it" reads as an ultimatum, else None."""
    match = _ULTIMATUM.first(breaks)
    if match is None:
        return None
    return Finding("ultimatum", MSG_ULTIMATUM, part="breaks", phrase=match[0], level="tip")


def _texts(value: object) -> list[str]:
    items = value if isinstance(value, list) else []
    return [item if isinstance(item, str) else "" for item in items]


class RepairContract(HomeworkKind):
    key = "repair_contract"
    label = "Repair contract"
    summary = "Three commitments from each of you, what support looks like, and a revisit date."
    coach_checked = (
        "Nothing missing, and no vague commitments or ultimatums found. This is a pattern check: "
        "it cannot judge what is meant."
    )
    default_audience = Audience.COUPLE
    default_mode = "joint"
    allowed_modes = ("joint",)
    workflow = SIGNED
    # Each partner writes only their own commitments; the other's stay as they are.
    own_part_prefix = "commitments_"
    portal_actions_template = "portal/_contract_actions.html"
    review_actions_template = "homework/_contract_versions.html"
    hand_in_label = None
    write_hint = (
        "Each of you writes your own three commitments; support and what breaks it are "
        "shared. Your therapist marks it final when it reads right to you both, then you "
        "both sign it."
    )
    reopen_to = Status.RETURNED
    change_notice = "contract.change_proposed"
    reopen_consequence = (
        "The contract opens for changes. Both signatures stop counting: once your therapist "
        "marks the changed text final, it becomes a new version that you both sign again. "
        "Your partner and your therapist are told that a change was proposed."
    )
    default_instructions = (
        "Write down, together and in everyday words, what each of you commits to: three "
        "things each. Add what support looks like for you both, what would break the "
        "agreement, and when you will look at it again (a month from now is a good start). "
        "Writing it down saves you from remembering it differently later."
    )

    def empty(self) -> dict:
        return {
            "commitments_1": [""] * COMMITMENTS_EACH,
            "commitments_2": [""] * COMMITMENTS_EACH,
            "support": "",
            "breaks": "",
            "revisit_date": "",
        }

    def clean(self, content: object) -> dict:
        if not isinstance(content, dict):
            raise ContentError({"_": "Expected an object of fields."})
        errors: dict[str, str] = {}
        for key in sorted(set(content) - set(self.empty())):
            errors[key] = "Unknown field."
        cleaned: dict = {}
        for key in ("commitments_1", "commitments_2"):
            items = content.get(key, [""] * COMMITMENTS_EACH)
            if (
                not isinstance(items, list)
                or len(items) != COMMITMENTS_EACH
                or not all(isinstance(item, str) for item in items)
            ):
                errors[key] = f"Expected {COMMITMENTS_EACH} commitments."
                continue
            for index, item in enumerate(items):
                if len(item) > TEXT_LIMIT:
                    errors[f"{key}.{index}"] = f"Keep this under {TEXT_LIMIT:,} characters."
            cleaned[key] = items
        for key in ("support", "breaks"):
            value = content.get(key, "") or ""
            if not isinstance(value, str):
                errors[key] = "Expected text."
            elif len(value) > 4 * TEXT_LIMIT:
                errors[key] = f"Keep this under {4 * TEXT_LIMIT:,} characters."
            else:
                cleaned[key] = value
        revisit = content.get("revisit_date", "") or ""
        if not isinstance(revisit, str):
            errors["revisit_date"] = "Enter a date like 2026-12-28."
        elif revisit:
            try:
                date.fromisoformat(revisit)
            except ValueError:
                errors["revisit_date"] = "Enter a date like 2026-12-28."
        cleaned["revisit_date"] = revisit if isinstance(revisit, str) else ""
        if errors:
            raise ContentError(errors)
        return cleaned

    def parse_form(self, form) -> dict:
        return {
            "commitments_1": [form.get(f"commitments_1-{i}", "") for i in range(COMMITMENTS_EACH)],
            "commitments_2": [form.get(f"commitments_2-{i}", "") for i in range(COMMITMENTS_EACH)],
            "support": form.get("content-support", ""),
            "breaks": form.get("content-breaks", ""),
            "revisit_date": form.get("content-revisit_date", "").strip(),
        }

    def form_values(self, content: dict) -> dict[str, str]:
        values = {}
        for key in ("commitments_1", "commitments_2"):
            items = content.get(key)
            for index, item in enumerate(items if isinstance(items, list) else []):
                values[f"{key}-{index}"] = item if isinstance(item, str) else ""
        for key in ("support", "breaks", "revisit_date"):
            value = content.get(key)
            values[f"content-{key}"] = value if isinstance(value, str) else ""
        return values

    def check_complete(self, content: dict) -> dict[str, str]:
        missing = {}
        for key in ("commitments_1", "commitments_2"):
            if sum(1 for item in content.get(key, []) if item.strip()) < COMMITMENTS_EACH:
                missing[key] = f"Each of you writes {COMMITMENTS_EACH} commitments."
        for key, message in (
            ("support", "Say what support looks like."),
            ("breaks", "Say what would break the agreement."),
            ("revisit_date", "Choose when you will revisit it."),
        ):
            if not content.get(key, "").strip():
                missing[key] = message
        return missing

    def coach(self, content: dict) -> list[Finding]:
        findings = [
            Finding(key, message, part=key, level="missing")
            for key, message in self.check_complete(content).items()
        ]
        for key in COMMITMENT_KEYS:
            for index, text in enumerate(_texts(content.get(key))):
                findings.append(
                    vague_promise_finding(text, f"{key}.{index}", "commitment", SHORT_WORDS)
                )
        breaks = content.get("breaks")
        findings.append(ultimatum_finding(breaks if isinstance(breaks, str) else ""))
        revisit = content.get("revisit_date", "")
        if revisit:
            try:
                months = (date.fromisoformat(revisit) - date.today()).days / 30  # noqa: DTZ011
            except ValueError:
                months = 0
            if months > 3:
                findings.append(
                    Finding("revisit-far", MSG_REVISIT_FAR, part="revisit_date", level="tip")
                )
        return [finding for finding in findings if finding is not None]


register(RepairContract())

"""Truth-conversation preparation: two linked parts, opened together with the therapist.

The method starts repair with the whole truth, said plainly: what happened, why, and what
will keep it from happening again, without justifying it; and the partner who was hurt asks
clear questions and says what they need to feel informed and safe. This kind prepares that
conversation in writing, one part for each partner, by their repair role when it is assigned:

- the partner who was hurt (part "hurt"): the questions they need answered, and what they
  need to feel safe in the conversation;
- the partner who broke trust (part "broke_trust"): what happened, why it happened (in their
  own words: the apology coach's excuse and blame rules apply), and what will prevent it.

Audience **sealed until released** (`practice.audience`): neither partner sees the other's
part until both have handed theirs in *and* the therapist releases them, best in a session.
Each part is the author's and the therapist's until then.

Workflow (path "reviewed"): each partner writes and hands in their part; the therapist reads
it, may return it with a note, and releases both parts together once both are in
(`practice.services.homework.release`). After the release a part is not returned any more:
what both have read stays as they read it.

The part is fixed when the work is assigned (`empty_for`) and kept by every save
(`merge_edit`), so a later change of the couple's roles never reshapes a part already written.

The coach (a pure function of the content):

- "missing-part": a field of the part left empty; "thin-part" (a tip) for a few words only;
- for the partner who broke trust, in "what happened" and "why": the apology coach's excuse,
  blame and shared-blame rules ("because I was drunk", "you made me", "we both made
  mistakes"), with the exact words, and its passive-voice rule in "what happened" ("it just
  happened"); in "what will prevent it", a plan with no concrete, time-bound step;
- for the partner who was hurt: one question only is a tip (most people find they have more
  once they start), and nothing is ever flagged in their questions: what they need to know is
  theirs to ask.
"""

from __future__ import annotations

from practice.audience import Audience
from practice.homework import register
from practice.homework.apology import WHAT as APOLOGY_WHAT
from practice.homework.apology import find_non_apologies
from practice.homework.base import (
    ContentError,
    Finding,
    HomeworkKind,
    TextField,
    clean_text_fields,
    text_value,
)
from practice.homework.standing import Facts, Section, Standing, day
from practice.homework.text import has_time, word_count
from practice.homework.workflow import WRITABLE

HURT, BROKE_TRUST = "hurt", "broke_trust"
PARTS = (HURT, BROKE_TRUST)
PART_NAMES = {
    HURT: "Questions and what I need to feel safe",
    BROKE_TRUST: "What happened, why, and what will prevent it",
}

QUESTIONS, SAFETY = "questions", "to_feel_safe"
WHAT, WHY, PREVENT = "what_happened", "why", "prevention"

FIELDS: dict[str, tuple[TextField, ...]] = {
    HURT: (
        TextField(
            QUESTIONS,
            "The questions I need answered",
            "One per line. Ask what you need to know to understand, in your own words.",
            max_length=8000,
        ),
        TextField(
            SAFETY,
            "What I need to feel safe in that conversation",
            "For example: where and when, a pause word, who else is in the room, what "
            "happens if it gets too much.",
        ),
    ),
    BROKE_TRUST: (
        TextField(
            WHAT,
            "What happened",
            "Say it plainly and specifically: what, when, for how long. Leave no gaps to "
            "fill in later.",
            max_length=8000,
        ),
        TextField(
            WHY,
            "Why it happened",
            "What was going on in you. It explains; it does not excuse, and it points at no "
            "one else.",
        ),
        TextField(
            PREVENT,
            "What will prevent it happening again",
            "Concrete steps, and when or how often you will take them.",
        ),
    ),
}

MISSING = {
    QUESTIONS: "Write the questions you need answered, even if it is only the first few.",
    SAFETY: "Say what you need to feel safe in the conversation: your therapist plans it "
    "with this.",
    WHAT: "Say what happened, plainly. Your partner has asked to know.",
    WHY: "Say why it happened, as you understand it now, in your own words.",
    PREVENT: "Say what you will do so that it does not happen again.",
}
THIN = {
    WHAT: "A few more words would help: what happened, when, and for how long?",
    WHY: "A few more words would help your partner understand how it came about.",
    PREVENT: "A few more words would help: what exactly will you do, and when?",
    SAFETY: "A little more would help your therapist plan the conversation with you.",
}
MIN_WORDS = {WHAT: 8, WHY: 6, PREVENT: 8, SAFETY: 4}
MSG_ONE_QUESTION = (
    "Many people find they have more questions once they start. Add any others as they come; "
    "nothing here is sent until you hand it in."
)
MSG_PREVENT = (
    "A plan is easier to trust with one concrete step and when you will take it, for example "
    "“every Sunday evening” or “within a day of any contact”."
)
# From the apology coach: the rules about excuses and blame, which the method asks the
# partner who broke trust to leave out of "why" as much as out of an apology.
OWNING_RULES = frozenset({"excuse", "blame-other", "you-made-me", "false-symmetry"})
# Their words, where the apology's speak of an apology.
OWN_WORDS = {
    "blame-other": "This points to your partner’s part. Here, keep to your own: what you did "
    "and why you chose it.",
    "false-symmetry": "This spreads the blame. This part is about yours; your partner’s can "
    "wait for another time.",
}


def part_of(content: object) -> str:
    """The part a piece of content is (its "part" key), HURT when it names none."""
    part = content.get("part") if isinstance(content, dict) else None
    return part if part in PARTS else HURT


def coach_truth(content: dict) -> list[Finding]:
    """Findings on one part, field by field in reading order."""
    part = part_of(content)
    findings: list[Finding] = []
    for spec in FIELDS[part]:
        text = text_value(content, spec.key)
        if not text.strip():
            findings.append(
                Finding("missing-part", MISSING[spec.key], part=spec.key, level="missing")
            )
            continue
        if spec.key in MIN_WORDS and word_count(text) < MIN_WORDS[spec.key]:
            findings.append(Finding("thin-part", THIN[spec.key], part=spec.key, level="tip"))
        if spec.key == QUESTIONS and len(questions(text)) == 1:
            findings.append(Finding("one-question", MSG_ONE_QUESTION, part=spec.key, level="tip"))
        if spec.key in (WHAT, WHY):
            findings.extend(_owning(spec.key, text))
        if spec.key == PREVENT and not has_time(text):
            findings.append(Finding("prevention-not-concrete", MSG_PREVENT, part=spec.key))
    return findings


def _owning(key: str, text: str) -> list[Finding]:
    """The apology coach's excuse and blame findings (and, in "what happened", its passive
    voice), reported against this field."""
    found = sorted(find_non_apologies(APOLOGY_WHAT, text), key=lambda item: item[0])
    wanted = OWNING_RULES | ({"passive"} if key == WHAT else set())
    return [
        Finding(
            finding.code,
            OWN_WORDS.get(finding.code, finding.message),
            part=key,
            phrase=finding.phrase,
        )
        for _, finding in found
        if finding.code in wanted
    ]


def questions(text: str) -> list[str]:
    """The questions as the partner wrote them: one per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class TruthConversation(HomeworkKind):
    key = "truth_conversation"
    label = "Truth conversation preparation"
    summary = (
        "Two linked parts: the hurt partner's questions and needs, and what happened, why and "
        "what will prevent it. Opened together once you release them."
    )
    coach_checked = (
        "Nothing missing, and the wording checks found nothing to look at again (for the "
        "partner who broke trust: excuses, blame, a plan with no when). They look at the "
        "wording only, not at what is meant."
    )
    default_audience = Audience.SEALED_UNTIL_RELEASED
    default_mode = "each"
    allowed_modes = ("each",)
    default_instructions = (
        "This prepares the conversation about what happened, which we will have together in "
        "a session. If you were hurt, write the questions you need answered and what you need "
        "to feel safe while we talk. If you broke trust, write what happened, why, and what "
        "will keep it from happening again, plainly and without reasons that point elsewhere. "
        "Neither of you sees the other's part until you have both handed yours in and we open "
        "them together."
    )
    max_total_length = 30000
    portal_actions_template = "homework/kinds/truth_conversation/portal_actions.html"
    review_actions_template = "homework/kinds/truth_conversation/review_actions.html"

    # Both parts print whole in the summary (the couple's copy has them once released).
    prints_whole = True

    def printable(self, content: dict) -> dict:
        return {key: value for key, value in content.items() if key != "part"}

    def fields_for(self, content: object) -> tuple[TextField, ...]:
        """The fields of this piece's part, in the order the page shows them."""
        return FIELDS[part_of(content)]

    def part_name(self, content: object) -> str:
        return PART_NAMES[part_of(content)]

    def empty(self) -> dict:
        return self.empty_for(HURT)

    def empty_for(self, role: str | None) -> dict:
        part = role if role in PARTS else HURT
        return {"part": part, **{spec.key: "" for spec in FIELDS[part]}}

    def assign_problem(self, roles: list[str | None]) -> str | None:
        if sorted(role or "" for role in roles) != sorted(PARTS):
            return (
                "The truth conversation has one part for the partner who was hurt and one for "
                "the partner who broke trust. Set each partner's role on the couple's page "
                "first."
            )
        return None

    def clean(self, content: object) -> dict:
        if not isinstance(content, dict):
            raise ContentError({"_": "Expected an object of fields."})
        part = content.get("part")
        if part not in PARTS:
            raise ContentError({"part": "Unknown part."})
        fields = list(FIELDS[part])
        cleaned = clean_text_fields({k: v for k, v in content.items() if k != "part"}, fields)
        return {"part": part, **cleaned}

    def parse_form(self, form) -> dict:
        """The part the page showed (its hidden field, or else the fields it posted) and that
        part's fields; the stored part decides what may be kept (`merge_edit`)."""
        part = form.get("content-part")
        if part not in PARTS:
            posted = any(f"content-{spec.key}" in form for spec in FIELDS[BROKE_TRUST])
            part = BROKE_TRUST if posted else HURT
        typed = {spec.key: form.get(f"content-{spec.key}", "") for spec in FIELDS[part]}
        return {"part": part, **typed}

    def form_values(self, content: dict) -> dict[str, str]:
        return {"content-part": part_of(content)} | {
            f"content-{spec.key}": text_value(content, spec.key)
            for spec in self.fields_for(content)
        }

    def merge_edit(self, current: dict, typed: dict, *, position: int) -> dict:
        """The part stays the one assigned. What was typed is kept as typed: a field of the
        other part is refused by `clean` by name, never dropped without a word."""
        rest = {key: value for key, value in typed.items() if key != "part"}
        return {"part": part_of(current), **rest}

    def check_complete(self, content: dict) -> dict[str, str]:
        return {
            spec.key: MISSING[spec.key]
            for spec in self.fields_for(content)
            if not text_value(content, spec.key).strip()
        }

    def coach(self, content: dict) -> list[Finding]:
        return coach_truth(content)

    def standing(self, facts: Facts) -> Standing:
        """Who acts next, with the two parts held until both are in and released."""
        other = facts.other_name or "your partner"
        if facts.viewer_is_partner and not facts.viewer_is_author:
            # Seen only once released: the other partner's part, to read when ready.
            return Standing(
                f"{facts.author_name}'s part, opened with your therapist", Section.TO_READ, False
            )
        released = f"Opened together{_on(facts.released_on)}"
        if facts.viewer_is_partner:
            if facts.status in WRITABLE:
                return super().standing(facts)
            if facts.released:
                return Standing(f"{released} · {other} can read your part", Section.DONE, False)
            if not facts.all_handed_in:
                return Standing(
                    f"Handed in{_on(facts.handed_in_on)} · held until {other} hands in theirs "
                    "and your therapist opens both with you",
                    Section.WAITING,
                    True,
                )
            return Standing(
                "Both parts are in · your therapist will open them with you, ideally in a session",
                Section.WAITING,
                True,
            )
        if facts.released:
            return Standing(f"Released to the couple{_on(facts.released_on)}", Section.DONE, False)
        if facts.status not in WRITABLE and facts.all_handed_in:
            return Standing(
                "Both parts are in · release them with the couple, ideally in a session",
                Section.TODO,
                True,
            )
        return super().standing(facts)


def _on(value) -> str:
    return f" on {day(value)}" if value else ""


register(TruthConversation())

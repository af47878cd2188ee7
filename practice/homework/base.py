"""What every homework kind declares: its fields, validation, coach, defaults and templates.

A kind is one module in this package with one `HomeworkKind` subclass, registered in
`practice.homework.KINDS`. Content is a JSON object validated by the kind and stored with
the kind's schema version. The coach is a pure function of the content: plain feedback shown
to the partner while writing and to the therapist while reviewing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from practice.audience import Audience
from practice.homework import standing as standings
from practice.homework.standing import Facts, Standing
from practice.homework.workflow import REVIEWED, WRITABLE, Status, Workflow

Mode = Literal["one", "each", "joint"]


@dataclass(frozen=True)
class Finding:
    """One piece of coach feedback."""

    code: str  # stable identifier, e.g. "sorry-you-felt"; tests and templates key on it
    message: str  # one plain line: what, and why it matters
    part: str | None = None  # the field it is about; None for the whole piece
    phrase: str | None = None  # the exact words found in the text, when there are any
    level: Literal["missing", "flag", "tip"] = "flag"


@dataclass(frozen=True)
class TextField:
    """A free-text field of a kind's content."""

    key: str
    label: str
    help: str = ""
    max_length: int = 5000
    multiline: bool = True


class ContentError(ValueError):
    """Content that does not fit the kind's shape; `errors` maps a field key to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


@dataclass
class HomeworkKind:
    """Base class of a homework kind. Subclasses set the class variables and override hooks."""

    key: ClassVar[str]
    label: ClassVar[str]
    summary: ClassVar[str]  # one line for the assign page
    # Its name once shared with the couple, when that differs ("Apology", not "Apology draft").
    shared_label: ClassVar[str | None] = None
    # Shown where the coach finds nothing: what it looked for, never a verdict on sincerity.
    coach_checked: ClassVar[str] = (
        "Nothing found by this kind's checks. They look at the wording only, not at what is meant."
    )
    schema_version: ClassVar[int] = 1
    default_audience: ClassVar[Audience] = Audience.PRIVATE
    # The path through the statuses (practice.homework.workflow): reviewed, signed, confirmed.
    workflow: ClassVar[Workflow] = REVIEWED
    default_mode: ClassVar[Mode] = "one"
    allowed_modes: ClassVar[tuple[Mode, ...]] = ("one", "each")
    # For mode "one": the repair role that gets it by default ("broke_trust", "hurt", None).
    default_role: ClassVar[str | None] = None
    default_instructions: ClassVar[str] = ""
    max_total_length: ClassVar[int] = 40000
    # Flat text kinds list their fields; structured kinds define parse_form and form_values.
    fields: ClassVar[list[TextField]] = []

    extra: dict = field(default_factory=dict)

    @property
    def modes_text(self) -> str:
        names = {"one": "to one partner", "each": "to each partner", "joint": "jointly"}
        return " or ".join(names[mode] for mode in self.allowed_modes)

    # -- content -------------------------------------------------------------------------
    def empty(self) -> dict:
        """Content of a new, untouched piece of this kind."""
        raise NotImplementedError

    def clean(self, content: object) -> dict:
        """Check the shape of submitted content and return it normalised; raise ContentError.

        Normalising never drops what a person typed: text is kept as written (only the
        surrounding structure is checked), so that a draft always comes back intact.
        """
        raise NotImplementedError

    def parse_form(self, form) -> dict:
        """Content from a posted form (the no-JS form and the autosave post alike).

        Reads the fields listed in `fields`; a kind with no `fields` must define its own
        (registering one that does not is refused), or the page's form would be read as empty.
        """
        return {spec.key: form.get(f"content-{spec.key}", "") for spec in self.fields}

    def form_values(self, content: dict) -> dict[str, str]:
        """The form fields that show `content`, by name: the inverse of `parse_form`.

        An autosave answers with these, so that the page says "Saved" only once every value it
        sent is among what the server stored.
        """
        return {f"content-{spec.key}": text_value(content, spec.key) for spec in self.fields}

    def check_complete(self, content: dict) -> dict[str, str]:
        """What must be filled in before submitting: field key -> message (empty when ready)."""
        return {}

    def coach(self, content: dict) -> list[Finding]:
        """Plain feedback on the content; a pure function."""
        return []

    def coach_counts(self, content: dict) -> tuple[int, int]:
        """What the coach finds, counted: (flags, missing parts). Tips are not counted. Stored
        with every save, so that lists show them without running the coach again."""
        findings = self.coach(content or {})
        flags = sum(1 for finding in findings if finding.level == "flag")
        missing = sum(1 for finding in findings if finding.level == "missing")
        return flags, missing

    # -- workflow hooks --------------------------------------------------------------------
    # The button that hands the work in, or None when handing in is a joint step (signing,
    # agreeing) described by `write_hint` instead.
    hand_in_label: ClassVar[str | None] = "Submit to your therapist"
    write_hint: ClassVar[str] = ""
    # Joint work agreed by both (the "confirmed" path): what to do first, when agreeing is
    # refused because the saved version still misses something.
    agree_first: ClassVar[str] = "Fill in what is missing, then save, to agree."
    # Its words on the agreeing step (portal/_agree_actions.html), and what it offers once
    # both have agreed (a template included there).
    agree_noun: ClassVar[str] = "plan"
    agreed_heading: ClassVar[str] = "Agreed by you both"
    agreed_template: ClassVar[str | None] = None
    # "Propose a change" on work that is signed or agreed: the status it goes back to (None:
    # the kind has no such step; handed-in work changes through the therapist), and the
    # consequence the confirmation names before anything happens.
    reopen_to: ClassVar[Status | None] = None
    reopen_consequence: ClassVar[str] = ""
    change_notice: ClassVar[str] = ""  # the notice kind sent when a change is proposed

    def title(self, *, shared: bool) -> str:
        """What a partner's pages call it: a draft stops being called one once shared."""
        return (self.shared_label or self.label) if shared else self.label

    def may_edit(self, status: str) -> bool:
        """Whether its writers may change it in `status`: while it is assigned, a draft or
        returned. Handed-in, final, signed and agreed work reads the same for everyone; it
        changes only through its path (a return, or "Propose a change")."""
        return Status(status) in WRITABLE

    @property
    def needs_review(self) -> bool:
        """Whether handed-in work of this kind waits for the therapist (the review queue)."""
        return self.workflow.needs_review

    def may_reopen(self, status: str) -> bool:
        """Whether a partner may propose a change from `status` (signed, final or agreed)."""
        # Only signed, final or agreed work: writable work is open for changes already.
        return (
            self.reopen_to is not None
            and Status(status) not in WRITABLE
            and self.workflow.allows(Status(status), self.reopen_to)
        )

    # A joint kind whose content has a part of each partner's own, under this prefix and the
    # partner's position ("commitments_1", "care_2"): each writes only theirs.
    own_part_prefix: ClassVar[str | None] = None

    def merge_edit(self, current: dict, typed: dict, *, position: int) -> dict:
        """What a save by the partner at `position` stores: all they typed, except the other
        partner's own part (`own_part_prefix`), which stays as it is. A kind whose shape is
        fixed when assigned keeps it here too (every save goes through here)."""
        if self.own_part_prefix is None:
            return typed
        other = f"{self.own_part_prefix}{3 - position}"
        merged = dict(typed)
        if other in current:
            merged[other] = current[other]
        return merged

    def complete_slots(self, content: dict) -> list[dict]:
        """The weekly times agreed in this content that a calendar can show, each a dict of
        `weekday` (0 is Monday), `start` ("HH:MM", the couple's zone) and `minutes`. Most
        kinds have none; a processing window has its slots, a connection ritual its check-in.
        """
        return []

    def empty_for(self, role: str | None) -> dict:
        """Content of a new piece for an author in this repair role (None: joint). Most
        kinds ask the same of everyone; a kind with a part for each role overrides it."""
        return self.empty()

    def assign_problem(self, roles: list[str | None]) -> str | None:
        """Why this kind cannot go to authors in these repair roles, in words for the
        therapist, or None when it can."""
        return None

    def standing(self, facts: Facts) -> Standing:
        """Where the work stands for one viewer: words that say who acts next, and the portal
        section it belongs in. Override for a kind's own words."""
        if facts.viewer_is_partner:
            return standings.for_partner(facts)
        return standings.for_therapist(facts)

    # The portal fragment below the writing form or the read view (confirming, signing):
    # included with `response`, `partner`, `kind`, `form`, `standing` in the context.
    portal_actions_template: ClassVar[str | None] = None
    # The review page's kind-specific card (signed versions, merging into agreements):
    # included with `response`, `couple`, `kind`, `action_form` in the context.
    review_actions_template: ClassVar[str | None] = None

    # -- the session summary --------------------------------------------------------------
    # Whether handed-in work prints whole in the summary PDF (its print template), where most
    # kinds print an excerpt.
    prints_whole: ClassVar[bool] = False

    def printable(self, content: dict) -> dict:
        """The content an excerpt is drawn from: by default all of it."""
        return content

    # -- templates -----------------------------------------------------------------------
    @property
    def edit_template(self) -> str:
        return f"homework/kinds/{self.key}/edit.html"

    @property
    def read_template(self) -> str:
        return f"homework/kinds/{self.key}/read.html"

    @property
    def print_template(self) -> str:
        return f"homework/kinds/{self.key}/print.html"


def content_texts(value: object) -> list[str]:
    """Every piece of text in a homework content, in order, whatever its kind's shape."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in content_texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in content_texts(item)]
    return []


def text_value(content: dict, key: str) -> str:
    value = content.get(key, "")
    return value if isinstance(value, str) else ""


def clean_text_fields(content: object, fields: list[TextField]) -> dict:
    """Shape check for a flat object of text fields; unknown keys are refused."""
    if not isinstance(content, dict):
        raise ContentError({"_": "Expected an object of fields."})
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    known = {f.key: f for f in fields}
    for key in content:
        if key not in known:
            errors[key] = "Unknown field."
    for spec in fields:
        value = content.get(spec.key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[spec.key] = "Expected text."
            continue
        if len(value) > spec.max_length:
            errors[spec.key] = f"Keep this under {spec.max_length:,} characters."
            continue
        cleaned[spec.key] = value
    if errors:
        raise ContentError(errors)
    return cleaned

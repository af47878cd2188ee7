"""The weekly check-in's questions: what a partner is asked, in words that fit their role.

The method's progress markers are asked as ratings, worded for the partner's repair role:
the partner who was hurt is asked about what they notice, the partner who broke trust about
what they do, and a couple working on a mutual rupture get a neutral wording. Every rating
is 1 to 5, where 5 is always the better end, so that trends read the same way for everyone;
every question may be left unanswered.

Content (what a form posts, cleaned) is a plain object:
``{"facts", "feelings", "went_well": str, "markers": {marker: 1-5}, "triggers": {"count",
"longest_minutes": int | None, "helped": [step, ...], "helped_other": str}, "window":
{"held": "yes" | "no" | "none", "how": str}, "kept": {agreement public id: "yes" | "mostly" |
"no"}, "reflection": str}``. Nothing typed is dropped: text is kept as written, and a value
that does not fit is refused with a message, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("hurt", "broke_trust", "mutual")
TEXT_LIMIT = 5000
MAX_TRIGGERS = 100
MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Marker:
    key: str
    name: str  # the therapist's short name for the trend
    question: dict[str, str]  # by repair role
    low: str  # what 1 means
    high: str  # what 5 means


MARKERS = (
    Marker(
        "same_fight",
        "The same argument again",
        {
            "hurt": "This week, how often did the same argument come back?",
            "broke_trust": "This week, how often did the same argument come back?",
            "mutual": "This week, how often did the same argument come back?",
        },
        low="Most days",
        high="Not at all",
    ),
    Marker(
        "recovery",
        "Time to recover after a trigger",
        {
            "hurt": "When something set off the hurt this week, how quickly did you feel "
            "steady again?",
            "broke_trust": "When something set off your partner's hurt this week, how "
            "quickly did the two of you get back on an even keel?",
            "mutual": "When something set either of you off this week, how quickly did you "
            "get back on an even keel?",
        },
        low="It took a day or more",
        high="Within minutes",
    ),
    Marker(
        "follow_through",
        "Follow-through on small promises",
        {
            "hurt": "How well did your partner do the small things they said they would?",
            "broke_trust": "How well did you do the small things you said you would?",
            "mutual": "How well did the two of you do the small things you said you would?",
        },
        low="Hardly at all",
        high="Every time",
    ),
    Marker(
        "affection",
        "Spontaneous affection",
        {
            "hurt": "How often was there affection that nobody planned?",
            "broke_trust": "How often was there affection that nobody planned?",
            "mutual": "How often was there affection that nobody planned?",
        },
        low="Not at all",
        high="Often",
    ),
    Marker(
        "checking",
        "Checking up on each other",
        {
            "hurt": "How much did you feel you needed to check up on your partner?",
            "broke_trust": "How much did you sense your partner needed to check up on you?",
            "mutual": "How much checking up on each other was there?",
        },
        low="All the time",
        high="Not at all",
    ),
)
MARKER_KEYS = tuple(marker.key for marker in MARKERS)

# The method's quick grounding routine after a trigger, in our words.
GROUNDING_STEPS = {
    "named_it": "We named it when it happened",
    "breathed": "We paused and breathed together",
    "facts": "We checked the facts, not guesses",
    "reassured": "Reassurance, or the information that was needed",
    "small_repair": "A small repair: a hug, a check-in, a change of plan",
    "code_word": "The code word",
    "on_my_own": "Something on my own: a walk, writing it down",
}
WINDOW_HELD = {"yes": "Yes", "no": "No, we missed it", "none": "None was planned"}
KEPT = {"yes": "Kept", "mostly": "Mostly", "no": "Not this week"}
TEXTS = ("facts", "feelings", "went_well", "reflection")


def question(marker: Marker, role: str) -> str:
    return marker.question[role if role in ROLES else "mutual"]


class CheckinError(ValueError):
    """What does not fit, by form field name: message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def empty() -> dict:
    return {
        "facts": "",
        "feelings": "",
        "went_well": "",
        "markers": {},
        "triggers": {"count": None, "longest_minutes": None, "helped": [], "helped_other": ""},
        "window": {"held": "", "how": ""},
        "kept": {},
        "reflection": "",
    }


def _whole(raw: str, field: str, top: int, errors: dict[str, str]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > top:
        errors[field] = f"Enter a whole number from 0 to {top:,}."
        return None
    return int(raw)


def parse_form(form, agreement_keys: tuple[str, ...] = ()) -> tuple[dict, dict[str, str]]:
    """Content from a posted check-in form, and what did not fit (field name: message).

    What fits is kept even when another field is refused, so that a page re-rendered with the
    errors shows everything the partner typed."""
    errors: dict[str, str] = {}
    content = empty()
    for key in TEXTS:
        value = form.get(f"checkin-{key}", "")
        if len(value) > TEXT_LIMIT:
            errors[f"checkin-{key}"] = f"Keep this under {TEXT_LIMIT:,} characters."
        content[key] = value
    for key in MARKER_KEYS:
        raw = form.get(f"marker-{key}", "").strip()
        if raw:
            if raw in {"1", "2", "3", "4", "5"}:
                content["markers"][key] = int(raw)
            else:
                errors[f"marker-{key}"] = "Choose one of the five answers, or leave it."
    triggers = content["triggers"]
    triggers["count"] = _whole(
        form.get("triggers-count", ""), "triggers-count", MAX_TRIGGERS, errors
    )
    triggers["longest_minutes"] = _whole(
        form.get("triggers-longest_minutes", ""), "triggers-longest_minutes", MAX_MINUTES, errors
    )
    # One checkbox per step, each its own field (a form and an autosave echo map one value
    # to one name).
    triggers["helped"] = [step for step in GROUNDING_STEPS if form.get(f"triggers-helped-{step}")]
    triggers["helped_other"] = form.get("triggers-helped_other", "")
    if len(triggers["helped_other"]) > TEXT_LIMIT:
        errors["triggers-helped_other"] = f"Keep this under {TEXT_LIMIT:,} characters."
    held = form.get("window-held", "")
    if held and held not in WINDOW_HELD:
        errors["window-held"] = "Choose one of the answers, or leave it."
        held = ""
    content["window"] = {"held": held, "how": form.get("window-how", "")}
    if len(content["window"]["how"]) > TEXT_LIMIT:
        errors["window-how"] = f"Keep this under {TEXT_LIMIT:,} characters."
    for key in agreement_keys:
        answer = form.get(f"kept-{key}", "")
        if answer and answer not in KEPT:
            errors[f"kept-{key}"] = "Choose one of the answers, or leave it."
        elif answer:
            content["kept"][key] = answer
    return content, errors


def form_values(content: dict) -> dict[str, str]:
    """The form fields that show `content`: the inverse of `parse_form`."""
    values: dict[str, str] = {f"checkin-{key}": content.get(key, "") for key in TEXTS}
    for key, rating in content.get("markers", {}).items():
        values[f"marker-{key}"] = str(rating)
    triggers = content.get("triggers", {})
    for key in ("count", "longest_minutes"):
        value = triggers.get(key)
        values[f"triggers-{key}"] = "" if value is None else str(value)
    for step in triggers.get("helped", []):
        values[f"triggers-helped-{step}"] = "y"
    values["triggers-helped_other"] = triggers.get("helped_other", "")
    window = content.get("window", {})
    values["window-held"] = window.get("held", "")
    values["window-how"] = window.get("how", "")
    for key, answer in content.get("kept", {}).items():
        values[f"kept-{key}"] = answer
    return values


def declining(handed_in: list[dict]) -> int:
    """How many progress markers went down three handed-in weeks running: `handed_in` is the
    partner's check-in contents, oldest first, ending with the latest. A week a marker was
    not answered is skipped, not read as a fall."""
    count = 0
    for key in MARKER_KEYS:
        values = [c.get("markers", {}).get(key) for c in handed_in]
        recent = [value for value in values if value is not None][-4:]
        if len(recent) == 4 and all(b < a for a, b in zip(recent, recent[1:], strict=False)):
            count += 1
    return count

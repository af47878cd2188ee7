"""Processing window: set times each week to talk about the betrayal, and a code word.

Outside the window, either partner can use the code word to ask for reassurance without
reopening the whole conversation.

Workflow (path "confirmed", no therapist step): one joint document; both partners plan it
and each agrees to the same version (an edit needs agreeing again). Once both agreed it is
read-only and reaches their calendars under a neutral title each partner may rename; "Propose
a change" reopens it as a draft (`reopen_to`), and it leaves the calendars until both agree
again.
"""

from __future__ import annotations

import re
from typing import ClassVar

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import ContentError, Finding, HomeworkKind
from practice.homework.workflow import CONFIRMED, Status

MAX_SLOTS = 4
MIN_MINUTES, MAX_MINUTES = 10, 180
RECOMMENDED_SLOTS, RECOMMENDED_MINUTES = 2, 60
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# The code word is one line: no control characters, line or paragraph separators (as every
# one-line field of the app; homework kinds do not import the services that spell it too).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CODE_WORD_ONE_LINE = (
    "Keep the code word to one line, without line breaks, tabs or invisible characters."
)


_SLOT_PARTS = (("weekday", "a day"), ("start", "a start time"), ("minutes", "a length"))


def _blank_to_none(value: object) -> object:
    """An empty form field (or a missing key) is not filled in yet; anything else is as typed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def _int_or_text(value: str) -> int | str:
    """A number when it is one; otherwise the text as typed, for clean() to name the problem."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class ProcessingWindow(HomeworkKind):
    key = "processing_window"
    label = "Processing window"
    summary = "One or two set times a week to talk it through, and a code word for the rest."
    # The schedule reads as days and times in the summary, not as an excerpt of its fields.
    prints_whole = True
    coach_checked = (
        "Checked: two windows a week at most, none over an hour, none on the same day, and a "
        "code word once a time is set."
    )
    default_audience = Audience.COUPLE
    default_mode = "joint"
    allowed_modes = ("joint",)
    workflow = CONFIRMED
    portal_actions_template = "portal/_agree_actions.html"
    agree_noun = "schedule"
    agreed_heading = "Your agreed times"
    agreed_template = "portal/_window_agreed.html"
    hand_in_label = None  # agreeing is a step of its own, below the form
    write_hint = "When it looks right to you both, save it and agree to it below."
    agree_first = "Add at least one time and a code word, then save, to agree."
    # "Propose a change" on an agreed schedule (the portal's propose-change page).
    reopen_to = Status.DRAFT
    change_notice = "window.change_proposed"
    reopen_consequence = (
        "Your agreed schedule is reopened for changes. You both need to agree again, and it "
        "leaves your calendar until you do (events you added from a downloaded file stay "
        "until you delete them). Your partner and your therapist are told that a change was "
        "proposed, not what it is."
    )
    max_slots: ClassVar[int] = MAX_SLOTS
    min_minutes: ClassVar[int] = MIN_MINUTES
    max_minutes: ClassVar[int] = MAX_MINUTES
    default_instructions = (
        "Agree on one or two set times each week, up to an hour each, to talk about what "
        "happened and how you both feel. Keeping it to those times lets the rest of the week "
        "be about ordinary life. Choose a code word either of you can use outside the window "
        "when you need a moment of reassurance. When it looks right to you both, each of you "
        "agrees to it."
    )

    def empty(self) -> dict:
        return {"slots": [], "code_word": ""}

    def clean(self, content: object) -> dict:
        """The schedule as typed. A slot may be half filled in a draft (a day chosen, no time
        yet): it is kept, and named only when agreeing (`check_complete`). A value that is
        there but wrong (a day that is no day, "25:99", "an hour") is refused."""
        if not isinstance(content, dict):
            raise ContentError({"_": "Expected an object of fields."})
        errors: dict[str, str] = {}
        unknown = set(content) - {"slots", "code_word"}
        for key in sorted(unknown):
            errors[key] = "Unknown field."
        code_word = content.get("code_word", "") or ""
        if not isinstance(code_word, str) or len(code_word) > 60:
            errors["code_word"] = "Use a short word or phrase (60 characters at most)."
        elif _CONTROL.search(code_word):
            errors["code_word"] = CODE_WORD_ONE_LINE
        slots = content.get("slots", [])
        cleaned_slots = []
        if not isinstance(slots, list) or len(slots) > MAX_SLOTS:
            errors["slots"] = f"Plan at most {MAX_SLOTS} times a week."
            slots = []
        for index, slot in enumerate(slots):
            prefix = f"slots.{index}"
            if not isinstance(slot, dict):
                errors[prefix] = "Expected a day, a start time and a length."
                continue
            weekday = _blank_to_none(slot.get("weekday"))
            start = _blank_to_none(slot.get("start"))
            minutes = _blank_to_none(slot.get("minutes"))
            if weekday is None and start is None and minutes is None:
                continue  # an untouched row
            if weekday is not None and (
                not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6
            ):
                errors[f"{prefix}.weekday"] = "Choose a day of the week."
            if start is not None and (not isinstance(start, str) or not _TIME.match(start)):
                errors[f"{prefix}.start"] = "Enter a time like 19:30."
            if minutes is not None and (
                not isinstance(minutes, int)
                or isinstance(minutes, bool)
                or not MIN_MINUTES <= minutes <= MAX_MINUTES
            ):
                errors[f"{prefix}.minutes"] = (
                    f"Choose a length between {MIN_MINUTES} and {MAX_MINUTES} minutes."
                )
            cleaned_slots.append({"weekday": weekday, "start": start or "", "minutes": minutes})
        if errors:
            raise ContentError(errors)
        return {"slots": cleaned_slots, "code_word": code_word}

    def parse_form(self, form) -> dict:
        slots = []
        for index in range(MAX_SLOTS):
            weekday = form.get(f"slots-{index}-weekday", "")
            start = form.get(f"slots-{index}-start", "")
            minutes = form.get(f"slots-{index}-minutes", "")
            if not (weekday or start or minutes):
                continue
            slots.append(
                {
                    "weekday": _int_or_text(weekday),
                    "start": start.strip(),
                    "minutes": _int_or_text(minutes),
                }
            )
        return {"slots": slots, "code_word": form.get("content-code_word", "")}

    def form_values(self, content: dict) -> dict[str, str]:
        values = {}
        slots = content.get("slots")
        for index, slot in enumerate(slots if isinstance(slots, list) else []):
            slot = slot if isinstance(slot, dict) else {}
            for key in ("weekday", "start", "minutes"):
                value = slot.get(key)
                values[f"slots-{index}-{key}"] = "" if value is None else str(value)
        code_word = content.get("code_word")
        values["content-code_word"] = code_word if isinstance(code_word, str) else ""
        return values

    def check_complete(self, content: dict) -> dict[str, str]:
        """What must be filled in before the partners can agree: every gap, by its part."""
        missing = {}
        slots = content.get("slots") or []
        if not slots:
            missing["slots"] = "Plan at least one time a week."
        for index, slot in enumerate(slots):
            for key, what in _SLOT_PARTS:
                if slot.get(key) in (None, ""):
                    missing[f"slots.{index}.{key}"] = f"Window {index + 1}: choose {what}."
        if not (content.get("code_word") or "").strip():
            missing["code_word"] = "Choose a code word."
        return missing

    def complete_slots(self, content: dict) -> list[dict]:
        """The slots with a day, a start time and a length: the ones a calendar can show."""
        return [
            slot
            for slot in content.get("slots") or []
            if isinstance(slot.get("weekday"), int)
            and slot.get("start")
            and isinstance(slot.get("minutes"), int)
        ]

    def coach(self, content: dict) -> list[Finding]:
        findings = []
        slots = content.get("slots", [])
        if len(slots) > RECOMMENDED_SLOTS:
            findings.append(
                Finding(
                    "too-many-windows",
                    f"{len(slots)} windows a week is a lot. Two at most usually leaves room "
                    "for the rest of your life together.",
                    part="slots",
                )
            )
        for index, slot in enumerate(slots):
            if isinstance(slot.get("minutes"), int) and slot["minutes"] > RECOMMENDED_MINUTES:
                findings.append(
                    Finding(
                        "window-too-long",
                        "Over an hour is hard on both of you. Try an hour or less, and stop "
                        "on time even mid-conversation.",
                        part=f"slots.{index}.minutes",
                    )
                )
        days = [slot.get("weekday") for slot in slots if slot.get("weekday") is not None]
        if len(days) != len(set(days)):
            findings.append(
                Finding(
                    "same-day",
                    "Two windows on the same day leave little time to recover in between.",
                    part="slots",
                    level="tip",
                )
            )
        if slots and not content.get("code_word", "").strip():
            findings.append(
                Finding(
                    "no-code-word",
                    "Add a code word, so either of you can ask for reassurance between windows.",
                    part="code_word",
                    level="missing",
                )
            )
        return findings


register(ProcessingWindow())

"""Processing window: set times each week to talk about the betrayal, and a code word.

Outside the window, either partner can use the code word to ask for reassurance without
reopening the whole conversation. Both partners confirm the schedule.
"""

from __future__ import annotations

import re
from typing import ClassVar

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import ContentError, Finding, HomeworkKind
from practice.homework.workflow import CONFIRMED

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SLOTS = 4
MIN_MINUTES, MAX_MINUTES = 10, 180
RECOMMENDED_SLOTS, RECOMMENDED_MINUTES = 2, 60
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


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
    coach_checked = (
        "Checked: two windows a week at most, none over an hour, none on the same day, and a "
        "code word once a time is set."
    )
    default_audience = Audience.COUPLE
    default_mode = "joint"
    allowed_modes = ("joint",)
    workflow = CONFIRMED
    portal_actions_template = "portal/_window_actions.html"
    max_slots: ClassVar[int] = MAX_SLOTS
    min_minutes: ClassVar[int] = MIN_MINUTES
    max_minutes: ClassVar[int] = MAX_MINUTES
    default_instructions = (
        "Agree on one or two set times each week, up to an hour each, to talk about what "
        "happened and how you both feel. Keeping it to those times lets the rest of the week "
        "be about ordinary life. Choose a code word either of you can use outside the window "
        "when you need a moment of reassurance. When you both agree, each of you confirms."
    )

    def empty(self) -> dict:
        return {"slots": [], "code_word": ""}

    def clean(self, content: object) -> dict:
        if not isinstance(content, dict):
            raise ContentError({"_": "Expected an object of fields."})
        errors: dict[str, str] = {}
        unknown = set(content) - {"slots", "code_word"}
        for key in sorted(unknown):
            errors[key] = "Unknown field."
        code_word = content.get("code_word", "") or ""
        if not isinstance(code_word, str) or len(code_word) > 60:
            errors["code_word"] = "Use a short word or phrase (60 characters at most)."
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
            weekday, start, minutes = slot.get("weekday"), slot.get("start"), slot.get("minutes")
            if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
                errors[f"{prefix}.weekday"] = "Choose a day of the week."
            if not isinstance(start, str) or not _TIME.match(start):
                errors[f"{prefix}.start"] = "Enter a time like 19:30."
            if (
                not isinstance(minutes, int)
                or isinstance(minutes, bool)
                or not MIN_MINUTES <= minutes <= MAX_MINUTES
            ):
                errors[f"{prefix}.minutes"] = (
                    f"Choose a length between {MIN_MINUTES} and {MAX_MINUTES} minutes."
                )
            cleaned_slots.append({"weekday": weekday, "start": start, "minutes": minutes})
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
        missing = {}
        if not content.get("slots"):
            missing["slots"] = "Plan at least one time a week."
        if not content.get("code_word", "").strip():
            missing["code_word"] = "Choose a code word."
        return missing

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
        days = [slot.get("weekday") for slot in slots]
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

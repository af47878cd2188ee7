"""Repair contract: a short shared document both partners sign, and revisit after a month."""

from __future__ import annotations

from datetime import date

from practice.audience import Audience
from practice.homework import register
from practice.homework.base import ContentError, Finding, HomeworkKind
from practice.homework.workflow import SIGNED

COMMITMENTS_EACH = 3
TEXT_LIMIT = 1000


class RepairContract(HomeworkKind):
    key = "repair_contract"
    label = "Repair contract"
    summary = "Three commitments from each of you, what support looks like, and a revisit date."
    default_audience = Audience.COUPLE
    default_mode = "joint"
    allowed_modes = ("joint",)
    workflow = SIGNED
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
        revisit = content.get("revisit_date", "")
        if revisit:
            try:
                months = (date.fromisoformat(revisit) - date.today()).days / 30  # noqa: DTZ011
            except ValueError:
                months = 0
            if months > 3:
                findings.append(
                    Finding(
                        "revisit-far",
                        "A first revisit within a month or so lets you adjust before "
                        "small problems grow.",
                        part="revisit_date",
                        level="tip",
                    )
                )
        return findings


register(RepairContract())

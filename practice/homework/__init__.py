"""The homework kinds. Adding a kind: one module here and its templates, then list it below."""

from __future__ import annotations

from practice.homework.base import ContentError, Finding, HomeworkKind

KINDS: dict[str, HomeworkKind] = {}


def register(kind: HomeworkKind) -> HomeworkKind:
    """Add a kind to the registry; a kind that cannot read its own form is refused."""
    if not kind.fields:
        for hook in ("parse_form", "form_values"):
            if getattr(type(kind), hook) is getattr(HomeworkKind, hook):
                raise TypeError(
                    f"homework kind {kind.key!r} lists no fields, so it must define {hook}()"
                )
    KINDS[kind.key] = kind
    return kind


def get_kind(key: str) -> HomeworkKind:
    try:
        return KINDS[key]
    except KeyError:
        raise LookupError(f"unknown homework kind {key!r}") from None


def _load() -> None:
    from practice.homework import (  # noqa: F401
        apology,
        boundaries,
        connection_ritual,
        processing_window,
        repair_contract,
        truth_conversation,
    )


_load()

__all__ = ["KINDS", "ContentError", "Finding", "HomeworkKind", "get_kind", "register"]

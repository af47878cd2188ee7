"""What every autosaving portal form shares: the version a save starts from, and the answer
an autosave post gets (the page's script says "Saved" only when `stored` holds every value it
sent; a conflict shows both texts; a refusal names the fields)."""

from __future__ import annotations

from collections.abc import Callable

from flask import request

from practice.blueprints.transaction import discard_writes
from practice.services import DomainError


def base_version() -> int:
    """The version the posted form was opened at (its hidden `version` field)."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return -1  # an unreadable version can only be a conflict, never an overwrite


def autosave_answer(
    save: Callable[[], object],
    *,
    conflict: type[Exception],
    invalid: type[Exception],
    stored: Callable[[], dict],
    theirs: Callable[[Exception], str] = lambda error: "",
):
    """Run `save` and answer the page's script: the new version and what was stored, or why
    nothing was (nothing is written then)."""
    try:
        save()
    except conflict as error:
        discard_writes()
        return {
            "conflict": True,
            "version": error.current_version,
            "message": error.message,
            "theirs": theirs(error),
        }, 409
    except invalid as error:
        discard_writes()
        return {"message": error.message, "errors": error.errors}, 400
    except DomainError as error:
        discard_writes()
        return {"message": error.message}, 409
    # Stored when this answer is sent: the request's transaction commits before it leaves.
    return stored()

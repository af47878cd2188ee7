"""Writing audit events."""

from __future__ import annotations

from flask import has_request_context, request

from practice.extensions import db
from practice.models import AuditEvent, User


def record(
    action: str,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    target: object | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an audit event for `action` to the session (ids and labels only, no client text)."""
    event = AuditEvent(
        action=action,
        actor_user_id=actor.id if actor is not None else None,
        actor_label=actor_label if actor is None else None,
        target_type=type(target).__name__ if target is not None else None,
        target_id=getattr(target, "id", None),
        ip=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
    if actor is not None:
        event.practice_id = actor.practice_id
    elif target is not None and hasattr(target, "practice_id"):
        event.practice_id = target.practice_id
    db.session.add(event)
    return event

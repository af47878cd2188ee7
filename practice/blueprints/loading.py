"""Loading a record named in a URL: through the tenancy guard, 404 when out of reach."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from practice.extensions import db


def get_or_404(model, object_id: int):
    """The row with this id in the current practice, or a 404 that confirms nothing."""
    # Always a real SELECT so the guard filters it (session.get may answer from memory).
    obj = db.session.scalar(select(model).where(model.id == object_id))
    if obj is None:
        abort(404)
    return obj

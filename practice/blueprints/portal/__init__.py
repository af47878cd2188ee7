from flask import Blueprint, g
from werkzeug.local import LocalProxy

bp = Blueprint("portal", __name__)


@bp.context_processor
def _the_partners_practice() -> dict:
    """Every portal page names the partner's practice at its top. A view that has the
    practice passes it (and wins); otherwise it is loaded only if the page reads it."""
    partner = g.get("partner")
    if partner is None:
        return {}

    def load():
        from practice.extensions import db
        from practice.models import Practice

        return db.session.get(Practice, partner.practice_id)

    return {"practice": LocalProxy(load)}


from practice.blueprints.portal import (  # noqa: E402, F401
    agreement_views,
    checkin_views,
    homework_views,
    measure_views,
    pin_views,
    ritual_views,
    safety_views,
    summary_views,
    trend_views,
    trigger_views,
    views,
    window_views,
)

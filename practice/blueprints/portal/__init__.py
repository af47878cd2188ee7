from flask import Blueprint

bp = Blueprint("portal", __name__)

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

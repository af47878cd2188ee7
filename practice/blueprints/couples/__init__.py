from flask import Blueprint

bp = Blueprint("couples", __name__, url_prefix="/couples")

from practice.blueprints.couples import (  # noqa: E402, F401
    appointment_views,
    checkin_views,
    measure_views,
    safety_views,
    trend_views,
    trigger_views,
    views,
)

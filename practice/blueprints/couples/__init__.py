from flask import Blueprint

bp = Blueprint("couples", __name__, url_prefix="/couples")

from practice.blueprints.couples import safety_views, trend_views, views  # noqa: E402, F401

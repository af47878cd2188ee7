from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from practice.blueprints.settings import measure_views, views  # noqa: E402, F401

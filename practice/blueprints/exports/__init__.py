from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/couples")

from practice.blueprints.exports import views  # noqa: E402, F401

from flask import Blueprint

bp = Blueprint("auth", __name__)

from practice.blueprints.auth import two_factor_views, views  # noqa: E402, F401

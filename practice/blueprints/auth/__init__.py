from flask import Blueprint

bp = Blueprint("auth", __name__)

from practice.blueprints.auth import views  # noqa: E402, F401

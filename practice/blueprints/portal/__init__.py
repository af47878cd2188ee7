from flask import Blueprint

bp = Blueprint("portal", __name__)

from practice.blueprints.portal import homework_views, pin_views, views  # noqa: E402, F401

"""HTTP only. Each feature is a folder: `bp` in __init__, `views.py`, `forms.py`."""

from practice.blueprints.auth import bp as auth_bp
from practice.blueprints.couples import bp as couples_bp
from practice.blueprints.dashboard import bp as dashboard_bp
from practice.blueprints.exports import bp as exports_bp
from practice.blueprints.homework import bp as homework_bp
from practice.blueprints.ops import bp as ops_bp
from practice.blueprints.portal import bp as portal_bp
from practice.blueprints.reports import bp as reports_bp
from practice.blueprints.settings import bp as settings_bp

BLUEPRINTS = [
    ops_bp,
    auth_bp,
    dashboard_bp,
    couples_bp,
    exports_bp,
    homework_bp,
    portal_bp,
    reports_bp,
    settings_bp,
]

from flask import Blueprint

bp = Blueprint("homework", __name__)

from practice.blueprints.homework import agreement_views, views  # noqa: E402, F401


@bp.app_context_processor
def homework_vocabulary() -> dict:
    """Words the kinds' templates share, wherever they are included."""
    from practice.homework.boundaries import DOMAINS
    from practice.homework.workflow import Status, is_writable, label
    from practice.local_time import WEEKDAYS

    return {
        "domains": DOMAINS,
        "weekdays": WEEKDAYS,
        "Status": Status,
        "is_writable": is_writable,
        "status_label": label,
    }

"""Error pages: a clear message for every failure, never a stack trace."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from practice.extensions import db
from practice.tenancy import current_practice_id, set_current_practice

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("That request could not be understood", "Please go back and try again."),
    404: ("Page not found", "The page you asked for is not here, or you do not have access to it."),
    405: ("Not allowed", "That page cannot be used this way."),
    413: ("Too large", "What you sent is larger than we accept. Please shorten it and try again."),
    429: ("Too many attempts", "Please wait a minute, then try again."),
    500: ("Something went wrong on our side", "Nothing you typed was lost. Please try again."),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _act_in_signed_in_practice() -> None:
    """Errors raised before the request hook ran (a CSRF failure, an unknown URL, a wrong
    method, a rate limit) leave no practice set; the page still shows the signed-in header
    and footer, which read the therapist's practice."""
    if current_practice_id() is None and current_user.is_authenticated:
        set_current_practice(current_user.practice_id)


def render_error(status: int, title: str | None = None, message: str | None = None):
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    title, message = title or default_title, message or default_message
    if _wants_json() or request.blueprint == "ops":
        return {"error": title, "message": message}, status
    _act_in_signed_in_practice()
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            "This form has expired",
            "For your security, forms expire when you are signed out or after a long pause. "
            "Use your browser's Back button: what you typed is still there. Then submit again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        # The type and the route only: an exception's message may quote client text.
        log.error(
            "unhandled %s on %s %s\n%s",
            type(error).__name__,
            request.method,
            request.url_rule,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return render_error(500)

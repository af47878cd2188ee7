"""Per-request hooks: the current practice, session timeouts, and security headers."""

from __future__ import annotations

import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from practice.extensions import db
from practice.services import accounts, two_factor
from practice.tenancy import set_current_practice

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


# Pages a therapist may open before setting up the two-step sign-in their practice requires.
ENROL_ANYWAY = frozenset({"auth.two_step", "auth.logout", "auth.account"})


def set_request_practice():
    """Act in the signed-in therapist's practice, or in none: never one named by the URL."""
    # Contextvars outlive a request on a reused worker thread: start every request clean.
    set_current_practice(None)
    if request.endpoint in (None, "static") or request.blueprint in ("ops", "portal"):
        return  # the portal sets its own practice, from the partner's session
    if not current_user.is_authenticated:
        return
    from flask import current_app

    now = time.time()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    user_session = current_user.current_session
    if now - session.get("seen_at", 0) > idle or now - session.get("auth_at", 0) > absolute:
        accounts.end_user_session(user_session, reason="timed out")  # copies of it too
        db.session.commit()
        logout_user()
        session.clear()
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        return
    session["seen_at"] = now
    if accounts.touch_user_session(user_session):
        db.session.commit()  # "last active" on the account page's list of devices
    set_current_practice(current_user.practice_id)
    if two_factor.must_enrol(current_user) and request.endpoint not in ENROL_ANYWAY:
        flash("Your practice asks everyone to sign in in two steps: set it up to go on.", "info")
        return redirect(url_for("auth.two_step"))


def refuse_null_characters():
    """No one types U+0000 and PostgreSQL cannot store it: refuse it before any view runs."""
    for source in (request.args, request.form):
        if any("\x00" in value for _, values in source.lists() for value in values):
            from practice.blueprints.errors import render_error

            return render_error(
                400,
                "That request could not be understood",
                "Something you sent contains an invisible control character. "
                "Please retype it and try again.",
            )
    return None


def clear_request_practice(exc: BaseException | None = None) -> None:
    set_current_practice(None)


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static":
        # Pages may carry client data: never keep them in a browser or proxy cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    from flask import current_app

    if current_app.config["PRACTICE_ENV"] == "production":
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response


def register(app: Flask) -> None:
    app.before_request(set_request_practice)
    app.before_request(refuse_null_characters)
    app.after_request(add_security_headers)
    app.teardown_request(clear_request_practice)

"""Therapist sessions: the cookie names the user, their session version and this sign-in.

Each sign-in is a `UserSession` row. Signing out ends that row, so a copy of the cookie stops
working too, while the therapist's other devices stay signed in; the session version still
signs out every device at once (a new password, deactivation, "sign out everywhere").
"""

from __future__ import annotations

import time

from flask import request, session
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from practice.blueprints.devices import describe_device
from practice.extensions import db
from practice.models import User, UserSession
from practice.services import MAX_ID
from practice.tenancy import set_current_practice, unscoped


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: a stale session version or an ended sign-in loads nobody."""
    try:
        uid, version, session_id = (int(part) for part in user_id.split(":"))
    except ValueError:  # a malformed value, or a cookie from before per-device sessions
        return None
    if not (0 < uid <= MAX_ID and 0 < session_id <= MAX_ID):
        return None
    with unscoped():  # finding out whose session this is decides the practice
        # One statement: the user, their practice (every page shows its name) and this sign-in.
        row = db.session.execute(
            select(User, UserSession)
            .join(
                UserSession,
                and_(
                    UserSession.user_id == User.id,
                    UserSession.practice_id == User.practice_id,
                ),
            )
            .options(joinedload(User.practice))
            .where(User.id == uid, UserSession.id == session_id)
        ).first()
    if row is None:
        return None
    user, user_session = row
    if not user.active or user.session_version != version or user_session.ended_at is not None:
        return None
    user.current_session = user_session
    return user


def configure_login(login_manager: LoginManager) -> None:
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


def this_device() -> str:
    """A short label for the browser of this request ("Computer · Firefox")."""
    return describe_device(request.user_agent.string)


def start_session(user: User, user_session: UserSession) -> None:
    """Sign the user in on this browser as `user_session` (committed), with fresh clocks."""
    session.clear()  # nothing from before sign-in survives it
    user.current_session = user_session
    login_user(user)
    now = time.time()
    session["auth_at"] = now
    session["seen_at"] = now
    set_current_practice(user.practice_id)


def end_session() -> None:
    logout_user()
    session.clear()
    set_current_practice(None)

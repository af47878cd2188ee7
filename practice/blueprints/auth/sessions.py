"""Therapist sessions: the cookie carries the user id and session version."""

from __future__ import annotations

import time

from flask import session
from flask_login import LoginManager, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.models import User
from practice.tenancy import set_current_practice, unscoped


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: a stale session version (signed out elsewhere) loads nobody."""
    try:
        raw_id, raw_version = user_id.split(":")
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    with unscoped():  # finding out whose session this is decides the practice
        # The practice comes in the same query: every page shows its name.
        user = db.session.scalar(
            select(User).options(joinedload(User.practice)).where(User.id == uid)
        )
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def configure_login(login_manager: LoginManager) -> None:
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


def start_session(user: User) -> None:
    """Sign the user in on this browser, with fresh idle and absolute clocks."""
    session.clear()  # nothing from before sign-in survives it
    login_user(user)
    now = time.time()
    session["auth_at"] = now
    session["seen_at"] = now
    set_current_practice(user.practice_id)


def end_session() -> None:
    logout_user()
    session.clear()
    set_current_practice(None)

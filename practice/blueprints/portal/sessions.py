"""The partner's portal session: its own cookie key, separate from therapist sign-in."""

from __future__ import annotations

from functools import wraps

from flask import g, redirect, request, session, url_for

from practice.extensions import db
from practice.models import PortalSession
from practice.services import portal_access, portal_pin
from practice.tenancy import set_current_practice

SESSION_KEY = "portal"


def begin(portal_session: PortalSession) -> None:
    """Put the portal session in this browser's cookie."""
    set_current_practice(portal_session.practice_id)
    session.pop(SESSION_KEY, None)
    session[SESSION_KEY] = {
        "sid": portal_session.id,
        "pid": portal_session.partner_id,
        "v": portal_session.partner.session_version,
    }
    session.permanent = True  # a phone keeps its portal across browser restarts


def forget() -> None:
    session.pop(SESSION_KEY, None)
    set_current_practice(None)


def load_partner() -> None:
    """Before each portal request: who is this partner, in which practice? (or nobody)."""
    g.portal_session = None
    g.partner = None
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return
    try:
        session_id, partner_id, version = int(data["sid"]), int(data["pid"]), int(data["v"])
    except (KeyError, TypeError, ValueError):
        forget()
        return
    portal_session = portal_access.load_portal_session(session_id, partner_id, version)
    if portal_session is None:
        db.session.commit()  # a session found idle was just marked ended: keep that
        forget()
        return
    set_current_practice(portal_session.practice_id)
    g.portal_session = portal_session
    g.partner = portal_session.partner
    g.portal_locked = portal_pin.is_locked(portal_session)


LOCKED_MESSAGE = (
    "Not saved: your portal is locked. What you typed is kept on this device; "
    "enter your PIN to save it."
)


def partner_signed_in(view):
    """A live portal session, locked or not (unlocking, locking and signing out need only this)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("partner") is None:
            return redirect(url_for("portal.signed_out", next=request.path))
        return view(*args, **kwargs)

    return wrapper


def partner_required(view):
    """Portal pages need a live portal session, unlocked when the partner has a PIN."""

    @wraps(view)
    @partner_signed_in
    def wrapper(*args, **kwargs):
        if g.portal_locked:
            if request.accept_mimetypes.best == "application/json":  # the autosave script
                return {"message": LOCKED_MESSAGE}, 423
            return redirect(url_for("portal.unlock", next=request.path))
        if portal_pin.keep_unlocked(g.portal_session):
            db.session.commit()  # a page that only reads still counts as use
        return view(*args, **kwargs)

    return wrapper

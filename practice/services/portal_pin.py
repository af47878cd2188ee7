"""A partner's optional PIN: the portal stays closed on a shared device until it is entered.

The PIN guards a device, not an account: each portal session proves it on its own, again
after PIN_IDLE without use or when the partner locks it. After PIN_TRIES wrong tries that
device's session ends, and only the personal link (or an emailed sign-in link) opens the
portal again, PIN first. A partner who forgets it asks their therapist to clear it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from practice.extensions import db
from practice.models import Partner, PortalSession, User
from practice.models.base import utcnow
from practice.security import hash_password, verify_password
from practice.services import DomainError, audit
from practice.services.portal_access import end_portal_session

PIN_IDLE = timedelta(minutes=10)
PIN_TRIES = 5
STILL_IN_USE = timedelta(minutes=1)  # how often "still unlocked" is written down
PIN_FORMAT = re.compile(r"[0-9]{4,8}")  # ASCII digits only: \d would match any script's digits
LOCKED_OUT = "too many wrong PINs"


class WrongPin(DomainError):
    def __init__(self, tries_left: int):
        plural = "try" if tries_left == 1 else "tries"
        super().__init__(f"That PIN is not right. {tries_left} {plural} left.", "pin")
        self.tries_left = tries_left


class LockedOut(DomainError):
    def __init__(self):
        super().__init__("Too many wrong PINs: this device is signed out.", "pin")


def has_pin(partner: Partner) -> bool:
    return partner.pin_hash is not None


def is_locked(portal_session: PortalSession, now: datetime | None = None) -> bool:
    if not has_pin(portal_session.partner):
        return False
    unlocked_at = portal_session.unlocked_at
    return unlocked_at is None or (now or utcnow()) - unlocked_at >= PIN_IDLE


def keep_unlocked(portal_session: PortalSession, now: datetime | None = None) -> bool:
    """Use keeps the portal open: slide the idle window. True when it moved (at most once a
    minute), so that the caller writes it down."""
    if not has_pin(portal_session.partner):
        return False
    now = now or utcnow()
    if portal_session.unlocked_at is None or now - portal_session.unlocked_at >= STILL_IN_USE:
        portal_session.unlocked_at = now
        return True
    return False


def unlock(portal_session: PortalSession, pin: str) -> None:
    """Open the portal on this device, or count a wrong try (the last one ends the session).

    The try is counted in the database before the PIN is checked, with a conditional UPDATE
    that also takes the row's lock: tries sent at the same moment are counted one by one, so
    a burst of guesses gets PIN_TRIES answers at most, never PIN_TRIES each.
    """
    partner = portal_session.partner
    counted = db.session.execute(
        update(PortalSession)
        .where(
            PortalSession.id == portal_session.id,
            PortalSession.ended_at.is_(None),
            PortalSession.pin_failures < PIN_TRIES,
        )
        .values(pin_failures=PortalSession.pin_failures + 1)
        .returning(PortalSession.pin_failures)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if counted is None:  # another try used the last one, or the session has ended
        db.session.expire(portal_session)
        raise LockedOut()
    if has_pin(partner) and verify_password(partner.pin_hash, pin or ""):
        now = utcnow()
        db.session.execute(
            update(PortalSession)
            .where(PortalSession.id == portal_session.id)
            .values(pin_failures=0, unlocked_at=now)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(portal_session, "pin_failures", 0)
        set_committed_value(portal_session, "unlocked_at", now)
        return
    set_committed_value(portal_session, "pin_failures", counted)
    tries_left = PIN_TRIES - counted
    if tries_left > 0:
        raise WrongPin(tries_left)
    end_portal_session(portal_session, by=partner, reason=LOCKED_OUT)
    raise LockedOut()


def lock(portal_session: PortalSession) -> None:
    portal_session.unlocked_at = None


def set_pin(
    partner: Partner, portal_session: PortalSession, *, current: str, new: str, confirm: str
) -> None:
    """Set or change the PIN. A change needs the current one: an open phone is not enough."""
    changing = has_pin(partner)
    if changing and not verify_password(partner.pin_hash, current or ""):
        raise DomainError("That is not your current PIN.", "current_pin")
    if not PIN_FORMAT.fullmatch(new or ""):
        raise DomainError("Use 4 to 8 digits, numbers only.", "new_pin")
    if new != confirm:
        raise DomainError("The two PINs are not the same. Type it again.", "confirm_pin")
    partner.pin_hash = hash_password(new)
    partner.pin_set_at = utcnow()
    portal_session.unlocked_at = utcnow()  # this device just proved it
    portal_session.pin_failures = 0
    audit.record(
        "portal.pin_changed" if changing else "portal.pin_set",
        actor=partner,
        target=partner,
        couple_id=partner.couple_id,
    )


def remove_pin(partner: Partner, *, current: str) -> None:
    if not has_pin(partner):
        return
    if not verify_password(partner.pin_hash, current or ""):
        raise DomainError("That is not your current PIN.", "current_pin")
    _forget_pin(partner)
    audit.record("portal.pin_removed", actor=partner, target=partner, couple_id=partner.couple_id)


def clear_pin(actor: User, partner: Partner) -> None:
    """The therapist clears a forgotten PIN; the partner can set a new one in the portal."""
    if not has_pin(partner):
        return
    _forget_pin(partner)
    audit.record("portal.pin_cleared", actor=actor, target=partner, couple_id=partner.couple_id)


def _forget_pin(partner: Partner) -> None:
    partner.pin_hash = None
    partner.pin_set_at = None

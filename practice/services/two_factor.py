"""Two-step sign-in for therapists: a password, then a code from an authenticator app (TOTP,
RFC 6238, through pyotp) or one of ten single-use recovery codes.

- The secret is made at enrolment and kept sealed (`security.seal`); enrolment ends only when
  a code from the new authenticator is typed back, so a mistyped scan locks nobody out.
- A code works once: the time-step it belongs to is stored, and a code of that step or an
  earlier one is refused. One step either side of now is accepted (clocks drift).
- Recovery codes are stored as SHA-256 digests and struck off when used.
- "Remember this device" keeps a random token in a cookie for 30 days (its digest here), so
  that browser is not asked for a code; turning two-step sign-in off, a reset or a new
  password forgets every remembered device.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select

from practice.extensions import db
from practice.models import Practice, RecoveryCode, TrustedDevice, User
from practice.models.base import utcnow
from practice.security import InvalidSeal, reseal, seal, unseal
from practice.services import DomainError, audit

ISSUER = "practice"
RECOVERY_CODES = 10
TRUSTED_FOR = timedelta(days=30)
WRONG_CODE = "That code is not right, or was used already. Try the newest code in your app."


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment's QR code as SVG, drawn here (no image service sees the secret)."""
    return segno.make(uri, error="m").svg_inline(
        scale=5,
        dark="#1d2733",
        light="#ffffff",
        omitsize=True,  # a viewBox: the page sizes it without cutting it off
        title="QR code for your authenticator app",
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _digest(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time-step whose code this is (now, or one either side), or None."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes for the user (the old ones stop working); shown once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    return codes


@dataclass(frozen=True)
class Enrolled:
    recovery_codes: list[str]


def enrol(user: User, secret: str, code: str, now: datetime | None = None) -> Enrolled:
    """Turn two-step sign-in on with `secret`, once a code from it is typed back."""
    now = now or utcnow()
    code = _normalise(code)
    if not secret or len(code) != 6 or not code.isdigit():
        raise DomainError("Type the 6-digit code your app shows for practice.", "code")
    step = _step_of(secret, code, now)
    if step is None:
        raise DomainError(
            "That code does not match. Check that your phone's clock is right, then type the "
            "newest code.",
            "code",
        )
    user.totp_secret = seal(secret)
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = _recovery_codes(user)
    audit.record("auth.two_factor_enabled", actor=user, target=user)
    return Enrolled(codes)


def new_recovery_codes(user: User) -> list[str]:
    if not user.has_two_factor:
        raise DomainError("Two-step sign-in is off.")
    codes = _recovery_codes(user)
    audit.record("auth.recovery_codes_renewed", actor=user, target=user)
    return codes


def verify(user: User, code: str, now: datetime | None = None) -> bool:
    """Is this the user's second step: a fresh authenticator code, or an unused recovery code
    (struck off now)? A code is never accepted twice."""
    now = now or utcnow()
    typed = _normalise(code)
    if not user.has_two_factor or not typed:
        return False
    if len(typed) == 6 and typed.isdigit():
        try:
            secret = unseal(user.totp_secret)
        except InvalidSeal:
            # Sealed with a key since dropped from SECRET_KEY_FALLBACKS: no code can match;
            # a recovery code (stored as a digest) still works, and the owner can reset it.
            secret = None
        step = _step_of(secret, typed, now) if secret else None
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            audit.record("auth.two_factor_failed", actor_label="anonymous", target=user)
            return False
        user.totp_last_step = step
        if current_app.config.get("SECRET_KEY_FALLBACKS"):
            # After a key rotation: sealed again with the new key, so that the old one can go.
            user.totp_secret = reseal(user.totp_secret)
        return True
    recovery = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(typed),
            RecoveryCode.used_at.is_(None),
        )
    )
    if recovery is None:
        audit.record("auth.two_factor_failed", actor_label="anonymous", target=user)
        return False
    recovery.used_at = now
    audit.record("auth.recovery_code_used", actor=user, target=user)
    return True


def recovery_codes_left(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def trust_device(user: User, now: datetime | None = None) -> str:
    """Remember this browser for 30 days: returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        TrustedDevice(
            user_id=user.id,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=(now or utcnow()) + TRUSTED_FOR,
        )
    )
    return token


def is_trusted(user: User, token: str | None, now: datetime | None = None) -> bool:
    if not token or not user.has_two_factor:
        return False
    found = db.session.scalar(
        select(TrustedDevice.id).where(
            TrustedDevice.user_id == user.id,
            TrustedDevice.token_hash == hashlib.sha256(token.encode()).hexdigest(),
            TrustedDevice.expires_at > (now or utcnow()),
        )
    )
    return found is not None


def _turn_off(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    forget_devices(user)


def forget_devices(user: User) -> None:
    db.session.execute(delete(TrustedDevice).where(TrustedDevice.user_id == user.id))


def disable(user: User) -> None:
    """The therapist turns it off for themselves (not while the practice requires it)."""
    if user.practice.require_two_factor:
        raise DomainError("Your practice requires two-step sign-in: it stays on.")
    _turn_off(user)
    audit.record("auth.two_factor_disabled", actor=user, target=user)


def reset(actor: User | None, user: User) -> None:
    """The owner (or, with no actor, the command line) clears a therapist's authenticator:
    they sign in with their password and, if the practice requires it, enrol again."""
    _turn_off(user)
    audit.record(
        "auth.two_factor_reset",
        actor=actor,
        actor_label=None if actor is not None else "command line",
        target=user,
    )


def set_required(owner: User, practice: Practice, required: bool) -> None:
    if practice.require_two_factor != required:
        practice.require_two_factor = required
        audit.record(
            "practice.two_factor_required" if required else "practice.two_factor_optional",
            actor=owner,
        )


def must_enrol(user: User) -> bool:
    """Does the practice require a step this user has not set up yet?"""
    return user.practice.require_two_factor and not user.has_two_factor

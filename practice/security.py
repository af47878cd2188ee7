"""Secrets: password hashing (argon2) and URL tokens stored only as SHA-256 digests."""

from __future__ import annotations

import base64
import hashlib
import secrets

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, has_app_context

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256

_HASHER_KEY = "practice_password_hasher"
_default_hasher: PasswordHasher | None = None
# Verifying against one of these when no account matches keeps the timing of "unknown email"
# and "wrong password" alike: one per set of parameters, so that it costs what a real one does.
_dummy_hashes: dict[tuple, str] = {}


def init_app(app: Flask) -> None:
    """Give the app its password hasher, built from PASSWORD_HASH_PARAMETERS."""
    parameters: Parameters = app.config["PASSWORD_HASH_PARAMETERS"]
    app.extensions[_HASHER_KEY] = PasswordHasher.from_parameters(parameters)


def password_hasher() -> PasswordHasher:
    """The current app's hasher; outside an app, argon2-cffi's default (RFC 9106 low memory)."""
    if has_app_context():
        hasher = current_app.extensions.get(_HASHER_KEY)
        if hasher is not None:
            return hasher
    global _default_hasher
    if _default_hasher is None:
        _default_hasher = PasswordHasher()
    return _default_hasher


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (
        hasher.type,
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.hash_len,
        hasher.salt_len,
    )
    dummy = _dummy_hashes.get(key)
    if dummy is None:
        dummy = _dummy_hashes[key] = hasher.hash("not-a-real-password-used-for-timing-only")
    return dummy


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = password_hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with parameters other than the app's (raised since, say)."""
    return password_hasher().check_needs_rehash(password_hash)


def new_token() -> tuple[str, str]:
    """A fresh URL-safe token and the digest to store in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet(purpose: str):
    """The seal for `purpose`: made with SECRET_KEY, and opening what SECRET_KEY_FALLBACKS
    (earlier keys, newest first) sealed, so that a key rotation keeps two-step sign-in and
    waiting links working."""
    from cryptography.fernet import Fernet, MultiFernet

    secrets_ = [current_app.secret_key, *current_app.config.get("SECRET_KEY_FALLBACKS", [])]

    def fernet(secret: str) -> Fernet:
        # A key of its own for each purpose: what was sealed for one is noise to another.
        key = hashlib.sha256(f"practice-{purpose}-v1:".encode() + secret.encode())
        return Fernet(base64.urlsafe_b64encode(key.digest()))

    return MultiFernet([fernet(secret) for secret in secrets_ if secret])


def seal(secret: str, *, purpose: str = "sealed", at: int | None = None) -> str:
    """Encrypt and date a short-lived secret with the app's key: a link waiting for its email
    job, or the address a sign-up link was sent to. `at`: the time to date it (tests)."""
    fernet = _fernet(purpose)
    if at is not None:
        return fernet.encrypt_at_time(secret.encode(), at).decode()
    return fernet.encrypt(secret.encode()).decode()


def unseal(sealed: str, *, purpose: str = "sealed", ttl: int | None = None) -> str:
    """The secret `seal` sealed for `purpose`; raises InvalidSeal if it was not, or if it is
    older than `ttl` seconds."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(purpose).decrypt(sealed.encode(), ttl=ttl).decode()
    except (InvalidToken, UnicodeError):
        raise InvalidSeal() from None


def reseal(sealed: str, *, purpose: str = "sealed") -> str:
    """The same secret sealed with the current SECRET_KEY (it may have been sealed with a
    fallback, before a rotation); raises InvalidSeal as `unseal` does."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(purpose).rotate(sealed.encode()).decode()
    except (InvalidToken, UnicodeError):
        raise InvalidSeal() from None


class InvalidSeal(ValueError):
    """Not sealed with this app's key for this purpose, altered, or too old."""

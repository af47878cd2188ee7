"""Password hashing: each app hashes with its configured argon2 parameters."""

from __future__ import annotations

import dataclasses

import argon2
import pytest
from flask import Flask

from practice import security
from practice.security import hash_password, password_hasher, verify_password


def test_the_test_app_hashes_with_the_cheapest_profile(app):
    assert argon2.extract_parameters(hash_password("a password")) == argon2.profiles.CHEAPEST


def test_each_app_hashes_with_its_own_parameters(app):
    stronger = dataclasses.replace(argon2.profiles.CHEAPEST, time_cost=2, memory_cost=16)
    other = Flask("other")
    other.config["PASSWORD_HASH_PARAMETERS"] = stronger
    security.init_app(other)
    with other.app_context():
        assert argon2.extract_parameters(hash_password("a password")) == stronger
    # The test app's own hasher is untouched.
    assert argon2.extract_parameters(hash_password("a password")) == argon2.profiles.CHEAPEST


def test_outside_an_app_hashing_keeps_argon2_cffi_s_default():
    default = argon2.PasswordHasher()
    hasher = password_hasher()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        default.time_cost,
        default.memory_cost,
        default.parallelism,
    )


@pytest.mark.parametrize("stored", [None, ""], ids=["none", "empty"])
def test_no_stored_hash_is_checked_against_a_dummy_made_with_the_app_s_parameters(app, stored):
    assert verify_password(stored, "any password") is False
    assert verify_password(stored, "not-a-real-password-used-for-timing-only") is False
    dummy = security._dummy_hash(password_hasher())
    assert argon2.extract_parameters(dummy) == argon2.profiles.CHEAPEST


def test_a_hash_verifies_and_a_wrong_password_or_malformed_hash_does_not(app):
    stored = hash_password("the right password")
    assert verify_password(stored, "the right password") is True
    assert verify_password(stored, "the wrong password") is False
    assert verify_password("not an argon2 hash", "the right password") is False


# --- Seals and key rotation ---------------------------------------------------------------------


def _app_with_keys(key: str, *fallbacks: str) -> Flask:
    rotated = Flask(__name__)
    rotated.config.update(SECRET_KEY=key, SECRET_KEY_FALLBACKS=list(fallbacks))
    return rotated


def test_a_seal_made_before_a_key_rotation_opens_while_the_old_key_is_a_fallback():
    with _app_with_keys("old key " * 6).app_context():
        sealed = security.seal("a secret")
        signup = security.seal("ada@example.com", purpose="signup")
    with _app_with_keys("new key " * 6, "old key " * 6).app_context():
        assert security.unseal(sealed) == "a secret"
        assert security.unseal(signup, purpose="signup") == "ada@example.com"
        resealed = security.seal("a secret")
    with _app_with_keys("new key " * 6).app_context():
        assert security.unseal(resealed) == "a secret"  # new seals use the new key
        with pytest.raises(security.InvalidSeal):
            security.unseal(sealed)  # the old key dropped: what it sealed no longer opens


def test_a_seal_for_one_purpose_does_not_open_for_another():
    with _app_with_keys("a key " * 8).app_context(), pytest.raises(security.InvalidSeal):
        security.unseal(security.seal("x", purpose="signup"))

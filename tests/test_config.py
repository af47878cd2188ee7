"""Settings: explicit environments in, a Flask config out; bad settings stop the start."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import argon2
import pytest

from practice.config import ConfigError, load_config, normalise_database_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "PRACTICE_ENV": "production",
    "SECRET_KEY": "a-long-random-production-key",
    "DATABASE_URL": "postgresql://app@db.internal/practice",
    "BASE_URL": "https://practice.example.org/",
}


def test_production_refuses_to_start_without_its_required_settings(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, {"PRACTICE_ENV": "production"})
    message = str(error.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "BASE_URL"):
        assert name in message
    assert not (tmp_path / "secret_key").exists()  # production never invents a key


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "BASE_URL"])
def test_production_names_exactly_the_missing_setting(tmp_path, missing):
    environ = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(ConfigError, match=missing) as error:
        load_config(tmp_path, environ)
    named = set(re.findall(r"\b[A-Z][A-Z_]+\b", str(error.value)))
    assert named & {"SECRET_KEY", "DATABASE_URL", "BASE_URL"} == {missing}


def test_an_empty_value_counts_as_missing_in_production(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, {**PRODUCTION, "SECRET_KEY": ""})


def test_production_settings(tmp_path):
    config = load_config(tmp_path, PRODUCTION)
    assert config["PRACTICE_ENV"] == "production"
    assert config["SECRET_KEY"] == PRODUCTION["SECRET_KEY"]
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db.internal/practice"
    assert config["BASE_URL"] == "https://practice.example.org"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["MAIL_BACKEND"] == "smtp"
    assert config["TESTING"] is False


def test_development_generates_a_private_secret_key_once(tmp_path):
    instance = tmp_path / "instance"  # does not exist yet
    first = load_config(instance, {"PRACTICE_ENV": "development"})
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = load_config(instance, {})  # development is the default
    assert second["SECRET_KEY"] == first["SECRET_KEY"]

    elsewhere = load_config(tmp_path / "other", {})
    assert elsewhere["SECRET_KEY"] != first["SECRET_KEY"]


def test_a_secret_key_from_the_environment_wins_and_writes_no_file(tmp_path):
    config = load_config(tmp_path, {"SECRET_KEY": "from-the-environment"})
    assert config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////var/lib/practice.db", "sqlite:////var/lib/practice.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg_3(tmp_path, given, expected):
    assert normalise_database_url(given) == expected
    config = load_config(tmp_path, {"DATABASE_URL": given, "SECRET_KEY": "k"})
    assert config["SQLALCHEMY_DATABASE_URI"] == expected


def test_the_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    config = load_config(tmp_path, {"SECRET_KEY": "k"})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'practice.db'}"


def test_an_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, {"PRACTICE_ENV": "staging"})
    message = str(error.value)
    assert "PRACTICE_ENV" in message
    assert "'staging'" in message
    assert "development, production, testing" in message


def test_environment_names_ignore_case_and_spaces(tmp_path):
    assert load_config(tmp_path, {"PRACTICE_ENV": " Testing "})["TESTING"] is True


def test_an_unknown_mail_backend_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"MAIL_BACKEND must be 'smtp' or 'console'.*'sendmail'"):
        load_config(tmp_path, {"SECRET_KEY": "k", "MAIL_BACKEND": "sendmail"})


def test_mail_backend_defaults_to_the_console_outside_production(tmp_path):
    assert load_config(tmp_path, {"SECRET_KEY": "k"})["MAIL_BACKEND"] == "console"


@pytest.mark.parametrize("name", ["MAIL_PORT", "SESSION_IDLE_MINUTES", "SESSION_ABSOLUTE_HOURS"])
def test_a_non_integer_number_is_refused_with_its_name(tmp_path, name):
    with pytest.raises(ConfigError, match=rf"{name} must be a whole number, got 'twenty-five'"):
        load_config(tmp_path, {"SECRET_KEY": "k", name: "twenty-five"})


def test_numbers_are_parsed(tmp_path):
    config = load_config(tmp_path, {"SECRET_KEY": "k", "MAIL_PORT": "2525"})
    assert config["MAIL_PORT"] == 2525
    assert load_config(tmp_path, {"SECRET_KEY": "k", "MAIL_PORT": ""})["MAIL_PORT"] == 25


@pytest.mark.parametrize("environ", [{}, {"REDIS_URL": ""}])
def test_without_redis_jobs_run_inline_and_limits_live_in_memory(tmp_path, environ):
    config = load_config(tmp_path, {"SECRET_KEY": "k", **environ})
    assert config["REDIS_URL"] is None
    assert config["JOBS_INLINE"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_with_redis_jobs_are_queued_and_limits_live_in_redis(tmp_path):
    url = "redis://cache.internal:6379/2"
    config = load_config(tmp_path, {"SECRET_KEY": "k", "REDIS_URL": url})
    assert config["REDIS_URL"] == url
    assert config["JOBS_INLINE"] is False
    assert config["RATELIMIT_STORAGE_URI"] == url
    # An unreachable Redis: limits fall back to memory, and no request waits long for it.
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert config["RATELIMIT_STORAGE_OPTIONS"]["socket_connect_timeout"] <= 2
    assert config["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] <= 5


# --- password hashing: argon2's cost, by environment and by setting ------------------------


def test_argon2_keeps_its_rfc_default_in_production_and_development(tmp_path):
    for environ in (PRODUCTION, {"SECRET_KEY": "k"}):
        parameters = load_config(tmp_path, environ)["PASSWORD_HASH_PARAMETERS"]
        assert parameters == argon2.profiles.RFC_9106_LOW_MEMORY
        default = argon2.PasswordHasher()  # argon2-cffi's own default
        assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
            default.time_cost,
            default.memory_cost,
            default.parallelism,
        )


def test_tests_hash_with_the_cheapest_argon2_profile(tmp_path):
    config = load_config(tmp_path, {"PRACTICE_ENV": "testing"})
    assert config["PASSWORD_HASH_PARAMETERS"] == argon2.profiles.CHEAPEST


def test_argon2_costs_can_be_set_one_by_one_over_a_profile(tmp_path):
    environ = {
        **PRODUCTION,
        "PASSWORD_HASH_PROFILE": "RFC_9106_high_memory",
        "ARGON2_TIME_COST": "2",
        "ARGON2_MEMORY_COST": "262144",
    }
    parameters = load_config(tmp_path, environ)["PASSWORD_HASH_PARAMETERS"]
    high = argon2.profiles.RFC_9106_HIGH_MEMORY
    assert (parameters.time_cost, parameters.memory_cost) == (2, 262144)
    assert (parameters.parallelism, parameters.hash_len) == (high.parallelism, high.hash_len)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PASSWORD_HASH_PROFILE": "fast"}, "PASSWORD_HASH_PROFILE"),
        ({"ARGON2_TIME_COST": "0"}, "ARGON2_TIME_COST"),
        ({"ARGON2_TIME_COST": "three"}, "ARGON2_TIME_COST"),
        ({"ARGON2_PARALLELISM": "0"}, "ARGON2_PARALLELISM"),
        ({"ARGON2_MEMORY_COST": "16", "ARGON2_PARALLELISM": "4"}, "ARGON2_MEMORY_COST"),
    ],
    ids=["unknown-profile", "no-passes", "words", "no-lanes", "too-little-memory"],
)
def test_bad_argon2_settings_stop_the_start(tmp_path, environ, named):
    with pytest.raises(ConfigError, match=named):
        load_config(tmp_path, {"SECRET_KEY": "k", **environ})


def test_production_refuses_the_cheapest_argon2_profile(tmp_path):
    with pytest.raises(ConfigError, match="PASSWORD_HASH_PROFILE"):
        load_config(tmp_path, {**PRODUCTION, "PASSWORD_HASH_PROFILE": "cheapest"})


# A fresh interpreter: importing practice and building the app must open no connection.
# Every Python socket connect is recorded; PostgreSQL (libpq) and Redis point at a closed
# port, so a connection attempt that Python does not see would fail create_app instead.
CREATE_APP_SCRIPT = """
import json, socket

attempts = []
_connect = socket.socket.connect


def connect(self, address):
    attempts.append(repr(address))
    return _connect(self, address)


socket.socket.connect = connect

import practice

app = practice.create_app()
print(json.dumps({
    "attempts": attempts,
    "database": app.config["SQLALCHEMY_DATABASE_URI"],
    "redis": app.config["REDIS_URL"],
    "inline": app.config["JOBS_INLINE"],
    "limits": app.config["RATELIMIT_STORAGE_URI"],
    "blueprints": sorted(app.blueprints),
}))
"""


def test_create_app_connects_to_nothing(tmp_path):
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PRACTICE_", "MAIL_", "RATELIMIT_", "SESSION_"))
    }
    environ.update(
        PRODUCTION,
        DATABASE_URL="postgresql://127.0.0.1:1/x",
        REDIS_URL="redis://127.0.0.1:1/0",
        PRACTICE_INSTANCE_PATH=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-c", CREATE_APP_SCRIPT],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["database"] == "postgresql+psycopg://127.0.0.1:1/x"
    assert result["redis"] == "redis://127.0.0.1:1/0"
    assert result["inline"] is False
    assert result["limits"] == "redis://127.0.0.1:1/0"
    assert "auth" in result["blueprints"]

"""Settings from the environment, read once by the app factory.

Every setting has one name, the one in README's configuration table. Production refuses to
start without the keys it cannot safely invent.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from datetime import timedelta
from pathlib import Path

from argon2 import Parameters, profiles

ENVIRONMENTS = ("development", "production", "testing")
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "BASE_URL")
# Seconds to wait for Redis: a request must not hang on a Redis that is down or unreachable.
REDIS_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}


# argon2 cost profiles by name. argon2-cffi's default (RFC 9106's low-memory choice: 64 MiB,
# 3 passes, 4 lanes) protects real passwords; the cheapest exists so tests do not pay for it.
PASSWORD_HASH_PROFILES = {
    "rfc_9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    "rfc_9106_high_memory": profiles.RFC_9106_HIGH_MEMORY,
    "cheapest": profiles.CHEAPEST,
}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from exc


def _secret_key(environ: dict[str, str], env: str, instance_path: Path) -> str:
    key = environ.get("SECRET_KEY", "")
    if key:
        return key
    if env == "production":
        return ""  # reported with the other missing keys below
    # Development and tests: one random key, kept in the instance folder so sessions
    # survive a restart and no key is ever committed.
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _password_hash_parameters(environ: dict[str, str], env: str) -> Parameters:
    """argon2 parameters: a named profile, each cost optionally raised or lowered on its own."""
    default = "cheapest" if env == "testing" else "rfc_9106_low_memory"
    name = (environ.get("PASSWORD_HASH_PROFILE") or default).strip().lower()
    if name not in PASSWORD_HASH_PROFILES:
        raise ConfigError(
            f"PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}; "
            f"got {name!r}."
        )
    if name == "cheapest" and env == "production":
        raise ConfigError("PASSWORD_HASH_PROFILE=cheapest is for tests; production refuses it.")
    profile = PASSWORD_HASH_PROFILES[name]
    parameters = dataclasses.replace(
        profile,
        time_cost=_int(environ, "ARGON2_TIME_COST", profile.time_cost),
        memory_cost=_int(environ, "ARGON2_MEMORY_COST", profile.memory_cost),
        parallelism=_int(environ, "ARGON2_PARALLELISM", profile.parallelism),
    )
    if parameters.time_cost < 1 or parameters.parallelism < 1:
        raise ConfigError("ARGON2_TIME_COST and ARGON2_PARALLELISM must be at least 1.")
    if parameters.memory_cost < 8 * parameters.parallelism:
        raise ConfigError(
            "ARGON2_MEMORY_COST (KiB) must be at least 8 times ARGON2_PARALLELISM; "
            f"got {parameters.memory_cost} for {parameters.parallelism}."
        )
    return parameters


def normalise_database_url(url: str) -> str:
    """Let people paste the usual postgres:// URL; we talk to PostgreSQL through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(instance_path: Path, environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    environ = dict(os.environ if environ is None else environ)
    env = environ.get("PRACTICE_ENV", "development").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"PRACTICE_ENV must be one of {', '.join(ENVIRONMENTS)}; got {env!r}.")

    if env == "production":
        missing = [name for name in REQUIRED_IN_PRODUCTION if not environ.get(name)]
        if missing:
            raise ConfigError(
                "Cannot start in production without: "
                + ", ".join(missing)
                + ". Set them in the environment (see README, Configuration)."
            )

    database_url = environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'practice.db'}"
    redis_url = environ.get("REDIS_URL") or None
    production = env == "production"
    mail_backend = environ.get("MAIL_BACKEND") or ("smtp" if production else "console")
    if mail_backend not in ("smtp", "console"):
        raise ConfigError(f"MAIL_BACKEND must be 'smtp' or 'console'; got {mail_backend!r}.")
    mail_console_full = _bool(environ.get("MAIL_CONSOLE_FULL"))
    if mail_console_full and production:
        raise ConfigError(
            "MAIL_CONSOLE_FULL prints whole emails (names, working links) to the log; "
            "production refuses it."
        )
    proxy_count = _int(environ, "PROXY_COUNT", 0)
    if proxy_count < 0:
        raise ConfigError(f"PROXY_COUNT must be 0 or more; got {proxy_count}.")

    return {
        "PRACTICE_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": _secret_key(environ, env, instance_path),
        # Earlier keys, newest first, comma-separated: still accepted for sessions and seals
        # while the new key takes over (deploy/README.md, Rotating SECRET_KEY).
        "SECRET_KEY_FALLBACKS": [
            key.strip() for key in environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
        ],
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # PostgreSQL: migrations run as the tables' owner; the app connects as a role that
        # owns none, held to row-level security (README: Running with PostgreSQL). Unset, the
        # migrations use DATABASE_URL.
        "DATABASE_OWNER_URL": normalise_database_url(environ.get("DATABASE_OWNER_URL") or "")
        or None,
        # The role the app's role takes on inside `unscoped()` blocks only (BYPASSRLS).
        "DATABASE_UNSCOPED_ROLE": environ.get("DATABASE_UNSCOPED_ROLE") or "practice_unscoped",
        "REDIS_URL": redis_url,
        "BASE_URL": (environ.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # Mail
        "MAIL_BACKEND": mail_backend,
        "MAIL_SERVER": environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": _int(environ, "MAIL_PORT", 25),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(environ.get("MAIL_USE_TLS")),
        "MAIL_FROM": environ.get("MAIL_FROM", "practice <no-reply@practice.invalid>"),
        # The console backend logs the recipient's domain and the links; this, the whole email.
        "MAIL_CONSOLE_FULL": mail_console_full,
        # How many proxies in front of the app set X-Forwarded-For and -Proto (0: trust none).
        "PROXY_COUNT": proxy_count,
        # Sessions and cookies
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "SESSION_IDLE_MINUTES": _int(environ, "SESSION_IDLE_MINUTES", 60),
        "SESSION_ABSOLUTE_HOURS": _int(environ, "SESSION_ABSOLUTE_HOURS", 12),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Forms
        "WTF_CSRF_TIME_LIMIT": None,  # the session lifetime bounds the token instead
        # Over https Flask-WTF also wants a Referer from this site, and every page says
        # `Referrer-Policy: no-referrer` (a partner's link holds a token): browsers send none,
        # and every form would be refused. The token, and SameSite=Lax, Secure cookies, guard.
        "WTF_CSRF_SSL_STRICT": False,
        # Rate limits: Redis storage when there is a Redis, memory otherwise. A Redis that
        # stops answering must not lock anyone out: the limits fall back to this process's
        # memory (Flask-Limiter logs a warning) and go back to Redis once it answers again.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_STORAGE_OPTIONS": dict(REDIS_TIMEOUTS) if redis_url else {},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Two threads can meet a dead Redis at once; the one that does not switch to memory
        # lets its request through unlimited rather than answer 500.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_ENABLED": _bool(environ.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "practice-limits",
        "LOGIN_RATE_LIMIT": environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "PORTAL_LINK_RATE_LIMIT": environ.get(
            "PORTAL_LINK_RATE_LIMIT", "30 per minute;200 per hour"
        ),
        # The portal cookie outlives a browser restart; the practice's idle limit ends it.
        "PERMANENT_SESSION_LIFETIME": timedelta(days=365),
        # Passwords and PINs. A sign-in rehashes a password stored with other parameters.
        "PASSWORD_HASH_PARAMETERS": _password_hash_parameters(environ, env),
        # The demo's long-running couple has a year of weekly check-ins; the suite seeds the
        # demo many times on both databases, so it keeps a small variant.
        "DEMO_CHECKIN_WEEKS": _int(environ, "DEMO_CHECKIN_WEEKS", 8 if env == "testing" else 52),
        # Jobs
        "JOBS_INLINE": redis_url is None,
        # How long a worker's claim on a run lasts (0: the job's own time limit and a minute):
        # a run still "running" after that was left by a dead worker, and the sweep sends it
        # again.
        "JOBS_LEASE_SECONDS": _int(environ, "JOBS_LEASE_SECONDS", 0),
        # Session summaries: where the files go (a volume in production), and how much memory
        # one render in a worker may add before it fails cleanly (0: no cap).
        "REPORTS_PATH": environ.get("REPORTS_PATH") or str(instance_path / "reports"),
        "REPORT_MEMORY_MB": _int(environ, "REPORT_MEMORY_MB", 768),
        "SQLALCHEMY_RECORD_QUERIES": False,
    }

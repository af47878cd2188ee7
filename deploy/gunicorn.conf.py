"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py 'practice:create_app()'`.

Behind nginx (deploy/nginx.conf) on the same host. Every value can be set from the environment;
the defaults suit a small host. The access log never records a token: the request line, the
path, the query string and the Referer go through `practice.access_log.redact`, and no other
header, cookie or WSGI variable reaches the log line (see RedactingLogger).
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

# Imported here, in the master, before any worker starts: without the redaction gunicorn does
# not start at all, rather than start and log tokens.
from practice.access_log import redact


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}.") from None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- Processes ---------------------------------------------------------------------------------
#
# Workers: gunicorn's rule of thumb, 2 x cores + 1, capped at 8. Each worker is a whole copy of
# the app (about 100 MB resident) with its own database pool, and a sign-in's argon2 hash takes
# 64 MiB while it runs (PASSWORD_HASH_PROFILE), so more processes than this buy memory use, not
# throughput, on the hosts we aim at. Threads: 4 per worker (the gthread worker). Most requests
# wait on PostgreSQL (a partner's autosave every few seconds is a short write) and argon2
# releases the GIL while it hashes, so threads overlap that waiting cheaply; page rendering is
# Python and gains nothing from more of them. Each thread holds at most one database
# connection, and SQLAlchemy's pool keeps 5 per process: workers x threads (at most 32 here,
# plus the job workers) stays well under PostgreSQL's default 100 connections.
# The benchmark's production shape (bench/autosave.py) is 2 workers x 4 threads.
workers = _int("WEB_CONCURRENCY", min(2 * _cores() + 1, 8))
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A worker is replaced after this many requests (spread out so they do not all restart at
# once): whatever a long-lived process accumulates is given back now and then.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The workers' heartbeat files on a memory file system, not a disk that may stall.
if os.path.isdir("/dev/shm"):  # noqa: S108 - gunicorn's own advice; files it makes and owns
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# gunicorn's control socket (gunicornc) only where asked for, at a path of its own: its default
# ($HOME/.gunicorn/gunicorn.ctl) is one path for every gunicorn of the user on the host.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# --- Network -----------------------------------------------------------------------------------
#
# Only nginx talks to gunicorn: it listens on the loopback interface by default.
bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")]
# A request slower than this (no page comes near it: a PDF is made by a job, not a request)
# means a stuck worker: the master kills and replaces it.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM a worker stops accepting and has this long to finish the requests it holds.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# How long an idle keep-alive connection stays open. nginx opens one connection per request to
# its upstream here (no upstream keepalive), so this matters only to a client talking to
# gunicorn directly; keep it short so idle connections do not pile up.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# X-Forwarded-Proto is believed only from the proxy's address (nginx on this host): from
# anyone else it is ignored, so nobody can claim https over plain http. Only that header: the
# other "secure scheme" headers gunicorn knows are not set by our nginx.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# --- Logs --------------------------------------------------------------------------------------

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client is the X-Forwarded-For nginx sets (gunicorn's own peer is always nginx).
access_log_format = '%(h)s %({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


def redact_url(value: str | None) -> str:
    """A request target or a URL (a Referer), as `redact` leaves it; '-' for nothing."""
    if not value or value == "-":
        return "-"
    return redact(value)


class RedactingLogger(Logger):
    """gunicorn's logger with an access log that cannot show a token or a client's words.

    Only the atoms below exist; any other one an operator puts in `access_log_format`
    (`%({cookie}i)s`, `%({raw_uri}e)s`, `%({location}o)s`, ...) logs as '-'.
    """

    # Request and response headers that carry neither a secret nor client text.
    REQUEST_HEADERS = frozenset(
        {"host", "user-agent", "x-forwarded-for", "x-forwarded-proto", "x-request-id"}
    )
    RESPONSE_HEADERS = frozenset({"content-type", "content-length"})
    PLAIN = ("h", "l", "t", "s", "m", "H", "b", "B", "a", "T", "D", "M", "L", "p")

    def atoms(self, resp, req, environ, request_time):
        every = super().atoms(resp, req, environ, request_time)
        atoms = {key: every[key] for key in self.PLAIN if key in every}
        atoms["u"] = "-"  # a Basic-auth user name is not ours to log
        method = environ.get("REQUEST_METHOD", "-")
        protocol = environ.get("SERVER_PROTOCOL", "-")
        atoms["r"] = f"{method} {redact_url(environ.get('RAW_URI'))} {protocol}"
        atoms["U"] = redact_url(environ.get("PATH_INFO"))
        query = environ.get("QUERY_STRING") or ""
        atoms["q"] = redact("/?" + query).partition("?")[2] if query else ""
        atoms["f"] = redact_url(environ.get("HTTP_REFERER"))
        allowed = {"i": self.REQUEST_HEADERS, "o": self.RESPONSE_HEADERS}
        for key, value in every.items():
            if key.startswith("{") and key[1:-2] in allowed.get(key[-1], ()):
                atoms[key] = value
        atoms["{referer}i"] = atoms["f"]
        return atoms


logger_class = RedactingLogger

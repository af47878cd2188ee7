"""Request targets fit for an access log: no working token, no words a client typed.

A portal, sign-in, invitation, reset or calendar link is a key: whoever reads it in a log can
use it. A query string can carry a caseload search (`/couples?q=…`). `redact` keeps what an
operator needs (the route, a page number) and drops the rest. Pure Python, no Flask: the
gunicorn config imports it, and the development server's log passes through it too.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote

TOKEN = "<token>"  # noqa: S105 - the placeholder a token becomes
REDACTED = "<redacted>"

# Every route with a token in its path, as (prefix, suffix): whatever follows the prefix is the
# token (the suffix, when the target ends with it, stays). tests/test_access_log.py walks the
# app's url_map and fails for a token route missing here.
TOKEN_ROUTES: tuple[tuple[str, str], ...] = (
    ("/p/", ""),  # a partner's portal link
    ("/s/", ""),  # a partner's sign-in link
    ("/calendar/", ".ics"),  # a partner's calendar feed
    ("/invitation/", ""),  # a therapist's invitation
    ("/password/reset/", ""),
    ("/signup/confirm/", ""),
)

# Query parameters that carry no client words and no secret: kept when their value has the
# expected shape. Every other parameter (a search, a filter, a `next` path) is dropped.
SAFE_QUERY: dict[str, re.Pattern[str]] = {
    "page": re.compile(r"\d{1,6}"),
    "weeks": re.compile(r"\d{1,3}"),
    "week": re.compile(r"\d{4}-\d{2}-\d{2}"),
}

_ABSOLUTE = re.compile(r"(?P<origin>[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)(?P<rest>.*)", re.DOTALL)
# A request line ("GET /p/abc HTTP/1.1"): the target may hold a space once decoded.
_REQUEST_LINE = re.compile(
    r"(?<![A-Z])(?P<method>[A-Z]{3,10}) (?P<target>\S.*?) (?P<version>HTTP/\d(?:\.\d)?)\b"
)
# A path or URL inside free log text: starts at a line start, a space, a quote or a bracket.
_IN_TEXT = re.compile(r"(?:(?<=[\s\"'(])|^)(?:/|[A-Za-z][A-Za-z0-9+.-]*://)[^\s\"']*")


def redact(target: str) -> str:
    """The request target (path and optional query) with tokens and client words removed."""
    origin = ""
    match = _ABSOLUTE.fullmatch(target)
    if match:  # absolute form, as sent to a proxy
        origin, target = match["origin"], match["rest"]
    cut = min((i for i in (target.find("?"), target.find("#")) if i >= 0), default=len(target))
    path, query = target[:cut], target[cut + 1 :]
    redacted = origin + _redact_path(path)
    if cut < len(target):
        redacted += "?" + _redact_query(query)
    return redacted


def redact_text(text: str) -> str:
    """A log message with every request target in it passed through `redact`."""
    text = _REQUEST_LINE.sub(
        lambda found: f"{found['method']} {redact(found['target'])} {found['version']}", text
    )
    return _IN_TEXT.sub(lambda found: redact(found[0]), text)


def _redact_path(path: str) -> str:
    # The router sees the decoded path with repeated slashes merged: match what it matches.
    routed = re.sub(r"/{2,}", "/", unquote(path, errors="replace"))
    for prefix, suffix in TOKEN_ROUTES:
        if routed.startswith(prefix) and len(routed) > len(prefix):
            kept = suffix if suffix and routed.endswith(suffix) else ""
            return prefix + TOKEN + kept
    return path


def _redact_query(query: str) -> str:
    kept, dropped = [], False
    for name, value in parse_qsl(query.replace("#", "&"), keep_blank_values=True):
        shape = SAFE_QUERY.get(name)
        if shape is not None and shape.fullmatch(value):
            kept.append(f"{name}={value}")
        else:
            dropped = True
    if dropped or not kept and query:
        kept.append(REDACTED)
    return "&".join(kept)


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through `redact_text` (the development server's log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        record.msg, record.args = redact_text(message), None
        return True


def install_werkzeug_filter() -> None:
    """Redact the development server's access lines (`flask run`); idempotent."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
        logger.addFilter(RedactingFilter())

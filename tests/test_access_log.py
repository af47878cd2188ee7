"""Access-log redaction: no working token and no client's words in a request line, for every
token route the app has (walked from its url_map), and the development server's log."""

from __future__ import annotations

import logging

import pytest
from werkzeug.routing import IntegerConverter

from practice.access_log import (
    RedactingFilter,
    install_werkzeug_filter,
    redact,
    redact_text,
)
from practice.urls import PublicIdConverter

SECRET = "Zq7-secretTOKENvalue_0123456789abcdefXYZ"

# Route arguments that are not keys: a record's id or name, useless without a signed-in
# session. A new argument of another name must be added here or to TOKEN_ROUTES.
NOT_SECRETS = {"summary_key", "filename"}


def _argument_is_a_secret(rule, name: str) -> bool:
    converter = rule._converters[name]
    harmless = isinstance(converter, IntegerConverter | PublicIdConverter) or name in NOT_SECRETS
    return not harmless


def test_every_route_with_a_token_in_its_path_is_redacted(app):
    """A route added with a token (or any argument not known to be harmless) fails here until
    practice.access_log.TOKEN_ROUTES covers it."""
    adapter = app.url_map.bind("practice.example.org")
    checked = set()
    for rule in app.url_map.iter_rules():
        secrets = [name for name in rule.arguments if _argument_is_a_secret(rule, name)]
        if not secrets:
            continue
        values = {name: "1" for name in rule.arguments} | dict.fromkeys(secrets, SECRET)
        path = adapter.build(rule.endpoint, values)
        for target in (path, f"{path}?next=/x", path.replace("/", "//", 1)):
            logged = redact(target)
            assert SECRET not in logged, f"{rule.rule} leaks its token: {logged}"
            assert "<token>" in logged
        checked.add(rule.rule)
    # The token routes there are today; if one goes, this list is updated on purpose.
    assert checked == {
        "/p/<token>",
        "/s/<token>",
        "/calendar/<token>.ics",
        "/invitation/<token>",
        "/password/reset/<token>",
        "/signup/confirm/<token>",
    }


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/p/AbCxyz", "/p/<token>"),
        ("/p/AbCxyz?x=1", "/p/<token>?<redacted>"),
        ("/s/AbCxyz", "/s/<token>"),
        ("/calendar/AbC.xyz.ics", "/calendar/<token>.ics"),
        ("/calendar/AbCxyz", "/calendar/<token>"),
        ("/invitation/AbCxyz", "/invitation/<token>"),
        ("/password/reset/AbCxyz", "/password/reset/<token>"),
        ("/signup/confirm/gAAAAAbc_de-f==", "/signup/confirm/<token>"),
        ("/p/AbC/more/segments", "/p/<token>"),
        # What the router would route there, however the client spelt it.
        ("//p/AbCxyz", "/p/<token>"),
        ("/%70/AbCxyz", "/p/<token>"),
        ("/p%2FAbCxyz", "/p/<token>"),
        (
            "https://practice.example.org/s/AbCxyz?q=1",
            "https://practice.example.org/s/<token>?<redacted>",
        ),
        # Searches and filters go; a page number stays.
        ("/couples?q=Ann+Smith", "/couples?<redacted>"),
        ("/couples?q=Ann&page=2", "/couples?page=2&<redacted>"),
        ("/couples?page=2", "/couples?page=2"),
        ("/couples?page=two", "/couples?<redacted>"),
        ("/couples/3/trends?weeks=26", "/couples/3/trends?weeks=26"),
        ("/couples/3/checkins?week=2026-01-05", "/couples/3/checkins?week=2026-01-05"),
        ("/settings/audit?actor=Ann&page=3", "/settings/audit?page=3&<redacted>"),
        ("/portal/unlock?next=/portal/homework/abc", "/portal/unlock?<redacted>"),
        ("/couples?Ann+Smith", "/couples?<redacted>"),
        ("/couples#q=Ann", "/couples?<redacted>"),
        # Routes without a key are kept as they are.
        ("/portal", "/portal"),
        ("/portal/calendar.ics", "/portal/calendar.ics"),
        ("/portal/homework/AbCdEfGhIjKlMnOp", "/portal/homework/AbCdEfGhIjKlMnOp"),
        ("/couples/12/edit", "/couples/12/edit"),
        ("/p/", "/p/"),
        ("/x?", "/x?"),
        ("*", "*"),
        ("", ""),
    ],
)
def test_redact(target, logged):
    assert redact(target) == logged


def test_redacting_twice_changes_nothing_more():
    for target in ("/p/AbC?x=1", "/couples?page=2&q=Ann", "/calendar/AbC.ics"):
        assert redact(redact(target)) == redact(target)


def test_redact_text_finds_targets_in_the_development_servers_lines():
    when = "127.0.0.1 - - [05/Jan/2026 10:00:00]"
    line = f'{when} "\x1b[33mGET /p/AbCxyz?q=Ann Smith HTTP/1.1\x1b[0m" 404 -'
    assert redact_text(line) == f'{when} "\x1b[33mGET /p/<token>?<redacted> HTTP/1.1\x1b[0m" 404 -'
    bad = "code 400, message Bad request syntax ('GET /s/AbCxyz')"
    assert redact_text(bad) == "code 400, message Bad request syntax ('GET /s/<token>')"
    assert (
        redact_text(" * Running on http://127.0.0.1:5000") == " * Running on http://127.0.0.1:5000"
    )


def test_the_app_installs_the_filter_on_the_development_servers_logger(app):
    filters = logging.getLogger("werkzeug").filters
    assert sum(isinstance(f, RedactingFilter) for f in filters) == 1
    install_werkzeug_filter()
    assert sum(isinstance(f, RedactingFilter) for f in filters) == 1


def test_the_development_server_logs_no_token_and_no_search(app, caplog):
    """Through the real request handler of `flask run`, as it logs a request."""
    from werkzeug.serving import WSGIRequestHandler

    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.client_address = ("127.0.0.1", 50000)
    handler.command, handler.request_version = "GET", "HTTP/1.1"
    caplog.set_level(logging.INFO, logger="werkzeug")
    for path in (f"/p/{SECRET}", "/couples?q=Ann%20Smith&page=2", f"/calendar/{SECRET}.ics"):
        handler.path = path
        handler.log_request(200, 512)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in logged and "Ann" not in logged
    assert "GET /p/<token> HTTP/1.1" in logged
    assert "GET /couples?page=2&<redacted> HTTP/1.1" in logged
    assert "GET /calendar/<token>.ics HTTP/1.1" in logged

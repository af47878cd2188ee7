"""Absolute links for emails, built from BASE_URL and never from the request's Host header."""

from __future__ import annotations

from flask import current_app


def external_url(endpoint: str, **values: object) -> str:
    adapter = current_app.url_map.bind("base-url.invalid", url_scheme="https")
    return current_app.config["BASE_URL"] + adapter.build(endpoint, values)

"""URLs: ids in routes, and absolute links for emails (built from BASE_URL, never from the
request's Host header)."""

from __future__ import annotations

from flask import current_app
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, IntegerConverter

from practice.models.base import MAX_ID


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a row id, 1 to MAX_ID.

    A larger number names no row: 404, like any unknown id, instead of a 500 from a database
    driver that cannot bind it (SQLite from 2^63) or a column it overflows (PostgreSQL from
    2^31). NotFound rather than werkzeug's ValidationError: with that, a path that another
    rule takes with other methods (GET and POST views of one URL) would answer 405.
    """

    def to_python(self, value: str) -> int:
        # The length first: int() of thousands of digits is slow, and refused past 4300.
        if len(value) > len(str(MAX_ID)) or not 0 < int(value) <= MAX_ID:
            raise NotFound()
        return int(value)


class PublicIdConverter(BaseConverter):
    """`<public_id:…>`: the opaque id of a record in a portal URL (models.homework.new_public_id).

    Random, so a partner cannot count the gaps between their own items to learn that the
    other has hidden ones. Anything not shaped like one is a 404 without a query.
    """

    regex = r"[A-Za-z0-9_-]{16,32}"


def external_url(endpoint: str, **values: object) -> str:
    adapter = current_app.url_map.bind("base-url.invalid", url_scheme="https")
    return current_app.config["BASE_URL"] + adapter.build(endpoint, values)

"""Helpers for service tests: tokens out of emailed links, and every value the database holds."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import BASE_URL


def token_from(link: str, prefix: str) -> str:
    """The token at the end of an emailed link, checking the link is ours and of this kind."""
    assert link.startswith(BASE_URL + prefix), link
    return urlsplit(link).path.rsplit("/", 1)[1]


@pytest.fixture
def database_values(app):
    """Return every value of every column of every table, read straight from the database
    (as the tables' owner: the app's own role sees one practice at a time)."""
    from practice.extensions import db
    from tests.conftest import owner_engine

    def read() -> list[tuple[str, str, object]]:
        values = []
        with owner_engine(app).connect() as connection:
            for table in db.metadata.sorted_tables:
                for row in connection.execute(table.select()).mappings():
                    values.extend((table.name, column, value) for column, value in row.items())
        return values

    return read

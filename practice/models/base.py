"""Column types and helpers shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKeyConstraint
from sqlalchemy.types import TypeDecorator

# The largest id a row can have (PostgreSQL's integer).
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use models.base.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def practice_fk(column: str, table: str, *, cascade: bool = False) -> ForeignKeyConstraint:
    """A child's reference to a parent row *of the same practice*: (practice_id, column)."""
    return ForeignKeyConstraint(
        ["practice_id", column],
        [f"{table}.practice_id", f"{table}.id"],
        ondelete="CASCADE" if cascade else None,
    )

"""Times shown in the viewer's own time zone: stored in UTC, read where the reader lives.

A therapist reads times in the practice's zone; a partner in their own. Outside a request
(an email rendered by a job) the caller names the zone, or UTC is used.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from flask import Flask, g, has_request_context
from flask_login import current_user

# The days of the week as the product names them, Monday first (0, as datetime.weekday()).
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

UTC = ZoneInfo("UTC")


@cache
def known_time_zones() -> frozenset[str]:
    """Every zone name tzdata knows. Listing them walks its files (about 25 ms): once only."""
    return frozenset(available_timezones())


@cache
def _zone_choices() -> tuple[tuple[str, str], ...]:
    return tuple((zone, zone.replace("_", " ")) for zone in sorted(known_time_zones()))


def time_zone_choices() -> list[tuple[str, str]]:
    """The choices of a time zone select, "America/New York" style."""
    return list(_zone_choices())


def viewer_zone() -> ZoneInfo:
    """The zone of whoever this request is for (cached for the request)."""
    if not has_request_context():
        return UTC
    zone = g.get("_viewer_zone")
    if zone is None:
        zone = ZoneInfo(_viewer_zone_name())
        g._viewer_zone = zone
    return zone


def _viewer_zone_name() -> str:
    partner = g.get("partner")
    if partner is not None:
        return partner.time_zone
    if current_user.is_authenticated:
        return current_user.practice.time_zone
    return "UTC"


def local(value: datetime, zone: str | ZoneInfo | None = None) -> datetime:
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    return value.astimezone(zone or viewer_zone())


def local_date(value: date | datetime | None, fmt: str = "%-d %b %Y", zone=None) -> str:
    """A day: a datetime's day where the viewer is; a plain date as it is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value, zone)
    return value.strftime(fmt)


def local_time(value: datetime | None, fmt: str = "%-d %b %Y, %H:%M", zone=None) -> str:
    """A moment, with its zone's abbreviation so that nobody has to guess ("14:05 EST")."""
    if value is None:
        return ""
    value = local(value, zone)
    return f"{value.strftime(fmt)} {value.tzname()}"


def iso_day(value: object, fmt: str = "%A %-d %B %Y") -> str:
    """A day stored as typed in a date field ("2026-12-31") as a person reads it; anything
    that is not such a day is shown exactly as stored."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return date.fromisoformat(value).strftime(fmt)
    except ValueError:
        return value


def register(app: Flask) -> None:
    app.add_template_filter(iso_day)
    app.add_template_filter(local_date)
    app.add_template_filter(local_time)

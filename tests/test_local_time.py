"""Times are stored in UTC and shown in the reader's zone, with the zone named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from practice.local_time import local_date, local_time

WINTER = datetime(2026, 1, 15, 14, 5, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (WINTER, "America/Toronto", "15 Jan 2026, 09:05 EST"),
        (SUMMER, "America/Toronto", "15 Jul 2026, 10:05 EDT"),
        (WINTER, "Europe/Berlin", "15 Jan 2026, 15:05 CET"),
        (WINTER, "Pacific/Auckland", "16 Jan 2026, 03:05 NZDT"),
        (WINTER, "UTC", "15 Jan 2026, 14:05 UTC"),
    ],
)
def test_a_moment_is_shown_in_the_zone_with_its_name(moment, zone, shown):
    assert local_time(moment, zone=zone) == shown


def test_a_days_date_is_the_day_where_the_reader_is():
    late_evening_in_california = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    assert local_date(late_evening_in_california, zone="America/Los_Angeles") == "28 Feb 2026"
    assert local_date(late_evening_in_california, zone="Europe/London") == "1 Mar 2026"


def test_a_plain_date_and_nothing_pass_through():
    assert local_date(date(2026, 2, 28), zone="Pacific/Auckland") == "28 Feb 2026"
    assert local_date(None) == ""
    assert local_time(None) == ""


def test_outside_a_request_times_are_utc(app):
    with app.app_context():
        assert local_time(WINTER) == "15 Jan 2026, 14:05 UTC"


def test_a_day_typed_in_a_date_field_reads_as_a_day_and_anything_else_as_stored():
    from practice.local_time import iso_day

    assert iso_day("2026-12-31") == "Thursday 31 December 2026"
    assert iso_day("next month") == "next month"  # never lost, never reworded
    assert iso_day("") == ""
    assert iso_day(None) == ""

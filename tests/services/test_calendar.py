"""practice.services.calendar: the processing window's .ics file and private subscribe feeds.

The file is parsed back with `icalendar`; recurrences across daylight-saving changes are
computed with zoneinfo from DTSTART and the weekly rule (and cross-checked against the
VTIMEZONE the file carries). Real database; nothing of ours is mocked.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, Partner
from practice.models.homework import CalendarFeed
from practice.security import hash_token
from practice.services import NotFound
from practice.services import calendar as cal
from practice.services import homework as hw
from practice.tenancy import practice_context
from tests.services.test_homework import World, assign, audit_events
from tests.services.test_homework import world as world  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("app")

LONDON = ZoneInfo("Europe/London")

WINDOW = {
    "slots": [
        {"weekday": 1, "start": "19:30", "minutes": 45},  # Tuesday
        {"weekday": 5, "start": "10:00", "minutes": 60},  # Saturday
    ],
    "code_word": "pineapple",
}


def window_for(w: World, content: dict = WINDOW, *, time_zone: str | None = None):
    if time_zone is not None:
        w.couple.time_zone = time_zone
        db.session.flush()
    (window,) = assign(w, "processing_window", "joint").responses
    hw.save_draft(w.ann, window, content=content, base_version=0)
    return window


def parse(w: World, today: date) -> Calendar:
    ics = cal.build_calendar(w.couple, cal.window_schedules(w.couple), today=today)
    assert isinstance(ics, bytes)
    return Calendar.from_ical(ics)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


# --- the file ---------------------------------------------------------------------------------


def test_the_calendar_parses_back_with_one_weekly_event_per_slot(world):
    window = window_for(world)
    calendar = parse(world, today=date(2026, 6, 1))  # a Monday

    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    found = events(calendar)
    assert len(found) == 2
    by_uid = {str(e["UID"]): e for e in found}
    assert set(by_uid) == {f"window-{window.id}-0@practice", f"window-{window.id}-1@practice"}

    tuesday, saturday = (
        by_uid[f"window-{window.id}-0@practice"],
        by_uid[f"window-{window.id}-1@practice"],
    )
    for event, byday, start, minutes in (
        (tuesday, "TU", datetime(2026, 6, 2, 19, 30, tzinfo=LONDON), 45),
        (saturday, "SA", datetime(2026, 6, 6, 10, 0, tzinfo=LONDON), 60),
    ):
        rule = event["RRULE"]
        assert rule["FREQ"] == ["WEEKLY"]
        assert rule["BYDAY"] == [byday]
        dtstart = event["DTSTART"]
        assert dtstart.params["TZID"] == "Europe/London"
        assert dtstart.dt.isoformat() == start.isoformat()  # same wall clock and offset
        assert dtstart.dt.utcoffset() == timedelta(hours=1)  # BST in June
        assert event["DURATION"].dt == timedelta(minutes=minutes)
        assert "DTSTAMP" in event
        assert str(event["SUMMARY"]) == "Processing window"


def test_the_first_event_is_today_when_today_is_the_day(world):
    window_for(world)
    calendar = parse(world, today=date(2026, 6, 2))  # a Tuesday
    starts = sorted(e["DTSTART"].dt for e in events(calendar))
    assert starts == [
        datetime(2026, 6, 2, 19, 30, tzinfo=LONDON),
        datetime(2026, 6, 6, 10, 0, tzinfo=LONDON),
    ]


def test_a_vtimezone_for_the_couples_zone_is_included(world):
    window_for(world, time_zone="America/New_York")
    calendar = parse(world, today=date(2026, 6, 1))

    zones = list(calendar.walk("VTIMEZONE"))
    assert [str(z["TZID"]) for z in zones] == ["America/New_York"]
    kinds = {c.name for c in zones[0].subcomponents}
    assert {"STANDARD", "DAYLIGHT"} <= kinds
    assert {e["DTSTART"].params["TZID"] for e in events(calendar)} == {"America/New_York"}


def test_a_calendar_with_no_windows_is_still_valid(world):
    calendar = parse(world, today=date(2026, 6, 1))
    assert events(calendar) == []
    assert calendar["VERSION"] == "2.0"


# --- daylight saving --------------------------------------------------------------------------


def occurrences(event, count: int) -> list[datetime]:
    """The first `count` weekly occurrences, each on the wall clock of DTSTART's zone."""
    start = event["DTSTART"].dt
    zone = ZoneInfo(event["DTSTART"].params["TZID"])
    wall = start.replace(tzinfo=None)
    return [(wall + timedelta(weeks=n)).replace(tzinfo=zone) for n in range(count)]


@pytest.mark.parametrize(
    ("zone", "today", "before", "after"),
    [
        # UK clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026
        ("Europe/London", date(2026, 3, 23), 0, 1),
        ("Europe/London", date(2026, 10, 19), 1, 0),
        # US clocks go forward on Sunday 8 March 2026 and back on Sunday 1 November 2026
        ("America/New_York", date(2026, 3, 2), -5, -4),
        ("America/New_York", date(2026, 10, 26), -4, -5),
    ],
    ids=["london-spring", "london-autumn", "new-york-spring", "new-york-autumn"],
)
def test_the_wall_clock_time_holds_across_a_daylight_saving_change(
    world, zone, today, before, after
):
    window_for(world, time_zone=zone)
    calendar = parse(world, today=today)
    (vtimezone,) = calendar.walk("VTIMEZONE")
    file_zone = vtimezone.to_tz()  # the zone as the file itself describes it

    for event in events(calendar):
        dtstart = event["DTSTART"]
        assert dtstart.params["TZID"] == zone
        # DTSTART is local time with a TZID, never a UTC instant: that is what keeps the
        # wall-clock time when the clocks change
        assert not event.to_ical().decode().replace("\r\n ", "").count("DTSTART:")
        first, second, third = occurrences(event, 3)
        assert first.date() >= today
        assert first.date() - today < timedelta(days=7)
        # the first occurrence falls before the change, a later one after it
        assert first.utcoffset() == timedelta(hours=before)
        assert third.utcoffset() == timedelta(hours=after)
        slot_start = {"Tuesday": time(19, 30), "Saturday": time(10, 0)}[first.strftime("%A")]
        for occurrence in (first, second, third):
            assert occurrence.time() == slot_start
            # the VTIMEZONE in the file gives the same instant as the zone database
            in_file_zone = occurrence.replace(tzinfo=None).replace(tzinfo=file_zone)
            assert in_file_zone.utcoffset() == occurrence.utcoffset()
        utc_hours = {o.astimezone(ZoneInfo("UTC")).hour for o in (first, third)}
        assert len(utc_hours) == 2  # the same local time is a different UTC time


# --- what the file leaves out -----------------------------------------------------------------


def test_the_calendar_carries_no_code_word_and_no_client_text(world):
    window = window_for(world, dict(WINDOW, code_word="Zebracorn"))
    world.couple.label = "Couple Harrington"
    world.ann.display_name = "Quillonia"
    hw.set_default_instructions(world.owner, "processing_window", "Instructions text Q")
    window.assignment.instructions = "Private instructions Xylo"
    db.session.flush()

    ics = cal.build_calendar(
        world.couple, cal.window_schedules(world.couple), today=date(2026, 6, 1)
    )
    text = ics.decode().replace("\r\n ", "").lower()

    for secret in ("zebracorn", "harrington", "xylo", "instructions text q", "quillonia"):
        assert secret not in text, secret


# --- subscribe feeds ------------------------------------------------------------------------------


def test_a_feed_token_is_returned_once_and_only_its_sha256_is_stored(world, database_values):
    partner_id, practice_id = world.ann.id, world.ann.practice_id
    token = cal.create_feed(world.ann)
    db.session.commit()

    assert len(token) >= 32
    leaks = [(table, column) for table, column, value in database_values() if token in str(value)]
    assert leaks == []
    with practice_context(practice_id):
        (feed,) = db.session.scalars(select(CalendarFeed)).all()
        assert feed.token_hash == hash_token(token)
        assert len(feed.token_hash) == 64
        assert feed.partner_id == partner_id
        assert feed.revoked_at is None
        assert cal.has_feed(db.session.get(Partner, partner_id))
        (event,) = audit_events("calendar.feed_created")
        assert event.actor_partner_id == partner_id


def _feed_partner_outside_practice(token: str) -> Partner:
    """As the subscribe URL is answered: no practice set, the token decides."""
    with practice_context(None):
        return cal.feed_partner(token)


def test_the_feed_token_finds_its_partner_with_no_practice_set(world):
    partner_id = world.ann.id
    token = cal.create_feed(world.ann)
    db.session.commit()
    assert _feed_partner_outside_practice(token).id == partner_id


def test_a_new_feed_revokes_the_old_one(world):
    partner_id = world.ann.id
    old = cal.create_feed(world.ann)
    db.session.commit()
    new = cal.create_feed(db.session.get(Partner, partner_id))
    db.session.commit()

    with pytest.raises(NotFound):
        _feed_partner_outside_practice(old)
    assert _feed_partner_outside_practice(new).id == partner_id
    feeds = db.session.scalars(select(CalendarFeed).order_by(CalendarFeed.id)).all()
    assert [f.revoked_at is not None for f in feeds] == [True, False]


def test_the_other_partners_feed_is_separate(world):
    ann_token = cal.create_feed(world.ann)
    ben_token = cal.create_feed(world.ben)
    db.session.commit()
    assert ann_token != ben_token
    assert _feed_partner_outside_practice(ben_token).id == world.ben.id
    assert _feed_partner_outside_practice(ann_token).id == world.ann.id


def test_a_revoked_or_unknown_token_is_not_found(world):
    partner_id = world.ann.id
    token = cal.create_feed(world.ann)
    db.session.commit()
    cal.revoke_feed(db.session.get(Partner, partner_id))
    db.session.commit()

    for candidate in (token, "not-a-token", "", token[:-1]):
        with pytest.raises(NotFound):
            _feed_partner_outside_practice(candidate)
    assert not cal.has_feed(db.session.get(Partner, partner_id))
    assert len(audit_events("calendar.feed_revoked")) == 1


def test_a_closed_couples_feed_stops_working(world):
    couple_id = world.couple.id
    token = cal.create_feed(world.ann)
    db.session.commit()
    db.session.get(Couple, couple_id).status = "closed"
    db.session.commit()
    with pytest.raises(NotFound):
        _feed_partner_outside_practice(token)

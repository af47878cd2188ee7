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
from practice.services import DomainError, NotFound, windows
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


def window_for(
    w: World, content: dict = WINDOW, *, time_zone: str | None = None, agreed: bool = True
):
    """A window with `content`, agreed by both partners unless `agreed` is False."""
    if time_zone is not None:
        w.couple.time_zone = time_zone
        db.session.flush()
    (window,) = assign(w, "processing_window", "joint").responses
    hw.save_draft(w.ann, window, content=content, base_version=0)
    if agreed:
        windows.confirm(w.ann, window)
        assert windows.confirm(w.ben, window) is True
    return window


def parse(w: World, today: date, **kwargs) -> Calendar:
    ics = cal.build_calendar(w.couple, cal.window_schedules(w.couple), today=today, **kwargs)
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
    assert set(by_uid) == {cal.event_uid(window, 0), cal.event_uid(window, 1)}

    tuesday, saturday = by_uid[cal.event_uid(window, 0)], by_uid[cal.event_uid(window, 1)]
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
        assert str(event["SUMMARY"]) == "Personal time"


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


# Words that tell whoever sees a calendar what the time is for, or who it is with: none of
# them may appear anywhere in a calendar file (tests/blueprints/test_windows.py uses it too).
TELLING_WORDS = (
    "processing",
    "window",
    "therap",
    "trust",
    "repair",
    "betray",
    "affair",
    "counsel",
    "session",
    "practice",
    "couple",
    "homework",
    "code word",
    "reassur",
    "talk",
    "together",
    "relationship",
)


def telling_lines(ics: bytes, *secrets: str) -> list[str]:
    """Every line of the file (unfolded) with a telling word or one of `secrets` in it."""
    words = [w.lower() for w in (*TELLING_WORDS, *secrets) if w]
    lines = ics.decode().replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")
    return [line for line in lines if any(word in line.lower() for word in words)]


def test_no_line_of_the_file_says_what_the_time_is_for(world):
    window_for(world, dict(WINDOW, code_word="Zebracorn"))
    practice_name = world.owner.practice.name
    ics = cal.build_calendar(
        world.couple, cal.window_schedules(world.couple), today=date(2026, 6, 1)
    )
    calendar = Calendar.from_ical(ics)

    assert telling_lines(ics, "zebracorn", practice_name, "ann", "ben") == []
    assert str(calendar["PRODID"]) == cal.PRODID
    assert str(calendar["X-WR-CALNAME"]) == "Personal time"
    for event in events(calendar):
        assert str(event["SUMMARY"]) == "Personal time"
        assert "DESCRIPTION" not in event
        assert "LOCATION" not in event
        assert "@" not in str(event["UID"])  # no domain of ours


def test_the_word_scan_finds_a_telling_word_on_any_line():
    """The scan itself: what the file used to say is caught, folded or not."""
    old = (
        b"BEGIN:VCALENDAR\r\nPRODID:-//practice//processing windows//EN\r\n"
        b"X-WR-CALNAME:Your time\r\nBEGIN:VEVENT\r\nUID:window-1-0@practice\r\n"
        b"DESCRIPTION:Your agreed time to talk things through to\r\n gether.\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert len(telling_lines(old)) == 3
    assert telling_lines(b"SUMMARY:Dentist\r\n", "Zebracorn") == []
    assert telling_lines(b"SUMMARY:zebracorn hour\r\n", "Zebracorn") == ["SUMMARY:zebracorn hour"]


def test_event_uids_are_stable_and_say_nothing(world):
    window = window_for(world)
    first = {str(e["UID"]) for e in events(parse(world, today=date(2026, 6, 1)))}
    again = {str(e["UID"]) for e in events(parse(world, today=date(2026, 9, 7)))}
    assert first == again == {cal.event_uid(window, 0), cal.event_uid(window, 1)}
    for uid in first:
        assert str(window.id) not in uid.split("-")
        assert window.public_id not in uid


# --- only what both agreed to ---------------------------------------------------------------------


def test_a_draft_is_never_in_the_calendar(world):
    window_for(world, agreed=False)
    assert cal.window_schedules(world.couple) == []
    assert events(parse(world, today=date(2026, 6, 1))) == []


def test_a_schedule_only_one_partner_agreed_to_is_not_in_the_calendar(world):
    window = window_for(world, agreed=False)
    assert windows.confirm(world.ann, window) is False
    assert cal.window_schedules(world.couple) == []
    assert events(parse(world, today=date(2026, 6, 1))) == []
    assert windows.confirm(world.ben, window) is True
    assert cal.window_schedules(world.couple) == [window]
    assert len(events(parse(world, today=date(2026, 6, 1)))) == 2


def test_another_couples_agreed_window_is_not_in_this_calendar(world):
    (theirs,) = hw.assign(
        world.other_therapist,
        world.other_couple,
        kind_key="processing_window",
        mode="joint",
        instructions="",
        due_date=None,
    ).responses
    cy, di = world.other_couple.partners
    hw.save_draft(cy, theirs, content=WINDOW, base_version=0)
    windows.confirm(cy, theirs)
    assert windows.confirm(di, theirs) is True
    assert cal.window_schedules(world.other_couple) == [theirs]
    assert cal.window_schedules(world.couple) == []


# --- the partner's own title ----------------------------------------------------------------------


def test_the_title_is_neutral_until_a_partner_chooses_their_own(world):
    window_for(world)
    assert cal.event_title(world.ann) == cal.event_title(world.ben) == "Personal time"

    cal.set_calendar_title(world.ann, "  Gym  ")
    db.session.flush()
    assert world.ann.calendar_title == "Gym"
    assert cal.event_title(world.ann) == "Gym"
    assert cal.event_title(world.ben) == "Personal time"  # hers alone

    mine = parse(world, today=date(2026, 6, 1), title=cal.event_title(world.ann))
    assert {str(e["SUMMARY"]) for e in events(mine)} == {"Gym"}
    assert str(mine["X-WR-CALNAME"]) == "Gym"
    theirs = parse(world, today=date(2026, 6, 1), title=cal.event_title(world.ben))
    assert {str(e["SUMMARY"]) for e in events(theirs)} == {"Personal time"}


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_an_empty_title_goes_back_to_the_default(world, empty):
    cal.set_calendar_title(world.ann, "Gym")
    cal.set_calendar_title(world.ann, empty)
    assert world.ann.calendar_title is None
    assert cal.event_title(world.ann) == "Personal time"


def test_a_title_of_eighty_characters_is_kept_and_longer_is_refused(world):
    cal.set_calendar_title(world.ann, "é" * 80)
    assert world.ann.calendar_title == "é" * 80
    with pytest.raises(DomainError) as refused:
        cal.set_calendar_title(world.ann, "x" * 81)
    assert refused.value.field == "title"
    assert "80 characters" in refused.value.message
    assert world.ann.calendar_title == "é" * 80


@pytest.mark.parametrize(
    "title", ["Gym\nBcc", "Gym\r\nX-INJECT:1", "Gym\tclass", "\x1b[2J", "a\x85b", "a\u2028b"]
)
def test_a_title_with_control_characters_is_refused_with_a_clear_message(world, title):
    cal.set_calendar_title(world.ann, "Gym")
    with pytest.raises(DomainError) as refused:
        cal.set_calendar_title(world.ann, title)
    assert refused.value.field == "title"
    assert "one line" in refused.value.message
    assert world.ann.calendar_title == "Gym"


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


RITUAL = {
    "checkin_weekday": 6,  # Sunday
    "checkin_time": "17:00",
    "date_idea": "",
    "date_words": "A walk along the river, then soup.",
    "care_1": "Make the coffee before work.",
    "care_2": "Leave a note by the kettle.",
}


def test_an_agreed_ritual_puts_its_repair_check_in_in_the_calendar_and_nothing_else(world):
    window = window_for(world)
    (plan,) = assign(world, "connection_ritual", "joint").responses
    hw.save_draft(world.ann, plan, content=RITUAL, base_version=0)
    hw.save_draft(world.ben, plan, content=RITUAL, base_version=1)
    # Not agreed by both yet: only the window's two slots.
    assert {str(e["UID"]) for e in events(parse(world, today=date(2026, 6, 1)))} == {
        cal.event_uid(window, 0),
        cal.event_uid(window, 1),
    }

    windows.confirm(world.ann, plan)
    assert windows.confirm(world.ben, plan) is True
    calendar = parse(world, today=date(2026, 6, 1))
    by_uid = {str(e["UID"]): e for e in events(calendar)}
    assert len(by_uid) == 3
    sunday = by_uid[cal.event_uid(plan, 0)]
    assert sunday["RRULE"]["BYDAY"] == ["SU"]
    assert (
        sunday["DTSTART"].dt.isoformat() == datetime(2026, 6, 7, 17, 0, tzinfo=LONDON).isoformat()
    )
    assert sunday["DURATION"].dt == timedelta(minutes=30)
    assert str(sunday["SUMMARY"]) == "Personal time"
    ics = cal.build_calendar(world.couple, cal.window_schedules(world.couple)).decode()
    assert not any(words in ics for words in ("river", "coffee", "kettle", "pineapple"))

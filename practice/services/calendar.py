"""Calendar files for the weekly times a couple agreed (processing windows, a connection
ritual's repair check-in): an .ics to download and a private subscribe feed.

A calendar is seen by others: on a work computer, a shared family calendar, a phone's lock
screen. So nothing in the file says what the time is for: no therapy word, no practice, no
code word, no name. Each event is titled with the partner's own words, or a neutral default.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select

from practice.extensions import db
from practice.homework import KINDS, HomeworkKind, get_kind
from practice.homework.workflow import Status
from practice.models import Couple, Partner
from practice.models.base import utcnow
from practice.models.homework import CalendarFeed, HomeworkResponse
from practice.security import hash_token, new_token
from practice.services import SINGLE_LINE_REFUSED, DomainError, NotFound, audit
from practice.tenancy import unscoped

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# What an event is called unless the partner chose a title. Plain enough for a work calendar
# or a shared screen: it says the time is taken, and nothing about what for ("Time together"
# would already tell a colleague that it is about the relationship).
DEFAULT_TITLE = "Personal time"
TITLE_MAX = 80  # Partner.calendar_title
# The file's own names, as neutral as the events: no product, practice or purpose in them.
PRODID = "-//Calendar//EN"
# Event UIDs: a stable hash of the window's opaque id and the slot, under no domain of ours,
# so that a calendar app updates an event rather than adding it twice.
_UID_NAMESPACE = uuid.UUID("6f1c1bde-3c59-4c43-9a43-0f0c56d43b51")


def calendar_kinds() -> list[str]:
    """The kinds whose agreed content has weekly times (`HomeworkKind.complete_slots`): a
    processing window's slots, a connection ritual's repair check-in."""
    return [
        key
        for key, kind in KINDS.items()
        if type(kind).complete_slots is not HomeworkKind.complete_slots
    ]


def window_schedules(couple: Couple) -> list[HomeworkResponse]:
    """The couple's agreed weekly times that both partners agreed to: never a draft, nor a
    plan only one of them agreed to (reopened for a change, it leaves until both agree)."""
    return list(
        db.session.scalars(
            select(HomeworkResponse)
            .where(
                HomeworkResponse.couple_id == couple.id,
                HomeworkResponse.kind.in_(calendar_kinds()),
                HomeworkResponse.status == Status.CONFIRMED,
            )
            .order_by(HomeworkResponse.id)
        )
    )


def agreed_windows(responses: list[HomeworkResponse]) -> list[HomeworkResponse]:
    """`window_schedules` among pieces of work already loaded: a page that lists every piece
    a partner sees has them all (agreed times are joint work, which both partners see)."""
    kinds = set(calendar_kinds())
    return [
        r
        for r in sorted(responses, key=lambda r: r.id)
        if r.kind in kinds and r.status == Status.CONFIRMED
    ]


def event_title(partner: Partner) -> str:
    """The title of the partner's window events: their own, or the neutral default."""
    return partner.calendar_title or DEFAULT_TITLE


def set_calendar_title(partner: Partner, title: str) -> None:
    """Set the partner's own title for their window events; empty goes back to the default.

    Only this partner's download and subscription use it, never the other partner's.
    """
    title = (title or "").strip()
    if SINGLE_LINE_REFUSED.search(title):
        raise DomainError(
            "Keep the title to one line, without line breaks, tabs or invisible characters.",
            "title",
        )
    if len(title) > TITLE_MAX:
        raise DomainError(f"Keep the title to {TITLE_MAX} characters or fewer.", "title")
    partner.calendar_title = title or None


def _first_occurrence(weekday: int, start: str, zone: ZoneInfo, today: date) -> datetime:
    hour, minute = (int(part) for part in start.split(":"))
    days_ahead = (weekday - today.weekday()) % 7
    return datetime.combine(today + timedelta(days=days_ahead), time(hour, minute), tzinfo=zone)


def event_uid(response: HomeworkResponse, index: int) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{response.public_id}/{index}"))


def build_calendar(
    couple: Couple,
    responses: list[HomeworkResponse],
    *,
    title: str = DEFAULT_TITLE,
    today: date | None = None,
) -> bytes:
    """An iCalendar file with one weekly recurring event per window slot, in the couple's zone.

    Events carry the partner's chosen `title` and nothing else of anyone's: no description,
    no code word (the couple's private signal stays out of calendar apps), no practice.
    """
    zone = ZoneInfo(couple.time_zone)
    today = today or datetime.now(zone).date()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", couple.time_zone)
    for response in responses:
        slots = get_kind(response.kind).complete_slots(response.content)
        for index, slot in enumerate(slots):
            start = _first_occurrence(slot["weekday"], slot["start"], zone, today)
            event = Event()
            event.add("uid", event_uid(response, index))
            event.add("summary", title)
            event.add("dtstart", start)
            event.add("duration", timedelta(minutes=slot["minutes"]))
            event.add("rrule", {"freq": "weekly", "byday": DAY_CODES[slot["weekday"]]})
            event.add("dtstamp", utcnow())
            calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def create_feed(partner: Partner) -> str:
    """A new private subscribe URL token for the partner; an older one stops working."""
    for feed in db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.partner_id == partner.id, CalendarFeed.revoked_at.is_(None)
        )
    ):
        feed.revoked_at = utcnow()
    token, digest = new_token()
    db.session.add(CalendarFeed(partner_id=partner.id, token_hash=digest))
    audit.record("calendar.feed_created", actor=partner, target=partner)
    return token


def revoke_feed(partner: Partner) -> None:
    for feed in db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.partner_id == partner.id, CalendarFeed.revoked_at.is_(None)
        )
    ):
        feed.revoked_at = utcnow()
        audit.record("calendar.feed_revoked", actor=partner, target=partner)


def stop_feeds(partner: Partner) -> int:
    """Stop every live feed of the partner, for a revoke (which records it); how many."""
    now = utcnow()
    feeds = db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.partner_id == partner.id, CalendarFeed.revoked_at.is_(None)
        )
    ).all()
    for feed in feeds:
        feed.revoked_at = now
    return len(feeds)


def has_feed(partner: Partner) -> bool:
    return (
        db.session.scalar(
            select(CalendarFeed.id).where(
                CalendarFeed.partner_id == partner.id, CalendarFeed.revoked_at.is_(None)
            )
        )
        is not None
    )


def feed_partner(token: str) -> Partner:
    """The partner behind a live subscribe token, or NotFound."""
    with unscoped():  # the token is what tells us the practice
        feed = db.session.scalar(
            select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token))
        )
        if feed is None or feed.revoked_at is not None:
            raise NotFound()
        partner = db.session.scalar(select(Partner).where(Partner.id == feed.partner_id))
        # Answered exactly as an unknown token: a revoked partner's feed says nothing.
        if partner is None or partner.couple.is_closed or partner.access_revoked_at is not None:
            raise NotFound()
    return partner

"""Calendar files for processing windows: an .ics to download and a private subscribe feed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, Partner
from practice.models.base import utcnow
from practice.models.homework import CalendarFeed, HomeworkResponse
from practice.security import hash_token, new_token
from practice.services import NotFound, audit
from practice.tenancy import unscoped

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def window_schedules(couple: Couple) -> list[HomeworkResponse]:
    """The couple's processing windows that both partners have confirmed (or still draft)."""
    return list(
        db.session.scalars(
            select(HomeworkResponse)
            .where(
                HomeworkResponse.couple_id == couple.id,
                HomeworkResponse.kind == "processing_window",
            )
            .order_by(HomeworkResponse.id)
        )
    )


def _first_occurrence(weekday: int, start: str, zone: ZoneInfo, today: date) -> datetime:
    hour, minute = (int(part) for part in start.split(":"))
    days_ahead = (weekday - today.weekday()) % 7
    return datetime.combine(today + timedelta(days=days_ahead), time(hour, minute), tzinfo=zone)


def build_calendar(
    couple: Couple, responses: list[HomeworkResponse], *, today: date | None = None
) -> bytes:
    """An iCalendar file with one weekly recurring event per window slot, in the couple's zone.

    Events carry no client words: the title says only that it is the processing window.
    The code word is the couple's private signal and stays out of calendar apps.
    """
    zone = ZoneInfo(couple.time_zone)
    today = today or datetime.now(zone).date()
    calendar = Calendar()
    calendar.add("prodid", "-//practice//processing windows//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Processing window")
    calendar.add("x-wr-timezone", couple.time_zone)
    for response in responses:
        for index, slot in enumerate(response.content.get("slots", [])):
            start = _first_occurrence(slot["weekday"], slot["start"], zone, today)
            event = Event()
            event.add("uid", f"window-{response.id}-{index}@practice")
            event.add("summary", "Processing window")
            event.add("description", "Your agreed time to talk things through together.")
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

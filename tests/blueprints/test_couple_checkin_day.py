"""A couple's own weekly check-in day and hour, set on the couple form (add and edit).

Through the real pages: the form offers the practice's default first (worded with the
practice's own day and hour), then each day and each hour; what is chosen is stored, shown
selected again and shown on the couple page; the practice's default is stored as nothing;
a tampered choice comes back with 422, a message beside it and everything else as typed;
the check-in week follows what was chosen.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.models import AuditEvent, Couple, Practice, User
from practice.services import DomainError
from practice.services import checkins as checkin_service
from practice.services import couples as couple_service
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import PracticeSet, page
from tests.couple_factories import CoupleFactory

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HOURS = [f"{hour:02d}:00" for hour in range(24)]


def couple_form(**overrides) -> dict:
    """Every field of the add form, as a therapist fills it in."""
    data = {
        "label": "Zoë & Sam",
        "presenting_concern": "affair",
        "start_date": "2026-03-02",
        "time_zone": "America/Sao_Paulo",
        "therapist_notes": "Referred by their GP.\nFirst session in March.",
        "checkin_weekday": "",
        "checkin_hour": "",
        "partner1-display_name": "Zoë",
        "partner1-email": "zoe@example.com",
        "partner1-repair_role": "hurt",
        "partner1-time_zone": "America/Sao_Paulo",
        "partner2-display_name": "Sam",
        "partner2-email": "sam@example.com",
        "partner2-repair_role": "broke_trust",
        "partner2-time_zone": "Europe/Berlin",
    }
    data.update(overrides)
    return data


def edit_form(**overrides) -> dict:
    data = couple_form(status="active")
    data.update(overrides)
    return data


class Options(HTMLParser):
    """Each select of a page: its options as (value, label) in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.selects: dict[str, list[tuple[str, str]]] = {}
        self._select: str | None = None
        self._option: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs.get("name")
            self.selects[self._select] = []
        elif tag == "option" and self._select:
            self._option = [attrs.get("value", ""), ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            self.selects[self._select].append((self._option[0], self._option[1].strip()))
            self._option = None
        elif tag == "select":
            self._select = None


def set_practice_default(practice: PracticeSet, weekday: int, hour: int) -> None:
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
        home.checkin_weekday, home.checkin_hour = weekday, hour
    db.session.commit()


def stored(couple_id: int) -> tuple[int | None, int | None]:
    db.session.expire_all()
    with unscoped():
        couple = db.session.get(Couple, couple_id)
        return couple.checkin_weekday, couple.checkin_hour


def added(client, **overrides) -> int:
    response = client.post_form("/couples/new", couple_form(**overrides))
    assert response.status_code == 302, page(response).text[:400]
    return int(re.fullmatch(r"/couples/(\d+)", response.headers["Location"]).group(1))


def chosen(client, couple_id: int) -> tuple[str, str]:
    """The day and hour the edit form shows selected ("" is the practice's default)."""
    response = client.get(f"/couples/{couple_id}/edit")
    assert response.status_code == 200
    shown = page(response)
    return shown.selected["checkin_weekday"], shown.selected["checkin_hour"]


def audit_fields(couple_id: int) -> list[dict]:
    with unscoped():
        return [
            event.details
            for event in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.couple_id == couple_id, AuditEvent.action == "couple.updated")
                .order_by(AuditEvent.id)
            )
        ]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the form ----------------------------------------------------------------------------


def test_the_form_offers_the_practices_default_first_then_each_day_and_hour(
    therapist_client, practice_a
):
    set_practice_default(practice_a, 2, 19)  # Wednesday 19:00
    response = therapist_client.get("/couples/new")
    assert response.status_code == 200
    options = Options(response.get_data(as_text=True)).selects
    assert options["checkin_weekday"] == [
        ("", "The practice's default (Wednesday at 19:00)"),
        *((str(number), day) for number, day in enumerate(DAYS)),
    ]
    assert options["checkin_hour"] == [
        ("", "The practice's default (19:00)"),
        *((str(number), hour) for number, hour in enumerate(HOURS)),
    ]
    shown = page(response)
    assert (shown.selected["checkin_weekday"], shown.selected["checkin_hour"]) == ("", "")
    assert "Weekly check-in" in shown.text
    assert "in the couple's time zone" in shown.text


def test_a_chosen_day_and_hour_are_kept_on_add_and_edit_and_the_default_is_stored_as_none(
    therapist_client, practice_a
):
    couple_id = added(therapist_client, checkin_weekday="2", checkin_hour="7")
    assert stored(couple_id) == (2, 7)
    assert chosen(therapist_client, couple_id) == ("2", "7")

    # A day of its own, the practice's hour: each falls back on its own.
    url = f"/couples/{couple_id}/edit"
    saved = therapist_client.post_form(url, edit_form(checkin_weekday="5", checkin_hour=""))
    assert saved.status_code == 302, page(saved).text[:400]
    assert stored(couple_id) == (5, None)
    assert chosen(therapist_client, couple_id) == ("5", "")

    saved = therapist_client.post_form(url, edit_form(checkin_weekday="", checkin_hour="23"))
    assert saved.status_code == 302
    assert stored(couple_id) == (None, 23)
    assert chosen(therapist_client, couple_id) == ("", "23")

    # Back to the practice's default: nothing stored, so a new default reaches this couple.
    saved = therapist_client.post_form(url, edit_form(checkin_weekday="", checkin_hour=""))
    assert saved.status_code == 302
    assert stored(couple_id) == (None, None)
    assert chosen(therapist_client, couple_id) == ("", "")

    # The trail names what changed, never a value.
    assert [details["fields"] for details in audit_fields(couple_id)] == [
        ["checkin_weekday", "checkin_hour"],
        ["checkin_weekday", "checkin_hour"],
        ["checkin_hour"],
    ]


def test_only_an_hour_on_add_keeps_the_practices_day(therapist_client, practice_a):
    couple_id = added(therapist_client, checkin_weekday="", checkin_hour="0")
    assert stored(couple_id) == (None, 0)
    assert chosen(therapist_client, couple_id) == ("", "0")


@pytest.mark.parametrize("url", ["/couples/new", "edit"])
def test_a_tampered_day_or_hour_is_refused_beside_the_field_and_the_rest_kept(
    therapist_client, practice_a, url
):
    couple_id = None
    if url == "edit":
        couple_id = added(therapist_client, checkin_weekday="1", checkin_hour="8")
        url = f"/couples/{couple_id}/edit"
    typed = edit_form if couple_id else couple_form
    data = typed(
        label="Zoë & Sam, typed again",
        therapist_notes="A note typed before the mistake.",
        checkin_weekday="9",
        checkin_hour="x",
    )

    response = therapist_client.post_form(url, data)

    assert response.status_code == 422, page(response).text[:400]
    shown = page(response)
    assert set(shown.errors) == {"checkin_weekday", "checkin_hour"}, shown.errors
    assert shown.errors["checkin_weekday"] == (
        "Choose a day from the list, or the practice's default."
    )
    assert shown.errors["checkin_hour"] == (
        "Choose an hour from the list, or the practice's default."
    )
    for name in ("label", "start_date", "partner1-display_name", "partner2-email"):
        assert shown.values[name] == data[name], name
    assert shown.values["therapist_notes"] == data["therapist_notes"]
    for name in ("time_zone", "presenting_concern", "partner2-time_zone"):
        assert shown.selected[name] == data[name], name
    if couple_id is None:
        with unscoped():
            assert db.session.scalar(select(Couple.id)) is None
    else:
        assert stored(couple_id) == (1, 8)

    # Each alone, out of range or not a whole hour: still a message, never a 500.
    blank = {"checkin_weekday": "", "checkin_hour": ""}
    for bad in ({"checkin_weekday": "-1"}, {"checkin_hour": "24"}, {"checkin_hour": "7.5"}):
        response = therapist_client.post_form(url, {**data, **blank, **bad})
        assert response.status_code == 422
        assert set(page(response).errors) == {next(iter(bad))}


def test_the_service_refuses_a_day_or_hour_out_of_range_naming_the_field(practice_a):
    with practice_context(practice_a.practice_id):
        couple = CoupleFactory(
            practice=db.session.get(Practice, practice_a.practice_id),
            therapist=db.session.get(User, practice_a.therapist_id),
        )
        actor = db.session.get(User, practice_a.therapist_id)
        for values, field in [
            ({"checkin_weekday": 7}, "checkin_weekday"),
            ({"checkin_weekday": "2"}, "checkin_weekday"),
            ({"checkin_hour": -1}, "checkin_hour"),
            ({"checkin_hour": True}, "checkin_hour"),
        ]:
            with pytest.raises(DomainError) as caught:
                couple_service.update_couple(
                    actor,
                    couple,
                    label=couple.label,
                    presenting_concern=couple.presenting_concern,
                    start_date=couple.start_date,
                    time_zone=couple.time_zone,
                    therapist_notes="",
                    status="active",
                    partners=[
                        couple_service.PartnerDetails(
                            p.display_name, p.email, p.repair_role, p.time_zone
                        )
                        for p in couple.partners
                    ],
                    **values,
                )
            assert caught.value.field == field
        db.session.rollback()


# --- what the setting does -----------------------------------------------------------------


def test_the_check_in_week_follows_the_couples_day_and_hour(therapist_client, practice_a):
    set_practice_default(practice_a, 6, 18)  # Sunday 18:00
    # In Sao Paulo (UTC-3): Wednesday 09:00 there is 12:00 UTC.
    couple_id = added(therapist_client, checkin_weekday="2", checkin_hour="9")
    with practice_context(practice_a.practice_id):
        couple = db.session.get(Couple, couple_id)
        assert checkin_service.week_of(couple, at("2026-12-09T11:59:00")) == date(2026, 12, 2)
        assert checkin_service.week_of(couple, at("2026-12-09T12:00:00")) == date(2026, 12, 9)
        assert checkin_service.opens_at(couple, date(2026, 12, 9)) == at("2026-12-09T12:00:00")

    # Its own day, the practice's hour: Wednesday 18:00 there, 21:00 UTC.
    url = f"/couples/{couple_id}/edit"
    assert therapist_client.post_form(url, edit_form(checkin_weekday="2")).status_code == 302
    with practice_context(practice_a.practice_id):
        couple = db.session.get(Couple, couple_id)
        assert checkin_service.week_of(couple, at("2026-12-09T20:59:00")) == date(2026, 12, 2)
        assert checkin_service.opens_at(couple, date(2026, 12, 9)) == at("2026-12-09T21:00:00")

    # Back to the practice's default: Sunday 18:00 there, 21:00 UTC.
    assert therapist_client.post_form(url, edit_form()).status_code == 302
    with practice_context(practice_a.practice_id):
        couple = db.session.get(Couple, couple_id)
        assert checkin_service.week_of(couple, at("2026-12-09T12:00:00")) == date(2026, 12, 6)
        assert checkin_service.opens_at(couple, date(2026, 12, 6)) == at("2026-12-06T21:00:00")


def test_the_couple_page_says_when_check_ins_open(therapist_client, practice_a):
    set_practice_default(practice_a, 6, 18)
    couple_id = added(therapist_client)
    url = f"/couples/{couple_id}"
    assert (
        "Check-ins open Sunday at 18:00 (America/Sao Paulo), the practice's default."
        in page(therapist_client.get(url)).text
    )

    therapist_client.post_form(f"{url}/edit", edit_form(checkin_weekday="0", checkin_hour="7"))
    assert (
        "Check-ins open Monday at 07:00 (America/Sao Paulo)."
        in page(therapist_client.get(url)).text
    )

    therapist_client.post_form(f"{url}/edit", edit_form(checkin_weekday="4"))
    assert (
        "Check-ins open Friday at 18:00 (America/Sao Paulo); the hour is the practice's default."
        in page(therapist_client.get(url)).text
    )


def test_a_therapist_not_assigned_to_the_couple_gets_404_on_its_form(therapist_client, practice_a):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        couple_id = CoupleFactory(practice=home, therapist=None).id
    db.session.commit()
    url = f"/couples/{couple_id}/edit"
    assert therapist_client.get(url).status_code == 404
    assert therapist_client.post_form(url, edit_form(checkin_weekday="3")).status_code == 404
    assert stored(couple_id) == (None, None)

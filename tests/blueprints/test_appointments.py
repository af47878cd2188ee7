"""Therapy sessions ("sessions" on the page, `Appointment` in code), through the real form.

A therapist records a session on the couple's page, the time typed in the couple's zone;
everything typed comes back on the couple's page and in the edit form. Bad input is refused
beside its field with every word kept; another practice's therapist, and a therapist of the
same practice not assigned to the couple, get 404; the dashboard lists the day's sessions.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import select

from practice.extensions import db
from practice.homework import KINDS
from practice.models import Appointment, Couple, Practice, User
from practice.models.base import utcnow
from practice.services import appointments
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import Page, PracticeSet
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import UserFactory

ZONE = "Asia/Kolkata"  # not the practice's (Europe/London): times are typed in the couple's
NOTES = (
    "  Première séance: «café», “quotes” & 'apostrophes' 💬\n"
    "\tZoë asked about <script>alert('x')</script>\n"
    "\n"
    "après une ligne vide — fin.  "
)
NEXT_STEPS = "Ἀλέξανδρος: write the letter 💌\nSam: bring the questions — all of them"
KIND_KEYS = sorted(KINDS)


class Controls(HTMLParser):
    """The checked radios and checkboxes of a page, by name (a browser would send these)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.checked: dict[str, list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") in ("radio", "checkbox") and "checked" in attrs:
            self.checked.setdefault(attrs["name"], []).append(attrs.get("value", ""))


def add_couple(practice: PracticeSet, therapist_id: int | None = None, **fields) -> CoupleIds:
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
        therapist = db.session.get(User, therapist_id or practice.therapist_id)
    couple = CoupleFactory(practice=home, therapist=therapist, **fields)
    ids = CoupleIds.of(couple)
    db.session.commit()
    return ids


def record(ids: CoupleIds, **details) -> int:
    """A session recorded through the service (set-up for the tests that are not about the
    form itself)."""
    with practice_context(ids.practice_id):
        couple = db.session.get(Couple, ids.id)
        user = db.session.get(User, ids.therapist_ids[0])
        values = {"day": utcnow().date() - timedelta(days=7), "start": time(10, 0)} | details
        appointment = appointments.record(user, couple, appointments.AppointmentDetails(**values))
        db.session.commit()
        return appointment.id


def stored(ids: CoupleIds) -> list[Appointment]:
    with practice_context(ids.practice_id):
        rows = db.session.scalars(
            select(Appointment).where(Appointment.couple_id == ids.id).order_by(Appointment.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def form_values(html: str) -> dict:
    shown = Page(html)
    checked = Controls(html).checked
    return {
        "day": shown.values["day"],
        "start": shown.values["start"],
        "minutes": shown.values["minutes"],
        "attendance": checked.get("attendance", [""])[0],
        "partner_id": checked.get("partner_id", [""])[0],
        "notes": shown.values["notes"],
        "next_steps": shown.values["next_steps"],
        "next_homework": checked.get("next_homework", []),
    }


@pytest.fixture
def couple(practice_a) -> CoupleIds:
    return add_couple(practice_a, time_zone=ZONE, partner1_name="Zoë", partner2_name="Ἀλέξανδρος")


def test_a_session_typed_in_every_field_comes_back_as_typed(therapist_client, couple):
    new_url = f"/couples/{couple.id}/sessions/new"
    blank = get(therapist_client, new_url)
    assert f"Start time (HH:MM, {ZONE})" in Page(blank).text  # the zone is in the label
    values = form_values(blank)
    assert (values["minutes"], values["attendance"]) == ("50", "both")  # the defaults

    typed = {
        "day": "2026-03-03",
        "start": "19:45",
        "minutes": "75",
        "attendance": "one",
        "partner_id": str(couple.partner_ids[1]),
        "notes": NOTES,
        "next_steps": NEXT_STEPS,
        "next_homework": KIND_KEYS[:2],
    }
    made = therapist_client.post_form(new_url, typed)
    assert made.status_code == 302, Page(made.get_data(as_text=True)).text[:400]
    assert made.headers["Location"] == f"/couples/{couple.id}#sessions"

    (appointment,) = stored(couple)
    # Typed in Kolkata's time, stored as the same moment.
    assert appointment.starts_at == datetime(2026, 3, 3, 19, 45, tzinfo=ZoneInfo(ZONE))
    assert appointment.notes == NOTES  # not trimmed: the therapist's own layout

    page = get(therapist_client, f"/couples/{couple.id}")
    text = Page(page).text
    assert "Tue 3 Mar 2026, 19:45 IST" in text  # in the couple's zone, said so
    assert "75 min" in text
    assert "Ἀλέξανδρος only" in text
    for word in NEXT_STEPS.split():
        assert str(escape(word)) in page, word
    assert "alert('x')" not in page  # the private notes stay in the edit form
    edit_url = f"/couples/{couple.id}/sessions/{appointment.id}/edit"
    assert f'href="{edit_url}"' in page

    edit = get(therapist_client, edit_url)
    assert "<script>alert" not in edit
    assert form_values(edit) == typed

    # Edited: every field again, with other values.
    typed = {
        "day": "2026-03-10",
        "start": "07:05",
        "minutes": "480",
        "attendance": "both",
        "partner_id": "",
        "notes": "Deux lignes\r\nici 🌧️",
        "next_steps": "",
        "next_homework": KIND_KEYS[-1:],
    }
    saved = therapist_client.post_form(edit_url, typed)
    assert saved.status_code == 302, Page(saved.get_data(as_text=True)).text[:400]
    assert form_values(get(therapist_client, edit_url)) == typed  # a browser's CRLF kept too
    text = Page(get(therapist_client, f"/couples/{couple.id}")).text
    assert "Tue 10 Mar 2026, 07:05 IST" in text
    assert "Both partners" in text
    assert "Next steps" not in text.split("Sessions", 1)[1].split("Homework", 1)[0]


def test_each_session_row_offers_both_copies_of_a_summary(therapist_client, couple):
    first = record(couple, next_steps="Walk together on Sunday.")
    second = record(couple, day=utcnow().date() - timedelta(days=1))
    page = get(therapist_client, f"/couples/{couple.id}")
    section = page.split('id="sessions"', 1)[1].split("</section>", 1)[0]
    # Latest first.
    assert section.index(f'value="{second}"') < section.index(f'value="{first}"')
    forms = section.split("<form")[1:]
    assert len(forms) == 2
    for form, appointment_id in zip(forms, (second, first), strict=True):
        assert f'action="/reports/couples/{couple.id}/prepare"' in form
        assert 'name="csrf_token"' in form
        assert f'name="appointment_id" value="{appointment_id}"' in form
        assert 'name="audience" value="therapist"' in form and "Therapist copy" in form
        assert 'name="audience" value="couple"' in form and "Couple copy" in form
    assert "Walk together on Sunday." in section


TYPED = {
    "day": "2026-04-07",
    "start": "18:30",
    "minutes": "50",
    "attendance": "both",
    "partner_id": "",
    "notes": NOTES,
    "next_steps": NEXT_STEPS,
    "next_homework": KIND_KEYS[:1],
}
START = "Enter the start time as HH:MM, e.g. 14:30."
MINUTES = "A session lasts between 5 and 480 minutes."
PARTNER = "Choose which partner came."
BAD = {
    "start out of the clock": ({"start": "25:99"}, "start", START),
    "start in words": ({"start": "half past six"}, "start", START),
    "no start": ({"start": ""}, "start", START),
    "no such day": ({"day": "2026-02-30"}, "day", "Enter the day of the session"),
    "minutes 0": ({"minutes": "0"}, "minutes", MINUTES),
    "minutes 9999": ({"minutes": "9999"}, "minutes", MINUTES),
    "minutes in words": ({"minutes": "fifty"}, "minutes", "whole minutes"),
    "one partner, but which": ({"attendance": "one"}, "partner_id", PARTNER),
    "one partner, not a number": (
        {"attendance": "one", "partner_id": "Zoë"},
        "partner_id",
        PARTNER,
    ),
    "unknown homework": (
        {"next_homework": ["no_such_kind"]},
        "next_homework",
        "Choose homework from the list.",
    ),
    "unknown attendance": ({"attendance": "everyone"}, "attendance", "Choose who came"),
    "a control character": ({"notes": "kept\x07 out"}, "notes", "control"),
    "too long": ({"next_steps": "n" * 20001}, "next_steps", "Keep this under 20,000"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_beside_its_field_keeping_every_word(therapist_client, couple, case):
    bad, field, message = BAD[case]
    response = therapist_client.post_form(f"/couples/{couple.id}/sessions/new", TYPED | bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, Page(html).text[:400]
    shown = Page(html)
    assert message.lower() in shown.errors.get(field, "").lower(), shown.errors
    assert len(shown.errors) == 1, shown.errors
    back = form_values(html)
    offered = {
        "attendance": {"both", "one", "notes"},
        "partner_id": {str(p) for p in couple.partner_ids},
        "next_homework": set(KINDS),
    }
    for name, value in (TYPED | bad).items():
        values = set(value) if isinstance(value, list) else {value}
        if name in bad and name in offered and not values <= offered[name]:
            continue  # a choice that is not offered cannot be shown checked
        assert back[name] == value, name
    assert stored(couple) == []


def test_every_problem_is_named_at_once(therapist_client, couple):
    """A missing partner is said beside the other mistakes, not after they are fixed."""
    bad = {"attendance": "one", "minutes": "0", "start": "7pm"}
    response = therapist_client.post_form(f"/couples/{couple.id}/sessions/new", TYPED | bad)
    assert response.status_code == 422
    errors = Page(response.get_data(as_text=True)).errors
    assert errors == {"partner_id": PARTNER, "minutes": MINUTES, "start": START}


def test_a_partner_of_another_couple_is_refused(therapist_client, couple, practice_a):
    other = add_couple(practice_a)
    response = therapist_client.post_form(
        f"/couples/{couple.id}/sessions/new",
        TYPED | {"attendance": "one", "partner_id": str(other.partner_ids[0])},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert Page(html).errors["partner_id"] == PARTNER
    assert form_values(html)["notes"] == NOTES
    assert stored(couple) == []


def test_a_refused_edit_keeps_the_words_and_changes_nothing(therapist_client, couple, practice_a):
    appointment_id = record(couple, notes="As first written.")
    other = add_couple(practice_a)
    url = f"/couples/{couple.id}/sessions/{appointment_id}/edit"
    for bad, field, message in (
        ({"minutes": "0"}, "minutes", MINUTES),  # refused by the form
        # Refused by the service, after the form let it through: nothing of it is kept.
        ({"attendance": "one", "partner_id": str(other.partner_ids[1])}, "partner_id", PARTNER),
    ):
        response = therapist_client.post_form(url, TYPED | bad)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert Page(html).errors == {field: message}
        assert form_values(html)["notes"] == NOTES
        assert "Edit the session of " in Page(html).text
    (appointment,) = stored(couple)
    assert (appointment.notes, appointment.minutes) == ("As first written.", 50)


def test_deleting_asks_first_and_removes_the_session(therapist_client, couple):
    appointment_id = record(couple)
    edit_url = f"/couples/{couple.id}/sessions/{appointment_id}/edit"
    delete_url = f"/couples/{couple.id}/sessions/{appointment_id}/delete"
    edit = get(therapist_client, edit_url)
    form = edit.split(f'action="{delete_url}"', 1)[1].split(">", 1)[0]
    assert "data-confirm=" in form

    assert therapist_client.post(delete_url).status_code == 400  # no CSRF token: nothing done
    assert len(stored(couple)) == 1
    deleted = therapist_client.post_form(delete_url)
    assert deleted.status_code == 302
    assert stored(couple) == []
    assert therapist_client.get(edit_url).status_code == 404
    assert "No sessions recorded yet." in Page(get(therapist_client, f"/couples/{couple.id}")).text


def test_a_closed_couple_gets_no_new_session(therapist_client, couple):
    with practice_context(couple.practice_id):
        db.session.get(Couple, couple.id).status = "closed"
        db.session.commit()
    page = get(therapist_client, f"/couples/{couple.id}")
    assert "Record a session" not in page
    new_url = f"/couples/{couple.id}/sessions/new"
    for response in (therapist_client.get(new_url), therapist_client.post_form(new_url, TYPED)):
        assert response.status_code == 302
        assert response.headers["Location"] == f"/couples/{couple.id}#sessions"
    assert stored(couple) == []


def test_out_of_reach_sessions_answer_404(make_client, practice_a, practice_b, couple):
    appointment_id = record(couple, notes="Private to this couple's therapists.")
    elsewhere = add_couple(practice_a)  # the same therapist's other couple
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
    unassigned = UserFactory(practice=home)
    unassigned_email = unassigned.email
    db.session.commit()
    base = f"/couples/{couple.id}/sessions"
    urls = [
        ("GET", f"{base}/new"),
        ("POST", f"{base}/new"),
        ("GET", f"{base}/{appointment_id}/edit"),
        ("POST", f"{base}/{appointment_id}/edit"),
        ("POST", f"{base}/{appointment_id}/delete"),
    ]
    for email in (practice_b.therapist_email, practice_b.owner_email, unassigned_email):
        outsider = make_client()
        outsider.login(email)
        for method, url in urls:
            response = outsider.get(url) if method == "GET" else outsider.post_form(url, TYPED)
            assert response.status_code == 404, (email, method, url, response.status_code)
            assert "Private to this" not in response.get_data(as_text=True)

    # Under another couple's URL, the session names nothing, even for its own therapist.
    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    other_base = f"/couples/{elsewhere.id}/sessions/{appointment_id}"
    assert therapist.get(f"{other_base}/edit").status_code == 404
    assert therapist.post_form(f"{other_base}/delete").status_code == 404
    (kept,) = stored(couple)
    assert kept.notes == "Private to this couple's therapists."


def test_the_dashboard_lists_the_days_sessions(therapist_client, practice_a):
    london = ZoneInfo("Europe/London")  # the practice's zone, and this couple's
    today = utcnow().astimezone(london).date()
    ours = add_couple(practice_a, label="Zoë & Ἀλέξανδρος")
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
    other_therapist = add_couple(practice_a, UserFactory(practice=home).id, label="Not yours")
    # Recorded through the form, as a therapist does.
    typed = TYPED | {"day": today.isoformat(), "start": "12:15", "minutes": "45"}
    typed |= {"attendance": "one", "partner_id": str(ours.partner_ids[0])}
    made = therapist_client.post_form(f"/couples/{ours.id}/sessions/new", typed)
    assert made.status_code == 302
    record(ours, day=today - timedelta(days=1), start=time(12, 15))  # yesterday
    record(other_therapist, day=today, start=time(9, 0))

    html = get(therapist_client, "/dashboard")
    card = html.split('id="sessions-today-heading"', 1)[1].split("</section>", 1)[0]
    text = Page(card).text
    moment = datetime.combine(today, time(12, 15), tzinfo=london)
    assert f"12:15 {moment.tzname()}" in text
    assert f'href="/couples/{ours.id}#sessions"' in card
    assert str(escape("Zoë & Ἀλέξανδρος")) in card
    assert "Zoë" in text and "only" in text and "45 min" in text
    assert card.count("<li") == 1  # not yesterday's, nor another therapist's couple's
    assert "Not yours" not in html


def test_a_day_without_sessions_says_so(therapist_client, couple):
    record(couple, day=utcnow().date() - timedelta(days=3))
    html = get(therapist_client, "/dashboard")
    assert "No sessions recorded for today." in Page(html).text

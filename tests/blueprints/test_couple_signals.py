""" "When more help may be needed" through the real pages: the couple page shows the couple's
therapist each sign with its evidence (or a calm line), a therapist without access gets a 404,
the partners never see any of it in the portal, and only the therapist's copy of a session
summary has it.

The couple's weeks are written through the same service calls the portal's forms use.
"""

from __future__ import annotations

import io
import re
from datetime import time, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from practice.extensions import db
from practice.models import Couple, Partner, Practice, User
from practice.models.base import utcnow
from practice.models.checkin import SafetyFlag
from practice.services import appointments, checkins, portal_access, safety, signals
from practice.services import homework as hw
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import UserFactory

DRUNK_WEEK = "We argued again after Lee came home drunk on Saturday."
BLAMING = {
    "what_i_did": "I lied to you for months about the messages I was sending.",
    "how_it_hurt": "It made you doubt your own memory and feel alone in our home.",
    "responsibility": "You made me do it, because I was drunk that night.",
    "amends": "I will show you my phone every Sunday evening for the next 3 months.",
}
TITLES = [rule.title for rule in signals.RULES]
HEADING = "When more help may be needed"


def add_couple(practice_id: int, therapist_id: int | None) -> CoupleIds:
    with unscoped():
        home = db.session.get(Practice, practice_id)
        therapist = db.session.get(User, therapist_id) if therapist_id else None
    ids = CoupleIds.of(
        CoupleFactory(practice=home, therapist=therapist, partner1_name="Kim", partner2_name="Lee")
    )
    db.session.commit()
    return ids


def hand_in(partner: Partner, weeks_ago: int, fields: dict, items: dict | None = None) -> None:
    """A check-in handed in `weeks_ago` weeks back, as the portal's form posts it."""
    moment = utcnow() - timedelta(weeks=weeks_ago, hours=1)
    checkin = checkins.current(partner, moment)
    checkins.submit(partner, checkin, form=MultiDict(fields), base_version=0, now=moment)
    if items:
        safety.record_checkin_items(partner, checkin, items, link="/couples", now=moment)


@pytest.fixture
def story(practice_a) -> CoupleIds:
    """Kim (hurt) rates the same argument back most days for three weeks, writes that Lee came
    home drunk, and answers "not sure" to feeling safe at home; Lee (broke trust) hands in an
    apology that blames and excuses."""
    ids = add_couple(practice_a.practice_id, practice_a.therapist_id)
    with practice_context(ids.practice_id):
        kim, lee = (db.session.get(Partner, pid) for pid in ids.partner_ids)
        for weeks_ago in (2, 1):
            hand_in(kim, weeks_ago, {"marker-same_fight": "1"})
        hand_in(
            kim,
            0,
            {"marker-same_fight": "2", "checkin-facts": DRUNK_WEEK},
            {"safe_at_home": "not_sure", "feel_heard": "yes"},
        )
        therapist = db.session.get(User, practice_a.therapist_id)
        (response,) = hw.assign(
            therapist,
            db.session.get(Couple, ids.id),
            kind_key="apology",
            mode="one",
            partner_id=lee.id,
            instructions="",
            due_date=None,
        ).responses
        hw.submit(lee, response, content=BLAMING, base_version=0)
        db.session.commit()
    return ids


def week_link(ids: CoupleIds) -> str:
    with practice_context(ids.practice_id):
        week = checkins.week_of(db.session.get(Couple, ids.id))
    return f"/couples/{ids.id}/checkins?week={week.isoformat()}"


def card(html: str) -> str:
    """The card's HTML, from its heading to the end of its section."""
    start = html.index('id="more-help"')
    return html[start : html.index("</section>", start)]


def test_the_couples_therapist_sees_each_sign_with_its_evidence(therapist_client, story):
    response = therapist_client.get(f"/couples/{story.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = card(html)
    text = page(response).text
    assert HEADING in text
    for title in TITLES:
        assert title in text, title
    # Which check-ins (a link to the week, the partner and the rating), which answers, which
    # piece of work.
    assert week_link(story) in shown
    assert "“The same argument again”: 1 of 5 (“most days”)" in text
    assert "“The same argument again”: 2 of 5" in text
    assert "“drunk” in the week: “We argued again after Lee came home drunk on Saturday”" in text
    with unscoped():
        flag = db.session.scalar(select(SafetyFlag))
    assert f'href="/couples/{story.id}/safety#flag-{flag.id}"' in shown
    assert "“I feel safe at home”: not sure (its flag is open)" in text
    assert "the coach found “You made me”, “because I was drunk”" in text
    assert re.search(rf'href="/couples/{story.id}/homework/\d+">Apology draft</a>', shown)
    assert "Kim" in shown and "Lee" in shown
    # Prompts, never decisions; the thresholds are on the page.
    assert "Worth asking" in text and "Consider whether" in text
    assert "3 of their last 4 check-ins" in text
    assert shown.count("<details") == len(TITLES) + 1  # the evidence folds away, and the rules


def test_a_couple_with_nothing_to_show_gets_a_calm_line_and_what_was_looked_at(
    therapist_client, practice_a
):
    ids = add_couple(practice_a.practice_id, practice_a.therapist_id)
    text = page(therapist_client.get(f"/couples/{ids.id}")).text
    assert HEADING in text
    assert (
        "None of these signs shows so far in the check-ins handed in over the last "
        f"{signals.WINDOW_WEEKS} weeks, the safety answers, or the homework handed in." in text
    )
    assert "How each sign is found" in text
    assert "The evidence" not in text


def test_a_therapist_without_access_to_the_couple_gets_a_404(
    make_client, practice_a, practice_b, story
):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        colleague = UserFactory(practice=home)
        email = colleague.email
    db.session.commit()
    for login in (email, practice_b.therapist_email, practice_b.owner_email):
        client = make_client()
        client.login(login)
        assert client.get(f"/couples/{story.id}").status_code == 404, login


class Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        parts = urlsplit(href or "")
        if href and parts.path.startswith("/portal"):
            self.hrefs.append(parts.path + (f"?{parts.query}" if parts.query else ""))


def portal_pages(client) -> dict[str, str]:
    """Every portal page reachable from the partner's home, by its path."""
    queue, seen = ["/portal"], {}
    while queue:
        url = queue.pop(0)
        if url in seen or "exit" in url or "lock" in url or "sign-out" in url:
            continue
        response = client.get(url)
        seen[url] = response.get_data(as_text=True)
        if response.mimetype == "text/html":
            queue += Links(seen[url]).hrefs
    return seen


def test_a_partner_never_sees_any_of_it_in_the_portal(make_client, story):
    for position in (1, 2):
        with practice_context(story.practice_id):
            partner = db.session.get(Partner, story.partner_ids[position - 1])
            therapist = db.session.get(User, story.therapist_ids[0])
            _, token = portal_access.create_invite(therapist, partner, email_it=False)
            db.session.commit()
        client = make_client()
        assert client.post_form(f"/p/{token}").status_code == 302
        if client.get("/portal").status_code == 302:
            assert client.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
        pages = portal_pages(client)
        assert {"/portal", "/portal/checkin", "/portal/trends"} <= set(pages)
        for url, html in pages.items():
            for words in (HEADING, *TITLES, "Worth asking", "the coach found", "its flag"):
                assert words not in html, (url, words)
        assert client.get(f"/couples/{story.id}").status_code in (302, 404)


def pdf_text(client, ids: CoupleIds, audience: str, appointment_id: int) -> str:
    prepared = client.post_form(
        f"/reports/couples/{ids.id}/prepare",
        {"audience": audience, "appointment_id": str(appointment_id)},
    )
    assert prepared.status_code == 302, page(prepared).text[:300]
    download = client.get(f"{prepared.headers['Location']}/download")
    assert download.status_code == 200
    pages = PdfReader(io.BytesIO(download.data)).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def test_only_the_therapists_copy_of_a_summary_has_the_signs(therapist_client, story, reports_path):
    with practice_context(story.practice_id):
        appointment = appointments.record(
            db.session.get(User, story.therapist_ids[0]),
            db.session.get(Couple, story.id),
            appointments.AppointmentDetails(day=utcnow().date(), start=time(9, 0)),
        )
        appointment_id = appointment.id
        db.session.commit()
    therapist_copy = pdf_text(therapist_client, story, "therapist", appointment_id)
    assert HEADING in therapist_copy
    assert "The same argument keeps coming back" in therapist_copy
    assert "came home drunk on Saturday" in therapist_copy
    assert "1 of 5" in therapist_copy
    couple_copy = pdf_text(therapist_client, story, "couple", appointment_id)
    for words in (HEADING, *TITLES, "drunk", "1 of 5", "the coach found"):
        assert words not in couple_copy, words

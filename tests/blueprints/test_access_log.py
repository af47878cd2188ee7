"""The practice's access log: the owner reads who did what and when, filters it, and downloads
it as CSV (the download is logged too). It never shows what anyone wrote, a spreadsheet never
runs a name as a formula, and to everyone but the owner it does not exist."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from practice.extensions import db
from practice.models import AuditEvent, Practice, User
from practice.models.base import utcnow
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.couple_factories import CoupleFactory, CoupleIds

SECRET = "words a partner typed that no log may hold"


def _couple(practice_a, label: str) -> CoupleIds:
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        therapist = db.session.get(User, practice_a.therapist_id)
    ids = CoupleIds.of(CoupleFactory(practice=home, therapist=therapist, label=label))
    db.session.commit()
    return ids


def _add_note(client, couple_id: int) -> None:
    """Something a therapist does that the couple's trail records: add an agreement."""
    response = client.post_form(
        f"/couples/{couple_id}/agreements",
        {"domain": "communication", "text": SECRET, "time_frame": "", "review_date": ""},
    )
    assert response.status_code == 302, page(response).text


def test_the_owner_reads_filters_and_downloads_the_log(owner_client, therapist_client, practice_a):
    harbour = _couple(practice_a, '=HYPERLINK("http://evil.test")')
    _couple(practice_a, "Quiet couple")
    _add_note(therapist_client, harbour.id)

    shown = page(owner_client.get("/settings/audit"))
    assert "Access log" in shown.text
    assert "signed in" in shown.text  # the sign-ins of both
    assert practice_a.therapist_name in shown.text
    assert SECRET not in owner_client.get("/settings/audit").get_data(as_text=True)

    # By person: only the therapist's own actions.
    mine = page(owner_client.get(f"/settings/audit?therapist={practice_a.therapist_id}"))
    assert practice_a.therapist_name in mine.text
    with unscoped():
        owner_name = db.session.get(User, practice_a.owner_id).name
    table = mine.text.split("When Who What Couple", 1)[1]  # the rows, not the filter's choices
    assert practice_a.therapist_name in table and owner_name not in table
    # By area and by couple.
    sign_ins = page(owner_client.get("/settings/audit?area=auth"))
    assert "signed in" in sign_ins.text and "added an agreement" not in sign_ins.text
    by_couple = page(owner_client.get(f"/settings/audit?couple={harbour.id}"))
    assert "added an agreement" in by_couple.text and "signed in" not in by_couple.text
    # By days: tomorrow onwards holds nothing yet.
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    assert (
        "Nothing recorded for these filters"
        in page(owner_client.get(f"/settings/audit?since={tomorrow}")).text
    )

    download = owner_client.get(f"/settings/audit.csv?couple={harbour.id}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["time", "who", "action", "what", "couple"]
    assert any(row[2] == "agreement.added" for row in rows[1:])
    assert all(row[4] == '\'=HYPERLINK("http://evil.test")' for row in rows[1:])
    assert SECRET not in download.get_data(as_text=True)
    with unscoped():
        exported = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.exported")
        ).all()
    assert [event.actor_user_id for event in exported] == [practice_a.owner_id]
    assert exported[0].details == {"rows": len(rows) - 1}


def test_filters_that_make_no_sense_are_reset_in_words(owner_client):
    for query in (
        "since=2026-13-40",
        "since=2026-11-20&until=2026-11-01",
        "therapist=999999",
        "area=nonsense",
        "couple=99999999999",
        "page=0",
    ):
        response = owner_client.get(f"/settings/audit?{query}")
        assert response.status_code == 302, query
        assert "Some filters were not understood" in page(owner_client.get(response.location)).text


def test_only_the_owner_has_the_log(therapist_client):
    assert therapist_client.get("/settings/audit").status_code == 404
    assert therapist_client.get("/settings/audit.csv").status_code == 404


def test_reading_a_couples_records_is_logged_and_the_page_keeps_to_what_was_done(
    owner_client, therapist_client, practice_a
):
    ids = _couple(practice_a, "Read couple")
    for url in (
        f"/couples/{ids.id}",
        f"/couples/{ids.id}/checkins",
        f"/couples/{ids.id}/safety",
        f"/couples/{ids.id}/trends",
    ):
        assert therapist_client.get(url).status_code == 200, url
    with unscoped():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.couple_id == ids.id, AuditEvent.action.like("%.viewed"))
            .order_by(AuditEvent.id)
        ).all()
    assert [row.action for row in rows] == [
        "couple.viewed",
        "checkin.viewed",
        "safety.viewed",
        "trends.viewed",
    ]
    assert {row.actor_user_id for row in rows} == {practice_a.therapist_id}
    assert all(not row.details for row in rows)  # who and when; never what was on the page

    log = page(owner_client.get(f"/settings/audit?couple={ids.id}&area=safety"))
    assert "read the couple's safety answers" in log.text
    # The couple's own page lists what was done to its records, not every reading of them.
    couple_page = page(owner_client.get(f"/couples/{ids.id}"))
    assert "opened the couple's page" not in couple_page.text
    assert "added the couple" in couple_page.text or "Recent activity" in couple_page.text

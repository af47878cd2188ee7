"""A couple's whole record through HTTP: the owner's export (page, progress, JSON status,
download), closing with a scheduled deletion and cancelling it, and the practice's retention
setting through its form. Everyone but the owner is answered 404.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.models import AuditEvent, Couple, Practice, User
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import PracticeSet, page
from tests.couple_factories import CoupleFactory


@pytest.fixture
def couple_id(practice_a: PracticeSet, reports_path) -> int:
    """A couple of practice A, assigned to its everyday therapist."""
    with unscoped():
        therapist = db.session.get(User, practice_a.therapist_id)
    couple = CoupleFactory(therapist=therapist, label="Kim & Lee")
    db.session.commit()
    return couple.id


def couple_row(practice: PracticeSet, couple_id: int) -> dict:
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        db.session.refresh(couple)
        return {"status": couple.status, "deletion_due_at": couple.deletion_due_at}


def actions(practice: PracticeSet, couple_id: int | None = None) -> list[str]:
    with practice_context(practice.practice_id):
        statement = select(AuditEvent.action).order_by(AuditEvent.id)
        if couple_id is not None:
            statement = statement.where(AuditEvent.couple_id == couple_id)
        return list(db.session.scalars(statement))


def set_retention(practice: PracticeSet, days: int | None) -> None:
    with unscoped():
        db.session.get(Practice, practice.practice_id).closed_record_retention_days = days
    db.session.commit()


# -- the export -------------------------------------------------------------------------------


def test_the_owner_exports_a_couple_and_downloads_the_zip(owner_client, practice_a, couple_id):
    shown = page(owner_client.get(f"/couples/{couple_id}")).text
    assert "Export the whole record" in shown

    first = owner_client.get(f"/couples/{couple_id}/export")
    assert first.status_code == 200
    assert "Make the export" in page(first).text
    none = owner_client.get(f"/couples/{couple_id}/export/status")
    assert none.get_json() == {"state": "none", "download": None}
    early = owner_client.get(f"/couples/{couple_id}/export/download")
    assert early.status_code == 302  # nothing to download yet: back to the page

    made = owner_client.post_form(f"/couples/{couple_id}/export")
    assert made.status_code == 302
    assert made.headers["Location"] == f"/couples/{couple_id}/export"
    ready = page(owner_client.get(made.headers["Location"])).text
    assert "Ready" in ready and "Download the zip" in ready

    status = owner_client.get(f"/couples/{couple_id}/export/status")
    assert "no-store" in status.headers["Cache-Control"]
    answer = status.get_json()
    assert (answer["state"], answer["download"]) == (
        "done",
        f"/couples/{couple_id}/export/download",
    )

    download = owner_client.get(answer["download"])
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    assert "no-store" in download.headers["Cache-Control"]
    assert "record-kim-lee-" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert archive.namelist() == ["record.json", "homework-and-checkins.pdf", "README.txt"]
    record = json.loads(archive.read("record.json"))
    assert record["couple"]["label"] == "Kim & Lee"
    assert archive.read("homework-and-checkins.pdf").startswith(b"%PDF")

    trail = actions(practice_a, couple_id)
    assert trail.count("couple.export_requested") == 1
    assert trail.count("couple.export_downloaded") == 1


def test_a_therapist_and_another_practice_get_404(
    therapist_client, make_client, practice_a, practice_b, couple_id
):
    assert "Export the whole record" not in page(therapist_client.get(f"/couples/{couple_id}")).text
    outsider = make_client()
    outsider.login(practice_b.owner_email)
    for client in (therapist_client, outsider):
        for url in ("", "/status", "/download"):
            assert client.get(f"/couples/{couple_id}/export{url}").status_code == 404
        assert client.post_form(f"/couples/{couple_id}/export").status_code == 404
    assert "couple.export_requested" not in actions(practice_a)


# -- closing, scheduling and cancelling the deletion ------------------------------------------


def test_the_owner_closes_with_a_scheduled_deletion_and_cancels_it(
    owner_client, practice_a, couple_id
):
    set_retention(practice_a, 7 * 366)
    close = page(owner_client.get(f"/couples/{couple_id}/close")).text
    assert "First: a final export" in close
    assert (
        "Schedule deletion of this record after the practice's retention period (7 years, on"
        in (close)
    )

    response = owner_client.post_form(f"/couples/{couple_id}/close", {"schedule_deletion": "y"})
    assert response.status_code == 302
    row = couple_row(practice_a, couple_id)
    assert row["status"] == "closed" and row["deletion_due_at"] is not None
    day = row["deletion_due_at"].strftime("%-d %B %Y")
    shown = page(owner_client.get(f"/couples/{couple_id}")).text
    assert f"Its record is scheduled for deletion on {day}." in shown
    assert f"Scheduled for deletion on {day}" in shown
    assert "Cancel the deletion" in shown

    cancelled = owner_client.post_form(f"/couples/{couple_id}/deletion/cancel")
    assert cancelled.status_code == 302
    shown = page(owner_client.get(f"/couples/{couple_id}")).text
    assert "its deletion is cancelled" in shown
    assert "Not scheduled for deletion: the record is kept." in shown
    assert couple_row(practice_a, couple_id)["deletion_due_at"] is None

    # Scheduled again from the couple's page, then the case reopened: cancelled too.
    assert owner_client.post_form(f"/couples/{couple_id}/deletion").status_code == 302
    assert couple_row(practice_a, couple_id)["deletion_due_at"] is not None
    owner_client.post_form(f"/couples/{couple_id}/reopen")
    assert couple_row(practice_a, couple_id) == {"status": "active", "deletion_due_at": None}
    trail = actions(practice_a, couple_id)
    assert trail.count("couple.deletion_scheduled") == 2
    assert trail.count("couple.deletion_cancelled") == 2


def test_closing_without_a_retention_period_offers_no_deletion(owner_client, practice_a, couple_id):
    close = page(owner_client.get(f"/couples/{couple_id}/close")).text
    assert "Schedule deletion" not in close
    assert "keeps closed records until someone deletes them by hand" in close
    assert owner_client.post_form(f"/couples/{couple_id}/close").status_code == 302
    shown = page(owner_client.get(f"/couples/{couple_id}")).text
    assert "Not scheduled for deletion: the record is kept." in shown
    assert "Choose a retention period" in shown
    refused = owner_client.post_form(f"/couples/{couple_id}/deletion")
    assert refused.status_code == 302
    assert (
        "Choose a retention period in the practice settings first"
        in page(owner_client.get(f"/couples/{couple_id}")).text
    )
    assert couple_row(practice_a, couple_id)["deletion_due_at"] is None


def test_a_therapist_closes_but_cannot_schedule_a_deletion(therapist_client, practice_a, couple_id):
    set_retention(practice_a, 30)
    close = page(therapist_client.get(f"/couples/{couple_id}/close")).text
    assert "Schedule deletion" not in close
    assert "The practice owner can export it and schedule its deletion." in close
    refused = therapist_client.post_form(f"/couples/{couple_id}/close", {"schedule_deletion": "y"})
    assert refused.status_code == 404
    assert couple_row(practice_a, couple_id)["status"] == "active"
    assert therapist_client.post_form(f"/couples/{couple_id}/close").status_code == 302
    assert therapist_client.post_form(f"/couples/{couple_id}/deletion").status_code == 404
    assert couple_row(practice_a, couple_id) == {"status": "closed", "deletion_due_at": None}
    shown = page(therapist_client.get(f"/couples/{couple_id}")).text
    assert "Not scheduled for deletion: the record is kept." in shown
    assert "Schedule its deletion" not in shown


# -- the retention setting --------------------------------------------------------------------


def test_the_retention_period_round_trips_through_its_form(owner_client, practice_a):
    assert page(owner_client.get("/settings/practice")).checked["retention"] == "keep"
    saved = owner_client.post_form("/settings/retention", {"retention": "2562"})
    assert saved.status_code == 302
    again = page(owner_client.get("/settings/practice"))
    assert again.checked["retention"] == "2562"
    assert "Closed records: 7 years." in again.text
    assert "Many jurisdictions require" in again.text
    assert "couple.deletion" not in actions(practice_a)
    assert "practice.retention_changed" in actions(practice_a)

    for bad in ("45", "", "forever"):
        refused = owner_client.post_form("/settings/retention", {"retention": bad})
        assert refused.status_code == 422
        shown = page(refused)
        assert shown.errors["retention"] == "Choose how long to keep closed records from the list."
    assert page(owner_client.get("/settings/practice")).checked["retention"] == "2562"

    owner_client.post_form("/settings/retention", {"retention": "keep"})
    with unscoped():
        practice = db.session.get(Practice, practice_a.practice_id)
        db.session.refresh(practice)
        assert practice.closed_record_retention_days is None


def test_a_therapist_cannot_set_the_retention_period(therapist_client, practice_a):
    assert therapist_client.post_form("/settings/retention", {"retention": "30"}).status_code == 404

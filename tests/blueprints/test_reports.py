"""Session summaries through their pages: asked for with the real forms, followed on the page
and its status endpoint, downloaded (audited), previewed, shared with the couple and taken
back, read in the portal; and a week's summaries as one zip.

Jobs run inline here (no Redis, as on a laptop): the summary is made in the request that asks
for it, so the page it redirects to offers the download. The queue's path is tested in
tests/jobs/test_reports_jobs.py.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import time, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from practice.extensions import db
from practice.models import AuditEvent, Couple, JobRun, Partner, Practice, Report, User
from practice.models.base import utcnow
from practice.services import appointments, portal_access, reports
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.couple_factories import CoupleFactory, CoupleIds

NEXT_STEPS = "Each of you names one small promise — and keeps it. Ünïcode stays."
PRIVATE_NOTES = "Therapist's own observation: the word 'fine' came up eleven times."


@pytest.fixture
def couple(practice_a):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        therapist = db.session.get(User, practice_a.therapist_id)
    ids = CoupleIds.of(CoupleFactory(practice=home, therapist=therapist, label="Harbour & Vale"))
    db.session.commit()
    return ids


def _session(practice_a, ids: CoupleIds, days_ago: int = 3) -> int:
    with practice_context(practice_a.practice_id):
        therapist = db.session.get(User, practice_a.therapist_id)
        couple = db.session.get(Couple, ids.id)
        details = appointments.AppointmentDetails(
            day=(utcnow() - timedelta(days=days_ago)).date(),
            start=time(10, 30),
            notes=PRIVATE_NOTES,
            next_steps=NEXT_STEPS,
            next_homework=["apology"],
        )
        appointment_id = appointments.record(therapist, couple, details).id
    db.session.commit()
    return appointment_id


def _report(report_id: int) -> Report:
    db.session.expire_all()
    with unscoped():
        return db.session.get(Report, report_id)


def _set(report_id: int, *, run: dict, report: dict | None = None) -> None:
    """Put a report and its job run in a given state (what a worker would have written)."""
    db.session.expire_all()
    with unscoped():
        row = db.session.get(Report, report_id)
        for key, value in (report or {}).items():
            setattr(row, key, value)
        job_run = db.session.get(JobRun, row.job_run_id)
        for key, value in run.items():
            setattr(job_run, key, value)
        db.session.commit()


def _prepare(client, couple_id: int, **fields):
    response = client.post_form(f"/reports/couples/{couple_id}/prepare", fields)
    assert response.status_code == 302, page(response).text
    match = re.fullmatch(r"/reports/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def _audits(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    with unscoped():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_session_summary_asked_for_on_the_form_is_ready_to_download(
    therapist_client, practice_a, couple
):
    appointment_id = _session(practice_a, couple)
    report_id = _prepare(
        therapist_client, couple.id, audience="therapist", appointment_id=appointment_id
    )

    response = therapist_client.get(f"/reports/{report_id}")
    shown = page(response)
    assert "Ready" in shown.text and "Download the PDF" in shown.text
    assert 'http-equiv="refresh"' not in response.get_data(as_text=True)  # finished
    status = therapist_client.get(f"/reports/{report_id}/status")
    assert status.json["state"] == "done" and status.json["percent"] == 100
    assert status.json["download"] == f"/reports/{report_id}/download"
    assert "no-store" in status.headers["Cache-Control"]

    download = therapist_client.get(f"/reports/{report_id}/download")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "therapist-copy" in download.headers["Content-Disposition"]
    assert "no-store" in download.headers["Cache-Control"]
    text = _pdf_text(download.data)
    assert "Harbour & Vale" in text and "CONFIDENTIAL" in text.upper()
    assert PRIVATE_NOTES.split(":")[0] in text  # the therapist's copy holds the notes
    [audited] = _audits("report.downloaded")
    assert audited.actor_user_id == practice_a.therapist_id
    assert audited.couple_id == couple.id
    assert audited.details == {"report": report_id, "audience": "therapist"}

    report = _report(report_id)
    assert report.appointment_id == appointment_id
    assert report.stage == "done" and report.size == len(download.data)


def test_a_period_summary_keeps_what_was_typed_when_the_dates_are_wrong(therapist_client, couple):
    form = page(therapist_client.get(f"/reports/couples/{couple.id}/prepare"))
    assert form.values["start"] and form.values["end"]  # the last four weeks, offered

    backwards = therapist_client.post_form(
        f"/reports/couples/{couple.id}/prepare",
        {"audience": "couple", "start": "2026-11-20", "end": "2026-11-01"},
    )
    assert backwards.status_code == 422
    shown = page(backwards)
    assert "The period ends before it starts." in shown.text
    assert shown.values["start"] == "2026-11-20" and shown.values["end"] == "2026-11-01"
    assert shown.checked["audience"] == "couple"

    too_long = page(
        therapist_client.post_form(
            f"/reports/couples/{couple.id}/prepare",
            {"audience": "therapist", "start": "2024-01-01", "end": "2026-11-01"},
        )
    )
    assert "at most 366 days" in too_long.text
    missing = therapist_client.post_form(
        f"/reports/couples/{couple.id}/prepare", {"audience": "therapist", "start": "soon"}
    )
    assert missing.status_code == 422
    assert page(missing).errors["start"] == "Not a valid date value."
    with unscoped():
        assert db.session.scalars(select(Report)).all() == []


def test_the_couple_copy_is_previewed_then_shared_and_the_portal_downloads_it(
    therapist_client, make_client, practice_a, couple
):
    appointment_id = _session(practice_a, couple)
    couple_copy = _prepare(
        therapist_client, couple.id, audience="couple", appointment_id=appointment_id
    )
    therapist_copy = _prepare(
        therapist_client, couple.id, audience="therapist", appointment_id=appointment_id
    )
    preview = therapist_client.get(f"/reports/{couple_copy}/preview")
    assert preview.headers["Content-Disposition"].startswith("inline;")
    text = _pdf_text(preview.data)
    assert NEXT_STEPS.split(" — ")[0] in text
    assert "eleven times" not in text  # the therapist's notes stay out of the couple's copy

    partner_browser = make_client()
    with practice_context(practice_a.practice_id):
        owner = db.session.get(User, practice_a.owner_id)
        first = db.session.get(Partner, couple.partner_ids[0])
        _, token = portal_access.create_invite(owner, first, email_it=False)
        db.session.commit()
    partner_browser.post_form(f"/p/{token}")
    partner_browser.post_form("/portal/privacy", {"understood": "y"})
    assert "Nothing shared yet" in page(partner_browser.get("/portal/summaries")).text
    assert "Session summaries" not in page(partner_browser.get("/portal")).text

    # A therapist copy is never shared.
    refused = therapist_client.post_form(f"/reports/{therapist_copy}/release")
    assert refused.status_code == 302
    assert "Only the couple's copy" in page(therapist_client.get(refused.location)).text
    assert _report(therapist_copy).released_at is None

    shared = therapist_client.post_form(f"/reports/{couple_copy}/release")
    assert "Shared" in page(therapist_client.get(shared.location)).text
    assert len(_audits("report.released")) == 1

    assert "Session summaries" in page(partner_browser.get("/portal")).text
    listing = partner_browser.get("/portal/summaries").get_data(as_text=True)
    [link] = re.findall(r'href="(/portal/summaries/[^"]+)"', listing)
    public_id = _report(couple_copy).public_id
    assert link == f"/portal/summaries/{public_id}.pdf"
    download = partner_browser.get(link)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.data == preview.data  # exactly the copy the therapist read
    partner_download = [
        event for event in _audits("report.downloaded") if event.actor_partner_id is not None
    ]
    assert [event.actor_partner_id for event in partner_download] == [couple.partner_ids[0]]

    # The therapist's copy is not reachable by its public id.
    hidden = _report(therapist_copy).public_id
    assert partner_browser.get(f"/portal/summaries/{hidden}.pdf").status_code == 404

    taken_back = therapist_client.post_form(f"/reports/{couple_copy}/withdraw")
    assert taken_back.status_code == 302
    assert partner_browser.get(link).status_code == 404
    assert "Nothing shared yet" in page(partner_browser.get("/portal/summaries")).text


def test_the_page_says_queued_while_the_job_waits_and_explains_a_failure(
    therapist_client, practice_a, couple
):
    appointment_id = _session(practice_a, couple)
    report_id = _prepare(
        therapist_client, couple.id, audience="therapist", appointment_id=appointment_id
    )
    # As if Redis had been down: the run is still pending and nothing was made.
    _set(report_id, run={"status": "pending"}, report={"stage": "waiting", "rendered_at": None})

    response = therapist_client.get(f"/reports/{report_id}")
    assert "Queued" in page(response).text
    assert '<noscript><meta http-equiv="refresh"' in response.get_data(as_text=True)
    assert therapist_client.get(f"/reports/{report_id}/status").json["state"] == "queued"
    assert therapist_client.get(f"/reports/{report_id}/download").status_code == 404

    # Asking again while it waits attaches to it: no second summary.
    again = _prepare(
        therapist_client, couple.id, audience="therapist", appointment_id=appointment_id
    )
    assert again == report_id

    _set(report_id, run={"status": "running", "attempts": 1}, report={"stage": "rendering"})
    working = therapist_client.get(f"/reports/{report_id}/status").json
    assert working["state"] == "working" and working["stage"] == "rendering"
    assert 0 < working["percent"] < 100
    assert "Laying out the pages" in page(therapist_client.get(f"/reports/{report_id}")).text

    _set(report_id, run={"status": "failed", "error": "MemoryError"})
    failed = page(therapist_client.get(f"/reports/{report_id}"))
    assert "Not made" in failed.text
    assert "grew past the memory a summary may use" in failed.text
    assert "MemoryError" not in failed.text
    # "Try again" asks afresh: a new summary, made now.
    retried = therapist_client.post_form(
        f"/reports/couples/{couple.id}/prepare",
        {"audience": "therapist", "appointment_id": str(appointment_id)},
    )
    new_id = int(retried.location.rsplit("/", 1)[1])
    assert new_id != report_id and _report(new_id).is_ready


def test_a_session_of_another_couple_is_not_found(therapist_client, practice_a, couple):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        therapist = db.session.get(User, practice_a.therapist_id)
    other = CoupleIds.of(CoupleFactory(practice=home, therapist=therapist))
    db.session.commit()
    foreign = _session(practice_a, other)
    for appointment_id in (str(foreign), "99999999999", "x"):
        response = therapist_client.post_form(
            f"/reports/couples/{couple.id}/prepare",
            {"audience": "therapist", "appointment_id": appointment_id},
        )
        assert response.status_code == 404, appointment_id
    with unscoped():
        assert db.session.scalars(select(Report)).all() == []


def test_this_weeks_sessions_make_one_batch_and_one_zip(therapist_client, practice_a, couple):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
        therapist = db.session.get(User, practice_a.therapist_id)
    second = CoupleIds.of(CoupleFactory(practice=home, therapist=therapist, label="Second couple"))
    db.session.commit()
    _session(practice_a, couple, days_ago=0)
    _session(practice_a, second, days_ago=0)

    index = page(therapist_client.get("/reports"))
    assert "Harbour & Vale" in index.text and "Second couple" in index.text
    response = therapist_client.post_form("/reports/week", {"audience": "therapist"})
    assert response.status_code == 302
    batch_page = page(therapist_client.get(response.location))
    assert "All made" in batch_page.text
    status = therapist_client.get(f"{response.location}/status").json
    assert status == {**status, "total": 2, "done": 2, "failed": 0, "finished": True}

    archive = therapist_client.get(status["download"])
    assert archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as files:
        names = sorted(files.namelist())
        assert len(names) == 2 and all(name.endswith("therapist-copy.pdf") for name in names)
        assert all(files.read(name).startswith(b"%PDF") for name in names)
    assert len(_audits("report.downloaded")) == 2


def test_a_week_without_sessions_says_so(therapist_client, couple):
    response = therapist_client.post_form("/reports/week", {"audience": "therapist"})
    assert response.status_code == 302
    assert (
        "No sessions are recorded this week yet."
        in page(therapist_client.get(response.location)).text
    )


def test_a_couples_files_are_found_from_the_couple(therapist_client, practice_a, couple):
    appointment_id = _session(practice_a, couple)
    made = {
        _prepare(therapist_client, couple.id, audience=audience, appointment_id=appointment_id)
        for audience in ("therapist", "couple")
    }
    with practice_context(practice_a.practice_id):
        files = reports.couple_files(db.session.get(Couple, couple.id))
        expected = {reports.file_path(db.session.get(Report, report_id)) for report_id in made}
    assert set(files) == expected and len(files) == 2
    assert all(path.is_file() and path.parent.name == str(couple.id) for path in files)


def test_deleting_a_session_keeps_its_summaries(therapist_client, practice_a, couple):
    appointment_id = _session(practice_a, couple)
    report_id = _prepare(
        therapist_client, couple.id, audience="couple", appointment_id=appointment_id
    )
    period = (_report(report_id).period_start, _report(report_id).period_end)
    deleted = therapist_client.post_form(f"/couples/{couple.id}/sessions/{appointment_id}/delete")
    assert deleted.status_code == 302
    kept = _report(report_id)
    assert kept.appointment_id is None and kept.is_ready
    assert (kept.period_start, kept.period_end) == period
    assert therapist_client.get(f"/reports/{report_id}/download").status_code == 200
    assert "Couple copy" in page(therapist_client.get(f"/couples/{couple.id}")).text

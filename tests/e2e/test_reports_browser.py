"""Session summaries in a real browser: a therapist at a desk prepares the couple's copy of a
session, downloads and previews it, and shares it; a partner on a phone finds it in the portal
and downloads it (the therapist's copy never reaches them); and a summary still queued, seen
with JavaScript off, says so with a bar and refreshes itself until it is ready.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from pypdf import PdfReader

from practice.extensions import db
from practice.jobs.dispatch import run as run_job
from practice.models import Couple, JobRun, Report, User
from practice.services import appointments as appointment_service
from practice.services import reports as report_service
from practice.services.appointments import AppointmentDetails
from practice.tenancy import practice_context
from tests.couple_factories import CoupleFactory, PartnerInviteFactory
from tests.e2e.test_browser import sign_in
from tests.e2e.test_couples_browser import (
    ON_A_PHONE,
    WIDE,
    no_sideways_scroll,
    problems,
    small_touch_targets,
)
from tests.e2e.test_homework_browser import _join
from tests.factories import OwnerFactory

PHONE_390 = {"width": 390, "height": 844}
LABEL = "Dana & Lee"
ZONE = "America/Toronto"
SESSION_DAY = date(2026, 11, 24)
# A first session: its summary covers the four weeks up to its day, in the couple's zone.
PERIOD = ("28 October 2026", "24 November 2026")
PERIOD_ON_PAGE = "28 Oct 2026 – 24 Nov 2026"
NEXT_STEPS = "Dana and Lee each write one letter before Sunday's talk."
PRIVATE_NOTES = "Therapist only: watch the pattern of withdrawal at home."
REFRESH_META = 'head noscript meta[http-equiv="refresh"]'
SCROLL_WIDTH_JS = "document.scrollingElement.scrollWidth"


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _no_console_trouble(console, *expected_statuses: int) -> None:
    assert problems(console, *expected_statuses) == []
    assert console.csp_violations() == []


@dataclass(frozen=True)
class Setup:
    """Ids and a personal link, safe across commits."""

    practice_id: int
    owner_email: str
    owner_id: int
    couple_id: int
    token: str


def _couple() -> Setup:
    owner = OwnerFactory(name="Mira Okafor")
    couple = CoupleFactory(
        therapist=owner,
        label=LABEL,
        time_zone=ZONE,
        partner1_name="Dana",
        partner2_name="Lee",
    )
    made = Setup(
        owner.practice_id,
        owner.email,
        owner.id,
        couple.id,
        PartnerInviteFactory(partner=couple.partners[0]).token,
    )
    db.session.commit()
    return made


def test_a_therapist_prepares_downloads_previews_and_shares_a_couple_copy(
    app, open_page, screenshot
):
    setup = _couple()
    desk, console = open_page(WIDE)
    sign_in(desk, setup.owner_email)

    # The session, through the form on the couple's page.
    desk.goto(f"/couples/{setup.couple_id}")
    assert desk.get_by_text("No sessions recorded yet.").is_visible()
    desk.get_by_role("link", name="Record a session").click()
    desk.wait_for_url(re.compile(r"/sessions/new$"))
    desk.get_by_label("Day").fill(SESSION_DAY.isoformat())
    desk.get_by_label(re.compile(r"^Start time")).fill("18:30")
    desk.get_by_label("Private notes").fill(PRIVATE_NOTES)
    desk.get_by_label(re.compile(r"^Next steps")).fill(NEXT_STEPS)
    screenshot(desk, "reports-session-form-1280")
    desk.get_by_role("button", name="Record the session").click()
    desk.wait_for_url(re.compile(rf"/couples/{setup.couple_id}(#sessions)?$"))
    assert desk.get_by_text("Session recorded.").is_visible()
    screenshot(desk, "reports-couple-with-session-1280")

    # The couple's copy of that session.
    sessions = desk.get_by_role("region", name="Sessions")
    sessions.get_by_role("button", name="Couple copy").click()
    desk.wait_for_url(re.compile(r"/reports/\d+$"))
    download_link = desk.get_by_role("link", name="Download the PDF")
    download_link.wait_for()
    heading = desk.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Session summary") and "Couple copy" in heading
    assert PERIOD_ON_PAGE in desk.locator("dl.facts").inner_text()
    # With JavaScript on, <noscript> holds text, not elements: look in the page's source.
    assert 'http-equiv="refresh"' not in desk.content(), "a finished summary does not refresh"
    screenshot(desk, "reports-ready-1280")

    with desk.expect_download() as waiting:
        download_link.click()
    download = waiting.value
    assert download.suggested_filename == "summary-dana-lee-2026-11-24-couple-copy.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert LABEL in text
    assert PERIOD[0] in text and PERIOD[1] in text
    assert NEXT_STEPS in text
    assert "Couple copy" in text
    assert "withdrawal" not in text, "the therapist's private notes stay out of the couple copy"

    preview = desk.get_by_role("link", name="Open in the browser")
    assert preview.get_attribute("target") == "_blank"
    href = preview.get_attribute("href")
    assert re.fullmatch(r"/reports/\d+/preview", href)
    answer = desk.request.get(href)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline")
    assert answer.body() == data

    # Shared, after the confirm question.
    questions = []

    def accept(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    desk.once("dialog", accept)
    desk.get_by_role("button", name="Share with the couple").click()
    desk.locator(".state", has_text="Shared").wait_for()
    assert len(questions) == 1 and questions[0].startswith("Share this summary with both partners?")
    assert desk.get_by_text("Shared: both partners can read this summary").is_visible()
    assert desk.get_by_role("button", name="Take it back from the portal").is_visible()
    assert desk.get_by_role("button", name="Share with the couple").count() == 0
    screenshot(desk, "reports-shared-1280")

    _no_console_trouble(console)


def _summaries_of_a_session(setup: Setup) -> tuple[Report, Report]:
    """A session with both copies of its summary made (inline, as the app runs jobs without
    Redis); the couple's copy shared."""
    with practice_context(setup.practice_id):
        owner = db.session.get(User, setup.owner_id)
        couple = db.session.get(Couple, setup.couple_id)
        appointment = appointment_service.record(
            owner,
            couple,
            AppointmentDetails(day=SESSION_DAY, start=time(18, 30), next_steps=NEXT_STEPS),
        )
        copies = [
            report_service.request_summary(owner, couple, audience, appointment=appointment)[0]
            for audience in ("couple", "therapist")
        ]
        ids = [report.id for report in copies]
        db.session.commit()  # the jobs run now
        couple_copy, therapist_copy = (db.session.get(Report, report_id) for report_id in ids)
        assert couple_copy.is_ready and therapist_copy.is_ready
        report_service.release(owner, couple_copy)
        db.session.commit()
        return couple_copy, therapist_copy


def test_a_partner_downloads_the_shared_summary_on_a_phone(app, open_page, screenshot):
    setup = _couple()
    couple_copy, therapist_copy = _summaries_of_a_session(setup)
    with practice_context(setup.practice_id):
        couple_digest, couple_key = couple_copy.sha256, couple_copy.public_id
        therapist_digest, therapist_key = therapist_copy.sha256, therapist_copy.public_id

    phone, console = open_page(PHONE_390, **ON_A_PHONE)
    _join(phone, setup.token)
    card = phone.get_by_role("region", name="Session summaries")
    assert "Your therapist shared a summary of your sessions with you both." in card.inner_text()
    no_sideways_scroll(phone, PHONE_390["width"])
    screenshot(phone, "reports-portal-home-390")

    card.get_by_role("link", name="Read the summaries").click()
    phone.wait_for_url(re.compile(r"/portal/summaries$"))
    assert phone.get_by_role("heading", level=1).inner_text() == "Session summaries"
    listed = phone.locator("main ul.rows > li")
    assert listed.count() == 1, "only the shared couple copy is listed"
    assert listed.get_by_role("heading").inner_text() == PERIOD_ON_PAGE
    assert re.search(r"Shared \d+ \w+ \d{4} · \d+ pages?", listed.inner_text())
    links = phone.locator("main a[href*='/portal/summaries/']")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        f"/portal/summaries/{couple_key}.pdf"
    ]
    no_sideways_scroll(phone, PHONE_390["width"])
    assert phone.evaluate(SCROLL_WIDTH_JS) <= PHONE_390["width"]
    assert small_touch_targets(phone) == []
    screenshot(phone, "reports-portal-summaries-390")

    with phone.expect_download() as waiting:
        listed.get_by_role("link", name="Download the PDF").click()
    download = waiting.value
    assert download.suggested_filename == "session-summary-2026-11-24.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == couple_digest != therapist_digest
    assert "Couple copy" in _pdf_text(data)

    # The therapist's copy is not to be had by its key either.
    refused = phone.request.get(f"/portal/summaries/{therapist_key}.pdf")
    assert refused.status == 404
    assert refused.headers["content-type"].startswith("text/html")

    _no_console_trouble(console)


def _queued_report(setup: Setup) -> int:
    """A summary asked for and waiting for a worker: its run recorded as sent to the queue,
    as a Redis queue would leave it (set up here: the test server runs jobs inline)."""
    with practice_context(setup.practice_id):
        report = Report(
            couple_id=setup.couple_id,
            audience="therapist",
            period_start=date(2026, 11, 1),
            period_end=SESSION_DAY,
            stage="waiting",
            created_by_id=setup.owner_id,
        )
        db.session.add(report)
        db.session.flush()
        job_run = JobRun(
            queue="reports",
            function=report_service.JOB_NAME,
            arguments={"report_id": report.id},
            status="queued",
        )
        db.session.add(job_run)
        db.session.flush()
        report.job_run_id = job_run.id
        report_id = report.id
        db.session.commit()
        return report_id


def test_a_queued_summary_without_javascript_refreshes_itself_until_ready(
    app, open_page, screenshot
):
    setup = _couple()
    report_id = _queued_report(setup)
    page, console = open_page(PHONE_390, java_script_enabled=False)
    sign_in(page, setup.owner_email)

    response = page.goto(f"/reports/{report_id}")
    assert response.status == 200
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in response.text()
    assert page.locator(REFRESH_META).count() == 1
    assert page.get_by_role("heading", name="Queued").is_visible()
    bar = page.locator("progress[data-progress-bar]")
    assert bar.is_visible() and bar.get_attribute("value") == "0"
    # Playwright's text search skips <noscript>: found by its place instead.
    said = page.locator(".progress noscript p")
    assert said.is_visible()
    assert said.inner_text().startswith("This page refreshes itself every few seconds")
    assert page.get_by_text("Waiting for a free worker").is_visible()
    assert page.get_by_role("link", name="Download the PDF").count() == 0
    assert page.evaluate(SCROLL_WIDTH_JS) <= PHONE_390["width"]
    no_sideways_scroll(page, PHONE_390["width"])
    screenshot(page, "reports-queued-nojs-390")

    # A worker takes the job; the page, left open, refreshes itself into the finished one.
    with practice_context(setup.practice_id):
        job_run_id = db.session.get(Report, report_id).job_run_id
    run_job(job_run_id, setup.practice_id)
    page.get_by_role("link", name="Download the PDF").wait_for(timeout=15_000)
    assert page.get_by_role("heading", name="Ready").is_visible()
    assert page.locator(REFRESH_META).count() == 0, "a finished summary stops refreshing"
    assert page.locator("progress").count() == 0
    assert page.evaluate(SCROLL_WIDTH_JS) <= PHONE_390["width"]
    no_sideways_scroll(page, PHONE_390["width"])
    screenshot(page, "reports-ready-nojs-390")

    _no_console_trouble(console)

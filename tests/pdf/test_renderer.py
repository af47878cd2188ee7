"""The locked PDF renderer: a summary reaches nothing outside our own assets.

A loopback HTTP listener counts every request that reaches it. References to local files, to
the listener and to a redirect on it are typed where people type (a session's notes and next
steps, an apology, an agreement) and rendered through the real job, then handed to the
renderer as raw HTML, as a broken template would. Nothing is fetched, nothing is attached,
the document still renders, the typed text reads as text, and the PDF is tagged.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time as clock
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from practice import pdf
from practice.extensions import db
from practice.models import Couple, Partner, Report, User
from practice.models.base import utcnow
from practice.services import agreements as agreement_service
from practice.services import appointments as appointment_service
from practice.services import homework as homework_service
from practice.services import reports
from practice.services.appointments import AppointmentDetails
from practice.tenancy import practice_context
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import PracticeFactory, UserFactory

# --- a listener on loopback that counts what reaches it -----------------------------------


@dataclass
class Listener:
    port: int
    paths: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def listener() -> Iterator[Listener]:
    """An HTTP server on 127.0.0.1 that records every request; `/redirect` sends the asker on
    to a second path of its own, which answers with a stylesheet."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            paths.append(self.path)
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "/after-redirect.css")
                self.end_headers()
                return
            body = b"p { color: red }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args) -> None:  # a test's output is for failures
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found = Listener(port=server.server_address[1], paths=paths)
    # It answers, and counts: a request that reached it would be seen.
    with urlopen(found.url("/redirect"), timeout=5) as answer:  # noqa: S310 - loopback
        assert answer.read() == b"p { color: red }"
    assert paths == ["/redirect", "/after-redirect.css"]
    paths.clear()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def probes(listener: Listener) -> list[str]:
    """What someone might type to make a document fetch or attach something."""
    return [
        '<img src="file:///etc/passwd">',
        '<link rel=attachment href="file:///etc/passwd">',
        f"<style>@import url({listener.url('/x.css')})</style>",
        f"url({listener.url('/y.png')})",
        f'<svg><image href="{listener.url("/z.svg")}"/></svg>',
    ]


# --- reading a PDF ------------------------------------------------------------------------


def embedded_files(data: bytes) -> list[str]:
    """Where the PDF holds an attached file, if anywhere: its raw bytes, its compressed
    streams, the catalog's /EmbeddedFiles and any file-attachment annotation."""
    found = []
    if b"/EmbeddedFile" in data:
        found.append("raw bytes")
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            inflated = zlib.decompress(stream.group(1))
        except zlib.error:
            continue
        if b"/EmbeddedFile" in inflated or b"/FileAttachment" in inflated:
            found.append("a compressed stream")
    reader = PdfReader(io.BytesIO(data))
    names = reader.trailer["/Root"].get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        found.append("catalog")
    if reader.attachments:
        found.append("attachments")
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append("annotation")
    return found


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    """Text without whitespace: a long line may wrap anywhere in the PDF."""
    return re.sub(r"\s+", "", text)


def assert_tagged(data: bytes, title_start: str) -> None:
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root, "the PDF is not tagged"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    assert reader.metadata.title.startswith(title_start), reader.metadata.title


def test_the_attachment_check_finds_an_attachment_when_there_is_one():
    """The check above is not blind: WeasyPrint's own fetcher, which reads data: URLs,
    attaches a file, and the check finds it where we look."""
    import weasyprint

    data = weasyprint.HTML(
        string='<html lang="en"><link rel=attachment href="data:text/plain,hello">'
        '<p><a rel=attachment href="data:text/plain,bye">x</a></p></html>'
    ).write_pdf()
    found = embedded_files(data)
    assert "catalog" in found and "annotation" in found


# --- through the real path: typed by people, made by the job ---------------------------------


@dataclass(frozen=True)
class Typed:
    practice_id: int
    couple_id: int
    user_id: int
    appointment_id: int


def type_everywhere(texts: list[str]) -> Typed:
    """A couple's session with `texts` in its notes and next steps, an apology written with
    them and shared with the couple, and an agreement that quotes them."""
    words = " ".join(texts)
    practice = PracticeFactory(time_zone="America/New_York")
    therapist = UserFactory(practice=practice)
    couple = CoupleFactory(therapist=therapist, time_zone="Europe/Berlin")
    ids = CoupleIds.of(couple)
    user_id = therapist.id
    db.session.commit()
    with practice_context(ids.practice_id):
        user = db.session.get(User, user_id)
        couple = db.session.get(Couple, ids.id)
        day = utcnow().astimezone(ZoneInfo(couple.time_zone)).date() + timedelta(days=1)
        appointment = appointment_service.record(
            user,
            couple,
            AppointmentDetails(day=day, start=clock(18), notes=words, next_steps=words),
        )
        author = db.session.get(Partner, ids.partner_ids[1])
        (apology,) = homework_service.assign(
            user,
            couple,
            kind_key="apology",
            mode="one",
            instructions="",
            due_date=None,
            partner_id=author.id,
        ).responses
        homework_service.submit(
            author,
            apology,
            content={
                "what_i_did": words,
                "how_it_hurt": "It hurt.",
                "responsibility": "It is mine.",
                "amends": "Every Sunday at six.",
            },
            base_version=apology.version,
        )
        homework_service.release(user, apology)
        agreement_service.add_agreement(
            user, couple, domain="communication", text=words, time_frame="", review_date=None
        )
        db.session.commit()
        return Typed(ids.practice_id, ids.id, user_id, appointment.id)


def make_summary(typed: Typed, audience: str) -> tuple[Report, bytes]:
    """Ask for the session's summary and let the job make it (inline: no Redis here)."""
    with practice_context(typed.practice_id):
        user = db.session.get(User, typed.user_id)
        couple = db.session.get(Couple, typed.couple_id)
        appointment = appointment_service.get(user, couple, typed.appointment_id)
        report, _ = reports.request_summary(user, couple, audience, appointment=appointment)
        report_id = report.id
        db.session.commit()
        db.session.expire_all()
        report = db.session.get(Report, report_id)
        assert reports.progress(report).state == "done", reports.progress(report)
        return report, reports.read_file(report)


@pytest.mark.parametrize("audience", ["therapist", "couple"])
def test_references_typed_into_a_summary_reach_nothing_and_read_as_text(
    app, reports_path, listener, caplog, audience
):
    typed_texts = probes(listener)
    typed = type_everywhere(typed_texts)

    report, data = make_summary(typed, audience)

    assert listener.paths == [], "the summary reached the listener"
    assert embedded_files(data) == []
    assert report.pages >= 1
    assert len(PdfReader(io.BytesIO(data)).pages) == report.pages
    text = squeezed(text_of(data))
    # Next steps, the shared apology and the agreement in both copies; the notes as well in
    # the therapist's.
    places = 4 if audience == "therapist" else 3
    for typed_text in typed_texts:
        assert text.count(squeezed(typed_text)) == places, typed_text
    assert "root:x:0:0" not in text and b"root:x:0:0" not in data
    # Autoescaped, nothing typed was taken for a reference: the renderer refused nothing.
    assert "outside its assets" not in caplog.text
    assert_tagged(data, "Session summary: ")


# --- raw HTML, as if a template forgot to escape ---------------------------------------------


@pytest.fixture
def served(monkeypatch) -> list[tuple[str, str]]:
    """Every URL the renderer's fetcher is asked for, with what became of it. The real
    `fetch_asset` answers each time; this only writes the answers down."""
    seen: list[tuple[str, str]] = []
    real = pdf.fetch_asset

    def recording(url: str):
        try:
            answer = real(url)
        except pdf.RefusedURL:
            seen.append((url, "refused"))
            raise
        seen.append((url, "served"))
        return answer

    monkeypatch.setattr(pdf, "fetch_asset", recording)
    return seen


def raw_document(listener: Listener) -> str:
    references = "\n".join(
        [
            *probes(listener),
            '<a rel=attachment href="file:///etc/passwd">passwd</a>',
            f'<a rel=attachment href="{listener.url("/attach.txt")}">attach</a>',
            f'<link rel=attachment href="{listener.url("/attach-link.txt")}">',
            f'<link rel=stylesheet href="{listener.url("/redirect")}">',
            f'<img src="{listener.url("/redirect")}" alt="">',
            f'<p style="background: url({listener.url("/inline.png")})">styled</p>',
            f"<style>p {{ background: url({listener.url('/y.png')}) }}"
            f"@font-face {{ font-family: x; src: url({listener.url('/font.woff')}) }}</style>",
            f'<object data="{listener.url("/object.svg")}" type="image/svg+xml"></object>',
            f'<embed src="{listener.url("/embed.svg")}">',
            '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E">',
            '<img src="practice-asset:../__init__.py" alt="">',
            '<link rel=stylesheet href="../pdf/__init__.py">',
        ]
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Raw probe</title>'
        f"</head><body><h1>Raw probe</h1><p>Still here.</p>{references}</body></html>"
    )


def test_raw_html_reaches_nothing_but_our_stylesheet(listener, served, caplog):
    caplog.set_level(logging.WARNING, logger="practice.pdf")

    made = pdf.render(raw_document(listener), stylesheets=reports.STYLESHEETS)

    assert listener.paths == [], "the renderer reached the listener"
    assert embedded_files(made.data) == []
    assert made.pages >= 1
    assert "Still here." in text_of(made.data)
    assert "root:x:0:0" not in text_of(made.data)
    assert [url for url, outcome in served if outcome == "served"] == ["practice-asset:print.css"]
    refused = [url for url, outcome in served if outcome == "refused"]
    assert any(url.startswith("file:") for url in refused)
    assert any(url.startswith("http://127.0.0.1") for url in refused)
    assert any("outside its assets" in record.getMessage() for record in caplog.records)
    assert_tagged(made.data, "Raw probe")


def test_a_base_element_does_not_point_relative_references_elsewhere(listener, served):
    made = pdf.render(
        f'<!doctype html><html lang="en"><head><title>Based</title>'
        f'<base href="{listener.url("/")}"></head><body><p>Based.</p>'
        '<img src="relative.png" alt=""><link rel=stylesheet href="relative.css">'
        "</body></html>",
        stylesheets=reports.STYLESHEETS,
    )
    assert listener.paths == []
    assert made.pages >= 1
    assert [url for url, outcome in served if outcome == "served"] == ["practice-asset:print.css"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1/x.css",
        "https://example.org/x.css",
        "data:text/css,p{}",
        "practice-asset:../__init__.py",
        "practice-asset:../../practice/config.py",
        "practice-asset:no-such-asset.css",
        "practice-asset:",
        "print.css",
        "PRACTICE-ASSET:print.css",
        "ftp://127.0.0.1/print.css",
    ],
)
def test_fetch_asset_refuses_anything_but_an_asset_by_its_name(url):
    with pytest.raises(pdf.RefusedURL):
        pdf.fetch_asset(url)


def test_fetch_asset_serves_the_print_stylesheet():
    body, media_type = pdf.fetch_asset(pdf.asset_url("print.css"))
    assert media_type == "text/css"
    assert body == (pdf.ASSETS / "print.css").read_bytes()

"""The mailer: console backend (log + captured outbox), dev-only links, real SMTP delivery."""

from __future__ import annotations

import logging
import re

import pytest

from practice.extensions import db
from practice.mailer import capture_outbox, flash_dev_links, links_in, send_mail
from tests.factories import OwnerFactory

LINK = "https://practice.example.org/password/reset/abc123"


@pytest.fixture
def console_backend(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")


def test_console_backend_captures_within_capture_outbox_and_logs(
    app, console_backend, inbox, caplog, monkeypatch
):
    monkeypatch.setitem(app.config, "PRACTICE_ENV", "development")
    caplog.set_level(logging.INFO, logger="practice.mailer")
    with capture_outbox() as sent:
        send_mail("ada@example.com", "Hello there", f"Dear Ada Lovelace, open {LINK} soon.")

    (message,) = sent
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Hello there"
    assert message["From"] == app.config["MAIL_FROM"]
    assert links_in(sent) == [LINK]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "example.com" in logged and "1 link(s)" in logged
    assert LINK in logged, "a developer follows the link from the console"
    for private in ("ada@", "Ada Lovelace", "Hello there", "Dear"):
        assert private not in logged
    assert inbox.messages == [], "the console backend never talks SMTP"


@pytest.mark.parametrize("environment", ["testing", "production"])
def test_console_backend_logs_no_link_outside_development(
    app, console_backend, caplog, monkeypatch, environment
):
    monkeypatch.setitem(app.config, "PRACTICE_ENV", environment)
    caplog.set_level(logging.INFO, logger="practice.mailer")
    send_mail("ada@example.com", "Hello there", f"Dear Ada, open {LINK} soon.")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "example.com" in logged and "1 link(s)" in logged
    for private in (LINK, "abc123", "ada@", "Dear Ada", "Hello there"):
        assert private not in logged


def test_console_backend_logs_the_whole_email_when_asked(app, console_backend, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "PRACTICE_ENV", "development")
    monkeypatch.setitem(app.config, "MAIL_CONSOLE_FULL", True)
    caplog.set_level(logging.INFO, logger="practice.mailer")
    send_mail("ada@example.com", "Hello there", f"Dear Ada Lovelace, open {LINK} soon.")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    for whole in ("ada@example.com", "Hello there", "Dear Ada Lovelace", LINK):
        assert whole in logged


def test_console_backend_captures_nothing_outside_the_block(app, console_backend, inbox):
    with capture_outbox() as sent:
        pass
    send_mail("ada@example.com", "After the block", "Text")
    assert sent == []
    assert inbox.messages == []


def test_capture_outboxes_nest_and_restore(app, console_backend):
    with capture_outbox() as outer:
        with capture_outbox() as inner:
            send_mail("a@example.com", "Inner", "Text")
        send_mail("b@example.com", "Outer", "Text")
    assert [m["Subject"] for m in inner] == ["Inner"]
    assert [m["Subject"] for m in outer] == ["Outer"]


@pytest.mark.parametrize(
    ("environment", "shown"),
    [("development", True), ("testing", False), ("production", False)],
)
def test_flash_dev_links_only_in_development(app, monkeypatch, environment, shown):
    from flask import get_flashed_messages

    monkeypatch.setitem(app.config, "PRACTICE_ENV", environment)
    with app.test_request_context("/"), capture_outbox() as sent:
        monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
        send_mail("ada@example.com", "Reset", f"Open {LINK}")
        flash_dev_links(sent)
        flashed = get_flashed_messages(with_categories=True)
    assert (("dev-mail", LINK) in flashed) is shown
    if not shown:
        assert flashed == []


@pytest.mark.parametrize(("environment", "shown"), [("development", True), ("testing", False)])
def test_forgot_password_page_shows_the_link_only_in_development(
    app, client, monkeypatch, inbox, environment, shown
):
    monkeypatch.setitem(app.config, "PRACTICE_ENV", environment)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
    owner = OwnerFactory()
    db.session.commit()

    response = client.post_form("/password/forgot", {"email": owner.email}, follow_redirects=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "a reset link is on its way" in page
    has_link = re.search(r'href="https://practice\.example\.org/password/reset/[^"]+"', page)
    assert bool(has_link) is shown
    assert ("Development only" in page) is shown
    assert inbox.messages == []


def test_smtp_backend_delivers_to_a_real_server(app, inbox):
    assert app.config["MAIL_BACKEND"] == "smtp"
    send_mail("grace@example.com", "Your link", f"Hello,\n\n{LINK}\n")

    (message,) = inbox.messages
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Your link"
    assert re.fullmatch(r"<[^<>@\s]+@practice\.invalid>", message["Message-ID"])
    assert message.get_content_type() == "text/plain"
    assert LINK in message.get_content()
    assert inbox.links() == [LINK]


def test_smtp_messages_have_distinct_message_ids(app, inbox):
    send_mail("grace@example.com", "One", "Text")
    send_mail("grace@example.com", "Two", "Text")
    ids = [message["Message-ID"] for message in inbox.messages]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_smtp_backend_does_not_fill_the_capture_outbox(app, inbox):
    with capture_outbox() as sent:
        send_mail("grace@example.com", "Real", "Text")
    assert sent == []
    assert len(inbox.messages) == 1


def test_a_subject_with_line_breaks_is_sent_on_one_line(app, inbox):
    """A practice name stored with a line break (before forms refused one) stopped every
    email naming it: a mail header cannot hold one. It is sent, on one line, and adds no
    header of its own."""
    send_mail(
        "ann@example.com",
        "Your personal link from Harbour\r\nBcc: everyone@example.com\n",
        "Text",
    )

    (message,) = inbox.messages
    assert message["Subject"] == "Your personal link from Harbour Bcc: everyone@example.com"
    assert message["Bcc"] is None
    assert message["To"] == "ann@example.com"


def test_mail_console_full_is_off_by_default_and_refused_in_production(tmp_path):
    from practice.config import ConfigError, load_config

    assert load_config(tmp_path, {"SECRET_KEY": "k"})["MAIL_CONSOLE_FULL"] is False
    on = {"SECRET_KEY": "k", "MAIL_CONSOLE_FULL": "true"}
    assert load_config(tmp_path, on)["MAIL_CONSOLE_FULL"] is True
    production = {
        **on,
        "PRACTICE_ENV": "production",
        "DATABASE_URL": "postgresql://db/practice",
        "BASE_URL": "https://practice.example.org",
    }
    with pytest.raises(ConfigError, match="MAIL_CONSOLE_FULL .* production refuses it"):
        load_config(tmp_path, production)

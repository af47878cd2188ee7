"""Sending email: SMTP in production, the console (log + on-page link) in development."""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, flash

log = logging.getLogger(__name__)

_captured: ContextVar[list[EmailMessage] | None] = ContextVar("captured_mail", default=None)
_LINK = re.compile(r"https?://\S+")


@contextmanager
def capture_outbox() -> Iterator[list[EmailMessage]]:
    """Collect what the console backend sends in this block (to show links in development)."""
    messages: list[EmailMessage] = []
    token = _captured.set(messages)
    try:
        yield messages
    finally:
        _captured.reset(token)


def links_in(messages: list[EmailMessage]) -> list[str]:
    return [link for message in messages for link in _LINK.findall(message.get_content())]


def flash_dev_links(messages: list[EmailMessage]) -> None:
    """In development only, show the links of captured emails on the next page."""
    if current_app.config["PRACTICE_ENV"] == "development":
        for link in links_in(messages):
            flash(link, "dev-mail")


def _log_to_console(message: EmailMessage, full: bool) -> None:
    """The console backend's log line: by default the recipient's domain and the links (a
    developer follows them), not the address, subject or body, which can name a client.
    MAIL_CONSOLE_FULL (refused in production) prints the whole email."""
    if full:
        log.info(
            "email (console backend) to %s: %s\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return
    domain = message["To"].rpartition("@")[2] or "?"
    links = links_in([message])
    # A link is a working key: development only. Elsewhere the log says an email went out.
    shown = links if current_app.config["PRACTICE_ENV"] == "development" else []
    log.info(
        "email (console backend) to an address at %s, %d link(s)%s",
        domain,
        len(links),
        "".join(f"\n  {link}" for link in shown),
    )


def send_mail(to: str, subject: str, text: str) -> None:
    """Send one plain-text email through the configured backend."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    # A header is one line. Forms refuse line breaks in names now, but a practice name stored
    # with one before would make every email naming it fail.
    message["Subject"] = " ".join(subject.split())
    message["Message-ID"] = make_msgid(domain="practice.invalid")
    message.set_content(text)

    if config["MAIL_BACKEND"] == "console":
        _log_to_console(message, full=config.get("MAIL_CONSOLE_FULL", False))
        captured = _captured.get()
        if captured is not None:
            captured.append(message)
        return

    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    log.info("email sent: %s", subject)

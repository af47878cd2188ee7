"""Helpers for HTTP tests: reading a rendered form back, and the people of two practices."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from practice.extensions import db
from tests.conftest import BASE_URL
from tests.factories import OwnerFactory, TherapistInvitationFactory, UserFactory


class Page(HTMLParser):
    """What a browser would show of a form: input values, selections, errors by field."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.selected: dict[str, str] = {}
        self.checked: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.form_errors: list[str] = []
        self.text_parts: list[str] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._error_for: str | None = None
        self._in_form_errors = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "input" and attrs.get("name"):
            if attrs.get("type") == "radio":
                if "checked" in attrs:
                    self.checked[attrs["name"]] = attrs.get("value", "")
            else:
                self.values[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self.selected[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs.get("name")
            self.values[self._textarea] = ""
        elif tag == "p" and "field-error" in classes:
            self._error_for = attrs["id"].removesuffix("-error")
            self.errors[self._error_for] = ""
        elif tag == "div" and "form-errors" in classes:
            self._in_form_errors = 1
        elif tag == "p" and self._in_form_errors:
            self.form_errors.append("")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            # Browsers drop one newline right after <textarea>, as WTForms expects.
            value = self.values[self._textarea]
            for newline in ("\r\n", "\n"):
                if value.startswith(newline):
                    value = value[len(newline) :]
                    break
            self.values[self._textarea] = value
            self._textarea = None
        elif tag == "p":
            if self._error_for:
                self.errors[self._error_for] = self.errors[self._error_for].strip()
            self._error_for = None
        elif tag == "div":
            self._in_form_errors = 0
            self.form_errors = [error.strip() for error in self.form_errors]

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._textarea:
            self.values[self._textarea] += data
        if self._error_for:
            self.errors[self._error_for] += data
        elif self._in_form_errors and self.form_errors:
            self.form_errors[-1] += data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


def page(response) -> Page:
    return Page(response.get_data(as_text=True))


def link_path(link: str) -> str:
    """The path of an emailed link, after checking it points at the configured site."""
    assert link.startswith(BASE_URL + "/"), link
    return urlsplit(link).path


@dataclass
class PracticeSet:
    """One practice's people, as ids and emails (safe to use after any commit)."""

    practice_id: int
    practice_name: str
    owner_id: int
    owner_email: str
    therapist_id: int
    therapist_email: str
    therapist_name: str
    invitation_id: int
    invitation_email: str
    invitation_name: str


def build_practice() -> PracticeSet:
    """A practice with an owner, a therapist and an open invitation; committed."""
    owner = OwnerFactory()
    therapist = UserFactory(practice=owner.practice)
    invitation = TherapistInvitationFactory(inviter=owner)
    built = PracticeSet(
        practice_id=owner.practice_id,
        practice_name=owner.practice.name,
        owner_id=owner.id,
        owner_email=owner.email,
        therapist_id=therapist.id,
        therapist_email=therapist.email,
        therapist_name=therapist.name,
        invitation_id=invitation.id,
        invitation_email=invitation.email,
        invitation_name=invitation.name,
    )
    db.session.commit()
    return built


@pytest.fixture
def practice_a(app) -> PracticeSet:
    return build_practice()


@pytest.fixture
def practice_b(app, practice_a) -> PracticeSet:
    return build_practice()


@pytest.fixture
def owner_client(make_client, practice_a):
    client = make_client()
    client.login(practice_a.owner_email)
    return client


@pytest.fixture
def therapist_client(make_client, practice_a):
    client = make_client()
    client.login(practice_a.therapist_email)
    return client


def without_form_tokens(html: str) -> str:
    """A page's HTML with its CSRF tokens blanked: they differ per browser and per second."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", html)


@contextmanager
def rate_limited(app, **settings):
    """A client of an app built with rate limits on, as in production, with `settings`.

    Flask-Limiter reads RATELIMIT_ENABLED once, in init_app, and the session app was built
    with it off: flipping app.config afterwards changes nothing. So this builds a second app
    from the session app's settings with limits on, and puts the shared limiter back after.
    """
    from practice import create_app
    from practice.extensions import limiter

    saved = limiter.enabled
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, **settings})
    limited.test_client_class = type(app.test_client())
    limiter.reset()
    try:
        yield limited.test_client()
    finally:
        limiter.reset()
        limiter.enabled = saved
        with limited.app_context():
            db.engine.dispose()


@pytest.fixture
def rate_limited_client(app):
    """A client with the production rate limits (the sign-in forms' tests)."""
    with rate_limited(app) as client:
        yield client

"""Bad input never gets a 500: every form the app shows, sent back full of hostile values.

The demo practice has a couple at every stage, so crawling its pages (as the owner, then as
each partner in the portal) finds every form the product has. Each form is then posted with
every field set to one kind of bad value at a time: very long, odd Unicode, markup, numbers
out of range, impossible dates, blanks. Any answer is fine but a server error.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from practice.extensions import db
from practice.services import accounts
from practice.services.demo import DEMO_PASSWORD, seed_demo
from tests.blueprints.test_couples import location

BAD_VALUES = {
    "very long": "x" * 100_000,
    "odd unicode": "Zoë 💔 \u202eعربى\u200b \U0001f468\u200d\U0001f469\u200d\U0001f467 ｆｕｌｌ",
    "markup": "<script>alert(1)</script>\"'&amp;",
    "negative": "-1",
    "enormous number": "99999999999999999999999",
    "impossible date": "2026-02-30",
    "blank": "   ",
}
# Posted last: they end the very session the sweep is using, or close what it walks through.
ENDS_THE_SESSION = ("sign-out", "logout", "sign_out", "revoke", "close", "deactivate")
MAX_PAGES = 250


@dataclass
class Form:
    action: str
    fields: list[str] = field(default_factory=list)


class Forms(HTMLParser):
    """The POST forms of a page (action and field names) and the page's own links."""

    def __init__(self, url: str, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._autosave: Form | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._form = Form(urljoin(self.url, attrs.get("action") or self.url))
            if attrs.get("data-autosave"):  # the endpoint its script posts to as one types
                self._autosave = Form(urljoin(self.url, attrs["data-autosave"]))
        elif tag in ("input", "textarea", "select", "button") and self._form and attrs.get("name"):
            if attrs["name"] != "csrf_token":
                self._form.fields.append(attrs["name"])
        elif tag == "a" and attrs.get("href"):
            self.links.append(urljoin(self.url, attrs["href"]))

    def handle_endtag(self, tag):
        if tag == "form" and self._form:
            self.forms.append(self._form)
            if self._autosave:
                self._autosave.fields = self._form.fields
                self.forms.append(self._autosave)
            self._form = self._autosave = None


def crawl(client, starts: tuple[str, ...], inside: tuple[str, ...]) -> dict[str, Form]:
    """Every POST form on the pages reachable from `starts` whose paths begin with `inside`."""
    seen, queue, forms = set(starts), deque(starts), {}
    while queue and len(seen) <= MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code not in (200, 404) or "html" not in response.content_type:
            continue
        parsed = Forms(f"http://localhost{url}", response.get_data(as_text=True))
        for form in parsed.forms:
            action = urlsplit(form.action)
            path = action.path + (f"?{action.query}" if action.query else "")
            known = forms.setdefault(path, Form(path))
            known.fields = sorted(set(known.fields) | set(form.fields))
        for link in parsed.links:
            target = urlsplit(link)
            if target.netloc in ("", "localhost") and target.path.startswith(inside):
                path = target.path + (f"?{target.query}" if target.query else "")
                if path not in seen:
                    seen.add(path)
                    queue.append(path)
    return forms


def post_bad_values(client, forms: dict[str, Form]) -> dict[tuple[str, str], int]:
    """Post each form once per kind of bad value; return what answered 500 or more."""
    last = [path for path in forms if any(word in path for word in ENDS_THE_SESSION)]
    order = sorted(path for path in forms if path not in last) + sorted(last)
    failures = {}
    for path in order:
        for kind, value in BAD_VALUES.items():
            data = dict.fromkeys(forms[path].fields, value)
            response = client.post_form(path, data)
            if response.status_code >= 500:
                failures[(path, kind)] = response.status_code
            db.session.rollback()
    return failures


@pytest.fixture
def demo(app):
    result = seed_demo()
    db.session.commit()
    return result


def test_no_therapist_form_answers_bad_input_with_a_server_error(make_client, demo):
    owner = make_client()
    owner.login(demo["logins"][0]["email"], DEMO_PASSWORD)
    forms = crawl(
        owner,
        ("/dashboard", "/couples", "/review", "/settings/practice", "/settings/team", "/account"),
        ("/dashboard", "/couples", "/review", "/settings", "/account"),
    )
    assert len(forms) >= 15, sorted(forms)  # the demo's couples show most of the forms

    assert post_bad_values(owner, forms) == {}


def test_no_portal_form_answers_bad_input_with_a_server_error(make_client, demo):
    forms = {}
    partners = [p for couple in demo["couples"] for p in couple["partners"] if p["invite_link"]]
    clients = []
    for partner in partners:
        browser = make_client()
        token_path = urlsplit(partner["invite_link"]).path
        entered = browser.post_form(token_path)
        if entered.status_code != 302:
            continue  # a closed couple's link is dead, as it should be
        assert location(entered) == "/portal"
        browser.post_form("/portal/privacy", {"understood": "y"})
        forms_of_this_partner = crawl(browser, ("/portal",), ("/portal",))
        clients.append((browser, forms_of_this_partner))
        forms |= forms_of_this_partner
    assert len(forms) >= 5, sorted(forms)

    for browser, own_forms in clients:
        assert post_bad_values(browser, own_forms) == {}


def test_no_public_form_answers_bad_input_with_a_server_error(make_client, demo):
    visitor = make_client()
    dead_link = "/p/" + "x" * 43  # its page offers the form asking for a sign-in link
    # The form behind the link a sign-up emails (to a new address: the demo's are taken).
    sign_up_link = f"/signup/confirm/{accounts.sign_up_link_token('new@example.com')}"
    forms = crawl(
        visitor,
        ("/login", "/signup", "/password/forgot", dead_link, sign_up_link),
        ("/login", "/signup", "/password", "/p/", "/s/"),
    )
    expected = {"/login", "/signup", sign_up_link, "/password/forgot", "/portal/new-link"}
    assert expected <= set(forms), sorted(forms)
    assert {"practice_name", "name", "password", "time_zone"} <= set(forms[sign_up_link].fields)

    assert post_bad_values(visitor, forms) == {}

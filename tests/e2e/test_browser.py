"""A real browser on a real server: sign-up (through the emailed link) to sign-in on a 360 px
phone, keyboard, CSP."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from sqlalchemy import select

from practice.extensions import db
from practice.models import Practice, User
from practice.services import accounts
from practice.tenancy import unscoped
from tests.conftest import BASE_URL
from tests.e2e.conftest import DESKTOP, PHONE
from tests.factories import PASSWORD, OwnerFactory

PRACTICE_NAME = "Harbour Couples Therapy"
EMAIL = "mira.okafor@example.com"


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no sideways scroll)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def emailed_link(inbox) -> str:
    """The link of the one email sent: it leaves once the page has been answered, so wait
    for it (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    (link,) = inbox.links()
    assert link.startswith(BASE_URL + "/")
    return urlsplit(link).path


def test_a_new_therapist_signs_up_out_and_in_on_a_phone(app, open_page, screenshot, inbox):
    page, console = open_page(PHONE)

    page.goto("/signup")
    assert page.get_by_role("heading", name="Create your practice").is_visible()
    assert scroll_width(page) <= PHONE["width"]
    screenshot(page, "signup-360")

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Email me the link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()  # the answer has come
    assert page.get_by_text(EMAIL).is_visible()
    assert scroll_width(page) <= PHONE["width"]
    screenshot(page, "signup-sent-360")

    page.goto(emailed_link(inbox))
    assert page.get_by_role("heading", name="Create your practice").is_visible()
    assert page.get_by_text(EMAIL).is_visible()
    assert scroll_width(page) <= PHONE["width"]
    screenshot(page, "signup-confirm-360")
    page.get_by_label("Practice name").fill(PRACTICE_NAME)
    page.get_by_label("Your name").fill("Mira Okafor")
    page.get_by_label("Password").fill("a long and private sentence")
    page.get_by_label("Time zone").select_option("Pacific/Auckland")
    page.get_by_role("button", name="Create practice").click()

    page.wait_for_url(re.compile(r"/dashboard$"))
    assert page.get_by_role("heading", level=1).inner_text() == PRACTICE_NAME
    assert page.get_by_text("Your practice is ready. Welcome.").is_visible()
    assert page.get_by_role("heading", name="Your caseload is empty").is_visible()
    assert scroll_width(page) <= PHONE["width"], "no sideways scrolling at 360 px"
    assert horizontal_overflow(page) == 0
    screenshot(page, "dashboard-360")

    with unscoped():
        practice = db.session.scalar(select(Practice).where(Practice.name == PRACTICE_NAME))
        owner = db.session.scalar(select(User).where(User.email == EMAIL))
    assert practice is not None and practice.time_zone == "Pacific/Auckland"
    assert owner.role == "owner" and owner.practice_id == practice.id

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert page.get_by_text("You are signed out.").is_visible()
    assert scroll_width(page) <= PHONE["width"]
    screenshot(page, "login-360")
    page.goto("/dashboard")
    page.wait_for_url(re.compile(r"/login"))  # signed out means signed out

    sign_in(page, EMAIL, "a long and private sentence")
    assert page.get_by_role("heading", level=1).inner_text() == PRACTICE_NAME
    assert page.get_by_role("heading", name="Your caseload is empty").is_visible()

    assert console.errors() == []


def test_a_wrong_password_shows_an_error_on_the_page(app, open_page):
    owner = OwnerFactory()
    db.session.commit()
    page, console = open_page(PHONE)

    page.goto("/login")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("alert").inner_text().strip() == (
        "That email and password do not match an account."
    )
    assert page.url.endswith("/login")
    assert scroll_width(page) <= PHONE["width"]


def test_tab_from_the_top_reaches_the_skip_link_first(app, open_page):
    owner = OwnerFactory()
    db.session.commit()
    page, _ = open_page(PHONE)
    sign_in(page, owner.email)
    page.goto("/dashboard")

    page.keyboard.press("Tab")
    focused = page.evaluate(
        "({cls: document.activeElement.className, text: document.activeElement.innerText,"
        " href: document.activeElement.getAttribute('href')})"
    )
    assert focused == {"cls": "skip-link", "text": "Skip to content", "href": "#main"}
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "visible once focused"

    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    first_in_main = page.evaluate("document.activeElement.closest('main') !== null")
    assert first_in_main, "after skipping, Tab continues inside the main content"


def test_the_csp_allows_our_own_javascript(app, open_page, screenshot):
    page, console = open_page(DESKTOP, timezone_id="Europe/Berlin")

    page.goto("/signup")
    screenshot(page, "signup-1280")
    # The form behind the emailed link.
    response = page.goto(f"/signup/confirm/{accounts.sign_up_link_token(EMAIL)}")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    # app.js preselects the browser's time zone: proof that our script ran under the CSP.
    page.wait_for_function("document.getElementById('time_zone').value === 'Europe/Berlin'")
    screenshot(page, "signup-confirm-1280")

    page.goto("/login")
    screenshot(page, "login-1280")

    assert console.csp_violations() == []
    assert console.errors() == []


def test_the_csp_refuses_inline_script(app, open_page):
    """The console watch above can fail: an inline script is refused and reported."""
    page, console = open_page(DESKTOP)
    page.goto("/login")

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inline_ran = true'; document.head.appendChild(s); }"
    )
    page.wait_for_function("() => true")

    assert page.evaluate("window.__inline_ran === true") is False
    assert console.csp_violations(), console.messages


def test_the_dashboard_at_desktop_width(app, open_page, screenshot):
    owner = OwnerFactory()
    db.session.commit()
    page, console = open_page(DESKTOP)
    sign_in(page, owner.email)

    with unscoped():
        name = db.session.get(Practice, owner.practice_id).name
    assert page.get_by_role("heading", level=1).inner_text() == name
    nav = page.get_by_role("navigation", name="Main")
    for link in ("Dashboard", "Team", "Settings", "Account"):
        assert nav.get_by_role("link", name=link).is_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "dashboard-1280")
    assert console.errors() == []

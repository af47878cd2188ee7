"""Couples and the partner portal in a real browser: a therapist at a desk, a partner on a phone."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, Partner, Practice
from practice.services import couples as couple_service
from practice.services.couples import PartnerDetails
from practice.tenancy import set_current_practice, unscoped
from tests.e2e.conftest import PHONE
from tests.e2e.test_browser import scroll_width, sign_in
from tests.factories import OwnerFactory, UserFactory

WIDE = {"width": 1280, "height": 900}
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
ON_A_PHONE = {"user_agent": PHONE_AGENT, "is_mobile": True, "has_touch": True}
TOUCH_TARGET = 44  # CSS px: the smallest comfortable tap on the portal

# Controls a thumb must hit on a portal page, and how small each one is. Links inside running
# text are exempt (as in WCAG 2.5.5); the checkbox counts through its label, which is the target.
# A box or a radio inside a choice label is tapped through its label, which is measured.
SMALL_TARGETS_JS = """
(size) => Array.from(document.querySelectorAll(
    'button, a, select, label.choice, '
    + 'input:not([type=hidden]):not([type=checkbox]):not(label.choice input)'))
  .filter(el => !el.closest('p') && !el.classList.contains('skip-link'))
  .filter(el => el.getClientRects().length > 0)
  .map(el => {
    const box = el.getBoundingClientRect();
    return {what: el.textContent.trim() || el.outerHTML.slice(0, 60),
            width: Math.round(box.width), height: Math.round(box.height)};
  })
  .filter(box => box.width < size || box.height < size)
"""


@pytest.fixture
def links_to_live_server(app, live_server):
    """Personal links are built from BASE_URL: point it at the live server for one test."""
    saved = app.config["BASE_URL"]
    app.config["BASE_URL"] = live_server
    yield live_server
    app.config["BASE_URL"] = saved


# Boxes that hide what overflows them (a rounded table wrapper, say): words cut off inside one
# do not widen the page, so the scroll width alone would not notice them.
CLIPPED_JS = """
() => Array.from(document.querySelectorAll('main *'))
  .filter(el => !['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName))
  .filter(el => getComputedStyle(el).overflowX !== 'visible')
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => el.className || el.tagName)
"""


def no_sideways_scroll(page, width: int) -> None:
    assert scroll_width(page) <= width, f"{page.url} scrolls sideways at {width} px"
    assert page.evaluate(CLIPPED_JS) == [], f"{page.url} cuts words off at {width} px"


def problems(console, *expected_statuses: int) -> list[str]:
    """Console errors and page errors, less the ones a deliberate 4xx page produces."""
    expected = tuple(f"status of {status} " for status in expected_statuses)
    return [
        text
        for text in console.errors()
        if not (text.startswith("Failed to load resource") and any(e in text for e in expected))
    ]


def small_touch_targets(page) -> list[dict]:
    return page.evaluate(SMALL_TARGETS_JS, TOUCH_TARGET)


def partner_card(page, name: str):
    return page.get_by_role("region", name=name, exact=True)


def fill_partner(page, heading: str, *, name: str, email: str, role: str, zone: str) -> None:
    card = page.locator("section.card").filter(has=page.get_by_role("heading", name=heading))
    card.get_by_label("Name", exact=True).fill(name)
    card.get_by_label("Email (optional)").fill(email)
    card.get_by_label("Role in the repair").select_option(label=role)
    card.get_by_label("Time zone").select_option(zone)


def test_a_couple_is_added_and_a_partner_joins_on_a_phone(
    app, open_page, screenshot, links_to_live_server
):
    owner = OwnerFactory(name="Mira Okafor")
    db.session.commit()

    # --- The therapist, at a desk --------------------------------------------------------
    desk, desk_console = open_page(WIDE)
    desk.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(desk, owner.email)
    desk.goto("/couples")
    desk.get_by_role("link", name="Add a couple").click()
    desk.wait_for_url(re.compile(r"/couples/new$"))
    assert desk.get_by_role("heading", level=1).inner_text() == "Add a couple"
    screenshot(desk, "couple-form-1280")

    desk.get_by_label("Label").fill("Dana & Lee")
    desk.get_by_label("Presenting concern").select_option(label="Affair")
    desk.get_by_label("Couple's time zone").select_option("America/Toronto")
    fill_partner(
        desk,
        "First partner",
        name="Dana",
        email="dana@example.com",
        role="Partner who was hurt",
        zone="America/Toronto",
    )
    fill_partner(
        desk,
        "Second partner",
        name="Lee",
        email="",
        role="Partner who broke trust",
        zone="America/Vancouver",
    )
    desk.get_by_role("button", name="Add couple").click()

    desk.wait_for_url(re.compile(r"/couples/\d+$"))
    couple_url = desk.url
    assert desk.get_by_role("heading", level=1).inner_text().startswith("Dana & Lee")
    assert desk.get_by_text("Dana & Lee is in your caseload.").is_visible()
    dana, lee = partner_card(desk, "Dana"), partner_card(desk, "Lee")
    assert "Partner who was hurt · dana@example.com · America/Toronto" in dana.inner_text()
    assert "Partner who broke trust · no email · America/Vancouver" in lee.inner_text()
    assert "No link yet" in dana.inner_text()
    screenshot(desk, "couple-1280")

    dana.get_by_role("button", name="Create personal link").click()
    desk.wait_for_url(re.compile(r"/couples/\d+/partners/\d+/invite$"))
    assert desk.get_by_role("heading", level=1).inner_text() == "Dana's personal link"
    link = desk.get_by_label("Link").input_value()
    assert re.fullmatch(re.escape(links_to_live_server) + r"/p/[\w-]{40,}", link)

    copy = desk.get_by_role("button", name="Copy link")
    assert copy.is_visible(), "app.js reveals the copy button"
    copy.click()
    status = desk.locator("[data-copy-status]")
    status.filter(has_text="Copied").wait_for()
    assert status.inner_text() == "Copied. Paste it into a private message to this partner."
    assert desk.evaluate("navigator.clipboard.readText()") == link
    screenshot(desk, "invite-created-1280")

    # --- Dana, on her phone, in a browser of her own -------------------------------------
    phone, phone_console = open_page(PHONE, **ON_A_PHONE)
    phone.goto(link)
    assert phone.get_by_role("heading", level=1).inner_text() == "Welcome, Dana"
    assert "Mira Okafor" in phone.locator("main").inner_text()
    no_sideways_scroll(phone, PHONE["width"])
    assert small_touch_targets(phone) == []
    screenshot(phone, "portal-welcome-360")

    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(re.compile(r"/portal/privacy$"))
    assert phone.get_by_role("heading", level=1).inner_text() == "Before you start: who sees what"
    no_sideways_scroll(phone, PHONE["width"])
    assert small_touch_targets(phone) == []
    screenshot(phone, "portal-privacy-360")

    phone.get_by_role("button", name="Continue to my portal").click()  # not ticked yet
    assert phone.get_by_text("Please tick the box to continue.").is_visible()
    assert phone.url.endswith("/portal/privacy")
    no_sideways_scroll(phone, PHONE["width"])
    screenshot(phone, "portal-privacy-error-360")

    phone.get_by_label("I have read this and understand who sees what I write.").check()
    phone.get_by_role("button", name="Continue to my portal").click()
    phone.wait_for_url(re.compile(r"/portal$"))
    assert phone.get_by_role("heading", level=1).inner_text() == "Hello, Dana"
    intro = phone.locator("main").inner_text()
    assert "Lee" in intro and "Mira Okafor" in intro
    assert phone.get_by_text("Thank you. This notice is always one tap away").is_visible()
    no_sideways_scroll(phone, PHONE["width"])
    assert small_touch_targets(phone) == []
    screenshot(phone, "portal-home-360")

    # --- Back at the desk: the therapist sees Dana's phone -------------------------------
    desk.goto(couple_url)
    dana = partner_card(desk, "Dana")
    heading = dana.get_by_role("heading", name="Signed-in devices")
    devices = heading.locator("xpath=following-sibling::ul[1]").get_by_role("listitem")
    assert devices.count() == 1
    assert devices.inner_text().startswith("Phone · Chrome\nvia invite")
    assert dana.get_by_text("Acknowledged", exact=True).is_visible()
    assert "No link yet" in partner_card(desk, "Lee").inner_text()
    screenshot(desk, "couple-joined-1280")

    desk.goto("/couples")
    row = desk.get_by_role("row").filter(has_text="Dana & Lee")
    assert row.locator("li", has_text="Dana").locator(".state").inner_text() == "Joined"
    assert row.locator("li", has_text="Lee").locator(".state").inner_text() == "No link yet"
    screenshot(desk, "caseload-1280")

    # The same two pages on a phone.
    desk.set_viewport_size(PHONE)
    desk.reload()
    no_sideways_scroll(desk, PHONE["width"])
    screenshot(desk, "caseload-360")
    desk.goto(couple_url)
    no_sideways_scroll(desk, PHONE["width"])
    screenshot(desk, "couple-joined-360")

    assert problems(desk_console) == []
    assert problems(phone_console, 422) == []  # the unticked box was answered with a 422


def _long_named_couple(owner) -> Couple:
    """A couple whose names and addresses are as long as the forms allow them to be."""
    set_current_practice(owner.practice_id)
    second = UserFactory(practice=owner.practice, name="Bartholomew Featherstonehaugh-Whitcombe")
    couple = couple_service.create_couple(
        owner,
        label="Konstantinopoulou-Alexandridou & Featherstonehaugh-Whitcombe",
        presenting_concern="financial_secret",
        start_date=date(2026, 1, 12),
        time_zone="America/Argentina/ComodRivadavia",
        therapist_notes="Week 3.\nAgreed a processing window on Sundays.",
        partners=[
            PartnerDetails(
                display_name="Anastasia Konstantinopoulou-Alexandridou",
                email="anastasia.konstantinopoulou-alexandridou@example-mail-provider.com",
                repair_role="broke_trust",
                time_zone="America/Argentina/ComodRivadavia",
            ),
            PartnerDetails(
                display_name="Maximilian Featherstonehaugh-Whitcombe",
                email=None,
                repair_role="hurt",
                time_zone="America/North_Dakota/New_Salem",
            ),
        ],
        therapist_ids=[owner.id, second.id],
    )
    db.session.commit()
    set_current_practice(None)
    return couple


def test_the_therapist_pages_fit_a_phone_with_long_names(app, open_page, screenshot):
    owner = OwnerFactory()
    couple = _long_named_couple(owner)
    page, console = open_page(PHONE)
    sign_in(page, owner.email)

    page.goto("/couples")
    assert page.get_by_role("link", name=couple.label).is_visible()
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "caseload-long-names-360")

    page.get_by_role("link", name=couple.label).click()
    page.wait_for_url(re.compile(r"/couples/\d+$"))
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "couple-long-names-360")

    card = partner_card(page, "Anastasia Konstantinopoulou-Alexandridou")
    card.get_by_label("Also email it to").check()
    card.get_by_role("button", name="Create personal link").click()
    page.wait_for_url(re.compile(r"/invite$"))
    assert page.get_by_role("button", name="Copy link").is_visible()
    assert page.get_by_text("We are also emailing it to").is_visible()
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "invite-created-360")

    page.goto(f"/couples/{couple.id}")
    card = partner_card(page, "Anastasia Konstantinopoulou-Alexandridou")
    assert "Invited · not opened yet" in card.inner_text()
    page.once("dialog", lambda dialog: dialog.dismiss())  # "the current one stops working"
    card.get_by_role("button", name="Create a new link").click()
    assert page.url.endswith(f"/couples/{couple.id}"), "dismissing the question stays put"
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "couple-invited-360")

    page.goto("/couples/new")
    page.get_by_role("button", name="Add couple").click()  # nothing filled in
    assert page.locator("#label-error").inner_text() == "Give the couple a label."
    assert page.locator(".field-error", has_text="Enter a name.").count() == 2
    # Listed at the top as well; a tap on one goes to its field.
    summary = page.get_by_role("alert").filter(has_text="need a look")
    assert summary.get_by_role("link").count() >= 3
    summary.get_by_role("link", name=re.compile("Second partner")).first.click()
    assert page.evaluate("location.hash") == "#partner2-display_name"
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "couple-form-errors-360")

    assert problems(console, 422) == []  # the empty form was answered with a 422


def test_a_dead_link_says_so_plainly_on_a_phone_and_a_desk(app, open_page, screenshot):
    for viewport, name in ((PHONE, "360"), (WIDE, "1280")):
        page, console = open_page(viewport, **(ON_A_PHONE if viewport is PHONE else {}))
        response = page.goto("/p/this-link-was-never-issued-or-has-long-expired")
        assert response.status == 404
        assert page.get_by_role("heading", level=1).inner_text() == "This link no longer works"
        assert page.get_by_role("button", name="Email me a sign-in link").is_visible()
        no_sideways_scroll(page, viewport["width"])
        if viewport is PHONE:
            assert small_touch_targets(page) == []
        screenshot(page, f"portal-dead-link-{name}")
        assert problems(console, 404) == []


def test_a_partner_signs_out_on_a_shared_phone(app, open_page, screenshot, links_to_live_server):
    owner = OwnerFactory()
    couple = _long_named_couple(owner)
    with unscoped():
        partner = db.session.scalar(
            select(Partner).where(Partner.couple_id == couple.id, Partner.position == 1)
        )
        practice = db.session.get(Practice, owner.practice_id)
    from practice.services import portal_access

    set_current_practice(owner.practice_id)
    _, token = portal_access.create_invite(owner, partner, email_it=False)
    db.session.commit()
    set_current_practice(None)

    page, console = open_page(PHONE, **ON_A_PHONE)
    page.goto(f"/p/{token}")
    assert page.locator(".brand").inner_text() == practice.name
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("I have read this").check()
    page.get_by_role("button", name="Continue to my portal").click()
    page.wait_for_url(re.compile(r"/portal$"))
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Hello, Anastasia Konstantinopoulou-Alexandridou"
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "portal-home-long-names-360")

    page.get_by_role("navigation", name="Portal").get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", level=1).inner_text() == "You are signed out"
    no_sideways_scroll(page, PHONE["width"])
    assert small_touch_targets(page) == []
    screenshot(page, "portal-goodbye-360")

    page.goto("/portal")
    page.wait_for_url(re.compile(r"/portal/signed-out"))
    assert page.get_by_role("heading", level=1).inner_text() == "You are signed out"
    no_sideways_scroll(page, PHONE["width"])
    assert small_touch_targets(page) == []
    screenshot(page, "portal-signed-out-360")
    assert console.errors() == []

"""A portal PIN on a shared phone: set it, lock, and nothing shows until it is entered."""

from __future__ import annotations

import re

from tests.couple_factories import CoupleFactory, PartnerInviteFactory
from tests.e2e.conftest import PHONE
from tests.e2e.test_couples_browser import (
    ON_A_PHONE,
    SMALL_TARGETS_JS,
    TOUCH_TARGET,
    no_sideways_scroll,
    problems,
)
from tests.e2e.test_homework_browser import _join
from tests.factories import OwnerFactory

PIN = "482916"


def test_a_pin_keeps_a_shared_phone_closed(app, open_page, screenshot):
    couple = CoupleFactory(therapist=OwnerFactory())
    partner = couple.partners[0]
    token = PartnerInviteFactory(partner=partner).token
    name = partner.display_name
    from practice.extensions import db

    db.session.commit()
    page, console = open_page(PHONE, **ON_A_PHONE)
    _join(page, token)

    page.get_by_role("link", name="protect it with a PIN").click()
    page.wait_for_url(re.compile(r"/portal/pin$"))
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "portal-pin-360")
    page.get_by_label("New PIN (4 to 8 digits)").fill(PIN)
    page.get_by_label("The new PIN again").fill(PIN)
    page.get_by_role("button", name="Set PIN").click()
    assert page.get_by_text("Your PIN is set").is_visible()

    page.get_by_role("navigation", name="Portal").get_by_role("button", name="Lock").click()
    page.wait_for_url(re.compile(r"/portal/unlock"))
    assert page.get_by_role("heading", level=1).inner_text() == "Enter your PIN"
    assert name not in page.content()  # the lock screen names nobody
    assert page.get_by_role("navigation", name="Portal").get_by_role("link").count() == 0
    assert page.evaluate(SMALL_TARGETS_JS, TOUCH_TARGET) == []
    no_sideways_scroll(page, PHONE["width"])

    page.get_by_label("Your PIN").fill("000000")
    page.get_by_role("button", name="Open").click()
    assert page.get_by_text("4 tries left").is_visible()
    screenshot(page, "portal-unlock-wrong-360")

    page.get_by_label("Your PIN").fill(PIN)
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(re.compile(r"/portal$"))
    assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {name}"
    assert problems(console, 422) == []

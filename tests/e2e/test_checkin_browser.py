"""A partner's weekly check-in on a 390 px phone in Chromium, then the quick exit.

Through the portal as a partner meets it: the personal link, the privacy notice, the private
safety questions and the PIN offer on the portal home. Then every section of the check-in,
tapped and typed; the page says "Saved" (only once the server's echo holds what was sent), a
reload shows every answer, and handing it in shows the partner their own words. Quick exit
leaves for the practice's neutral page and ends the portal session: Back and a fresh visit
show the signed-out page, never the check-in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import expect
from sqlalchemy import select

from practice.checkins.questions import GROUNDING_STEPS, MARKERS, question
from practice.checkins.status import CheckinStatus
from practice.extensions import db
from practice.models import PortalSession
from practice.models.checkin import Checkin, SafetyAnswer
from practice.tenancy import practice_context
from tests.couple_factories import CoupleFactory, PartnerInviteFactory
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_browser import sign_in
from tests.e2e.test_couples_browser import ON_A_PHONE, no_sideways_scroll, problems
from tests.e2e.test_homework_browser import _join
from tests.factories import OwnerFactory

PHONE_390 = {"width": 390, "height": 844}
SAVED = re.compile(r"^Saved at \d")

# What the partner types: letters beyond ASCII, an emoji and line breaks, each text its own.
TEXTS = {
    "What happened this week": "Monday: we talked about the messages — calmly.\n"
    "Thursday: a setback at the café, then a pause 😔",
    "How you felt": "Raw at first, later «relieved»; naïve to hope? Not this week.",
    "What went well": "Łukasz listened without defending.\nTwo evenings with the phones away 🌙",
    "Anything else that helped": "Writing it down in my journal — ten minutes, déjà vu gone",
    "How it went": "Tuesday 19:30, twenty minutes.\nHard, but we stayed with it ✓",
    "What is one thing you noticed your partner do this week that helped?": (
        "He asked how I was before I said a word. Zoë says thank you 🙏"
    ),
}
RATINGS = {"same_fight": 2, "recovery": 4, "follow_through": 5, "affection": 3, "checking": 1}
TRIGGERS = {
    "How many times something set off the hurt": "3",
    "The longest it took to feel steady again, in minutes": "45",
}
STEPS = {"breathed": "We paused and breathed together", "code_word": "The code word"}
WINDOW_HELD = ("Did you hold it this week?", "Yes")
SAFETY = {"I feel safe at home.": "Yes", "I feel heard by my partner.": "Not sure"}
SHOWN_WHEN_HANDED_IN = (  # the texts the read view shows
    "What happened this week",
    "How you felt",
    "What went well",
    "How it went",
    "What is one thing you noticed your partner do this week that helped?",
)


@dataclass(frozen=True)
class Couple:
    """Ids and a personal link (safe across commits)."""

    practice_id: int
    owner_email: str
    partner_id: int
    token: str  # the hurt partner's, who writes the check-in


def _couple() -> Couple:
    owner = OwnerFactory()
    couple = CoupleFactory(therapist=owner, partner1_name="Zoë", partner2_name="Łukasz")
    hurt = couple.partners[0]
    made = Couple(owner.practice_id, owner.email, hurt.id, PartnerInviteFactory(partner=hurt).token)
    db.session.commit()
    return made


def _exactly(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def _tap_choice(group, label: str) -> None:
    """Tap a choice by its label, the thumb's target, and see it chosen."""
    group.locator("label").filter(has_text=_exactly(label)).tap()
    expect(group.get_by_label(label, exact=True)).to_be_checked()


def _group(page, legend: str):
    return page.get_by_role("group", name=legend, exact=True)


def _words(value: str) -> str:
    return " ".join(value.split())


def _drafts_on_device(page) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage)"
        "  .filter(k => k.startsWith('practice-draft-')).map(k => [k, localStorage.getItem(k)]))"
    )


def _quick_exit_in_first_screen(page) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    button = page.get_by_role("button", name="Quick exit")
    expect(button).to_be_in_viewport(ratio=1)
    box = page.evaluate(
        "() => document.querySelector('button.quick-exit').getBoundingClientRect().toJSON()"
    )
    assert box["top"] >= 0 and box["left"] >= 0
    assert box["bottom"] <= PHONE_390["height"] and box["right"] <= PHONE_390["width"]


def _phone_checks(page, screenshot, name: str) -> None:
    no_sideways_scroll(page, PHONE_390["width"])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]
    _quick_exit_in_first_screen(page)
    screenshot(page, name)


def _set_quick_exit(open_page, couple: Couple, neutral: str) -> None:
    """The owner points the quick exit at a neutral page, through the settings form."""
    desk, console = open_page(DESKTOP)
    sign_in(desk, couple.owner_email)
    desk.goto("/settings/checkins")
    desk.get_by_label("Quick exit leaves for").fill(neutral)
    desk.get_by_role("button", name="Save").click()
    expect(desk.get_by_text("Check-in and safety settings saved.")).to_be_visible()
    assert desk.get_by_label("Quick exit leaves for").input_value() == neutral
    assert problems(console) == []


def _through_the_home_cards(page) -> None:
    """The private safety questions (a safe answer or "Prefer not to answer" each), then
    "Not now" to the PIN offer, as a partner meets them on the portal home."""
    screen = page.get_by_role("region", name="A few private questions")
    groups = screen.get_by_role("group")
    assert groups.count() >= 2
    for index in range(groups.count()):
        group = groups.nth(index)
        if index == 0:
            _tap_choice(group, "Prefer not to answer")
        else:  # the first answer of each question is the safe one
            first = group.locator("label").first.inner_text().strip()
            _tap_choice(group, first)
    screen.get_by_role("button", name="Send to my therapist").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.get_by_text("Your answers went to your therapist only.")).to_be_visible()
    page.get_by_role("link", name="Go to my portal").tap()
    page.wait_for_url(re.compile(r"/portal$"))

    offer = page.get_by_role("region", name="Keep this portal to yourself")
    offer.get_by_role("button", name="Not now").tap()
    page.wait_for_url(re.compile(r"/portal$"))
    expect(page.get_by_text("You can set a PIN any time")).to_be_visible()
    expect(page.get_by_role("region", name="Keep this portal to yourself")).to_have_count(0)
    expect(page.get_by_role("region", name="A few private questions")).to_have_count(0)


def _share_box(page, other: str):
    return page.get_by_label(
        f"Share this check-in with {other} once I hand it in"
        " (the two private questions stay private)",
        exact=True,
    )


def _fill_the_checkin(page, other: str) -> None:
    """Every section, as a thumb does: the first texts key by key, the rest pasted."""
    for index, (label, text) in enumerate(TEXTS.items()):
        box = page.get_by_label(label, exact=True)
        box.tap()
        if index < 2:
            box.press_sequentially(text)
        else:
            box.fill(text)
    for marker in MARKERS:
        _tap_choice(_group(page, question(marker, "hurt")), str(RATINGS[marker.key]))
    for label, number in TRIGGERS.items():
        box = page.get_by_label(label, exact=True)
        box.tap()
        box.press_sequentially(number)
    helped = _group(page, "What helped")
    for label in STEPS.values():
        _tap_choice(helped, label)
    _tap_choice(_group(page, WINDOW_HELD[0]), WINDOW_HELD[1])
    for legend, answer in SAFETY.items():
        _tap_choice(_group(page, legend), answer)
    share = _share_box(page, other)
    share.tap()
    expect(share).to_be_checked()


def _everything_there(page, other: str) -> None:
    shown = {label: page.get_by_label(label, exact=True).input_value() for label in TEXTS}
    assert shown == TEXTS
    for marker in MARKERS:
        group = _group(page, question(marker, "hurt"))
        chosen = [
            str(v) for v in range(1, 6) if group.get_by_label(str(v), exact=True).is_checked()
        ]
        assert chosen == [str(RATINGS[marker.key])], marker.key
    assert {label: page.get_by_label(label, exact=True).input_value() for label in TRIGGERS} == (
        TRIGGERS
    )
    helped = _group(page, "What helped")
    ticked = [
        key
        for key, label in GROUNDING_STEPS.items()
        if helped.get_by_label(label, exact=True).is_checked()
    ]
    assert ticked == list(STEPS)
    expect(_group(page, WINDOW_HELD[0]).get_by_label(WINDOW_HELD[1], exact=True)).to_be_checked()
    for legend, answer in SAFETY.items():
        expect(_group(page, legend).get_by_label(answer, exact=True)).to_be_checked()
    share = _share_box(page, other)
    expect(share).to_be_checked()


def _shows_no_checkin(page) -> None:
    text = _words(page.locator("body").inner_text())
    assert [label for label, typed in TEXTS.items() if _words(typed)[:20] in text] == []
    assert "Your weekly check-in" not in text
    expect(page.locator("form[data-autosave]")).to_have_count(0)


def _stored(couple: Couple) -> tuple[Checkin, dict, list[PortalSession]]:
    db.session.expire_all()
    with practice_context(couple.practice_id):
        checkins = db.session.scalars(
            select(Checkin).where(Checkin.partner_id == couple.partner_id)
        ).all()
        assert len(checkins) == 1
        safety = db.session.scalars(
            select(SafetyAnswer).where(SafetyAnswer.checkin_id == checkins[0].id)
        ).all()
        assert len(safety) == 1
        sessions = db.session.scalars(
            select(PortalSession).where(PortalSession.partner_id == couple.partner_id)
        ).all()
        return checkins[0], dict(safety[0].answers), list(sessions)


def _lines(value: str) -> str:
    """A line break as typed: a form sends it as CRLF (HTML's form encoding)."""
    return value.replace("\r\n", "\n")


def test_a_weekly_checkin_on_a_phone_is_all_there_handed_in_then_quick_exit(
    app, live_server, open_page, screenshot
):
    couple = _couple()
    neutral = f"{live_server}/healthz"
    _set_quick_exit(open_page, couple, neutral)

    page, console = open_page(PHONE_390, **ON_A_PHONE)
    _join(page, couple.token)
    _through_the_home_cards(page)

    page.get_by_role("link", name="This week’s check-in").tap()
    page.wait_for_url(re.compile(r"/portal/checkin$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your weekly check-in")
    state = page.locator("[data-save-state]")
    expect(state).to_have_text("Not saved yet")
    _phone_checks(page, screenshot, "portal-checkin-empty-390")

    _fill_the_checkin(page, "Łukasz")
    expect(state).to_have_text(SAVED)
    # Saved on the server, so nothing is kept on the device: the reload shows the server's copy.
    assert _drafts_on_device(page) == {}
    page.reload()
    _everything_there(page, "Łukasz")
    expect(state).to_contain_text("Saved")
    _phone_checks(page, screenshot, "portal-checkin-filled-390")

    # Offline, the page keeps a copy on the phone: the words, never a safety answer.
    page.context.set_offline(True)
    facts = page.locator('[name="checkin-facts"]')
    facts.press("End")
    facts.type("!")
    page.locator('[name="safety-safe_at_home"][value="yes"]').check()
    page.wait_for_function(
        "() => Object.keys(localStorage).some(k => k.startsWith('practice-draft-'))"
    )
    (kept,) = _drafts_on_device(page).values()
    assert '"checkin-facts"' in kept and "safety-" not in kept
    page.context.set_offline(False)
    facts.press("Backspace")
    expect(state).to_have_text(SAVED)

    page.get_by_role("button", name="Hand in to your therapist").tap()
    page.wait_for_url(re.compile(r"/portal$"))
    expect(page.get_by_text("Handed in. Thank you")).to_be_visible()
    assert _drafts_on_device(page) == {}  # handed in: no copy stays on the phone
    page.get_by_role("link", name="This week’s check-in").tap()
    page.wait_for_url(re.compile(r"/portal/checkin$"))
    expect(page.locator("form[data-autosave]")).to_have_count(0)
    main = page.locator("main")
    expect(main).to_contain_text("handed in")
    expect(main).to_contain_text("shared with Łukasz")
    text = _words(main.inner_text())
    assert [label for label in SHOWN_WHEN_HANDED_IN if _words(TEXTS[label]) not in text] == []
    assert "Not sure" not in text  # the two safety answers are for the therapist only
    _phone_checks(page, screenshot, "portal-checkin-handed-in-390")

    assert problems(console) == []
    # A copy of something typed offline elsewhere in the portal: the quick exit clears it.
    page.evaluate("() => localStorage.setItem('practice-draft-elsewhere', '{\"fields\": {}}')")
    page.get_by_role("button", name="Quick exit").tap()
    page.wait_for_url(neutral)
    assert page.url == neutral
    assert "Zoë" not in page.content()
    page.goto(f"{live_server}/portal/signed-out")  # the same origin, to read its storage
    assert _drafts_on_device(page) == {}
    page.goto(neutral)

    page.go_back()
    page.wait_for_url(re.compile(r"/portal/signed-out"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    _shows_no_checkin(page)
    no_sideways_scroll(page, PHONE_390["width"])
    screenshot(page, "portal-quick-exit-back-390")

    page.goto(f"{live_server}/portal/checkin")
    page.wait_for_url(re.compile(r"/portal/signed-out"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    _shows_no_checkin(page)
    # The stand-in neutral page (/healthz) has no icon: the browser's ask for /favicon.ico
    # there is the one 404.
    assert problems(console, 404) == []

    checkin, safety_answers, sessions = _stored(couple)
    assert checkin.status == CheckinStatus.SUBMITTED
    assert checkin.submitted_at is not None
    assert checkin.shared is True
    content = checkin.content
    assert {
        "facts": _lines(content["facts"]),
        "feelings": _lines(content["feelings"]),
        "went_well": _lines(content["went_well"]),
        "reflection": _lines(content["reflection"]),
        "helped_other": _lines(content["triggers"]["helped_other"]),
        "how": _lines(content["window"]["how"]),
    } == {
        "facts": TEXTS["What happened this week"],
        "feelings": TEXTS["How you felt"],
        "went_well": TEXTS["What went well"],
        "reflection": TEXTS["What is one thing you noticed your partner do this week that helped?"],
        "helped_other": TEXTS["Anything else that helped"],
        "how": TEXTS["How it went"],
    }
    assert content["markers"] == RATINGS
    assert content["triggers"]["count"] == 3
    assert content["triggers"]["longest_minutes"] == 45
    assert content["triggers"]["helped"] == list(STEPS)
    assert content["window"]["held"] == "yes"
    assert content["kept"] == {}
    assert safety_answers == {"safe_at_home": "yes", "feel_heard": "not_sure"}
    assert [s.end_reason for s in sessions] == ["quick exit"]
    assert all(s.ended_at is not None for s in sessions)

"""Homework on a phone: saved as typed, kept on the device offline, never silently overwritten."""

from __future__ import annotations

import re
from dataclasses import dataclass

from practice.extensions import db
from practice.models.homework import HomeworkResponse
from practice.services import homework as homework_service
from practice.tenancy import set_current_practice, unscoped
from tests.couple_factories import (
    CoupleFactory,
    PartnerInviteFactory,
    public,  # noqa: I001
)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_couples_browser import ON_A_PHONE, no_sideways_scroll, problems
from tests.factories import OwnerFactory

SAVED_AT = re.compile(r"^Saved at \d")

# Every text the save state shows, in order (so a "Saving…" that lasts a blink is seen too).
WATCH_STATE_JS = """
() => {
  const state = document.querySelector('[data-save-state]');
  window.__states = [];
  new MutationObserver(() => window.__states.push(state.textContent))
    .observe(state, {childList: true, characterData: true, subtree: true});
}
"""
DRAFT_KEYS_JS = (
    "() => Object.keys(localStorage).filter(k => k.startsWith('practice-draft-')).sort()"
)

APOLOGY = {
    "What I did": "I hid the messages from you for six months and lied when you asked.",
    "How I see it hurt you": "You stopped trusting your own memory and felt alone at home.",
    "I take full responsibility": "I chose to lie, every time, and that is on me alone.",
    "How I will make amends and change": "Every Sunday I will show you my phone for 3 months.",
}


@dataclass(frozen=True)
class Homework:
    """Ids and personal links for one couple's homework (safe across commits)."""

    apology_id: int
    window_id: int
    hurt_token: str
    broke_trust_token: str


def _couple_with_homework() -> Homework:
    owner = OwnerFactory()
    couple = CoupleFactory(therapist=owner)
    hurt, broke_trust = couple.partners
    set_current_practice(owner.practice_id)
    apology = homework_service.assign(
        owner,
        couple,
        kind_key="apology",
        mode="one",
        partner_id=broke_trust.id,
        instructions="Write it in your own words; no need to finish in one go.",
        due_date=None,
    )
    window = homework_service.assign(
        owner,
        couple,
        kind_key="processing_window",
        mode="joint",
        instructions="Agree one or two weekly times together.",
        due_date=None,
    )
    homework = Homework(
        apology_id=apology.responses[0].id,
        window_id=window.responses[0].id,
        hurt_token=PartnerInviteFactory(partner=hurt).token,
        broke_trust_token=PartnerInviteFactory(partner=broke_trust).token,
    )
    db.session.commit()
    set_current_practice(None)
    return homework


def _stored(response_id: int) -> HomeworkResponse:
    db.session.expire_all()
    with unscoped():
        response = db.session.get(HomeworkResponse, response_id)
        assert response is not None
        return response


def _join(page, token: str) -> None:
    """Open a personal link and get through the privacy notice to the portal home."""
    page.goto(f"/p/{token}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/portal(/privacy)?$"))
    if page.url.endswith("/privacy"):  # the notice is read once per partner
        page.get_by_label("I have read this").check()
        page.get_by_role("button", name="Continue to my portal").click()
        page.wait_for_url(re.compile(r"/portal$"))


def _state(page):
    return page.locator("[data-save-state]")


def _wait_saved(page) -> None:
    _state(page).filter(has_text=SAVED_AT).wait_for()


def test_an_apology_is_saved_as_typed_with_the_coach_on_a_phone(app, open_page, screenshot):
    homework = _couple_with_homework()
    page, console = open_page(PHONE, **ON_A_PHONE)
    _join(page, homework.broke_trust_token)
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "homework-portal-home-360")

    page.get_by_role("link", name=re.compile("Apology draft")).click()
    page.wait_for_url(re.compile(rf"/portal/homework/{public(homework.apology_id)}$"))
    assert _state(page).inner_text() == "Not saved yet"
    # Nothing written yet: what is missing is listed once, in the panel, not under each box.
    assert page.locator("[data-coach-beside]").count() == 0
    assert page.locator("[data-coach-list] .coach__item--missing").first.is_visible()
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "homework-apology-empty-360")

    page.evaluate(WATCH_STATE_JS)
    page.get_by_label("What I did").fill(APOLOGY["What I did"])
    hurt = page.get_by_label("How I see it hurt you")
    hurt.fill("I'm sorry you felt hurt")
    _wait_saved(page)
    states = page.evaluate("window.__states")
    assert "Saving…" in states
    assert SAVED_AT.match(states[-1])

    coach = page.locator("[data-coach-list]")
    flagged = coach.locator("q", has_text="sorry you felt")
    assert flagged.count() == 1
    assert flagged.inner_text() in "I'm sorry you felt hurt"
    # On a phone the note sits under the part it is about; the panel below the form only
    # says where the notes are. On a wide screen the panel beside the form has them all.
    beside = page.locator('[data-part="how_it_hurt"] [data-coach-beside] q')
    assert beside.inner_text() == flagged.inner_text()
    assert beside.is_visible() and not flagged.is_visible()
    assert "under the part it is about" in coach.inner_text()
    screenshot(page, "homework-apology-coach-flag-360")
    page.set_viewport_size(DESKTOP)
    assert flagged.is_visible() and not beside.is_visible()
    screenshot(page, "homework-apology-coach-flag-1280")
    page.set_viewport_size(PHONE)

    hurt.fill(APOLOGY["How I see it hurt you"])
    flagged.wait_for(state="detached")
    _wait_saved(page)
    assert coach.locator("q").count() == 0
    assert beside.count() == 0
    assert page.evaluate(DRAFT_KEYS_JS) == [], "a saved draft needs no copy on the device"

    page.reload()
    assert page.get_by_label("What I did").input_value() == APOLOGY["What I did"]
    assert hurt.input_value() == APOLOGY["How I see it hurt you"]
    assert _state(page).inner_text().startswith("Saved ")
    assert _stored(homework.apology_id).status == "draft"
    no_sideways_scroll(page, PHONE["width"])

    # Handed in: the read-only page, and no copy left on the device.
    for label, text in APOLOGY.items():
        page.get_by_label(label).fill(text)
    page.get_by_role("button", name="Submit to your therapist").click()
    page.wait_for_url(re.compile(r"/portal$"))
    assert page.get_by_text("Submitted.").is_visible()
    assert _stored(homework.apology_id).status == "submitted"
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "homework-portal-home-submitted-360")

    page.goto(f"/portal/homework/{public(homework.apology_id)}")
    assert page.locator("form[data-autosave]").count() == 0
    assert APOLOGY["What I did"] in page.locator("main").inner_text()
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "homework-apology-read-360")

    # A shared phone: signing out leaves no draft text behind.
    page.evaluate(
        "() => { localStorage.setItem('practice-draft-999999', '{}');"
        " localStorage.setItem('unrelated', 'kept'); }"
    )
    page.get_by_role("navigation", name="Portal").get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", level=1).inner_text() == "You are signed out"
    # The page clears the drafts once it has loaded (app.js, on DOMContentLoaded): the heading
    # is there before that, and on a busy machine well before.
    page.wait_for_load_state()
    assert page.evaluate(DRAFT_KEYS_JS) == []
    assert page.evaluate("localStorage.getItem('unrelated')") == "kept"

    assert problems(console) == []


def test_text_typed_offline_is_kept_on_the_device_and_saved_on_return(app, open_page, screenshot):
    homework = _couple_with_homework()
    page, console = open_page(PHONE, **ON_A_PHONE)
    context = page.context
    _join(page, homework.broke_trust_token)
    url = f"/portal/homework/{public(homework.apology_id)}"
    page.goto(url)
    what = page.get_by_label("What I did")
    what.fill("I hid the messages from you")
    _wait_saved(page)

    context.set_offline(True)
    offline_text = APOLOGY["What I did"]
    what.fill(offline_text)
    _state(page).filter(has_text="offline").wait_for()
    assert "kept on this device" in _state(page).inner_text()
    key = f"practice-draft-{public(homework.apology_id)}"
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('{key}'))")
    assert kept["fields"]["content-what_i_did"] == offline_text
    screenshot(page, "homework-apology-offline-360")
    assert _stored(homework.apology_id).content["what_i_did"] == "I hid the messages from you"

    page.wait_for_load_state()  # closed at rest: Chromium can stall closing mid-navigation
    page.close()
    context.set_offline(False)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(url)
    what = page.get_by_label("What I did")
    assert what.input_value() == offline_text, "restored from the device"
    _wait_saved(page)
    assert _stored(homework.apology_id).content["what_i_did"] == offline_text
    assert page.evaluate(DRAFT_KEYS_JS) == []
    screenshot(page, "homework-apology-restored-360")

    fresh, _ = open_page(PHONE)
    _join(fresh, homework.broke_trust_token)
    fresh.goto(url)
    assert fresh.get_by_label("What I did").input_value() == offline_text

    assert page_errors == []
    # The failed fetch while offline is the only thing the console may mention.
    assert [e for e in problems(console) if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_two_partners_editing_the_window_at_once_see_a_conflict_and_lose_nothing(
    app, open_page, screenshot
):
    homework = _couple_with_homework()
    url = f"/portal/homework/{public(homework.window_id)}"
    first, first_console = open_page(PHONE, **ON_A_PHONE)
    second, second_console = open_page(PHONE, **ON_A_PHONE)
    _join(first, homework.hurt_token)
    _join(second, homework.broke_trust_token)
    first.goto(url)
    second.goto(url)  # both start from the same version

    first.get_by_label("Code word").fill("rainbow")
    _wait_saved(first)

    code_word = second.get_by_label("Code word")
    code_word.fill("lighthouse")
    panel = second.locator("[data-conflict]")
    panel.wait_for()
    assert panel.get_attribute("role") == "alert"
    assert "Your partner saved a newer version" in panel.inner_text()
    assert "rainbow" in panel.locator(".conflict-theirs").inner_text()
    assert code_word.input_value() == "lighthouse", "what the second partner typed stays"
    assert "Not saved yet" in _state(second).inner_text()
    kept = second.evaluate(f"localStorage.getItem('practice-draft-{public(homework.window_id)}')")
    assert "lighthouse" in kept
    assert _stored(homework.window_id).content["code_word"] == "rainbow"
    no_sideways_scroll(second, PHONE["width"])
    screenshot(second, "homework-window-conflict-360")

    # Having seen both, the second partner changes the word again: saved over the first.
    code_word.fill("lighthouse")
    _wait_saved(second)
    assert _stored(homework.window_id).content["code_word"] == "lighthouse"

    first.reload()
    assert first.get_by_label("Code word").input_value() == "lighthouse"
    no_sideways_scroll(first, PHONE["width"])
    screenshot(first, "homework-window-after-conflict-360")

    assert problems(first_console) == []
    assert problems(second_console, 409) == []  # the refused save answered 409


def test_the_form_saves_and_submits_without_javascript(app, open_page, screenshot):
    homework = _couple_with_homework()
    page, console = open_page(PHONE, java_script_enabled=False)
    _join(page, homework.broke_trust_token)
    url = f"/portal/homework/{public(homework.apology_id)}"
    page.goto(url)

    page.get_by_label("What I did").fill(APOLOGY["What I did"])
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(rf"{url}$"))
    assert page.get_by_text("Draft saved.").is_visible()
    assert page.get_by_label("What I did").input_value() == APOLOGY["What I did"]
    assert _stored(homework.apology_id).content["what_i_did"] == APOLOGY["What I did"]

    # Handing in with parts missing keeps the text and says what is missing.
    page.get_by_label("How I see it hurt you").fill(APOLOGY["How I see it hurt you"])
    page.get_by_role("button", name="Submit to your therapist").click()
    assert page.get_by_role("alert").filter(has_text="Some parts need a look").is_visible()
    hurt = page.get_by_label("How I see it hurt you")
    assert hurt.input_value() == APOLOGY["How I see it hurt you"]
    assert _stored(homework.apology_id).status == "draft"
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "homework-apology-nojs-incomplete-360")

    for label, text in APOLOGY.items():
        page.get_by_label(label).fill(text)
    page.get_by_role("button", name="Submit to your therapist").click()
    page.wait_for_url(re.compile(r"/portal$"))
    assert page.get_by_text("Submitted.").is_visible()
    stored = _stored(homework.apology_id)
    assert stored.status == "submitted"
    assert stored.content["amends"] == APOLOGY["How I will make amends and change"]

    assert problems(console, 422) == []


def test_a_save_after_the_session_ended_says_so_and_keeps_the_text(app, open_page):
    homework = _couple_with_homework()
    page, console = open_page(PHONE, **ON_A_PHONE)
    _join(page, homework.broke_trust_token)
    url = f"/portal/homework/{public(homework.apology_id)}"
    page.goto(url)

    # Signed out from another tab of the same browser: the same cookies, the sign-out form's
    # own request. (No second page: Chromium can stall closing a page mid-navigation.)
    sign_out = page.locator("form[action$='/portal/sign-out']")
    signed_out = page.context.request.post(
        sign_out.get_attribute("action"),
        form={"csrf_token": sign_out.locator("input[name=csrf_token]").input_value()},
    )
    assert signed_out.ok
    assert "signed out" in signed_out.text().lower()

    page.get_by_label("What I did").fill(APOLOGY["What I did"])
    _state(page).filter(has_text="you are signed out").wait_for()
    assert "offline" not in _state(page).inner_text()
    kept = page.evaluate(f"localStorage.getItem('practice-draft-{public(homework.apology_id)}')")
    assert APOLOGY["What I did"] in kept
    assert _stored(homework.apology_id).status == "assigned"
    assert problems(console) == []


def _worksheet() -> tuple[int, str]:
    """A boundary worksheet for each partner of a new couple: the first one's id and link."""
    owner = OwnerFactory()
    couple = CoupleFactory(therapist=owner)
    hurt = couple.partners[0]
    set_current_practice(owner.practice_id)
    assignment = homework_service.assign(
        owner,
        couple,
        kind_key="boundaries",
        mode="each",
        instructions="One agreement per row.",
        due_date=None,
    )
    (worksheet_id,) = [r.id for r in assignment.responses if r.partner_id == hurt.id]
    token = PartnerInviteFactory(partner=hurt).token
    db.session.commit()
    set_current_practice(None)
    return worksheet_id, token


def test_the_worksheet_says_saved_only_once_the_server_stored_what_was_typed(
    app, open_page, screenshot
):
    worksheet_id, token = _worksheet()
    page, console = open_page(PHONE, **ON_A_PHONE)
    _join(page, token)
    page.goto(f"/portal/homework/{public(worksheet_id)}")
    page.evaluate(WATCH_STATE_JS)

    # Two proposals, the second in the third row (an empty row in between is skipped).
    first = "Tell each other about any message from an ex within a day."
    second = "Share our locations while either of us travels for work,\nuntil we review it."
    page.locator("#proposals-0-domain").select_option("communication")
    page.locator("#proposals-0-agreement").fill(first)
    page.locator("#proposals-0-time_frame").fill("for the next three months")
    page.locator("#proposals-2-domain").select_option("privacy")
    page.locator("#proposals-2-agreement").fill(second)
    _wait_saved(page)
    states = page.evaluate("window.__states")
    assert "Saving…" in states and SAVED_AT.match(states[-1])
    proposals = _stored(worksheet_id).content["proposals"]
    assert [(p["domain"], p["agreement"].replace("\r\n", "\n")) for p in proposals] == [
        ("communication", first),
        ("privacy", second),
    ]
    assert proposals[0]["time_frame"] == "for the next three months"
    assert page.evaluate(DRAFT_KEYS_JS) == []
    no_sideways_scroll(page, PHONE["width"])
    screenshot(page, "homework-worksheet-saved-360")

    page.reload()
    assert page.locator("#proposals-0-agreement").input_value() == first
    assert page.locator("#proposals-0-time_frame").input_value() == "for the next three months"
    assert page.locator("#proposals-1-domain").input_value() == "privacy"
    assert page.locator("#proposals-1-agreement").input_value() == second

    # A box the server does not read (what the worksheet's page had before): the server stores
    # the rest, and the page must not call that saved; the text stays on the device.
    page.evaluate(
        """() => {
          const box = document.createElement('textarea');
          box.name = 'proposals-0-note';
          box.value = 'A note the server never reads.';
          document.querySelector('#proposals-0-agreement').after(box);
        }"""
    )
    page.evaluate("window.__states = []")
    page.locator("#proposals-0-time_frame").fill("for the next two months")
    _state(page).filter(has_text="Not everything you typed could be saved").wait_for()
    assert not any(SAVED_AT.match(state) for state in page.evaluate("window.__states"))
    assert "save-state--error" in _state(page).get_attribute("class")
    kept = page.evaluate(f"localStorage.getItem('practice-draft-{public(worksheet_id)}')")
    assert "A note the server never reads." in kept
    stored = _stored(worksheet_id).content["proposals"]
    assert stored[0]["time_frame"] == "for the next two months"
    assert "A note the server never reads." not in str(stored)
    screenshot(page, "homework-worksheet-not-all-saved-360")

    assert problems(console) == []

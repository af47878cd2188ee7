"""Writing on a 390 px phone in Chromium: every word typed is there after a reload.

The apology, the boundary worksheet and the repair contract: type into every field the page
offers, as a person does, wait until the page says "Saved" (which it says only once the
server's echo holds what was sent), reload and find every word; then hand it in where the
kind has a button for it and read it back. Offline, the page never says "Saved"; back online
it saves, and a reload shows everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from playwright.sync_api import expect

from practice.extensions import db
from practice.models import User
from practice.models.homework import HomeworkResponse
from practice.services import homework as homework_service
from practice.services import joint
from practice.tenancy import practice_context, set_current_practice, unscoped
from tests.couple_factories import (
    CoupleFactory,
    PartnerInviteFactory,
    public,  # noqa: I001
)
from tests.e2e.test_couples_browser import ON_A_PHONE, no_sideways_scroll, problems
from tests.e2e.test_homework_browser import _join
from tests.factories import OwnerFactory

PHONE_390 = {"width": 390, "height": 844}
SAVED = re.compile(r"^Saved at \d")
WORDS = ("heron", "quince", "lantern", "marigold", "basalt", "juniper", "otter", "saffron")

# The controls of the write form, as the page has them now (rows added by the page included).
CONTROLS_JS = """
() => Array.from(document.querySelectorAll('form[data-autosave] [name]'))
  .filter(el => el.type !== 'hidden' && el.tagName !== 'BUTTON')
  .map(el => ({
    name: el.name,
    type: el.tagName === 'SELECT' ? 'select' : (el.tagName === 'TEXTAREA' ? 'textarea' : el.type),
    maxlength: el.maxLength > 0 ? el.maxLength : null,
    min: el.min || null,
    max: el.max || null,
    options: el.tagName === 'SELECT' ? Array.from(el.options).map(o => o.value).filter(v => v) : [],
  }))
"""


@dataclass(frozen=True)
class Couple:
    """Ids and personal links (safe across commits)."""

    practice_id: int
    owner_id: int
    apology_id: int
    worksheet_id: int
    contract_id: int
    tokens: tuple[str, str]  # the hurt partner's, then the partner who broke trust


def _couple() -> Couple:
    owner = OwnerFactory()
    couple = CoupleFactory(therapist=owner, partner1_name="Zoë", partner2_name="Łukasz")
    hurt, broke_trust = couple.partners
    set_current_practice(owner.practice_id)
    ids = []
    for kind_key, mode, partner in (
        ("apology", "one", broke_trust),
        ("boundaries", "one", broke_trust),
        ("repair_contract", "joint", None),
    ):
        assignment = homework_service.assign(
            owner,
            couple,
            kind_key=kind_key,
            mode=mode,
            partner_id=partner.id if partner else None,
            instructions="In your own words.",
            due_date=None,
        )
        ids.append(assignment.responses[0].id)
    made = Couple(
        owner.practice_id,
        owner.id,
        *ids,
        tokens=(
            PartnerInviteFactory(partner=hurt).token,
            PartnerInviteFactory(partner=broke_trust).token,
        ),
    )
    db.session.commit()
    set_current_practice(None)
    return made


def _stored(response_id: int) -> HomeworkResponse:
    db.session.expire_all()
    with unscoped():
        return db.session.get(HomeworkResponse, response_id)


def _value(control: dict, index: int, round_: int) -> str:
    """A distinctive, valid, awkward value for one control."""
    kind = control["type"]
    if kind == "select":
        return control["options"][(index + round_) % len(control["options"])]
    if kind == "date":
        return (date(2027, 3, 1) + timedelta(days=index + 40 * round_)).isoformat()
    if kind == "time":
        return f"{(7 + index) % 24:02d}:{(10 * round_ + index) % 60:02d}"
    if kind == "number":
        low, high = int(control["min"]), int(control["max"])
        return str(low + (index + 7 * round_) % (high - low + 1))
    word = f"{WORDS[index % len(WORDS)]}{round_}x{index}"
    text = f"{word} «café» “{WORDS[(index + round_) % len(WORDS)]}” 💬 <b>"
    if kind == "textarea":
        text += f"\nsecond line {word}"
    assert len(text) <= (control["maxlength"] or 1000), control["name"]
    return text


def _type_everything(page, round_: int, only=lambda name: True) -> dict[str, str]:
    """Type into every field of the form (the first few key by key, as a thumb does)."""
    typed = {}
    for index, control in enumerate(page.evaluate(CONTROLS_JS)):
        if not only(control["name"]):
            continue
        value = _value(control, index, round_)
        box = page.locator(f'form[data-autosave] [name="{control["name"]}"]')
        if control["type"] == "select":
            box.select_option(value)
        elif len(typed) < 2 and control["type"] in ("text", "textarea"):
            box.fill("")
            box.press_sequentially(value)
        else:
            box.fill(value)
        typed[control["name"]] = value
    assert typed, "the page offers nothing to type into"
    return typed


def _state(page):
    return page.locator("[data-save-state]")


def _everything_there(page, typed: dict[str, str]) -> None:
    back = {
        name: page.locator(f'form[data-autosave] [name="{name}"]').input_value() for name in typed
    }
    assert back == typed


def _words(value: str) -> str:
    return " ".join(value.split())


def _read_view_shows(page, typed: dict[str, str]) -> None:
    expect(page.locator("form[data-autosave]")).to_have_count(0)
    text = _words(page.locator("main").inner_text())
    missing = [v for v in typed.values() if "«café»" in v and _words(v) not in text]
    assert missing == []
    assert page.locator("main b").count() == 0, "typed markup is shown as text"


def _open(open_page, token: str, response_id: int):
    page, console = open_page(PHONE_390, **ON_A_PHONE)
    _join(page, token)
    page.goto(f"/portal/homework/{public(response_id)}")
    return page, console


def test_an_apology_typed_on_a_phone_is_all_there_and_handed_in(app, open_page):
    couple = _couple()
    page, console = _open(open_page, couple.tokens[1], couple.apology_id)

    typed = _type_everything(page, 1)
    expect(_state(page)).to_have_text(SAVED)
    page.reload()
    _everything_there(page, typed)
    no_sideways_scroll(page, PHONE_390["width"])

    page.get_by_role("button", name="Submit to your therapist").click()
    page.wait_for_url(re.compile(r"/portal$"))
    expect(page.get_by_text("Submitted.")).to_be_visible()
    page.goto(f"/portal/homework/{public(couple.apology_id)}")
    _read_view_shows(page, typed)
    assert _stored(couple.apology_id).status == "submitted"
    assert problems(console) == []


def test_a_worksheet_typed_on_a_phone_keeps_every_row(app, open_page):
    couple = _couple()
    page, console = _open(open_page, couple.tokens[1], couple.worksheet_id)
    rows = page.locator("form[data-autosave] fieldset.proposal")
    add = page.get_by_role("button", name=re.compile(r"^Add", re.IGNORECASE))
    if rows.count() < 2 and add.count():
        add.first.click()  # a page that starts with one row offers another
    assert rows.count() >= 2, "a second proposal cannot be written"

    typed = _type_everything(page, 1)
    expect(_state(page)).to_have_text(SAVED)
    page.reload()
    _everything_there(page, typed)
    no_sideways_scroll(page, PHONE_390["width"])

    page.get_by_role("button", name="Submit to your therapist").click()
    page.wait_for_url(re.compile(r"/portal$"))
    expect(page.get_by_text("Submitted.")).to_be_visible()
    page.goto(f"/portal/homework/{public(couple.worksheet_id)}")
    _read_view_shows(page, typed)
    assert problems(console) == []


def test_a_repair_contract_written_by_both_partners_is_all_there_then_signed(app, open_page):
    couple = _couple()
    first, first_console = _open(open_page, couple.tokens[0], couple.contract_id)
    second, second_console = _open(open_page, couple.tokens[1], couple.contract_id)

    # Each partner writes their own commitments (the first one also the shared parts).
    typed = _type_everything(first, 1, only=lambda name: not name.startswith("commitments_2"))
    expect(_state(first)).to_have_text(SAVED)
    second.reload()
    mine = _type_everything(second, 2, only=lambda name: name.startswith("commitments_2"))
    expect(_state(second)).to_have_text(SAVED)
    typed |= mine

    for page in (first, second):
        page.reload()
        offered = {name: v for name, v in typed.items() if page.locator(f'[name="{name}"]').count()}
        _everything_there(page, offered)
        # What is not a field for this partner (the other's commitments) is shown as text.
        text = _words(page.locator("main").inner_text())
        assert [v for n, v in typed.items() if n not in offered and _words(v) not in text] == []
        no_sideways_scroll(page, PHONE_390["width"])

    # No hand-in button: the therapist marks it final, then each partner signs.
    expect(first.get_by_role("button", name="Submit to your therapist")).to_have_count(0)
    with practice_context(couple.practice_id):
        joint.finalize_contract(
            db.session.get(User, couple.owner_id),
            db.session.get(HomeworkResponse, couple.contract_id),
        )
        db.session.commit()
    first.reload()
    _read_view_shows(first, typed)
    first.get_by_label("Type your full name to sign").fill("Zoë “Zo” Ångström")
    first.get_by_role("button", name=re.compile("^Sign version")).click()
    expect(first.get_by_text("Signed.", exact=True)).to_be_visible()
    expect(first.locator("main")).to_contain_text("signed as “Zoë “Zo” Ångström”")
    _read_view_shows(first, typed)
    assert problems(first_console) == [] and problems(second_console) == []


def test_offline_the_page_never_says_saved_and_saves_once_back(app, open_page):
    couple = _couple()
    page, console = _open(open_page, couple.tokens[1], couple.apology_id)
    boxes = page.locator("form[data-autosave] textarea")

    boxes.nth(0).fill("Typed online 💬")
    expect(_state(page)).to_have_text(SAVED)

    page.context.set_offline(True)
    boxes.nth(1).press_sequentially("Typed offline «café»")
    boxes.nth(2).fill("and more\noffline <b>")
    expect(_state(page)).to_contain_text("offline")
    expect(_state(page)).not_to_have_text(SAVED)
    assert _stored(couple.apology_id).content["how_it_hurt"] == ""

    page.context.set_offline(False)
    expect(_state(page)).to_have_text(SAVED)
    page.reload()
    assert [boxes.nth(i).input_value() for i in range(3)] == [
        "Typed online 💬",
        "Typed offline «café»",
        "and more\noffline <b>",
    ]
    # The failed fetch while offline is the only thing the console may mention.
    assert [e for e in problems(console) if "ERR_INTERNET_DISCONNECTED" not in e] == []

"""The weekly check-in through the real portal form: typed without JavaScript and by
autosave, reloaded, every word there; the two safety answers stay with the therapist; a
refused answer keeps everything else typed; handed in, it is read-only."""

from __future__ import annotations

from sqlalchemy import select

from practice.extensions import db
from practice.models import Checkin, Notice
from practice.models.checkin import SafetyAnswer, SafetyFlag
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import couple  # noqa: F401 - a fixture
from tests.blueprints.test_portal_homework import kim, lee  # noqa: F401 - fixtures

TYPED = {
    "checkin-facts": "Dinner with my sister on Friday. “No contact” held. <b>ok</b>",
    "checkin-feelings": "Tired, hopeful.\nAnxious on Sunday.",
    "checkin-went_well": "The Tuesday window 😊",
    "checkin-reflection": "I noticed you put the phone away at dinner.",
    "marker-recovery": "4",
    "marker-checking": "2",
    "triggers-count": "2",
    "triggers-longest_minutes": "45",
    "triggers-helped-breathed": "y",
    "triggers-helped-code_word": "y",
    "triggers-helped_other": "A walk round the block",
    "window-held": "yes",
    "window-how": "Calmer than last week.",
    "safety-safe_at_home": "yes",
    "safety-feel_heard": "not_sure",
}


def stored() -> Checkin:
    db.session.expire_all()
    with unscoped():
        return db.session.scalars(select(Checkin)).one()


def test_a_check_in_typed_without_javascript_is_all_there_after_a_reload(kim):  # noqa: F811
    shown = page(kim.get("/portal/checkin"))
    assert shown.values["version"] == "0"
    response = kim.post_form("/portal/checkin", {**TYPED, "version": "0", "action": "save"})
    assert response.status_code == 302
    again = page(kim.get("/portal/checkin"))
    for name, value in TYPED.items():
        if name.startswith(("marker-", "window-held", "safety-")):
            continue  # radios: checked below
        if name.startswith("triggers-helped-"):
            continue
        assert again.values[name] == value, name
    assert again.checked == {
        "marker-recovery": "4",
        "marker-checking": "2",
        "window-held": "yes",
        "safety-safe_at_home": "yes",
        "safety-feel_heard": "not_sure",
    }
    assert "triggers-helped-breathed" in again.values
    row = stored()
    assert row.content["triggers"]["helped"] == ["breathed", "code_word"]
    assert "&lt;b&gt;ok&lt;/b&gt;" in kim.get("/portal/checkin").get_data(as_text=True)


def test_autosave_answers_with_exactly_what_it_stored(kim):  # noqa: F811
    kim.get("/portal/checkin")
    response = kim.post_form(
        "/portal/checkin/autosave",
        {**TYPED, "version": "0"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["version"] == 1
    for name, value in TYPED.items():
        assert data["stored"].get(name) == value, name
    # Saved a second time on a stale page: refused, nothing overwritten.
    stale = kim.post_form(
        "/portal/checkin/autosave",
        {"checkin-facts": "other", "version": "0"},
        headers={"Accept": "application/json"},
    )
    assert stale.status_code == 409
    assert stored().content["facts"] == TYPED["checkin-facts"]


def test_an_answer_that_does_not_fit_keeps_everything_else_typed(kim):  # noqa: F811
    kim.get("/portal/checkin")
    bad = {**TYPED, "triggers-count": "lots", "version": "0", "action": "save"}
    response = kim.post_form("/portal/checkin", bad)
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["triggers-count"]
    assert shown.values["checkin-feelings"] == TYPED["checkin-feelings"]
    assert shown.values["triggers-count"] == "lots"
    assert stored().version == 0  # nothing saved


def test_the_safety_answers_go_to_the_therapist_only(kim, lee):  # noqa: F811
    kim.get("/portal/checkin")
    unsafe = {**TYPED, "safety-safe_at_home": "no", "version": "0", "action": "submit"}
    assert kim.post_form("/portal/checkin", unsafe).status_code == 302
    with unscoped():
        (answer,) = db.session.scalars(select(SafetyAnswer)).all()
        assert answer.answers["safe_at_home"] == "no" and answer.positive
        assert len(db.session.scalars(select(SafetyFlag)).all()) == 1
        notices = db.session.scalars(select(Notice)).all()
    assert notices and all(n.recipient_partner_id is None for n in notices)
    assert "safe_at_home" not in str(stored().content)
    # Lee sees nothing of it: no notice, nothing on the home page.
    home = lee.get("/portal").get_data(as_text=True)
    assert "flag" not in home.lower() and "safety answer" not in home.lower()
    assert "/portal/notices/" not in home


def test_a_handed_in_check_in_is_read_only_and_its_reflection_sealed(kim, lee):  # noqa: F811
    kim.get("/portal/checkin")
    assert (
        kim.post_form("/portal/checkin", {**TYPED, "version": "0", "action": "submit"}).status_code
        == 302
    )
    read = page(kim.get("/portal/checkin"))
    assert "checkin-facts" not in read.values
    assert TYPED["checkin-facts"] in read.text
    assert "shows here once you have both handed in" in read.text
    lee.get("/portal/checkin")
    mine = {"checkin-reflection": "You listened on Tuesday.", "version": "0", "action": "submit"}
    assert lee.post_form("/portal/checkin", mine).status_code == 302
    assert "You listened on Tuesday." in page(kim.get("/portal/checkin")).text
    assert TYPED["checkin-reflection"] in page(lee.get("/portal/checkin")).text


def test_the_home_page_offers_the_week_s_check_in(kim):  # noqa: F811
    home = kim.get("/portal").get_data(as_text=True)
    assert "Weekly check-in" in home and 'href="/portal/checkin"' in home


def test_an_unsafe_answer_keeps_the_week_s_reflections_sealed_until_it_is_addressed(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    """Lee sees nothing change: the week looks exactly as before both handed in, for both of
    them, until the therapist addresses the flag; then both reflections open."""
    kim.get("/portal/checkin")
    unsafe = {**TYPED, "safety-safe_at_home": "no", "version": "0", "action": "submit"}
    assert kim.post_form("/portal/checkin", unsafe).status_code == 302
    lee.get("/portal/checkin")
    mine = {"checkin-reflection": "You listened on Tuesday.", "version": "0", "action": "submit"}
    assert lee.post_form("/portal/checkin", mine).status_code == 302

    sealed = "shows here once you have both handed in"
    for browser, hidden in ((lee, TYPED["checkin-reflection"]), (kim, "You listened on Tuesday.")):
        text = page(browser.get("/portal/checkin")).text
        assert sealed in text and hidden not in text

    with unscoped():
        (flag,) = db.session.scalars(select(SafetyFlag)).all()
    url = f"/couples/{couple.id}/safety/{flag.id}/addressed"
    assert therapist_client.post_form(url, {"note": "Called Kim; safe for now."}).status_code == 302
    assert TYPED["checkin-reflection"] in page(lee.get("/portal/checkin")).text
    assert "You listened on Tuesday." in page(kim.get("/portal/checkin")).text

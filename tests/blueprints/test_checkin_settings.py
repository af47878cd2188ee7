"""Check-in and safety settings through the real form: every value typed comes back after
a reload, a refused value keeps the rest, the licensed screen says what enabling it means,
and the portal uses what was saved."""

from __future__ import annotations

from tests.blueprints.conftest import page

URL = "/settings/checkins"
TYPED = {
    "checkin_weekday": "2",
    "checkin_hour": "19",
    "safety_instrument": "own_safety",
    "crisis_resources": "Harbour crisis line: 0800 000 000 (any hour).\nOr call 111.",
    "quick_exit_url": "https://weather.example.org/today",
}


def test_the_settings_round_trip_through_the_form(owner_client):
    shown = page(owner_client.get(URL))
    assert shown.checked["safety_instrument"] == "own_safety"
    assert "HITS" in shown.text and "permission" in shown.text
    response = owner_client.post_form(URL, TYPED)
    assert response.status_code == 302
    again = page(owner_client.get(URL))
    assert again.selected["checkin_weekday"] == "2"
    assert again.values["checkin_hour"] == "19"
    assert again.values["crisis_resources"] == TYPED["crisis_resources"]
    assert again.values["quick_exit_url"] == TYPED["quick_exit_url"]


def test_a_refused_value_keeps_everything_else_typed(owner_client):
    bad = {**TYPED, "quick_exit_url": "weather dot com", "checkin_hour": "19"}
    response = owner_client.post_form(URL, bad)
    assert response.status_code == 422
    shown = page(response)
    assert "https://" in shown.errors["quick_exit_url"]
    assert shown.values["crisis_resources"] == TYPED["crisis_resources"]
    assert shown.values["quick_exit_url"] == "weather dot com"
    late = owner_client.post_form(URL, {**TYPED, "checkin_hour": "24"})
    assert late.status_code == 422 and page(late).errors["checkin_hour"]


def test_a_therapist_gets_404(therapist_client):
    assert therapist_client.get(URL).status_code == 404


def test_the_licensed_screen_can_be_chosen_and_the_portal_asks_its_items(
    owner_client, make_client, practice_a
):
    assert owner_client.post_form(URL, {**TYPED, "safety_instrument": "hits"}).status_code == 302
    from tests.blueprints.test_couples import enter_portal, personal_link
    from tests.blueprints.test_homework import add_couple

    ids = add_couple(practice_a, label="Ana & Bo", partner1_name="Ana", partner2_name="Bo")
    browser = make_client()
    enter_portal(browser, personal_link(ids, 1))
    home = page(browser.get("/portal")).text
    assert "How often does your partner:" in home
    assert "Physically hurt you?" in home and "Fairly often" in home


def test_the_privacy_notice_lists_the_safety_questions_asked_and_a_change_is_acknowledged(
    owner_client, make_client, practice_a
):
    """The notice names exactly the questions this practice asks (its screen's items word
    for word, and the check-in's two); choosing another screen asks partners to read it
    again."""
    from practice.instruments import get_instrument
    from practice.services.safety import CHECKIN_ITEMS
    from tests.blueprints.test_couples import enter_portal, personal_link
    from tests.blueprints.test_homework import add_couple
    from tests.blueprints.test_portal import signed_out_path

    ids = add_couple(practice_a, label="Ana & Bo", partner1_name="Ana", partner2_name="Bo")
    browser = make_client()
    enter_portal(browser, personal_link(ids, 1))
    notice = page(browser.get("/portal/privacy")).text
    own = get_instrument("own_safety")
    for item in own.items:
        assert item.text in notice
    for _, text in CHECKIN_ITEMS:
        assert text in notice
    assert "Only your therapist ever sees these answers." in notice
    hits = get_instrument("hits")
    assert not any(item.text in notice for item in hits.items)

    assert owner_client.post_form(URL, {**TYPED, "safety_instrument": "hits"}).status_code == 302
    assert signed_out_path(browser.get("/portal")) == "/portal/privacy"
    notice = page(browser.get("/portal/privacy")).text
    for item in hits.items:
        assert item.text in notice
    assert not any(item.text in notice for item in own.items)
    assert browser.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    assert browser.get("/portal").status_code == 200

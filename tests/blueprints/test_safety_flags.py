"""Safety flags on the therapists' side: listed for the practice, shown with the questions
and answers in words, marked seen, then addressed with a note (a refused note keeps what was
typed); nothing of it reaches a partner."""

from __future__ import annotations

from sqlalchemy import select

from practice.extensions import db
from practice.models.checkin import SafetyFlag
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import couple  # noqa: F401 - a fixture
from tests.blueprints.test_portal_homework import kim, lee  # noqa: F401 - fixtures

CALM = {"safety-afraid": "0", "safety-hurt_or_threatened": "0", "safety-safe_at_home": "0"}


def the_flag() -> SafetyFlag:
    db.session.expire_all()
    with unscoped():
        return db.session.scalars(select(SafetyFlag)).one()


def test_a_flag_is_listed_read_and_addressed_by_the_therapist(therapist_client, couple, kim, lee):  # noqa: F811
    assert kim.post_form("/portal/safety", {**CALM, "safety-safe_at_home": "1"}).status_code == 200
    listed = page(therapist_client.get("/couples/safety")).text
    assert "Kim & Lee" in listed and "New" in listed
    url = f"/couples/{couple.id}/safety"
    shown = page(therapist_client.get(url)).text
    assert "Do you feel safe at home right now?" in shown and "Not sure" in shown
    flag = the_flag()
    assert therapist_client.post_form(f"{url}/{flag.id}/seen").status_code == 302
    assert the_flag().seen_at is not None
    refused = therapist_client.post_form(f"{url}/{flag.id}/addressed", {"note": "   "})
    assert refused.status_code == 422
    note = "Called Kim on Tuesday; safety plan agreed. “Calm” for now."
    done = therapist_client.post_form(f"{url}/{flag.id}/addressed", {"note": note})
    assert done.status_code == 302
    assert the_flag().note == note
    assert note in page(therapist_client.get(url)).text
    assert "Nothing open" in page(therapist_client.get("/couples/safety")).text
    # No partner page mentions any of it.
    for browser in (kim, lee):
        home = browser.get("/portal").get_data(as_text=True)
        assert "flag" not in home.lower() and note not in home


def test_a_refused_note_keeps_what_was_typed(therapist_client, couple, kim):  # noqa: F811
    kim.post_form("/portal/safety", {**CALM, "safety-afraid": "2"})
    flag = the_flag()
    long_note = "x" * 10_001
    refused = therapist_client.post_form(
        f"/couples/{couple.id}/safety/{flag.id}/addressed", {"note": long_note}
    )
    assert refused.status_code == 422
    assert page(refused).values["note"] == long_note


def test_the_dashboard_puts_open_safety_answers_first(therapist_client, couple, kim):  # noqa: F811
    assert "Safety answers need your attention" not in page(therapist_client.get("/dashboard")).text
    kim.post_form("/portal/safety", {**CALM, "safety-hurt_or_threatened": "1"})
    dashboard = page(therapist_client.get("/dashboard")).text
    assert "1 safety answer not yet addressed" in dashboard
    flag = the_flag()
    therapist_client.post_form(
        f"/couples/{couple.id}/safety/{flag.id}/addressed", {"note": "Spoke with Kim."}
    )
    assert "Safety answers need your attention" not in page(therapist_client.get("/dashboard")).text

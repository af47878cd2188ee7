"""The therapist reads a couple's check-ins side by side, week by week, and marks each read
with a private note; no safety answer is on this page."""

from __future__ import annotations

from sqlalchemy import select

from practice.extensions import db
from practice.models import Checkin
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import couple  # noqa: F401 - a fixture
from tests.blueprints.test_portal_homework import kim, lee  # noqa: F401 - fixtures


def hand_in(browser, **fields) -> None:
    browser.get("/portal/checkin")
    data = {**fields, "version": "0", "action": "submit"}
    assert browser.post_form("/portal/checkin", data).status_code == 302


def test_both_partners_side_by_side_and_marked_read_with_a_note(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    hand_in(
        kim, **{"checkin-facts": "Quiet week.", "marker-recovery": "4", "safety-safe_at_home": "no"}
    )
    hand_in(lee, **{"checkin-facts": "Busy at work.", "triggers-count": "1"})
    url = f"/couples/{couple.id}/checkins"
    shown = page(therapist_client.get(url)).text
    assert "Quiet week." in shown and "Busy at work." in shown
    assert "4 / 5" in shown
    assert "feel safe" not in shown  # the safety answers live on the safety page only
    with unscoped():
        kims = db.session.scalars(select(Checkin).order_by(Checkin.id)).first()
    note = "Steadier; ask about Sunday."
    response = therapist_client.post_form(f"{url}/{kims.id}/reviewed", {"note": note})
    assert response.status_code == 302
    assert note in page(therapist_client.get(url)).text
    db.session.expire_all()
    with unscoped():
        assert db.session.get(Checkin, kims.id).status == "reviewed"
    # The partner never sees the therapist's note.
    assert note not in kim.get("/portal/checkin").get_data(as_text=True)

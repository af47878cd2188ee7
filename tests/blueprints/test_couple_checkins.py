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


def test_the_review_queue_and_the_dashboard_put_a_safety_answer_first_then_check_ins(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    hand_in(kim, **{"checkin-facts": "Quiet week.", "safety-safe_at_home": "not_sure"})
    hand_in(lee, **{"checkin-facts": "Busy at work."})

    queue = therapist_client.get("/review").get_data(as_text=True)
    section = queue[queue.index("Safety answers and check-ins") : queue.index("</section>")]
    safety_at = section.index("1 safety answer to address")
    week_at = section.index("2 check-ins to read")
    assert safety_at < week_at
    assert f"/couples/{couple.id}/safety" in section
    assert "the week of" in section
    with unscoped():
        week = db.session.scalars(select(Checkin.week_of)).first()
    link = f"/couples/{couple.id}/checkins?week={week.isoformat()}"
    assert link in section
    shown = page(therapist_client.get(link)).text
    assert "Quiet week." in shown and "Busy at work." in shown
    assert "Quiet week." not in queue  # the queue names the week, never what was written

    dashboard = page(therapist_client.get("/dashboard")).text
    today = dashboard[dashboard.index("Needs you today") :]
    assert "1 safety answer to address" in today and "2 check-ins to read" in today
    assert today.index("safety answer") < today.index("check-ins to read")

    # Read, the week leaves the queue; the safety answer stays until it is addressed.
    with unscoped():
        ids = db.session.scalars(select(Checkin.id)).all()
    for checkin_id in ids:
        therapist_client.post_form(f"/couples/{couple.id}/checkins/{checkin_id}/reviewed", {})
    queue = page(therapist_client.get("/review")).text
    assert "check-ins to read ·" not in queue and "1 safety answer to address" in queue


def test_another_therapist_sees_neither_in_their_queue(
    make_client,
    practice_a,
    couple,  # noqa: F811
    kim,  # noqa: F811
):
    from practice.models import Practice
    from tests.factories import UserFactory

    hand_in(kim, **{"checkin-facts": "Quiet week.", "safety-safe_at_home": "no"})
    with unscoped():
        colleague = UserFactory(practice=db.session.get(Practice, practice_a.practice_id))
        email = colleague.email
    db.session.commit()
    other = make_client()
    other.login(email)
    queue = page(other.get("/review")).text
    assert "Safety answers and check-ins" not in queue
    assert "Needs you today" in page(other.get("/dashboard")).text
    assert "safety answer to address" not in page(other.get("/dashboard")).text

"""Quick exit: on every portal page, one post without JavaScript (and without a form token,
so it never fails on an expired page) that locks or ends the portal session on the server and
leaves for the practice's neutral page; Back then shows no content."""

from __future__ import annotations

from sqlalchemy import update

from practice.extensions import db
from practice.models import Practice
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_couples import location
from tests.blueprints.test_portal import couple, token  # noqa: F401 - fixtures
from tests.blueprints.test_portal_pin import is_locked, phone, set_pin  # noqa: F401


def test_every_portal_page_has_the_quick_exit(phone):  # noqa: F811
    for url in ("/portal", "/portal/privacy", "/portal/checkin", "/portal/pin"):
        html = phone.get(url).get_data(as_text=True)
        assert 'action="/portal/exit"' in html, url
        assert "Quick exit" in html


def test_without_a_pin_it_ends_the_session_and_leaves_for_the_practice_s_page(phone, couple):  # noqa: F811
    with unscoped():
        db.session.execute(
            update(Practice)
            .where(Practice.id == couple.practice_id)
            .values(quick_exit_url="https://weather.example.org/today")
        )
    db.session.commit()
    response = phone.post("/portal/exit")  # no form token: it must still work
    assert response.status_code == 303
    assert response.headers["Location"] == "https://weather.example.org/today"
    back = phone.get("/portal")
    assert back.status_code == 302 and location(back).startswith("/portal/signed-out")
    assert "Hello" not in phone.get(location(back)).get_data(as_text=True)


def test_with_a_pin_it_locks_the_session_on_the_server(phone):  # noqa: F811
    assert set_pin(phone).status_code == 302
    response = phone.post("/portal/exit")
    assert response.status_code == 303
    assert is_locked(phone)
    assert "Hello" not in page(phone.get("/portal/unlock")).text


def test_signed_out_it_still_leaves(client):
    response = client.post("/portal/exit")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://")

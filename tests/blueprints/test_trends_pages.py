"""Trend pages: the therapist's per couple, the partner's own in the portal; charts are SVG
with their numbers in a table, and a partner never sees the other's private weeks."""

from __future__ import annotations

from tests.blueprints.conftest import page
from tests.blueprints.test_homework import couple  # noqa: F401 - a fixture
from tests.blueprints.test_portal_homework import kim, lee  # noqa: F401 - fixtures


def hand_in(browser, recovery: str, reflection: str, *, share: bool = False) -> None:
    browser.get("/portal/checkin")
    data = {"marker-recovery": recovery, "checkin-reflection": reflection, "version": "0"}
    if share:
        data["share"] = "y"
    assert browser.post_form("/portal/checkin", {**data, "action": "submit"}).status_code == 302


def test_the_therapist_sees_both_partners_trends_as_charts_with_tables(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    hand_in(kim, "4", "k")
    hand_in(lee, "2", "l")
    response = therapist_client.get(f"/couples/{couple.id}/trends?weeks=12")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<svg") >= 8
    assert "<script" not in html.split("<svg", 1)[1]
    text = page(response).text
    assert "Time to recover after a trigger" in text
    assert "Kim" in text and "Lee" in text
    assert "The numbers" in text
    # A span that is not offered falls back to 26 weeks.
    assert therapist_client.get(f"/couples/{couple.id}/trends?weeks=9").status_code == 200


def test_a_partner_sees_their_own_trend_and_only_what_the_other_shared(kim, lee):  # noqa: F811
    hand_in(kim, "4", "k")
    hand_in(lee, "2", "l")
    own = page(kim.get("/portal/trends?weeks=12")).text
    assert "Kim" in own and "Lee" not in own.split("Your trends", 1)[1]
    assert kim.get("/portal/trends").status_code == 200


def test_partners_cannot_open_the_therapist_s_trends(couple, kim):  # noqa: F811
    response = kim.get(f"/couples/{couple.id}/trends")
    assert response.status_code == 302 and "/login" in response.headers["Location"]

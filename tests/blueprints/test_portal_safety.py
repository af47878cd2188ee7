"""The private safety questions in the portal: offered on first entry and every 90 days,
'prefer not to answer' always fine, a calm thanks whatever the answer (help to reach now
after an unsafe one), never a score; the other partner sees nothing change; then the PIN is
offered, and "Not now" is remembered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from practice.extensions import db
from practice.models import Partner
from practice.models.base import utcnow
from practice.models.checkin import SafetyAnswer, SafetyFlag
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import couple  # noqa: F401 - a fixture
from tests.blueprints.test_portal_homework import kim, lee  # noqa: F401 - fixtures

CALM = {"safety-afraid": "0", "safety-hurt_or_threatened": "0", "safety-safe_at_home": "0"}


def flags() -> list[SafetyFlag]:
    with unscoped():
        return db.session.scalars(select(SafetyFlag)).all()


def test_the_questions_come_first_on_the_home_page_until_answered(kim):  # noqa: F811
    home = page(kim.get("/portal")).text
    assert "A few private questions" in home
    assert "Prefer not to answer" in home
    thanks = kim.post_form("/portal/safety", CALM)
    assert thanks.status_code == 200
    text = page(thanks).text
    assert "went to your therapist only" in text
    assert "score" not in text.lower() and "flag" not in text.lower()
    assert "emergency" not in text  # no alarm after a calm answer
    home = page(kim.get("/portal")).text
    assert "A few private questions" not in home
    assert "Keep this portal to yourself" in home  # the PIN offer comes next
    assert kim.post_form("/portal/pin/not-now").status_code == 302
    assert "Keep this portal to yourself" not in page(kim.get("/portal")).text


def test_an_unsafe_answer_is_met_calmly_and_flags_only_for_the_therapist(kim, lee):  # noqa: F811
    lee_home_before = page(lee.get("/portal")).text
    response = kim.post_form("/portal/safety", {**CALM, "safety-afraid": "2"})
    text = page(response).text
    assert "do not have to wait" in text and "emergency number" in text
    assert "flag" not in text.lower()
    assert len(flags()) == 1
    lee_home_after = page(lee.get("/portal")).text
    assert lee_home_after == lee_home_before  # nothing changes for the other partner


def test_prefer_not_to_answer_is_an_answer(kim):  # noqa: F811
    declined = {name: "prefer_not" for name in CALM}
    assert kim.post_form("/portal/safety", declined).status_code == 200
    with unscoped():
        (answer,) = db.session.scalars(select(SafetyAnswer)).all()
    assert set(answer.answers.values()) == {"prefer_not"} and not answer.positive
    assert "A few private questions" not in page(kim.get("/portal")).text


def test_an_answer_that_fits_no_question_is_refused_with_a_message(kim):  # noqa: F811
    response = kim.post_form("/portal/safety", {**CALM, "safety-afraid": "9"})
    assert response.status_code == 302
    home = page(kim.get("/portal")).text
    assert "Choose one answer for each question" in home
    assert "A few private questions" in home


def test_the_questions_come_back_after_ninety_days(kim, couple):  # noqa: F811
    kim.post_form("/portal/safety", CALM)
    with unscoped():
        db.session.execute(
            update(Partner)
            .where(Partner.id == couple.partner_ids[0])
            .values(screened_at=utcnow() - timedelta(days=91))
        )
    db.session.commit()
    assert "A few private questions" in page(kim.get("/portal")).text

"""The bench's bulk load of weekly check-ins (bench/seed.py) stores what the check-in form
stores, on the check-in service's own weeks, and the pages read it: the therapist's check-ins,
trends and safety pages, and the partner's check-in and trends."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from bench.seed import seed_practice
from practice.checkins import questions
from practice.checkins.status import HANDED_IN, CheckinStatus
from practice.extensions import db
from practice.models import Couple, Partner
from practice.models.base import utcnow
from practice.models.checkin import Checkin, SafetyAnswer, SafetyFlag
from practice.services import checkins as checkin_service
from practice.tenancy import practice_context

COUPLES = 60  # couple 3 and couple 53 have an open safety flag, 23 an addressed one
WEEKS = 10


@pytest.fixture
def seeded(app):
    return seed_practice(COUPLES, checkin_weeks=WEEKS)


def _checkins_by_partner(practice_id: int) -> dict[int, list[Checkin]]:
    found: dict[int, list[Checkin]] = defaultdict(list)
    with practice_context(practice_id):
        for checkin in db.session.scalars(select(Checkin).order_by(Checkin.week_of)):
            found[checkin.partner_id].append(checkin)
    return found


def test_each_check_in_is_a_week_the_service_opens_with_content_the_form_stores(seeded):
    now = utcnow()
    by_partner = _checkins_by_partner(seeded.practice_id)
    statuses: dict[str, int] = defaultdict(int)
    with practice_context(seeded.practice_id):
        for seeded_couple in seeded.couples:
            couple = db.session.get(Couple, seeded_couple.id)
            this_week = checkin_service.week_of(couple, now)
            weeks = {this_week - timedelta(weeks=back) for back in range(WEEKS)}
            keys = checkin_service.agreement_keys(couple)
            assert len(keys) == 2
            for partner_id in seeded_couple.partner_ids:
                for checkin in by_partner[partner_id]:
                    statuses[checkin.status] += 1
                    assert checkin.couple_id == couple.id
                    assert checkin.week_of in weeks
                    opened = checkin_service.opens_at(couple, checkin.week_of)
                    assert opened <= checkin.created_at <= now
                    if checkin.status in HANDED_IN:
                        # Handed in during its own week, before the next one opened.
                        assert opened <= checkin.submitted_at < opened + timedelta(weeks=1)
                        assert checkin.submitted_at <= now
                        assert checkin.last_saved_at == checkin.submitted_at
                    else:  # only this week's is still open or being written
                        assert checkin.week_of == this_week
                        assert checkin.submitted_at is None
                    if checkin.status == CheckinStatus.REVIEWED:
                        assert checkin.submitted_at <= checkin.reviewed_at <= now
                        assert checkin.reviewed_by_id is not None
                    else:
                        assert checkin.reviewed_at is None
                    # What the form shows for it posts back to exactly the same content.
                    form = MultiDict(questions.form_values(checkin.content))
                    content, errors = questions.parse_form(form, keys)
                    assert errors == {}
                    assert content == checkin.content
                    if checkin.status == CheckinStatus.OPEN:
                        assert checkin.content == questions.empty()
    # Some weeks missed, the latest waiting for the therapist, the rest read.
    assert sum(statuses.values()) < COUPLES * 2 * WEEKS
    assert set(statuses) == {"open", "draft", "submitted", "reviewed"}
    assert statuses["reviewed"] > statuses["submitted"] > 0


def test_each_partner_keeps_the_summary_of_their_latest_check_in(seeded):
    if not hasattr(Partner, "last_checkin_on"):
        pytest.skip("partners have no check-in summary yet")
    by_partner = _checkins_by_partner(seeded.practice_id)
    falling = 0
    with practice_context(seeded.practice_id):
        for partner in db.session.scalars(select(Partner)):
            handed_in = [c for c in by_partner[partner.id] if c.status in HANDED_IN]
            if handed_in:
                assert partner.last_checkin_on == handed_in[-1].week_of
            else:
                assert partner.last_checkin_on == partner.created_at.date()
            expected = questions.declining([c.content for c in handed_in[-13:]])
            assert partner.declining_markers == expected
            falling += expected > 0
    assert falling > 0  # some couples' markers went down over the last weeks


def test_the_pages_show_the_seeded_check_ins_and_the_open_safety_flags(seeded, make_client):
    first = seeded.couples[0]
    by_label = {n: seeded.couples[n].id for n in (3, 23, 53)}
    with practice_context(seeded.practice_id):
        flags = db.session.scalars(select(SafetyFlag)).all()
        answers = {a.id: a for a in db.session.scalars(select(SafetyAnswer))}
        checkins = {c.id: c for c in db.session.scalars(select(Checkin))}
    assert {flag.couple_id for flag in flags if flag.addressed_at is None} == {
        by_label[3],
        by_label[53],
    }
    for flag in flags:
        answer = answers[flag.answer_id]
        assert answer.positive and answer.context == "checkin"
        # The answer belongs to a handed-in check-in of the partner the flag names.
        assert checkins[answer.checkin_id].partner_id == flag.partner_id == answer.partner_id
        assert checkins[answer.checkin_id].status in HANDED_IN

    therapist = make_client()
    therapist.login(seeded.owner_email, seeded.password)
    page = therapist.get(f"/couples/{first.id}/checkins")
    assert page.status_code == 200
    assert "Mark as read" in page.get_data(as_text=True)  # last week's wait for the therapist
    for path in (f"/couples/{first.id}/trends", f"/couples/{first.id}/trends?weeks=52"):
        assert therapist.get(path).status_code == 200
    safety = therapist.get("/couples/safety").get_data(as_text=True)
    assert "Couple 00003" in safety and "Couple 00053" in safety
    assert "Couple 00023" not in safety  # addressed

    partner_id = first.partner_ids[1]  # writing this week's check-in
    partner = make_client()
    assert partner.post_form(f"/p/{first.invite_tokens[partner_id]}").status_code == 302
    with practice_context(seeded.practice_id):
        draft = db.session.scalar(
            select(Checkin).where(
                Checkin.partner_id == partner_id, Checkin.status == CheckinStatus.DRAFT
            )
        )
    page = partner.get("/portal/checkin")
    assert page.status_code == 200
    assert draft.content["facts"] in page.get_data(as_text=True)
    assert partner.get("/portal/trends").status_code == 200

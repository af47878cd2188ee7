"""Trends from handed-in check-ins: gaps for missing weeks, per-partner series, what a
partner may see (their own, and the other's only where shared), and a marker that got
worse three weeks running."""

from __future__ import annotations

from datetime import timedelta

import pytest

from practice.extensions import db
from practice.models.base import utcnow
from practice.models.checkin import Checkin
from practice.services import checkins, trends
from tests.services.test_homework import world  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("app")


def checkin(
    partner, week, *, recovery=None, count=None, kept=None, shared=False, status="submitted"
):
    content = {
        "markers": {} if recovery is None else {"recovery": recovery},
        "triggers": {"count": count, "longest_minutes": None, "helped": [], "helped_other": ""},
        "kept": kept or {},
    }
    db.session.add(
        Checkin(
            couple_id=partner.couple_id,
            partner_id=partner.id,
            week_of=week,
            status=status,
            shared=shared,
            content=content,
            submitted_at=utcnow(),
        )
    )
    db.session.flush()


def weeks_back(couple, n):
    return checkins.week_of(couple) - timedelta(weeks=n)


def test_a_week_without_a_handed_in_check_in_is_a_gap(world):  # noqa: F811
    couple = world.couple
    checkin(world.ann, weeks_back(couple, 2), recovery=2, count=3)
    checkin(world.ann, weeks_back(couple, 0), recovery=4, count=1)
    checkin(world.ann, weeks_back(couple, 1), recovery=5, status="draft")  # not handed in
    trend = trends.couple_trend(couple, 12)
    ann = next(p for p in trend.partners if p.partner.id == world.ann.id)
    assert ann.markers["recovery"].values[-3:] == [2, None, 4]
    assert ann.triggers.values[-3:] == [3, None, 1]
    assert ann.handed_in[-3:] == [True, False, True]
    assert ann.completion == round(100 * 2 / 12)
    assert len(trend.weeks) == 12


def test_agreements_kept_is_a_share(world):  # noqa: F811
    checkin(world.ann, weeks_back(world.couple, 0), kept={"a": "yes", "b": "mostly", "c": "no"})
    ann = trends.couple_trend(world.couple, 12).partners[0]
    assert ann.kept.values[-1] == 50


def test_a_partner_sees_their_own_and_only_what_the_other_shared(world):  # noqa: F811
    couple = world.couple
    checkin(world.ann, weeks_back(couple, 1), recovery=3)
    checkin(world.ben, weeks_back(couple, 1), recovery=2)  # private
    seen = trends.couple_trend(couple, 12, for_partner=world.ann)
    assert [p.partner.id for p in seen.partners] == [world.ann.id]
    checkin(world.ben, weeks_back(couple, 0), recovery=4, shared=True)
    seen = trends.couple_trend(couple, 12, for_partner=world.ann)
    ben = next(p for p in seen.partners if p.partner.id == world.ben.id)
    assert ben.markers["recovery"].values[-2:] == [None, 4]  # the private week stays out
    therapist = trends.couple_trend(couple, 12)
    ben_all = next(p for p in therapist.partners if p.partner.id == world.ben.id)
    assert ben_all.markers["recovery"].values[-2:] == [2, 4]


def test_a_marker_worse_three_weeks_running_is_named(world):  # noqa: F811
    couple = world.couple
    for n, value in zip((3, 2, 1, 0), (5, 4, 3, 2), strict=True):
        checkin(world.ann, weeks_back(couple, n), recovery=value)
    ann = trends.couple_trend(couple, 12).partners[0]
    assert trends.worse_three_weeks_running(ann) == ["recovery"]
    checkin(world.ben, weeks_back(couple, 3), recovery=3)
    checkin(world.ben, weeks_back(couple, 1), recovery=2)
    ben = next(p for p in trends.couple_trend(couple, 12).partners if p.partner.id == world.ben.id)
    assert trends.worse_three_weeks_running(ben) == []  # two weeks are not three


def test_an_unknown_span_falls_back_to_six_months(world):  # noqa: F811
    assert len(trends.couple_trend(world.couple, 7).weeks) == 26


def test_a_chart_starts_when_the_work_began(world):  # noqa: F811
    from practice.services.checkins import week_of

    couple = world.couple
    couple.start_date = week_of(couple) - timedelta(weeks=5)
    assert len(trends.couple_trend(couple, 26).weeks) == 6  # not twenty empty weeks before
    couple.start_date = week_of(couple)
    assert len(trends.couple_trend(couple, 12).weeks) == trends.MIN_WEEKS
    couple.start_date = week_of(couple) - timedelta(weeks=100)
    assert len(trends.couple_trend(couple, 52).weeks) == 52

"""Weekly check-ins through the service: the week by the couple's clock, one per partner per
week, saved as typed with conflicts refused, handed in, read by whom the audience allows,
and the sealed reflection shown only once both handed theirs in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from practice.extensions import db
from practice.models import Checkin
from practice.services import DomainError, NotFound
from practice.services import checkins as service
from tests.services.test_homework import world  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("app")

FORM = MultiDict(
    [
        ("checkin-facts", "Dinner with my sister on Friday."),
        ("checkin-reflection", "I checked the phone less."),
        ("marker-recovery", "4"),
        ("triggers-count", "1"),
    ]
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_week_opens_on_the_couples_day_and_hour_in_the_couples_zone(world):  # noqa: F811
    couple = world.couple
    couple.time_zone = "Pacific/Auckland"  # UTC+13 in December
    couple.checkin_weekday, couple.checkin_hour = 6, 18  # Sunday 18:00 there
    # Sunday 6 Dec 2026, 04:59 UTC is 17:59 in Auckland: still last week's.
    assert service.week_of(couple, at("2026-12-06T04:59:00")) == date(2026, 11, 29)
    assert service.week_of(couple, at("2026-12-06T05:00:00")) == date(2026, 12, 6)
    assert service.week_of(couple, at("2026-12-12T23:00:00")) == date(2026, 12, 6)


def test_the_practice_default_applies_unless_the_couple_has_its_own(world):  # noqa: F811
    couple = world.couple
    couple.time_zone = "Europe/London"
    couple.checkin_weekday = couple.checkin_hour = None
    # The practice's default: Sunday 18:00.
    assert service.week_of(couple, at("2026-12-06T17:59:00")) == date(2026, 11, 29)
    assert service.week_of(couple, at("2026-12-06T18:00:00")) == date(2026, 12, 6)
    couple.checkin_weekday, couple.checkin_hour = 2, 9  # Wednesday 09:00
    assert service.week_of(couple, at("2026-12-06T18:00:00")) == date(2026, 12, 2)


def test_one_check_in_per_partner_per_week(world):  # noqa: F811
    first = service.current(world.ann)
    again = service.current(world.ann)
    assert first.id == again.id
    assert service.current(world.ben).id != first.id
    db.session.flush()
    assert len(db.session.scalars(select(Checkin)).all()) == 2


def test_a_check_in_is_saved_as_typed_and_a_stale_save_is_refused(world):  # noqa: F811
    checkin = service.current(world.ann)
    service.save(world.ann, checkin, form=FORM, base_version=0)
    assert checkin.status == "draft" and checkin.version == 1
    assert checkin.content["facts"] == "Dinner with my sister on Friday."
    assert checkin.content["markers"] == {"recovery": 4}
    with pytest.raises(service.CheckinConflict) as conflict:
        service.save(world.ann, checkin, form=MultiDict([("checkin-facts", "x")]), base_version=0)
    assert conflict.value.current_content["facts"] == "Dinner with my sister on Friday."
    assert conflict.value.attempted["facts"] == "x"


def test_answers_that_do_not_fit_are_refused_and_nothing_changes(world):  # noqa: F811
    checkin = service.current(world.ann)
    service.save(world.ann, checkin, form=FORM, base_version=0)
    bad = MultiDict(FORM)
    bad["marker-recovery"] = "9"
    with pytest.raises(service.CheckinInvalid) as refused:
        service.save(world.ann, checkin, form=bad, base_version=1)
    assert set(refused.value.errors) == {"marker-recovery"}
    assert checkin.version == 1


def test_a_handed_in_check_in_is_read_only_and_private_unless_shared(world):  # noqa: F811
    mine = service.current(world.ann)
    service.submit(world.ann, mine, form=FORM, base_version=0)
    assert mine.status == "submitted" and mine.submitted_at is not None
    with pytest.raises(DomainError):
        service.save(world.ann, mine, form=FORM, base_version=mine.version)
    db.session.flush()
    with pytest.raises(NotFound):
        service.get_partner_checkin(world.ben, mine.public_id)
    assert service.get_partner_checkin(world.ann, mine.public_id).id == mine.id
    with pytest.raises(NotFound):
        service.get_partner_checkin(world.cy, mine.public_id)


def test_a_shared_check_in_is_read_by_the_partner_once_handed_in(world):  # noqa: F811
    mine = service.current(world.ann)
    service.save(world.ann, mine, form=FORM, base_version=0, share=True)
    db.session.flush()
    with pytest.raises(NotFound):  # a draft is the author's alone
        service.get_partner_checkin(world.ben, mine.public_id)
    service.submit(world.ann, mine, form=FORM, base_version=1, share=True)
    db.session.flush()
    assert service.get_partner_checkin(world.ben, mine.public_id).id == mine.id


def test_the_reflection_is_sealed_until_both_have_handed_in(world):  # noqa: F811
    ann = service.current(world.ann)
    ben = service.current(world.ben)
    service.submit(world.ann, ann, form=FORM, base_version=0)
    db.session.flush()
    assert service.reflection_of_other(world.ben, ben) is None
    assert service.reflection_of_other(world.ann, ann) is None
    theirs = MultiDict([("checkin-reflection", "I noticed more warmth.")])
    service.submit(world.ben, ben, form=theirs, base_version=0)
    db.session.flush()
    assert service.reflection_of_other(world.ann, ann) == "I noticed more warmth."
    assert service.reflection_of_other(world.ben, ben) == "I checked the phone less."


def test_the_therapist_reviews_with_a_private_note(world):  # noqa: F811
    checkin = service.current(world.ann)
    with pytest.raises(DomainError):
        service.mark_reviewed(world.therapist, checkin)
    service.submit(world.ann, checkin, form=FORM, base_version=0)
    service.mark_reviewed(world.therapist, checkin, note="  Steadier week.  ")
    assert checkin.status == "reviewed" and checkin.therapist_note == "Steadier week."
    assert checkin.reviewed_by_id == world.therapist.id

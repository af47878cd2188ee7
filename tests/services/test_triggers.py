"""The trigger log's rules: what an entry may hold (service and schema), the check-in week it
counts in, who may read it, the counts in the therapist's summary and not the couple's, and
the demo's entries made through the form's own service call.

Real database, real PDF renderer; nothing of ours is mocked.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from practice.extensions import db
from practice.models import Couple, Partner, TriggerEntry, User
from practice.models.base import utcnow
from practice.services import NotFound, reports, trends, triggers
from practice.services import appointments as appointment_service
from practice.services import checkins as checkin_service
from practice.services.appointments import AppointmentDetails
from practice.services.demo import DEMO_TRIGGERS, seed_demo
from practice.services.triggers import TriggerInvalid
from practice.tenancy import practice_context, unscoped
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import PracticeFactory, UserFactory

WORDS = "Wrenfallow"  # what set it off: never in a summary, never in a count


@pytest.fixture
def ids(app) -> CoupleIds:
    practice = PracticeFactory(time_zone="Europe/London")
    couple = CoupleFactory(therapist=UserFactory(practice=practice), time_zone="Europe/London")
    found = CoupleIds.of(couple)
    db.session.commit()
    return found


def partners(ids: CoupleIds) -> tuple[Partner, Partner]:
    first, second = (db.session.get(Partner, pid) for pid in ids.partner_ids)
    return first, second


def log(partner: Partner, **values):
    values = {
        "occurred_at": utcnow() - timedelta(minutes=30),
        "intensity": 5,
        **values,
    }
    return triggers.log_trigger(partner, **values)


def test_an_entry_keeps_what_was_given_in_the_steps_order(ids):
    with practice_context(ids.practice_id):
        kim, _ = partners(ids)
        entry = log(
            kim,
            helped=["code_word", "breathed"],
            minutes_to_steady=1440,
            reassurance="asked_not_given",
            what_set_it_off=f"{WORDS}\n\ttwo lines",
            intensity=10,
        )
        db.session.commit()
        assert entry.helped == ["breathed", "code_word"]
        assert entry.couple_id == ids.id and entry.practice_id == ids.practice_id
        assert entry.public_id and len(entry.public_id) >= 16


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"intensity": -1}, "intensity"),
        ({"intensity": 11}, "intensity"),
        ({"intensity": None}, "intensity"),
        ({"minutes_to_steady": 1441}, "minutes_to_steady"),
        ({"minutes_to_steady": -5}, "minutes_to_steady"),
        ({"helped": ["breathed", "prayed"]}, "helped"),
        ({"reassurance": "yes"}, "reassurance"),
        ({"what_set_it_off": "x" * 5001}, "what_set_it_off"),
        ({"occurred_at": utcnow() + timedelta(hours=2)}, "occurred_at"),
        ({"occurred_at": utcnow() - timedelta(days=400)}, "occurred_at"),
        ({"occurred_at": datetime(2026, 1, 1, 12, 0)}, "occurred_at"),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_the_service_refuses_what_does_not_fit_naming_the_field(ids, values, field):
    with practice_context(ids.practice_id):
        kim, _ = partners(ids)
        with pytest.raises(TriggerInvalid) as refused:
            log(kim, **values)
        assert set(refused.value.errors) == {field}
        assert refused.value.errors[field]
        assert db.session.scalar(select(func.count()).select_from(TriggerEntry)) == 0


@pytest.mark.parametrize(
    ("column", "value"), [("intensity", 11), ("minutes_to_steady", 2000), ("reassurance", "x")]
)
def test_the_schema_refuses_it_too(ids, column, value):
    with practice_context(ids.practice_id):
        kim, _ = partners(ids)
        entry = TriggerEntry(
            couple_id=ids.id,
            partner_id=kim.id,
            occurred_at=utcnow(),
            intensity=5,
            helped=[],
            reassurance="not_asked",
        )
        setattr(entry, column, value)
        db.session.add(entry)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_the_form_reader_keeps_what_fits_and_reads_when_in_the_partner_s_zone(ids):
    with practice_context(ids.practice_id):
        kim, _ = partners(ids)
        kim.time_zone = "America/New_York"
        now = datetime(2026, 7, 1, 18, 0, tzinfo=ZoneInfo("UTC"))
        form = MultiDict(
            {
                "occurred_at": "2026-07-01T13:15",
                "intensity": "3",
                "minutes_to_steady": "abc",
                "helped-facts": "y",
                "reassurance": "not_asked",
            }
        )
        values, errors = triggers.parse_form(form, kim, now)
        assert errors == {"minutes_to_steady": errors["minutes_to_steady"]}
        assert values["occurred_at"] == datetime(2026, 7, 1, 17, 15, tzinfo=ZoneInfo("UTC"))
        assert values["intensity"] == 3 and values["helped"] == ["facts"]
        assert triggers.when_value(values["occurred_at"], kim) == "2026-07-01T13:15"


def test_the_week_is_the_check_in_s_week_and_only_the_partner_s_own(ids):
    with practice_context(ids.practice_id):
        kim, lee = partners(ids)
        couple = db.session.get(Couple, ids.id)
        week = checkin_service.week_of(couple)
        start, end = triggers.week_bounds(couple, week)
        log(kim, occurred_at=start, minutes_to_steady=20)
        log(kim, occurred_at=max(start, utcnow() - timedelta(minutes=1)), minutes_to_steady=None)
        log(kim, occurred_at=start - timedelta(seconds=1), minutes_to_steady=300)  # last week
        log(lee, occurred_at=start + timedelta(seconds=1), minutes_to_steady=999)
        assert triggers.week_summary(kim, week) == triggers.WeekSummary(2, 20)
        assert len(triggers.partner_entries(kim, week)) == 2
        assert triggers.week_summary(lee, week) == triggers.WeekSummary(1, 999)
        last = week - timedelta(weeks=1)
        assert triggers.week_summary(kim, last) == triggers.WeekSummary(1, 300)
        assert end - start == timedelta(days=7)


def test_a_partner_reaches_only_their_own_entries(ids):
    with practice_context(ids.practice_id):
        kim, lee = partners(ids)
        log(kim)
        week = checkin_service.week_of(kim.couple)
        assert len(triggers.partner_entries(kim, week)) == 1
        assert triggers.partner_entries(lee, week) == []
        checkin = checkin_service.current(lee)
        with pytest.raises(NotFound):
            triggers.checkin_prefill(kim, checkin)
        assert triggers.checkin_prefill(lee, checkin) is None


def test_trends_count_the_log_for_the_therapist_a_partner_s_own_and_never_the_couple(ids):
    with practice_context(ids.practice_id):
        kim, lee = partners(ids)
        couple = db.session.get(Couple, ids.id)
        log(kim, minutes_to_steady=40)
        log(kim, minutes_to_steady=15)
        log(lee, minutes_to_steady=5)
        therapist = trends.couple_trend(couple, 12)
        (week, cells) = therapist.log_rows[0]
        assert week == therapist.weeks[-1]
        by_name = dict(
            zip([p.partner.display_name for p in therapist.partners], cells, strict=True)
        )
        assert by_name[kim.display_name] == (2, 40)
        assert by_name[lee.display_name] == (1, 5)
        own = trends.couple_trend(couple, 12, for_partner=kim)
        assert [p.partner.id for p in own.partners] == [kim.id]
        assert own.partners[0].logged.values[-1] == 2
        assert trends.couple_trend(couple, 12, shared_only=True).log_rows == []


# --- the summary PDF ------------------------------------------------------------------------


def summary_text(ids: CoupleIds, audience: str) -> str:
    with practice_context(ids.practice_id):
        user = db.session.get(User, ids.therapist_ids[0])
        couple = db.session.get(Couple, ids.id)
        day = utcnow().astimezone(ZoneInfo(couple.time_zone)).date() + timedelta(days=1)
        appointment = appointment_service.record(
            user, couple, AppointmentDetails(day=day, start=datetime.min.time().replace(hour=15))
        )
        report, _ = reports.request_summary(user, couple, audience, appointment=appointment)
        report_id = report.id
        db.session.commit()
        report = reports.get_report(user, report_id)
        assert reports.progress(report).state == "done"
        data = reports.read_file(report)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", " ", text)


def test_the_therapist_s_summary_counts_the_log_per_partner_and_the_couple_s_does_not(
    ids, reports_path
):
    with practice_context(ids.practice_id):
        kim, lee = partners(ids)
        names = (kim.display_name, lee.display_name)
        log(kim, minutes_to_steady=73, what_set_it_off=WORDS)
        log(kim, minutes_to_steady=12)
        log(lee, minutes_to_steady=None)
        db.session.commit()
    therapist = summary_text(ids, "therapist")
    section = therapist.split("Trigger log", 1)[1].split("Safety flags", 1)[0]
    assert "2 logged, longest 73 min" in section
    assert re.search(r"\b1 logged\b", section)
    assert names[0] in section and names[1] in section
    assert WORDS not in therapist
    couple_copy = summary_text(ids, "couple")
    assert "Trigger log" not in couple_copy and "73 min" not in couple_copy


# --- the demo -----------------------------------------------------------------------------


def test_the_demo_logs_its_entries_through_the_form_path(app):
    seed_demo()
    db.session.commit()
    with unscoped():
        rows = db.session.scalars(select(TriggerEntry).order_by(TriggerEntry.id)).all()
        names = {p.id: p.display_name for p in db.session.scalars(select(Partner))}
    assert len(rows) == len(DEMO_TRIGGERS)
    expected = [
        (name, intensity, list(helped)) for _, name, _, _, intensity, helped, *_ in DEMO_TRIGGERS
    ]
    assert [(names[r.partner_id], r.intensity, r.helped) for r in rows] == expected
    assert {r.reassurance for r in rows} == {"asked_given", "not_asked", "asked_not_given"}
    seed_demo()  # a second run adds nothing
    db.session.commit()
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(TriggerEntry)) == len(rows)

"""Scored measures as services: the CSI-4 scoring table through the real answer path, the due
days a schedule makes, a made-up measure added by a definition file alone, the chart (both
partners, the cut-off, the sessions), and reminders that say nothing of the questionnaire."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.instruments import get_instrument
from practice.models import JobRun, Notice
from practice.models.base import utcnow
from practice.models.measure import MeasureResponse
from practice.services import DomainError, appointments, measures, reminders
from practice.tenancy import unscoped
from tests.measures_helpers import csi4_form, made_up_measure  # noqa: F401 - a fixture
from tests.services.test_homework import world  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("app")

# Today at 10:00 UTC: outside quiet hours in London, in winter and in summer.
NOW = datetime.combine(utcnow().date(), time(10), tzinfo=UTC)

# The CSI-4 scoring table: the four answers (happiness 0-6, then three 0-5, or "prefer_not")
# -> the score (None: not scorable) -> below the cut-off of 13.5?
CSI4_TABLE = [
    ((0, 0, 0, 0), 0, True),
    ((6, 5, 5, 5), 21, False),
    ((3, 3, 3, 3), 12, True),
    ((3, 3, 4, 3), 13, True),
    ((3, 4, 4, 3), 14, False),
    ((4, 4, 4, 4), 16, False),
    ((1, 1, 1, "prefer_not"), None, True),  # 3 + at most 5: below whatever the last says
    ((5, 5, 5, "prefer_not"), None, False),  # could still reach 20: not read as below
]


def once(w, partner_index: int = 0, **kwargs) -> MeasureResponse:
    """Send the CSI-4 once, now; the measure of the partner at `partner_index`."""
    schedule = measures.send(
        w.therapist,
        w.couple,
        instrument_key=kwargs.pop("instrument_key", "csi4"),
        starts_on=None,
        every_weeks=None,
        for_weeks=None,
        now=kwargs.pop("now", NOW),
    )
    db.session.flush()
    partner = w.couple.partners[partner_index]
    return db.session.scalar(
        select(MeasureResponse).where(
            MeasureResponse.schedule_id == schedule.id, MeasureResponse.partner_id == partner.id
        )
    )


def test_the_csi4_definition_is_the_published_one():
    csi4 = get_instrument("csi4")
    assert (csi4.minimum, csi4.maximum, csi4.cutoff, csi4.positive_when) == (0, 21, 13.5, "below")
    assert "Funk JL, Rogge RD" in csi4.source and "10.1037/0893-3200.21.4.572" in csi4.source
    assert [len(item.anchors) for item in csi4.items] == [7, 6, 6, 6]
    assert csi4.items[0].anchors[6].label == "Perfect"


def test_the_csi4_scoring_table_through_the_answer_path(world):  # noqa: F811
    for values, expected, below in CSI4_TABLE:
        response = once(world)
        measures.submit(
            world.ann, response, form=csi4_form(*values), base_version=response.version, now=NOW
        )
        db.session.flush()
        db.session.refresh(response)
        assert (response.score, response.past_cutoff) == (expected, below), values
        assert response.submitted_at == NOW


def test_handing_in_needs_every_answer_and_keeps_what_was_chosen(world):  # noqa: F811
    response = once(world)
    partial = csi4_form(3, 3, 3, 3)
    del partial["item-satisfied"]
    with pytest.raises(measures.MeasureInvalid) as refused:
        measures.submit(world.ann, response, form=partial, base_version=0, now=NOW)
    assert set(refused.value.errors) == {"item-satisfied"}
    with pytest.raises(measures.MeasureInvalid):  # a value that is no answer is refused
        measures.save(world.ann, response, form=csi4_form(3, 3, 3, 9), base_version=1, now=NOW)
    with pytest.raises(measures.MeasureConflict):  # an old version is never an overwrite
        measures.save(world.ann, response, form=csi4_form(1, 1, 1, 1), base_version=0, now=NOW)
    assert measures.form_values(response) == dict(partial)
    with pytest.raises(DomainError):  # nor is the other partner's measure theirs to answer
        measures.save(world.ben, response, form=partial, base_version=1, now=NOW)


@pytest.mark.parametrize(
    ("every", "weeks", "count", "last"),
    [(4, 26, 7, 24), (4, 24, 6, 20), (2, 4, 2, 2), (1, 1, 1, 0), (None, 1, 1, 0)],
)
def test_due_days(every, weeks, count, last):
    start = date(2026, 12, 7)
    days = measures.due_dates(start, every, weeks)
    assert len(days) == count
    assert days[0] == start and days[-1] == start + timedelta(weeks=last)
    assert all((b - a).days == 7 * every for a, b in zip(days, days[1:], strict=False))


def test_a_schedule_makes_a_measure_per_partner_per_day_and_stopping_takes_off_the_rest(world):  # noqa: F811
    start = NOW.date() + timedelta(days=1)
    schedule = measures.send(
        world.therapist,
        world.couple,
        instrument_key="csi4",
        starts_on=start,
        every_weeks=4,
        for_weeks=26,
        now=NOW,
    )
    rows = measures.couple_measures(world.couple)
    assert len(rows) == 14
    assert sorted({r.due_on for r in rows}) == measures.due_dates(start, 4, 26)
    assert schedule.ends_on == start + timedelta(weeks=24)
    for bad, field in (
        ({"starts_on": NOW.date() - timedelta(days=1)}, "starts_on"),
        ({"every_weeks": 0}, "every_weeks"),
        ({"for_weeks": 105}, "for_weeks"),
        ({"instrument_key": "hits"}, "instrument"),  # a safety screen is no measure
    ):
        options = {"instrument_key": "csi4", "starts_on": start, "every_weeks": 4}
        with pytest.raises(DomainError) as refused:
            measures.send(
                world.therapist, world.couple, **{**options, "for_weeks": 26, **bad}, now=NOW
            )
        assert refused.value.field == field
    first_day = NOW + timedelta(days=1)  # stopped on the first due day
    assert measures.stop(world.therapist, world.couple, schedule, now=first_day) == 12
    db.session.expire_all()
    assert len(measures.couple_measures(world.couple)) == 2  # the day's stays answerable


def test_a_made_up_measure_is_added_by_its_definition_file_alone(world, made_up_measure):  # noqa: F811
    assert made_up_measure.key not in {c.instrument.key for c in measures.enabled_choices()}
    with pytest.raises(DomainError):  # shipped disabled, like any new file
        once(world, instrument_key=made_up_measure.key)
    measures.update_settings(world.owner, world.owner.practice, {made_up_measure.key: (True, 2, 8)})
    (choice,) = [c for c in measures.enabled_choices() if c.instrument.key == "closeness_test"]
    assert (choice.every_weeks, choice.for_weeks) == (2, 8)
    response = once(world, instrument_key=made_up_measure.key)
    form = {"item-distance": "3", "item-unheard": "2", "item-alone": "2"}
    measures.submit(world.ann, response, form=form, base_version=0, now=NOW)
    assert (response.score, response.past_cutoff) == (7, True)  # above 6
    (chart,) = measures.charts(world.couple, measures.couple_measures(world.couple))
    assert chart.title == made_up_measure.name
    assert chart.rows == [[f"{NOW:%-d %b %Y}", "Ann", "7", "Yes"]]
    assert chart.headers[-1] == "Above 6?"


def test_one_chart_holds_both_partners_the_cut_off_and_the_sessions(world):  # noqa: F811
    start = NOW.date() - timedelta(weeks=8)
    then = datetime.combine(start, time(9), tzinfo=UTC)
    measures.send(
        world.therapist,
        world.couple,
        instrument_key="csi4",
        starts_on=start,
        every_weeks=4,
        for_weeks=12,
        now=then,
    )
    for week, (ann, ben) in enumerate(((8, 12), (11, 14), (15, 16))):
        moment = then + timedelta(weeks=4 * week, hours=2)
        for partner, total in ((world.ann, ann), (world.ben, ben)):
            (row,) = [
                r
                for r in measures.couple_measures(world.couple)
                if r.partner_id == partner.id and r.due_on == start + timedelta(weeks=4 * week)
            ]
            values = (min(total, 6), *(min(max(total - 6 - 5 * i, 0), 5) for i in range(3)))
            measures.submit(partner, row, form=csi4_form(*values), base_version=0, now=moment)
    for days_ago in (50, 30, 10):
        day = NOW.date() - timedelta(days=days_ago)
        appointments.record(
            world.therapist, world.couple, appointments.AppointmentDetails(day=day, start=time(10))
        )
    db.session.flush()
    rows = measures.couple_measures(world.couple)
    (chart,) = measures.charts(
        world.couple, rows, sessions=measures.session_days(world.couple), prefix="t"
    )
    svg = chart.svg
    assert svg.count('class="chart__line"') == 2  # Ann's and Ben's lines, on one chart
    assert svg.count('class="chart__point"') == 6
    assert ">Ann, " in svg and ">Ben, " in svg and "Cut-off 13.5" in svg
    assert svg.count('class="chart__cutoff"') == 1
    assert svg.count('class="chart__session"') == 3
    assert "<script" not in svg and "style=" not in svg
    assert [r[1:] for r in chart.rows[:2]] == [["Ann", "8", "Yes"], ["Ben", "12", "Yes"]]
    # The cut-off sits at 13.5 of 0-21 on the plot's height.
    y = float(svg.split('class="chart__cutoff"', 1)[1].split('y1="', 1)[1].split('"', 1)[0])
    top, bottom = 28.0, 240.0 - 28
    assert y == pytest.approx(top + (bottom - top) * (1 - 13.5 / 21), abs=0.2)
    # A partner's own chart: their scores only.
    (own,) = measures.charts(world.couple, rows, for_partner=world.ann)
    assert own.svg.count('class="chart__line"') == 1 and ">Ben" not in own.svg


def test_a_measure_due_is_reminded_once_without_a_word_of_it(world, inbox):  # noqa: F811
    for partner in world.couple.partners:
        partner.joined_at = NOW - timedelta(days=30)
        partner.time_zone = "Europe/London"
        partner.email = f"{partner.display_name.lower()}@example.com"
    world.couple.time_zone = "Europe/London"
    db.session.flush()
    response = once(world)
    measures.submit(world.ann, response, form=csi4_form(1, 1, 1, 1), base_version=0, now=NOW)
    once(world, now=NOW)  # a second, unanswered by both
    db.session.commit()
    late = NOW.replace(hour=21, minute=30)
    assert "measure.due" not in reminders.tick(late)  # quiet hours hold it
    assert reminders.tick(NOW + timedelta(minutes=1)).get("measure.due") == 3
    assert "measure.due" not in reminders.tick(NOW + timedelta(minutes=2))
    with unscoped():
        notes = db.session.scalars(select(Notice).where(Notice.kind == "measure.due")).all()
        runs = db.session.scalars(
            select(JobRun).where(JobRun.function == "email.measure_reminder")
        ).all()
    assert len(notes) == 3 and {n.link for n in notes} == {"/portal/measures"}
    assert [sorted(run.arguments) for run in runs] == [["partner_id"]] * 3
    bodies = [
        m.get_content() + m["Subject"] for m in inbox.messages if "check-in" not in m["Subject"]
    ]
    assert len(bodies) == 3
    csi4 = get_instrument("csi4")
    words = ["CSI", "Satisfaction", "score", "13.5", *(item.text for item in csi4.items)]
    for body in bodies:
        assert "questionnaire" in body
        assert not any(word in body for word in words), body


def test_the_demo_couple_has_six_csi4_results_each_on_one_chart():
    from practice.models import Couple
    from practice.services.demo import DEMO_CSI4, seed_demo
    from practice.tenancy import practice_context

    result = seed_demo()
    db.session.commit()
    with practice_context(result["practice"]["id"]):
        couple = db.session.scalar(select(Couple).where(Couple.label == "Alex & Sam"))
        schedules, rows = measures.couple_record(couple)
        assert [(s.instrument, s.every_weeks) for s in schedules] == [("csi4", 4)]
        handed_in = [r for r in rows if r.submitted_at is not None]
        assert sorted(r.score for r in handed_in) == sorted(DEMO_CSI4["hurt"] + DEMO_CSI4["other"])
        for partner in couple.partners:
            assert len([r for r in handed_in if r.partner_id == partner.id]) == 6
        (chart,) = measures.charts(couple, rows, sessions=measures.session_days(couple))
        assert chart.svg.count('class="chart__point"') == 12
        assert chart.svg.count('class="chart__session"') >= 1

"""The connection ritual through the real portal pages: the plan written together (the no-JS
save and the page's autosave, each partner their own act of care), agreed by both, then a
card on the home page; each week's tick in a few taps, every answer there after a reload, a
refused post keeping every value; a tick private to its author and the therapists, the plan
and the ticks out of reach of another couple and another practice (404); completion on the
trends pages and in the therapist's summary, the plan in both copies.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from practice.extensions import db
from practice.homework.workflow import Status
from practice.models import AuditEvent, Couple, RitualTick, User
from practice.services import homework, reports, ritual, windows
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_couples import add_couple, location
from tests.blueprints.test_homework import couple, portal_of, response_row  # noqa: F401
from tests.couple_factories import CoupleIds, public

JSON = {"Accept": "application/json"}
# Kim's page: the joint parts and Kim's own act of care (Kim is at position 1).
KIM_FORM = {
    "content-checkin_weekday": "6",
    "content-checkin_time": "17:30",
    "content-date_idea": "walk",
    "content-date_words": "The river path «au bord de l’eau» 🌊 <b>then</b> chips",
    "content-care_1": "Leave a note in Lee’s coat pocket each morning 💌",
}
# Lee's page, as the autosave posts it: the joint parts (one changed) and Lee's own act.
LEE_FORM = {
    **{key: value for key, value in KIM_FORM.items() if key != "content-care_1"},
    "content-checkin_time": "18:00",
    "content-care_2": "Make Kim’s coffee before work <i>every</i> day ☕",
}
PLAN = {
    "checkin_weekday": 6,
    "checkin_time": "17:30",
    "date_idea": "cook",
    "date_words": "Tagine night «Thursday»",
    "care_1": "Leave a note in the coat pocket",
    "care_2": "Make the coffee before work",
}
TICK = {
    "repair_checkin": "moved",
    "fun_date": "planned",
    "care_days": "5",
    "note": "We moved it to Monday «fatigue» <b>but</b> kept it 🙂",
}


@pytest.fixture
def kim(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 1)


@pytest.fixture
def lee(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 2)


def assign_plan(ids: CoupleIds) -> int:
    """The therapist assigns the ritual (jointly, as its kind asks); the plan's id."""
    with practice_context(ids.practice_id):
        (plan,) = homework.assign(
            db.session.get(User, ids.therapist_ids[0]),
            db.session.get(Couple, ids.id),
            kind_key="connection_ritual",
            mode="joint",
            instructions="",
            due_date=None,
        ).responses
        db.session.commit()
        return plan.id


@pytest.fixture
def agreed_plan(couple) -> int:  # noqa: F811
    """A plan both partners wrote and agreed to, through the services the pages call."""
    plan_id = assign_plan(couple)
    with practice_context(couple.practice_id):
        kim_, lee_ = db.session.get(Couple, couple.id).partners
        for partner in (kim_, lee_):
            plan = homework.get_partner_response(partner, public(plan_id))
            homework.save_draft(partner, plan, content=dict(PLAN), base_version=plan.version)
        for partner in (kim_, lee_):
            windows.confirm(partner, homework.get_partner_response(partner, public(plan_id)))
        db.session.commit()
    return plan_id


def ticks() -> list[RitualTick]:
    db.session.expire_all()
    with unscoped():
        return list(db.session.scalars(select(RitualTick).order_by(RitualTick.id)))


def shown_tick(response) -> dict:
    form = page(response)
    return {**form.checked, "note": form.values.get("note", ""), "week": form.values["week"]}


def test_the_plan_is_written_together_through_its_form_and_agreed_by_both(
    kim,
    lee,
    couple,  # noqa: F811
):
    plan_id = assign_plan(couple)
    url = f"/portal/homework/{public(plan_id)}"
    form = page(kim.get(url))
    assert "content-care_2" not in form.values  # Lee's act of care is Lee's to write
    # Kim saves without JavaScript; a forged field for Lee's part changes nothing.
    saved = kim.post_form(
        url,
        {"version": form.values["version"], "action": "save", **KIM_FORM, "content-care_2": "x"},
    )
    assert saved.status_code == 302 and location(saved) == url
    # Lee reads Kim's act as text, and types through the page's autosave.
    before = page(lee.get(url))
    assert "Leave a note in Lee’s coat pocket each morning 💌" in before.text
    answer = lee.post_form(
        f"{url}/autosave", {"version": before.values["version"], **LEE_FORM}, headers=JSON
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert {name: answer.get_json()["stored"][name] for name in LEE_FORM} == LEE_FORM

    # Reloaded, each finds every word: their own part in the form, the other's as text.
    typed = KIM_FORM | LEE_FORM
    joint = {name: value for name, value in LEE_FORM.items() if name != "content-care_2"}
    for client, own, other in ((kim, "content-care_1", "content-care_2"),
                               (lee, "content-care_2", "content-care_1")):  # fmt: skip
        reloaded = client.get(url)
        shown = page(reloaded)
        values = {**shown.values, **shown.selected}
        expected = {**joint, own: typed[own]}
        assert {name: values.get(name) for name in expected} == expected
        assert other not in values and typed[other] in shown.text
        html = reloaded.get_data(as_text=True)
        assert "<b>then</b>" not in html and "<i>every</i>" not in html  # markup escaped
    row = response_row(plan_id)
    assert row.content["care_1"] == KIM_FORM["content-care_1"]
    assert row.content["care_2"] == LEE_FORM["content-care_2"]

    for client in (kim, lee):
        assert client.post_form(f"{url}/confirm").status_code == 302
    assert response_row(plan_id).status == Status.CONFIRMED
    home = kim.get("/portal").get_data(as_text=True)
    card = home.split('id="ritual-heading"', 1)[1].split("</section>", 1)[0]
    assert "Sundays at 18:00" in card and "Leave a note in Lee’s coat pocket" in card
    assert "Make Kim’s coffee" not in card  # the card shows the reader's own act
    assert 'href="/portal/ritual"' in card


def test_a_week_is_ticked_in_a_few_taps_and_every_answer_is_there_after_a_reload(
    kim,
    agreed_plan,
):
    empty = kim.get("/portal/ritual")
    assert empty.status_code == 200
    this_week = shown_tick(empty)["week"]
    assert page(empty).checked == {}  # nothing chosen for the partner
    assert "<script" not in empty.get_data(as_text=True).split('<main id="main"', 1)[1]

    saved = kim.post_form("/portal/ritual", {"week": this_week, **TICK})
    assert saved.status_code == 302 and location(saved) == "/portal/ritual"
    again = kim.get("/portal/ritual")
    assert shown_tick(again) == {**TICK, "week": this_week}
    assert "Only you and your therapist see it; Lee does not." in page(again).text

    # Saving again changes the same week; last week is a row of its own.
    kim.post_form("/portal/ritual", {"week": this_week, **TICK, "care_days": "7"})
    last_week = shown_tick(kim.get("/portal/ritual?week=last"))["week"]
    assert date.fromisoformat(this_week) - date.fromisoformat(last_week) == timedelta(days=7)
    back = kim.post_form("/portal/ritual", {**TICK, "week": last_week, "note": ""})
    assert location(back) == "/portal/ritual?week=last"
    assert [(row.week_of.isoformat(), row.care_days, row.note) for row in ticks()] == [
        (this_week, 7, TICK["note"]),
        (last_week, 5, ""),
    ]
    # Audited as who ticked which week, never what was answered or written.
    with unscoped():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ritual.ticked").order_by(AuditEvent.id)
        ).all()
    assert [event.details for event in events] == [
        {"week": this_week},
        {"week": this_week},
        {"week": last_week},
    ]


def test_a_refused_tick_keeps_every_value_typed_and_saves_nothing(kim, agreed_plan):
    this_week = shown_tick(kim.get("/portal/ritual"))["week"]
    typed = {"week": this_week, "repair_checkin": "yes", "care_days": "9", "note": TICK["note"]}
    refused = kim.post_form("/portal/ritual", typed)
    assert refused.status_code == 422
    shown = page(refused)
    assert shown.errors == {
        "fun_date": "Say whether the date happened.",
        "care_days": "Choose on how many days, from 0 to 7.",
    }
    assert shown_tick(refused) == {"repair_checkin": "yes", "note": TICK["note"], "week": this_week}
    # A week no longer open, and a note of more than one line: named, nothing saved.
    old = (date.fromisoformat(this_week) - timedelta(weeks=3)).isoformat()
    refused = kim.post_form("/portal/ritual", {**TICK, "week": old, "note": "a\nb"})
    assert refused.status_code == 422
    assert "Tick this week or last week" in page(refused).text
    assert page(refused).errors["note"].startswith("Keep this to one line")
    assert shown_tick(refused)["week"] == this_week  # offered again as this week
    assert ticks() == []


def test_weeks_are_ticked_off_only_once_both_agreed_to_the_plan(kim, couple):  # noqa: F811
    plan_id = assign_plan(couple)
    waiting = page(kim.get("/portal/ritual"))
    assert "Once you have both agreed to your plan" in waiting.text and "week" not in waiting.values
    with practice_context(couple.practice_id):
        this_week, _ = ritual.tick_weeks(db.session.get(Couple, couple.id))
    refused = kim.post_form("/portal/ritual", {"week": this_week.isoformat(), **TICK})
    assert refused.status_code == 409
    assert "Once you have both agreed to your plan" in page(refused).text
    assert ticks() == [] and response_row(plan_id).status == Status.ASSIGNED


def test_a_tick_is_private_to_its_author_and_the_therapist_and_the_plan_to_its_couple(
    kim,
    lee,
    couple,  # noqa: F811
    agreed_plan,
    therapist_client,
    make_client,
    practice_a,
    practice_b,
):
    this_week = shown_tick(kim.get("/portal/ritual"))["week"]
    kim.post_form("/portal/ritual", {"week": this_week, **TICK})
    note = "We moved it to Monday «fatigue»"

    # Lee: nothing of Kim's tick anywhere, not even that there is one.
    lee_ritual = lee.get("/portal/ritual")
    assert page(lee_ritual).checked == {} and "Your recent weeks" not in page(lee_ritual).text
    for path in ("/portal", "/portal/ritual", "/portal/trends"):
        text = page(lee.get(path)).text
        assert note not in text and "you did 1" not in text, path

    # The therapist sees both partners' weeks, with the note, on the trends page.
    trends = page(therapist_client.get(f"/couples/{couple.id}/trends")).text
    assert "Connection ritual" in trends
    assert "Kim: ticked 1 of 1 week" in trends and "Lee: ticked 0 of 1 week" in trends
    assert "check-in moved · date planned · care on 5 of 7 days" in trends
    assert note in trends
    review = page(therapist_client.get(f"/couples/{couple.id}/homework/{agreed_plan}")).text
    assert "agreed by both" in review and PLAN["care_2"] in review and note not in review
    # Kim's own trends: a line of Kim's own weeks.
    mine = page(kim.get("/portal/trends")).text
    assert "you did 1 of 1 week: the repair check-in held in 1, the date kept in 0" in mine

    # Another couple of the practice, another practice: the plan is a 404, no tick is theirs.
    plan_url = f"/portal/homework/{public(agreed_plan)}"
    for practice in (practice_a, practice_b):
        stranger = portal_of(make_client, add_couple(practice), 1)
        assert stranger.get(plan_url).status_code == 404
        theirs = stranger.get("/portal/ritual")
        assert "No ritual to tick off yet" in page(theirs).text and note not in page(theirs).text
        refused = stranger.post_form("/portal/ritual", {"week": this_week, **TICK})
        assert refused.status_code == 409
    other_therapist = make_client()
    other_therapist.login(practice_b.therapist_email)
    assert other_therapist.get(f"/couples/{couple.id}/trends").status_code == 404
    assert [row.partner_id for row in ticks()] == [couple.partner_ids[0]]


def test_the_summary_prints_the_plan_for_both_and_the_weeks_for_the_therapist(
    couple,  # noqa: F811
    agreed_plan,
    reports_path,
):
    with practice_context(couple.practice_id):
        home = db.session.get(Couple, couple.id)
        kim_, lee_ = home.partners
        this_week, last_week = ritual.tick_weeks(home)
        ritual.tick(kim_, week=last_week, repair_checkin="yes", fun_date="yes", care_days=6,
                    note="Quiet and kind «week»")  # fmt: skip
        ritual.tick(lee_, week=this_week, repair_checkin="no", fun_date="planned", care_days=2)
        user = db.session.get(User, couple.therapist_ids[0])
        made = {}
        for audience in ("therapist", "couple"):
            report, _ = reports.request_summary(
                user,
                home,
                audience,
                start=last_week - timedelta(days=1),
                end=homework.couple_today(home),
            )
            made[audience] = report.id
        db.session.commit()
        texts = {}
        for audience, report_id in made.items():
            data = reports.read_file(reports.get_report(user, report_id))
            pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
            texts[audience] = re.sub(r"\s+", " ", pdf_text)

    for text in texts.values():  # the plan, agreed, printed whole (the kind's print fragment)
        assert "Connection ritual" in text
        assert "Sundays at 17:30" in text and "Make the coffee before work" in text
    therapist, couple_copy = texts["therapist"], texts["couple"]
    assert "Kim: ticked 1 of 2 weeks" in therapist and "Lee: ticked 1 of 2 weeks" in therapist
    assert "act of care on 6 days a week on average" in therapist
    assert "check-in held · date kept · care on 6 of 7 days" in therapist
    assert "no check-in · date planned · care on 2 of 7 days" in therapist
    assert "Quiet and kind «week»" in therapist
    assert "Quiet and kind" not in couple_copy and "care on 6 of 7" not in couple_copy

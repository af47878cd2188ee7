"""Scored measures through the real forms: the therapist's send form, the practice's
settings, the partner's answer form (posted without JavaScript and by autosave, read back
after a reload), privacy between the partners, the chart, and the summary PDF's two copies."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, Report, User
from practice.models.base import utcnow
from practice.models.measure import MeasureResponse
from practice.services import appointments, measures, reports
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import couple, portal_of  # noqa: F401 - a fixture
from tests.measures_helpers import csi4_form

ENABLED = 'name="csi4-enabled" value="y" checked'


def couple_today():
    return datetime.now(ZoneInfo("Europe/London")).date()


def measure_rows(couple_id: int) -> list[MeasureResponse]:
    db.session.expire_all()
    with unscoped():
        return list(
            db.session.scalars(
                select(MeasureResponse)
                .where(MeasureResponse.couple_id == couple_id)
                .order_by(MeasureResponse.due_on, MeasureResponse.partner_id)
            )
        )


def send_once(ids, when=None) -> None:
    """The therapist sends the CSI-4 once (today, or on the day of `when`)."""
    with practice_context(ids.practice_id):
        measures.send(
            db.session.get(User, ids.therapist_ids[0]),
            db.session.get(Couple, ids.id),
            instrument_key="csi4",
            starts_on=None,
            every_weeks=None,
            for_weeks=None,
            now=when,
        )
        db.session.flush()
    db.session.commit()


def test_the_therapist_sends_on_a_schedule_and_every_value_typed_is_kept(
    therapist_client,
    couple,  # noqa: F811
):
    url = f"/couples/{couple.id}/measures"
    form = page(therapist_client.get(url))
    today = couple_today()
    assert form.checked == {"instrument": "csi4", "when": "schedule"}
    assert (form.values["every_weeks"], form.values["for_weeks"]) == ("4", "26")
    assert form.values["starts_on"] == today.isoformat()
    typed = {
        "instrument": "csi4",
        "when": "schedule",
        "starts_on": (today - timedelta(days=3)).isoformat(),
        "every_weeks": "3",
        "for_weeks": "13",
    }
    refused = therapist_client.post_form(url, typed)
    assert refused.status_code == 422
    again = page(refused)
    assert again.errors["starts_on"] == "Choose today or a later day."
    assert again.checked == {"instrument": "csi4", "when": "schedule"}
    assert {k: again.values[k] for k in ("starts_on", "every_weeks", "for_weeks")} == {
        k: typed[k] for k in ("starts_on", "every_weeks", "for_weeks")
    }
    assert measure_rows(couple.id) == []
    typed["starts_on"] = today.isoformat()
    assert therapist_client.post_form(url, typed).status_code == 302
    rows = measure_rows(couple.id)
    assert sorted({r.due_on for r in rows}) == [
        today + timedelta(weeks=w) for w in (0, 3, 6, 9, 12)
    ]
    assert {r.partner_id for r in rows} == set(couple.partner_ids) and len(rows) == 10
    shown = page(therapist_client.get(url)).text  # reloaded: the schedule as typed
    end = today + timedelta(weeks=12)
    assert f"every 3 weeks, {today:%-d %b %Y} to {end:%-d %b %Y}" in shown
    assert shown.count("Not due yet") == 8 and shown.count("Not answered") == 2
    assert "Source: Funk JL, Rogge RD" not in shown  # no chart before a score
    (schedule_id,) = {r.schedule_id for r in rows}
    stop = therapist_client.post_form(f"{url}/schedules/{schedule_id}/stop")
    assert stop.status_code == 302 and len(measure_rows(couple.id)) == 2


def test_the_practice_chooses_its_measures_and_their_default_schedule(
    owner_client,
    therapist_client,
    couple,  # noqa: F811
):
    url = "/settings/measures"
    assert therapist_client.get(url).status_code == 404  # the owner's alone
    opened = owner_client.get(url)
    assert ENABLED in opened.get_data(as_text=True)  # on by default: free for clinical use
    form = page(opened)
    assert (form.values["csi4-every_weeks"], form.values["csi4-for_weeks"]) == ("4", "26")
    typed = {"csi4-enabled": "y", "csi4-every_weeks": "2", "csi4-for_weeks": "many"}
    refused = owner_client.post_form(url, typed)
    assert refused.status_code == 422
    again = page(refused)
    assert again.errors["csi4-for_weeks"] == "Enter a whole number of weeks."
    assert again.values["csi4-for_weeks"] == "many" and again.values["csi4-every_weeks"] == "2"
    typed["csi4-for_weeks"] = "12"
    assert owner_client.post_form(url, typed).status_code == 302
    reloaded = owner_client.get(url)
    assert ENABLED in reloaded.get_data(as_text=True)
    saved = page(reloaded)
    assert (saved.values["csi4-every_weeks"], saved.values["csi4-for_weeks"]) == ("2", "12")
    send = page(therapist_client.get(f"/couples/{couple.id}/measures"))
    assert (send.values["every_weeks"], send.values["for_weeks"]) == ("2", "12")
    # Turned off: no therapist can send it.
    assert (
        owner_client.post_form(url, {"csi4-every_weeks": "2", "csi4-for_weeks": "12"}).status_code
        == 302
    )
    assert ENABLED not in owner_client.get(url).get_data(as_text=True)
    off = therapist_client.get(f"/couples/{couple.id}/measures").get_data(as_text=True)
    assert "No questionnaire is enabled" in off
    forced = therapist_client.post_form(
        f"/couples/{couple.id}/measures", {"instrument": "csi4", "when": "now"}
    )
    assert forced.status_code == 422 and measure_rows(couple.id) == []


def test_a_partner_answers_privately_without_script_and_by_autosave(
    make_client,
    therapist_client,
    couple,  # noqa: F811
):
    send_once(couple)
    kim, lee = portal_of(make_client, couple, 1), portal_of(make_client, couple, 2)
    listing = kim.get("/portal/measures").get_data(as_text=True)
    (key,) = re.findall(r'href="/portal/measures/([\w-]+)"', listing)
    url = f"/portal/measures/{key}"
    form = page(kim.get(url))
    assert form.checked == {}
    csrf = kim.csrf_token()
    first = {"item-happiness": "4", "item-warm": "3", "item-rewarding": "prefer_not"}
    saved = kim.post_form(url, {**first, "version": "0", "action": "save"})
    assert saved.status_code == 302
    assert page(kim.get(url)).checked == first  # reloaded: every answer there
    autosave = {**first, "item-warm": "5", "item-satisfied": "2", "version": "1"}
    answer = kim.post(f"{url}/autosave", data={**autosave, "csrf_token": csrf})
    assert answer.status_code == 200
    sent = {k: v for k, v in autosave.items() if k.startswith("item-")}
    assert answer.json["stored"] == sent and answer.json["version"] == 2
    assert page(kim.get(url)).checked == sent
    stale = kim.post(f"{url}/autosave", data={**autosave, "csrf_token": csrf})
    assert stale.status_code == 409 and stale.json["conflict"]  # an old version: no overwrite
    # The other partner: not theirs to see or write, and not a word of it on their pages.
    assert lee.get(url).status_code == 404
    assert (
        lee.post(f"{url}/autosave", data={**autosave, "csrf_token": lee.csrf_token()}).status_code
        == 404
    )
    handed = kim.post_form(url, {**sent, "item-rewarding": "4", "version": "2", "action": "submit"})
    assert handed.status_code == 302 and handed.headers["Location"] == "/portal/measures"
    own = kim.get(url).get_data(as_text=True)
    assert "Your score: 15" in own and "Handed in" in own
    assert "Score 15" in kim.get("/portal/measures").get_data(as_text=True)
    theirs = lee.get("/portal/measures").get_data(as_text=True)
    assert (
        "Score 15" not in theirs
        and "Ready to answer" in theirs
        and "Kim" not in theirs.split("Ready to answer")[1]
    )
    assert kim.post_form(url, {**sent, "version": "3", "action": "save"}).status_code == 409
    # The therapist reads the score, on the chart and in the table.
    therapist = therapist_client.get(f"/couples/{couple.id}/measures").get_data(as_text=True)
    assert 'class="chart__cutoff"' in therapist and ">Kim, " in therapist
    assert "Source: Funk JL, Rogge RD" in therapist


def _pdf_text(path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_the_summary_has_the_chart_in_the_therapist_copy_only(practice_a, couple, reports_path):  # noqa: F811
    zone = ZoneInfo("Europe/London")
    first = couple_today() - timedelta(weeks=4)
    with practice_context(practice_a.practice_id):
        therapist = db.session.get(User, practice_a.therapist_id)
        home = db.session.get(Couple, couple.id)
        for weeks, totals in ((0, (2, 2, 2, 2)), (4, (3, 4, 4, 4))):
            day = first + timedelta(weeks=weeks)
            moment = min(datetime.combine(day, time(9), tzinfo=zone), utcnow())
            schedule = measures.send(
                therapist,
                home,
                instrument_key="csi4",
                starts_on=None,
                every_weeks=None,
                for_weeks=None,
                now=moment,
            )
            db.session.flush()
            for partner in home.partners:
                (row,) = [
                    r
                    for r in measures.couple_measures(home)
                    if r.schedule_id == schedule.id and r.partner_id == partner.id
                ]
                measures.submit(partner, row, form=csi4_form(*totals), base_version=0, now=moment)
        appointments.record(
            therapist,
            home,
            appointments.AppointmentDetails(day=first + timedelta(days=10), start=time(10)),
        )
        end = couple_today()
        made = [
            reports.request_summary(
                therapist, home, audience, start=end - timedelta(days=13), end=end
            )[0].id
            for audience in ("therapist", "couple")
        ]
    db.session.commit()  # the jobs run inline
    with unscoped():
        therapist_copy, couple_copy = (db.session.get(Report, i) for i in made)
        texts = [_pdf_text(reports_path / r.file_name) for r in (therapist_copy, couple_copy)]
    assert "Questionnaires" in texts[0] and "Funk JL" in texts[0]
    assert "Cut-off 13.5" in texts[0] and "Kim" in texts[0]
    assert "Questionnaires" not in texts[1] and "Funk JL" not in texts[1] and "13.5" not in texts[1]

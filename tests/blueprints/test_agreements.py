"""Agreements through HTTP: the therapist writes and merges them, each partner accepts or asks
to talk (with a note only the therapist reads), and the dashboard shows review dates.

Every form is posted as a browser posts it (no JavaScript), and read back from the page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from practice.extensions import db
from practice.models import Notice
from practice.models.base import utcnow
from practice.models.homework import Agreement, AgreementAcceptance, HomeworkResponse
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_couples import add_couple, location
from tests.blueprints.test_homework import assign, count, couple_today, portal_of
from tests.blueprints.test_homework import couple as couple  # noqa: F401 - the fixture
from tests.couple_factories import CoupleIds, public_agreement

NOTE = "I said yes in the room, but I felt rushed & I'm not sure I can keep it <yet>."
AGREEMENT = {
    "domain": "social_media",
    "text": "We each share our location during the late shift for the next month.\n"
    "Either of us can switch it off after 11 pm — “no questions asked”.",
    "time_frame": "For the next month, then we look again",
}


def agreements_page(client, couple: CoupleIds, query: str = ""):
    response = client.get(f"/couples/{couple.id}/agreements{query}")
    assert response.status_code == 200
    return response


def the_agreement_id() -> int:
    with unscoped():
        (agreement_id,) = db.session.scalars(select(Agreement.id).order_by(Agreement.id)).all()
    return agreement_id


def add_agreement(client, couple: CoupleIds, **fields) -> int:
    data = {"domain": "privacy", "text": "Share locations on nights out.", "time_frame": ""}
    data.update(fields)
    response = client.post_form(f"/couples/{couple.id}/agreements", data)
    assert response.status_code == 302, page(response).text[:400]
    with unscoped():
        return db.session.scalars(select(Agreement.id).order_by(Agreement.id.desc())).first()


def submitted_worksheets(client, couple: CoupleIds, proposals: dict[int, list[dict]]):
    """Both partners' boundary worksheets, handed in with these proposals (by position)."""
    ids = assign(client, couple, "boundaries", mode="each")
    with unscoped():
        rows = {
            r.partner_id: r
            for r in db.session.scalars(
                select(HomeworkResponse).where(HomeworkResponse.id.in_(ids))
            )
        }
        for position, items in proposals.items():
            row = rows[couple.partner_ids[position - 1]]
            db.session.execute(
                update(HomeworkResponse)
                .where(HomeworkResponse.id == row.id)
                .values(
                    content={"proposals": items},
                    status="submitted",
                    submitted_at=utcnow(),
                    version=1,
                )
            )
        db.session.commit()
        return {position: rows[couple.partner_ids[position - 1]].id for position in proposals}


def notices() -> list[tuple[str, int | None, int | None, str]]:
    with unscoped():
        return [
            (n.kind, n.recipient_user_id, n.recipient_partner_id, n.link)
            for n in db.session.scalars(select(Notice).order_by(Notice.id))
        ]


# --- the therapist's form ------------------------------------------------------------------------


def test_every_word_of_an_agreement_comes_back_on_the_page(therapist_client, couple):
    review = couple_today() + timedelta(days=30)
    added = therapist_client.post_form(
        f"/couples/{couple.id}/agreements", dict(AGREEMENT, review_date=review.isoformat())
    )
    assert added.status_code == 302
    assert location(added) == f"/couples/{couple.id}/agreements"

    shown = agreements_page(therapist_client, couple).get_data(as_text=True)
    text = page(agreements_page(therapist_client, couple)).text
    assert "Agreement added. Each partner can accept it or ask to talk about it" in shown
    for line in AGREEMENT["text"].splitlines():
        assert " ".join(line.split()) in text
    assert AGREEMENT["time_frame"] in text
    assert review.strftime("%-d %b %Y") in text
    assert "Social media:" in text
    assert "Kim: not answered yet" in text and "Lee: not answered yet" in text
    with unscoped():
        stored = db.session.get(Agreement, the_agreement_id())
        assert (stored.domain, stored.text, stored.time_frame, stored.review_date) == (
            "social_media",
            AGREEMENT["text"],
            AGREEMENT["time_frame"],
            review,
        )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"text": "   "}, "text", "Write the agreement."),
        ({"time_frame": "t" * 201}, "time_frame", "Keep the time frame under 200 characters."),
        ({"text": "x" * 1001}, "text", "Keep the agreement under 1,000 characters."),
        ({"review_date": "next Tuesday"}, "review_date", "Not a valid date value."),
        ({"domain": "astrology"}, "domain", ""),
    ],
)
def test_a_refused_agreement_keeps_everything_typed(
    therapist_client, couple, fields, field, message
):
    typed = dict(AGREEMENT, review_date=(couple_today() + timedelta(days=7)).isoformat())
    typed.update(fields)
    refused = therapist_client.post_form(f"/couples/{couple.id}/agreements", typed)
    assert refused.status_code == 422
    form = page(refused)
    assert message in form.errors[field]
    assert form.values["text"] == typed["text"].replace("\r\n", "\n")
    assert form.values["time_frame"] == typed["time_frame"]
    assert form.values["review_date"] == typed["review_date"]
    if field != "domain":
        assert form.selected["domain"] == typed["domain"]
    assert count(Agreement) == 0


def test_the_coach_reads_the_therapist_s_agreement_without_stopping_it(therapist_client, couple):
    added = therapist_client.post_form(
        f"/couples/{couple.id}/agreements",
        {"domain": "privacy", "text": "I check your phone whenever I want", "time_frame": ""},
    )
    assert added.status_code == 302
    text = page(agreements_page(therapist_client, couple)).text
    assert "The worksheet coach has 3 notes on it, shown under it below." in text
    assert "Here one of you would look into the other’s phone" in text
    assert "Open-ended checking" in text
    assert count(Agreement) == 1


# --- merging proposals ----------------------------------------------------------------------------


PROPOSALS = {
    1: [
        {
            "domain": "privacy",
            "agreement": "I check your phone whenever I want",
            "time_frame": "",
            "review_date": "",
        },
        {
            "domain": "communication",
            "agreement": "Text when running more than 15 minutes late",
            "time_frame": "Three months",
            "review_date": "2031-09-01",
        },
    ],
    2: [
        {
            "domain": "communication",
            "agreement": "Call at lunch each weekday",
            "time_frame": "",
            "review_date": "2031-08-01",
        }
    ],
}


def test_use_fills_the_form_and_the_proposal_shows_as_used(therapist_client, couple):
    sheets = submitted_worksheets(therapist_client, couple, PROPOSALS)
    before = agreements_page(therapist_client, couple)
    html = before.get_data(as_text=True)
    # the coach's notes beside the proposal that has any
    assert "Here one of you would look into the other’s phone" in html
    assert "used in an agreement" not in html
    late, lunch = f"{sheets[1]}:1", f"{sheets[2]}:0"
    assert f"?use={late}" in html and f"?use={lunch}" in html

    # "Use" is a plain link: the form comes filled in, and says where it came from
    used = page(agreements_page(therapist_client, couple, f"?use={late}"))
    assert used.selected["domain"] == "communication"
    assert used.values["text"] == "Text when running more than 15 minutes late"
    assert used.values["time_frame"] == "Three months"
    assert used.values["review_date"] == "2031-09-01"
    assert used.values["merged_from"] == late
    merge_html = agreements_page(therapist_client, couple, f"?use={late}").get_data(as_text=True)
    assert f"use={late}&amp;use={lunch}" in merge_html  # merge a second one in

    both = page(agreements_page(therapist_client, couple, f"?use={late}&use={lunch}"))
    assert both.values["text"] == (
        "Text when running more than 15 minutes late\n\nCall at lunch each weekday"
    )
    assert both.values["review_date"] == "2031-08-01"  # the earlier one
    assert both.values["merged_from"] == f"{late},{lunch}"

    # the therapist edits the merged text and posts the form as the browser has it
    data = {
        "domain": both.selected["domain"],
        "text": "Text or call when running more than 15 minutes late, and at lunch each weekday.",
        "time_frame": both.values["time_frame"],
        "review_date": both.values["review_date"],
        "merged_from": both.values["merged_from"],
    }
    assert therapist_client.post_form(f"/couples/{couple.id}/agreements", data).status_code == 302
    with unscoped():
        assert db.session.get(Agreement, the_agreement_id()).merged_from == [
            [sheets[1], 1],
            [sheets[2], 0],
        ]
    after = agreements_page(therapist_client, couple).get_data(as_text=True)
    assert after.count("used in an agreement") == 2
    assert "from 2 proposals" in after
    assert data["text"] in after


def test_a_proposal_that_is_not_this_couple_s_is_refused_and_the_text_kept(
    therapist_client, couple, practice_a
):
    other = add_couple(practice_a, label="Other & Couple")
    other_sheets = submitted_worksheets(therapist_client, other, {1: PROPOSALS[2]})
    data = dict(AGREEMENT, review_date="", merged_from=f"{other_sheets[1]}:0")
    refused = therapist_client.post_form(f"/couples/{couple.id}/agreements", data)
    assert refused.status_code == 422
    form = page(refused)
    assert "no longer available" in form.errors["merged_from"]
    assert form.values["text"] == AGREEMENT["text"]
    assert count(Agreement) == 0
    # a "Use" link naming another couple's proposal fills in nothing
    filled = page(agreements_page(therapist_client, couple, f"?use={other_sheets[1]}:0"))
    assert filled.values["text"] == "" and filled.values["merged_from"] == ""


# --- the partner's answer ----------------------------------------------------------------------


def test_both_answers_are_offered_side_by_side_without_javascript(
    therapist_client, couple, make_client
):
    agreement_id = add_agreement(therapist_client, couple)
    key = public_agreement(agreement_id)
    html = portal_of(make_client, couple, 1).get("/portal").get_data(as_text=True)
    accept = re.search(rf'<button[^>]*formaction="/portal/agreements/{key}/accept"[^>]*>', html)
    assert accept and 'class="button button--secondary"' in accept[0]
    assert f'action="/portal/agreements/{key}/discuss"' in html
    assert re.search(
        r'<button type="submit" class="button button--secondary">I’d like to talk', html
    )
    assert "Only your therapist reads this." in html


def test_a_note_to_the_therapist_reaches_the_therapist_and_never_the_other_partner(
    therapist_client, couple, make_client
):
    agreement_id = add_agreement(therapist_client, couple)
    key = public_agreement(agreement_id)
    kim, lee = portal_of(make_client, couple, 1), portal_of(make_client, couple, 2)

    asked = kim.post_form(f"/portal/agreements/{key}/discuss", {"note": NOTE})
    assert asked.status_code == 302
    assert location(asked) == "/portal#agreements"

    kim_home = page(kim.get("/portal")).text
    assert "You asked to talk about this" in kim_home
    assert NOTE in kim_home  # their own note, to read back
    assert "Change your note for your therapist" in kim_home and "Save my note" in kim_home
    assert "Your therapist will see that you would like to talk about this." in kim_home

    lee_home = lee.get("/portal").get_data(as_text=True)
    assert "I felt rushed" not in lee_home and "not sure I can keep" not in lee_home
    assert "Kim: not yet" in page(lee.get("/portal")).text
    assert "wants to talk" not in page(lee.get("/portal")).text

    for url in (f"/couples/{couple.id}/agreements", f"/couples/{couple.id}"):
        therapist = page(therapist_client.get(url)).text
        assert NOTE in therapist, url
        assert "Kim: wants to talk" in therapist
        assert "Lee: not answered yet" in therapist

    (therapist_id,) = couple.therapist_ids
    assert notices() == [
        ("agreement.discuss", therapist_id, None, f"/couples/{couple.id}/agreements")
    ]


def test_an_accepted_agreement_is_read_only_and_taking_it_back_is_explicit(
    therapist_client, couple, make_client
):
    agreement_id = add_agreement(therapist_client, couple)
    key = public_agreement(agreement_id)
    kim, lee = portal_of(make_client, couple, 1), portal_of(make_client, couple, 2)
    assert kim.post_form(f"/portal/agreements/{key}/accept").status_code == 302
    assert lee.post_form(f"/portal/agreements/{key}/accept").status_code == 302

    home = kim.get("/portal").get_data(as_text=True)
    assert "You accepted on " in page(kim.get("/portal")).text
    assert "Lee: accepted" in page(kim.get("/portal")).text
    assert f"/portal/agreements/{key}/accept" not in home  # no answer buttons any more
    assert f'href="/portal/agreements/{key}/talk-again"' in home
    assert notices() == []

    confirm = kim.get(f"/portal/agreements/{key}/talk-again")
    assert confirm.status_code == 200
    assert (
        "Your acceptance is withdrawn until you have talked it through with your therapist."
        in page(confirm).text
    )
    assert count(AgreementAcceptance) == 2  # looking at the page changes nothing

    taken_back = kim.post_form(f"/portal/agreements/{key}/discuss", {"note": NOTE})
    assert taken_back.status_code == 302
    kim_home = page(kim.get("/portal")).text
    assert "Your acceptance is withdrawn until you have talked it through" in kim_home
    assert "You asked to talk about this" in kim_home

    (therapist_id,) = couple.therapist_ids
    kim_id, lee_id = couple.partner_ids
    assert notices() == [
        ("agreement.change_proposed", therapist_id, None, f"/couples/{couple.id}/agreements"),
        ("agreement.change_proposed", None, lee_id, "/portal#agreements"),
    ]
    lee_home = lee.get("/portal").get_data(as_text=True)
    assert "I felt rushed" not in lee_home
    assert "Kim: not yet" in page(lee.get("/portal")).text
    assert "Kim: wants to talk" in page(therapist_client.get(f"/couples/{couple.id}")).text


def test_an_over_long_note_is_refused_with_everything_typed_kept(
    therapist_client, couple, make_client
):
    agreement_id = add_agreement(therapist_client, couple)
    key = public_agreement(agreement_id)
    kim = portal_of(make_client, couple, 1)
    long_note = NOTE + " " + "and more " * 250
    refused = kim.post_form(f"/portal/agreements/{key}/discuss", {"note": long_note})
    assert refused.status_code == 422
    form = page(refused)
    assert form.errors["note"] == "Keep the note under 2,000 characters."
    assert form.values["note"] == long_note
    assert count(AgreementAcceptance) == 0
    assert notices() == []


def test_answering_needs_a_csrf_token(therapist_client, couple, make_client):
    key = public_agreement(add_agreement(therapist_client, couple))
    kim = portal_of(make_client, couple, 1)
    for action in ("accept", "discuss"):
        assert kim.post(f"/portal/agreements/{key}/{action}", data={"note": "x"}).status_code == 400
    assert count(AgreementAcceptance) == 0


def test_another_couple_s_partner_gets_404_on_every_agreement_route(
    therapist_client, couple, make_client, practice_a
):
    key = public_agreement(add_agreement(therapist_client, couple))
    stranger = portal_of(make_client, add_couple(practice_a, label="Strangers"), 1)
    assert stranger.get(f"/portal/agreements/{key}/talk-again").status_code == 404
    for action in ("accept", "discuss"):
        answer = stranger.post_form(f"/portal/agreements/{key}/{action}", {"note": NOTE})
        assert answer.status_code == 404
    assert count(AgreementAcceptance) == 0
    assert notices() == []


def test_a_retired_agreement_is_no_longer_answered(therapist_client, couple, make_client):
    agreement_id = add_agreement(therapist_client, couple)
    key = public_agreement(agreement_id)
    retire = therapist_client.post_form(f"/couples/{couple.id}/agreements/{agreement_id}/retire")
    assert retire.status_code == 302
    kim = portal_of(make_client, couple, 1)
    assert kim.post_form(f"/portal/agreements/{key}/discuss", {"note": NOTE}).status_code == 404
    assert key not in kim.get("/portal").get_data(as_text=True)


# --- review dates on the dashboard ---------------------------------------------------------------


def test_the_dashboard_shows_agreements_whose_review_date_has_come(therapist_client, couple):
    def today_card() -> str:
        text = page(therapist_client.get("/dashboard")).text
        return text.split("Needs you today", 1)[1].split("Your caseload", 1)[0]

    assert "agreement" not in today_card()
    add_agreement(
        therapist_client, couple, review_date=couple_today().isoformat(), domain="communication"
    )
    add_agreement(
        therapist_client, couple, review_date=(couple_today() + timedelta(days=3)).isoformat()
    )
    card = today_card()
    assert "Kim & Lee" in card
    assert "1 agreement to review" in card  # the one due today, not the one in three days
    html = therapist_client.get("/dashboard").get_data(as_text=True)
    assert f'href="/couples/{couple.id}/agreements"' in html

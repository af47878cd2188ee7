"""The truth conversation's preparation, through the real pages: assigned to each partner with
a part for their repair role, each part held from the other partner until both are handed in
and the therapist releases them (the audience "sealed until released"), then read by both,
and printed in the summary only where its audience allows.

Kim was hurt (position 1); Lee broke trust (position 2): the factory's default roles.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from practice.extensions import db
from practice.models import Partner
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_homework import (
    assign,
    audit_actions,
    couple,  # noqa: F401 - a fixture
    couple_today,
    portal_of,
    response_row,
)
from tests.couple_factories import public

KIM = {
    "content-part": "hurt",
    "content-questions": "When did the messages start?\nDid you meet in person?\n"
    "Who else knows about «this» — anyone at work?",
    "content-to_feel_safe": "In a session, with a pause word: 'harbour'. I leave first.",
}
LEE = {
    "content-part": "broke_trust",
    "content-what_happened": "From March to August I messaged Jo every night and met twice "
    "for coffee while telling you I was at the gym.",
    "content-why": "I liked being admired and I told myself it was harmless because I was "
    "drunk the first time.",
    "content-prevention": "I blocked Jo the day you found out. I will show you my phone every "
    "Sunday evening for the next three months.",
}


def edit_page(client, public_id: str):
    response = client.get(f"/portal/homework/{public_id}")
    assert response.status_code == 200
    return response


def save(client, public_id: str, fields: dict, action: str = "save"):
    version = page(edit_page(client, public_id)).values["version"]
    return client.post_form(
        f"/portal/homework/{public_id}", {**fields, "version": version, "action": action}
    )


@pytest.fixture
def held(therapist_client, make_client, couple):  # noqa: F811 - the fixture above
    """The preparation assigned through the form, and each partner's browser."""
    kim_id, lee_id = assign(therapist_client, couple, "truth_conversation")
    kim, lee = portal_of(make_client, couple, 1), portal_of(make_client, couple, 2)
    return couple, (kim_id, kim), (lee_id, lee)


def test_each_partner_writes_their_own_part_and_every_word_comes_back(held):
    ids, (kim_id, kim), (lee_id, lee) = held
    assert {response_row(kim_id).partner_id, response_row(lee_id).partner_id} == set(
        ids.partner_ids
    )
    assert response_row(kim_id).audience == "sealed_until_released"

    kim_page = page(edit_page(kim, public(kim_id))).text
    assert "The questions I need answered" in kim_page and "What happened" not in kim_page
    assert "Understand first, solve later" in kim_page  # the ground rules, for both
    lee_page = page(edit_page(lee, public(lee_id))).text
    assert "Why it happened" in lee_page and "The questions I need answered" not in lee_page
    assert "Understand first, solve later" in lee_page

    # The no-JS post, then a reload: every word is there.
    assert save(kim, public(kim_id), KIM).status_code == 302
    reloaded = page(edit_page(kim, public(kim_id)))
    assert all(reloaded.values.get(key) == value for key, value in KIM.items())
    assert response_row(kim_id).content == {
        "part": "hurt",
        "questions": KIM["content-questions"],
        "to_feel_safe": KIM["content-to_feel_safe"],
    }

    # The autosave post answers with what it stored, field by field.
    version = page(edit_page(lee, public(lee_id))).values["version"]
    answer = lee.post_form(
        f"/portal/homework/{public(lee_id)}/autosave", {**LEE, "version": version}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["stored"] == LEE
    reloaded = page(edit_page(lee, public(lee_id)))
    assert all(reloaded.values.get(key) == value for key, value in LEE.items())

    # The coach reads the "why" with the apology's rules: a reason that excuses is named.
    coached = page(edit_page(lee, public(lee_id))).text
    assert "a reason that makes the choice less yours" in coached


def test_a_field_of_the_other_part_is_refused_by_name_and_nothing_is_lost(held):
    _, (kim_id, kim), _ = held
    # A post that claims the other part: the stored part decides, and the page says why.
    forged = {**LEE, "content-part": "broke_trust"}
    refused = save(kim, public(kim_id), forged)
    assert refused.status_code == 422
    shown = page(refused).text
    assert "Unknown field" in shown
    assert LEE["content-what_happened"] in shown  # shown back, not dropped
    assert response_row(kim_id).content["part"] == "hurt"
    assert response_row(kim_id).version == 0


def test_neither_partner_sees_the_other_part_until_both_are_in_and_released(held, therapist_client):
    ids, (kim_id, kim), (lee_id, lee) = held
    review = f"/couples/{ids.id}/homework/{lee_id}"

    assert save(kim, public(kim_id), KIM, action="submit").status_code == 302
    assert lee.get(f"/portal/homework/{public(kim_id)}").status_code == 404
    assert KIM["content-to_feel_safe"] not in lee.get("/portal").get_data(as_text=True)
    # Only one part in: no release offered, and a forced release changes nothing.
    assert "Release both parts" not in page(therapist_client.get(review)).text
    therapist_client.post_form(f"{review}/release")
    assert response_row(kim_id).released_at is None

    assert save(lee, public(lee_id), LEE, action="submit").status_code == 302
    # Both in, not released: still held from each other; the therapist acts next.
    assert lee.get(f"/portal/homework/{public(kim_id)}").status_code == 404
    assert kim.get(f"/portal/homework/{public(lee_id)}").status_code == 404
    assert "your therapist will open them with you" in page(kim.get("/portal")).text
    shown = page(therapist_client.get(review)).text
    assert "Release both parts" in shown and "Both parts are in" in shown
    assert "Return for revision" in shown

    ready = "Something is ready for you to read"
    assert ready not in page(kim.get("/portal")).text
    released = therapist_client.post_form(f"{review}/release")
    assert released.status_code == 302
    assert response_row(kim_id).released_at is not None
    assert response_row(lee_id).released_at is not None
    assert audit_actions().count("homework.released") == 2

    # Each partner is told, without a word of what: the notice links to the other's part.
    kim_home, lee_home = kim.get("/portal"), lee.get("/portal")
    assert ready in page(kim_home).text and ready in page(lee_home).text
    [notice] = re.findall(r'href="(/portal/notices/[^"]+)"', kim_home.get_data(as_text=True))
    assert kim.get(notice).headers["Location"].endswith(f"/portal/homework/{public(lee_id)}")
    read_by_kim = page(kim.get(f"/portal/homework/{public(lee_id)}")).text
    assert LEE["content-why"] in read_by_kim and "Understand first, solve later" in read_by_kim
    read_by_lee = lee.get(f"/portal/homework/{public(kim_id)}").get_data(as_text=True)
    assert "Did you meet in person?" in read_by_lee
    assert "Lee's part, opened with your therapist" in page(kim.get("/portal")).text

    # What both have read stays as they read it: no return after the release.
    after = page(therapist_client.get(review)).text
    assert "Return for revision" not in after and "Release both parts" not in after
    refused = therapist_client.post_form(f"{review}/return", {"comment": "One more detail."})
    assert refused.status_code == 422
    assert "One more detail." in page(refused).text  # the note is kept on the page
    assert response_row(lee_id).status == "submitted"


def test_a_couple_without_a_hurt_and_a_broke_trust_partner_is_told_what_to_set(
    therapist_client,
    couple,  # noqa: F811 - the fixture
):
    with unscoped():
        db.session.execute(
            update(Partner).where(Partner.couple_id == couple.id).values(repair_role="mutual")
        )
    db.session.commit()
    refused = therapist_client.post_form(
        f"/couples/{couple.id}/homework/new?kind=truth_conversation",
        {
            "kind": "truth_conversation",
            "mode": "each",
            "instructions": "Bring it to Tuesday's session.",
            "due_date": "",
        },
    )
    assert refused.status_code == 422
    shown = page(refused)
    assert "Set each partner's role" in shown.text
    assert shown.values.get("instructions") == "Bring it to Tuesday's session." or (
        "Bring it to Tuesday's session." in shown.text
    )


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def _summary(client, couple_id: int, audience: str) -> str:
    today = couple_today()
    period = {"start": (today - timedelta(days=27)).isoformat(), "end": today.isoformat()}
    response = client.post_form(
        f"/reports/couples/{couple_id}/prepare", {"audience": audience, **period}
    )
    assert response.status_code == 302, page(response).text
    report_id = int(re.fullmatch(r"/reports/(\d+)", response.headers["Location"]).group(1))
    kind = "preview" if audience == "couple" else "download"
    return re.sub(r"\s+", " ", _pdf_text(client.get(f"/reports/{report_id}/{kind}").data))


def test_the_summary_prints_both_parts_for_the_therapist_and_for_the_couple_once_released(
    held, therapist_client
):
    ids, (kim_id, kim), (lee_id, lee) = held
    save(kim, public(kim_id), KIM, action="submit")
    save(lee, public(lee_id), LEE, action="submit")
    phrase = "met twice for coffee"

    therapist_copy = _summary(therapist_client, ids.id, "therapist")
    assert phrase in therapist_copy and "Did you meet in person?" in therapist_copy
    assert phrase not in _summary(therapist_client, ids.id, "couple")

    therapist_client.post_form(f"/couples/{ids.id}/homework/{kim_id}/release")
    couple_copy = _summary(therapist_client, ids.id, "couple")
    assert phrase in couple_copy and "Did you meet in person?" in couple_copy

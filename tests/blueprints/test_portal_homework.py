"""Homework through HTTP, the partner's side: write, autosave, submit, confirm, sign, subscribe.

Nothing typed is lost (a conflict or a failed submit gives the text back); a partner never
sees the other partner's private work, nor a hint of it; every POST needs its CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select, update

from practice.extensions import db
from practice.models import Couple, Partner, Practice, User
from practice.models.homework import (
    ContractSignature,
    ContractVersion,
    HomeworkResponse,
    JointConfirmation,
    ResponseTransition,
)
from practice.services import homework as homework_service
from practice.services import joint
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import page, without_form_tokens
from tests.blueprints.test_couples import location
from tests.blueprints.test_homework import (
    APOLOGY,
    assign,
    audit_actions,
    count,
    couple,  # noqa: F401 - a fixture
    couple_today,
    portal_of,
    response_row,
)
from tests.couple_factories import public, public_agreement  # noqa: I001

SCRIPT = '<script>alert("x")</script>'


def apology_form(version: int, content: dict, action: str = "save") -> dict:
    data = {f"content-{key}": value for key, value in content.items()}
    return {**data, "version": str(version), "action": action}


def contract_form(version: int, support: str, **extra) -> dict:
    data = {f"commitments_{p}-{i}": f"Commitment {p}.{i}" for p in (1, 2) for i in range(3)}
    data.update(
        {
            "content-support": support,
            "content-breaks": "Lying about contact with Jo.",
            "content-revisit_date": (couple_today() + timedelta(days=30)).isoformat(),
            "version": str(version),
            "action": "save",
        }
    )
    data.update(extra)
    return data


def window_form(version: int) -> dict:
    return {
        "slots-0-weekday": "1",
        "slots-0-start": "19:30",
        "slots-0-minutes": "45",
        "content-code_word": "lighthouse",
        "version": str(version),
        "action": "save",
    }


def assign_jointly(ids, kind_key: str) -> int:
    """Assign a joint kind through the service (the therapist's pages are tested elsewhere)."""
    with practice_context(ids.practice_id):
        assignment = homework_service.assign(
            db.session.get(User, ids.therapist_ids[0]),
            db.session.get(Couple, ids.id),
            kind_key=kind_key,
            mode="joint",
            instructions="",
            due_date=None,
        )
        db.session.commit()
        return assignment.responses[0].id


@pytest.fixture
def apology(therapist_client, couple) -> int:  # noqa: F811
    (response_id,) = assign(therapist_client, couple, "apology")  # to Lee, who broke trust
    return response_id


@pytest.fixture
def kim(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 1)


@pytest.fixture
def lee(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 2)


# --- writing an apology without JavaScript --------------------------------------------------------


def test_a_partner_writes_and_submits_an_apology_without_javascript(lee, apology):
    home = lee.get("/portal").get_data(as_text=True)
    assert f"/portal/homework/{public(apology)}" in home

    shown = page(lee.get(f"/portal/homework/{public(apology)}"))
    assert shown.values["version"] == "0"
    assert shown.values["content-what_i_did"] == ""

    saved = lee.post_form(f"/portal/homework/{public(apology)}", apology_form(0, APOLOGY))
    assert saved.status_code == 302
    assert location(saved) == f"/portal/homework/{public(apology)}"
    row = response_row(apology)
    assert (row.status, row.version, row.content) == ("draft", 1, APOLOGY)
    again = page(lee.get(f"/portal/homework/{public(apology)}"))
    assert again.values["content-amends"] == APOLOGY["amends"]
    assert again.values["version"] == "1"

    submitted = lee.post_form(
        f"/portal/homework/{public(apology)}", apology_form(1, APOLOGY, "submit")
    )
    assert submitted.status_code == 302
    assert location(submitted) == "/portal"
    row = response_row(apology)
    assert row.status == "submitted" and row.submitted_at is not None
    assert "homework.submitted" in audit_actions()
    # Submitted work is read-only for its author now.
    after = lee.get(f"/portal/homework/{public(apology)}").get_data(as_text=True)
    assert "I lied to you for months" in after
    assert f'action="/portal/homework/{public(apology)}"' not in after


def test_times_read_where_the_reader_lives(lee, apology, therapist_client, couple):  # noqa: F811
    lee.post_form(f"/portal/homework/{public(apology)}", apology_form(0, APOLOGY))
    moment = datetime(2026, 1, 15, 14, 5, tzinfo=UTC)
    with unscoped():  # Lee lives in Tokyo; the practice keeps Auckland's time (summer there)
        db.session.execute(
            update(Partner)
            .where(Partner.id == couple.partner_ids[1])
            .values(time_zone="Asia/Tokyo")
        )
        db.session.execute(
            update(Practice)
            .where(Practice.id == couple.practice_id)
            .values(time_zone="Pacific/Auckland")
        )
        db.session.execute(update(HomeworkResponse).values(last_saved_at=moment))
        db.session.execute(update(ResponseTransition).values(at=moment))
    db.session.commit()

    partner_page = lee.get(f"/portal/homework/{public(apology)}").get_data(as_text=True)
    assert "Saved 15 Jan, 23:05 JST" in partner_page
    review = therapist_client.get(f"/couples/{couple.id}/homework/{apology}")
    assert "16 Jan 2026, 03:05 NZDT" in review.get_data(as_text=True)  # the next day there
    assert "UTC" not in review.get_data(as_text=True)


def test_a_failed_submit_keeps_the_text_and_says_why(lee, apology):
    partial = {"what_i_did": "I lied to you about Jo, again and again, for months."}
    response = lee.post_form(
        f"/portal/homework/{public(apology)}", apology_form(0, partial, "submit")
    )

    assert response.status_code == 422
    shown = page(response)
    assert shown.values["content-what_i_did"] == partial["what_i_did"]
    assert shown.errors.get("content-how_it_hurt")
    assert shown.errors.get("content-amends")
    assert "content-what_i_did" not in shown.errors
    row = response_row(apology)
    assert row.status == "draft"  # the draft is kept, the hand-in waits
    assert row.content["what_i_did"] == partial["what_i_did"]


# --- autosave -------------------------------------------------------------------------------------


def test_autosave_answers_json_with_the_new_version_and_findings(lee, apology):
    content = {**APOLOGY, "responsibility": "I'm sorry you feel hurt, but I was lonely."}
    response = lee.post_form(
        f"/portal/homework/{public(apology)}/autosave",
        apology_form(0, content),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == 1
    assert body["saved_at"]
    codes = {f["code"] for f in body["findings"]}
    phrases = {(f["phrase"] or "").lower() for f in body["findings"]}
    assert any("sorry you feel" in p for p in phrases), body["findings"]
    assert codes
    row = response_row(apology)
    assert (row.version, row.content, row.last_saved_by_partner_id) == (
        1,
        content,
        row.partner_id,
    )


def test_a_stale_autosave_is_a_409_with_both_versions_and_nothing_stored(
    therapist_client,
    couple,  # noqa: F811
    kim,
    lee,
):
    (contract,) = assign(therapist_client, couple, "repair_contract")
    first = kim.post_form(
        f"/portal/homework/{public(contract)}/autosave", contract_form(0, "Kim's words on support.")
    )
    assert first.status_code == 200 and first.get_json()["version"] == 1

    stale = lee.post_form(
        f"/portal/homework/{public(contract)}/autosave", contract_form(0, "Lee's words on support.")
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["conflict"] is True
    assert body["version"] == 1
    assert "Kim's words on support." in unescape(body["theirs"])
    assert body["message"]
    row = response_row(contract)
    assert row.version == 1
    assert row.content["support"] == "Kim's words on support."


def test_a_stale_no_js_save_shows_their_version_and_keeps_the_typed_text(
    therapist_client,
    couple,  # noqa: F811
    kim,
    lee,
):
    (contract,) = assign(therapist_client, couple, "repair_contract")
    assert (
        kim.post_form(
            f"/portal/homework/{public(contract)}", contract_form(0, "Kim's words on support.")
        ).status_code
        == 302
    )

    response = lee.post_form(
        f"/portal/homework/{public(contract)}", contract_form(0, "Lee's words on support.")
    )
    assert response.status_code == 409
    shown = page(response)
    html = unescape(response.get_data(as_text=True))
    conflict = html[html.index('class="conflict-theirs"') : html.index('class="write-layout"')]
    assert "Kim's words on support." in conflict
    assert shown.values["content-support"] == "Lee's words on support."  # still in the form
    assert shown.values["version"] == "1"  # saving again now builds on Kim's version
    row = response_row(contract)
    assert (row.version, row.content["support"]) == (1, "Kim's words on support.")

    # Lee merges and saves again on the version the page gave back: it goes through.
    merged = lee.post_form(
        f"/portal/homework/{public(contract)}", contract_form(1, "Kim's words, and Lee's too.")
    )
    assert merged.status_code == 302
    assert response_row(contract).content["support"] == "Kim's words, and Lee's too."


BAD_AUTOSAVE = [
    pytest.param({"content-what_i_did": "x" * 6000}, "what_i_did", id="6000 chars in 5000"),
    pytest.param({"version": "not a number"}, None, id="unreadable version"),
    pytest.param({"version": ""}, None, id="no version"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_AUTOSAVE)
def test_bad_autosave_input_is_a_clear_4xx_and_nothing_is_stored(lee, apology, overrides, field):
    assert (
        lee.post_form(
            f"/portal/homework/{public(apology)}/autosave", apology_form(0, APOLOGY)
        ).status_code
        == 200
    )
    before = response_row(apology)
    before = (before.version, dict(before.content))

    data = {**apology_form(1, {"what_i_did": "half-way text"}), **overrides}
    response = lee.post_form(f"/portal/homework/{public(apology)}/autosave", data)

    assert 400 <= response.status_code < 500
    body = response.get_json()
    assert body["message"]
    if field:
        assert field in body["errors"]
    after = response_row(apology)
    assert (after.version, after.content) == before


def test_unknown_fields_are_never_stored(lee, apology):
    data = {**apology_form(0, APOLOGY), "content-secret": "x", "content-__proto__": "y"}
    response = lee.post_form(f"/portal/homework/{public(apology)}/autosave", data)
    assert response.status_code < 500
    assert set(response_row(apology).content) <= set(APOLOGY)


def test_a_json_body_is_refused_and_does_not_wipe_the_draft(lee, apology):
    assert (
        lee.post_form(
            f"/portal/homework/{public(apology)}/autosave", apology_form(0, APOLOGY)
        ).status_code
        == 200
    )
    response = lee.post(
        f"/portal/homework/{public(apology)}/autosave",
        json={"version": 1, "content": {"what_i_did": 42, "unknown": True}},
        headers={"X-CSRFToken": lee.csrf_token(), "Accept": "application/json"},
    )
    assert 400 <= response.status_code < 500
    row = response_row(apology)
    assert (row.version, row.content) == (1, APOLOGY)


def test_a_3_mb_body_is_refused_with_a_clear_answer(lee, apology):
    data = apology_form(0, {**APOLOGY, "what_i_did": "x" * (3 * 1024 * 1024)})
    for url in (
        f"/portal/homework/{public(apology)}/autosave",
        f"/portal/homework/{public(apology)}",
    ):
        response = lee.post_form(url, data, headers={"Accept": "application/json"})
        assert response.status_code == 413, url
        assert response.get_data(as_text=True).strip()
    row = response_row(apology)
    assert (row.version, row.status) == (0, "assigned")


# --- client text is shown escaped ---------------------------------------------------------------


def test_client_html_is_shown_escaped_to_partners_and_therapist(
    therapist_client,
    couple,  # noqa: F811
    lee,
    kim,
    apology,
):
    content = {**APOLOGY, "what_i_did": f"I lied. {SCRIPT}"}
    saved = lee.post_form(f"/portal/homework/{public(apology)}", apology_form(0, content, "submit"))
    assert saved.status_code == 302
    therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/release")

    pages = {
        "author": lee.get(f"/portal/homework/{public(apology)}"),
        "other partner": kim.get(f"/portal/homework/{public(apology)}"),
        "therapist": therapist_client.get(f"/couples/{couple.id}/homework/{apology}"),
    }
    for who, response in pages.items():
        assert response.status_code == 200, who
        html = response.get_data(as_text=True)
        assert SCRIPT not in html, who
        assert "&lt;script&gt;" in html, who

    # And in the conflict view of a joint document.
    (contract,) = assign(therapist_client, couple, "repair_contract")
    kim.post_form(f"/portal/homework/{public(contract)}", contract_form(0, SCRIPT))
    conflict = lee.post_form(f"/portal/homework/{public(contract)}", contract_form(0, "mine"))
    assert conflict.status_code == 409
    assert SCRIPT not in conflict.get_data(as_text=True)
    stale = lee.post_form(f"/portal/homework/{public(contract)}/autosave", contract_form(0, "mine"))
    assert SCRIPT not in stale.get_json()["theirs"]
    assert "&lt;script&gt;" in stale.get_json()["theirs"]


# --- privacy between partners ---------------------------------------------------------------------


def test_the_other_partner_gets_404_on_a_private_apology_and_sees_no_hint(
    therapist_client,
    couple,  # noqa: F811
    kim,
    lee,
    apology,
):
    lee.post_form(f"/portal/homework/{public(apology)}", apology_form(0, APOLOGY))
    before = response_row(apology)
    before = (before.version, dict(before.content), before.status)
    home_before = kim.get("/portal").get_data(as_text=True)

    for method, suffix, data in [
        ("GET", "", None),
        ("POST", "", apology_form(1, {"what_i_did": "Kim's edit"})),
        ("POST", "/autosave", apology_form(1, {"what_i_did": "Kim's edit"})),
        ("POST", "/confirm", {}),
        ("POST", "/sign", {"typed_name": "Kim"}),
    ]:
        url = f"/portal/homework/{public(apology)}{suffix}"
        response = kim.get(url) if method == "GET" else kim.post_form(url, data)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "I lied to you" not in response.get_data(as_text=True)

    home = kim.get("/portal").get_data(as_text=True)
    assert f"/portal/homework/{public(apology)}" not in home
    assert "Apology" not in home and "apology" not in home
    assert "I lied to you" not in home
    # Lee's saving left no trace on Kim's page (its form token differs once a second passes)
    assert without_form_tokens(home) == without_form_tokens(home_before)
    after = response_row(apology)
    assert (after.version, after.content, after.status) == before

    # Submitted but not released: still nothing for Kim.
    lee.post_form(f"/portal/homework/{public(apology)}", apology_form(1, APOLOGY, "submit"))
    assert kim.get(f"/portal/homework/{public(apology)}").status_code == 404
    assert f"/portal/homework/{public(apology)}" not in kim.get("/portal").get_data(as_text=True)

    # Released: Kim reads it, and cannot change it.
    therapist_client.post_form(f"/couples/{couple.id}/homework/{apology}/release")
    released = kim.get(f"/portal/homework/{public(apology)}")
    assert released.status_code == 200
    html = unescape(released.get_data(as_text=True))
    assert APOLOGY["what_i_did"] in html
    assert f'action="/portal/homework/{public(apology)}"' not in html
    assert f"/portal/homework/{public(apology)}" in kim.get("/portal").get_data(as_text=True)
    edit = kim.post_form(
        f"/portal/homework/{public(apology)}", apology_form(2, {"what_i_did": "No"})
    )
    assert 400 <= edit.status_code < 500
    autosave = kim.post_form(
        f"/portal/homework/{public(apology)}/autosave", apology_form(2, {"what_i_did": "No"})
    )
    assert 400 <= autosave.status_code < 500
    assert response_row(apology).content == APOLOGY


# --- repair contract ------------------------------------------------------------------------------


def test_the_therapist_finalizes_the_contract_and_both_sign_with_typed_names(
    therapist_client,
    couple,  # noqa: F811
    kim,
    lee,
):
    (contract,) = assign(therapist_client, couple, "repair_contract")
    # Incomplete: nothing to finalize.
    therapist_client.post_form(f"/couples/{couple.id}/homework/{contract}/finalize")
    assert count(ContractVersion) == 0

    assert (
        kim.post_form(
            f"/portal/homework/{public(contract)}", contract_form(0, "Listening without fixing.")
        ).status_code
        == 302
    )
    # Each partner writes their own commitments: Lee writes his.
    assert (
        lee.post_form(
            f"/portal/homework/{public(contract)}", contract_form(1, "Listening without fixing.")
        ).status_code
        == 302
    )
    finalized = therapist_client.post_form(f"/couples/{couple.id}/homework/{contract}/finalize")
    assert finalized.status_code == 302
    assert count(ContractVersion) == 1

    # An empty typed name does not sign.
    kim.post_form(f"/portal/homework/{public(contract)}/sign", {"typed_name": "  "})
    assert count(ContractSignature) == 0

    assert "Sign version 1" in page(kim.get(f"/portal/homework/{public(contract)}")).text
    kim.post_form(f"/portal/homework/{public(contract)}/sign", {"typed_name": "Kim Park"})
    lee.post_form(f"/portal/homework/{public(contract)}/sign", {"typed_name": "Lee Chen"})
    with unscoped():
        names = {s.partner_id: s.typed_name for s in db.session.scalars(select(ContractSignature))}
    assert names == {couple.partner_ids[0]: "Kim Park", couple.partner_ids[1]: "Lee Chen"}
    assert response_row(contract).status == "signed"
    shown = page(therapist_client.get(f"/couples/{couple.id}/homework/{contract}")).text
    assert "Kim Park" in shown and "Lee Chen" in shown


def test_a_final_contract_is_read_only_for_both_partners_and_keeps_its_signatures(
    couple,  # noqa: F811
    kim,
    lee,
):
    contract = assign_jointly(couple, "repair_contract")
    url = f"/portal/homework/{public(contract)}"
    assert kim.post_form(url, contract_form(0, "Listening without fixing.")).status_code == 302
    assert lee.post_form(url, contract_form(1, "Listening without fixing.")).status_code == 302
    with practice_context(couple.practice_id):
        joint.finalize_contract(
            db.session.get(User, couple.therapist_ids[0]),
            db.session.get(HomeworkResponse, contract),
        )
        db.session.commit()

    # Final: no form to write in, for either partner; the signatures section still signs.
    for client in (kim, lee):
        html = client.get(url).get_data(as_text=True)
        assert f'action="{url}"' not in html and "data-autosave" not in html
        assert "Sign version 1" in html
        assert "Your therapist marks it final; then you both sign" not in html
        assert "If either of you edits" not in html
        assert "cannot be edited" in html
    assert kim.post_form(f"{url}/sign", {"typed_name": "Kim Park"}).status_code == 302
    assert lee.post_form(f"{url}/sign", {"typed_name": "Lee Chen"}).status_code == 302
    signed = response_row(contract)
    assert signed.status == "signed"
    before = (signed.version, dict(signed.content), signed.status)

    def unchanged() -> None:
        row = response_row(contract)
        assert (row.version, row.content, row.status) == before
        with unscoped():
            (version,) = db.session.scalars(select(ContractVersion)).all()
            assert version.superseded_at is None and len(version.signatures) == 2

    # One keystroke in a page left open: the autosave endpoint refuses it, whatever version.
    for version in (before[0], before[0] - 1, before[0] + 1):
        keystroke = contract_form(version, "Listening without fixing!")
        answer = lee.post_form(f"{url}/autosave", keystroke, headers={"Accept": "application/json"})
        assert answer.status_code == 409, (version, answer.status_code)
        assert "no longer open for changes" in answer.get_json()["message"]
        assert "stored" not in answer.get_json()
        unchanged()

    # The same without JavaScript: refused, and what was typed is shown back to copy.
    refused = kim.post_form(url, contract_form(before[0], "Kim's second thoughts."))
    assert refused.status_code == 409
    html = unescape(refused.get_data(as_text=True))
    assert "What you typed was not saved" in html
    assert "Kim's second thoughts." in html and "Listening without fixing." in html
    assert "data-autosave" not in html
    unchanged()
    assert "homework.contract_reopened" not in audit_actions()

    shown = page(kim.get(url)).text
    assert "Kim Park" in shown and "Lee Chen" in shown and "Sign version" not in shown


# --- CSRF ---------------------------------------------------------------------------------------


def test_every_portal_post_needs_a_csrf_token(
    therapist_client,
    couple,  # noqa: F811
    kim,
    lee,
    apology,
):
    (window,) = assign(therapist_client, couple, "processing_window")
    assert kim.post_form(f"/portal/homework/{public(window)}", window_form(0)).status_code == 302
    therapist_client.post_form(
        f"/couples/{couple.id}/agreements", {"domain": "privacy", "text": "Share locations."}
    )
    from practice.models.homework import Agreement

    with unscoped():
        (agreement_id,) = db.session.scalars(select(Agreement.id)).all()
    before = (count(JointConfirmation), response_row(apology).version)

    posts = [
        (lee, f"/portal/homework/{public(apology)}", apology_form(0, APOLOGY)),
        (lee, f"/portal/homework/{public(apology)}/autosave", apology_form(0, APOLOGY)),
        (kim, f"/portal/homework/{public(window)}/confirm", {}),
        (kim, f"/portal/homework/{public(window)}/sign", {"typed_name": "Kim"}),
        (kim, f"/portal/agreements/{public_agreement(agreement_id)}/accept", {}),
        (kim, "/portal/calendar/subscribe", {}),
        (kim, "/portal/calendar/unsubscribe", {}),
    ]
    for client, url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        wrong = client.post(url, data={**data, "csrf_token": "forged"})
        assert wrong.status_code == 400, url
    assert (count(JointConfirmation), response_row(apology).version) == before
    assert "calendar.feed_created" not in audit_actions()

"""The therapist's review page through HTTP: the whole history with every comment written, and
only the actions that apply (or, when none does, who acts next).

The partner writes through the portal's own forms; the therapist returns work through the real
return form (no JavaScript), and every word typed is read back from the reloaded page.
"""

from __future__ import annotations

import re
from html import unescape

from tests.blueprints.conftest import PracticeSet, page
from tests.blueprints.test_homework import (
    APOLOGY,
    assign,
    couple,  # noqa: F401 - a fixture
    response_row,
    set_status,
    write_apology,
)
from tests.blueprints.test_portal_homework import (
    apology,  # noqa: F401 - a fixture
    apology_form,
    contract_form,
    kim,  # noqa: F401 - a fixture
    lee,  # noqa: F401 - a fixture
)
from tests.couple_factories import public

HEADING = re.compile(r"<h2[^>]*>([^<]*)</h2>")
FORM = re.compile(r'<form method="post" action="([^"]+)"', re.S)


def review_url(couple_ids, response_id: int) -> str:
    return f"/couples/{couple_ids.id}/homework/{response_id}"


def form_actions(html: str) -> list[str]:
    """The forms the page posts to, but for the header's sign-out."""
    return [unescape(action) for action in FORM.findall(html) if action != "/logout"]


def return_through_the_form(client, couple_ids, response_id: int, comment: str):
    """Post the return form the review page shows, as a browser would without JavaScript."""
    html = client.get(review_url(couple_ids, response_id)).get_data(as_text=True)
    (action,) = [a for a in form_actions(html) if a.endswith("/return")]
    shown = page(client.get(review_url(couple_ids, response_id)))
    assert "comment" in shown.values  # the text area is there, empty
    return client.post_form(action, {"csrf_token": shown.values["csrf_token"], "comment": comment})


def hand_in(partner_client, response_id: int, content: dict) -> None:
    """The partner saves and submits through the portal's own form."""
    url = f"/portal/homework/{public(response_id)}"
    version = page(partner_client.get(url)).values["version"]
    submitted = partner_client.post_form(url, apology_form(int(version), content, "submit"))
    assert submitted.status_code == 302, page(submitted).text[:400]


# --- the history keeps every comment ----------------------------------------------------------


def test_two_returns_keep_both_comments_in_the_history(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
    lee,  # noqa: F811
    practice_a: PracticeSet,
):
    hand_in(lee, apology, APOLOGY)
    first = "Say more about how the lying changed Kim's days."
    assert return_through_the_form(therapist_client, couple, apology, first).status_code == 302
    hand_in(lee, apology, {**APOLOGY, "how_it_hurt": APOLOGY["how_it_hurt"] + " Every day."})
    second = "Thank you. Now name one thing you will do differently next month."
    assert return_through_the_form(therapist_client, couple, apology, second).status_code == 302

    text = page(therapist_client.get(review_url(couple, apology))).text
    note_line = f"Returned with a note from {practice_a.therapist_name}"
    assert text.count(note_line) == 2
    assert first in text and second in text
    # Newest last: the first note, then the second hand-in, then the second note.
    history = text[text.index("History") :]
    assert history.index(first) < history.index("Lee handed it in", history.index(first))
    assert history.index(first) < history.index(second)
    assert response_row(apology).status == "returned"

    # Lee sees the newest note with the draft, and the draft is open again.
    draft = page(lee.get(f"/portal/homework/{public(apology)}"))
    assert second in draft.text
    assert draft.values["content-what_i_did"] == APOLOGY["what_i_did"]


def test_a_comment_typed_in_the_return_form_comes_back_word_for_word(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
):
    write_apology(apology)
    comment = (
        "Lee, thank you for writing this.\n\n"
        "Two things for next time: say what Kim lost (sleep, trust, the Sunday walks) & "
        "what you will do if the urge comes back — “not just sorry”. <b>Plain</b> words are fine."
    )
    returned = return_through_the_form(therapist_client, couple, apology, comment)
    assert returned.status_code == 302

    html = therapist_client.get(review_url(couple, apology)).get_data(as_text=True)
    text = page(therapist_client.get(review_url(couple, apology))).text
    for word in comment.split():
        assert word in text, word
    assert "<b>Plain</b>" not in html  # shown as typed, never as markup
    assert "&lt;b&gt;Plain&lt;/b&gt;" in html


def test_an_empty_comment_is_refused_beside_the_field_and_nothing_moves(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
):
    write_apology(apology)
    refused = return_through_the_form(therapist_client, couple, apology, "   ")
    assert refused.status_code == 422
    assert page(refused).errors.get("comment")
    assert response_row(apology).status == "submitted"


def test_a_note_for_work_that_can_no_longer_be_returned_is_kept_on_the_page(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
):
    write_apology(apology, submitted=False)  # moved back to a draft while the page was open
    note = "Please add what you will do on Sundays."
    response = therapist_client.post_form(
        f"{review_url(couple, apology)}/return", {"comment": note}
    )
    assert response.status_code == 422
    shown = page(response).text
    assert note in shown and "Your note was not sent" in shown
    assert response_row(apology).status == "draft"


# --- only the actions that apply ------------------------------------------------------------------


def test_handed_in_private_work_offers_review_release_and_return(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
):
    write_apology(apology)
    html = therapist_client.get(review_url(couple, apology)).get_data(as_text=True)
    text = page(therapist_client.get(review_url(couple, apology))).text
    actions = {action.rsplit("/", 1)[-1] for action in form_actions(html)}
    assert {"reviewed", "completed", "release", "return"} <= actions
    assert "finalize" not in actions
    assert "Return for revision" in text and "Reopen for changes" not in text
    assert "Your next step" in text

    # Released: both can read it, so it is not offered again.
    therapist_client.post_form(f"{review_url(couple, apology)}/release")
    html = therapist_client.get(review_url(couple, apology)).get_data(as_text=True)
    assert not any(action.endswith("/release") for action in form_actions(html))


def test_a_draft_offers_nothing_and_says_who_acts_next(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
):
    response = therapist_client.get(review_url(couple, apology))
    text = page(response).text
    assert not form_actions(response.get_data(as_text=True))
    assert "Nothing for you to do: Lee has not started." in text
    # No "Review" heading over nothing.
    assert "Review" not in HEADING.findall(response.get_data(as_text=True))
    assert "Next step" in HEADING.findall(response.get_data(as_text=True))

    write_apology(apology, submitted=False)
    text = page(therapist_client.get(review_url(couple, apology))).text
    assert "Nothing for you to do: Lee is writing." in text
    assert "Return for revision" not in text


def test_completed_work_says_nothing_is_needed(
    therapist_client,
    couple,  # noqa: F811
    apology,  # noqa: F811
):
    write_apology(apology)
    therapist_client.post_form(f"{review_url(couple, apology)}/release")
    set_status(apology, "completed")
    response = therapist_client.get(review_url(couple, apology))
    assert "Nothing for you to do: completed." in page(response).text
    assert form_actions(response.get_data(as_text=True)) == []


def _written_contract(therapist_client, couple_ids, kim_client, lee_client) -> int:  # noqa: F811
    (contract,) = assign(therapist_client, couple_ids, "repair_contract")
    url = f"/portal/homework/{public(contract)}"
    assert kim_client.post_form(url, contract_form(0, "Listening first.")).status_code == 302
    assert lee_client.post_form(url, contract_form(1, "Listening first.")).status_code == 302
    return contract


def test_no_finalize_on_a_final_or_signed_contract_and_reopening_says_what_it_costs(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
):
    contract = _written_contract(therapist_client, couple, kim, lee)
    draft = therapist_client.get(review_url(couple, contract)).get_data(as_text=True)
    assert any(a.endswith("/finalize") for a in form_actions(draft))
    assert "Mark final for signing" in draft

    assert therapist_client.post_form(f"{review_url(couple, contract)}/finalize").status_code == 302
    assert response_row(contract).status == "final"
    final = therapist_client.get(review_url(couple, contract))
    final_text = page(final).text
    assert "Mark final for signing" not in final_text
    assert not any(a.endswith("/finalize") for a in form_actions(final.get_data(as_text=True)))
    assert "Nothing for you to do:" in final_text
    assert "Reopen for changes" in final_text and "Return for revision" not in final_text
    assert "they both sign again" in final_text

    kim.post_form(f"/portal/homework/{public(contract)}/sign", {"typed_name": "Kim Park"})
    final_text = page(therapist_client.get(review_url(couple, contract))).text
    assert "Nothing for you to do: waiting for Lee to sign." in final_text

    lee.post_form(f"/portal/homework/{public(contract)}/sign", {"typed_name": "Lee Chen"})
    assert response_row(contract).status == "signed"
    signed = therapist_client.get(review_url(couple, contract))
    signed_text = page(signed).text
    assert "Mark final for signing" not in signed_text
    assert not any(a.endswith("/finalize") for a in form_actions(signed.get_data(as_text=True)))
    assert "Reopen for changes" in signed_text
    # Posting anyway changes nothing.
    therapist_client.post_form(f"{review_url(couple, contract)}/finalize")
    assert response_row(contract).status == "signed"


def test_reopening_a_final_contract_keeps_the_note_in_the_history(
    therapist_client,
    couple,  # noqa: F811
    kim,  # noqa: F811
    lee,  # noqa: F811
    practice_a: PracticeSet,
):
    contract = _written_contract(therapist_client, couple, kim, lee)
    therapist_client.post_form(f"{review_url(couple, contract)}/finalize")
    note = "Let us change the revisit date together in our next session."
    assert return_through_the_form(therapist_client, couple, contract, note).status_code == 302
    assert response_row(contract).status == "returned"
    text = page(therapist_client.get(review_url(couple, contract))).text
    assert f"Reopened for changes with a note from {practice_a.therapist_name}" in text
    assert note in text
    # The same text is already the final version: nothing to mark final until it changes.
    assert "Mark final for signing" not in text


def test_another_practice_gets_404_on_the_review_page_and_its_actions(
    couple,  # noqa: F811
    apology,  # noqa: F811
    make_client,
    practice_b: PracticeSet,
):
    write_apology(apology)
    stranger = make_client()
    stranger.login(practice_b.therapist_email)
    assert stranger.get(review_url(couple, apology)).status_code == 404
    for action in ("return", "reviewed", "completed", "release", "finalize"):
        response = stranger.post_form(f"{review_url(couple, apology)}/{action}", {"comment": "x"})
        assert response.status_code == 404, action
    assert response_row(apology).status == "submitted"

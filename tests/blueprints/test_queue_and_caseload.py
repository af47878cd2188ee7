"""The review queue and the caseload's "needs you" column, through HTTP.

The queue lists only work that waits for the therapist (handed in on a path with a review):
agreed schedules, final and signed contracts and drafts are not there. Each row counts the
coach's flags, never shows their words. Both pages send the same few SQL statements whatever
the caseload's size.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import event, update

from practice.extensions import db
from practice.homework import get_kind
from practice.models import Couple, User
from practice.models.base import utcnow
from practice.models.homework import Assignment, HomeworkResponse
from practice.services import homework as homework_service
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import PracticeSet, page
from tests.blueprints.test_couples import NOBODY, add_couple, another_therapist, email_of
from tests.blueprints.test_homework import APOLOGY, couple_today
from tests.couple_factories import CoupleIds

FLAGGED = {
    **APOLOGY,
    "how_it_hurt": "I'm sorry you feel that way about the messages.",
    "responsibility": "We both made mistakes, but you have to understand I was lonely.",
}
NO_PROPOSALS = {"proposals": []}  # a boundary worksheet the coach says is missing a part


# --- set-up -------------------------------------------------------------------------------------


def give(
    ids: CoupleIds,
    kind: str,
    status: str,
    *,
    content: dict | None = None,
    due_in_days: int | None = None,
    handed_in_days_ago: float | None = None,
    mode: str | None = None,
) -> int:
    """A piece of work for the couple, moved straight to `status` (tests of a later stage)."""
    with practice_context(ids.practice_id):
        couple = db.session.get(Couple, ids.id)
        kind_def = get_kind(kind)
        mode = mode or kind_def.default_mode
        assignment = homework_service.assign(
            db.session.get(User, ids.therapist_ids[0]) if ids.therapist_ids else None,
            couple,
            kind_key=kind,
            mode=mode,
            instructions="",
            due_date=None,
            partner_id=couple.partners[1].id if mode == "one" else None,
        )
        response_id = assignment.responses[0].id
        assignment_id = assignment.id
        db.session.commit()
    values: dict = {"status": status, "version": 1}
    if content is not None:
        # As a save stores it: the text and what the coach counts in it.
        flags, missing = get_kind(kind).coach_counts(content)
        values.update(content=content, coach_flags=flags, coach_missing=missing)
    if handed_in_days_ago is not None:
        values["submitted_at"] = utcnow() - timedelta(days=handed_in_days_ago)
    with unscoped():
        db.session.execute(
            update(HomeworkResponse).where(HomeworkResponse.id == response_id).values(**values)
        )
        if due_in_days is not None:
            db.session.execute(
                update(Assignment)
                .where(Assignment.id == assignment_id)
                .values(due_date=couple_today() + timedelta(days=due_in_days))
            )
    db.session.commit()
    return response_id


@pytest.fixture
def team(practice_a: PracticeSet):
    """Two therapists of practice A, each with a couple; the owner sees both."""
    colleague = another_therapist(practice_a, "Uma Other")
    mine = add_couple(practice_a, label="Kim & Lee", partner1_name="Kim", partner2_name="Lee")
    theirs = add_couple(
        practice_a, therapist=colleague, label="Ana & Bo", partner1_name="Ana", partner2_name="Bo"
    )
    return {"colleague": colleague, "mine": mine, "theirs": theirs}


def link(ids: CoupleIds, response_id: int) -> str:
    return f'href="/couples/{ids.id}/homework/{response_id}"'


def row_of(html: str, ids: CoupleIds, response_id: int) -> str:
    start = html.index(link(ids, response_id))
    return html[start : html.index("</li>", start)]


# --- what the queue lists -----------------------------------------------------------------------


def test_the_queue_lists_only_work_waiting_for_the_therapist(owner_client, team):
    mine = team["mine"]
    waiting = give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=2)
    sheet = give(mine, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=1)
    left_out = {
        "a draft": give(mine, "apology", "draft", content=APOLOGY),
        "not started": give(mine, "apology", "assigned"),
        "returned": give(mine, "apology", "returned", content=APOLOGY, handed_in_days_ago=3),
        "reviewed": give(mine, "apology", "reviewed", content=APOLOGY, handed_in_days_ago=4),
        "an agreed window": give(mine, "processing_window", "confirmed", handed_in_days_ago=5),
        "a final contract": give(mine, "repair_contract", "final", handed_in_days_ago=6),
        "a signed contract": give(mine, "repair_contract", "signed", handed_in_days_ago=7),
    }

    html = owner_client.get("/review").get_data(as_text=True)

    assert html.index(link(mine, waiting)) < html.index(link(mine, sheet))  # oldest first
    for what, response_id in left_out.items():
        assert link(mine, response_id) not in html, what
    assert "2 pieces waiting" in page(owner_client.get("/review")).text


def test_each_row_counts_the_coach_flags_and_shows_due_dates_never_the_words(owner_client, team):
    mine = team["mine"]
    late = give(mine, "apology", "submitted", content=FLAGGED, due_in_days=-3, handed_in_days_ago=1)
    on_time = give(mine, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=0)
    findings = get_kind("apology").coach(FLAGGED)
    flags = sum(1 for f in findings if f.level == "flag")
    assert flags >= 2

    html = owner_client.get("/review").get_data(as_text=True)

    late_row = page_text(row_of(html, mine, late))
    assert "Apology draft" in late_row or get_kind("apology").label in late_row
    assert "Kim & Lee" in late_row and "by Lee" in late_row
    assert f"{flags} coach flags" in late_row
    due = (couple_today() - timedelta(days=3)).strftime("%-d %b")
    assert f"due {due}" in late_row and "late" in late_row
    assert "handed in" in late_row
    assert "missing" not in late_row

    sheet_row = page_text(row_of(html, mine, on_time))
    assert "1 part missing" in sheet_row
    assert "coach flag" not in sheet_row and "late" not in sheet_row and "due" not in sheet_row
    # Counts only: none of the coach's words, nor the text, reach the queue.
    for finding in findings:
        assert finding.message not in html
    assert "sorry you feel" not in html.lower()


def page_text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- filters ------------------------------------------------------------------------------------


def test_filters_narrow_the_queue_and_keep_their_values(owner_client, team, practice_a):
    mine, theirs = team["mine"], team["theirs"]
    my_apology = give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=3)
    my_sheet = give(mine, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=2)
    their_apology = give(theirs, "apology", "submitted", content=APOLOGY, handed_in_days_ago=1)

    everything = owner_client.get("/review").get_data(as_text=True)
    for ids, response_id in ((mine, my_apology), (mine, my_sheet), (theirs, their_apology)):
        assert link(ids, response_id) in everything

    colleague = team["colleague"]
    theirs_only = owner_client.get(f"/review?therapist={colleague}")
    html = theirs_only.get_data(as_text=True)
    assert link(theirs, their_apology) in html
    assert link(mine, my_apology) not in html and link(mine, my_sheet) not in html
    assert page(theirs_only).selected["therapist"] == str(colleague)
    assert "Clear filters" in html

    apologies = owner_client.get(f"/review?therapist={practice_a.therapist_id}&kind=apology")
    html = apologies.get_data(as_text=True)
    assert link(mine, my_apology) in html
    assert link(mine, my_sheet) not in html and link(theirs, their_apology) not in html
    shown = page(apologies)
    assert shown.selected == {"therapist": str(practice_a.therapist_id), "kind": "apology"}


def test_a_therapist_sees_only_their_own_couples_whatever_the_filter(make_client, team, practice_a):
    mine, theirs = team["mine"], team["theirs"]
    my_apology = give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=2)
    their_apology = give(theirs, "apology", "submitted", content=APOLOGY, handed_in_days_ago=1)
    therapist = make_client()
    therapist.login(practice_a.therapist_email)

    html = therapist.get("/review").get_data(as_text=True)
    assert link(mine, my_apology) in html
    assert link(theirs, their_apology) not in html and "Ana & Bo" not in html

    # Filtering by the colleague does not open the colleague's couples.
    filtered = therapist.get(f"/review?therapist={team['colleague']}")
    assert filtered.status_code == 200
    assert link(theirs, their_apology) not in filtered.get_data(as_text=True)
    assert "Nothing waiting with these filters" in page(filtered).text


def test_an_empty_filtered_queue_says_which_filter_emptied_it(owner_client, team):
    give(team["mine"], "apology", "submitted", content=APOLOGY, handed_in_days_ago=1)

    by_kind = page(owner_client.get("/review?kind=boundaries"))
    assert "The kind filter emptied it" in by_kind.text
    assert "Show every kind" in by_kind.text
    assert "1 piece is waiting without filters" in by_kind.text

    by_therapist = owner_client.get(f"/review?therapist={team['colleague']}")
    text = page(by_therapist).text
    assert "The therapist filter emptied it" in text and "Uma Other" in text
    assert 'href="/review"' in by_therapist.get_data(as_text=True)  # clears the filters


def test_filters_not_understood_are_reset_with_a_message(owner_client, team):
    for query in ("therapist=999999", "therapist=abc", "kind=repair_contract", "kind=<b>"):
        response = owner_client.get(f"/review?{query}")
        assert response.status_code == 302, query
        assert response.headers["Location"] == "/review"
    followed = owner_client.get("/review?kind=nope", follow_redirects=True)
    assert "Some filters were not understood and were reset." in page(followed).text


def test_another_practice_sees_none_of_this_queue(make_client, team, practice_b):
    waiting = give(team["mine"], "apology", "submitted", content=APOLOGY, handed_in_days_ago=1)
    stranger = make_client()
    stranger.login(practice_b.owner_email)
    html = stranger.get("/review").get_data(as_text=True)
    assert link(team["mine"], waiting) not in html and "Kim & Lee" not in html
    # Their own therapists only, in the filter.
    assert stranger.get(f"/review?therapist={team['colleague']}").status_code == 302


# --- the dashboard counts what the queue lists ----------------------------------------------------


def test_the_dashboard_counts_the_queue_and_keeps_overdue_work(owner_client, team):
    mine = team["mine"]
    give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=2)
    give(mine, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=1)
    give(mine, "processing_window", "confirmed", handed_in_days_ago=1)
    give(mine, "repair_contract", "final", handed_in_days_ago=1)
    give(mine, "repair_contract", "signed", handed_in_days_ago=1)
    give(mine, "apology", "draft", content=APOLOGY, due_in_days=-2)  # overdue

    dashboard = owner_client.get("/dashboard")
    text = page(dashboard).text
    assert "2 pieces of homework handed in, waiting for your review" in text
    # Under "Needs you today": the couple, with its overdue piece and what waits for review.
    today = text[text.index("Needs you today") :]
    assert "2 to review" in today and "1 overdue" in today
    assert "2 pieces waiting." in page(owner_client.get("/review")).text


# --- the caseload's "needs you" -----------------------------------------------------------------


def caseload_row(html: str, ids: CoupleIds) -> str:
    start = html.index(f'href="/couples/{ids.id}"')
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_the_caseload_shows_what_needs_you_per_couple_and_nothing_when_nothing(owner_client, team):
    mine, theirs = team["mine"], team["theirs"]
    give(mine, "apology", "submitted", content=FLAGGED, handed_in_days_ago=2)
    give(mine, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=1)
    give(mine, "apology", "draft", content=APOLOGY, due_in_days=-2)  # overdue
    give(mine, "apology", "assigned", due_in_days=-1)  # overdue, not started
    give(mine, "apology", "draft", content=APOLOGY, due_in_days=0)  # due today: not yet
    give(mine, "apology", "submitted", content=FLAGGED, due_in_days=-4, handed_in_days_ago=5)
    # Nothing for the other couple needs anyone: an agreed window and a signed contract.
    give(theirs, "processing_window", "confirmed", handed_in_days_ago=1)
    give(theirs, "repair_contract", "signed", handed_in_days_ago=1)
    give(theirs, "apology", "reviewed", content=FLAGGED, due_in_days=-3, handed_in_days_ago=1)

    html = owner_client.get("/couples").get_data(as_text=True)

    row = page_text(caseload_row(html, mine))
    assert "3 to review" in row
    assert "2 with coach flags" in row  # the boundary sheet has a missing part, not a flag
    assert "2 overdue" in row  # a handed-in piece is not overdue, even past its date
    other = caseload_row(html, theirs)
    assert "to review" not in other and "overdue" not in other and "coach" not in other
    assert 'data-label="Needs you"' not in other
    assert ">0<" not in other.replace(" ", "") and " 0 " not in page_text(other)


def test_overdue_in_the_caseload_is_a_day_where_the_couple_lives(owner_client, practice_a):
    ahead = add_couple(practice_a, label="Ahead couple", time_zone="Pacific/Kiritimati")
    behind = add_couple(practice_a, label="Behind couple", time_zone="Pacific/Pago_Pago")
    for ids in (ahead, behind):
        response_id = give(ids, "apology", "draft", content=APOLOGY)
        with practice_context(ids.practice_id):
            due = homework_service.couple_today(db.session.get(Couple, behind.id))
        with unscoped():
            assignment_id = db.session.get(HomeworkResponse, response_id).assignment_id
            db.session.execute(
                update(Assignment).where(Assignment.id == assignment_id).values(due_date=due)
            )
        db.session.commit()

    html = owner_client.get("/couples").get_data(as_text=True)
    assert "1 overdue" in page_text(caseload_row(html, ahead))  # already tomorrow there
    assert "overdue" not in caseload_row(html, behind)  # still due today there


# --- a fixed number of statements ---------------------------------------------------------------


def sql_of(client, url: str) -> tuple[list[str], str]:
    """The SQL statements a GET sends, and the page."""
    statements: list[str] = []

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_statement)
    assert response.status_code == 200, url
    return statements, response.get_data(as_text=True)


def statements_for(client, url: str) -> tuple[int, str]:
    statements, html = sql_of(client, url)
    return len(statements), html


def couples_with_work(practice: PracticeSet, therapists: list[int], start: int, count: int):
    """`count` couples, each with a flagged apology and a boundary sheet to review and an
    overdue draft, spread over the therapists."""
    made = []
    for n in range(start, start + count):
        ids = add_couple(
            practice,
            therapist=therapists[n % len(therapists)],
            label=f"Work couple {n:03d}",
            partner1_name=f"Hurt {n}",
            partner2_name=f"Broke {n}",
        )
        give(ids, "apology", "submitted", content=FLAGGED, due_in_days=-1, handed_in_days_ago=n)
        give(ids, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=n)
        give(ids, "apology", "draft", content=APOLOGY, due_in_days=-2)
        made.append(ids)
    return made


def test_the_queue_and_the_caseload_send_the_same_few_statements_at_2_and_12_couples(
    make_client, practice_a
):
    colleague = another_therapist(practice_a)
    therapists = [practice_a.therapist_id, colleague]
    owner = make_client()
    owner.login(practice_a.owner_email)
    therapist = make_client()
    therapist.login(email_of(practice_a.therapist_id))
    pages = [
        (owner, "/review"),
        (owner, f"/review?therapist={colleague}&kind=apology"),
        (owner, "/review?kind=boundaries"),
        (therapist, "/review"),
        (owner, "/couples"),
        (therapist, "/couples?status=all&sort=recent"),
        (owner, "/dashboard"),
    ]

    couples_with_work(practice_a, therapists, 0, 2)
    small = {}
    for client, url in pages:
        small[(id(client), url)], html = statements_for(client, url)
        if client is owner and url == "/review":
            assert html.count('class="task"') == 4
            assert "coach flags" in html and "1 part missing" in html
        if client is owner and url == "/couples":
            assert html.count("2 to review") == 2 and html.count("1 overdue") == 2

    couples_with_work(practice_a, therapists, 2, 10)
    large = {}
    for client, url in pages:
        large[(id(client), url)], html = statements_for(client, url)
        if client is owner and url == "/review":
            assert html.count('class="task"') == 24
        if client is owner and url == "/couples":
            assert html.count("2 to review") == 12 and html.count("with coach flags") == 12

    assert large == small
    assert max(count for (_, url), count in large.items() if url != "/dashboard") <= 6, large


def test_an_empty_filtered_queue_costs_the_same_few_statements_whatever_the_size(
    make_client, practice_a
):
    owner = make_client()
    owner.login(practice_a.owner_email)
    add_couple(practice_a, therapist=NOBODY, label="Nobody's couple")
    couples_with_work(practice_a, [practice_a.therapist_id], 0, 2)
    small, _ = statements_for(
        owner, "/review?kind=boundaries&therapist=" + str(practice_a.owner_id)
    )
    couples_with_work(practice_a, [practice_a.therapist_id], 2, 10)
    large, html = statements_for(
        owner, "/review?kind=boundaries&therapist=" + str(practice_a.owner_id)
    )
    assert "Nothing waiting with these filters" in page_text(html)
    assert small == large <= 6


# --- paging -------------------------------------------------------------------------------------


def page_links(html: str) -> dict[str, str]:
    """The queue's page links by their rel ("next", "prev"), as the browser would follow them."""
    return {
        rel: unescape(href)
        for href, rel in re.findall(r'<a href="(/review\?[^"]*)" rel="(next|prev)"', html)
    }


def test_the_queue_shows_fifty_a_page_and_pages_keep_the_filters(owner_client, team, practice_a):
    mine, theirs = team["mine"], team["theirs"]
    apologies = [
        give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=60 - n / 2)
        for n in range(51)
    ]
    # Left out by the filters: another kind from the same couple, another therapist's couple.
    sheet = give(mine, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=90)
    their_apology = give(theirs, "apology", "submitted", content=APOLOGY, handed_in_days_ago=90)

    url = f"/review?therapist={practice_a.therapist_id}&kind=apology"
    first = owner_client.get(url)
    html = first.get_data(as_text=True)
    assert html.count('class="task"') == 50
    for response_id in apologies[:50]:
        assert link(mine, response_id) in html
    assert link(mine, apologies[50]) not in html
    assert link(mine, sheet) not in html and link(theirs, their_apology) not in html
    assert "51 pieces waiting with these filters; showing 1–50." in page(first).text
    links = page_links(html)
    assert "prev" not in links  # the first page: nothing earlier
    assert (
        f"therapist={practice_a.therapist_id}" in links["next"] and "kind=apology" in links["next"]
    )

    second = owner_client.get(links["next"])
    html = second.get_data(as_text=True)
    assert html.count('class="task"') == 1 and link(mine, apologies[50]) in html
    assert "51 pieces waiting with these filters; showing 51–51." in page(second).text
    assert page(second).selected == {"therapist": str(practice_a.therapist_id), "kind": "apology"}
    links = page_links(html)
    assert "next" not in links  # the last page
    assert (
        f"therapist={practice_a.therapist_id}" in links["prev"] and "kind=apology" in links["prev"]
    )

    back = owner_client.get(links["prev"])
    html = back.get_data(as_text=True)
    assert html.count('class="task"') == 50 and link(mine, apologies[0]) in html
    assert "showing 1–50." in page(back).text and "prev" not in page_links(html)


def test_without_filters_the_pages_count_everything_waiting(owner_client, team):
    mine, theirs = team["mine"], team["theirs"]
    for n in range(50):
        give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=60 - n / 2)
    newest = give(theirs, "boundaries", "submitted", content=NO_PROPOSALS, handed_in_days_ago=0)

    html = owner_client.get("/review").get_data(as_text=True)
    assert "51 pieces waiting; showing 1–50." in page_text(html)
    assert link(theirs, newest) not in html
    following = owner_client.get(page_links(html)["next"]).get_data(as_text=True)
    assert link(theirs, newest) in following and "showing 51–51" in page_text(following)
    assert "therapist=" not in page_links(following)["prev"]


def test_a_page_whose_work_was_reviewed_since_says_so_and_links_back(owner_client, team):
    only = give(team["mine"], "apology", "submitted", content=APOLOGY, handed_in_days_ago=1)
    response = owner_client.get(f"/review?after={only}&kind=apology")
    text = page(response).text
    assert "Nothing more waiting here" in text
    assert 'href="/review?kind=apology"' in response.get_data(as_text=True)


def test_page_positions_not_understood_are_reset(owner_client, team):
    give(team["mine"], "apology", "submitted", content=APOLOGY, handed_in_days_ago=1)
    for query in ("after=abc", "before=-1", "after=99999999999999", "after=1&before=2"):
        response = owner_client.get(f"/review?{query}")
        assert response.status_code == 302, query
        assert response.headers["Location"] == "/review"


# --- the counts are the stored ones: no coach runs for a list ------------------------------------


def store_counts(response_id: int, *, flags: int, missing: int) -> None:
    with unscoped():
        db.session.execute(
            update(HomeworkResponse)
            .where(HomeworkResponse.id == response_id)
            .values(coach_flags=flags, coach_missing=missing)
        )
    db.session.commit()


def test_the_queue_and_the_caseload_show_the_stored_counts_not_a_fresh_coach_run(
    owner_client, team
):
    mine, theirs = team["mine"], team["theirs"]
    # Text the coach would find nothing in, with counts stored: the stored counts show.
    clean = give(mine, "apology", "submitted", content=APOLOGY, handed_in_days_ago=2)
    store_counts(clean, flags=7, missing=3)
    # Text the coach flags, stored as found clean: nothing shows.
    flagged = give(theirs, "apology", "submitted", content=FLAGGED, handed_in_days_ago=1)
    store_counts(flagged, flags=0, missing=0)

    html = owner_client.get("/review").get_data(as_text=True)
    clean_row = page_text(row_of(html, mine, clean))
    assert "7 coach flags" in clean_row and "3 parts missing" in clean_row
    flagged_row = page_text(row_of(html, theirs, flagged))
    assert "coach flag" not in flagged_row and "missing" not in flagged_row

    caseload = owner_client.get("/couples").get_data(as_text=True)
    assert "1 with coach flags" in page_text(caseload_row(caseload, mine))
    assert "coach" not in page_text(caseload_row(caseload, theirs))


def test_the_queue_never_reads_the_text_of_the_work(make_client, practice_a, team):
    give(team["mine"], "apology", "submitted", content=FLAGGED, handed_in_days_ago=1)
    owner = make_client()
    owner.login(practice_a.owner_email)
    for url in ("/review", "/couples"):
        statements, _ = sql_of(owner, url)
        read = [s for s in statements if "homework_responses" in s]
        assert read, url
        assert not any("homework_responses.content" in s for s in read), url

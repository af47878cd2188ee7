"""The access sweep: every route that names a record by id answers 404 outside its reach.

The routes come from `app.url_map`, so a new route is swept the day it is added; a route
whose id argument has no factory below fails the sweep until one is written.

Who is swept: the other practice's owner and therapist (404 on every id route), a therapist
of the same practice who is not assigned to the couple (404 on every couple route), and a
partner signed in to the portal (no therapist page at all: sent to sign in). Portal routes
that take an id (a piece of homework, an agreement) answer 404 to a partner of another couple,
and a private piece of homework answers 404 to the other partner of its own couple; the other
portal pages are checked by what they show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from html import unescape

import pytest
from flask import current_app
from sqlalchemy import select
from werkzeug.routing import Rule

from practice.extensions import db
from practice.models import (
    Couple,
    Notice,
    Partner,
    PortalSession,
    Practice,
    Report,
    ReportBatch,
    User,
)
from practice.models.base import utcnow
from practice.models.checkin import SafetyAnswer, SafetyFlag
from practice.models.measure import MeasureResponse
from practice.services import (
    accounts,
    agreements,
    appointments,
    checkins,
    homework,
    measures,
    notices,
    portal_access,
    reports,
)
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import PracticeSet, page
from tests.couple_factories import CoupleFactory, public, public_agreement
from tests.factories import TherapistInvitationFactory, UserFactory

SWEPT_METHODS = {"GET", "POST"}
# Portal routes that name a record by id: the other couple and the other partner get 404.
PORTAL_ID_ARGUMENTS = {"response_key", "agreement_key", "notice_id", "summary_key", "measure_key"}
# Blueprints whose every route is the owner's alone.
OWNER_ONLY_BLUEPRINTS = {"settings"}


# A factory gets the practice and the ids already made for the same URL (in ARGUMENT_ORDER),
# so that /couples/<couple_id>/partners/<partner_id> names a partner of that very couple.
Built = dict[str, int]


def a_therapist(practice: PracticeSet, built: Built) -> int:
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
    return UserFactory(practice=home).id


def an_open_invitation(practice: PracticeSet, built: Built) -> int:
    with unscoped():
        owner = db.session.get(User, practice.owner_id)
    invitation = TherapistInvitationFactory(inviter=owner)
    with practice_context(practice.practice_id):
        accounts.issue_invitation_token(invitation)  # a live link, so a resend would show
    return invitation.id


def a_couple(practice: PracticeSet, built: Built) -> int:
    """A couple assigned to a new therapist: not to the practice's everyday therapist."""
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
    return CoupleFactory(practice=home).id


def a_partner(practice: PracticeSet, built: Built) -> int:
    """The first partner of the couple in the URL, with a live personal link."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        partner = db.session.scalar(
            select(Partner).where(Partner.couple_id == couple_id, Partner.position == 1)
        )
        owner = db.session.get(User, practice.owner_id)
        portal_access.create_invite(owner, partner, email_it=False)
        return partner.id


def a_portal_session(practice: PracticeSet, built: Built) -> int:
    """A live portal session (one device) of the partner in the URL."""
    partner_id = built.get("partner_id") or a_partner(practice, built)
    with practice_context(practice.practice_id):
        partner = db.session.get(Partner, partner_id)
        portal_session = PortalSession(
            partner_id=partner.id, started_via="invite", device="Phone · Safari"
        )
        db.session.add(portal_session)
        db.session.flush()
        return portal_session.id


def a_signed_in_device(practice: PracticeSet, built: Built) -> int:
    """Another browser the practice's owner is signed in on."""
    with practice_context(practice.practice_id):
        owner = db.session.get(User, practice.owner_id)
        return accounts.start_user_session(owner, device="Phone · Safari").id


def a_response(practice: PracticeSet, built: Built) -> int:
    """A private apology draft, written by the first partner of the couple in the URL."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice.owner_id)
        assignment = homework.assign(
            owner,
            couple,
            kind_key="apology",
            mode="one",
            instructions="Write it in your own words.",
            due_date=None,
            partner_id=couple.partners[0].id,
        )
        (response,) = assignment.responses
        return response.id


def an_agreement(practice: PracticeSet, built: Built) -> int:
    """An agreement in force for the couple in the URL."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice.owner_id)
        agreement = agreements.add_agreement(
            owner,
            couple,
            domain="communication",
            text="Tell each other about any message from an ex within 24 hours.",
            time_frame="three months",
            review_date=None,
        )
        return agreement.id


def a_notice(practice: PracticeSet, built: Built) -> int:
    """A notice for the first partner of the couple in the URL."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        notice = notices.notify_partner(couple.partners[0], "homework.returned", "/portal")
        db.session.flush()
        return notice.id


def a_therapists_notice(practice: PracticeSet, built: Built) -> int:
    """A notice for the practice's owner, about a new couple."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        owner = db.session.get(User, practice.owner_id)
        notice = Notice(
            recipient_user_id=owner.id, couple_id=couple_id, kind="agreement.discuss", link="/"
        )
        db.session.add(notice)
        db.session.flush()
        return notice.id


def a_safety_flag(practice: PracticeSet, built: Built) -> int:
    """A flag on a safety answer of the first partner of the couple (made directly: raising
    one through the service would also email the therapists)."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        partner = couple.partners[0]
        answer = SafetyAnswer(
            couple_id=couple.id,
            partner_id=partner.id,
            instrument="own_safety",
            context="screen",
            answers={"afraid": 1},
            positive=True,
        )
        db.session.add(answer)
        db.session.flush()
        flag = SafetyFlag(couple_id=couple.id, partner_id=partner.id, answer_id=answer.id)
        db.session.add(flag)
        db.session.flush()
        return flag.id


def a_checkin(practice: PracticeSet, built: Built) -> int:
    """A handed-in check-in of the first partner of the couple in the URL, this week."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        checkin = checkins.current(couple.partners[0])
        checkin.status = "submitted"
        db.session.flush()
        return checkin.id


def an_appointment(practice: PracticeSet, built: Built) -> int:
    """A session with the couple in the URL, a week ago."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice.owner_id)
        day = (utcnow() - timedelta(days=7)).date()
        details = appointments.AppointmentDetails(day=day, start=time(10), next_steps="Rest.")
        return appointments.record(owner, couple, details).id


def _made_report(practice: PracticeSet, couple_id: int, audience: str, batch=None) -> Report:
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice.owner_id)
        end = utcnow().date()
        report, _ = reports.request_summary(
            owner, couple, audience, start=end - timedelta(days=13), end=end, batch=batch
        )
    db.session.commit()  # the job runs inline now: its download answers with the file
    with practice_context(practice.practice_id):
        report = db.session.get(Report, report.id)
        assert report.is_ready
        return report


def a_report(practice: PracticeSet, built: Built) -> int:
    """A made therapist copy of a summary of the couple in the URL."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    return _made_report(practice, couple_id, "therapist").id


def a_batch(practice: PracticeSet, built: Built) -> int:
    """A batch of the owner's with one made summary in it."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        end = utcnow().date()
        batch = ReportBatch(
            audience="therapist",
            period_start=end - timedelta(days=6),
            period_end=end,
            created_by_id=practice.owner_id,
        )
        db.session.add(batch)
        db.session.flush()
    _made_report(practice, couple_id, "therapist", batch)
    return batch.id


def a_released_summary(practice: PracticeSet, built: Built) -> str:
    """A couple copy of the couple in the URL, made and shared with both partners."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    report = _made_report(practice, couple_id, "couple")
    with practice_context(practice.practice_id):
        reports.release(db.session.get(User, practice.owner_id), report)
        return report.public_id


def a_measure_schedule(practice: PracticeSet, built: Built) -> int:
    """The CSI-4 sent once, today, to the couple in the URL."""
    couple_id = built.get("couple_id") or a_couple(practice, built)
    with practice_context(practice.practice_id):
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice.owner_id)
        schedule = measures.send(
            owner, couple, instrument_key="csi4", starts_on=None, every_weeks=None, for_weeks=None
        )
        db.session.flush()
        return schedule.id


def a_measure(practice: PracticeSet, built: Built) -> str:
    """The first partner's CSI-4 of the couple in the URL, due today (private to them)."""
    schedule_id = a_measure_schedule(practice, built)
    with practice_context(practice.practice_id):
        return db.session.scalar(
            select(MeasureResponse.public_id)
            .where(MeasureResponse.schedule_id == schedule_id)
            .order_by(MeasureResponse.partner_id)
            .limit(1)
        )


# Argument name -> a factory that creates that kind of record in the given practice.
ID_FACTORIES: dict[str, Callable[[PracticeSet, Built], int | str]] = {
    "user_id": a_therapist,
    "invitation_id": an_open_invitation,
    "couple_id": a_couple,
    "partner_id": a_partner,
    "session_id": a_portal_session,
    "user_session_id": a_signed_in_device,
    "response_id": a_response,
    "agreement_id": an_agreement,
    "notice_id": a_notice,
    "response_key": lambda practice, built: public(a_response(practice, built)),
    "agreement_key": lambda practice, built: public_agreement(an_agreement(practice, built)),
    "user_notice_id": a_therapists_notice,
    "flag_id": a_safety_flag,
    "checkin_id": a_checkin,
    "appointment_id": an_appointment,
    "report_id": a_report,
    "batch_id": a_batch,
    "summary_key": a_released_summary,
    "schedule_id": a_measure_schedule,
    "measure_key": a_measure,
}
ARGUMENT_ORDER = ["couple_id", "partner_id", "session_id"]  # parents first; others after


def id_arguments(rule: Rule) -> set[str]:
    return {argument for argument in rule.arguments if argument.endswith(("_id", "_key"))}


def id_rules() -> list[Rule]:
    return sorted(
        (rule for rule in current_app.url_map.iter_rules() if id_arguments(rule)),
        key=lambda rule: rule.rule,
    )


def therapist_id_rules() -> list[Rule]:
    """The id routes of the therapists' side; the portal's are swept by partners below."""
    return [rule for rule in id_rules() if rule.endpoint.split(".")[0] != "portal"]


def build_requests(rules: list[Rule], practice: PracticeSet) -> list[tuple[str, str]]:
    """(method, url) for each rule and method, naming fresh records of `practice`."""
    missing = {
        f"{rule.endpoint}: {argument}"
        for rule in rules
        for argument in rule.arguments
        if argument not in ID_FACTORIES
    }
    assert not missing, (
        "These route arguments have no factory in ID_FACTORIES, so the access sweep cannot "
        f"cover them: {sorted(missing)}. Add one that creates the record in a practice."
    )
    adapter = current_app.url_map.bind("localhost")
    requests = []
    for rule in rules:
        values: Built = {}
        for argument in sorted(rule.arguments, key=_argument_rank):
            values[argument] = ID_FACTORIES[argument](practice, values)
        methods = rule.methods & SWEPT_METHODS
        assert methods, f"{rule.endpoint} answers none of {SWEPT_METHODS}"
        requests.extend((method, adapter.build(rule.endpoint, values)) for method in methods)
    db.session.commit()
    return sorted(requests)


def _argument_rank(argument: str) -> tuple[int, str]:
    rank = ARGUMENT_ORDER.index(argument) if argument in ARGUMENT_ORDER else len(ARGUMENT_ORDER)
    return rank, argument


def send(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    # A form a real page could send: valid CSRF token, plausible fields.
    return client.post_form(url, {"name": "Mallory", "email": "mallory@evil.test"})


def everything_in_the_database() -> dict[str, list[tuple]]:
    db.session.expire_all()
    with db.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in db.metadata.sorted_tables
        }


def test_every_id_argument_has_a_factory(app):
    rules = id_rules()
    assert rules, "no route takes an id: the sweep below would prove nothing"
    arguments = {argument for rule in rules for argument in id_arguments(rule)}
    assert arguments <= set(ID_FACTORIES), sorted(arguments - set(ID_FACTORIES))


@pytest.mark.parametrize("who", ["owner", "therapist"])
def test_another_practice_gets_404_for_every_id(make_client, practice_a, practice_b, inbox, who):
    requests = build_requests(therapist_id_rules(), practice_a)
    outsider = make_client()
    outsider.login(practice_b.owner_email if who == "owner" else practice_b.therapist_email)
    before = everything_in_the_database()

    answers = {(method, url): send(outsider, method, url) for method, url in requests}

    wrong = {
        key: response.status_code
        for key, response in answers.items()
        if response.status_code != 404
    }
    assert not wrong, f"practice B's {who} was not answered 404: {wrong}"
    for response in answers.values():
        assert "Page not found" in page(response).text
    assert everything_in_the_database() == before  # nothing changed, nothing was audited
    assert inbox.messages == []

    # The same requests do reach real records: A's owner is not answered 404.
    owner = make_client()
    owner.login(practice_a.owner_email)
    for method, url in requests:
        status = send(owner, method, url).status_code
        assert status != 404 and status < 500, (method, url, status)


def test_a_therapist_gets_404_on_the_owner_only_routes_of_their_own_practice(
    make_client, practice_a, inbox
):
    rules = sorted(
        (
            rule
            for rule in current_app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in OWNER_ONLY_BLUEPRINTS
        ),
        key=lambda rule: rule.rule,
    )
    assert rules
    requests = build_requests(rules, practice_a)
    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    before = everything_in_the_database()

    for method, url in requests:
        response = send(therapist, method, url)
        assert response.status_code == 404, (method, url, response.status_code)

    assert everything_in_the_database() == before
    assert inbox.messages == []


def assert_reached(client, requests: list[tuple[str, str]]) -> None:
    """The requests name real records: someone allowed is not answered 404 (nor a 500)."""
    for method, url in requests:
        status = send(client, method, url).status_code
        assert status != 404 and status < 500, (method, url, status)


def couple_rules() -> list[Rule]:
    """The therapist's routes under a couple: the couple pages and its homework."""
    rules = [
        rule
        for rule in id_rules()
        if "couple_id" in rule.arguments and rule.endpoint.split(".")[0] != "portal"
    ]
    assert {rule.endpoint.split(".")[0] for rule in rules} >= {"couples", "homework"}
    assert rules, "no couple route takes an id: the sweep would prove nothing"
    return rules


def test_a_therapist_not_assigned_to_the_couple_gets_404_on_every_couple_route(
    make_client, practice_a, inbox
):
    requests = build_requests(couple_rules(), practice_a)  # couples assigned to someone else
    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    before = everything_in_the_database()

    answers = {(method, url): send(therapist, method, url) for method, url in requests}

    wrong = {key: r.status_code for key, r in answers.items() if r.status_code != 404}
    assert not wrong, f"an unassigned therapist was not answered 404: {wrong}"
    for response in answers.values():
        assert "Page not found" in page(response).text
    assert everything_in_the_database() == before
    assert inbox.messages == []

    owner = make_client()
    owner.login(practice_a.owner_email)  # the owner sees every couple of the practice
    assert_reached(owner, requests)


def sign_in_a_partner(
    client, practice: PracticeSet, therapist_id: int | None = None, **couple_fields
) -> dict:
    """A new couple of `practice` (assigned to `therapist_id`, or to a new therapist); its
    first partner signs in to the portal in `client`. Returns the ids and the link's token."""
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
        if therapist_id is not None:
            couple_fields["therapist"] = db.session.get(User, therapist_id)
    couple = CoupleFactory(practice=home, **couple_fields)
    ids = {"couple_id": couple.id, "partner_id": couple.partners[0].id}
    with practice_context(practice.practice_id):
        owner = db.session.get(User, practice.owner_id)
        _, token = portal_access.create_invite(owner, couple.partners[0], email_it=False)
    db.session.commit()
    assert client.post_form(f"/p/{token}").status_code == 302
    assert client.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    assert client.get("/portal").status_code == 200
    with practice_context(practice.practice_id):
        (ids["session_id"],) = db.session.scalars(
            select(PortalSession.id).where(PortalSession.partner_id == ids["partner_id"])
        ).all()
    ids["token"] = token
    return ids


def test_a_partner_in_the_portal_gets_no_therapist_data_from_any_id_route(
    make_client, practice_a, inbox
):
    partner = make_client()
    own = sign_in_a_partner(partner, practice_a)
    with partner.session_transaction() as session:
        assert "portal" in session
        assert "_user_id" not in session  # a portal session, and nothing else

    requests = build_requests(therapist_id_rules(), practice_a)
    # And the partner's own couple, partner and device, by their ids.
    adapter = current_app.url_map.bind("localhost")
    for rule in couple_rules():
        values = {argument: own[argument] for argument in rule.arguments if argument in own}
        for argument in sorted(set(rule.arguments) - set(values), key=_argument_rank):
            values[argument] = ID_FACTORIES[argument](practice_a, values)  # own couple's
        db.session.commit()
        requests.extend(
            (method, adapter.build(rule.endpoint, values))
            for method in rule.methods & SWEPT_METHODS
        )
    before = everything_in_the_database()

    for method, url in requests:
        response = send(partner, method, url)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, url)
    assert everything_in_the_database() == before
    assert inbox.messages == []
    assert partner.get("/portal").status_code == 200  # still signed in to the portal


def test_a_partner_of_one_couple_sees_nothing_of_another_through_the_portal(
    make_client, practice_a, practice_b
):
    therapist_id = practice_a.therapist_id
    x_browser = make_client()
    x = sign_in_a_partner(
        x_browser,
        practice_a,
        therapist_id,
        partner1_name="Xena",
        partner2_name="Xavier",
        therapist_notes="X's private note",  # the therapist's, even of one's own couple
    )
    secrets_of_y = ["Yardley household", "Yolanda", "Yusuf", "Y's private note"]
    y = sign_in_a_partner(
        make_client(),
        practice_a,
        therapist_id,  # the same therapist: only the couple tells them apart
        label=secrets_of_y[0],
        partner1_name=secrets_of_y[1],
        partner2_name=secrets_of_y[2],
        therapist_notes=secrets_of_y[3],
    )
    z = sign_in_a_partner(make_client(), practice_b, partner1_name="Zeno", partner2_name="Zara")
    secrets_of_others = [*secrets_of_y, "Zeno", "Zara", practice_b.practice_name, "X's private"]

    portal_rules = [
        rule
        for rule in current_app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] == "portal" and "GET" in rule.methods
    ]
    assert portal_rules
    unexpected = {
        rule.rule for rule in portal_rules if set(rule.arguments) - {"token", *PORTAL_ID_ARGUMENTS}
    }
    assert not unexpected, (
        f"portal routes take arguments the sweep does not know: {sorted(unexpected)}. "
        "Sweep them: the other couple's partner and the other partner must get 404."
    )
    adapter = current_app.url_map.bind("localhost")
    urls = []
    for rule in portal_rules:
        if set(rule.arguments) & PORTAL_ID_ARGUMENTS:
            continue  # swept by the tests below
        if "token" in rule.arguments:
            urls.append(adapter.build(rule.endpoint, {"token": x["token"]}))
        else:
            url = adapter.build(rule.endpoint, {})
            urls.append(url)
            # Ids in the query string name nothing in the portal.
            for key, value in (("couple_id", y["couple_id"]), ("partner_id", z["partner_id"])):
                urls.append(f"{url}?{key}={value}")
    urls.append("/portal/no-such-page")

    seen_own_names = False
    for url in urls:
        response = x_browser.get(url)
        assert response.status_code < 500, url
        html = unescape(response.get_data(as_text=True))
        for secret in secrets_of_others:
            assert secret not in html, (url, secret)
        seen_own_names = seen_own_names or "Xavier" in html
    assert seen_own_names, "the portal pages showed nothing of the partner's own couple"
    assert x_browser.get("/portal").status_code == 200


def portal_id_rules() -> list[Rule]:
    rules = [
        rule
        for rule in id_rules()
        if rule.endpoint.split(".")[0] == "portal" and set(rule.arguments) & PORTAL_ID_ARGUMENTS
    ]
    assert {a for rule in rules for a in rule.arguments} >= PORTAL_ID_ARGUMENTS
    return rules


def portal_requests_for(practice: PracticeSet, couple_id: int) -> list[tuple[str, str]]:
    """(method, url) for every portal id route, naming new records of the couple: a private
    apology draft of its first partner, an agreement for both."""
    adapter = current_app.url_map.bind("localhost")
    requests = []
    for rule in portal_id_rules():
        values: Built = {"couple_id": couple_id}
        for argument in sorted(rule.arguments, key=_argument_rank):
            values[argument] = ID_FACTORIES[argument](practice, values)
        del values["couple_id"]
        requests.extend(
            (method, adapter.build(rule.endpoint, values))
            for method in rule.methods & SWEPT_METHODS
        )
    db.session.commit()
    return sorted(requests)


def sign_in_second_partner(client, practice: PracticeSet, couple_id: int) -> None:
    with practice_context(practice.practice_id):
        partner = db.session.scalar(
            select(Partner).where(Partner.couple_id == couple_id, Partner.position == 2)
        )
        owner = db.session.get(User, practice.owner_id)
        _, token = portal_access.create_invite(owner, partner, email_it=False)
    db.session.commit()
    assert client.post_form(f"/p/{token}").status_code == 302
    assert client.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
    assert client.get("/portal").status_code == 200


def test_a_partner_of_another_couple_gets_404_on_every_portal_id_route(
    make_client, practice_a, practice_b, inbox
):
    author_browser = make_client()
    author = sign_in_a_partner(author_browser, practice_a, practice_a.therapist_id)
    requests = portal_requests_for(practice_a, author["couple_id"])
    browsers = {"same therapist": make_client(), "other practice": make_client()}
    sign_in_a_partner(browsers["same therapist"], practice_a, practice_a.therapist_id)
    sign_in_a_partner(browsers["other practice"], practice_b)
    before = everything_in_the_database()

    for name, browser in browsers.items():
        answers = {(m, u): send(browser, m, u) for m, u in requests}
        wrong = {key: r.status_code for key, r in answers.items() if r.status_code != 404}
        assert not wrong, f"a partner of another couple ({name}) was not answered 404: {wrong}"
        for response in answers.values():
            assert "Page not found" in page(response).text
    assert everything_in_the_database() == before
    assert inbox.messages == []

    # The same requests reach real records: the author is not answered 404 (nor a 500).
    assert_reached(author_browser, requests)


def test_the_other_partner_gets_404_on_a_private_piece_of_homework(make_client, practice_a, inbox):
    author_browser = make_client()
    author = sign_in_a_partner(author_browser, practice_a, practice_a.therapist_id)
    requests = portal_requests_for(practice_a, author["couple_id"])
    private = [
        (m, u) for m, u in requests if u.startswith(("/portal/homework/", "/portal/measures/"))
    ]
    shared = [(m, u) for m, u in requests if u.startswith("/portal/agreements/")]
    assert private and shared
    other = make_client()
    sign_in_second_partner(other, practice_a, author["couple_id"])
    before = everything_in_the_database()

    answers = {(m, u): send(other, m, u) for m, u in private}
    wrong = {key: r.status_code for key, r in answers.items() if r.status_code != 404}
    assert not wrong, f"the other partner reached a private draft: {wrong}"
    for response in answers.values():
        assert "Page not found" in page(response).text
    assert everything_in_the_database() == before
    assert inbox.messages == []

    assert_reached(author_browser, private)
    assert_reached(other, shared)  # an agreement is both partners' to accept

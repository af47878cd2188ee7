"""Couples through HTTP: the caseload, adding and editing a case, closing and reopening it,
assigning therapists, partners' personal links and devices, the audit trail.

Real database, real SMTP server (the inbox), the app's own CSRF and sessions.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from practice.extensions import db
from practice.models import (
    AuditEvent,
    Couple,
    Partner,
    PartnerInvite,
    PortalSession,
    Practice,
    User,
)
from practice.models.base import utcnow
from practice.security import hash_token
from practice.services import portal_access
from practice.tenancy import practice_context, unscoped
from tests.blueprints.conftest import PracticeSet, link_path, page
from tests.conftest import BASE_URL
from tests.couple_factories import CoupleFactory, CoupleIds, bulk_couples
from tests.factories import UserFactory

LONG = "x" * 5000
NOBODY = object()  # "assigned to no therapist"
RESET_MESSAGE = "Some filters were not understood and were reset."
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile Safari/604.1"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCRIPT = '<script>alert("{}")</script>'


# --- helpers -------------------------------------------------------------------------------------


def location(response) -> str:
    return response.headers["Location"]


def add_couple(practice: PracticeSet, *, therapist=None, **fields) -> CoupleIds:
    """A couple of `practice`, assigned to its therapist (or to `therapist`, a user id, or to
    NOBODY); committed."""
    therapist = practice.therapist_id if therapist is None else therapist
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
        assigned = None if therapist is NOBODY else db.session.get(User, therapist)
    couple = CoupleFactory(practice=home, therapist=assigned, **fields)
    ids = CoupleIds.of(couple)
    db.session.commit()
    return ids


def another_therapist(practice: PracticeSet, name: str = "Uma Other") -> int:
    with unscoped():
        home = db.session.get(Practice, practice.practice_id)
    user = UserFactory(practice=home, name=name)
    user_id = user.id
    db.session.commit()
    return user_id


def email_of(user_id: int) -> str:
    with unscoped():
        return db.session.get(User, user_id).email


def personal_link(ids: CoupleIds, position: int = 1, *, actor_id: int | None = None) -> str:
    """Make a personal link through the service, as the couple page does; return its token."""
    with practice_context(ids.practice_id):
        actor = db.session.get(User, actor_id or ids.therapist_ids[0])
        partner = db.session.get(Partner, ids.partner_ids[position - 1])
        _, token = portal_access.create_invite(actor, partner, email_it=False)
        db.session.commit()
    return token


def enter_portal(client, token: str, user_agent: str = PHONE) -> None:
    """Use a personal link in this browser and acknowledge the privacy notice."""
    response = client.post_form(f"/p/{token}", headers={"User-Agent": user_agent})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert location(response) == "/portal"
    home = client.get("/portal")
    if home.status_code == 302:  # the first time on any device: the privacy notice
        assert location(home) == "/portal/privacy"
        assert client.post_form("/portal/privacy", {"understood": "y"}).status_code == 302
        home = client.get("/portal")
    assert home.status_code == 200


def in_portal(client) -> bool:
    response = client.get("/portal")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/portal/signed-out"
    return False


def link_works(token: str, make_client) -> bool:
    response = make_client().get(f"/p/{token}")
    if response.status_code == 404:
        assert "This link no longer works" in page(response).text
        return False
    assert response.status_code == 200
    return True


def couple_row(couple_id: int) -> dict:
    db.session.expire_all()
    with unscoped():
        couple = db.session.get(Couple, couple_id)
        return {
            "label": couple.label,
            "status": couple.status,
            "presenting_concern": couple.presenting_concern,
            "start_date": couple.start_date,
            "time_zone": couple.time_zone,
            "therapist_notes": couple.therapist_notes,
            "partners": [
                (p.display_name, p.email, p.repair_role, p.time_zone) for p in couple.partners
            ],
            "assigned": sorted(a.user_id for a in couple.assignments),
        }


def couple_count() -> int:
    with unscoped():
        return db.session.scalar(select(func.count()).select_from(Couple))


def audit_actions(couple_id: int) -> list[str]:
    """What was done to the couple's records (who merely read them: test_access_log.py)."""
    with unscoped():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.couple_id == couple_id, AuditEvent.action.not_like("%.viewed"))
                .order_by(AuditEvent.id)
            )
        )


def live_sessions(partner_id: int) -> list[int]:
    with unscoped():
        return list(
            db.session.scalars(
                select(PortalSession.id)
                .where(PortalSession.partner_id == partner_id, PortalSession.ended_at.is_(None))
                .order_by(PortalSession.id)
            )
        )


def shown_labels(response) -> list[str]:
    """The couples listed on a caseload page, in order."""
    html = response.get_data(as_text=True)
    found = re.findall(r'class="strong-link" href="/couples/\d+">([^<]*)</a>', html)
    return [unescape(label) for label in found]


def checkboxes(html: str, name: str = "therapist_ids") -> dict[int, bool]:
    """The checkboxes named `name` on a page: value -> ticked."""
    found = {}
    for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', html):
        value = int(re.search(r'value="(\d+)"', tag).group(1))
        found[value] = " checked" in tag
    return found


def shown_link(response) -> str:
    match = re.search(r'id="invite-link" type="text" value="([^"]+)"', response.get_data(True))
    assert match, "the new link is shown on the page"
    return match.group(1)


# --- the caseload --------------------------------------------------------------------------------


def test_the_owner_sees_every_couple_and_a_therapist_only_the_assigned_ones(
    make_client, practice_a, practice_b
):
    uma = another_therapist(practice_a)
    add_couple(practice_a, label="Mine")
    theirs = add_couple(practice_a, therapist=uma, label="Theirs")
    unassigned = add_couple(practice_a, therapist=NOBODY, label="Nobody's")
    elsewhere = add_couple(practice_b, label="Elsewhere")

    owner = make_client()
    owner.login(practice_a.owner_email)
    response = owner.get("/couples")
    assert response.status_code == 200
    assert sorted(shown_labels(response)) == ["Mine", "Nobody's", "Theirs"]
    assert "3 couples" in page(response).text
    assert owner.get(f"/couples/{unassigned.id}").status_code == 200
    assert owner.get(f"/couples/{elsewhere.id}").status_code == 404

    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    response = therapist.get("/couples")
    assert shown_labels(response) == ["Mine"]
    assert "1 couple." in page(response).text
    for hidden in (theirs, unassigned, elsewhere):
        assert therapist.get(f"/couples/{hidden.id}").status_code == 404

    other = make_client()
    other.login(email_of(uma))
    assert shown_labels(other.get("/couples")) == ["Theirs"]


@pytest.fixture
def three_couples(practice_a):
    """Alpha (active, A's therapist), Bravo (paused, Uma), Charlie (closed, A's therapist)."""
    uma = another_therapist(practice_a)
    now = utcnow()
    add_couple(
        practice_a,
        label="Alpha",
        start_date=date(2025, 1, 6),
        partner1_name="Marguerite",
        last_activity_at=now - timedelta(days=3),
    )
    add_couple(
        practice_a,
        therapist=uma,
        label="Bravo",
        status="paused",
        start_date=date(2026, 1, 5),
        partner2_name="Émile",
        last_activity_at=now - timedelta(hours=1),
    )
    add_couple(practice_a, label="Charlie", status="closed", start_date=date(2026, 6, 1))
    return {"T": practice_a.therapist_id, "U": uma}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "Bravo"]),
        ("?status=open", ["Alpha", "Bravo"]),
        ("?status=active", ["Alpha"]),
        ("?status=paused", ["Bravo"]),
        ("?status=closed", ["Charlie"]),
        ("?status=all", ["Alpha", "Bravo", "Charlie"]),
        ("?status=all&sort=label", ["Alpha", "Bravo", "Charlie"]),
        ("?status=all&sort=start", ["Charlie", "Bravo", "Alpha"]),
        ("?status=all&sort=recent", ["Bravo", "Alpha", "Charlie"]),
        ("?status=all&sort=status", ["Alpha", "Charlie", "Bravo"]),
        ("?status=all&therapist={T}", ["Alpha", "Charlie"]),
        ("?therapist={U}", ["Bravo"]),
        ("?therapist=", ["Alpha", "Bravo"]),
        ("?q=ALPH", ["Alpha"]),
        ("?q=marg", ["Alpha"]),
        ("?q=%20%20bravo%20%20", ["Bravo"]),
        ("?q=mile", ["Bravo"]),
        ("?q=%C3%A9MILE", ["Bravo"]),  # éMILE: case-insensitive beyond ASCII too
        ("?q=%C3%89mile", ["Bravo"]),
        ("?q=%25", []),
        ("?q=_", []),
        ("?q=zzz&status=all", []),
    ],
)
def test_the_caseload_filters_and_sorts(owner_client, three_couples, query, expected):
    response = owner_client.get("/couples" + query.format(**three_couples))
    assert response.status_code == 200
    assert shown_labels(response) == expected
    if not expected:
        assert "No couples match" in page(response).text


def test_the_filter_form_shows_the_filters_in_use(owner_client, three_couples):
    response = owner_client.get(
        f"/couples?status=all&therapist={three_couples['U']}&q=bra&sort=start"
    )
    shown = page(response)
    assert shown.values["q"] == "bra"
    assert shown.selected["status"] == "all"
    assert shown.selected["therapist"] == str(three_couples["U"])
    assert shown.selected["sort"] == "start"
    assert "Clear filters" in shown.text


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=0",
        "page=-3",
        "page=1.5",
        "page=99999999999999999999",
        "status=nope",
        "status=",
        "sort=x",
        "sort=label;drop table couples",
        "therapist=abc",
        "therapist=-1",
        "therapist=999999",
        "q=" + "x" * 500,
        "q=alpha&status=nope&page=abc",
    ],
)
def test_a_garbage_filter_value_gets_a_clear_message_never_a_500(
    owner_client, three_couples, query
):
    response = owner_client.get(f"/couples?{query}")
    assert response.status_code == 302
    assert location(response) == "/couples"
    follow = owner_client.get(location(response))
    assert follow.status_code == 200
    assert RESET_MESSAGE in page(follow).text
    assert shown_labels(follow) == ["Alpha", "Bravo"]


def test_filtering_by_a_therapist_of_another_practice_is_not_understood(
    owner_client, three_couples, practice_b
):
    response = owner_client.get(f"/couples?therapist={practice_b.therapist_id}")
    assert response.status_code == 302
    assert RESET_MESSAGE in page(owner_client.get(location(response))).text


def test_a_null_character_in_a_filter_is_refused_with_a_page(owner_client, three_couples):
    response = owner_client.get("/couples?q=al%00pha")
    assert response.status_code == 400
    assert "invisible control character" in page(response).text


def test_pagination_links_keep_the_filters(owner_client, practice_a):
    uma = another_therapist(practice_a)
    bulk_couples(practice_a.practice_id, 55, therapist_ids=[practice_a.therapist_id])
    add_couple(practice_a, therapist=uma, label="Bulk couple of Uma")
    add_couple(practice_a, label="Unrelated")
    db.session.commit()
    filters = {
        "q": "bulk",
        "status": "all",
        "therapist": str(practice_a.therapist_id),
        "sort": "start",
    }
    query = "&".join(f"{key}={value}" for key, value in filters.items())

    first = owner_client.get(f"/couples?{query}")
    assert first.status_code == 200
    assert len(shown_labels(first)) == 50
    assert shown_labels(first)[0] == "Bulk couple 0054"  # newest start first
    assert "Page 1 of 2" in page(first).text
    assert 'rel="prev"' not in first.get_data(as_text=True)
    next_url = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1)
    next_url = next_url.replace("&amp;", "&")
    assert parse_qs(urlsplit(next_url).query) == {
        **{key: [value] for key, value in filters.items()},
        "page": ["2"],
    }

    second = owner_client.get(next_url)
    assert shown_labels(second) == [f"Bulk couple {n:04d}" for n in range(4, -1, -1)]
    assert "Page 2 of 2" in page(second).text
    assert "55 couples match these filters" in page(second).text
    assert 'rel="next"' not in second.get_data(as_text=True)
    prev_url = re.search(r'href="([^"]+)" rel="prev"', second.get_data(as_text=True)).group(1)
    prev_url = prev_url.replace("&amp;", "&")
    assert parse_qs(urlsplit(prev_url).query) == {
        **{key: [value] for key, value in filters.items()},
        "page": ["1"],
    }


def test_an_empty_caseload_says_how_to_start(owner_client, therapist_client, practice_a):
    for client in (owner_client, therapist_client):
        response = client.get("/couples")
        assert response.status_code == 200
        text = page(response).text
        assert "No couples yet" in text
        assert "0 couples." in text
        assert 'href="/couples/new"' in response.get_data(as_text=True)


def test_a_therapist_with_no_assigned_couple_sees_the_empty_state(therapist_client, practice_a):
    add_couple(practice_a, therapist=NOBODY, label="Not yours")
    response = therapist_client.get("/couples")
    assert shown_labels(response) == []
    assert "No couples yet" in page(response).text
    assert "Not yours" not in response.get_data(as_text=True)


def test_a_page_past_the_end_offers_the_first_page_with_the_same_filters(
    owner_client, three_couples
):
    response = owner_client.get("/couples?page=7&sort=start")
    assert response.status_code == 200
    assert shown_labels(response) == []
    assert "This page is empty" in page(response).text
    back = re.search(r'<a href="([^"]+)">Back to the first page', response.get_data(True))
    assert parse_qs(urlsplit(back.group(1).replace("&amp;", "&")).query) == {"sort": ["start"]}


# --- adding a couple -----------------------------------------------------------------------------


def couple_form(**overrides) -> dict:
    data = {
        "label": "Ann & Sam",
        "presenting_concern": "affair",
        "start_date": "2026-03-02",
        "time_zone": "Europe/London",
        "therapist_notes": "Referred by their GP.\nFirst session in March.",
        "partner1-display_name": "Ann",
        "partner1-email": "ann@example.com",
        "partner1-repair_role": "hurt",
        "partner1-time_zone": "Europe/London",
        "partner2-display_name": "Sam",
        "partner2-email": "sam@example.com",
        "partner2-repair_role": "broke_trust",
        "partner2-time_zone": "Europe/Berlin",
    }
    data.update(overrides)
    return data


def test_the_add_couple_form_renders_with_sensible_defaults(owner_client, practice_a):
    response = owner_client.get("/couples/new")
    assert response.status_code == 200
    shown = page(response)
    assert "csrf_token" in shown.values
    assert shown.selected["time_zone"] == "Europe/London"  # the practice's
    assert shown.selected["partner1-repair_role"] == "hurt"
    assert shown.selected["partner2-repair_role"] == "broke_trust"
    assert shown.values["start_date"] == utcnow().date().isoformat()
    boxes = checkboxes(response.get_data(as_text=True))
    assert boxes == {practice_a.owner_id: True, practice_a.therapist_id: False}


def test_the_owner_adds_a_couple_and_assigns_therapists(owner_client, make_client, practice_a):
    response = owner_client.post_form(
        "/couples/new", couple_form(therapist_ids=[str(practice_a.therapist_id)])
    )
    assert response.status_code == 302
    couple_id = int(re.fullmatch(r"/couples/(\d+)", location(response)).group(1))

    shown = owner_client.get(location(response))
    assert "Ann & Sam is in your caseload" in page(shown).text
    assert couple_row(couple_id) == {
        "label": "Ann & Sam",
        "status": "active",
        "presenting_concern": "affair",
        "start_date": date(2026, 3, 2),
        "time_zone": "Europe/London",
        "therapist_notes": "Referred by their GP.\nFirst session in March.",
        "partners": [
            ("Ann", "ann@example.com", "hurt", "Europe/London"),
            ("Sam", "sam@example.com", "broke_trust", "Europe/Berlin"),
        ],
        "assigned": [practice_a.therapist_id],
    }
    assert audit_actions(couple_id) == ["couple.created", "couple.assigned"]

    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    assert therapist.get(f"/couples/{couple_id}").status_code == 200


def test_a_therapist_adding_a_couple_takes_it_on_alone(therapist_client, practice_a):
    uma = another_therapist(practice_a)
    form = therapist_client.get("/couples/new")
    assert 'name="therapist_ids"' not in form.get_data(as_text=True)  # only the owner assigns

    response = therapist_client.post_form(
        "/couples/new", couple_form(therapist_ids=[str(uma), str(practice_a.owner_id)])
    )
    assert response.status_code == 302
    couple_id = int(location(response).rsplit("/", 1)[1])
    assert couple_row(couple_id)["assigned"] == [practice_a.therapist_id]


def test_unicode_names_are_kept_as_typed(owner_client):
    response = owner_client.post_form(
        "/couples/new",
        couple_form(
            **{
                "label": "Zoë & Łukasz 心",
                "partner1-display_name": "Zoë Ñandú",
                "partner2-display_name": "Łukasz 💜",
                "partner1-email": "",
                "partner2-email": "",
            }
        ),
    )
    assert response.status_code == 302
    text = page(owner_client.get(location(response))).text
    assert "Zoë & Łukasz 心" in text
    assert "Zoë Ñandú" in text
    assert "Łukasz 💜" in text
    row = couple_row(int(location(response).rsplit("/", 1)[1]))
    assert row["label"] == "Zoë & Łukasz 心"
    assert [partner[1] for partner in row["partners"]] == [None, None]  # no email is fine


ADD_BAD_INPUT = [
    pytest.param(
        couple_form(
            **dict.fromkeys(
                ["label", "start_date", "partner1-display_name", "partner2-display_name"], ""
            )
        ),
        {
            "label": "Give the couple a label.",
            "start_date": "Enter a date",
            "partner1-display_name": "Enter a name.",
            "partner2-display_name": "Enter a name.",
        },
        id="empty",
    ),
    pytest.param(
        couple_form(
            **{"label": "   ", "partner1-display_name": "\t", "partner2-display_name": " "}
        ),
        {
            "label": "Give the couple a label.",
            "partner1-display_name": "Enter a name.",
            "partner2-display_name": "Enter a name.",
        },
        id="blank",
    ),
    pytest.param(
        couple_form(
            **{
                "label": LONG,
                "partner1-display_name": LONG,
                "partner2-email": LONG + "@example.com",
                "therapist_notes": "n" * 20001,
            }
        ),
        {
            "label": "longer than 120",
            "partner1-display_name": "longer than 80",
            "partner2-email": "valid email",
            "therapist_notes": "Keep notes under 20,000 characters.",
        },
        id="overlong",
    ),
    pytest.param(
        couple_form(**{"partner1-email": "ann.example.com", "partner2-email": "sam @example.com"}),
        {
            "partner1-email": "Enter a valid email, or leave it empty.",
            "partner2-email": "Enter a valid email, or leave it empty.",
        },
        id="invalid-emails",
    ),
    pytest.param(
        couple_form(**{"partner1-email": "Ann@Example.com", "partner2-email": "ann@example.com"}),
        {"partner2-email": "Each partner needs their own email address."},
        id="same-email",
    ),
    pytest.param(
        couple_form(**{"partner2-repair_role": "hurt"}),
        {"partner2-repair_role": "Roles must pair up"},
        id="both-hurt",
    ),
    pytest.param(
        couple_form(**{"partner1-repair_role": "mutual"}),
        {"partner2-repair_role": "Roles must pair up"},
        id="mutual-and-broke-trust",
    ),
    pytest.param(
        couple_form(
            **{
                "presenting_concern": "boredom",
                "time_zone": "Mars/Olympus_Mons",
                "partner1-repair_role": "villain",
                "partner2-time_zone": "",
            }
        ),
        {
            "presenting_concern": "Not a valid choice",
            "time_zone": "Not a valid choice",
            "partner1-repair_role": "Not a valid choice",
            "partner2-time_zone": "Not a valid choice",
        },
        id="garbage-choices",
    ),
    pytest.param(
        couple_form(start_date="28/11/2026"),
        {"start_date": "Enter a date, e.g. 2026-11-28."},
        id="date-in-another-format",
    ),
    pytest.param(
        couple_form(start_date="2026-02-30"),
        {"start_date": "Enter a date"},
        id="impossible-date",
    ),
    pytest.param(
        {"label": "Only a label"},
        {
            "start_date": "Enter a date",
            "partner1-display_name": "Enter a name.",
            "partner2-display_name": "Enter a name.",
            "presenting_concern": "Not a valid choice",
            "time_zone": "Not a valid choice",
            "partner1-repair_role": "Not a valid choice",
            "partner1-time_zone": "Not a valid choice",
            "partner2-repair_role": "Not a valid choice",
            "partner2-time_zone": "Not a valid choice",
        },
        id="missing-fields",
    ),
]
TYPED_FIELDS = (
    "label",
    "start_date",
    "therapist_notes",
    "partner1-display_name",
    "partner1-email",
    "partner2-display_name",
    "partner2-email",
)


def assert_errors_beside_fields(response, expected: dict[str, str], sent: dict) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    shown = page(response)
    assert set(shown.errors) == set(expected), shown.errors
    for field, words in expected.items():
        assert words in shown.errors[field], (field, shown.errors[field])
    assert not shown.form_errors
    for field in TYPED_FIELDS:
        if field in sent:
            assert shown.values[field] == sent[field], field


@pytest.mark.parametrize(("data", "expected"), ADD_BAD_INPUT)
@pytest.mark.parametrize("who", ["owner", "therapist"])
def test_bad_input_on_the_add_form_is_shown_beside_the_field(
    make_client, practice_a, who, data, expected
):
    client = make_client()
    client.login(practice_a.owner_email if who == "owner" else practice_a.therapist_email)
    response = client.post_form("/couples/new", data)
    assert_errors_beside_fields(response, expected, data)
    assert couple_count() == 0


def test_errors_far_down_a_long_form_are_listed_at_its_top(owner_client, practice_a):
    data = couple_form(label="", **{"partner2-email": "sam at example"})

    response = owner_client.post_form("/couples/new", data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    start = html.index('class="error-summary"')
    summary = html[start : html.index("</ul>", start)]
    assert start < html.index('name="label"')  # above the form, where the eye starts
    assert "2 details need a look" in summary
    assert 'href="#label"' in summary
    assert '<a href="#partner2-email">Second partner · Email' in summary
    assert 'id="partner2-email"' in html  # each link lands on its field


def test_a_short_form_keeps_its_error_beside_the_field_only(make_client, practice_a):
    response = make_client().post_form("/login", {"email": "", "password": ""})
    assert "error-summary" not in response.get_data(as_text=True)


@pytest.mark.parametrize("chosen", ["other-practice", "deactivated", "not-a-number"])
def test_the_owner_can_only_assign_active_therapists_of_the_practice(
    owner_client, practice_a, practice_b, chosen
):
    if chosen == "other-practice":
        value = str(practice_b.therapist_id)
    elif chosen == "deactivated":
        with unscoped():
            home = db.session.get(Practice, practice_a.practice_id)
        value = str(UserFactory(practice=home, active=False).id)
        db.session.commit()
    else:
        value = "abc"
    data = couple_form(therapist_ids=[value])
    response = owner_client.post_form("/couples/new", data)
    assert response.status_code == 422
    shown = page(response)
    assert set(shown.errors) == {"therapist_ids"}
    assert shown.values["label"] == "Ann & Sam"
    assert couple_count() == 0


def test_adding_a_couple_without_a_csrf_token_is_refused(owner_client):
    response = owner_client.post("/couples/new", data=couple_form())
    assert response.status_code == 400
    assert "This form has expired" in page(response).text
    assert couple_count() == 0


def test_a_null_character_in_the_add_form_is_refused_with_a_page(owner_client):
    response = owner_client.post_form("/couples/new", couple_form(label="Ann\x00"))
    assert response.status_code == 400
    assert couple_count() == 0


# --- editing -------------------------------------------------------------------------------------


@pytest.fixture
def couple(practice_a) -> CoupleIds:
    return add_couple(
        practice_a,
        label="Kim & Lee",
        partner1_name="Kim",
        partner2_name="Lee",
        partner1_email="kim@example.com",
        therapist_notes="Kim found the messages in May.",
    )


def edit_form(**overrides) -> dict:
    data = {
        "label": "Kim & Lee",
        "presenting_concern": "affair",
        "start_date": "2026-01-05",
        "time_zone": "Europe/London",
        "status": "active",
        "therapist_notes": "Kim found the messages in May.",
        "partner1-display_name": "Kim",
        "partner1-email": "kim@example.com",
        "partner1-repair_role": "hurt",
        "partner1-time_zone": "Europe/London",
        "partner2-display_name": "Lee",
        "partner2-email": "",
        "partner2-repair_role": "broke_trust",
        "partner2-time_zone": "Europe/London",
    }
    data.update(overrides)
    return data


def test_the_edit_form_shows_the_current_details(therapist_client, couple):
    response = therapist_client.get(f"/couples/{couple.id}/edit")
    assert response.status_code == 200
    shown = page(response)
    assert shown.values["label"] == "Kim & Lee"
    assert shown.values["partner1-display_name"] == "Kim"
    assert shown.values["partner1-email"] == "kim@example.com"
    assert shown.values["partner2-display_name"] == "Lee"
    assert shown.values["therapist_notes"] == "Kim found the messages in May."
    assert shown.selected["status"] == "active"
    assert shown.selected["partner1-repair_role"] == "hurt"
    assert 'name="therapist_ids"' not in response.get_data(as_text=True)


def test_editing_saves_the_details(therapist_client, couple):
    response = therapist_client.post_form(
        f"/couples/{couple.id}/edit",
        edit_form(
            **{
                "label": "Kim & Lee (2)",
                "status": "paused",
                "therapist_notes": "Paused over the summer.",
                "partner2-email": "Lee@Example.com",
                "partner2-time_zone": "Asia/Tokyo",
            }
        ),
    )
    assert response.status_code == 302
    assert location(response) == f"/couples/{couple.id}"
    assert "Saved." in page(therapist_client.get(location(response))).text
    row = couple_row(couple.id)
    assert row["label"] == "Kim & Lee (2)"
    assert row["status"] == "paused"
    assert row["therapist_notes"] == "Paused over the summer."
    assert row["partners"][1] == ("Lee", "lee@example.com", "broke_trust", "Asia/Tokyo")
    assert audit_actions(couple.id)[-3:] == [
        "couple.paused",
        "partner.email_changed",
        "couple.updated",
    ]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"label": ""}, {"label": "Give the couple a label."}),
        ({"status": "closed"}, {"status": "Not a valid choice"}),
        ({"partner1-repair_role": "broke_trust"}, {"partner2-repair_role": "Roles must pair up"}),
        (
            {"partner1-email": "kim@", "partner2-display_name": LONG},
            {"partner1-email": "valid email", "partner2-display_name": "longer than 80"},
        ),
    ],
    ids=["empty-label", "status-closed", "roles", "email-and-long-name"],
)
def test_bad_input_on_the_edit_form_changes_nothing(therapist_client, couple, overrides, expected):
    before = couple_row(couple.id)
    data = edit_form(**{"therapist_notes": "A new note, typed before the mistake."} | overrides)
    response = therapist_client.post_form(f"/couples/{couple.id}/edit", data)
    assert_errors_beside_fields(response, expected, data)
    assert couple_row(couple.id) == before


def test_a_closed_couple_cannot_be_edited_until_reopened(therapist_client, couple):
    assert therapist_client.post_form(f"/couples/{couple.id}/close").status_code == 302
    before = couple_row(couple.id)
    for response in (
        therapist_client.get(f"/couples/{couple.id}/edit"),
        therapist_client.post_form(f"/couples/{couple.id}/edit", edit_form(label="Changed")),
    ):
        assert response.status_code == 302
        assert location(response) == f"/couples/{couple.id}"
    shown = page(therapist_client.get(f"/couples/{couple.id}")).text
    assert "Reopen the couple to edit it." in shown
    assert couple_row(couple.id) == before


# --- closing and reopening -----------------------------------------------------------------------


def test_closing_ends_both_partners_links_and_sessions_and_reopening_needs_new_links(
    therapist_client, make_client, couple
):
    tokens = [personal_link(couple, 1), personal_link(couple, 2)]
    partners = [make_client(), make_client()]
    for browser, token in zip(partners, tokens, strict=True):
        enter_portal(browser, token)

    no_token = therapist_client.post(f"/couples/{couple.id}/close")
    assert no_token.status_code == 400
    assert couple_row(couple.id)["status"] == "active"

    response = therapist_client.post_form(f"/couples/{couple.id}/close")
    assert response.status_code == 302
    assert location(response) == f"/couples/{couple.id}"
    shown = therapist_client.get(location(response))
    text = page(shown).text
    assert "Kim & Lee is closed" in text
    assert "Reopen" in text
    assert "Create personal link" not in text
    assert couple_row(couple.id)["status"] == "closed"

    for browser, token in zip(partners, tokens, strict=True):
        assert not in_portal(browser)
        assert not link_works(token, make_client)
    assert live_sessions(couple.partner_ids[0]) == live_sessions(couple.partner_ids[1]) == []
    assert shown_labels(therapist_client.get("/couples")) == []
    assert shown_labels(therapist_client.get("/couples?status=closed")) == ["Kim & Lee"]

    response = therapist_client.post_form(f"/couples/{couple.id}/reopen")
    assert response.status_code == 302
    assert "active again" in page(therapist_client.get(location(response))).text
    assert couple_row(couple.id)["status"] == "active"
    for token in tokens:
        assert not link_works(token, make_client)  # old links stay dead
    fresh = personal_link(couple, 1)
    assert link_works(fresh, make_client)
    assert audit_actions(couple.id).count("couple.closed") == 1
    assert "couple.reopened" in audit_actions(couple.id)


# --- assigning therapists ------------------------------------------------------------------------


def test_the_owner_reassigns_a_couple(owner_client, make_client, practice_a, couple):
    uma = another_therapist(practice_a)
    therapist = make_client()
    therapist.login(practice_a.therapist_email)
    other = make_client()
    other.login(email_of(uma))
    assert therapist.get(f"/couples/{couple.id}").status_code == 200
    assert other.get(f"/couples/{couple.id}").status_code == 404

    response = owner_client.post_form(f"/couples/{couple.id}/therapists", {"therapist_ids": [uma]})
    assert response.status_code == 302
    assert "Assignments saved." in page(owner_client.get(location(response))).text
    assert couple_row(couple.id)["assigned"] == [uma]
    assert therapist.get(f"/couples/{couple.id}").status_code == 404
    assert other.get(f"/couples/{couple.id}").status_code == 200
    with unscoped():
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.couple_id == couple.id, AuditEvent.action == "couple.assigned")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.details == {"added": [uma], "removed": [practice_a.therapist_id]}
        assert event.actor_user_id == practice_a.owner_id


@pytest.mark.parametrize("chosen", ["nobody", "other-practice"])
def test_a_bad_assignment_is_refused_with_a_message(
    owner_client, practice_a, practice_b, couple, chosen
):
    data = {} if chosen == "nobody" else {"therapist_ids": [practice_b.therapist_id]}
    response = owner_client.post_form(f"/couples/{couple.id}/therapists", data)
    assert response.status_code == 302
    text = page(owner_client.get(location(response))).text
    expected = "Assign at least one therapist." if chosen == "nobody" else "Choose therapists"
    assert expected in text
    assert couple_row(couple.id)["assigned"] == [practice_a.therapist_id]


def test_a_therapist_cannot_assign_even_on_their_own_couple(therapist_client, practice_a, couple):
    uma = another_therapist(practice_a)
    shown = therapist_client.get(f"/couples/{couple.id}")
    assert "Assigned therapists" not in page(shown).text
    response = therapist_client.post_form(
        f"/couples/{couple.id}/therapists",
        {"therapist_ids": [practice_a.therapist_id, uma]},
    )
    assert response.status_code == 404
    assert couple_row(couple.id)["assigned"] == [practice_a.therapist_id]


# --- personal links ------------------------------------------------------------------------------


def invite_url(couple: CoupleIds, position: int = 1) -> str:
    return f"/couples/{couple.id}/partners/{couple.partner_ids[position - 1]}/invite"


def test_a_personal_link_is_shown_once(therapist_client, make_client, couple, inbox):
    response = therapist_client.post_form(invite_url(couple))
    assert response.status_code == 200
    assert "This is the only time the link is shown" in page(response).text
    link = shown_link(response)
    assert link.startswith(f"{BASE_URL}/p/")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    assert inbox.messages == []  # not asked to email it

    welcome = make_client().get(link_path(link))
    assert welcome.status_code == 200
    assert "Welcome, Kim" in page(welcome).text

    # Afterwards the link is nowhere: not on the couple page, not in the database.
    for url in (f"/couples/{couple.id}", "/couples", "/dashboard"):
        assert token not in therapist_client.get(url).get_data(as_text=True)
    with unscoped():
        invite = db.session.scalar(
            select(PartnerInvite).where(PartnerInvite.partner_id == couple.partner_ids[0])
        )
        assert invite.token_hash == hash_token(token)
        assert invite.pending_email is None
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            assert token not in repr(connection.execute(table.select()).all()), table.name
    assert "partner.invite_created" in audit_actions(couple.id)
    shown = page(therapist_client.get(f"/couples/{couple.id}")).text
    assert "Invited · not opened yet" in shown


def test_a_new_link_voids_the_previous_one(therapist_client, make_client, couple):
    first = shown_link(therapist_client.post_form(invite_url(couple)))
    second = shown_link(therapist_client.post_form(invite_url(couple)))
    assert first != second
    assert not link_works(first.rsplit("/", 1)[1], make_client)
    assert link_works(second.rsplit("/", 1)[1], make_client)


@pytest.mark.parametrize(
    "foreign_host",
    [{"headers": {"Host": "evil.example"}}, {"base_url": "http://evil.example"}],
    ids=["host-header", "base-url"],
)
def test_also_email_sends_a_link_built_from_the_configured_site(
    make_client, practice_a, couple, inbox, foreign_host
):
    # A browser that reached the app under a foreign host name: its own cookie, its own token.
    browser = make_client()
    token = page(browser.get("/login", **foreign_host)).values["csrf_token"]
    signed_in = browser.post(
        "/login",
        data={
            "email": practice_a.therapist_email,
            "password": "correct horse battery",
            "csrf_token": token,
        },
        **foreign_host,
    )
    assert signed_in.status_code == 302
    token = page(browser.get(f"/couples/{couple.id}", **foreign_host)).values["csrf_token"]

    response = browser.post(
        invite_url(couple), data={"csrf_token": token, "email_it": "y"}, **foreign_host
    )
    assert response.status_code == 200
    shown = shown_link(response)
    assert shown.startswith(f"{BASE_URL}/p/")
    assert "We are also emailing it to kim@example.com" in page(response).text

    (message,) = inbox.messages
    assert message["To"] == "kim@example.com"
    assert "evil.example" not in message.get_content()
    (emailed,) = inbox.links()
    assert emailed == shown
    assert "Kim" in message.get_content()

    assert make_client().get(link_path(emailed)).status_code == 200
    with unscoped():
        invite = db.session.scalar(
            select(PartnerInvite).where(PartnerInvite.partner_id == couple.partner_ids[0])
        )
        assert invite.pending_email is None  # the encrypted copy is erased once sent
        assert invite.emailed_at is not None
    assert "partner.invite_emailed" in audit_actions(couple.id)


def test_also_email_without_an_address_is_refused_and_makes_no_link(
    therapist_client, couple, inbox
):
    response = therapist_client.post_form(invite_url(couple, 2), {"email_it": "y"})
    assert response.status_code == 302
    assert location(response) == f"/couples/{couple.id}"
    assert "Add an email for Lee first." in page(therapist_client.get(location(response))).text
    assert inbox.messages == []
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(PartnerInvite)) == 0


def test_the_email_checkbox_is_offered_only_for_a_partner_with_an_email(therapist_client, couple):
    html = therapist_client.get(f"/couples/{couple.id}").get_data(as_text=True)
    assert html.count('name="email_it"') == 1
    assert "Also email it to kim@example.com" in html


def test_a_link_cannot_be_made_without_a_csrf_token(therapist_client, couple):
    response = therapist_client.post(invite_url(couple), data={"email_it": "y"})
    assert response.status_code == 400
    with unscoped():
        assert db.session.scalar(select(func.count()).select_from(PartnerInvite)) == 0


def test_voiding_a_link_keeps_devices_already_signed_in(therapist_client, make_client, couple):
    token = personal_link(couple)
    phone = make_client()
    enter_portal(phone, token)

    response = therapist_client.post_form(
        f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/invite/revoke"
    )
    assert response.status_code == 302
    assert "Kim's link no longer works." in page(therapist_client.get(location(response))).text
    assert not link_works(token, make_client)
    assert in_portal(phone)
    assert "partner.invite_revoked" in audit_actions(couple.id)


def test_revoking_all_access_signs_the_partner_out_everywhere(
    therapist_client, make_client, couple
):
    token = personal_link(couple)
    other_token = personal_link(couple, 2)
    phone, laptop, other = make_client(), make_client(), make_client()
    enter_portal(phone, token, PHONE)
    enter_portal(laptop, token, LAPTOP)
    enter_portal(other, other_token)

    response = therapist_client.post_form(
        f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/access/revoke"
    )
    assert response.status_code == 302
    assert "Kim's access is revoked" in page(therapist_client.get(location(response))).text
    assert not in_portal(phone)
    assert not in_portal(laptop)
    assert not link_works(token, make_client)
    assert in_portal(other)  # the other partner is not touched
    assert live_sessions(couple.partner_ids[0]) == []


def confirm_text(html: str, action: str) -> str:
    """The words of the confirm dialog of the form that posts to `action`."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*data-confirm="([^"]*)"', html)
    assert match, f"no confirmed form posts to {action}"
    return unescape(match.group(1))


def test_the_revoke_confirm_says_every_way_in_closes_until_a_new_link(
    therapist_client, make_client, couple
):
    token = personal_link(couple)
    enter_portal(make_client(), token)
    action = f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/access/revoke"

    words = confirm_text(therapist_client.get(f"/couples/{couple.id}").get_data(True), action)

    assert words == (
        "Revoke all of Kim's access? Their personal link stops working, every device is "
        "signed out, sign-in links sent by email stop working and new ones are not sent, "
        "and their calendar feed stops. Nothing lets Kim back in until you create a new link."
    )
    response = therapist_client.post_form(action)
    text = page(therapist_client.get(location(response))).text
    assert (
        "Kim's access is revoked: signed out everywhere, link, email sign-in and calendar feed "
        "stopped. A new link lets them back in." in text
    )
    assert "Access revoked" in text
    assert "partner.access_revoked" in audit_actions(couple.id)


def test_ending_one_device_signs_out_that_device_only(therapist_client, make_client, couple):
    token = personal_link(couple)
    phone, laptop = make_client(), make_client()
    enter_portal(phone, token, PHONE)
    enter_portal(laptop, token, LAPTOP)
    phone_session, laptop_session = live_sessions(couple.partner_ids[0])

    text = page(therapist_client.get(f"/couples/{couple.id}")).text
    assert "Phone · Safari" in text
    assert "Computer · Firefox" in text
    assert "used 2×" in text

    base = f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/sessions"
    assert therapist_client.post(f"{base}/{phone_session}/end").status_code == 400  # no token
    response = therapist_client.post_form(f"{base}/{phone_session}/end")
    assert response.status_code == 302
    text = page(therapist_client.get(location(response))).text
    assert "That device is signed out." in text
    assert "Phone · Safari" not in text
    assert "Computer · Firefox" in text

    assert not in_portal(phone)
    assert in_portal(laptop)
    assert live_sessions(couple.partner_ids[0]) == [laptop_session]
    assert "portal.session_ended" in audit_actions(couple.id)


def test_a_device_is_ended_only_under_its_own_partner(therapist_client, make_client, couple):
    token = personal_link(couple, 2)
    phone = make_client()
    enter_portal(phone, token)
    (session_id,) = live_sessions(couple.partner_ids[1])

    wrong = f"/couples/{couple.id}/partners/{couple.partner_ids[0]}/sessions/{session_id}/end"
    assert therapist_client.post_form(wrong).status_code == 404
    assert in_portal(phone)


# --- the audit trail and escaping ----------------------------------------------------------------


def test_the_audit_trail_is_shown_to_the_owner_and_the_couples_therapist(
    owner_client, therapist_client, make_client, couple
):
    token = shown_link(therapist_client.post_form(invite_url(couple))).rsplit("/", 1)[1]
    enter_portal(make_client(), token)

    owner_view = owner_client.get(f"/couples/{couple.id}")
    text = page(owner_view).text
    assert "Recent activity" in text
    for words in (
        "created a personal link · Kim",
        "opened their personal link",
        "signed in to the portal",
        "acknowledged the privacy notice",
    ):
        assert words in text, words

    # The therapist the couple is assigned to reads the same trail (others get a 404).
    therapist_view = page(therapist_client.get(f"/couples/{couple.id}")).text
    assert "Recent activity" in therapist_view
    assert "created a personal link · Kim" in therapist_view


def test_client_text_is_shown_escaped_everywhere(owner_client, make_client, practice_a):
    data = couple_form(
        **{
            "label": SCRIPT.format("label"),
            "therapist_notes": SCRIPT.format("notes"),
            "partner1-display_name": SCRIPT.format("one"),
            "partner2-display_name": SCRIPT.format("two"),
        }
    )
    response = owner_client.post_form("/couples/new", data)
    assert response.status_code == 302
    couple_url = location(response)
    couple_id = int(couple_url.rsplit("/", 1)[1])
    invite = owner_client.post_form(f"{couple_url}/partners/{_first_partner(couple_id)}/invite")
    token = shown_link(invite).rsplit("/", 1)[1]

    partner = make_client()
    pages = {
        "caseload": owner_client.get("/couples"),
        "couple": owner_client.get(couple_url),
        "edit": owner_client.get(f"{couple_url}/edit"),
        "dashboard": owner_client.get("/dashboard"),
        "invite": invite,
        "welcome": partner.get(f"/p/{token}"),
    }
    enter_portal(partner, token)
    pages["portal"] = partner.get("/portal")
    pages["privacy"] = partner.get("/portal/privacy")
    pages["bad-edit"] = owner_client.post_form(f"{couple_url}/edit", {**data, "status": "nope"})

    for name, shown in pages.items():
        html = shown.get_data(as_text=True)
        assert shown.status_code in (200, 422), name
        assert "<script>alert" not in html, name
        if name != "privacy":  # the notice names no client
            assert "&lt;script&gt;alert(" in html, name


def _first_partner(couple_id: int) -> int:
    with unscoped():
        return db.session.scalar(
            select(Partner.id).where(Partner.couple_id == couple_id, Partner.position == 1)
        )


def test_the_assign_list_offers_the_practices_active_therapists_only(
    owner_client, practice_a, practice_b
):
    with unscoped():
        home = db.session.get(Practice, practice_a.practice_id)
    gone = UserFactory(practice=home, active=False).id
    db.session.commit()
    couple = add_couple(practice_a)
    boxes = checkboxes(owner_client.get(f"/couples/{couple.id}").get_data(as_text=True))
    assert boxes == {practice_a.owner_id: False, practice_a.therapist_id: True}
    assert gone not in boxes
    assert practice_b.therapist_id not in boxes

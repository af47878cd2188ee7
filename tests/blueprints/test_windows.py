"""The processing window through HTTP, the partners' side: planning it (a half-filled slot
saves), agreeing to one version (never to an empty one), the calendar files (only what both
agreed to, nothing telling in them, each partner's own title), and proposing a change.

Every form is posted as a browser without JavaScript would post it; pages are read back.
"""

from __future__ import annotations

from html import unescape

import icalendar
import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.models import Notice, Partner
from practice.models.homework import JointConfirmation
from practice.services import SINGLE_LINE_MESSAGE
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_couples import add_couple, location
from tests.blueprints.test_homework import (
    assign,
    audit_actions,
    count,
    couple,  # noqa: F401 - a fixture
    portal_of,
    response_row,
)
from tests.couple_factories import public
from tests.services.test_calendar import telling_lines

AGREE_FIRST = "Add at least one time and a code word, then save, to agree"
CONSEQUENCE = (
    "Your agreed schedule is reopened for changes. You both need to agree again, and it "
    "leaves your calendar until you do"
)


def window_form(version: int, **fields: str) -> dict:
    data = {
        "slots-0-weekday": "1",
        "slots-0-start": "19:30",
        "slots-0-minutes": "45",
        "content-code_word": "lighthouse",
        "version": str(version),
        "action": "save",
    }
    data.update(fields)
    return data


@pytest.fixture
def kim(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 1)


@pytest.fixture
def lee(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 2)


@pytest.fixture
def window(therapist_client, couple) -> int:  # noqa: F811
    (window,) = assign(therapist_client, couple, "processing_window")
    return window


def url(window: int, action: str = "") -> str:
    return f"/portal/homework/{public(window)}" + (f"/{action}" if action else "")


def agreed(kim, lee, window: int) -> None:
    assert kim.post_form(url(window), window_form(0)).status_code == 302
    assert kim.post_form(url(window, "confirm")).status_code == 302
    assert lee.post_form(url(window, "confirm")).status_code == 302
    assert response_row(window).status == "confirmed"


def agree_action(window: int) -> str:
    return f'action="{url(window, "confirm")}"'


def calendar_events(client) -> list:
    ics = client.get("/portal/calendar.ics")
    assert ics.status_code == 200
    return list(icalendar.Calendar.from_ical(ics.data).walk("VEVENT"))


def partner_row(partner_id: int) -> Partner:
    db.session.expire_all()
    with unscoped():
        return db.session.get(Partner, partner_id)


# --- "I agree" is never offered on an empty schedule ----------------------------------------------


def test_an_empty_schedule_offers_no_agree_button_and_says_what_is_missing(kim, window):
    html = kim.get(url(window)).get_data(as_text=True)
    shown = page(kim.get(url(window))).text
    assert agree_action(window) not in html
    assert "I agree to this schedule" not in shown
    assert AGREE_FIRST in shown
    assert "Plan at least one time a week." in shown
    assert "Choose a code word." in shown

    # Pressed anyway (an old page): refused, and said so.
    refused = kim.post_form(url(window, "confirm"))
    assert refused.status_code == 302
    assert count(JointConfirmation) == 0
    assert AGREE_FIRST in page(kim.get(location(refused))).text

    # Once saved with a time and a code word, the button is there and the gap text is gone.
    assert kim.post_form(url(window), window_form(0)).status_code == 302
    html = kim.get(url(window)).get_data(as_text=True)
    assert agree_action(window) in html
    assert AGREE_FIRST not in page(kim.get(url(window))).text


def test_a_half_filled_slot_saves_everything_else_and_is_named_when_agreeing(kim, window):
    typed = window_form(
        0,
        **{
            "slots-1-weekday": "4",  # Friday, no start time, no length yet
            "content-code_word": "lighthouse",
        },
    )
    saved = kim.post_form(url(window), typed)
    assert saved.status_code == 302
    row = response_row(window)
    assert row.version == 1
    assert row.content == {
        "slots": [
            {"weekday": 1, "start": "19:30", "minutes": 45},
            {"weekday": 4, "start": "", "minutes": None},
        ],
        "code_word": "lighthouse",
    }

    shown = page(kim.get(url(window)))
    assert shown.selected["slots-0-weekday"] == "1"
    assert shown.values["slots-0-start"] == "19:30"
    assert shown.selected["slots-1-weekday"] == "4"
    assert shown.values["slots-1-start"] == ""
    assert shown.values["slots-1-minutes"] == ""
    assert shown.values["content-code_word"] == "lighthouse"
    assert "None" not in shown.text
    assert AGREE_FIRST in shown.text
    assert "Window 2: choose a start time." in shown.text
    assert "Window 2: choose a length." in shown.text
    assert agree_action(window) not in kim.get(url(window)).get_data(as_text=True)

    refused = kim.post_form(url(window, "confirm"))
    assert count(JointConfirmation) == 0
    assert "Window 2: choose a start time." in page(kim.get(location(refused))).text


def test_a_half_filled_slot_does_not_block_the_autosave(kim, window):
    typed = window_form(1 - 1, **{"slots-0-start": "", "content-code_word": "harbour"})
    response = kim.post_form(url(window, "autosave"), typed)
    assert response.status_code == 200
    body = response.get_json()
    # every value sent is among what was stored, so the page can say "Saved"
    assert body["stored"]["slots-0-weekday"] == "1"
    assert body["stored"]["slots-0-minutes"] == "45"
    assert body["stored"]["content-code_word"] == "harbour"
    row = response_row(window)
    assert row.content["code_word"] == "harbour"
    assert row.content["slots"] == [{"weekday": 1, "start": "", "minutes": 45}]


def test_an_autosave_with_wrong_types_is_refused(kim, window):
    data = {
        **window_form(0),
        "slots-0-weekday": "Funday",
        "slots-0-minutes": "an hour",
        "slots-0-start": "25:99",
    }
    response = kim.post_form(url(window, "autosave"), data)
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert {"slots.0.weekday", "slots.0.minutes", "slots.0.start"} <= set(errors)
    row = response_row(window)
    assert (row.version, row.content) == (0, {"slots": [], "code_word": ""})


@pytest.mark.parametrize("code_word", ["light\r\nhouse", "light\thouse", "light\x1bhouse"])
def test_a_code_word_with_a_control_character_is_refused_beside_the_field(kim, window, code_word):
    assert kim.post_form(url(window), window_form(0)).status_code == 302
    response = kim.post_form(url(window), window_form(1, **{"content-code_word": code_word}))
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["content-code_word"] == (
        "Keep the code word to one line, without line breaks, tabs or invisible characters."
    )
    # what was typed is shown back, the time included
    assert shown.values["content-code_word"] == code_word
    assert shown.values["slots-0-start"] == "19:30"
    assert response_row(window).content["code_word"] == "lighthouse"


# --- agreeing, and the calendar only once both agreed ---------------------------------------------


def test_the_calendar_appears_only_once_both_partners_agreed(kim, lee, window):
    home_card = "Your agreed times in your calendar"
    add = "Add to my calendar"
    assert kim.post_form(url(window), window_form(0)).status_code == 302
    assert home_card not in page(kim.get("/portal")).text
    assert add not in page(kim.get(url(window))).text

    assert kim.post_form(url(window, "confirm")).status_code == 302
    assert response_row(window).status == "draft"
    waiting = page(lee.get(url(window))).text
    assert "Kim: agreed to this version" in waiting
    assert "You: not agreed yet" in waiting
    # one-sided: still no calendar, and nothing in the files
    for client in (kim, lee):
        assert home_card not in page(client.get("/portal")).text
        assert add not in page(client.get(url(window))).text
        assert calendar_events(client) == []

    assert lee.post_form(url(window, "confirm")).status_code == 302
    assert response_row(window).status == "confirmed"
    with unscoped():
        assert count(JointConfirmation) == 2
    for client in (kim, lee):
        assert home_card in page(client.get("/portal")).text
        fragment = client.get(url(window)).get_data(as_text=True)
        assert 'href="/portal/calendar.ics"' in fragment
        (event,) = calendar_events(client)
        assert event["RRULE"]["BYDAY"] == ["TU"]
        start = event["DTSTART"].dt
        assert (start.hour, start.minute, str(start.tzinfo)) == (19, 30, "Europe/London")


def test_a_changed_window_needs_both_confirmations_again(kim, lee, window):
    kim.post_form(url(window), window_form(0))
    kim.post_form(url(window, "confirm"))
    lee.post_form(url(window), window_form(1, **{"slots-0-minutes": "30"}))
    lee.post_form(url(window, "confirm"))
    assert response_row(window).status == "draft"  # Kim agreed to an older version
    assert calendar_events(kim) == []


# --- nothing telling in the files -----------------------------------------------------------------


def test_no_line_of_the_download_or_the_feed_says_what_it_is_for(
    kim, lee, window, practice_a, make_client
):
    agreed(kim, lee, window)
    ics = kim.get("/portal/calendar.ics")
    disposition = ics.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="calendar.ics"'
    secrets = ("lighthouse", practice_a.practice_name, "Kim", "Lee")
    assert telling_lines(ics.data, *secrets) == []
    assert telling_lines(disposition.encode(), *secrets) == []
    calendar = icalendar.Calendar.from_ical(ics.data)
    assert str(calendar["X-WR-CALNAME"]) == "Personal time"
    assert {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")} == {"Personal time"}

    feed = feed_path(kim)
    body = make_client().get(feed)
    assert body.status_code == 200
    assert telling_lines(body.data, *secrets) == []
    assert "Content-Disposition" not in body.headers or "calendar" in body.headers.get(
        "Content-Disposition", ""
    )


def test_the_subscribe_url_is_shown_once_works_without_a_session_and_can_be_revoked(
    kim, lee, window, make_client
):
    agreed(kim, lee, window)

    subscribed = kim.post_form("/portal/calendar/subscribe")
    assert subscribed.status_code == 200
    assert "called “Personal time”" in page(subscribed).text
    html = subscribed.get_data(as_text=True)
    start = html.index("https://practice.example.org/calendar/")
    path = unescape(html[start : html.index('"', start)]).removeprefix(
        "https://practice.example.org"
    )
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) >= 20

    # Shown once: no page of the portal shows the token again.
    for later in ("/portal", url(window)):
        assert token not in kim.get(later).get_data(as_text=True)

    stranger = make_client()  # a calendar app: no session, no cookie
    feed = stranger.get(path)
    assert feed.status_code == 200
    assert feed.mimetype == "text/calendar"
    assert icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert stranger.get("/calendar/not-a-real-token.ics").status_code == 404

    assert kim.post_form("/portal/calendar/unsubscribe").status_code == 302
    assert stranger.get(path).status_code == 404
    assert "calendar.feed_revoked" in audit_actions()

    # A new subscription gets a new URL; the old one stays dead.
    again = kim.post_form("/portal/calendar/subscribe").get_data(as_text=True)
    assert token not in again
    assert stranger.get(path).status_code == 404


# --- each partner's own title ---------------------------------------------------------------------


def feed_path(client) -> str:
    subscribed = client.post_form("/portal/calendar/subscribe")
    assert subscribed.status_code == 200
    html = subscribed.get_data(as_text=True)
    start = html.index("https://practice.example.org/calendar/")
    return unescape(html[start : html.index('"', start)]).removeprefix(
        "https://practice.example.org"
    )


def test_a_title_typed_in_the_calendar_card_is_kept_and_used_in_that_partners_files_only(
    kim,
    lee,
    window,
    make_client,
    couple,  # noqa: F811
):
    agreed(kim, lee, window)
    card = page(kim.get("/portal"))
    assert card.values["title"] == ""
    assert "Leave it empty for “Personal time”" in card.text

    saved = kim.post_form("/portal/calendar/title", {"title": "  Gym – Zoë’s class  "})
    assert saved.status_code == 302
    assert location(saved) == "/portal"
    reloaded = page(kim.get("/portal"))
    assert reloaded.values["title"] == "Gym – Zoë’s class"
    assert "called “Gym – Zoë’s class”" in reloaded.text
    assert partner_row(couple.partner_ids[0]).calendar_title == "Gym – Zoë’s class"

    (event,) = calendar_events(kim)
    assert str(event["SUMMARY"]) == "Gym – Zoë’s class"
    mine = make_client().get(feed_path(kim))
    assert {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(mine.data).walk("VEVENT")} == {
        "Gym – Zoë’s class"
    }
    # Lee's calendar keeps the neutral default, download and feed alike
    (theirs,) = calendar_events(lee)
    assert str(theirs["SUMMARY"]) == "Personal time"
    assert page(lee.get("/portal")).values["title"] == ""
    lee_feed = make_client().get(feed_path(lee))
    assert {
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(lee_feed.data).walk("VEVENT")
    } == {"Personal time"}
    # the window page says what it is called in her calendar
    assert "“Gym – Zoë’s class”" in page(kim.get(url(window))).text

    # Emptied: back to the default.
    assert kim.post_form("/portal/calendar/title", {"title": ""}).status_code == 302
    assert partner_row(couple.partner_ids[0]).calendar_title is None
    assert page(kim.get("/portal")).values["title"] == ""
    (event,) = calendar_events(kim)
    assert str(event["SUMMARY"]) == "Personal time"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Gym\r\nclass", SINGLE_LINE_MESSAGE),
        ("Gym\tclass", SINGLE_LINE_MESSAGE),
        ("Gym\x1b class", SINGLE_LINE_MESSAGE),
        ("x" * 81, "Keep the title to 80 characters or fewer."),
    ],
    ids=["line-break", "tab", "escape", "too-long"],
)
def test_a_title_that_does_not_fit_is_refused_beside_the_field_as_typed(
    kim,
    lee,
    window,
    couple,  # noqa: F811
    typed,
    message,
):
    agreed(kim, lee, window)
    kim.post_form("/portal/calendar/title", {"title": "Gym"})
    response = kim.post_form("/portal/calendar/title", {"title": typed})
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["title"] == message
    assert shown.values["title"] == typed
    assert partner_row(couple.partner_ids[0]).calendar_title == "Gym"


def test_the_title_form_goes_back_to_the_window_page_it_names(kim, lee, window):
    agreed(kim, lee, window)
    saved = kim.post_form("/portal/calendar/title", {"title": "Gym", "back": public(window)})
    assert location(saved) == url(window)
    # a key that is not this partner's window goes home, never elsewhere
    for back in ("not-a-key-at-all-xx", "https://evil.example.com/"):
        other = kim.post_form("/portal/calendar/title", {"title": "Gym", "back": back})
        assert location(other) == "/portal"


# --- proposing a change -------------------------------------------------------------------------


def test_a_draft_or_one_sided_schedule_offers_no_change_to_propose(kim, window):
    # untouched: "Propose a change" would only send notices about nothing
    assert kim.post_form(url(window, "change")).status_code == 302
    assert response_row(window).status == "assigned"
    kim.post_form(url(window), window_form(0))
    kim.post_form(url(window, "confirm"))
    html = kim.get(url(window)).get_data(as_text=True)
    assert url(window, "change") not in html
    refused = kim.post_form(url(window, "change"))
    assert refused.status_code == 302
    assert response_row(window).status == "draft"
    assert count(JointConfirmation) == 1
    assert count(Notice) == 0
    assert "homework.change_proposed" not in audit_actions()


def test_an_agreed_schedule_is_read_only_and_offers_to_propose_a_change(kim, lee, window):
    agreed(kim, lee, window)
    response = kim.get(url(window))
    html = response.get_data(as_text=True)
    shown = page(response)
    assert f'action="{url(window)}"' not in html  # no writing form
    assert "Agreed by you both" in shown.text
    assert f'href="{url(window, "change")}"' in html
    assert "Propose a change" in shown.text

    # The link opens a page that names the consequence; nothing has changed yet.
    confirm = kim.get(url(window, "change"))
    assert confirm.status_code == 200
    assert CONSEQUENCE in page(confirm).text
    assert f'action="{url(window, "change")}"' in confirm.get_data(as_text=True)
    assert response_row(window).status == "confirmed"
    assert count(JointConfirmation) == 2
    assert count(Notice) == 0


def test_proposing_a_change_reopens_it_tells_the_others_and_takes_it_off_the_calendar(
    kim,
    lee,
    window,
    therapist_client,
    couple,  # noqa: F811
):
    agreed(kim, lee, window)
    assert len(calendar_events(kim)) == 1

    response = kim.post_form(url(window, "change"))
    assert response.status_code == 302
    assert location(response) == url(window)
    row = response_row(window)
    assert row.status == "draft"
    assert row.content["code_word"] == "lighthouse"  # nothing lost
    assert count(JointConfirmation) == 0
    assert "homework.change_proposed" in audit_actions()

    # Lee and the therapist are told, in words of our own, where to look
    with unscoped():
        sent = db.session.scalars(select(Notice).order_by(Notice.id)).all()
        got = [(n.recipient_partner_id, n.recipient_user_id, n.kind, n.link) for n in sent]
    assert got == [
        (couple.partner_ids[1], None, "window.change_proposed", url(window)),
        (
            None,
            couple.therapist_ids[0],
            "window.change_proposed",
            f"/couples/{couple.id}/homework/{window}",
        ),
    ]
    assert "lighthouse" not in page(lee.get("/portal")).text
    assert "processing window was proposed" in page(lee.get("/portal")).text

    # off the calendar until both agree again; the page is writable again
    for client in (kim, lee):
        assert calendar_events(client) == []
        assert "Your agreed times in your calendar" not in page(client.get("/portal")).text
    shown = page(kim.get(url(window)))
    assert shown.values["content-code_word"] == "lighthouse"
    assert "You: not agreed yet" in shown.text

    assert kim.post_form(url(window, "confirm")).status_code == 302
    assert calendar_events(kim) == []
    assert lee.post_form(url(window, "confirm")).status_code == 302
    assert len(calendar_events(kim)) == 1


def test_the_window_routes_need_their_csrf_token(kim, lee, window):
    agreed(kim, lee, window)
    for path, data in ((url(window, "change"), {}), ("/portal/calendar/title", {"title": "Gym"})):
        assert kim.post(path, data=data).status_code == 400
    assert response_row(window).status == "confirmed"


def test_another_couples_partner_gets_404_on_the_window_routes(
    make_client, practice_a, kim, lee, window
):
    agreed(kim, lee, window)
    others = add_couple(practice_a, label="Other", partner1_name="Oz", partner2_name="Pat")
    oz = portal_of(make_client, others, 1)
    assert oz.get(url(window)).status_code == 404
    assert oz.post_form(url(window, "confirm")).status_code == 404
    assert oz.get(url(window, "change")).status_code == 404
    assert oz.post_form(url(window, "change")).status_code == 404
    assert response_row(window).status == "confirmed"
    assert count(Notice) == 0
    # their title form goes back home, never to our window
    saved = oz.post_form("/portal/calendar/title", {"title": "Gym", "back": public(window)})
    assert location(saved) == "/portal"
    assert calendar_events(oz) == []


def test_a_partner_turns_window_reminders_on_and_off(kim, lee, window, couple):  # noqa: F811
    agreed(kim, lee, window)
    assert "Remind me an hour before" in kim.get("/portal").get_data(as_text=True)
    assert kim.post_form("/portal/calendar/reminders", {"remind": "on"}).status_code == 302
    assert partner_row(couple.partner_ids[0]).window_reminders is True
    assert partner_row(couple.partner_ids[1]).window_reminders is False  # each their own
    assert "Stop the reminders" in kim.get("/portal").get_data(as_text=True)
    kim.post_form("/portal/calendar/reminders", {"remind": "off"})
    assert partner_row(couple.partner_ids[0]).window_reminders is False

"""The trigger log through the real portal form: the grounding card first (no script, a CSS
breathing circle, a still count for reduced motion), one short form posted without
JavaScript, every value there after a reload, a refused post keeps every value typed; private
to its author and the therapists, never the other partner; the week prefills the check-in."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.models import AuditEvent, TriggerEntry
from practice.models.base import utcnow
from practice.tenancy import unscoped
from tests.blueprints.conftest import page
from tests.blueprints.test_couples import add_couple
from tests.blueprints.test_homework import couple, portal_of  # noqa: F401 - a fixture

CSS = Path(__file__).resolve().parents[2] / "practice" / "static" / "css" / "app.css"


@pytest.fixture
def kim(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 1)


@pytest.fixture
def lee(make_client, couple):  # noqa: F811
    return portal_of(make_client, couple, 2)


def _an_hour_ago() -> str:
    return (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Europe/London"))


def typed() -> dict[str, str]:
    return {
        "occurred_at": _an_hour_ago().strftime("%Y-%m-%dT%H:%M"),
        "intensity": "7",
        "helped-breathed": "y",
        "helped-code_word": "y",
        "minutes_to_steady": "35",
        "reassurance": "asked_given",
        "what_set_it_off": "A text from an unknown number at dinner. <b>ok</b>\nThen silence.",
    }


def entries() -> list[TriggerEntry]:
    db.session.expire_all()
    with unscoped():
        return list(db.session.scalars(select(TriggerEntry).order_by(TriggerEntry.id)))


def checked_boxes(html: str) -> set[str]:
    return set(re.findall(r'name="(helped-[a-z_]+)" value="y" checked', html))


def test_home_has_the_triggered_entry_and_the_grounding_card_needs_no_script(kim):
    home = kim.get("/portal").get_data(as_text=True)
    assert 'href="/portal/triggered"' in home
    assert "I’m triggered" in home
    card = kim.get("/portal/triggered")
    assert card.status_code == 200
    html = card.get_data(as_text=True)
    main = html.split('<main id="main"', 1)[1]
    assert "<script" not in main  # the breathing runs on CSS alone
    assert 'class="breath__circle"' in main
    assert "about half a minute" in main  # the still count, for reduced motion
    assert 'href="/portal/triggers/new"' in main and ">Log it<" in main
    # The steps are ours, not the guide's sentences.
    guide = Path(__file__).resolve().parents[3] / "shared/reference/trust-repair-guide.txt"
    if guide.exists():
        for line in guide.read_text().splitlines():
            line = line.strip("- ").strip()
            if len(line) > 25:
                assert line not in main
    css = CSS.read_text()
    assert re.search(r"\.breath__circle \{[^}]*animation: breathe 10s ease-in-out 3", css)
    assert "@keyframes breathe" in css and "@keyframes fill" in css
    reduced = css.split("@media (prefers-reduced-motion: reduce)", 1)[1].split("\n}\n", 1)[0]
    assert "animation: none" in reduced and ".breath__still { display: block; }" in reduced


def test_a_trigger_logged_without_javascript_is_all_there(kim, lee, couple):  # noqa: F811
    form = page(kim.get("/portal/triggers/new"))
    assert form.values["occurred_at"]  # defaults to now
    assert form.checked == {"reassurance": "not_asked"}
    values = typed()
    saved = kim.post_form("/portal/triggers", values)
    assert saved.status_code == 302
    (entry,) = entries()
    assert saved.headers["Location"].endswith(f"/portal/triggers?logged={entry.public_id}")
    log = kim.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Logged. Only you and your therapist" in log
    assert "Lee cannot" in log
    assert f'id="entry-{entry.public_id}"' in log and "Just logged" in log
    assert "7 / 10" in log
    assert entry.intensity == 7
    assert entry.helped == ["breathed", "code_word"]
    assert entry.minutes_to_steady == 35
    assert entry.reassurance == "asked_given"
    assert entry.what_set_it_off == values["what_set_it_off"]
    assert entry.partner_id == couple.partner_ids[0]
    shown = entry.occurred_at.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M")
    assert shown == values["occurred_at"]
    one = kim.get("/portal/triggers").get_data(as_text=True)  # reloaded: every value there
    assert "A text from an unknown number at dinner. &lt;b&gt;ok&lt;/b&gt;\nThen silence." in one
    assert "Pausing to breathe" in one and "Our code word" in one
    assert "35 minutes" in one and "I asked, and it was given" in one


def test_a_refused_post_keeps_every_value_typed(kim):
    values = {**typed(), "minutes_to_steady": "3000", "intensity": "11"}
    refused = kim.post_form("/portal/triggers", values)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    shown = page(refused)
    assert shown.errors["minutes_to_steady"].startswith("Enter whole minutes from 0 to 1,440")
    assert shown.errors["intensity"] == "Choose how strong it was, from 0 to 10."
    for name in ("occurred_at", "minutes_to_steady", "what_set_it_off"):
        assert shown.values[name] == values[name], name
    assert shown.checked == {"reassurance": "asked_given"}  # 11 is no choice: none checked
    assert checked_boxes(html) == {"helped-breathed", "helped-code_word"}
    assert entries() == []
    # Fixed, the same post goes through.
    assert kim.post_form("/portal/triggers", {**values, "minutes_to_steady": "30",
                                              "intensity": "6"}).status_code == 302  # fmt: skip
    assert [e.intensity for e in entries()] == [6]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("occurred_at", "yesterday", "Enter the date and time it happened"),
        ("occurred_at", "2099-01-01T10:00", "That time has not come yet"),
        ("reassurance", "maybe", "Choose one of the three answers"),
        ("what_set_it_off", "a\x1bb", "Remove the invisible control character"),
        ("what_set_it_off", "x" * 5001, "Keep this under 5,000 characters."),
    ],
)
def test_bad_values_get_a_message_beside_their_field(kim, field, value, message):
    refused = kim.post_form("/portal/triggers", {**typed(), field: value})
    assert refused.status_code == 422
    assert page(refused).errors[field].startswith(message)
    assert entries() == []


def test_a_blank_when_is_now(kim):
    assert kim.post_form("/portal/triggers", {**typed(), "occurred_at": ""}).status_code == 302
    (entry,) = entries()
    assert abs((entry.occurred_at - utcnow()).total_seconds()) < 600


def test_the_other_partner_never_sees_an_entry_nor_that_it_exists(kim, lee):
    kim.post_form("/portal/triggers", typed())
    (entry,) = entries()
    their_log = lee.get("/portal/triggers").get_data(as_text=True)
    assert entry.public_id not in their_log and "Nothing logged this week." in their_log
    for path in ("/portal", "/portal/checkin", "/portal/trends"):
        text = lee.get(path).get_data(as_text=True)
        assert "unknown number" not in text and entry.public_id not in text, path
    assert (
        'id="triggers-count" name="triggers-count" min="0" max="100" inputmode="numeric" value=""'
        in (lee.get("/portal/checkin").get_data(as_text=True))
    )


def test_the_therapist_sees_counts_then_the_words_on_the_log(
    kim,
    therapist_client,
    couple,  # noqa: F811
    make_client,
    practice_a,
    practice_b,
):
    kim.post_form("/portal/triggers", typed())
    kim.post_form("/portal/triggers", {**typed(), "minutes_to_steady": "90", "intensity": "4"})
    trends = therapist_client.get(f"/couples/{couple.id}/trends").get_data(as_text=True)
    assert "From the trigger log" in trends
    assert "2 logged · longest 90 min" in trends
    assert "unknown number" not in trends  # counts only on the trends page
    log = therapist_client.get(f"/couples/{couple.id}/triggers")
    assert log.status_code == 200
    assert "A text from an unknown number at dinner." in log.get_data(as_text=True)
    with unscoped():
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "checkin.viewed")
        ).details == {"log": "triggers"}
    # Another practice's therapist, and an unassigned one: 404.
    other = make_client()
    other.login(practice_b.therapist_email)
    assert other.get(f"/couples/{couple.id}/triggers").status_code == 404
    elsewhere = add_couple(practice_b)
    stranger = portal_of(make_client, elsewhere, 1)
    assert "unknown number" not in stranger.get("/portal/triggers").get_data(as_text=True)
    # The other practice's couple is out of reach: its therapists' page of it is 404.
    assert other.get(f"/couples/{elsewhere.id}/triggers").status_code == 200
    assert therapist_client.get(f"/couples/{elsewhere.id}/triggers").status_code == 404


def test_the_check_in_starts_from_the_week_s_log_and_stays_editable(kim):
    kim.post_form("/portal/triggers", typed())
    kim.post_form("/portal/triggers", {**typed(), "minutes_to_steady": "50"})
    html = kim.get("/portal/checkin").get_data(as_text=True)
    shown = page(kim.get("/portal/checkin"))
    assert shown.values["triggers-count"] == "2"
    assert shown.values["triggers-longest_minutes"] == "50"
    assert "From your trigger log" in html
    # The partner changes the count and saves: their answer stands.
    saved = kim.post_form(
        "/portal/checkin",
        {
            "version": shown.values["version"],
            "action": "save",
            "triggers-count": "3",
            "triggers-longest_minutes": "50",
        },  # fmt: skip
    )
    assert saved.status_code == 302
    again = kim.get("/portal/checkin")
    assert page(again).values["triggers-count"] == "3"
    assert 'id="triggers-count-from-log"' not in again.get_data(as_text=True)

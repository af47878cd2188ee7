"""The processing window, called directly: its content (a half-filled slot saves as a draft,
the code word is one line), both partners agreeing to one version, and reopening an agreed
schedule on purpose ("Propose a change", `joint.propose_change` with the window's hooks).

Real database; nothing of ours is mocked.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.homework import ContentError, get_kind
from practice.models import Notice
from practice.models.homework import HomeworkResponse, JointConfirmation
from practice.services import DomainError, NotFound, calendar, joint, notices, windows
from practice.services import homework as hw
from practice.services.homework import InvalidContent
from tests.services.test_homework import World, assign, audit_events, stored
from tests.services.test_homework import world as world  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("app")

WINDOW = {
    "slots": [
        {"weekday": 1, "start": "19:30", "minutes": 45},
        {"weekday": 5, "start": "10:00", "minutes": 60},
    ],
    "code_word": "pineapple",
}
KIND = get_kind("processing_window")
PARTNER_LINK = "/portal/homework/some-public-key"
THERAPIST_LINK = "/couples/1/homework/1"


def window_for(w: World, content: dict | None = None) -> HomeworkResponse:
    (window,) = assign(w, "processing_window", "joint").responses
    if content is not None:
        hw.save_draft(w.ann, window, content=content, base_version=0)
    return window


def agreed_window(w: World) -> HomeworkResponse:
    window = window_for(w, WINDOW)
    windows.confirm(w.ann, window)
    assert windows.confirm(w.ben, window) is True
    return window


def propose(w: World, partner, window: HomeworkResponse) -> None:
    joint.propose_change(partner, window, partner_link=PARTNER_LINK, therapist_link=THERAPIST_LINK)


# --- the content --------------------------------------------------------------------------------


def test_a_half_filled_slot_is_kept_in_the_draft_with_everything_else(world):
    """A day chosen but no start time yet: the draft saves, the gap waits for agreeing."""
    window = window_for(world)
    typed = {
        "slots": [
            {"weekday": 1, "start": "19:30", "minutes": 45},
            {"weekday": 3, "start": "", "minutes": ""},
        ],
        "code_word": "lighthouse",
    }
    hw.save_draft(world.ann, window, content=typed, base_version=0)

    saved = stored(window.id)
    assert saved.version == 1
    assert saved.content == {
        "slots": [
            {"weekday": 1, "start": "19:30", "minutes": 45},
            {"weekday": 3, "start": "", "minutes": None},
        ],
        "code_word": "lighthouse",
    }
    # the form shows it back as typed
    assert KIND.form_values(saved.content) == {
        "slots-0-weekday": "1",
        "slots-0-start": "19:30",
        "slots-0-minutes": "45",
        "slots-1-weekday": "3",
        "slots-1-start": "",
        "slots-1-minutes": "",
        "content-code_word": "lighthouse",
    }
    assert windows.missing(saved) == {
        "slots.1.start": "Window 2: choose a start time.",
        "slots.1.minutes": "Window 2: choose a length.",
    }
    with pytest.raises(DomainError) as refused:
        windows.confirm(world.ann, saved)
    assert "Window 2: choose a start time." in refused.value.message
    assert windows.confirmations(saved) == {}


def test_the_form_parses_a_half_filled_slot_without_losing_it():
    form = {"slots-2-weekday": "", "slots-2-start": "07:15", "content-code_word": "kite"}
    assert KIND.clean(KIND.parse_form(form)) == {
        "slots": [{"weekday": None, "start": "07:15", "minutes": None}],
        "code_word": "kite",
    }
    assert KIND.check_complete(KIND.clean(KIND.parse_form(form))) == {
        "slots.0.weekday": "Window 1: choose a day.",
        "slots.0.minutes": "Window 1: choose a length.",
    }


@pytest.mark.parametrize(
    ("slot", "field"),
    [
        ({"weekday": "Funday", "start": "", "minutes": None}, "weekday"),
        ({"weekday": 9, "start": "", "minutes": None}, "weekday"),
        ({"weekday": None, "start": "25:99", "minutes": None}, "start"),
        ({"weekday": None, "start": "", "minutes": "an hour"}, "minutes"),
        ({"weekday": None, "start": "", "minutes": 500}, "minutes"),
        ({"weekday": True, "start": "", "minutes": None}, "weekday"),
    ],
)
def test_a_value_that_is_there_but_wrong_is_still_refused(slot, field):
    with pytest.raises(ContentError) as refused:
        KIND.clean({"slots": [slot], "code_word": ""})
    assert set(refused.value.errors) == {f"slots.0.{field}"}


@pytest.mark.parametrize(
    "code_word",
    ["light\nhouse", "light\r\nhouse", "light\thouse", "\x1b[2Jlight", "a\x85b", "a\u2028b"],
    ids=["LF", "CRLF", "tab", "escape", "C1", "line-separator"],
)
def test_a_code_word_with_control_characters_is_refused_with_a_clear_message(world, code_word):
    window = window_for(world, WINDOW)
    with pytest.raises(InvalidContent) as refused:
        hw.save_draft(world.ann, window, content=dict(WINDOW, code_word=code_word), base_version=1)
    assert refused.value.errors == {
        "code_word": "Keep the code word to one line, without line breaks, tabs or invisible "
        "characters."
    }
    assert stored(window.id).content == WINDOW


def test_a_code_word_of_ordinary_words_in_any_script_is_kept(world):
    window = window_for(world, dict(WINDOW, code_word="Zoë’s 💔 עִבְרִית"))
    assert stored(window.id).content["code_word"] == "Zoë’s 💔 עִבְרִית"


# --- agreeing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [None, {"slots": [], "code_word": "pear"}, dict(WINDOW, code_word="  ")],
    ids=["untouched", "no-slots", "no-code-word"],
)
def test_a_window_needs_slots_and_a_code_word_before_confirming(world, content):
    window = window_for(world, content)
    with pytest.raises(DomainError) as refused:
        windows.confirm(world.ann, window)
    assert "Add at least one time and a code word, then save, to agree" in refused.value.message
    assert windows.confirmations(window) == {}
    assert db.session.scalars(select(JointConfirmation)).all() == []


def test_both_confirming_submits_the_window(world):
    window = window_for(world, WINDOW)

    assert windows.confirm(world.ann, window) is False
    assert set(windows.confirmations(window)) == {world.ann.id}
    assert window.status == "draft"

    assert windows.confirm(world.ben, window) is True
    assert set(windows.confirmations(window)) == {world.ann.id, world.ben.id}
    saved = stored(window.id)
    assert saved.status == "confirmed"
    assert saved.submitted_at is not None
    assert [t.to_status for t in hw.transitions(saved)] == ["draft", "confirmed"]
    assert hw.transitions(saved)[-1].actor_partner_id == world.ben.id
    assert len(audit_events("homework.window_confirmed")) == 2
    # once agreed the schedule is closed to changes and confirmations
    with pytest.raises(DomainError):
        windows.confirm(world.ann, saved)


def test_confirming_twice_alone_is_not_both(world):
    window = window_for(world, WINDOW)
    assert windows.confirm(world.ann, window) is False
    assert windows.confirm(world.ann, window) is False
    assert window.status == "draft"
    assert len(db.session.scalars(select(JointConfirmation)).all()) == 1


def test_an_edit_after_one_confirmation_needs_confirming_again(world):
    window = window_for(world, WINDOW)
    windows.confirm(world.ann, window)

    changed = dict(WINDOW, code_word="mango")
    hw.save_draft(world.ben, window, content=changed, base_version=window.version)
    assert windows.confirmations(window) == {}

    # Ben agrees to his own change: Ann's confirmation was of the old schedule
    assert windows.confirm(world.ben, window) is False
    assert window.status == "draft"
    assert set(windows.confirmations(window)) == {world.ben.id}
    assert windows.confirm(world.ann, window) is True
    assert stored(window.id).status == "confirmed"


def test_a_partner_of_another_couple_cannot_confirm(world):
    window = window_for(world, WINDOW)
    with pytest.raises(DomainError):
        windows.confirm(world.cy, window)
    assert windows.confirmations(window) == {}


def test_only_a_processing_window_is_confirmed(world):
    (contract,) = assign(world, "repair_contract", "joint").responses
    with pytest.raises(DomainError):
        windows.confirm(world.ann, contract)


# --- proposing a change ---------------------------------------------------------------------------


def test_proposing_a_change_reopens_the_schedule_for_both_to_agree_again(world):
    window = agreed_window(world)
    assert calendar.window_schedules(world.couple) == [window]

    propose(world, world.ann, window)

    saved = stored(window.id)
    assert saved.status == "draft"
    assert saved.content == WINDOW  # nothing of the schedule is lost
    assert db.session.scalars(select(JointConfirmation)).all() == []
    assert windows.confirmations(saved) == {}
    step = hw.transitions(saved)[-1]
    assert (step.from_status, step.to_status, step.actor_partner_id) == (
        "confirmed",
        "draft",
        world.ann.id,
    )
    # it leaves the calendar files until both agree again
    assert calendar.window_schedules(world.couple) == []
    # and it is writable again: a change, then both agree
    hw.save_draft(world.ben, saved, content=dict(WINDOW, code_word="mango"), base_version=1)
    assert windows.confirm(world.ben, saved) is False
    assert calendar.window_schedules(world.couple) == []
    assert windows.confirm(world.ann, saved) is True
    assert calendar.window_schedules(world.couple) == [saved]


def test_proposing_a_change_is_recorded_without_client_text(world):
    window = agreed_window(world)
    propose(world, world.ben, window)

    (event,) = audit_events("homework.change_proposed")
    assert event.actor_partner_id == world.ben.id
    assert (event.target_type, event.target_id) == ("HomeworkResponse", window.id)
    assert event.couple_id == world.couple.id
    assert event.details == {"kind": "processing_window"}
    assert "pineapple" not in repr(event.details)


def test_the_other_partner_and_the_therapists_get_a_notice_that_says_no_more(world):
    window = agreed_window(world)
    propose(world, world.ann, window)
    db.session.flush()

    sent = db.session.scalars(select(Notice).order_by(Notice.id)).all()
    assert [(n.recipient_partner_id, n.recipient_user_id, n.link) for n in sent] == [
        (world.ben.id, None, PARTNER_LINK),
        (None, world.therapist.id, THERAPIST_LINK),
    ]
    assert {n.kind for n in sent} == {"window.change_proposed"}
    assert all(n.couple_id == world.couple.id for n in sent)
    # Ann proposed it: she gets nothing; the other couple's therapist nothing either
    assert notices.unread_for_partner(world.ann) == []
    for notice in sent:
        assert "pineapple" not in notices.text_for(notice)


@pytest.mark.parametrize("state", ["untouched", "draft", "one-agreed"])
def test_only_an_agreed_schedule_can_be_reopened(world, state):
    window = window_for(world, None if state == "untouched" else WINDOW)
    if state == "one-agreed":
        windows.confirm(world.ann, window)
    before = (window.status, len(db.session.scalars(select(JointConfirmation)).all()))
    with pytest.raises(DomainError):
        propose(world, world.ann, window)
    assert (window.status, len(db.session.scalars(select(JointConfirmation)).all())) == before
    assert db.session.scalars(select(Notice)).all() == []
    assert audit_events("homework.change_proposed") == []


def test_a_partner_of_another_couple_cannot_reopen_it(world):
    window = agreed_window(world)
    with pytest.raises(NotFound):
        propose(world, world.cy, window)
    assert stored(window.id).status == "confirmed"
    assert len(db.session.scalars(select(JointConfirmation)).all()) == 2
    assert db.session.scalars(select(Notice)).all() == []


def test_only_a_processing_window_is_reopened_this_way(world):
    (contract,) = assign(world, "repair_contract", "joint").responses
    with pytest.raises(DomainError):
        propose(world, world.ann, contract)

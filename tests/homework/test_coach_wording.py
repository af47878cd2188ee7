"""Coach wording: one plain line a message, and a clean result that says what was checked,
never that the text is sincere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from practice.homework import KINDS, Finding, HomeworkKind, text

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
VERDICTS = ("sincere", "genuine", "take your time", "nothing to flag", "well done", "looks good")
# Words that judge the person rather than the wording.
JUDGING = (
    "liar",
    "selfish",
    "manipulat",
    "toxic",
    "abusive",
    "controlling",
    "insincere",
    "you always",
)


def messages() -> list:
    modules = [sys.modules[type(kind).__module__] for kind in KINDS.values()] + [text]
    return [
        pytest.param(value, id=f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
        for module in modules
        for name, value in vars(module).items()
        if name.startswith("MSG_") and isinstance(value, str)
    ]


@pytest.mark.parametrize("message", messages())
def test_every_coach_message_is_one_plain_line_that_judges_no_one(message):
    assert "\n" not in message and 20 < len(message) < 200
    assert not any(word in message.lower() for word in JUDGING + VERDICTS)


@pytest.mark.parametrize("key", sorted(KINDS))
def test_every_kind_says_what_its_coach_checked(key):
    checked = KINDS[key].coach_checked
    assert checked != HomeworkKind.coach_checked, "each kind names its own checks"
    assert "\n" not in checked and len(checked) < 200
    assert not any(verdict in checked.lower() for verdict in VERDICTS)


def coach_panel(findings, checked):
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    macros = env.get_template("_macros/homework.html").module
    return str(macros.coach_panel(findings, "Coach", checked))


def test_the_panel_shows_what_was_checked_when_nothing_is_found():
    checked = KINDS["apology"].coach_checked
    html = coach_panel([], checked)
    assert f'<li class="coach__item coach__item--ok">{checked}</li>' in html
    assert f'data-coach-clean="{checked}"' in html  # for app.js, after an autosave
    assert "Take your time" not in html


def test_the_panel_lists_findings_and_not_the_clean_line_when_there_are_some():
    checked = KINDS["apology"].coach_checked
    html = coach_panel([Finding("sorry-if", "Say it plainly.", phrase="sorry if")], checked)
    assert "<q>sorry if</q> — Say it plainly." in html
    assert "coach__item--ok" not in html
    assert html.count(checked) == 1  # only the attribute app.js reads


def test_what_was_checked_is_escaped():
    html = coach_panel([], 'No "quotes" <here>')
    assert 'data-coach-clean="No &#34;quotes&#34; &lt;here&gt;"' in html

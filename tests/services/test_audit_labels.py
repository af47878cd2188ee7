"""Every action the product records reads in plain words on a couple's trail."""

from __future__ import annotations

import ast
from pathlib import Path

import practice
from practice.homework import KINDS
from practice.models import AuditEvent
from practice.models.couple import COUPLE_STATUSES
from practice.services.audit import ACTION_LABELS, describe


def recorded_actions() -> set[str]:
    """The action names passed to `audit.record(...)` anywhere in the package, read from code."""
    actions = set()
    for path in Path(practice.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            if getattr(node.func, "attr", getattr(node.func, "id", None)) != "record":
                continue
            first = node.args[0]
            choices = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            actions |= {c.value for c in choices if isinstance(c, ast.Constant)}
    return actions


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert len(actions) > 40, sorted(actions)  # the reader found the calls
    assert sorted(actions - ACTION_LABELS.keys()) == []
    # the one action built at run time: f"couple.{status}"
    assert (
        sorted(f"couple.{s}" for s in COUPLE_STATUSES if f"couple.{s}" not in ACTION_LABELS) == []
    )


def test_homework_events_name_their_kind():
    submitted = AuditEvent(action="homework.submitted", details={"kind": "apology"})
    assert describe(submitted) == f"handed in homework: {KINDS['apology'].label}"
    assert describe(AuditEvent(action="agreement.added", details={})) == "added an agreement"
    assert describe(AuditEvent(action="something.new", details={})) == "something.new"

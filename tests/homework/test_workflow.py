"""The homework workflow: one table of moves, each kind's path through it, no status elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from practice.homework import KINDS
from practice.homework.workflow import (
    CONFIRMED,
    LABELS,
    REVIEWED,
    SIGNED,
    TRANSITIONS,
    Status,
    next_statuses,
)

ROOT = Path(__file__).resolve().parents[2]
STATUS_LITERAL = re.compile(
    r"""["'](?:""" + "|".join(status.value for status in Status) + r""")["']"""
)


def test_every_status_has_a_label_and_a_row_of_moves():
    assert set(LABELS) == set(Status)
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize("workflow", [REVIEWED, SIGNED, CONFIRMED], ids=lambda w: w.name)
def test_every_status_of_a_path_is_reachable_from_assigned(workflow):
    reached, frontier = {Status.ASSIGNED}, [Status.ASSIGNED]
    while frontier:
        for after in next_statuses(workflow, frontier.pop()):
            if after not in reached:
                reached.add(after)
                frontier.append(after)
    assert reached == set(workflow.statuses)
    assert workflow.done in workflow.statuses


@pytest.mark.parametrize(
    ("workflow", "status", "expected"),
    [
        (REVIEWED, Status.DRAFT, {Status.SUBMITTED}),
        (REVIEWED, Status.SUBMITTED, {Status.REVIEWED, Status.RETURNED, Status.COMPLETED}),
        (SIGNED, Status.DRAFT, {Status.FINAL}),
        # Final and signed texts are never made final again: only returned, signed or closed.
        (SIGNED, Status.FINAL, {Status.SIGNED, Status.RETURNED}),
        (SIGNED, Status.SIGNED, {Status.RETURNED, Status.COMPLETED}),
        (CONFIRMED, Status.DRAFT, {Status.CONFIRMED}),
        (CONFIRMED, Status.CONFIRMED, {Status.COMPLETED, Status.DRAFT}),  # propose a change
        (REVIEWED, Status.COMPLETED, set()),
    ],
)
def test_a_path_offers_only_its_own_next_steps(workflow, status, expected):
    assert next_statuses(workflow, status) == expected


def test_each_kind_names_its_path():
    paths = {key: kind.workflow.name for key, kind in KINDS.items()}
    assert paths == {
        "apology": "reviewed",
        "boundaries": "reviewed",
        "processing_window": "confirmed",
        "repair_contract": "signed",
        "truth_conversation": "reviewed",
    } | ({"connection_ritual": "confirmed"} if "connection_ritual" in KINDS else {})
    for kind in KINDS.values():
        assert {Status.ASSIGNED, Status.DRAFT, Status.COMPLETED} <= set(kind.workflow.statuses)


def _outside_the_workflow():
    for folder, pattern in (("practice", "*.py"), ("templates", "*.html")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            if path.parent == ROOT / "practice" / "homework":
                continue  # the workflow module and the kinds own the statuses
            if path == ROOT / "practice" / "checkins" / "status.py":
                continue  # a check-in's own states
            yield path


def test_no_status_is_spelled_outside_the_workflow_and_the_kinds():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _outside_the_workflow()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if STATUS_LITERAL.search(line)
    ]
    assert found == []

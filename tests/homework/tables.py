"""Rule tables for the coach tests: for each rule code, the cases it must flag and the cases
it must leave alone, of which there are at least as many."""

from __future__ import annotations

import pytest


def _row(case) -> tuple:
    return case if isinstance(case, tuple) else (case,)


def unbalanced(tables: dict[str, tuple[list, list]]) -> list[str]:
    """The rule codes with fewer cases left alone than flagged (an empty list is the goal)."""
    return [
        code for code, (flagged, left_alone) in tables.items() if len(left_alone) < len(flagged)
    ]


def flagged(tables: dict[str, tuple[list, list]]) -> list:
    """Parameters (code, *case) for every case a rule must flag."""
    return [
        pytest.param(code, *_row(case), id=f"{code}-{index}")
        for code, (cases, _) in tables.items()
        for index, case in enumerate(cases)
    ]


def left_alone(tables: dict[str, tuple[list, list]]) -> list:
    """Parameters (code, *case) for every case a rule must leave alone."""
    return [
        pytest.param(code, *_row(case), id=f"not-{code}-{index}")
        for code, (_, cases) in tables.items()
        for index, case in enumerate(cases)
    ]

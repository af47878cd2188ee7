"""The questionnaire engine: load a definition, check it, score a set of answers.

Two scoring rules cover the instruments we ship:

- ``sum``: the sum of the answers' values; positive when the sum passes the cut-off
  (``above`` or ``below`` it). A sum needs every item: with an item unanswered or declined
  the score is unknown, and the result is positive only if the answered items already pass
  the cut-off whatever the rest would be (a screen never reads as clear for want of
  answers).
- ``any_positive``: positive when any answer is one of its item's positive values (our own
  safety questions: anything but the first, calm answer).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

DEFINITIONS = Path(__file__).parent / "definitions"
PREFER_NOT = "prefer_not"  # the answer "prefer not to answer", on every item
PREFER_NOT_LABEL = "Prefer not to answer"


class InstrumentError(ValueError):
    """A definition that does not fit the engine, or answers that do not fit the definition."""


@dataclass(frozen=True)
class Anchor:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    anchors: tuple[Anchor, ...]
    # For ``any_positive``: the values that count as positive.
    positive: frozenset[int] = frozenset()

    def anchor(self, value: int) -> Anchor:
        for anchor in self.anchors:
            if anchor.value == value:
                return anchor
        raise InstrumentError(f"{self.key}: {value!r} is not one of its answers")


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    purpose: Literal["safety", "measure"]
    validated: bool
    # A practice turns it on; False for an instrument whose licence we do not hold.
    enabled_by_default: bool
    source: str
    licence: str
    stem: str
    items: tuple[Item, ...]
    scoring: Literal["sum", "any_positive"]
    cutoff: float | None = None
    positive_when: Literal["above", "below"] | None = None
    minimum: int = 0
    maximum: int = 0
    note: str = ""

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise InstrumentError(f"{self.key} has no item {key!r}")


@dataclass(frozen=True)
class Result:
    """A scored set of answers. `score` is None when a sum is missing an answer."""

    instrument: str
    score: int | None
    positive: bool
    answered: tuple[str, ...]
    declined: tuple[str, ...]  # "prefer not to answer"
    missing: tuple[str, ...]
    positive_items: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.missing and not self.declined


def _anchors(raw: list, where: str) -> tuple[Anchor, ...]:
    if not raw:
        raise InstrumentError(f"{where}: no answers")
    anchors = tuple(Anchor(int(a["value"]), str(a["label"])) for a in raw)
    if len({a.value for a in anchors}) != len(anchors):
        raise InstrumentError(f"{where}: two answers share a value")
    return anchors


def load(path: Path) -> Instrument:
    """Read and check one definition file."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    key = raw.get("key") or path.stem
    shared = raw.get("anchors")
    items = []
    for index, item in enumerate(raw.get("items", []), start=1):
        where = f"{key} item {index}"
        anchors = _anchors(item.get("anchors") or shared or [], where)
        positive = frozenset(int(v) for v in item.get("positive", []))
        if not positive <= {a.value for a in anchors}:
            raise InstrumentError(f"{where}: a positive value is not one of its answers")
        items.append(
            Item(str(item.get("key") or f"q{index}"), str(item["text"]), anchors, positive)
        )
    if not items:
        raise InstrumentError(f"{key}: no items")
    if len({item.key for item in items}) != len(items):
        raise InstrumentError(f"{key}: two items share a key")
    scoring = raw.get("scoring", {})
    rule = scoring.get("rule")
    if rule not in ("sum", "any_positive"):
        raise InstrumentError(f"{key}: scoring rule must be 'sum' or 'any_positive'")
    if rule == "any_positive" and not any(item.positive for item in items):
        raise InstrumentError(f"{key}: 'any_positive' needs positive values on its items")
    cutoff = scoring.get("cutoff")
    positive_when = scoring.get("positive_when")
    if rule == "sum" and (cutoff is None or positive_when not in ("above", "below")):
        raise InstrumentError(f"{key}: a sum needs a cutoff and positive_when above or below")
    purpose = raw.get("purpose")
    if purpose not in ("safety", "measure"):
        raise InstrumentError(f"{key}: purpose must be 'safety' or 'measure'")
    for required in ("name", "source", "licence"):
        if not raw.get(required):
            raise InstrumentError(f"{key}: {required} is required")
    return Instrument(
        key=key,
        name=raw["name"],
        purpose=purpose,
        validated=bool(raw.get("validated", False)),
        enabled_by_default=bool(raw.get("enabled_by_default", False)),
        source=raw["source"],
        licence=raw["licence"],
        stem=raw.get("stem", ""),
        items=tuple(items),
        scoring=rule,
        cutoff=float(cutoff) if cutoff is not None else None,
        positive_when=positive_when,
        minimum=sum(min(a.value for a in item.anchors) for item in items),
        maximum=sum(max(a.value for a in item.anchors) for item in items),
        note=raw.get("note", ""),
    )


@cache
def instruments() -> dict[str, Instrument]:
    """Every shipped definition, by key."""
    found = {}
    for path in sorted(DEFINITIONS.glob("*.toml")):
        instrument = load(path)
        found[instrument.key] = instrument
    return found


def get_instrument(key: str) -> Instrument:
    try:
        return instruments()[key]
    except KeyError:
        raise InstrumentError(f"unknown instrument {key!r}") from None


def _passes(instrument: Instrument, value: float) -> bool:
    assert instrument.cutoff is not None
    if instrument.positive_when == "above":
        return value > instrument.cutoff
    return value < instrument.cutoff


def score(instrument: Instrument, answers: dict[str, int | str]) -> Result:
    """Score answers (item key -> an anchor's value, or PREFER_NOT); unknown keys or values
    are refused, never guessed."""
    unknown = set(answers) - {item.key for item in instrument.items}
    if unknown:
        raise InstrumentError(f"{instrument.key}: no item {sorted(unknown)[0]!r}")
    values: dict[str, int] = {}
    declined, missing = [], []
    for item in instrument.items:
        answer = answers.get(item.key)
        if answer is None or answer == "":
            missing.append(item.key)
        elif answer == PREFER_NOT:
            declined.append(item.key)
        else:
            try:
                value = int(answer)
            except (TypeError, ValueError):
                raise InstrumentError(f"{item.key}: {answer!r} is not an answer") from None
            item.anchor(value)  # refuses a value that is not one of its answers
            values[item.key] = value
    positive_items = tuple(
        item.key for item in instrument.items if values.get(item.key) in item.positive
    )
    if instrument.scoring == "any_positive":
        total = None
        positive = bool(positive_items)
    else:
        known = sum(values.values())
        unanswered = [item for item in instrument.items if item.key not in values]
        total = known if not unanswered else None
        if total is not None:
            positive = _passes(instrument, total)
        elif instrument.positive_when == "above":
            positive = _passes(
                instrument, known + sum(min(a.value for a in i.anchors) for i in unanswered)
            )
        else:
            positive = _passes(
                instrument, known + sum(max(a.value for a in i.anchors) for i in unanswered)
            )
    return Result(
        instrument=instrument.key,
        score=total,
        positive=positive,
        answered=tuple(values),
        declined=tuple(declined),
        missing=tuple(missing),
        positive_items=positive_items,
    )

"""Questionnaires as data: each instrument is one definition file, read by one small engine.

A definition (``definitions/<key>.toml``) carries the items word for word, the answer
anchors, how it is scored, the cut-off, its source and its licence note. Validated
instruments are only valid in their published wording, so the engine never rewords an item;
our own questions say plainly that they are not a validated screen. Every item also allows
"prefer not to answer", which is recorded as such and never scored as an answer.
"""

from practice.instruments.engine import (
    PREFER_NOT,
    Anchor,
    Instrument,
    InstrumentError,
    Item,
    Result,
    get_instrument,
    instruments,
    load,
    score,
)

__all__ = [
    "PREFER_NOT",
    "Anchor",
    "Instrument",
    "InstrumentError",
    "Item",
    "Result",
    "get_instrument",
    "instruments",
    "load",
    "score",
]

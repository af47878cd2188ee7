"""Shared by the measures tests: the engine pointed at the shipped definitions plus a made-up
one from `tests/instruments/definitions/`, and the CSI-4 answer form for given values."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from practice.instruments import engine

FIXTURE_DEFINITIONS = Path(__file__).parent / "instruments" / "definitions"
CSI4_ITEMS = ("happiness", "warm", "rewarding", "satisfied")


@pytest.fixture
def made_up_measure(tmp_path, monkeypatch):
    """The engine reads a folder holding the shipped definitions and the made-up measure
    `closeness_test`: adding a measure is adding its file."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    for path in [*engine.DEFINITIONS.glob("*.toml"), *FIXTURE_DEFINITIONS.glob("*.toml")]:
        shutil.copy(path, folder / path.name)
    monkeypatch.setattr(engine, "DEFINITIONS", folder)
    engine.instruments.cache_clear()
    yield engine.instruments()["closeness_test"]
    monkeypatch.undo()
    engine.instruments.cache_clear()


def csi4_form(*values: int | str) -> MultiDict:
    """The CSI-4 answer form's fields, one value per item in order (None-free)."""
    return MultiDict({f"item-{key}": str(v) for key, v in zip(CSI4_ITEMS, values, strict=True)})

"""Server-drawn SVG charts: no script or style (the CSP holds), gaps for missing weeks,
accessible names, the timeline as bands, and the same numbers as a table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from practice.charts import Series, line_chart, table_rows, timeline_bands

SVG = "{http://www.w3.org/2000/svg}"
WEEKS = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(6)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, under test


def test_a_chart_is_plain_svg_with_a_name_and_no_script_or_style():
    svg = line_chart(
        [Series("Sam", [1, 2, 3, 3, 4, 5]), Series("Alex <b>", [2, 2, None, 3, 3, 4])],
        weeks=WEEKS,
        y_min=1,
        y_max=5,
        title="Spontaneous affection & warmth",
        y_labels={1: "Rarely", 5: "Often"},
        ident="affection",
    )
    root = parse(svg)  # well-formed, names escaped
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "affection-title affection-desc"
    assert root.find(f"{SVG}title").text == "Spontaneous affection & warmth"
    assert "Alex <b>" in root.find(f"{SVG}desc").text
    for element in root.iter():
        assert not element.tag.endswith("script")
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)


def test_a_week_without_an_answer_is_a_gap_not_a_zero():
    svg = line_chart(
        [Series("Alex", [2, 2, None, 3, 3, 4])], weeks=WEEKS, y_min=1, y_max=5, title="t"
    )
    root = parse(svg)
    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 3]
    # Higher values are drawn higher (smaller y).
    ys = [float(p.split(",")[1]) for p in lines[1].get("points").split()]
    assert ys[0] > ys[-1]


def test_a_lone_answer_is_a_point():
    svg = line_chart(
        [Series("Alex", [None, 3, None, None, None, None])],
        weeks=WEEKS,
        y_min=1,
        y_max=5,
        title="t",
    )
    root = parse(svg)
    assert root.findall(f"{SVG}polyline") == []
    assert len(root.findall(f"{SVG}circle")) == 1


def test_the_timeline_is_drawn_as_labelled_bands():
    bands = timeline_bands(weeks_since_start=30, count=26)  # weeks 5..30 of the work
    assert [(b.start, b.end, b.label.split(":")[0]) for b in bands] == [
        (0, 3, "Early weeks"),
        (3, 21, "Months"),
        (21, 26, "6–12 months"),
    ]
    svg = line_chart(
        [Series("Sam", [3] * 26)],
        weeks=[date(2026, 1, 5) + timedelta(weeks=i) for i in range(26)],
        y_min=1,
        y_max=5,
        title="t",
        bands=bands,
    )
    labels = [r.find(f"{SVG}title").text for r in parse(svg).findall(f"{SVG}rect")]
    assert labels == [band.label for band in bands]


def test_bands_start_where_the_work_started():
    assert [b.label.split(":")[0] for b in timeline_bands(weeks_since_start=3, count=12)] == [
        "Early weeks"
    ]
    (band,) = timeline_bands(weeks_since_start=3, count=12)
    assert (band.start, band.end) == (8, 12)  # weeks -8..3: the first eight columns are before


def test_the_table_has_the_same_numbers():
    rows = table_rows([Series("Sam", [1, 2.5, None, 3, 4, 5])], WEEKS)
    assert rows[0] == ["7 Sep 2026", "1"]
    assert rows[1][1] == "2.5"
    assert rows[2][1] == "—"
    assert len(rows) == 6


def test_mismatched_lengths_and_bad_ranges_are_refused():
    with pytest.raises(ValueError):
        line_chart([Series("Sam", [1, 2])], weeks=WEEKS, y_min=1, y_max=5, title="t")
    with pytest.raises(ValueError):
        line_chart([], weeks=WEEKS, y_min=5, y_max=5, title="t")
    with pytest.raises(ValueError):
        line_chart([], weeks=WEEKS, y_min=1, y_max=5, title="t", ident='x" onload="y')


def test_a_phone_chart_keeps_its_width_for_the_plot_and_its_labels_inside_it():
    from practice.charts import Band

    options = dict(
        weeks=WEEKS,
        y_min=1,
        y_max=5,
        title="t",
        y_labels={1: "It took a day or more", 5: "Within minutes"},
        bands=[Band(0, 4, "Months: meaningful changes"), Band(4, 6, "6–12 months: stability")],
    )
    wide = parse(line_chart([Series("Sam", [1, 2, 3, 3, 4, 5])], **options))
    narrow = parse(line_chart([Series("Sam", [1, 2, 3, 3, 4, 5])], compact=True, **options))
    assert narrow.get("viewBox") == "0 0 640 220"  # the size is the caller's; the layout moves

    def first_x(root):
        line = root.find(f".//{SVG}polyline")
        return float(line.get("points").split()[0].split(",")[0])

    assert first_x(narrow) < 20 < first_x(wide)  # no label column at the left
    axis = [t for t in narrow.iter(f"{SVG}text") if t.get("class") == "chart__axis"]
    labels = {t.text: t for t in axis}
    assert labels["Within minutes"].get("text-anchor") == "end"  # inside the right edge
    # The last band is too narrow for its words beside the y labels: only its title names it.
    texts = [t.text for t in narrow.iter(f"{SVG}text")]
    assert "Months: meaningful changes" in texts or "Months" in texts
    assert not any(text and text.startswith("6–12") for text in texts)
    titles = [t.text for t in narrow.iter(f"{SVG}title")]
    assert "6–12 months: stability" in titles

"""Charts drawn on the server as SVG: trends a therapist reads at a glance, the same picture in
a page and in a PDF.

No script and no style attribute (the pages' Content-Security-Policy allows neither inline):
lines and bands are drawn with presentation attributes and classes that the stylesheet may
refine. Every chart has a `<title>` and `<desc>`, and `table_rows` gives the same numbers as a
table for screen readers and for print. A week with no answer is a gap in the line, never a
zero.

The method's timeline can be drawn behind a chart as bands ("small changes come in weeks,
meaningful ones in months, stability in six to twelve months"), so that a flat month reads as
part of the work rather than as failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

# Line colours a reader can tell apart, also in greyscale print (dashes differ too).
PALETTE = (("#28695a", ""), ("#7a4fa3", "6 4"), ("#b3541e", "2 3"), ("#1d4477", "8 3 2 3"))


@dataclass(frozen=True)
class Series:
    """One line: a value per week (None where there was no answer)."""

    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Band:
    """A stretch of weeks drawn behind the lines, labelled (the method's timeline)."""

    start: int  # first week index, inclusive
    end: int  # last week index, exclusive
    label: str


def timeline_bands(weeks_since_start: int, count: int) -> list[Band]:
    """The method's timeline over a chart of `count` weeks whose last week is
    `weeks_since_start` weeks into the work: early weeks, the months of meaningful change,
    and the stretch where stability grows."""
    first = weeks_since_start - count + 1  # the work week of the chart's first column
    stages = ((0, 8, "Early weeks: small changes"), (8, 26, "Months: meaningful changes"))
    stages += ((26, 10_000, "6–12 months: stability grows"),)
    bands = []
    for start, end, label in stages:
        lo, hi = max(start, first) - first, min(end, weeks_since_start + 1) - first
        if hi > lo:
            bands.append(Band(lo, hi, label))
    return bands


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    series: Sequence[Series],
    *,
    weeks: Sequence[date],
    y_min: float,
    y_max: float,
    title: str,
    y_labels: dict[float, str] | None = None,
    bands: Sequence[Band] = (),
    width: int = 640,
    height: int = 220,
    ident: str = "chart",
    compact: bool = False,
    ticks: int = 6,
) -> str:
    """An SVG line chart of weekly values; `weeks` names each column (its Monday). `ident`
    keeps the title's and description's ids unique when a page has several charts.

    `compact` is for a phone's width: the y labels go inside the plot, at its right edge, so
    the plot keeps the width (a label beside it would take half of a narrow chart). `ticks`
    is about how many weeks are named under the plot (a printed chart, half a page wide, names
    fewer)."""
    if not ident.replace("-", "").isalnum():
        raise ValueError("ident is letters, digits and hyphens")
    if y_max <= y_min:
        raise ValueError("y_max must be above y_min")
    for line in series:
        if len(line.values) != len(weeks):
            raise ValueError(f"{line.label!r} has {len(line.values)} values for {len(weeks)} weeks")
    longest = max((len(label) for label in (y_labels or {}).values()), default=2)
    left, right, bottom = (8 if compact else 14 + int(6.5 * longest)), 12, 28
    top = (
        28 if len(series) > 1 else 12
    )  # a legend above the plot when there are lines to tell apart
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(weeks), 1)
    step = plot_w / max(count - 1, 1)

    def x(index: float) -> float:
        return left + index * step if count > 1 else left + plot_w / 2

    def y(value: float) -> float:
        clamped = min(max(value, y_min), y_max)
        return top + plot_h * (1 - (clamped - y_min) / (y_max - y_min))

    names = ", ".join(line.label for line in series) or "no data"
    span = f"{weeks[0]:%-d %b %Y} to {weeks[-1]:%-d %b %Y}" if weeks else "no weeks"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">'
        + escape(f"{names}, weekly, {span}. The same numbers are in the table below.")
        + "</desc>",
    ]
    for band_index, band in enumerate(bands):
        x0 = x(band.start) - (step / 2 if band.start > 0 else 0)
        x1 = x(band.end - 1) + (step / 2 if band.end < count else 0)
        fill = "#f3ede4" if band_index % 2 == 0 else "#eef3f1"
        parts.append(
            f'<rect class="chart__band" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{plot_h}" fill="{fill}"><title>{escape(band.label)}</title></rect>'
        )
        # The label if it fits the band, else its short form, else only the band's title. On a
        # compact chart the y labels sit inside the plot's right edge: the last band leaves
        # them room.
        room = x1 - x0
        if compact and band.end >= count:
            room -= 6.2 * longest + 8
        for text in (band.label, band.label.split(":")[0]):
            if len(text) * 5.6 + 8 <= room:
                parts.append(
                    f'<text class="chart__band-label" x="{x0 + 4:.1f}" y="{top + 11}" '
                    f'font-size="10" fill="#5a4326">{escape(text)}</text>'
                )
                break
    parts.extend(_y_grid(y_labels, y, left=left, plot_w=plot_w, top=top, compact=compact))
    every = max(count // max(ticks, 1), 1)
    ticks = list(range(0, count, every)) if weeks else []
    if ticks and count - 1 - ticks[-1] >= every / 2 + 0.5:
        ticks.append(count - 1)  # the last week too, unless it would crowd the one before
    for index in ticks:
        # On a narrow chart the first and last dates sit inside the edges, not across them.
        anchor = "middle"
        if compact and count > 1 and index in (0, count - 1):
            anchor = "start" if index == 0 else "end"
        parts.append(
            f'<text class="chart__axis" x="{x(index):.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="{anchor}" fill="#4f5a67">{weeks[index]:%-d %b}</text>'
        )
    for line_index, line in enumerate(series):
        colour, dash = PALETTE[line_index % len(PALETTE)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        run: list[str] = []
        runs: list[list[str]] = []
        for index, value in enumerate(line.values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{x(index):.1f},{y(value):.1f}")
        if run:
            runs.append(run)
        for points in runs:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                parts.append(
                    f'<circle class="chart__point" cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>'
                )
            else:
                parts.append(
                    f'<polyline class="chart__line" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5"{dash_attr} points="{" ".join(points)}">'
                    f"<title>{escape(line.label)}</title></polyline>"
                )
    if len(series) > 1:
        for line_index, line in enumerate(series):
            colour, dash = PALETTE[line_index % len(PALETTE)]
            lx = left + line_index * 150
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{lx}" x2="{lx + 18}" y1="10" y2="10" '
                f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
            )
            parts.append(
                f'<text class="chart__legend" x="{lx + 22}" y="14" font-size="11" '
                f'fill="#1d2733">{escape(line.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def table_rows(series: Sequence[Series], weeks: Sequence[date]) -> list[list[str]]:
    """The chart's numbers as rows (week, then one cell per line; "—" for no answer)."""
    rows = []
    for index, week in enumerate(weeks):
        cells = [f"{week:%-d %b %Y}"]
        for line in series:
            value = line.values[index]
            cells.append("—" if value is None else _fmt(value))
        rows.append(cells)
    return rows


@dataclass(frozen=True)
class DatedSeries:
    """One line of scores on the days they were given (a measure every few weeks)."""

    label: str
    points: Sequence[tuple[date, float]]


def _legend_rows(entries: Sequence[str], left: int, width: int) -> list[list[tuple[int, str]]]:
    """Legend entries placed left to right, wrapping to another row when the chart is narrow."""
    rows: list[list[tuple[int, str]]] = [[]]
    x = left
    for label in entries:
        room = 36 + int(6.6 * len(label))
        if rows[-1] and x + room > width:
            rows.append([])
            x = left
        rows[-1].append((x, label))
        x += room
    return rows


def dated_chart(
    series: Sequence[DatedSeries],
    *,
    start: date,
    end: date,
    y_min: float,
    y_max: float,
    title: str,
    cutoff: float | None = None,
    cutoff_label: str = "Cut-off",
    sessions: Sequence[date] = (),
    y_labels: dict[float, str] | None = None,
    width: int = 640,
    height: int = 240,
    ident: str = "chart",
    compact: bool = False,
    ticks: int = 6,
) -> str:
    """An SVG chart of scores on their days, from `start` to `end`: a line and a dot per
    series, the instrument's cut-off as a dashed line across, and each session as a dotted
    upright (a measure is read against the sessions around it). Same rules as `line_chart`:
    no script, no style, a title and a description, the numbers in a table beside it."""
    if not ident.replace("-", "").isalnum():
        raise ValueError("ident is letters, digits and hyphens")
    if y_max <= y_min:
        raise ValueError("y_max must be above y_min")
    if end < start:
        raise ValueError("end must not be before start")
    longest = max((len(label) for label in (y_labels or {}).values()), default=2)
    left, right, bottom = (8 if compact else 14 + int(6.5 * longest)), 12, 28
    legend = [line.label for line in series]
    if cutoff is not None:
        legend.append(f"{cutoff_label} {_fmt(cutoff)}")
    if sessions:
        legend.append("Session")
    rows = _legend_rows(legend, left, width - right)
    top = 12 + 16 * len(rows)
    plot_w, plot_h = width - left - right, height - top - bottom
    days = max((end - start).days, 1)

    def x(day: date) -> float:
        return left + plot_w * min(max((day - start).days, 0), days) / days

    def y(value: float) -> float:
        clamped = min(max(value, y_min), y_max)
        return top + plot_h * (1 - (clamped - y_min) / (y_max - y_min))

    names = ", ".join(line.label for line in series) or "no data"
    desc = f"{names}, {start:%-d %b %Y} to {end:%-d %b %Y}"
    if cutoff is not None:
        desc += f"; the dashed line is the cut-off, {_fmt(cutoff)}"
    if sessions:
        desc += f"; dotted uprights mark the {len(sessions)} sessions"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">'
        + escape(desc + ". The same numbers are in the table below.")
        + "</desc>",
    ]
    parts.extend(_y_grid(y_labels, y, left=left, plot_w=plot_w, top=top, compact=compact))
    for day in sessions:
        if start <= day <= end:
            parts.append(
                f'<line class="chart__session" x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top}" '
                f'y2="{top + plot_h}" stroke="#6b7686" stroke-width="1" stroke-dasharray="1 3">'
                f"<title>Session, {day:%-d %b %Y}</title></line>"
            )
    if cutoff is not None:
        parts.append(
            f'<line class="chart__cutoff" x1="{left}" x2="{left + plot_w}" y1="{y(cutoff):.1f}" '
            f'y2="{y(cutoff):.1f}" stroke="#9b2c2c" stroke-width="1.5" stroke-dasharray="6 4">'
            f"<title>{escape(cutoff_label)} {_fmt(cutoff)}</title></line>"
        )
    count = max(min(ticks, days // 7 + 1), 2)
    for index in range(count):
        day = start + (end - start) * index / (count - 1)
        anchor = "middle"
        if index in (0, count - 1):
            anchor = "start" if index == 0 else "end"
        parts.append(
            f'<text class="chart__axis" x="{x(day):.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="{anchor}" fill="#4f5a67">{day:%-d %b}</text>'
        )
    for line_index, line in enumerate(series):
        colour, dash = PALETTE[line_index % len(PALETTE)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        points = sorted(line.points)
        if len(points) > 1:
            coords = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in points)
            parts.append(
                f'<polyline class="chart__line" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dash_attr} points="{coords}">'
                f"<title>{escape(line.label)}</title></polyline>"
            )
        for day, value in points:
            parts.append(
                f'<circle class="chart__point" cx="{x(day):.1f}" cy="{y(value):.1f}" r="3.5" '
                f'fill="{colour}"><title>{escape(line.label)}, {day:%-d %b %Y}: '
                f"{_fmt(value)}</title></circle>"
            )
    swatches = {line.label: PALETTE[i % len(PALETTE)] for i, line in enumerate(series)}
    for row_index, row in enumerate(rows):
        ly = 10 + 16 * row_index
        for lx, label in row:
            if label in swatches:
                colour, dash = swatches[label]
                stroke = f'stroke="{colour}" stroke-width="2.5"'
                stroke += f' stroke-dasharray="{dash}"' if dash else ""
            elif label == "Session":
                stroke = 'stroke="#6b7686" stroke-width="1.5" stroke-dasharray="1 3"'
            else:
                stroke = 'stroke="#9b2c2c" stroke-width="1.5" stroke-dasharray="6 4"'
            parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly}" y2="{ly}" {stroke}/>')
            parts.append(
                f'<text class="chart__legend" x="{lx + 22}" y="{ly + 4}" font-size="11" '
                f'fill="#1d2733">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _y_grid(y_labels, y, *, left: float, plot_w: float, top: float, compact: bool) -> list[str]:
    """The horizontal grid lines and their labels: beside the plot at a desk, inside it on a
    phone (below the top line, above the others)."""
    parts = []
    for value, label in sorted((y_labels or {}).items()):
        parts.append(
            f'<line class="chart__grid" x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" stroke="#d9d4cc" stroke-width="1"/>'
        )
        if compact:
            below = y(value) - top < 14
            parts.append(
                f'<text class="chart__axis" x="{left + plot_w - 4}" '
                f'y="{y(value) + (12 if below else -4):.1f}" font-size="11" text-anchor="end" '
                f'fill="#4f5a67" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                f"{escape(label)}</text>"
            )
        else:
            parts.append(
                f'<text class="chart__axis" x="{left - 6}" y="{y(value) + 4:.1f}" font-size="11" '
                f'text-anchor="end" fill="#4f5a67">{escape(label)}</text>'
            )
    return parts

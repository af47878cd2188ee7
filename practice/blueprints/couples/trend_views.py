"""A couple's trends for the therapist: each progress marker as a chart per partner, with the
method's timeline behind it and the numbers in a table beside it."""

from __future__ import annotations

from flask import render_template, request

from practice.blueprints.couples import bp
from practice.blueprints.couples.views import with_couple
from practice.charts import Series, line_chart, table_rows, timeline_bands
from practice.checkins.questions import MARKERS
from practice.services import trends


def _both_widths(series, **options) -> dict[str, str]:
    """The chart drawn for a desk and for a phone (the page shows one by its width: an SVG
    scaled down to a phone would have text too small to read)."""
    ident = options.pop("ident")
    return {
        "svg": line_chart(series, ident=ident, **options),
        "svg_narrow": line_chart(
            series, ident=f"{ident}-narrow", width=360, height=240, compact=True, **options
        ),
    }


def chart_set(trend: trends.CoupleTrend, *, prefix: str) -> list[dict]:
    """Every chart of a trend, ready for a template: title, SVGs, table rows, headers."""
    bands = timeline_bands(trend.weeks_since_start, len(trend.weeks))
    names = [p.partner.display_name for p in trend.partners]
    charts = []
    for marker in MARKERS:
        series = trends.marker_series(trend, marker.key)
        charts.append(
            {
                "title": marker.name,
                **_both_widths(
                    series,
                    weeks=trend.weeks,
                    y_min=1,
                    y_max=5,
                    title=marker.name,
                    y_labels={1: marker.low, 5: marker.high},
                    bands=bands,
                    ident=f"{prefix}-{marker.key.replace('_', '-')}",
                ),
                "headers": ["Week", *names],
                "rows": table_rows(series, trend.weeks),
            }
        )
    for label, pick, top in (
        ("Triggers in the week", lambda p: p.triggers, None),
        ("Longest recovery (minutes)", lambda p: p.longest_minutes, None),
        ("Agreements kept (%)", lambda p: p.kept, 100),
    ):
        series = [Series(p.partner.display_name, pick(p).values) for p in trend.partners]
        values = [v for s in series for v in s.values if v is not None]
        highest = top or max([*values, 1])
        charts.append(
            {
                "title": label,
                **_both_widths(
                    series,
                    weeks=trend.weeks,
                    y_min=0,
                    y_max=highest,
                    title=label,
                    y_labels={0: "0", highest: str(highest)},
                    bands=bands,
                    ident=f"{prefix}-{label.split()[0].lower()}",
                ),
                "headers": ["Week", *names],
                "rows": table_rows(series, trend.weeks),
            }
        )
    return charts


def span_from_request() -> int:
    try:
        span = int(request.args.get("weeks", "26"))
    except ValueError:
        span = 26
    return span if span in trends.SPANS else 26


@bp.route("/<int:couple_id>/trends")
@with_couple
def couple_trends(couple):
    span = span_from_request()
    trend = trends.couple_trend(couple, span)
    return render_template(
        "couples/trends.html",
        couple=couple,
        trend=trend,
        span=span,
        spans=trends.SPANS,
        charts=chart_set(trend, prefix="couple"),
    )

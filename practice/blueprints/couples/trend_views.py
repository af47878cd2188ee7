"""A couple's trends for the therapist: each progress marker as a chart per partner, with the
method's timeline behind it and the numbers in a table beside it."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from practice.blueprints.couples import bp
from practice.blueprints.couples.views import with_couple
from practice.services import audit, trends
from practice.services import ritual as ritual_service


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
    audit.viewed(current_user, "trends", couple)
    return render_template(
        "couples/trends.html",
        couple=couple,
        trend=trend,
        span=span,
        spans=trends.SPANS,
        charts=trends.chart_set(trend, prefix="couple"),
        ritual=ritual_service.completion(couple, trend.weeks),
    )

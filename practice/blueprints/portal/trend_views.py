"""The partner's own trends in the portal (and the other partner's, only for weeks shared)."""

from __future__ import annotations

from flask import g, render_template

from practice.blueprints.couples.trend_views import span_from_request
from practice.blueprints.portal import bp
from practice.blueprints.portal.sessions import partner_required
from practice.services import ritual as ritual_service
from practice.services import trends


@bp.route("/portal/trends")
@partner_required
def trends_page():
    span = span_from_request()
    trend = trends.couple_trend(g.partner.couple, span, for_partner=g.partner)
    return render_template(
        "portal/trends.html",
        partner=g.partner,
        trend=trend,
        span=span,
        spans=trends.SPANS,
        charts=trends.chart_set(trend, prefix="mine"),
        # The partner's own ticks only: the other partner's stay theirs and the therapist's.
        ritual=ritual_service.completion(g.partner.couple, trend.weeks, [g.partner]),
    )

"""Session summaries a therapist shared with the couple: listed in the portal, downloaded by
either partner (each download audited). The therapist's copies never reach this page."""

from __future__ import annotations

from flask import g, render_template

from practice.blueprints.portal import bp
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.reports.views import private_file
from practice.extensions import db
from practice.models import Practice
from practice.services import reports


@bp.route("/portal/summaries")
@partner_required
def summaries():
    return render_template(
        "portal/summaries.html",
        partner=g.partner,
        practice=db.session.get(Practice, g.partner.practice_id),
        summaries=reports.released_for(g.partner),
    )


@bp.route("/portal/summaries/<string:summary_key>.pdf")
@partner_required
def summary_download(summary_key: str):
    report = reports.get_released(g.partner, summary_key[:40])
    data = reports.read_file(report)
    reports.record_download(g.partner, report)
    name = f"session-summary-{report.period_end.isoformat()}.pdf"
    return private_file(data, "application/pdf", name)

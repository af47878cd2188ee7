"""A couple's trigger log for the therapist: each partner's entries of the last weeks, words
included. The trends page shows only the counts; this page is opened on purpose, and audited."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask_login import current_user

from practice.blueprints.couples import bp
from practice.blueprints.couples.views import with_couple
from practice.services import audit
from practice.services import checkins as checkin_service
from practice.services import triggers as trigger_service

WEEKS_SHOWN = 4


@bp.route("/<int:couple_id>/triggers")
@with_couple
def couple_triggers(couple):
    latest = checkin_service.week_of(couple)
    first = latest - timedelta(weeks=WEEKS_SHOWN - 1)
    since, _ = trigger_service.week_bounds(couple, first)
    _, until = trigger_service.week_bounds(couple, latest)
    entries = trigger_service.couple_entries(couple, since, until)
    audit.viewed(current_user, "checkin", couple, log="triggers")
    names = {partner.id: partner.display_name for partner in couple.partners}
    return render_template(
        "couples/triggers.html",
        couple=couple,
        first=first,
        entries=entries,
        names=names,
        helped=trigger_service.HELPED_CHOICES,
        reassurance=trigger_service.REASSURANCE_CHOICES,
    )

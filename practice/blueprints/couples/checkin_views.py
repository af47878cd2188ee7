"""A couple's weekly check-ins for the therapist: both partners side by side, week by week,
last week beside this one; marked reviewed with a private note."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples import bp
from practice.blueprints.couples.views import with_couple
from practice.blueprints.transaction import discard_writes
from practice.checkins.questions import GROUNDING_STEPS, KEPT, MARKERS, WINDOW_HELD
from practice.checkins.status import HANDED_IN
from practice.extensions import db
from practice.models import Agreement
from practice.models.checkin import Checkin
from practice.services import DomainError, audit
from practice.services import checkins as checkin_service

WEEKS_SHOWN = 4


@bp.route("/<int:couple_id>/checkins")
@with_couple
def couple_checkins(couple):
    latest = checkin_service.week_of(couple)
    # ?week=2026-11-02 (from the review queue): the four weeks ending with that one.
    try:
        asked = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        asked = None
    if asked is not None and asked < latest:
        latest -= timedelta(weeks=(latest - asked).days // 7)  # on the couple's own weeks
    first = latest - timedelta(weeks=WEEKS_SHOWN - 1)
    rows = db.session.scalars(
        select(Checkin).where(
            Checkin.couple_id == couple.id,
            Checkin.week_of >= first,
            Checkin.status.in_(HANDED_IN),
        )
    ).all()
    by_week: dict = {}
    for row in rows:
        by_week.setdefault(row.week_of, {})[row.partner_id] = row
    weeks = [latest - timedelta(weeks=n) for n in range(WEEKS_SHOWN)]
    agreements = {
        a.public_id: a.text
        for a in db.session.scalars(select(Agreement).where(Agreement.couple_id == couple.id))
    }
    audit.viewed(current_user, "checkin", couple)
    return render_template(
        "couples/checkins.html",
        couple=couple,
        weeks=weeks,
        by_week=by_week,
        markers=MARKERS,
        steps=GROUNDING_STEPS,
        window_held=WINDOW_HELD,
        kept=KEPT,
        agreements=agreements,
        action_form=ConfirmForm(),
    )


@bp.route("/<int:couple_id>/checkins/<int:checkin_id>/reviewed", methods=["POST"])
@with_couple
def checkin_reviewed(couple, checkin_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    checkin = db.session.scalar(
        select(Checkin).where(Checkin.id == checkin_id, Checkin.couple_id == couple.id)
    )
    if checkin is None:
        abort(404)
    try:
        checkin_service.mark_reviewed(current_user, checkin, note=request.form.get("note"))
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash("Marked as read. Your note stays with the therapists.", "success")
    return redirect(url_for("couples.couple_checkins", couple_id=couple.id))

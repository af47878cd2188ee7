"""The trigger log in the portal: a grounding card first, then a one-screen log form, then
the week's entries. Everything works without JavaScript; a refused post keeps every value."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.transaction import discard_writes
from practice.models.base import utcnow
from practice.services import checkins as checkin_service
from practice.services import triggers as trigger_service
from practice.services.triggers import TriggerInvalid


def _therapist_names(partner) -> str:
    return " and ".join(therapist.name for therapist in partner.couple.therapists)


@bp.route("/portal/triggered")
@partner_required
def grounding():
    return render_template(
        "portal/trigger_grounding.html",
        partner=g.partner,
        again=request.args.get("again") == "1",
    )


def _form_page(values: dict, errors: dict | None = None, status: int = 200):
    return render_template(
        "portal/trigger_form.html",
        partner=g.partner,
        other=g.partner.other,
        values=values,
        errors=errors or {},
        helped=trigger_service.HELPED_CHOICES,
        reassurance=trigger_service.REASSURANCE_CHOICES,
        therapists=_therapist_names(g.partner),
        form=ContinueForm(),
    ), status


@bp.route("/portal/triggers/new")
@partner_required
def new_trigger():
    return _form_page(
        {
            "occurred_at": trigger_service.when_value(utcnow(), g.partner),
            "reassurance": "not_asked",
        }
    )


@bp.route("/portal/triggers", methods=["POST"])
@partner_required
def log_trigger():
    if not ContinueForm().validate_on_submit():
        abort(400)
    try:
        entry = trigger_service.log_from_form(g.partner, request.form)
    except TriggerInvalid as error:
        discard_writes()
        typed = {name: request.form.get(name, "") for name in request.form}
        return _form_page(typed, error.errors, 422)
    flash(
        f"Logged. Only you and your therapist ({_therapist_names(g.partner)}) can see it; "
        f"{g.partner.other.display_name} cannot.",
        "success",
    )
    return redirect(url_for("portal.trigger_log", logged=entry.public_id))


@bp.route("/portal/triggers")
@partner_required
def trigger_log():
    partner = g.partner
    week = checkin_service.week_of(partner.couple)
    entries = trigger_service.partner_entries(partner, week)
    return render_template(
        "portal/trigger_log.html",
        partner=partner,
        other=partner.other,
        week=week,
        entries=entries,
        summary=trigger_service.WeekSummary(
            count=len(entries),
            longest_minutes=max(
                (e.minutes_to_steady for e in entries if e.minutes_to_steady is not None),
                default=None,
            ),
        ),
        logged=request.args.get("logged", ""),
        helped=trigger_service.HELPED_CHOICES,
        reassurance=trigger_service.REASSURANCE_CHOICES,
        therapists=_therapist_names(partner),
    )

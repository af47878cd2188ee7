"""The connection ritual in the portal: the week's tick (a few taps, no JavaScript needed) and
the card on the home page that leads to it once both partners agreed to a plan. The plan
itself is written and agreed to on its homework page."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.transaction import discard_writes
from practice.extensions import db
from practice.homework import get_kind
from practice.models import Practice
from practice.services import DomainError
from practice.services import ritual as ritual_service
from practice.services.ritual import TickInvalid


@bp.context_processor
def _ritual_words() -> dict:
    """The home page's card finds the agreed plan among the pieces it already shows."""
    return {"ritual_plan_in": ritual_service.agreed_plan_in}


def _tick_page(week, values: dict, errors: dict | None = None, status: int = 200):
    partner = g.partner
    this_week, last_week = ritual_service.tick_weeks(partner.couple)
    recent = ritual_service.partner_ticks(partner)
    saved = next((row for row in recent if row.week_of == week), None)
    plan = ritual_service.latest_plan(partner.couple, seen_by=partner)
    return render_template(
        "portal/ritual_tick.html",
        partner=partner,
        other=partner.other,
        plan=plan,
        open_for_ticks=bool(recent) or ritual_service.open_for_ticks(partner.couple, plan),
        kind=get_kind(ritual_service.KIND),
        week=week,
        this_week=this_week,
        last_week=last_week,
        values=values if values is not None else ritual_service.form_values(saved, week),
        saved=saved,
        recent=recent,
        errors=errors or {},
        repair_checkin=ritual_service.REPAIR_CHECKIN_CHOICES,
        fun_date=ritual_service.FUN_DATE_CHOICES,
        short_checkin=ritual_service.REPAIR_CHECKIN_SHORT,
        short_date=ritual_service.FUN_DATE_SHORT,
        form=ContinueForm(),
        practice=db.session.get(Practice, partner.practice_id),
    ), status


@bp.route("/portal/ritual")
@partner_required
def ritual():
    this_week, last_week = ritual_service.tick_weeks(g.partner.couple)
    week = last_week if request.args.get("week") == "last" else this_week
    return _tick_page(week, None)


@bp.route("/portal/ritual", methods=["POST"])
@partner_required
def tick_ritual():
    if not ContinueForm().validate_on_submit():
        abort(400)
    this_week, last_week = ritual_service.tick_weeks(g.partner.couple)
    typed = {name: request.form.get(name, "") for name in request.form}
    try:
        row = ritual_service.tick_from_form(g.partner, request.form)
    except TickInvalid as error:
        discard_writes()
        week = last_week if typed.get("week") == last_week.isoformat() else this_week
        typed["week"] = week.isoformat()  # a week no longer open is offered as this week
        return _tick_page(week, typed, error.errors, 422)
    except DomainError as error:
        discard_writes()
        return _tick_page(this_week, typed, {"_": error.message}, 409)
    flash(
        f"Saved. Only you and your therapist see it; {g.partner.other.display_name} does not.",
        "success",
    )
    return redirect(url_for("portal.ritual", week="last" if row.week_of == last_week else None))

"""The processing window in the portal: agreeing to a schedule, and the calendar files."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.homework_views import _response_or_404
from practice.blueprints.portal.sessions import partner_required
from practice.extensions import db
from practice.services import DomainError, NotFound, calendar, windows
from practice.urls import external_url


@bp.route("/portal/homework/<public_id:response_key>/confirm", methods=["POST"])
@partner_required
def confirm_window(response_key: str):
    response = _response_or_404(response_key)
    if not ContinueForm().validate_on_submit():
        abort(400)
    try:
        both = windows.confirm(g.partner, response)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            "You have both confirmed: it is in your calendar links now."
            if both
            else "Confirmed. Waiting for your partner to confirm too.",
            "success",
        )
    return redirect(url_for("portal.homework", response_key=response.public_id))


@bp.route("/portal/calendar.ics")
@partner_required
def calendar_file():
    couple = g.partner.couple
    body = calendar.build_calendar(couple, calendar.window_schedules(couple))
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="processing-window.ics"'},
    )


@bp.route("/portal/calendar/subscribe", methods=["POST"])
@partner_required
def calendar_subscribe():
    if not ContinueForm().validate_on_submit():
        abort(400)
    token = calendar.create_feed(g.partner)
    db.session.commit()
    url = external_url("portal.calendar_feed", token=token)
    return render_template("portal/calendar_subscribe.html", url=url, form=ContinueForm())


@bp.route("/portal/calendar/unsubscribe", methods=["POST"])
@partner_required
def calendar_unsubscribe():
    if not ContinueForm().validate_on_submit():
        abort(400)
    calendar.revoke_feed(g.partner)
    db.session.commit()
    flash("Your calendar subscription link no longer works.", "success")
    return redirect(url_for("portal.home"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    try:
        partner = calendar.feed_partner(token)
    except NotFound:
        abort(404)
    from practice.tenancy import practice_context

    with practice_context(partner.practice_id):
        couple = partner.couple
        body = calendar.build_calendar(couple, calendar.window_schedules(couple))
    return Response(body, mimetype="text/calendar")

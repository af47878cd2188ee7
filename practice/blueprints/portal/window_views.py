"""The processing window in the portal: agreeing to a schedule, and the calendar files
(download, private subscription, the partner's own event title). Reopening an agreed schedule
is the portal's propose-change page, shared with the contract."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from practice.blueprints.forms import show_error
from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.homework_views import _response_or_404
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.portal.window_forms import CalendarTitleForm
from practice.blueprints.transaction import discard_writes
from practice.extensions import db
from practice.models import Practice
from practice.services import DomainError, NotFound, calendar, windows
from practice.services import homework as homework_service
from practice.urls import external_url

# The downloaded file's name: as neutral as what is in it.
FILE_NAME = "calendar.ics"


@bp.context_processor
def _calendar_words() -> dict[str, str]:
    """What a window event is called when the partner has not chosen a title."""
    return {"default_calendar_title": calendar.DEFAULT_TITLE}


@bp.route("/portal/homework/<public_id:response_key>/confirm", methods=["POST"])
@partner_required
def confirm_window(response_key: str):
    response = _response_or_404(response_key)
    if not ContinueForm().validate_on_submit():
        abort(400)
    try:
        both = windows.confirm(g.partner, response)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash(
            "You have both agreed. You can add the times to your calendar below."
            if both
            else "You agreed. Waiting for your partner to agree to this version too.",
            "success",
        )
    return redirect(url_for("portal.homework", response_key=response.public_id))


@bp.route("/portal/calendar.ics")
@partner_required
def calendar_file():
    couple = g.partner.couple
    body = calendar.build_calendar(
        couple, calendar.window_schedules(couple), title=calendar.event_title(g.partner)
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{FILE_NAME}"'},
    )


def _back_to(key: str | None):
    """The window page the title form was on, if it is one this partner may see; else home."""
    if key:
        try:
            response = homework_service.get_partner_response(g.partner, key)
        except NotFound:
            response = None
        if response is not None:
            return url_for("portal.homework", response_key=response.public_id)
    return url_for("portal.home")


@bp.route("/portal/calendar/title", methods=["POST"])
@partner_required
def calendar_title():
    form = CalendarTitleForm()
    if form.validate_on_submit():
        try:
            calendar.set_calendar_title(g.partner, form.title.data or "")
        except DomainError as error:
            show_error(form, error)  # the 422 below rolls back
        else:
            flash(
                "Title saved. A subscribed calendar shows it when it next refreshes; a "
                "downloaded file needs downloading again.",
                "success",
            )
            return redirect(_back_to(form.back.data))
    elif form.csrf_token.errors:
        abort(400)
    return render_template(
        "portal/calendar_title.html",
        form=form,
        partner=g.partner,
        default_title=calendar.DEFAULT_TITLE,
        back=_back_to(form.back.data),
        practice=db.session.get(Practice, g.partner.practice_id),
    ), 422


@bp.route("/portal/calendar/subscribe", methods=["POST"])
@partner_required
def calendar_subscribe():
    if not ContinueForm().validate_on_submit():
        abort(400)
    token = calendar.create_feed(g.partner)
    url = external_url("portal.calendar_feed", token=token)
    return render_template(
        "portal/calendar_subscribe.html",
        url=url,
        form=ContinueForm(),
        title=calendar.event_title(g.partner),
        practice=db.session.get(Practice, g.partner.practice_id),
    )


@bp.route("/portal/calendar/unsubscribe", methods=["POST"])
@partner_required
def calendar_unsubscribe():
    if not ContinueForm().validate_on_submit():
        abort(400)
    calendar.revoke_feed(g.partner)
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
        body = calendar.build_calendar(
            couple, calendar.window_schedules(couple), title=calendar.event_title(partner)
        )
    return Response(body, mimetype="text/calendar")


@bp.route("/portal/calendar/reminders", methods=["POST"])
@partner_required
def window_reminders():
    """Turn the hour-before reminders of the agreed weekly times (a processing window, a
    ritual's repair check-in) on or off for this partner."""
    if not ContinueForm().validate_on_submit():
        abort(400)
    g.partner.window_reminders = request.form.get("remind") == "on"
    flash(
        "You will get a reminder an hour before each agreed time."
        if g.partner.window_reminders
        else "No more reminders of your agreed times.",
        "success",
    )
    return redirect(url_for("portal.home") + "#calendar-heading")

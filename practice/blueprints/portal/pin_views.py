"""The portal PIN: set, change or remove it; unlock and lock this device."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from practice.blueprints.forms import show_error
from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import RemovePinForm, SetPinForm, UnlockForm
from practice.blueprints.portal.sessions import forget, partner_required, partner_signed_in
from practice.blueprints.transaction import discard_writes, keep_writes
from practice.extensions import csrf, db, limiter
from practice.models import Practice
from practice.services import DomainError, portal_access, portal_pin
from practice.services.portal_pin import LockedOut


def _unlock_limit() -> str:
    return current_app.config["PORTAL_LINK_RATE_LIMIT"]


def _next_page() -> str:
    """Back where the partner was: a portal path only, never another site."""
    target = request.args.get("next", "")
    if target.startswith("/portal") and "//" not in target and "\\" not in target:
        return target
    return url_for("portal.home")


@bp.route("/portal/unlock", methods=["GET", "POST"])
@limiter.limit(_unlock_limit, methods=["POST"])
@partner_signed_in
def unlock():
    if not g.portal_locked:
        return redirect(_next_page())
    form = UnlockForm()
    if form.validate_on_submit():
        try:
            portal_pin.unlock(g.portal_session, form.pin.data)
        except LockedOut:
            keep_writes()  # the wrong tries and the ended session are kept
            forget()
            return render_template("portal/locked_out.html"), 403
        except DomainError as error:
            keep_writes()  # a wrong try is counted
            show_error(form, error)
        else:
            return redirect(_next_page())
    status = 422 if form.errors else 200
    return render_template("portal/unlock.html", form=form, partner=g.partner), status


@bp.route("/portal/lock", methods=["POST"])
@partner_signed_in
def lock():
    portal_pin.lock(g.portal_session)
    return redirect(url_for("portal.unlock"))


@bp.route("/portal/pin", methods=["GET", "POST"])
@partner_required
def pin():
    partner = g.partner
    form, remove_form = SetPinForm(), RemovePinForm(prefix="remove")
    if form.validate_on_submit():
        try:
            portal_pin.set_pin(
                partner,
                g.portal_session,
                current=form.current_pin.data,
                new=form.new_pin.data,
                confirm=form.confirm_pin.data,
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash("Your PIN is set. This portal asks for it after 10 minutes unused.", "success")
            return redirect(url_for("portal.pin"))
    return _pin_page(form, remove_form), 422 if form.errors else 200


@bp.route("/portal/pin/remove", methods=["POST"])
@partner_required
def remove_pin():
    partner = g.partner
    form, remove_form = SetPinForm(formdata=None), RemovePinForm(prefix="remove")
    if remove_form.validate_on_submit():
        try:
            portal_pin.remove_pin(partner, current=remove_form.current_pin.data)
        except DomainError as error:
            discard_writes()
            show_error(remove_form, error)
        else:
            flash("Your PIN is removed. Sign out when you leave a shared device.", "success")
            return redirect(url_for("portal.pin"))
    return _pin_page(form, remove_form), 422


def _pin_page(form: SetPinForm, remove_form: RemovePinForm) -> str:
    partner = g.partner
    return render_template(
        "portal/pin.html",
        form=form,
        remove_form=remove_form,
        partner=partner,
        practice=db.session.get(Practice, partner.practice_id),
    )


@bp.context_processor
def pin_vocabulary() -> dict:
    return {"pin_idle_seconds": int(portal_pin.PIN_IDLE.total_seconds())}


@bp.route("/portal/exit", methods=["POST"])
@csrf.exempt  # a safety control works even on a page whose form has expired
def quick_exit():
    """Leave at once for the practice's neutral page. With a PIN the portal session is locked
    on the server; without one it is ended. Either way Back shows no content (pages are never
    cached), only the lock screen or the signed-out page."""
    destination = "https://www.wikipedia.org/"
    if g.get("partner") is not None:
        practice = db.session.get(Practice, g.partner.practice_id)
        destination = practice.quick_exit_url if practice else destination
        if portal_pin.has_pin(g.partner):
            portal_pin.lock(g.portal_session)
        else:
            portal_access.end_portal_session(g.portal_session, by=g.partner, reason="quick exit")
            forget()
    response = redirect(destination, code=303)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response

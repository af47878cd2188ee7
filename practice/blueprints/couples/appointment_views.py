"""Therapy sessions with a couple (an `Appointment`; "session" in the product's words):
recorded, corrected and deleted from the couple's page, the time typed in the couple's zone."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples import bp
from practice.blueprints.couples.forms import AppointmentForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import show_error
from practice.blueprints.transaction import discard_writes
from practice.local_time import local
from practice.models.base import utcnow
from practice.services import DomainError, NotFound
from practice.services import appointments as appointment_service
from practice.services.appointments import AppointmentDetails


def _appointment_or_404(couple, appointment_id: int):
    try:
        return appointment_service.get(current_user, couple, appointment_id)
    except NotFound:
        abort(404)


def _zone_words(couple) -> str:
    return couple.time_zone.replace("_", " ")


def _form(couple, data: dict | None = None) -> AppointmentForm:
    """The session form for this couple: its partners to choose from, its zone in the label.
    `data` fills a form opened with GET; a POST reads what was typed."""
    form = AppointmentForm(data=data) if request.method == "GET" else AppointmentForm()
    form.partner_id.choices = [(partner.id, partner.display_name) for partner in couple.partners]
    form.start.label.text = f"Start time (HH:MM, {_zone_words(couple)})"
    return form


def _details(form: AppointmentForm) -> AppointmentDetails:
    return AppointmentDetails(
        day=form.day.data,
        start=form.start.data,
        minutes=form.minutes.data,
        attendance=form.attendance.data,
        partner_id=form.partner_id.data,
        notes=form.notes.data or "",
        next_steps=form.next_steps.data or "",
        next_homework=list(form.next_homework.data or []),
    )


def _page(couple, form: AppointmentForm, appointment=None):
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "couples/appointment_form.html",
        couple=couple,
        form=form,
        appointment=appointment,
        zone=_zone_words(couple),
        action_form=ConfirmForm(),
    ), status


def _back(couple):
    return redirect(url_for("couples.show", couple_id=couple.id, _anchor="sessions"))


@bp.route("/<int:couple_id>/sessions/new", methods=["GET", "POST"])
@with_couple
def record_appointment(couple):
    if couple.is_closed:
        flash("Reopen the couple to record a session.", "info")
        return _back(couple)
    today = local(utcnow(), couple.time_zone).date()
    form = _form(couple, {"day": today})
    if form.validate_on_submit():
        try:
            appointment_service.record(current_user, couple, _details(form))
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash("Session recorded.", "success")
            return _back(couple)
    return _page(couple, form)


@bp.route("/<int:couple_id>/sessions/<int:appointment_id>/edit", methods=["GET", "POST"])
@with_couple
def edit_appointment(couple, appointment_id: int):
    appointment = _appointment_or_404(couple, appointment_id)
    starts = local(appointment.starts_at, couple.time_zone)
    form = _form(
        couple,
        {
            "day": starts.date(),
            "start": starts.time(),
            "minutes": appointment.minutes,
            "attendance": appointment.attendance,
            "partner_id": appointment.partner_id,
            "notes": appointment.notes,
            "next_steps": appointment.next_steps,
            "next_homework": list(appointment.next_homework),
        },
    )
    if form.validate_on_submit():
        try:
            appointment_service.update(current_user, appointment, _details(form))
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash("Session saved.", "success")
            return _back(couple)
    return _page(couple, form, appointment)


@bp.route("/<int:couple_id>/sessions/<int:appointment_id>/delete", methods=["POST"])
@with_couple
def delete_appointment(couple, appointment_id: int):
    appointment = _appointment_or_404(couple, appointment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    appointment_service.delete(current_user, appointment)
    flash("Session deleted.", "success")
    return _back(couple)

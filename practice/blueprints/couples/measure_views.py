"""Scored measures for the therapist: send a questionnaire now or on a schedule, stop a
schedule, and read both partners' scores on one chart with the cut-off and the sessions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples import bp
from practice.blueprints.couples.measure_forms import WHEN, SendMeasureForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import show_error
from practice.blueprints.transaction import discard_writes
from practice.services import DomainError, NotFound, audit, measures


def _form(couple, choices) -> SendMeasureForm:
    """The send form, opened with the practice's default schedule of the first measure."""
    form = SendMeasureForm()
    form.instrument.choices = [(c.instrument.key, c.instrument.name) for c in choices]
    if not form.is_submitted() and choices:
        first = choices[0]
        form.instrument.data = first.instrument.key
        form.every_weeks.data = first.every_weeks
        form.for_weeks.data = first.for_weeks
        form.starts_on.data = measures.couple_today(couple)
    return form


@bp.route("/<int:couple_id>/measures", methods=["GET", "POST"])
@with_couple
def couple_measures(couple):
    choices = measures.enabled_choices()
    form = _form(couple, choices)
    if form.validate_on_submit():
        once = form.when.data == "now"
        try:
            measures.send(
                current_user,
                couple,
                instrument_key=form.instrument.data,
                starts_on=None if once else form.starts_on.data,
                every_weeks=None if once else form.every_weeks.data,
                for_weeks=None if once else form.for_weeks.data,
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash(
                "Sent: both partners can answer it now."
                if once
                else "Scheduled: each partner gets it on each due day.",
                "success",
            )
            return redirect(url_for("couples.couple_measures", couple_id=couple.id))
    audit.record("measure.viewed", actor=current_user, target=couple, couple_id=couple.id)
    schedules, rows = measures.couple_record(couple)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "couples/measures.html",
        couple=couple,
        form=form,
        choices=choices,
        when=WHEN,
        charts=measures.charts(
            couple, rows, sessions=measures.session_days(couple), prefix="couple"
        ),
        schedules=schedules,
        rows=rows,
        names={p.id: p.display_name for p in couple.partners},
        today=measures.couple_today(couple),
        cutoff_words=measures.cutoff_words,
        past_words=measures.past_words,
        name_of=measures.name_of,
        action_form=ConfirmForm(),
    ), status


@bp.route("/<int:couple_id>/measures/schedules/<int:schedule_id>/stop", methods=["POST"])
@with_couple
def stop_measure_schedule(couple, schedule_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        schedule = measures.get_schedule(couple, schedule_id)
    except NotFound:
        abort(404)
    removed = measures.stop(current_user, couple, schedule)
    flash(
        f"Stopped: {removed} questionnaire{'s' if removed != 1 else ''} not yet due "
        "taken off. Every answer stays.",
        "success",
    )
    return redirect(url_for("couples.couple_measures", couple_id=couple.id))

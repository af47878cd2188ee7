"""The partner's questionnaires: answered privately on a phone, saved as chosen (no-JS save
and autosave alike), handed in and scored; the partner's own scores over time."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.autosave import autosave_answer, base_version
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.transaction import discard_writes
from practice.instruments.engine import PREFER_NOT_LABEL
from practice.services import DomainError, NotFound, measures
from practice.services.measures import MeasureConflict, MeasureInvalid


def _measure_or_404(measure_key: str):
    try:
        return measures.get_partner_measure(g.partner, measure_key)
    except NotFound:
        abort(404)


@bp.route("/portal/measures")
@partner_required
def measures_page():
    rows = measures.partner_measures(g.partner)
    waiting = measures.open_for(g.partner, rows)
    return render_template(
        "portal/measures.html",
        partner=g.partner,
        waiting=waiting,
        answered=[row for row in rows if row.submitted_at is not None],
        charts=measures.charts(g.partner.couple, rows, for_partner=g.partner, prefix="mine"),
        name_of=measures.name_of,
        past_words=measures.past_words,
    )


def _page(response, *, typed=None, errors=None, conflict=None, status=200):
    writable = measures.answerable(response)
    chosen = measures.instrument(response.instrument)
    values = (
        {name: typed.get(name, "") for name in typed}
        if typed is not None
        else measures.form_values(response)
    )
    return render_template(
        "portal/measure.html",
        partner=g.partner,
        response=response,
        instrument=chosen,
        writable=writable,
        values=values,
        errors=errors or {},
        conflict=conflict,
        prefer_not=PREFER_NOT_LABEL,
        past_words=measures.past_words,
        form=ContinueForm(),
    ), status


@bp.route("/portal/measures/<public_id:measure_key>", methods=["GET"])
@partner_required
def measure(measure_key: str):
    return _page(_measure_or_404(measure_key))


@bp.route("/portal/measures/<public_id:measure_key>", methods=["POST"])
@partner_required
def save_measure(measure_key: str):
    response = _measure_or_404(measure_key)
    if not ContinueForm().validate_on_submit():
        abort(400)
    submitting = request.form.get("action") == "submit"
    call = measures.submit if submitting else measures.save
    try:
        call(g.partner, response, form=request.form, base_version=base_version())
    except MeasureConflict as conflict:
        discard_writes()
        return _page(response, typed=request.form, conflict=conflict, status=409)
    except MeasureInvalid as error:
        discard_writes()
        flash(error.message, "error")
        return _page(response, typed=request.form, errors=error.errors, status=422)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return _page(response, typed=request.form, status=409)
    if submitting:
        flash("Handed in. Thank you: only you and your therapist see your answers.", "success")
        return redirect(url_for("portal.measures_page"))
    flash("Saved.", "success")
    return redirect(url_for("portal.measure", measure_key=response.public_id))


@bp.route("/portal/measures/<public_id:measure_key>/autosave", methods=["POST"])
@partner_required
def autosave_measure(measure_key: str):
    response = _measure_or_404(measure_key)
    return autosave_answer(
        lambda: measures.save(g.partner, response, form=request.form, base_version=base_version()),
        conflict=MeasureConflict,
        invalid=MeasureInvalid,
        stored=lambda: {
            "version": response.version,
            "saved_at": response.last_saved_at.isoformat(),
            "stored": measures.form_values(response),
            "findings": [],
        },
    )

"""The therapist's side of agreements: merging boundary proposals into agreements in force.

"Use" on a proposal is a plain link (`?use=<response id>:<index>`, repeatable) that fills
the form in; the form carries where it came from in a hidden field, so the proposal shows
as used once the agreement is added. The worksheet coach reads each proposal and each
agreement in force; its notes are shown, never in the way of saving.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import show_error
from practice.blueprints.homework import bp
from practice.blueprints.homework.forms import AgreementForm
from practice.services import DomainError, NotFound, agreements


def _added_message(notes: int) -> str:
    message = "Agreement added. Each partner can accept it or ask to talk about it in their portal."
    if notes:
        message += (
            " The worksheet coach has a note on it, shown under it below."
            if notes == 1
            else f" The worksheet coach has {notes} notes on it, shown under it below."
        )
    return message


@bp.route("/couples/<int:couple_id>/agreements", methods=["GET", "POST"])
@with_couple
def agreements_page(couple):
    using = agreements.parse_keys(request.args.getlist("use"))
    prefill = in_force = proposals = None
    if using and request.method == "GET":
        in_force = agreements.agreements_in_force(couple)
        proposals = agreements.proposals_for(couple, in_force)
        prefill = agreements.prefill(couple, using, proposals)
    if prefill is not None:
        form = AgreementForm(
            domain=prefill.domain,
            text=prefill.text,
            time_frame=prefill.time_frame,
            review_date=prefill.review_date,
            merged_from=prefill.merged_from,
        )
    else:
        form = AgreementForm()
    if form.validate_on_submit():
        try:
            agreement = agreements.add_agreement(
                current_user,
                couple,
                domain=form.domain.data,
                text=form.text.data,
                time_frame=form.time_frame.data or "",
                review_date=form.review_date.data,
                merged_from=agreements.parse_keys(form.merged_from.data),
            )
        except DomainError as error:
            show_error(form, error)  # the 422 below rolls back
        else:
            notes = len(agreements.coach_notes(agreement))
            flash(_added_message(notes), "success")
            return redirect(url_for("homework.agreements_page", couple_id=couple.id))
    status = 422 if form.errors or form.form_errors else 200
    if proposals is None:  # else loaded above for a GET, which writes nothing
        in_force = agreements.agreements_in_force(couple)
        proposals = agreements.proposals_for(couple, in_force)
    in_form = agreements.parse_keys(form.merged_from.data)
    return render_template(
        "homework/agreements.html",
        couple=couple,
        form=form,
        proposals=proposals,
        in_form=in_form,
        in_force=in_force,
        coach_notes_by_id={a.id: agreements.coach_notes(a) for a in in_force},
        action_form=ConfirmForm(),
    ), status


@bp.route("/couples/<int:couple_id>/agreements/<int:agreement_id>/retire", methods=["POST"])
@with_couple
def retire_agreement(couple, agreement_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        agreement = agreements.get_agreement(couple.id, agreement_id)
    except NotFound:
        abort(404)
    agreements.retire_agreement(current_user, agreement)
    flash("Agreement retired.", "success")
    return redirect(url_for("homework.agreements_page", couple_id=couple.id))

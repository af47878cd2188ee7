"""The therapist's side of agreements: merging boundary proposals into agreements in force."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import show_error
from practice.blueprints.homework import bp
from practice.blueprints.homework.forms import AgreementForm
from practice.extensions import db
from practice.services import DomainError, NotFound, agreements


@bp.route("/couples/<int:couple_id>/agreements", methods=["GET", "POST"])
@with_couple
def agreements_page(couple):
    form = AgreementForm()
    if form.validate_on_submit():
        try:
            agreements.add_agreement(
                current_user,
                couple,
                domain=form.domain.data,
                text=form.text.data,
                time_frame=form.time_frame.data or "",
                review_date=form.review_date.data,
            )
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash("Agreement added. Both partners can accept it in their portal.", "success")
            return redirect(url_for("homework.agreements_page", couple_id=couple.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "homework/agreements.html",
        couple=couple,
        form=form,
        proposals=agreements.proposals_for(couple),
        in_force=agreements.agreements_in_force(couple),
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
    db.session.commit()
    flash("Agreement retired.", "success")
    return redirect(url_for("homework.agreements_page", couple_id=couple.id))

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import show_error
from practice.blueprints.homework import bp
from practice.blueprints.homework.forms import AssignForm, CommentForm
from practice.extensions import db
from practice.homework import KINDS, get_kind
from practice.services import DomainError, NotFound, joint, windows
from practice.services import homework as homework_service
from practice.services import review as review_service


def _response_or_404(couple, response_id: int):
    try:
        return homework_service.get_therapist_response(current_user, couple, response_id)
    except NotFound:
        abort(404)


@bp.route("/review")
@login_required
def queue():
    return render_template(
        "homework/queue.html",
        responses=review_service.review_queue(current_user),
        get_kind=get_kind,
    )


@bp.route("/couples/<int:couple_id>/homework/new", methods=["GET", "POST"])
@with_couple
def assign(couple):
    kind_key = request.values.get("kind", "")
    if kind_key not in KINDS:
        return render_template("homework/choose_kind.html", couple=couple, kinds=KINDS.values())
    kind = get_kind(kind_key)
    form = AssignForm()
    form.kind.choices = [(k.key, k.label) for k in KINDS.values()]
    form.mode.choices = [(m, label) for m, label in form.mode.choices if m in kind.allowed_modes]
    form.partner_id.choices = [(p.id, p.display_name) for p in couple.partners]
    if request.method == "GET":
        form.kind.data = kind.key
        form.mode.data = kind.default_mode
        form.partner_id.data = homework_service.default_partner(couple, kind.key).id
        form.instructions.data = homework_service.default_instructions(kind.key)
    if form.validate_on_submit():
        try:
            homework_service.assign(
                current_user,
                couple,
                kind_key=kind.key,
                mode=form.mode.data,
                instructions=form.instructions.data or "",
                due_date=form.due_date.data,
                partner_id=form.partner_id.data if form.mode.data == "one" else None,
            )
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(f"{kind.label} assigned.", "success")
            return redirect(url_for("couples.show", couple_id=couple.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("homework/assign.html", couple=couple, kind=kind, form=form), status


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>")
@with_couple
def review(couple, response_id: int):
    response = _response_or_404(couple, response_id)
    kind = get_kind(response.kind)
    return render_template(
        "homework/review.html",
        couple=couple,
        response=response,
        kind=kind,
        findings=kind.coach(response.content),
        transitions=homework_service.transitions(response),
        moves=homework_service.moves(response),
        comment_form=CommentForm(),
        action_form=ConfirmForm(),
        contract_versions=joint.contract_versions(response),
        confirmations=windows.confirmations(response) if response.is_joint else {},
    )


def _act(couple, response_id: int, action, message: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    response = _response_or_404(couple, response_id)
    try:
        action(current_user, response)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("homework.review", couple_id=couple.id, response_id=response_id))


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>/reviewed", methods=["POST"])
@with_couple
def mark_reviewed(couple, response_id: int):
    return _act(couple, response_id, homework_service.mark_reviewed, "Marked as reviewed.")


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>/completed", methods=["POST"])
@with_couple
def mark_completed(couple, response_id: int):
    return _act(couple, response_id, homework_service.mark_completed, "Marked as completed.")


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>/release", methods=["POST"])
@with_couple
def release(couple, response_id: int):
    return _act(
        couple, response_id, homework_service.release, "Released: both partners can read it now."
    )


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>/finalize", methods=["POST"])
@with_couple
def finalize(couple, response_id: int):
    return _act(
        couple, response_id, joint.finalize_contract, "Marked final: both partners can sign it."
    )


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>/return", methods=["POST"])
@with_couple
def return_for_revision(couple, response_id: int):
    response = _response_or_404(couple, response_id)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            homework_service.return_for_revision(current_user, response, form.comment.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash("Returned for revision with your comments.", "success")
            return redirect(
                url_for("homework.review", couple_id=couple.id, response_id=response.id)
            )
    kind = get_kind(response.kind)
    return render_template(
        "homework/review.html",
        couple=couple,
        response=response,
        kind=kind,
        findings=kind.coach(response.content),
        transitions=homework_service.transitions(response),
        moves=homework_service.moves(response),
        comment_form=form,
        action_form=ConfirmForm(),
        contract_versions=joint.contract_versions(response),
        confirmations=windows.confirmations(response) if response.is_joint else {},
    ), 422

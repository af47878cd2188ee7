from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import Form, show_error
from practice.blueprints.homework import bp
from practice.blueprints.homework.forms import AssignForm, CommentForm
from practice.blueprints.transaction import discard_writes
from practice.homework import KINDS, get_kind
from practice.homework.workflow import Status
from practice.services import DomainError, NotFound, audit, joint, windows
from practice.services import couples as couple_service
from practice.services import homework as homework_service
from practice.services import review as review_service


def _response_or_404(couple, response_id: int):
    try:
        return homework_service.get_therapist_response(current_user, couple, response_id)
    except NotFound:
        abort(404)


class QueueFilterForm(Form):
    """The queue's filters and its page: a GET form that changes nothing, so no CSRF token.
    `after` / `before`: the piece a page follows or precedes (keyset paging, by id)."""

    class Meta:
        csrf = False

    therapist = SelectField("Therapist", coerce=str, default="")
    kind = SelectField("Kind", coerce=str, default="")
    after = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])


@bp.route("/review")
@login_required
def queue():
    form = QueueFilterForm(request.args)
    therapists = couple_service.assignable_therapists()
    form.therapist.choices = [("", "Any therapist")] + [(str(t.id), t.name) for t in therapists]
    kinds = review_service.review_kinds()
    form.kind.choices = [("", "Any kind")] + [(k.key, k.label) for k in kinds]
    if not form.validate() or (form.after.data and form.before.data):
        flash("Some filters were not understood and were reset.", "error")
        return redirect(url_for("homework.queue"))
    therapist_id = int(form.therapist.data) if form.therapist.data else None
    kind_key = form.kind.data or None
    queue_page = review_service.queue_page(
        current_user,
        therapist_id=therapist_id,
        kind=kind_key,
        after=form.after.data,
        before=form.before.data,
    )
    # Safety answers and check-ins to read come first, on the queue's first page: they are
    # not homework, so the kind filter leaves them out.
    first_page = not (form.after.data or form.before.data or kind_key)
    checkins = (
        review_service.checkins_waiting(current_user, therapist_id=therapist_id)
        if first_page
        else []
    )
    # The filters each page link keeps.
    filters = {
        key: value
        for key, value in (("therapist", form.therapist.data), ("kind", form.kind.data))
        if value
    }
    return render_template(
        "homework/queue.html",
        form=form,
        queue=queue_page,
        items=queue_page.items,
        filters=filters,
        therapist_name=dict(form.therapist.choices).get(form.therapist.data or ""),
        kind_label=dict(form.kind.choices).get(form.kind.data or ""),
        filtered=bool(therapist_id or kind_key),
        without_filters=queue_page.without_filters,
        checkins=checkins,
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
            discard_writes()
            show_error(form, error)
        else:
            flash(f"{kind.label} assigned.", "success")
            return redirect(url_for("couples.show", couple_id=couple.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("homework/assign.html", couple=couple, kind=kind, form=form), status


def _review_page(couple, response, comment_form: CommentForm | None = None, status: int = 200):
    kind = get_kind(response.kind)
    versions = joint.contract_versions(response)
    confirmations = windows.confirmations(response) if response.is_joint else {}
    actions = review_service.review_actions(response, versions=versions)
    comment_form = comment_form or CommentForm()
    if actions.return_form == "reopen":
        comment_form.comment.label.text = "What to change"
    return render_template(
        "homework/review.html",
        couple=couple,
        response=response,
        kind=kind,
        findings=kind.coach(response.content),
        history=review_service.history(response),
        actions=actions,
        comment_form=comment_form,
        action_form=ConfirmForm(),
        contract_versions=versions,
        confirmations=confirmations,
    ), status


@bp.route("/couples/<int:couple_id>/homework/<int:response_id>")
@with_couple
def review(couple, response_id: int):
    response = _response_or_404(couple, response_id)
    audit.viewed(current_user, "homework", couple, target=response, kind=response.kind)
    return _review_page(couple, response)


def _act(couple, response_id: int, action, message: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    response = _response_or_404(couple, response_id)
    try:
        action(current_user, response)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
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
        reopening = response.status in (Status.FINAL, Status.SIGNED)
        try:
            homework_service.return_for_revision(current_user, response, form.comment.data)
        except DomainError as error:
            # Nothing is kept. The page comes back with what was typed still in the form (or
            # kept beside it, if the work has moved on so that it can no longer be returned).
            discard_writes()
            if error.field == "comment":
                form.comment.errors = [*form.comment.errors, error.message]
            else:
                flash(error.message, "error")
        else:
            flash(
                "Reopened for changes, with your note."
                if reopening
                else "Returned for revision, with your note.",
                "success",
            )
            return redirect(
                url_for("homework.review", couple_id=couple.id, response_id=response.id)
            )
    return _review_page(couple, response, form, 422)

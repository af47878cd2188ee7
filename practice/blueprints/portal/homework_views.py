"""The partner's homework: write (saved as typed), submit, read what is shared, confirm, sign."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from practice.audience import AUDIENCE_LABELS, Audience
from practice.blueprints.portal import bp
from practice.blueprints.portal.autosave import autosave_answer, base_version
from practice.blueprints.portal.forms import ContinueForm, SignForm
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.transaction import discard_writes, keep_writes
from practice.extensions import db
from practice.homework import get_kind
from practice.models import Practice
from practice.services import DomainError, joint, windows
from practice.services import homework as homework_service
from practice.services.homework import EditConflict, Incomplete, InvalidContent


def _response_or_404(response_key: str):
    """The piece of work the URL names, if this partner may see it; else the service's
    NotFound, which every request answers as a 404 (blueprints/transaction.py)."""
    return homework_service.get_partner_response(g.partner, response_key)


def _page(response, *, content=None, errors=None, conflict=None, status=200):
    kind = get_kind(response.kind)
    editable = homework_service.partner_can_edit(g.partner, response)
    template = "portal/homework_edit.html" if editable else "portal/homework_read.html"
    # Text sent to a piece no longer open for changes is shown back beside it, never dropped.
    unsaved = content if not editable and content not in (None, response.content) else None
    if content is None or not editable:
        content = response.content
    return render_template(
        template,
        partner=g.partner,
        response=response,
        assignment=response.assignment,
        kind=kind,
        content=content,
        unsaved=unsaved,
        errors=errors or {},
        conflict=conflict,
        findings=kind.coach(content),
        # Parts held until released read as shared with the couple once they are released.
        audience_label=AUDIENCE_LABELS[
            Audience.COUPLE
            if homework_service.is_released_hold(response)
            else Audience(response.audience)
        ],
        form=ContinueForm(),
        sign_form=SignForm(),
        confirmations=windows.confirmations(response) if response.is_joint else {},
        standing=homework_service.standing(response, partner=g.partner),
        contract=joint.current_contract(response),
        practice=db.session.get(Practice, g.partner.practice_id),
    ), status


@bp.route("/portal/homework/<public_id:response_key>", methods=["GET"])
@partner_required
def homework(response_key: str):
    return _page(_response_or_404(response_key))


@bp.route("/portal/homework/<public_id:response_key>", methods=["POST"])
@partner_required
def save_homework(response_key: str):
    response = _response_or_404(response_key)
    if not ContinueForm().validate_on_submit():
        abort(400)
    kind = get_kind(response.kind)
    typed = kind.parse_form(request.form)
    submitting = request.form.get("action") == "submit"
    try:
        if submitting:
            homework_service.submit(g.partner, response, content=typed, base_version=base_version())
        else:
            homework_service.save_draft(
                g.partner, response, content=typed, base_version=base_version()
            )
    except EditConflict as conflict:
        discard_writes()
        return _page(response, content=typed, conflict=conflict, status=409)
    except InvalidContent as error:
        discard_writes()
        return _page(response, content=typed, errors=error.errors, status=422)
    except Incomplete as error:
        keep_writes()  # the draft is saved; only the hand-in waits
        return _page(response, content=typed, errors=error.errors, status=422)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return _page(response, content=typed, status=409)
    if submitting:
        flash("Submitted. Your therapist will read it before your next session.", "success")
        return redirect(url_for("portal.home"))
    flash("Draft saved.", "success")
    return redirect(url_for("portal.homework", response_key=response.public_id))


@bp.route("/portal/homework/<public_id:response_key>/autosave", methods=["POST"])
@partner_required
def autosave(response_key: str):
    response = _response_or_404(response_key)
    kind = get_kind(response.kind)
    typed = kind.parse_form(request.form)
    return autosave_answer(
        lambda: homework_service.save_draft(
            g.partner, response, content=typed, base_version=base_version()
        ),
        conflict=EditConflict,
        invalid=InvalidContent,
        theirs=lambda conflict: render_template(
            kind.read_template,
            content=conflict.current_content,
            kind=kind,
            response=response,
            partner=g.partner,
        ),
        stored=lambda: {
            "version": response.version,
            "saved_at": response.last_saved_at.isoformat(),
            "stored": kind.form_values(response.content),
            "findings": [
                {
                    "code": f.code,
                    "message": f.message,
                    "part": f.part,
                    "phrase": f.phrase,
                    "level": f.level,
                }
                for f in kind.coach(response.content)
            ],
        },
    )


@bp.route("/portal/homework/<public_id:response_key>/sign", methods=["POST"])
@partner_required
def sign_contract(response_key: str):
    response = _response_or_404(response_key)
    form = SignForm()
    if not form.validate_on_submit():
        flash("Type your name to sign.", "error")
        return redirect(url_for("portal.homework", response_key=response.public_id))
    try:
        joint.sign_contract(g.partner, response, form.typed_name.data)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash("Signed.", "success")
    return redirect(url_for("portal.homework", response_key=response.public_id))


@bp.route("/portal/homework/<public_id:response_key>/change", methods=["GET", "POST"])
@partner_required
def propose_change(response_key: str):
    """Reopen signed or agreed work on purpose: a page that names the consequence first."""
    response = _response_or_404(response_key)
    kind = get_kind(response.kind)
    if not kind.may_reopen(response.status):
        flash("This is open for changes already, or cannot be reopened here.", "info")
        return redirect(url_for("portal.homework", response_key=response.public_id))
    form = ContinueForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            joint.propose_change(
                g.partner,
                response,
                partner_link=url_for("portal.homework", response_key=response.public_id),
                therapist_link=url_for(
                    "homework.review", couple_id=response.couple_id, response_id=response.id
                ),
            )
        except DomainError as error:
            discard_writes()
            flash(error.message, "error")
        else:
            flash(
                "It is open for changes. Your partner and your therapist have been told.", "success"
            )
        return redirect(url_for("portal.homework", response_key=response.public_id))
    return render_template(
        "portal/propose_change.html", response=response, kind=kind, form=form, partner=g.partner
    )

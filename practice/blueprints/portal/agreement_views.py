"""The partner's side of agreements: accept one, or ask to talk about it.

Both answers are one tap from the portal home, side by side. A note, if any, is for the
therapist only. Taking back an acceptance goes through a page that says what it does.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for

from practice.blueprints.forms import show_error
from practice.blueprints.portal import bp
from practice.blueprints.portal.agreement_forms import AgreementAnswerForm
from practice.blueprints.portal.sessions import partner_required
from practice.services import DomainError, NotFound, agreements

FLASHES = {
    "first": "Your therapist will see that you would like to talk about this.",
    "again": (
        "Your acceptance is withdrawn until you have talked it through with your therapist. "
        "A notice went to your therapist and to your partner, without your note."
    ),
    "note": "Your therapist will see that you would like to talk about this.",
}


def _agreement(agreement_key: str):
    try:
        return agreements.get_partner_agreement(g.partner, agreement_key)
    except NotFound:
        abort(404)


def _answer_page(agreement, form, *, again: bool, status: int = 200):
    return render_template(
        "portal/agreement_answer.html",
        partner=g.partner,
        other=g.partner.other,
        agreement=agreement,
        answer=agreements.answer_of(agreement, g.partner.id),
        form=form,
        again=again,
    ), status


def _home():
    return redirect(url_for("portal.home") + "#agreements")


@bp.route("/portal/agreements/<public_id:agreement_key>/accept", methods=["POST"])
@partner_required
def accept_agreement(agreement_key: str):
    agreement = _agreement(agreement_key)
    form = AgreementAnswerForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _answer_page(agreement, form, again=False, status=422)
    try:
        agreements.accept(g.partner, agreement, form.note.data)
    except NotFound:
        abort(404)
    except DomainError as error:
        show_error(form, error)  # the 422 rolls back
        return _answer_page(agreement, form, again=False, status=422)
    flash("Accepted.", "success")
    return _home()


@bp.route("/portal/agreements/<public_id:agreement_key>/talk-again")
@partner_required
def talk_again(agreement_key: str):
    """The confirmation before taking back an acceptance: what it does, and a note."""
    agreement = _agreement(agreement_key)
    return _answer_page(agreement, AgreementAnswerForm(), again=True)


@bp.route("/portal/agreements/<public_id:agreement_key>/discuss", methods=["POST"])
@partner_required
def discuss_agreement(agreement_key: str):
    agreement = _agreement(agreement_key)
    previous = agreements.answer_of(agreement, g.partner.id)
    again = previous is not None and previous.accepted
    form = AgreementAnswerForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _answer_page(agreement, form, again=again, status=422)
    try:
        outcome = agreements.ask_to_discuss(
            g.partner,
            agreement,
            form.note.data,
            therapist_link=url_for("homework.agreements_page", couple_id=agreement.couple_id),
            partner_link=url_for("portal.home") + "#agreements",
        )
    except NotFound:
        abort(404)
    except DomainError as error:
        show_error(form, error)  # the 422 rolls back
        return _answer_page(agreement, form, again=again, status=422)
    flash(FLASHES[outcome], "success")
    return _home()

"""Safety flags, for therapists only: the practice's open flags, and a couple's flags with
their answers, marked seen and then addressed with a note."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples import bp
from practice.blueprints.couples.views import with_couple
from practice.blueprints.transaction import discard_writes
from practice.extensions import db
from practice.instruments import InstrumentError, get_instrument
from practice.models import Couple
from practice.models.checkin import SafetyAnswer, SafetyFlag
from practice.services import DomainError, NotFound, audit, safety
from practice.services.couples import visible_couples


@bp.route("/safety")
@login_required
def safety_flags():
    couple_ids = visible_couples(current_user).with_only_columns(Couple.id).order_by(None)
    return render_template("couples/safety.html", flags=safety.open_flags(couple_ids))


def _items(answer: SafetyAnswer) -> list[tuple[str, str]]:
    """The questions and the answers given, in words (the therapist's page only)."""
    if answer.context == "checkin":
        texts = dict(safety.CHECKIN_ITEMS)
        words = dict(safety.CHECKIN_ANSWERS) | {"prefer_not": "Prefer not to answer"}
        return [(texts.get(k, k), words.get(v, v)) for k, v in answer.answers.items() if v]
    try:
        instrument = get_instrument(answer.instrument)
    except InstrumentError:
        return [(k, str(v)) for k, v in answer.answers.items()]
    shown = []
    for item in instrument.items:
        value = answer.answers.get(item.key)
        if value == "prefer_not" or value is None:
            shown.append((item.text, "Prefer not to answer" if value else "—"))
        else:
            shown.append((item.text, item.anchor(int(value)).label))
    return shown


@bp.route("/<int:couple_id>/safety")
@with_couple
def couple_safety(couple):
    flags = db.session.scalars(
        select(SafetyFlag)
        .where(SafetyFlag.couple_id == couple.id)
        .order_by(SafetyFlag.raised_at.desc(), SafetyFlag.id.desc())
    ).all()
    answers = {
        answer.id: answer
        for answer in db.session.scalars(
            select(SafetyAnswer).where(SafetyAnswer.id.in_([f.answer_id for f in flags]))
        )
    }
    audit.viewed(current_user, "safety", couple)
    return render_template(
        "couples/couple_safety.html",
        couple=couple,
        flags=flags,
        answers=answers,
        items=_items,
        action_form=ConfirmForm(),
    )


def _flag_or_404(couple, flag_id: int) -> SafetyFlag:
    try:
        return safety.get_flag(couple, flag_id)
    except NotFound:
        abort(404)


@bp.route("/<int:couple_id>/safety/<int:flag_id>/seen", methods=["POST"])
@with_couple
def flag_seen(couple, flag_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    safety.mark_seen(current_user, _flag_or_404(couple, flag_id))
    return redirect(url_for("couples.couple_safety", couple_id=couple.id))


@bp.route("/<int:couple_id>/safety/<int:flag_id>/addressed", methods=["POST"])
@with_couple
def flag_addressed(couple, flag_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    flag = _flag_or_404(couple, flag_id)
    try:
        safety.mark_addressed(current_user, flag, request.form.get("note", ""))
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return render_template(
            "couples/couple_safety.html",
            couple=couple,
            flags=[flag],
            answers={
                flag.answer_id: db.session.scalar(
                    select(SafetyAnswer).where(SafetyAnswer.id == flag.answer_id)
                )
            },
            items=_items,
            action_form=ConfirmForm(),
            typed_note=request.form.get("note", ""),
        ), 422
    flash("Marked as addressed. Your note stays with it, for therapists only.", "success")
    return redirect(url_for("couples.couple_safety", couple_id=couple.id))

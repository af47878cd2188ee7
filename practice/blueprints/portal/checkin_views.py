"""The partner's weekly check-in: written on a phone, saved as typed (no-JS save and
autosave alike), handed in, read back."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.autosave import autosave_answer, base_version
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.transaction import discard_writes
from practice.checkins import questions
from practice.checkins.status import WRITABLE
from practice.extensions import db
from practice.models import Agreement
from practice.services import DomainError, safety
from practice.services import checkins as checkin_service
from practice.services import triggers as trigger_service
from practice.services.checkins import CheckinConflict, CheckinInvalid

SAFETY_FIELDS = tuple(f"safety-{key}" for key, _ in safety.CHECKIN_ITEMS)


def _safety_typed() -> dict[str, str]:
    return {key: request.form.get(f"safety-{key}", "") for key, _ in safety.CHECKIN_ITEMS}


def _stored_safety(checkin) -> dict[str, str]:
    from sqlalchemy import select

    if checkin.version == 0:
        return {}  # never saved: nothing answered yet

    from practice.models.checkin import SafetyAnswer

    answer = db.session.scalar(
        select(SafetyAnswer).where(
            SafetyAnswer.checkin_id == checkin.id, SafetyAnswer.partner_id == g.partner.id
        )
    )
    return {f"safety-{k}": v for k, v in (answer.answers if answer else {}).items() if v}


def _values(checkin, typed_form=None, *, with_safety: bool = True) -> dict[str, str]:
    """What the form shows: what was just typed (a refused or conflicting post) or stored."""
    if typed_form is not None:
        return {name: typed_form.get(name, "") for name in typed_form}
    values = questions.form_values(checkin.content)
    if with_safety:
        values.update(_stored_safety(checkin))
    if checkin.shared:
        values["share"] = "y"
    return values


def _page(checkin, *, typed_form=None, errors=None, conflict=None, status=200):
    partner = g.partner
    writable = checkin.status in WRITABLE
    values = _values(checkin, typed_form, with_safety=writable)
    trigger_log = trigger_service.checkin_prefill(partner, checkin) if writable else None
    prefilled = set()
    if trigger_log is not None and typed_form is None:
        # The week's log starts the trigger questions not answered yet; the partner may
        # change the numbers, and once saved their answer stands.
        for field, number in (
            ("triggers-count", trigger_log.count),
            ("triggers-longest_minutes", trigger_log.longest_minutes),
        ):
            if number is not None and not values.get(field):
                values[field] = str(number)
                prefilled.add(field)
    return render_template(
        "portal/checkin.html" if writable else "portal/checkin_read.html",
        partner=partner,
        other=partner.other,
        checkin=checkin,
        values=values,
        trigger_log=trigger_log,
        prefilled=prefilled,
        errors=errors or {},
        conflict=conflict,
        markers=questions.MARKERS,
        question=questions.question,
        steps=questions.GROUNDING_STEPS,
        window_held=questions.WINDOW_HELD,
        kept=questions.KEPT,
        agreements=_agreement_rows(partner) if writable else [],
        safety_items=safety.CHECKIN_ITEMS,
        safety_answers=safety.CHECKIN_ANSWERS,
        their_reflection=None
        if writable
        else checkin_service.reflection_of_other(partner, checkin),
        form=ContinueForm(),
    ), status


def _agreement_rows(partner):
    from sqlalchemy import select

    return db.session.scalars(
        select(Agreement)
        .where(Agreement.couple_id == partner.couple_id, Agreement.retired_at.is_(None))
        .order_by(Agreement.created_at, Agreement.id)
    ).all()


def _save(checkin, *, submitting: bool):
    share = request.form.get("share") == "y"
    if submitting:
        checkin_service.submit(
            g.partner, checkin, form=request.form, base_version=base_version(), share=share
        )
    else:
        checkin_service.save(
            g.partner, checkin, form=request.form, base_version=base_version(), share=share
        )
    safety.record_checkin_items(
        g.partner,
        checkin,
        _safety_typed(),
        link=url_for("couples.show", couple_id=checkin.couple_id),
    )


@bp.route("/portal/checkin", methods=["GET"])
@partner_required
def checkin():
    return _page(checkin_service.current(g.partner))


@bp.route("/portal/checkin", methods=["POST"])
@partner_required
def save_checkin():
    if not ContinueForm().validate_on_submit():
        abort(400)
    checkin = checkin_service.current(g.partner)
    submitting = request.form.get("action") == "submit"
    try:
        _save(checkin, submitting=submitting)
    except CheckinConflict as conflict:
        discard_writes()
        return _page(checkin, typed_form=request.form, conflict=conflict, status=409)
    except CheckinInvalid as error:
        discard_writes()
        return _page(checkin, typed_form=request.form, errors=error.errors, status=422)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return _page(checkin, typed_form=request.form, status=409)
    if submitting:
        flash("Handed in. Thank you: your therapist reads it before your next session.", "success")
        # The home page clears the copy the page kept on this device (the server has it all).
        session["handed_in_checkin"] = checkin.public_id
        return redirect(url_for("portal.home"))
    flash("Saved.", "success")
    return redirect(url_for("portal.checkin"))


@bp.route("/portal/checkin/autosave", methods=["POST"])
@partner_required
def autosave_checkin():
    checkin = checkin_service.current(g.partner)
    return autosave_answer(
        lambda: _save(checkin, submitting=False),
        conflict=CheckinConflict,
        invalid=CheckinInvalid,
        stored=lambda: {
            "version": checkin.version,
            "saved_at": checkin.last_saved_at.isoformat(),
            "stored": _values(checkin),
            "findings": [],
        },
    )

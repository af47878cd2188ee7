"""The private safety questions in the portal, and the PIN offered after the privacy notice.

The questions come on the portal home as its first card until answered (on first entry,
then every 90 days): every question can be answered "prefer not to answer". Whatever is
answered, the partner sees the same calm thanks; after an answer that raises a flag they
also see where to find help now. Never a score, never a "flag".
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.sessions import partner_required
from practice.blueprints.transaction import discard_writes
from practice.extensions import db
from practice.instruments import PREFER_NOT
from practice.models import Practice
from practice.models.base import utcnow
from practice.services import DomainError, safety


def _practice() -> Practice:
    return db.session.get(Practice, g.partner.practice_id)


@bp.route("/portal/safety", methods=["POST"])
@partner_required
def answer_safety():
    if not ContinueForm().validate_on_submit():
        abort(400)
    practice = _practice()
    instrument = safety.instrument_for(practice)
    answers: dict[str, int | str] = {}
    for item in instrument.items:
        raw = request.form.get(f"safety-{item.key}", "")
        answers[item.key] = PREFER_NOT if raw in ("", PREFER_NOT) else raw
    try:
        answer = safety.record_screen(
            g.partner,
            practice,
            answers,
            link=url_for("couples.show", couple_id=g.partner.couple_id),
        )
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return redirect(url_for("portal.home"))
    return render_template(
        "portal/safety_thanks.html",
        positive=answer.positive,
        resources=safety.crisis_resources(practice),
        practice=practice,
    )


@bp.route("/portal/pin/not-now", methods=["POST"])
@partner_required
def pin_not_now():
    if not ContinueForm().validate_on_submit():
        abort(400)
    g.partner.pin_offered_at = utcnow()
    flash("You can set a PIN any time, from the link at the foot of every page.", "info")
    return redirect(url_for("portal.home"))

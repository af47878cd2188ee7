"""The partner's side of agreements: accept one, or ask to talk about it."""

from __future__ import annotations

from flask import abort, flash, g, redirect, url_for

from practice.blueprints.portal import bp
from practice.blueprints.portal.forms import ContinueForm
from practice.blueprints.portal.sessions import partner_required
from practice.extensions import db
from practice.services import NotFound, agreements


@bp.route("/portal/agreements/<public_id:agreement_key>/accept", methods=["POST"])
@partner_required
def accept_agreement(agreement_key: str):
    if not ContinueForm().validate_on_submit():
        abort(400)
    try:
        agreement = agreements.get_partner_agreement(g.partner, agreement_key)
        agreements.accept(g.partner, agreement)
    except NotFound:
        abort(404)
    db.session.commit()
    flash("Accepted.", "success")
    return redirect(url_for("portal.home") + "#agreements")

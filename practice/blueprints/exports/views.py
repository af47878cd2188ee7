"""The owner's export of a couple's whole record: ask for one, watch it being made, download
the zip. Every page here is the owner's: anyone else is answered 404."""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.exports import bp
from practice.blueprints.reports.views import NO_STORE, private_file
from practice.services import exports


def owner_only(view):
    """Load the couple (or 404), and answer 404 to everyone but the owner."""

    @wraps(view)
    @with_couple
    def wrapper(couple, **kwargs):
        if not current_user.is_owner:
            abort(404)
        return view(couple, **kwargs)

    return wrapper


@bp.route("/<int:couple_id>/export", methods=["GET", "POST"])
@owner_only
def show(couple):
    """The export's page: a button to make one, its progress, then the download."""
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        _, attached = exports.request_export(current_user, couple)
        if attached:
            flash("This export is already being made: here it is.", "info")
        return redirect(url_for("exports.show", couple_id=couple.id))
    export = exports.latest_export(current_user, couple)
    return render_template(
        "exports/show.html",
        couple=couple,
        export=export,
        progress=exports.progress(export) if export is not None else None,
        stages=exports.STAGE_LABELS,
        action_form=ConfirmForm(),
    )


@bp.route("/<int:couple_id>/export/status")
@owner_only
def status(couple):
    """The progress bar's answer: a few fields, no client text."""
    export = exports.latest_export(current_user, couple)
    if export is None:
        return jsonify({"state": "none", "download": None}), 200, NO_STORE
    answer = exports.progress(export).as_json()
    answer["download"] = (
        url_for("exports.download", couple_id=couple.id) if export.is_ready else None
    )
    return jsonify(answer), 200, NO_STORE


@bp.route("/<int:couple_id>/export/download")
@owner_only
def download(couple):
    export = exports.latest_export(current_user, couple)
    if export is None or not export.is_ready:
        flash("No export is ready to download yet.", "info")
        return redirect(url_for("exports.show", couple_id=couple.id))
    data = exports.download(current_user, export)
    return private_file(data, "application/zip", exports.download_name(export))

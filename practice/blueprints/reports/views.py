"""Session summaries for therapists: ask for one, watch it being made, download it, preview
the couple's copy and share it with them; a week's summaries at once, as one zip."""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples.views import with_couple
from practice.blueprints.forms import show_error
from practice.blueprints.reports import bp
from practice.blueprints.reports.forms import PrepareForm, WeekForm
from practice.blueprints.transaction import discard_writes
from practice.models.base import MAX_ID, utcnow
from practice.services import DomainError, notices, reports
from practice.services import appointments as appointment_service

NO_STORE = {"Cache-Control": "no-store, private"}


def _appointment(couple, raw: str | None):
    if not raw:
        return None
    try:
        appointment_id = int(raw)
    except ValueError:
        abort(404)
    if not 0 < appointment_id <= MAX_ID:
        abort(404)
    return appointment_service.get(current_user, couple, appointment_id)


@bp.route("/couples/<int:couple_id>/prepare", methods=["GET", "POST"])
@with_couple
def prepare(couple):
    """Ask for a summary: of a session (the sessions list posts here) or of a period."""
    form = PrepareForm()
    if request.method == "GET":
        end = utcnow().astimezone(ZoneInfo(couple.time_zone)).date()
        form.start.data = end - timedelta(days=reports.FIRST_SESSION_DAYS - 1)
        form.end.data = end
    if form.validate_on_submit():
        appointment = _appointment(couple, form.appointment_id.data)
        try:
            report, attached = reports.request_summary(
                current_user,
                couple,
                form.audience.data,
                appointment=appointment,
                start=form.start.data,
                end=form.end.data,
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            if attached:
                flash("This summary is already being made: here it is.", "info")
            return redirect(url_for("reports.show", report_id=report.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("reports/prepare.html", couple=couple, form=form), status


def _report(report_id: int):
    # NotFound (out of reach, or another practice's) answers 404 through the app's handler.
    return reports.get_report(current_user, report_id)


@bp.route("/<int:report_id>")
@login_required
def show(report_id: int):
    report = _report(report_id)
    progress = reports.progress(report)
    return render_template(
        "reports/show.html",
        report=report,
        couple=report.couple,
        progress=progress,
        stages=reports.STAGE_LABELS,
        action_form=ConfirmForm(),
        again_form=PrepareForm(audience=report.audience),
    )


@bp.route("/<int:report_id>/status")
@login_required
def status(report_id: int):
    """The progress bar's answer: a few fields, no client text."""
    report = _report(report_id)
    answer = reports.progress(report).as_json()
    answer["download"] = (
        url_for("reports.download", report_id=report.id) if report.is_ready else None
    )
    return jsonify(answer), 200, NO_STORE


def private_file(data: bytes, mimetype: str, name: str, *, inline: bool = False):
    """A file of client records as a response: named, never cached (the portal's downloads
    use it too)."""
    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=not inline, download_name=name, max_age=0
    )
    response.headers.update(NO_STORE)
    return response


def _send(report, *, inline: bool):
    data = reports.read_file(report)
    reports.record_download(current_user, report)
    return private_file(data, "application/pdf", reports.download_name(report), inline=inline)


@bp.route("/<int:report_id>/download")
@login_required
def download(report_id: int):
    return _send(_report(report_id), inline=False)


@bp.route("/<int:report_id>/preview")
@login_required
def preview(report_id: int):
    """The PDF shown in the browser: how the therapist reads the couple's copy before
    sharing it."""
    return _send(_report(report_id), inline=True)


@bp.route("/<int:report_id>/release", methods=["POST"])
@login_required
def release(report_id: int):
    report = _report(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        reports.release(current_user, report)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        for partner in report.couple.partners:
            notices.notify_partner(partner, "summary.released", url_for("portal.summaries"))
        flash("Shared: both partners can read this summary in their portal now.", "success")
    return redirect(url_for("reports.show", report_id=report.id))


@bp.route("/<int:report_id>/withdraw", methods=["POST"])
@login_required
def withdraw(report_id: int):
    report = _report(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reports.withdraw(current_user, report)
    flash("Taken back: the partners no longer see this summary in their portal.", "success")
    return redirect(url_for("reports.show", report_id=report.id))


# -- a week's summaries ------------------------------------------------------------------------


@bp.route("")
@login_required
def index():
    """This week's sessions, with one button for all their summaries, and recent batches."""
    now = utcnow()
    monday, sunday = reports.week_of(current_user, now)
    return render_template(
        "reports/index.html",
        monday=monday,
        sunday=sunday,
        sessions=reports.week_sessions(current_user, now),
        form=WeekForm(),
        recent=reports.recent_for(current_user),
    )


@bp.route("/week", methods=["POST"])
@login_required
def prepare_week():
    form = WeekForm()
    if not form.validate_on_submit():
        flash("Choose whose copies to prepare.", "error")
        return redirect(url_for("reports.index"))
    try:
        batch = reports.request_week_batch(current_user, form.audience.data, utcnow())
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return redirect(url_for("reports.index"))
    return redirect(url_for("reports.batch", batch_id=batch.id))


def _batch(batch_id: int):
    batch = reports.get_batch(current_user, batch_id)
    return batch, reports.batch_reports(current_user, batch)


@bp.route("/batches/<int:batch_id>")
@login_required
def batch(batch_id: int):
    batch, batch_reports = _batch(batch_id)
    return render_template(
        "reports/batch.html",
        batch=batch,
        reports=batch_reports,
        progress=reports.batch_progress(batch_reports),
        progress_of=reports.progress,
    )


@bp.route("/batches/<int:batch_id>/status")
@login_required
def batch_status(batch_id: int):
    batch, batch_reports = _batch(batch_id)
    progress = reports.batch_progress(batch_reports)
    answer = {
        "total": progress.total,
        "done": progress.done,
        "failed": progress.failed,
        "percent": progress.percent,
        "finished": progress.finished,
        "download": url_for("reports.batch_download", batch_id=batch.id) if progress.done else None,
    }
    return jsonify(answer), 200, NO_STORE


@bp.route("/batches/<int:batch_id>/download")
@login_required
def batch_download(batch_id: int):
    batch, batch_reports = _batch(batch_id)
    if not any(report.is_ready for report in batch_reports):
        abort(404)
    data = reports.batch_zip(current_user, batch_reports)
    return private_file(data, "application/zip", f"summaries-{batch.period_start.isoformat()}.zip")

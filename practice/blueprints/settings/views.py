from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.forms import show_error
from practice.blueprints.homework.forms import InstructionsForm
from practice.blueprints.loading import get_or_404
from practice.blueprints.settings import bp
from practice.blueprints.settings.forms import (
    AuditFilterForm,
    CheckinSafetySettingsForm,
    InviteTherapistForm,
    PracticeSettingsForm,
    RetentionForm,
)
from practice.blueprints.transaction import discard_writes
from practice.extensions import db
from practice.jobs import failed_runs
from practice.mailer import capture_outbox, flash_dev_links
from practice.models import TherapistInvitation, User
from practice.services import DomainError, accounts, audit, exports, safety, two_factor


def owner_required(view):
    """Owner-only pages are 404 to everyone else: no hint that they exist."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_owner:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


@bp.route("/practice", methods=["GET", "POST"])
@owner_required
def practice():
    practice = current_user.practice
    form = PracticeSettingsForm(obj=practice)
    if form.validate_on_submit():
        try:
            accounts.update_practice(
                current_user,
                practice,
                name=form.name.data,
                time_zone=form.time_zone.data,
                secrets_policy=form.secrets_policy.data,
                secrets_policy_text=form.secrets_policy_text.data,
                invite_link_days=form.invite_link_days.data,
                portal_idle_days=form.portal_idle_days.data,
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash("Practice settings saved.", "success")
            return redirect(url_for("settings.practice"))
    status = 422 if form.errors else 200
    return _practice_page(form, _retention_form(practice), status)


def _retention_form(practice) -> RetentionForm:
    days = practice.closed_record_retention_days
    return RetentionForm(formdata=None, retention="keep" if days is None else str(days))


def _practice_page(form: PracticeSettingsForm, retention_form: RetentionForm, status: int):
    return render_template(
        "settings/practice.html", form=form, retention_form=retention_form
    ), status


@bp.route("/retention", methods=["POST"])
@owner_required
def retention():
    """How long closed couples' records are kept before their deletion may be scheduled."""
    practice = current_user.practice
    form = RetentionForm()
    if form.validate_on_submit():
        try:
            exports.set_retention(current_user, practice, form.days)
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash(f"Closed records: {practice.retention_label.lower()}.", "success")
            return redirect(url_for("settings.practice") + "#closed-records")
    return _practice_page(PracticeSettingsForm(obj=practice), form, 422)


def _team_page(form: InviteTherapistForm, status: int = 200):
    members = db.session.scalars(select(User).order_by(User.role, User.name)).all()
    invitations = db.session.scalars(
        select(TherapistInvitation)
        .where(TherapistInvitation.accepted_at.is_(None), TherapistInvitation.revoked_at.is_(None))
        .order_by(TherapistInvitation.created_at.desc())
    ).all()
    return render_template(
        "settings/team.html",
        members=members,
        invitations=invitations,
        failed_emails=failed_runs(
            "email.therapist_invitation", "invitation_id", [i.id for i in invitations]
        ),
        form=form,
        action_form=ConfirmForm(),
    ), status


def _flash_invitation_email(invitation: TherapistInvitation, sent: str) -> None:
    """`sent` once the email is on its way; with no Redis the job has run by now, and if it
    failed the owner is told so here, not told it was sent."""
    if failed_runs("email.therapist_invitation", "invitation_id", [invitation.id]):
        flash(
            f"The invitation email to {invitation.email} could not be sent. "
            "Resend it from the list below in a little while.",
            "error",
        )
    else:
        flash(sent, "success")


@bp.route("/team")
@owner_required
def team():
    return _team_page(InviteTherapistForm())


@bp.route("/team/invite", methods=["POST"])
@owner_required
def invite():
    form = InviteTherapistForm()
    if form.validate_on_submit():
        try:
            with capture_outbox() as sent:
                invitation = accounts.invite_therapist(
                    current_user, email=form.email.data, name=form.name.data
                )
                db.session.commit()
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash_dev_links(sent)
            _flash_invitation_email(invitation, f"Invitation sent to {invitation.email}.")
            return redirect(url_for("settings.team"))
    return _team_page(form, 422)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/team/invitations/<int:invitation_id>/resend", methods=["POST"])
@owner_required
def resend_invitation(invitation_id: int):
    _confirmed()
    invitation = get_or_404(TherapistInvitation, invitation_id)
    try:
        with capture_outbox() as sent:
            accounts.resend_invitation(current_user, invitation)
            db.session.commit()
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash_dev_links(sent)
        _flash_invitation_email(
            invitation, "A fresh link is on its way; the earlier one no longer works."
        )
    return redirect(url_for("settings.team"))


@bp.route("/team/invitations/<int:invitation_id>/revoke", methods=["POST"])
@owner_required
def revoke_invitation(invitation_id: int):
    _confirmed()
    invitation = get_or_404(TherapistInvitation, invitation_id)
    accounts.revoke_invitation(current_user, invitation)
    flash("Invitation withdrawn.", "success")
    return redirect(url_for("settings.team"))


@bp.route("/team/<int:user_id>/deactivate", methods=["POST"])
@owner_required
def deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.route("/team/<int:user_id>/reactivate", methods=["POST"])
@owner_required
def reactivate(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    _confirmed()
    user = get_or_404(User, user_id)
    try:
        accounts.set_user_active(current_user, user, active)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash(
            f"{user.name} is {'restored' if active else 'deactivated and signed out'}.", "success"
        )
    return redirect(url_for("settings.team"))


@bp.route("/team/two-step", methods=["POST"])
@owner_required
def require_two_step():
    """Require two-step sign-in of everyone (each sets it up at their next page), or not."""
    _confirmed()
    required = request.form.get("required") == "1"
    two_factor.set_required(current_user, current_user.practice, required)
    flash(
        "Everyone now signs in in two steps; those who have not set it up are asked to at once."
        if required
        else "Two-step sign-in is now each therapist's choice.",
        "success",
    )
    return redirect(url_for("settings.team"))


@bp.route("/team/<int:user_id>/reset-two-step", methods=["POST"])
@owner_required
def reset_two_step(user_id: int):
    """For a therapist who lost their phone and their recovery codes."""
    _confirmed()
    user = get_or_404(User, user_id)
    two_factor.reset(current_user, user)
    flash(f"{user.name}'s two-step sign-in is reset: they sign in with their password.", "success")
    return redirect(url_for("settings.team"))


@bp.route("/homework", methods=["GET", "POST"])
@owner_required
def homework_templates():
    """The practice's default instructions for each kind of homework."""
    from practice.homework import KINDS
    from practice.services import homework as homework_service

    failed = None
    if request.method == "POST":
        form = InstructionsForm()
        kind_key = request.form.get("kind", "")
        if kind_key not in KINDS:
            abort(400)
        if form.validate_on_submit():
            homework_service.set_default_instructions(
                current_user, kind_key, form.instructions.data or ""
            )
            flash(f"Default instructions for {KINDS[kind_key].label} saved.", "success")
            return redirect(url_for("settings.homework_templates") + f"#kind-{kind_key}")
        failed = (kind_key, form)  # shown again as typed, with the reason beside it
    forms = {}
    instructions = homework_service.every_default_instructions()
    for key in KINDS:
        form = InstructionsForm(formdata=None, prefix=key)
        form.instructions.data = instructions[key]
        forms[key] = form
    if failed:
        forms[failed[0]] = failed[1]
    status = 422 if request.method == "POST" else 200  # reached only when the save failed
    return render_template("settings/homework.html", kinds=KINDS, forms=forms), status


@bp.route("/checkins", methods=["GET", "POST"])
@owner_required
def checkin_settings():
    practice = current_user.practice
    form = CheckinSafetySettingsForm(obj=practice)
    choices = safety.safety_choices()
    form.safety_instrument.choices = [(i.key, i.name) for i in choices]
    if form.validate_on_submit():
        try:
            safety.update_settings(
                current_user,
                practice,
                checkin_weekday=form.checkin_weekday.data,
                checkin_hour=form.checkin_hour.data,
                safety_instrument=form.safety_instrument.data,
                crisis_resources=form.crisis_resources.data or "",
                quick_exit_url=form.quick_exit_url.data or "",
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash("Check-in and safety settings saved.", "success")
            return redirect(url_for("settings.checkin_settings"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "settings/checkins.html",
        form=form,
        instruments={i.key: i for i in choices},
        default_resources=safety.DEFAULT_CRISIS_RESOURCES,
    ), status


# -- the practice's access log ------------------------------------------------------------------


def _log_filters():
    """The access log's filters from the query string, or None when they make no sense."""
    form = AuditFilterForm(request.args)
    people = db.session.scalars(select(User).order_by(User.name)).all()
    form.therapist.choices = [("", "Anyone")] + [(str(user.id), user.name) for user in people]
    if not form.validate():
        return form, None
    filters = audit.LogFilter(
        area=form.area.data or "",
        therapist_id=int(form.therapist.data) if form.therapist.data else None,
        couple_id=form.couple.data,
        since=form.since.data,
        until=form.until.data,
    )
    return form, filters


@bp.route("/audit")
@owner_required
def access_log():
    """Who did what, when, about which couple: the practice's whole trail, filterable."""
    form, filters = _log_filters()
    if filters is None:
        problems = " ".join(error for errors in form.errors.values() for error in errors)
        flash(f"Some filters were not understood and were reset. {problems}", "error")
        return redirect(url_for("settings.access_log"))
    zone = ZoneInfo(current_user.practice.time_zone)
    page = form.page.data or 1
    events, more = audit.practice_log(filters, zone, page=page)
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "settings/audit.html",
        form=form,
        events=events,
        more=more,
        page=page,
        query=query,
        describe=audit.describe,
    )


@bp.route("/audit.csv")
@owner_required
def access_log_csv():
    form, filters = _log_filters()
    if filters is None:
        return redirect(url_for("settings.access_log"))
    data = audit.log_csv(current_user, filters, ZoneInfo(current_user.practice.time_zone))
    return Response(
        data,
        mimetype="text/csv",
        headers={
            "Content-Disposition": "attachment; filename=access-log.csv",
            "Cache-Control": "no-store, private",
        },
    )

from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.couples import bp
from practice.blueprints.couples.forms import (
    WEEKDAY_NAMES,
    AssignTherapistsForm,
    CaseloadFilterForm,
    CloseCoupleForm,
    CoupleForm,
    EditCoupleForm,
    InviteForm,
)
from practice.blueprints.forms import show_error
from practice.blueprints.transaction import discard_writes
from practice.extensions import db
from practice.jobs import failed_runs
from practice.local_time import local_date
from practice.mailer import capture_outbox, flash_dev_links
from practice.models.base import utcnow
from practice.services import DomainError, NotFound, audit, portal_access, portal_pin
from practice.services import agreements as agreement_service
from practice.services import appointments as appointment_service
from practice.services import checkins as checkin_service
from practice.services import couples as couple_service
from practice.services import exports as export_service
from practice.services import homework as homework_service
from practice.services import reports as report_service
from practice.services import review as review_service
from practice.services import signals as signal_service
from practice.services.couples import PartnerDetails
from practice.urls import external_url


def _couple_or_404(couple_id: int):
    try:
        return couple_service.get_couple(current_user, couple_id)
    except NotFound:
        abort(404)


def _partner_or_404(couple, partner_id: int):
    try:
        return couple_service.get_partner(current_user, couple, partner_id)
    except NotFound:
        abort(404)


def with_couple(view):
    """Load the couple named in the URL through the therapist's visibility, or 404."""

    @wraps(view)
    @login_required
    def wrapper(couple_id: int, **kwargs):
        return view(_couple_or_404(couple_id), **kwargs)

    return wrapper


def _therapist_choices(form_field) -> None:
    form_field.choices = [(t.id, t.name) for t in couple_service.assignable_therapists()]


def _word_checkin_default(form) -> None:
    practice = current_user.practice
    form.word_practice_default(practice.checkin_weekday, practice.checkin_hour)


def _checkin_opening(couple) -> str:
    """When the couple's check-ins open, in words, saying what is the practice's default."""
    plan = checkin_service.schedule(couple)
    words = (
        f"{WEEKDAY_NAMES[plan.weekday]} at {plan.hour:02d}:00 "
        f"({couple.time_zone.replace('_', ' ')})"
    )
    own = (couple.checkin_weekday is not None, couple.checkin_hour is not None)
    if own == (False, False):
        return f"{words}, the practice's default"
    if own == (True, False):
        return f"{words}; the hour is the practice's default"
    if own == (False, True):
        return f"{words}; the day is the practice's default"
    return words


def _partner_details(form) -> list[PartnerDetails]:
    return [
        PartnerDetails(
            display_name=sub.display_name.data or "",
            email=sub.email.data or None,
            repair_role=sub.repair_role.data,
            time_zone=sub.time_zone.data,
        )
        for sub in (form.partner1, form.partner2)
    ]


@bp.route("")
@login_required
def caseload():
    form = CaseloadFilterForm(request.args)
    therapists = couple_service.assignable_therapists()
    form.therapist.choices = [("", "Anyone")] + [(str(t.id), t.name) for t in therapists]
    if not form.validate():
        flash("Some filters were not understood and were reset.", "error")
        return redirect(url_for("couples.caseload"))
    therapist_id = int(form.therapist.data) if form.therapist.data else None
    page = couple_service.caseload(
        current_user,
        status=form.status.data,
        therapist_id=therapist_id,
        search=form.q.data or "",
        sort=form.sort.data,
        page=form.page.data or 1,
    )
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "couples/caseload.html",
        form=form,
        page=page,
        query=query,
        invite_state=portal_access.invite_state,
        now=utcnow(),
        filtered=bool(form.q.data or therapist_id or form.status.data != "open"),
        # What needs the therapist, per couple of this page: one statement.
        needs=review_service.needs_you(page.couples),
        nothing=review_service.NOTHING,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = CoupleForm()
    _therapist_choices(form.therapist_ids)
    _word_checkin_default(form)
    if request.method == "GET":
        zone = current_user.practice.time_zone
        form.time_zone.data = zone
        form.partner1.time_zone.data = zone
        form.partner2.time_zone.data = zone
        form.partner1.repair_role.data = "hurt"
        form.partner2.repair_role.data = "broke_trust"
        form.start_date.data = utcnow().date()
        form.therapist_ids.data = [current_user.id]
    if form.validate_on_submit():
        try:
            couple = couple_service.create_couple(
                current_user,
                label=form.label.data,
                presenting_concern=form.presenting_concern.data,
                start_date=form.start_date.data,
                time_zone=form.time_zone.data,
                therapist_notes=form.therapist_notes.data or "",
                partners=_partner_details(form),
                therapist_ids=form.therapist_ids.data,
                checkin_weekday=form.checkin_weekday.data,
                checkin_hour=form.checkin_hour.data,
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash(
                f"{couple.label} is in your caseload. Next: a personal link for each partner.",
                "success",
            )
            return redirect(url_for("couples.show", couple_id=couple.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("couples/form.html", form=form, couple=None), status


@bp.route("/<int:couple_id>")
@login_required
def show(couple_id: int):
    try:
        couple, sessions = couple_service.couple_page(current_user, couple_id)
    except NotFound:
        abort(404)
    partners = couple.partners
    assignments = homework_service.couple_assignments(couple)
    audit.viewed(current_user, "couple", couple)
    now = utcnow()
    return render_template(
        "couples/show.html",
        couple=couple,
        # When the closed record would be deleted, were its deletion scheduled now.
        deletion_on=export_service.deletion_date(couple, current_user.practice, now)
        if couple.is_closed
        else None,
        partners=partners,
        sessions=sessions,
        appointments=appointment_service.for_couple(couple),
        summaries=report_service.couple_reports(couple),
        summary_progress=report_service.progress,
        failed_emails=_failed_invite_emails(partners),
        notice_digest=portal_access.privacy_notice_digest(current_user.practice),
        checkin_opening=_checkin_opening(couple),
        invite_state=portal_access.invite_state,
        # The couple's trail: for the owner, and for the therapists who see the couple.
        audit_events=couple_service.recent_audit(couple),
        describe_event=audit.describe,
        partner_names={p.id: p.display_name for p in partners},
        action_form=ConfirmForm(),
        invite_form=InviteForm(),
        assign_form=_assign_form(couple),
        now=now,
        assignments=assignments,
        standing=homework_service.standings([r for a in assignments for r in a.responses]),
        agreements=agreement_service.agreements_in_force(couple),
        today=homework_service.couple_today(couple),
        is_overdue=homework_service.is_overdue,
        get_kind=homework_service.get_kind,
        # The method's signs that more help may be needed, with their evidence (therapists only).
        signals=signal_service.signals_for(couple, assignments=assignments),
        signal_rules=signal_service.RULES,
        signal_weeks=signal_service.WINDOW_WEEKS,
    )


def _failed_invite_emails(partners) -> dict:
    """{partner id: when} for each partner whose current link could not be emailed: the page
    that started the email says so, since the link itself was shown only once."""
    waiting = {
        partner.current_invite.id: partner.id
        for partner in partners
        if partner.current_invite is not None and partner.current_invite.pending_email is not None
    }
    failed = failed_runs("email.partner_invite", "invite_id", waiting)
    return {waiting[invite_id]: when for invite_id, when in failed.items()}


def _assign_form(couple) -> AssignTherapistsForm | None:
    if not current_user.is_owner:
        return None
    form = AssignTherapistsForm(formdata=None)
    _therapist_choices(form.therapist_ids)
    form.therapist_ids.data = [a.user_id for a in couple.assignments]
    return form


@bp.route("/<int:couple_id>/edit", methods=["GET", "POST"])
@with_couple
def edit(couple):
    if couple.is_closed:
        flash("Reopen the couple to edit it.", "info")
        return redirect(url_for("couples.show", couple_id=couple.id))
    form = EditCoupleForm(obj=couple if request.method == "GET" else None)
    del form.therapist_ids  # assignment has its own form, for the owner
    _word_checkin_default(form)
    if request.method == "GET":
        for sub, partner in zip((form.partner1, form.partner2), couple.partners, strict=True):
            sub.display_name.data = partner.display_name
            sub.email.data = partner.email
            sub.repair_role.data = partner.repair_role
            sub.time_zone.data = partner.time_zone
    if form.validate_on_submit():
        try:
            couple_service.update_couple(
                current_user,
                couple,
                label=form.label.data,
                presenting_concern=form.presenting_concern.data,
                start_date=form.start_date.data,
                time_zone=form.time_zone.data,
                therapist_notes=form.therapist_notes.data or "",
                status=form.status.data,
                partners=_partner_details(form),
                checkin_weekday=form.checkin_weekday.data,
                checkin_hour=form.checkin_hour.data,
            )
        except DomainError as error:
            discard_writes()
            show_error(form, error)
        else:
            flash("Saved.", "success")
            return redirect(url_for("couples.show", couple_id=couple.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("couples/form.html", form=form, couple=couple), status


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/<int:couple_id>/close", methods=["GET", "POST"])
@with_couple
def close(couple):
    """Close a case. The page says what closing does, offers the owner a final export first,
    and a deletion of the record once the practice's retention period is over."""
    if request.method == "GET":
        if couple.is_closed:
            flash(f"{couple.label} is closed already.", "info")
            return redirect(url_for("couples.show", couple_id=couple.id))
        practice = current_user.practice
        return render_template(
            "couples/close.html",
            couple=couple,
            form=CloseCoupleForm(),
            practice=practice,
            # The day the record would be deleted, were the case closed now.
            deletion_on=export_service.deletion_date(couple, practice, utcnow()),
        )
    form = CloseCoupleForm()
    if not form.validate_on_submit():
        abort(400)
    if form.schedule_deletion.data and not current_user.is_owner:
        abort(404)
    was_closed = couple.is_closed
    couple_service.close_couple(current_user, couple)
    message = (
        f"{couple.label} is closed. Both partners' links and portal sessions have ended."
        if not was_closed
        else f"{couple.label} is closed already."
    )
    if form.schedule_deletion.data:
        try:
            due = export_service.schedule_deletion(current_user, couple)
        except DomainError as error:
            flash(f"{message} {error.message}", "error")
            return redirect(url_for("couples.show", couple_id=couple.id))
        message += f" Its record is scheduled for deletion on {local_date(due, '%-d %B %Y')}."
    flash(message, "success")
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/deletion", methods=["POST"])
@with_couple
def schedule_deletion(couple):
    """Schedule a closed couple's record for deletion (the owner)."""
    _confirmed()
    if not current_user.is_owner:
        abort(404)
    try:
        due = export_service.schedule_deletion(current_user, couple)
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash(
            f"{couple.label}'s record is scheduled for deletion on {local_date(due, '%-d %B %Y')}.",
            "success",
        )
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/deletion/cancel", methods=["POST"])
@with_couple
def cancel_deletion(couple):
    """Keep the record: take it off the deletion schedule (the owner)."""
    _confirmed()
    if not current_user.is_owner:
        abort(404)
    if couple.deletion_due_at is None:
        flash(f"{couple.label}'s record is not scheduled for deletion.", "info")
    else:
        export_service.cancel_deletion(current_user, couple)
        flash(f"{couple.label}'s record is kept: its deletion is cancelled.", "success")
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/reopen", methods=["POST"])
@with_couple
def reopen(couple):
    _confirmed()
    cancelled = couple.deletion_due_at is not None
    couple_service.reopen_couple(current_user, couple)
    flash(
        f"{couple.label} is active again. Create new links for the partners."
        + (" Its scheduled deletion is cancelled." if cancelled else ""),
        "success",
    )
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/therapists", methods=["POST"])
@with_couple
def assign(couple):
    if not current_user.is_owner:
        abort(404)
    form = AssignTherapistsForm()
    _therapist_choices(form.therapist_ids)
    if not form.validate_on_submit():
        abort(400)
    try:
        couple_service.assign_therapists(current_user, couple, form.therapist_ids.data or [])
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
    else:
        flash("Assignments saved.", "success")
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/partners/<int:partner_id>/invite", methods=["POST"])
@with_couple
def invite(couple, partner_id: int):
    partner = _partner_or_404(couple, partner_id)
    form = InviteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with capture_outbox() as sent:
            invite, token = portal_access.create_invite(
                current_user, partner, email_it=form.email_it.data
            )
            link = external_url("portal.welcome", token=token)
            db.session.commit()
    except DomainError as error:
        discard_writes()
        flash(error.message, "error")
        return redirect(url_for("couples.show", couple_id=couple.id))
    flash_dev_links(sent)
    # With no Redis the email job has run by now: if it failed, this page must say so.
    email_failed = form.email_it.data and bool(
        failed_runs("email.partner_invite", "invite_id", [invite.id])
    )
    # Shown once: only its digest is stored, so this page is the only place it appears.
    return render_template(
        "couples/invite_created.html",
        couple=couple,
        partner=partner,
        link=link,
        invite=invite,
        emailed=form.email_it.data,
        email_failed=email_failed,
    )


@bp.route("/<int:couple_id>/partners/<int:partner_id>/invite/revoke", methods=["POST"])
@with_couple
def revoke_invite(couple, partner_id: int):
    _confirmed()
    partner = _partner_or_404(couple, partner_id)
    portal_access.revoke_invite(current_user, partner)
    flash(f"{partner.display_name}'s link no longer works.", "success")
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/partners/<int:partner_id>/pin/clear", methods=["POST"])
@with_couple
def clear_pin(couple, partner_id: int):
    _confirmed()
    partner = _partner_or_404(couple, partner_id)
    portal_pin.clear_pin(current_user, partner)
    flash(
        f"{partner.display_name}'s PIN is cleared. They can set a new one in the portal.", "success"
    )
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route("/<int:couple_id>/partners/<int:partner_id>/access/revoke", methods=["POST"])
@with_couple
def revoke_access(couple, partner_id: int):
    _confirmed()
    partner = _partner_or_404(couple, partner_id)
    portal_access.revoke_partner_access(current_user, partner)
    flash(
        f"{partner.display_name}'s access is revoked: signed out everywhere, link, email sign-in "
        "and calendar feed stopped. A new link lets them back in.",
        "success",
    )
    return redirect(url_for("couples.show", couple_id=couple.id))


@bp.route(
    "/<int:couple_id>/partners/<int:partner_id>/sessions/<int:session_id>/end", methods=["POST"]
)
@with_couple
def end_session(couple, partner_id: int, session_id: int):
    _confirmed()
    partner = _partner_or_404(couple, partner_id)
    try:
        portal_session = portal_access.get_portal_session(partner, session_id)
    except NotFound:
        abort(404)
    portal_access.end_portal_session(portal_session, by=current_user, reason="ended by therapist")
    flash("That device is signed out.", "success")
    return redirect(url_for("couples.show", couple_id=couple.id))

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from practice.blueprints.auth.forms import ConfirmForm
from practice.blueprints.dashboard import bp
from practice.extensions import db
from practice.models.base import utcnow
from practice.services import (
    NotFound,
    appointments,
    couples,
    homework,
    notices,
    portal_access,
    review,
)


@bp.route("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("auth.login"))


@bp.route("/dashboard")
@login_required
def index():
    practice = current_user.practice
    counts = review.dashboard_counts(current_user)  # every number on the page: one statement
    now = utcnow()
    return render_template(
        "dashboard/index.html",
        practice=practice,
        team_size=counts.team_size,
        open_invitations=counts.open_invitations,
        summary=couples.dashboard_summary(current_user, open_couples=counts.open_couples),
        waiting_review=counts.waiting_review,
        # Every couple with something for the therapist today, most pressing first: one
        # statement (services.review).
        today=review.needs_you_today(current_user, counts),
        get_kind=homework.get_kind,
        invite_state=portal_access.invite_state,
        now=now,
        # The practice's day's sessions, their couples and partners with them: one statement.
        sessions_today=appointments.today(current_user, now),
        notices=notices.unread_for_user(current_user),  # their couples come with them
        open_safety_flags=counts.open_safety_flags,
        notice_text=notices.text_for,
        action_form=ConfirmForm(),
    )


@bp.route("/notices/<int:user_notice_id>")
@login_required
def open_notice(user_notice_id: int):
    """Open a notice: it is read from now on, and the therapist goes where it points."""
    try:
        notice = notices.open_for_user(current_user, user_notice_id)
    except NotFound:
        abort(404)
    db.session.commit()
    return redirect(notice.link)


@bp.route("/notices/read", methods=["POST"])
@login_required
def read_notices():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    notices.read_all_for_user(current_user)
    db.session.commit()
    return redirect(url_for("dashboard.index"))

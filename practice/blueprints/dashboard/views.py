from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from practice.blueprints.dashboard import bp
from practice.extensions import db
from practice.models import TherapistInvitation, User
from practice.models.base import utcnow
from practice.services import couples, homework, portal_access


@bp.route("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("auth.login"))


@bp.route("/dashboard")
@login_required
def index():
    practice = current_user.practice
    team_size = db.session.scalar(select(func.count()).select_from(User).where(User.active))
    open_invitations = db.session.scalar(
        select(func.count())
        .select_from(TherapistInvitation)
        .where(TherapistInvitation.accepted_at.is_(None), TherapistInvitation.revoked_at.is_(None))
    )
    return render_template(
        "dashboard/index.html",
        practice=practice,
        team_size=team_size,
        open_invitations=open_invitations,
        summary=couples.dashboard_summary(current_user),
        attention=homework.needs_attention(current_user),
        get_kind=homework.get_kind,
        invite_state=portal_access.invite_state,
        now=utcnow(),
    )

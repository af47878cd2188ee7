"""Jobs that send email. Each takes ids, makes its own token, and sends one message."""

from __future__ import annotations

from flask import render_template

from practice.extensions import db
from practice.jobs import DEFAULT_QUEUE, job
from practice.mailer import send_mail
from practice.models import TherapistInvitation, User
from practice.services import accounts
from practice.urls import external_url


@job(queue=DEFAULT_QUEUE, timeout=60)
def send_password_reset(user_id: int) -> None:
    """Email a one-hour, single-use password reset link to an active user."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return
    token = accounts.create_password_reset(user)
    db.session.flush()  # store the digest before the link leaves the building
    link = external_url("auth.reset_password", token=token)
    send_mail(
        user.email,
        "Reset your practice password",
        render_template("email/password_reset.txt", user=user, link=link),
    )


@job(queue=DEFAULT_QUEUE, timeout=60)
def send_therapist_invitation(invitation_id: int) -> None:
    """Email an invitation link to join the practice; it voids any earlier link."""
    invitation = db.session.get(TherapistInvitation, invitation_id)
    if invitation is None or not invitation.is_open:
        return
    token = accounts.issue_invitation_token(invitation)
    db.session.flush()
    link = external_url("auth.accept_invitation", token=token)
    send_mail(
        invitation.email,
        f"Join {invitation.invited_by.practice.name} on practice",
        render_template("email/therapist_invitation.txt", invitation=invitation, link=link),
    )

"""Jobs that send email. Each takes ids, makes its own token, and sends one message.

Before jobs had names of their own, runs were stored under the function's dotted path, when
this module was `practice.jobs.email`: `formerly` keeps such runs (a pending one, a failure a
page still shows) working.
"""

from __future__ import annotations

from flask import render_template

from practice.extensions import db
from practice.jobs import DEFAULT_QUEUE, job
from practice.mailer import send_mail
from practice.models import Partner, PartnerInvite, TherapistInvitation, User
from practice.models.base import utcnow
from practice.security import unseal
from practice.services import accounts, audit, portal_access
from practice.urls import external_url


@job(
    name="email.password_reset",
    queue=DEFAULT_QUEUE,
    timeout=60,
    formerly=["practice.jobs.email.send_password_reset"],
)
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


@job(
    name="email.therapist_invitation",
    queue=DEFAULT_QUEUE,
    timeout=60,
    formerly=["practice.jobs.email.send_therapist_invitation"],
)
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


@job(
    name="email.partner_invite",
    queue=DEFAULT_QUEUE,
    timeout=60,
    formerly=["practice.jobs.email.send_partner_invite"],
)
def send_partner_invite(invite_id: int) -> None:
    """Email a partner their personal link, then erase the encrypted copy it was kept in."""
    invite = db.session.get(PartnerInvite, invite_id)
    if invite is None or invite.pending_email is None or invite.revoked_at is not None:
        return
    partner = invite.partner
    if not partner.email:
        return
    link = external_url("portal.welcome", token=unseal(invite.pending_email))
    practice_name = invite.created_by.practice.name
    send_mail(
        partner.email,
        f"Your personal link from {practice_name}",
        render_template(
            "email/partner_invite.txt",
            partner=partner,
            therapist=invite.created_by,
            practice_name=practice_name,
            link=link,
            expires_at=invite.expires_at,
        ),
    )
    invite.pending_email = None
    invite.emailed_at = utcnow()
    audit.record("partner.invite_emailed", actor_label="system", target=partner)


@job(
    name="email.partner_sign_in_link",
    queue=DEFAULT_QUEUE,
    timeout=60,
    formerly=["practice.jobs.email.send_partner_sign_in_link"],
)
def send_partner_sign_in_link(partner_id: int) -> None:
    """Email a partner a single-use, 30-minute sign-in link."""
    partner = db.session.get(Partner, partner_id)
    # Asked for before a revoke, run after it: nothing is sent.
    if partner is None or not partner.email or not portal_access.may_enter(partner):
        return
    token = portal_access.create_sign_in_link(partner)
    db.session.flush()
    link = external_url("portal.sign_in_link", token=token)
    send_mail(
        partner.email,
        "Your sign-in link",
        render_template("email/partner_sign_in_link.txt", partner=partner, link=link),
    )


@job(name="email.safety_flag", queue=DEFAULT_QUEUE, timeout=60)
def send_safety_flag(user_id: int, couple_id: int) -> None:
    """Tell an assigned therapist that a safety answer needs their attention: no name, no
    answer, only a link to sign in and look."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return
    link = external_url("couples.show", couple_id=couple_id)
    send_mail(
        user.email,
        "A safety answer needs your attention",
        render_template("email/safety_flag.txt", user=user, link=link),
    )


def _partner_reminder(partner_id: int, subject: str, template: str) -> None:
    partner = db.session.get(Partner, partner_id)
    if partner is None or not partner.email or partner.access_revoked_at is not None:
        return
    send_mail(
        partner.email,
        subject,
        render_template(template, partner=partner, link=external_url("portal.home")),
    )


@job(name="email.checkin_reminder", queue=DEFAULT_QUEUE, timeout=60)
def send_checkin_reminder(partner_id: int) -> None:
    """'Your weekly check-in is open': no names, no content, a link to the portal."""
    _partner_reminder(partner_id, "Your weekly check-in is open", "email/checkin_reminder.txt")


@job(name="email.measure_reminder", queue=DEFAULT_QUEUE, timeout=60)
def send_measure_reminder(partner_id: int) -> None:
    """'A questionnaire is ready': which one, its questions and any score stay in the portal."""
    _partner_reminder(
        partner_id, "A questionnaire from your therapist", "email/measure_reminder.txt"
    )


@job(name="email.window_reminder", queue=DEFAULT_QUEUE, timeout=60)
def send_window_reminder(partner_id: int) -> None:
    """An hour's notice of a time the partner reserved; the words say only that."""
    _partner_reminder(partner_id, "Coming up within the hour", "email/window_reminder.txt")

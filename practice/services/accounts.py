"""Therapist accounts: sign-up, sign-in, passwords, invitations and the team."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import render_template
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from practice.extensions import db
from practice.jobs import enqueue
from practice.local_time import known_time_zones
from practice.mailer import send_mail
from practice.models import (
    PasswordReset,
    Practice,
    TherapistInvitation,
    TrustedDevice,
    User,
    UserSession,
)
from practice.models.base import utcnow
from practice.models.practice import DEFAULT_SECRETS_POLICY_TEXT, SECRETS_POLICIES
from practice.security import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    InvalidSeal,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    seal,
    unseal,
    verify_password,
)
from practice.services import MAX_ID, Conflict, DomainError, NotFound, audit, check_single_line
from practice.tenancy import practice_context, unscoped
from practice.urls import external_url

PASSWORD_RESET_LIFETIME = timedelta(hours=1)
SIGN_UP_LINK_LIFETIME = timedelta(hours=24)
# Its own key: nothing else the app seals (a link waiting for its email) passes for one.
SIGN_UP_LINK_PURPOSE = "signup"
INVITATION_LIFETIME = timedelta(days=7)
# Writing "last seen" on every request would turn reads into writes; a few minutes is enough.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


class InvalidCredentials(DomainError):
    """Email and password do not match an active account."""

    def __init__(self) -> None:
        super().__init__("That email and password do not match an account.")


class EmailTaken(DomainError):
    """The address already belongs to an account, of this practice or another."""

    def __init__(self) -> None:
        super().__init__(
            "An account with this email already exists. Sign in, or reset your password.",
            "email",
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str, *, email: str | None = None, field: str = "password"):
    """Raise DomainError naming what is wrong with a new password."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise DomainError(f"Use at least {PASSWORD_MIN_LENGTH} characters.", field)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise DomainError(f"Use at most {PASSWORD_MAX_LENGTH} characters.", field)
    if email and password.strip().lower() == normalise_email(email):
        raise DomainError("Your password cannot be your email address.", field)


def check_email(email: str, field: str = "email") -> str:
    """Raise DomainError unless `email` is a well-formed address (no DNS lookup)."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise DomainError("Enter a valid email.", field) from None
    return email


def check_time_zone(time_zone: str, field: str = "time_zone") -> str:
    if time_zone not in known_time_zones():
        raise DomainError("Choose a time zone from the list, e.g. Europe/London.", field)
    return time_zone


def _email_is_taken(email: str) -> bool:
    with unscoped():
        return db.session.scalar(select(func.count()).where(User.email == email)) > 0


def _slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "practice"


def _unique_slug(name: str) -> str:
    base = _slugify(name)
    with unscoped():
        taken = set(
            db.session.scalars(select(Practice.slug).where(Practice.slug.like(f"{base}%"))).all()
        )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _one_line_name(value: str, field: str, max_length: int, missing: str) -> str:
    value = check_single_line(value, field).strip()
    if not value:
        raise DomainError(missing, field)
    if len(value) > max_length:
        raise DomainError(f"Use at most {max_length} characters.", field)
    return value


def sign_up_link_token(email: str, *, at: int | None = None) -> str:
    """The token of a link proving that whoever opens it reads this address's mail: the
    address, encrypted and dated with the app's key, so that the link (in a proxy's log, a
    browser's history) does not show it. Nothing is stored; it works for
    SIGN_UP_LINK_LIFETIME. `at`: when it was made (tests)."""
    return seal(normalise_email(email), purpose=SIGN_UP_LINK_PURPOSE, at=at)


def email_of_sign_up_link(token: str) -> str:
    """The address a sign-up link was sent to, or NotFound if it is expired or not ours."""
    try:
        email = unseal(
            token, purpose=SIGN_UP_LINK_PURPOSE, ttl=int(SIGN_UP_LINK_LIFETIME.total_seconds())
        )
        return check_email(email)
    except (InvalidSeal, DomainError):  # expired, altered, not a token, or not an address
        raise NotFound("This sign-up link has expired or is not valid.") from None


def email_has_account(email: str) -> bool:
    """Whether an account (of any practice) signs in with this address."""
    return _email_is_taken(normalise_email(email))


def request_sign_up(email: str) -> None:
    """Answer a request to sign up with one email to the address, whoever owns it.

    A new address gets a link to create the practice. An address that already has an account
    gets a note that someone tried, with links to sign in and to reset the password, and no
    link to create anything. The same lookup and one message either way; the page the visitor
    sees says the same whatever the case, so it tells nobody who has an account.

    Sent here and not through the job queue: a job run belongs to a practice, and there is
    none yet. Nothing is written, so there is nothing to commit.
    """
    email = normalise_email(email)
    with unscoped():  # sign-up: the address may belong to anyone, of any practice
        user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        link = external_url("auth.signup_confirm", token=sign_up_link_token(email))
        send_mail(
            email,
            "Confirm your email to create your practice",
            render_template("email/signup_confirm.txt", link=link),
        )
    else:
        send_mail(
            user.email,
            "Someone tried to sign up with your email",
            render_template(
                "email/signup_account_exists.txt",
                user=user,
                sign_in_link=external_url("auth.login"),
                reset_link=external_url("auth.forgot_password"),
            ),
        )


def sign_up(*, practice_name: str, name: str, email: str, password: str, time_zone: str) -> User:
    """Create a practice and its owner; the caller signs the owner in.

    On the web the address comes from a confirmed sign-up link (`email_of_sign_up_link`); the
    CLI passes it straight in. An address that has an account raises EmailTaken.

    Two sign-ups at one moment can both pass the checks below; the database then refuses the
    second's email or slug and this raises Conflict: run it again (`retry_on_conflict`), and
    the second run answers "already exists" or picks the next free slug.
    """
    # Forms check these too; the CLI (create-owner) and other callers rely on these.
    practice_name = _one_line_name(practice_name, "practice_name", 200, "Name your practice.")
    name = _one_line_name(name, "name", 120, "Tell us your name.")
    email = normalise_email(email)
    check_email(email)
    check_time_zone(time_zone)
    check_password_rules(password, email=email)
    if _email_is_taken(email):
        raise EmailTaken()
    practice = Practice(
        name=practice_name,
        slug=_unique_slug(practice_name),
        time_zone=time_zone,
        secrets_policy="limited_secrets",
        secrets_policy_text=DEFAULT_SECRETS_POLICY_TEXT["limited_secrets"],
    )
    owner = User(
        practice=practice,
        email=email,
        name=name,
        role="owner",
        password_hash=hash_password(password),
    )
    with unscoped():
        db.session.add_all([practice, owner])
        try:
            db.session.flush()
        except IntegrityError:
            # Not the caller's words: the unique email or slug, taken since the checks above.
            raise Conflict() from None
    audit.record("practice.created", actor=owner, target=practice)
    return owner


def authenticate(email: str, password: str) -> User:
    """Return the active user with these credentials, or raise InvalidCredentials; the
    sign-in is recorded (a user with two-step sign-in uses `check_password` and then
    `record_sign_in` once their code is right)."""
    user = check_password(email, password)
    record_sign_in(user)
    return user


def record_sign_in(user: User) -> None:
    user.last_login_at = utcnow()
    audit.record("auth.login", actor=user, target=user)


def check_password(email: str, password: str) -> User:
    """The active user with these credentials (the first step of a sign-in), or raise
    InvalidCredentials; nothing says they signed in yet."""
    email = normalise_email(email)
    with unscoped():  # log-in lookup: the practice is what we are finding out
        user = db.session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        if user is not None:
            audit.record("auth.login_failed", actor_label="anonymous", target=user)
        raise InvalidCredentials()
    if not user.active:
        audit.record("auth.login_refused_inactive", actor_label="anonymous", target=user)
        raise DomainError("This account is deactivated. Ask your practice owner to restore it.")
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Set a new password and sign the user out everywhere else."""
    if not verify_password(user.password_hash, current_password):
        raise DomainError("Your current password is not right.", "current_password")
    check_password_rules(new_password, email=user.email, field="new_password")
    user.password_hash = hash_password(new_password)
    _end_every_session(user, "password changed")
    audit.record("auth.password_changed", actor=user, target=user)


def sign_out_everywhere(user: User) -> None:
    """End every session of this user, this one included."""
    _end_every_session(user, "signed out everywhere")
    audit.record("auth.signed_out_everywhere", actor=user, target=user)


# --- signed-in browsers: one UserSession each ---------------------------------------------------


def start_user_session(user: User, *, device: str | None) -> UserSession:
    """Record a newly signed-in browser of this user; its id goes into the login cookie."""
    now = utcnow()
    user_session = UserSession(
        practice_id=user.practice_id,
        user_id=user.id,
        device=(device or "")[:120] or None,
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(user_session)
    db.session.flush()
    return user_session


def end_user_session(user_session: UserSession, *, reason: str) -> None:
    """End one signed-in browser on the server: its cookie, and any copy of it, stop working."""
    if user_session.ended_at is None:
        user_session.ended_at = utcnow()
        user_session.end_reason = reason


def sign_out(user: User) -> None:
    """Sign out the browser this request came from; the user's other devices stay signed in."""
    if user.current_session is not None:
        end_user_session(user.current_session, reason="signed out")
    audit.record("auth.logout", actor=user, target=user)


def sign_out_device(user: User, user_session_id: int) -> None:
    """Sign out one of the user's browsers from another (a lost laptop); NotFound if not theirs."""
    user_session = None
    if 0 < user_session_id <= MAX_ID:
        user_session = db.session.scalar(
            select(UserSession).where(
                UserSession.id == user_session_id, UserSession.user_id == user.id
            )
        )
    if user_session is None:
        raise NotFound()
    if user_session.ended_at is None:
        end_user_session(user_session, reason="signed out from another device")
        audit.record(
            "auth.session_ended", actor=user, target=user, details={"device": user_session.device}
        )


def touch_user_session(user_session: UserSession) -> bool:
    """Record activity, at most every few minutes; True when there is something to commit."""
    now = utcnow()
    if now - user_session.last_seen_at < SESSION_TOUCH_INTERVAL:
        return False
    user_session.last_seen_at = now
    return True


def live_user_sessions(user: User, *, idle: timedelta, absolute: timedelta) -> list[UserSession]:
    """The user's signed-in browsers, most recently used first: not ended, not timed out."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.created_at > now - absolute,
                # last_seen_at lags by up to the touch interval: allow for it.
                UserSession.last_seen_at > now - idle - SESSION_TOUCH_INTERVAL,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def _end_every_session(user: User, reason: str) -> None:
    """Sign the user out everywhere: the version in every cookie is stale, every record ends."""
    user.session_version += 1
    with practice_context(user.practice_id):  # a reset link is used with no practice set
        # Browsers remembered for two-step sign-in are forgotten too.
        db.session.execute(delete(TrustedDevice).where(TrustedDevice.user_id == user.id))
        db.session.execute(
            update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
            .execution_options(synchronize_session=False)
        )


def request_password_reset(email: str) -> None:
    """Email a reset link if the address belongs to an active user; silent otherwise."""
    email = normalise_email(email)
    with unscoped():
        user = db.session.scalar(select(User).where(User.email == email, User.active.is_(True)))
    if user is None:
        return
    enqueue("email.password_reset", practice_id=user.practice_id, user_id=user.id)
    audit.record("auth.password_reset_requested", actor_label="anonymous", target=user)


def create_password_reset(user: User) -> str:
    """Void earlier links for this user and store a new one; return the token to email."""
    now = utcnow()
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token, digest = new_token()
    db.session.add(
        PasswordReset(
            practice_id=user.practice_id,
            user_id=user.id,
            token_hash=digest,
            expires_at=now + PASSWORD_RESET_LIFETIME,
        )
    )
    return token


def find_password_reset(token: str) -> PasswordReset:
    """The unused, unexpired reset for this token, or NotFound."""
    with unscoped():  # the token is what tells us the practice
        reset = db.session.scalar(
            select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))
        )
        if (
            reset is None
            or reset.used_at is not None
            or reset.expires_at <= utcnow()
            or not reset.user.active
        ):
            raise NotFound("This reset link has expired or was already used.")
    return reset


def reset_password(token: str, new_password: str) -> User:
    """Use a reset link once: set the password, end every session."""
    reset = find_password_reset(token)
    user = reset.user
    check_password_rules(new_password, email=user.email)
    with unscoped():
        claimed = db.session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    if claimed != 1:
        raise NotFound("This reset link has expired or was already used.")
    user.password_hash = hash_password(new_password)
    _end_every_session(user, "password reset")
    audit.record("auth.password_reset", actor_label="anonymous", target=user)
    return user


def _require_owner(actor: User) -> None:
    if not actor.is_owner:
        raise NotFound()


def invite_therapist(owner: User, *, email: str, name: str) -> TherapistInvitation:
    """Invite a therapist by email; a second invite to the same address resends the first."""
    _require_owner(owner)
    email = normalise_email(email)
    if _email_is_taken(email):
        raise DomainError("Someone already has an account with this email.", "email")
    invitation = db.session.scalar(
        select(TherapistInvitation).where(
            TherapistInvitation.email == email,
            TherapistInvitation.accepted_at.is_(None),
            TherapistInvitation.revoked_at.is_(None),
        )
    )
    if invitation is None:
        invitation = TherapistInvitation(email=email, name=name.strip(), invited_by_id=owner.id)
        db.session.add(invitation)
        db.session.flush()
    else:
        invitation.name = name.strip()
    enqueue("email.therapist_invitation", invitation_id=invitation.id)
    audit.record("therapist.invited", actor=owner, target=invitation)
    return invitation


def resend_invitation(owner: User, invitation: TherapistInvitation) -> None:
    """Email a fresh link; the previous one stops working."""
    _require_owner(owner)
    if not invitation.is_open:
        raise DomainError("This invitation is no longer open.")
    enqueue("email.therapist_invitation", invitation_id=invitation.id)
    audit.record("therapist.invitation_resent", actor=owner, target=invitation)


def revoke_invitation(owner: User, invitation: TherapistInvitation) -> None:
    """Withdraw an open invitation; its link stops working."""
    _require_owner(owner)
    if invitation.is_open:
        invitation.revoked_at = utcnow()
        invitation.token_hash = None
        audit.record("therapist.invitation_revoked", actor=owner, target=invitation)


def issue_invitation_token(invitation: TherapistInvitation) -> str:
    """Store a new token for the invitation (voiding the last) and return it for the email."""
    token, digest = new_token()
    invitation.token_hash = digest
    invitation.expires_at = utcnow() + INVITATION_LIFETIME
    return token


def find_invitation(token: str) -> TherapistInvitation:
    """The open, unexpired invitation for this token, or NotFound."""
    with unscoped():  # the token is what tells us the practice
        invitation = db.session.scalar(
            select(TherapistInvitation).where(TherapistInvitation.token_hash == hash_token(token))
        )
    if (
        invitation is None
        or not invitation.is_open
        or invitation.expires_at is None
        or invitation.expires_at <= utcnow()
    ):
        raise NotFound("This invitation has expired or was withdrawn.")
    return invitation


def accept_invitation(token: str, *, name: str, password: str) -> User:
    """Create the invited therapist's account; the caller signs them in."""
    invitation = find_invitation(token)
    check_password_rules(password, email=invitation.email)
    if _email_is_taken(invitation.email):
        raise DomainError("An account with this email already exists. Sign in instead.")
    with unscoped():
        claimed = db.session.execute(
            update(TherapistInvitation)
            .where(
                TherapistInvitation.id == invitation.id,
                TherapistInvitation.accepted_at.is_(None),
            )
            .values(accepted_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise NotFound("This invitation has expired or was withdrawn.")
        user = User(
            practice_id=invitation.practice_id,
            email=invitation.email,
            name=name.strip(),
            role="therapist",
            password_hash=hash_password(password),
        )
        db.session.add(user)
        db.session.flush()
        invitation.user_id = user.id
        invitation.token_hash = None
    audit.record("therapist.joined", actor=user, target=user)
    return user


def set_user_active(owner: User, user: User, active: bool) -> None:
    """Deactivate (signing them out everywhere) or restore a therapist."""
    _require_owner(owner)
    if user.id == owner.id or user.is_owner:
        raise DomainError("The practice owner cannot be deactivated.")
    if user.active == active:
        return
    user.active = active
    if not active:
        _end_every_session(user, "deactivated")
    audit.record(
        "therapist.reactivated" if active else "therapist.deactivated", actor=owner, target=user
    )


def update_practice(
    owner: User,
    practice: Practice,
    *,
    name: str,
    time_zone: str,
    secrets_policy: str,
    secrets_policy_text: str,
    invite_link_days: int | None = None,
    portal_idle_days: int | None = None,
) -> None:
    """Change the practice's settings; a new secrets policy must be acknowledged again."""
    _require_owner(owner)
    check_time_zone(time_zone)
    if secrets_policy not in SECRETS_POLICIES:
        raise DomainError("Choose one of the two secrets policies.", "secrets_policy")
    values = {
        "name": name.strip(),
        "time_zone": time_zone,
        "secrets_policy": secrets_policy,
        "secrets_policy_text": secrets_policy_text.strip(),
    }
    if invite_link_days is not None:
        if not 1 <= invite_link_days <= 90:
            raise DomainError("Choose between 1 and 90 days.", "invite_link_days")
        values["invite_link_days"] = invite_link_days
    if portal_idle_days is not None:
        if not 1 <= portal_idle_days <= 365:
            raise DomainError("Choose between 1 and 365 days.", "portal_idle_days")
        values["portal_idle_days"] = portal_idle_days
    changed = [field for field, value in values.items() if getattr(practice, field) != value]
    practice.settings_reviewed_at = utcnow()
    for field in changed:
        setattr(practice, field, values[field])
    if {"secrets_policy", "secrets_policy_text"} & set(changed):
        # Partners agreed to the words they read: new words need a new agreement.
        practice.privacy_notice_version += 1
    if changed:
        audit.record(
            "practice.settings_changed", actor=owner, target=practice, details={"fields": changed}
        )

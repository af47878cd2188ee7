"""Partners' access to the portal: personal links, emailed sign-in links, portal sessions.

A personal link is the partner's key until it expires, is revoked or is replaced: it can be
used on a phone and on a laptop, and each use starts a separate, revocable portal session.
Only the SHA-256 of any token is stored. The emailed sign-in link is single-use.

"Revoke all access" closes every way in at once (the link, portal sessions, emailed sign-in
links, calendar feeds) and keeps it closed until the therapist creates a new personal link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, select, update
from sqlalchemy.orm import aliased, contains_eager

from practice.extensions import db
from practice.jobs import enqueue
from practice.models import (
    Couple,
    Partner,
    PartnerInvite,
    PartnerSignInLink,
    PortalSession,
    Practice,
    PrivacyAcknowledgement,
    User,
)
from practice.models.base import utcnow
from practice.security import hash_token, new_token, seal
from practice.services import DomainError, NotFound, audit
from practice.services.accounts import normalise_email
from practice.tenancy import practice_context, unscoped

SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)
# Writing "last seen" on every request would turn reads into writes; a few minutes is enough.
TOUCH_INTERVAL = timedelta(minutes=5)


class LinkNotUsable(NotFound):
    """Expired, revoked, replaced, used or unknown: the partner is told the same in every case."""


@dataclass(frozen=True)
class InviteState:
    """What the therapist sees about a partner's access, in a word and a sentence."""

    key: str  # none, invited, joined, expired, revoked
    label: str


def invite_state(partner: Partner, now: datetime | None = None) -> InviteState:
    now = now or utcnow()
    if partner.access_revoked_at is not None:
        return InviteState("revoked", "Access revoked")
    invite = partner.current_invite
    if partner.joined_at is not None and invite is not None and invite.is_usable(now):
        return InviteState("joined", "Joined")
    if partner.joined_at is not None:
        return InviteState("joined", "Joined · no active link")
    if invite is None:
        return InviteState("none", "No link yet")
    if not invite.is_usable(now):
        return InviteState("expired", "Link expired")
    return InviteState("invited", "Invited · not opened yet")


def may_enter(partner: Partner) -> bool:
    """Whether anything may let this partner into the portal: not closed, not revoked."""
    return partner.access_revoked_at is None and not partner.couple.is_closed


def _revoke_current_invite(partner: Partner, reason: str) -> PartnerInvite | None:
    invite = db.session.scalar(
        select(PartnerInvite).where(
            PartnerInvite.partner_id == partner.id, PartnerInvite.revoked_at.is_(None)
        )
    )
    if invite is not None:
        invite.revoked_at = utcnow()
        invite.revoke_reason = reason
        invite.pending_email = None
    return invite


def create_invite(actor: User, partner: Partner, *, email_it: bool) -> tuple[PartnerInvite, str]:
    """Make a new personal link for a partner (voiding the previous one); return it once.

    It also lifts a revoke: the therapist letting the partner back in is this link. Calendar
    feeds stopped by the revoke stay stopped (their URLs may be why access was revoked); the
    partner subscribes afresh in the portal.
    """
    couple = partner.couple
    if couple.is_closed:
        raise DomainError("Reopen the couple before inviting its partners.")
    if email_it and not partner.email:
        raise DomainError(f"Add an email for {partner.display_name} first.", "email_it")
    replaced = _revoke_current_invite(partner, "replaced")
    if partner.access_revoked_at is not None:
        partner.access_revoked_at = None
        audit.record("partner.access_restored", actor=actor, target=partner)
    token, digest = new_token()
    practice = db.session.get(Practice, partner.practice_id)
    invite = PartnerInvite(
        partner_id=partner.id,
        token_hash=digest,
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=practice.invite_link_days),
    )
    if email_it:
        # The email job gets an id; the link waits for it here, encrypted, and is then erased.
        invite.pending_email = seal(token)
    db.session.add(invite)
    db.session.flush()
    # Expire the cached relationship so this request sees the new link.
    db.session.expire(partner, ["current_invite"])
    audit.record(
        "partner.invite_created",
        actor=actor,
        target=partner,
        details={"replaced": replaced is not None, "emailed": email_it},
    )
    if email_it:
        enqueue("email.partner_invite", invite_id=invite.id)
    return invite, token


def revoke_invite(actor: User, partner: Partner) -> None:
    """Void a partner's personal link; their open portal sessions carry on."""
    if _revoke_current_invite(partner, "revoked") is not None:
        db.session.expire(partner, ["current_invite"])
        audit.record("partner.invite_revoked", actor=actor, target=partner)


def revoke_partner_access(actor: User, partner: Partner, *, reason: str = "access revoked") -> None:
    """Close every way in until a new personal link: the link, every portal session (at its
    next request), sign-in links already emailed or still queued, and calendar feeds."""
    from practice.services import calendar

    now = utcnow()
    _revoke_current_invite(partner, "revoked")
    db.session.expire(partner, ["current_invite"])
    partner.session_version += 1
    partner.access_revoked_at = now
    db.session.execute(
        update(PortalSession)
        .where(PortalSession.partner_id == partner.id, PortalSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    # Expired now, so they stay dead even after a new personal link lifts the revoke.
    sign_in_links = db.session.execute(
        update(PartnerSignInLink)
        .where(
            PartnerSignInLink.partner_id == partner.id,
            PartnerSignInLink.used_at.is_(None),
            PartnerSignInLink.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    feeds = calendar.stop_feeds(partner)
    audit.record(
        "partner.access_revoked",
        actor=actor,
        target=partner,
        details={"reason": reason, "sign_in_links": sign_in_links, "calendar_feeds": feeds},
    )


def find_invite(token: str) -> PartnerInvite:
    """The usable personal link for this token, or LinkNotUsable."""
    with unscoped():  # the token is what tells us the practice
        invite = db.session.scalar(
            select(PartnerInvite).where(PartnerInvite.token_hash == hash_token(token))
        )
        if invite is None or not invite.is_usable(utcnow()) or not may_enter(invite.partner):
            raise LinkNotUsable()
    return invite


def _start_session(partner: Partner, *, via: str, device: str | None) -> PortalSession:
    now = utcnow()
    portal_session = PortalSession(
        practice_id=partner.practice_id,
        partner_id=partner.id,
        started_via=via,
        device=(device or "")[:120] or None,
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(portal_session)
    if partner.joined_at is None:
        partner.joined_at = now
    partner.last_seen_at = now
    partner.couple.last_activity_at = now
    db.session.flush()
    audit.record("portal.session_started", actor=partner, target=portal_session)
    return portal_session


def start_session_from_invite(token: str, *, device: str | None) -> PortalSession:
    """Use a personal link: a new portal session on this device."""
    invite = find_invite(token)
    with unscoped():
        partner = invite.partner
        invite.use_count += 1
        invite.last_used_at = utcnow()
        audit.record("partner.invite_used", actor=partner, target=partner)
        return _start_session(partner, via="invite", device=device)


def request_sign_in_link(email: str) -> None:
    """Email a single-use sign-in link to each partner with this address; silent otherwise.

    A partner whose access is revoked is answered as an unknown address: nothing is sent, and
    the couple's trail shows that someone asked.
    """
    email = normalise_email(email)
    with unscoped():  # the address is all we have: it may belong to partners of any practice
        partners = db.session.scalars(
            select(Partner)
            .join(Couple, (Couple.id == Partner.couple_id))
            .where(Partner.email == email, Couple.status != "closed")
        ).all()
    for partner in partners:
        # Each practice's rows are written in that practice (row-level security holds them).
        with practice_context(partner.practice_id):
            if partner.access_revoked_at is not None:
                audit.record(
                    "partner.sign_in_link_refused", actor_label="anonymous", target=partner
                )
            else:
                enqueue(
                    "email.partner_sign_in_link",
                    practice_id=partner.practice_id,
                    partner_id=partner.id,
                )
                audit.record("partner.sign_in_link_requested", actor=partner, target=partner)
            db.session.flush()


def create_sign_in_link(partner: Partner) -> str:
    """Store a new single-use sign-in link for a partner and return its token."""
    token, digest = new_token()
    db.session.add(
        PartnerSignInLink(
            partner_id=partner.id,
            token_hash=digest,
            expires_at=utcnow() + SIGN_IN_LINK_LIFETIME,
        )
    )
    return token


def find_sign_in_link(token: str) -> PartnerSignInLink:
    """The unused, unexpired sign-in link for this token, of a partner who may enter."""
    with unscoped():
        link = db.session.scalar(
            select(PartnerSignInLink).where(PartnerSignInLink.token_hash == hash_token(token))
        )
        if link is None or link.used_at is not None or link.expires_at <= utcnow():
            raise LinkNotUsable()
        if not may_enter(db.session.scalar(select(Partner).where(Partner.id == link.partner_id))):
            raise LinkNotUsable()
    return link


def start_session_from_sign_in_link(token: str, *, device: str | None) -> PortalSession:
    """Use an emailed sign-in link, once: of two simultaneous uses, exactly one succeeds."""
    link = find_sign_in_link(token)
    with unscoped():
        claimed = db.session.execute(
            update(PartnerSignInLink)
            .where(PartnerSignInLink.id == link.id, PartnerSignInLink.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise LinkNotUsable()
        partner = db.session.scalar(select(Partner).where(Partner.id == link.partner_id))
        if not may_enter(partner):
            raise LinkNotUsable()
        return _start_session(partner, via="email link", device=device)


def load_portal_session(session_id: int, partner_id: int, version: int) -> PortalSession | None:
    """The live portal session behind a cookie, or None if it ended, was revoked or idled out."""
    with unscoped():  # the cookie is what tells us the practice
        # One statement: the session, its partner, their couple with both partners (pages
        # name the other) and its therapists (pages name them), and the practice.
        # Unscoped: the session, its partner and their couple are found by primary key; the
        # couple's partners are matched on the partner's practice as well, so the tenant-first
        # index (practice_id, couple_id, position) serves that join.
        me, both = aliased(Partner), aliased(Partner)
        couple = contains_eager(PortalSession.partner.of_type(me)).contains_eager(me.couple)
        row = (
            db.session.execute(
                select(PortalSession, Practice)
                .join(Practice, Practice.id == PortalSession.practice_id)
                .join(me, me.id == PortalSession.partner_id)
                .join(Couple, Couple.id == me.couple_id)
                .join(
                    both,
                    and_(both.couple_id == Couple.id, both.practice_id == me.practice_id),
                )
                .where(PortalSession.id == session_id, PortalSession.partner_id == partner_id)
                .order_by(both.position)
                .options(
                    couple.contains_eager(Couple.partners.of_type(both)),
                    couple.joinedload(Couple.therapists),
                )
            )
            .unique()
            .first()
        )
        if row is None or row.PortalSession.ended_at is not None:
            return None
        portal_session, practice = row
        # The session's identity map holds objects weakly: held here for the rest of the
        # request, the practice is what `db.session.get(Practice, ...)` finds, with no query.
        db.session.info["portal_practice"] = practice
        partner = portal_session.partner
        now = utcnow()
        if partner.session_version != version or not may_enter(partner):
            return None
        if now - portal_session.last_seen_at > timedelta(days=practice.portal_idle_days):
            portal_session.ended_at = now
            portal_session.end_reason = "idle"
            return None
    return portal_session


def touch(portal_session: PortalSession) -> None:
    """Record activity, at most every few minutes."""
    now = utcnow()
    if now - portal_session.last_seen_at >= TOUCH_INTERVAL:
        portal_session.last_seen_at = now
        portal_session.partner.last_seen_at = now
        portal_session.partner.couple.last_activity_at = now


def end_portal_session(portal_session: PortalSession, *, by: User | Partner, reason: str) -> None:
    """End one portal session (the partner signing out, or a therapist revoking a device)."""
    if portal_session.ended_at is None:
        portal_session.ended_at = utcnow()
        portal_session.end_reason = reason
        audit.record(
            "portal.session_ended",
            actor=by,
            target=portal_session,
            couple_id=portal_session.partner.couple_id,
            details={"reason": reason},
        )


def live_sessions(partner: Partner) -> list[PortalSession]:
    return list(
        db.session.scalars(
            select(PortalSession)
            .where(PortalSession.partner_id == partner.id, PortalSession.ended_at.is_(None))
            .order_by(PortalSession.last_seen_at.desc())
        )
    )


def get_portal_session(partner: Partner, session_id: int) -> PortalSession:
    portal_session = db.session.scalar(
        select(PortalSession).where(
            PortalSession.id == session_id, PortalSession.partner_id == partner.id
        )
    )
    if portal_session is None:
        raise NotFound()
    return portal_session


PRIVACY_NOTICE_TEMPLATE = "portal/_privacy_notice.html"


def _notice_source() -> str:
    """The notice's wording as written in its template, read once per process."""
    cache = current_app.extensions.setdefault("practice_privacy_notice", {})
    if PRIVACY_NOTICE_TEMPLATE not in cache:
        env = current_app.jinja_env
        cache[PRIVACY_NOTICE_TEMPLATE] = env.loader.get_source(env, PRIVACY_NOTICE_TEMPLATE)[0]
    return cache[PRIVACY_NOTICE_TEMPLATE]


def privacy_notice_digest(practice: Practice) -> str:
    """What a partner agrees to: our notice's words, the practice's secrets policy and the
    safety questions it asks (the notice lists them).

    Any change to these gives a new digest, so every partner reads and acknowledges the new
    words on their next visit, without anyone having to remember to bump a number.
    """
    parts = (
        _notice_source(),
        practice.secrets_policy,
        practice.secrets_policy_text or "",
        practice.safety_instrument or "",
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def needs_privacy_acknowledgement(partner: Partner, practice: Practice) -> bool:
    return partner.privacy_acknowledged_digest != privacy_notice_digest(practice)


def acknowledge_privacy(partner: Partner, practice: Practice) -> None:
    """Record that the partner read and accepted the current notice and secrets policy."""
    digest = privacy_notice_digest(practice)
    if partner.privacy_acknowledged_digest == digest:
        return
    db.session.add(
        PrivacyAcknowledgement(
            partner_id=partner.id,
            notice_version=practice.privacy_notice_version,
            notice_digest=digest,
            secrets_policy=practice.secrets_policy,
        )
    )
    partner.privacy_acknowledged_version = practice.privacy_notice_version
    partner.privacy_acknowledged_digest = digest
    audit.record(
        "partner.privacy_acknowledged",
        actor=partner,
        target=partner,
        details={"version": practice.privacy_notice_version},
    )

"""Writing audit events, and reading them back as the practice's access log."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.models import AuditEvent, Partner, User


def record(
    action: str,
    *,
    actor: User | Partner | None = None,
    actor_label: str | None = None,
    target: object | None = None,
    couple_id: int | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an audit event for `action` to the session (ids and labels only, no client text)."""
    if couple_id is None:
        couple_id = getattr(target, "couple_id", None) or getattr(actor, "couple_id", None)
        if couple_id is None and type(target).__name__ == "Couple":
            couple_id = target.id
    event = AuditEvent(
        action=action,
        actor_user_id=actor.id if isinstance(actor, User) else None,
        actor_partner_id=actor.id if isinstance(actor, Partner) else None,
        couple_id=couple_id,
        actor_label=actor_label if actor is None else None,
        target_type=type(target).__name__ if target is not None else None,
        target_id=getattr(target, "id", None),
        ip=request.remote_addr if has_request_context() else None,
        details=details or {},
    )
    if actor is not None:
        event.practice_id = actor.practice_id
    elif target is not None and hasattr(target, "practice_id"):
        event.practice_id = target.practice_id
    db.session.add(event)
    return event


# How an action reads in a couple's trail: "<who> <what>".
ACTION_LABELS = {
    "couple.created": "added the couple",
    "couple.updated": "edited the couple's details",
    "couple.assigned": "changed the assigned therapists",
    "couple.active": "made the couple active",
    "couple.paused": "paused the couple",
    "couple.closed": "closed the case",
    "couple.reopened": "reopened the case",
    "couple.export_requested": "asked for an export of the whole record",
    "couple.export_downloaded": "downloaded the export of the whole record",
    "couple.deletion_scheduled": "scheduled the record's deletion",
    "couple.deletion_cancelled": "cancelled the record's deletion",
    "couple.deleted": "deleted the couple's record",
    "practice.retention_changed": "changed how long closed records are kept",
    "partner.email_changed": "changed a partner's email",
    "partner.invite_created": "created a personal link",
    "partner.invite_emailed": "emailed a personal link",
    "partner.invite_revoked": "voided a personal link",
    "partner.invite_used": "opened their personal link",
    "partner.access_revoked": "revoked a partner's access",
    "partner.access_restored": "let a partner back in with a new link",
    "partner.sign_in_link_requested": "asked for a sign-in link by email",
    "partner.sign_in_link_refused": "asked for a sign-in link while access is revoked (none sent)",
    "partner.privacy_acknowledged": "acknowledged the privacy notice",
    "portal.session_started": "signed in to the portal",
    "portal.session_ended": "ended a portal session",
    "portal.pin_set": "protected their portal with a PIN",
    "portal.pin_changed": "changed their portal PIN",
    "portal.pin_removed": "removed their portal PIN",
    "portal.pin_cleared": "cleared the partner's portal PIN",
    "homework.assigned": "assigned homework",
    "homework.submitted": "handed in homework",
    "homework.reviewed": "marked homework reviewed",
    "homework.returned": "returned homework for revision",
    "homework.completed": "marked homework completed",
    "homework.released": "shared private homework with the couple",
    "homework.window_confirmed": "agreed to a plan made together",
    "homework.contract_finalized": "marked the repair contract final",
    "homework.contract_signed": "signed the repair contract",
    "homework.contract_reopened": "changed the signed repair contract (to be signed again)",
    "homework.change_proposed": "proposed a change to signed or agreed homework",
    "homework.instructions_changed": "changed the default homework instructions",
    "agreement.added": "added an agreement",
    "checkin.submitted": "handed in a weekly check-in",
    "ritual.ticked": "ticked off a week of the connection ritual",
    "safety.screen_answered": "answered the safety questions",
    "practice.safety_settings_changed": "changed the check-in and safety settings",
    "safety.flag_raised": "a safety answer raised a flag",
    "safety.flag_seen": "saw a safety flag",
    "safety.flag_addressed": "addressed a safety flag",
    "checkin.reviewed": "reviewed a weekly check-in",
    "agreement.accepted": "accepted an agreement",
    "agreement.discuss": "asked to talk about an agreement",
    "agreement.change_proposed": "asked to talk again about an accepted agreement",
    "agreement.retired": "retired an agreement",
    "appointment.recorded": "recorded a session",
    "appointment.updated": "edited a session",
    "appointment.deleted": "deleted a session",
    "report.requested": "asked for a session summary",
    "report.downloaded": "downloaded a session summary",
    "report.released": "shared a session summary with the couple",
    "report.withdrawn": "took a session summary back from the portal",
    "calendar.feed_created": "created a calendar subscription",
    "calendar.feed_revoked": "revoked a calendar subscription",
    # The practice's own log (sign-ins and the team), not a couple's trail; labelled all the same.
    "auth.login": "signed in",
    "auth.login_failed": "failed to sign in",
    "auth.login_refused_inactive": "was refused sign-in (deactivated)",
    "auth.logout": "signed out",
    "auth.session_ended": "signed out one of their other devices",
    "auth.password_changed": "changed their password",
    "auth.password_reset": "reset their password",
    "auth.password_reset_requested": "asked for a password reset",
    "auth.signed_out_everywhere": "signed out everywhere",
    "auth.two_factor_enabled": "turned on two-step sign-in",
    "auth.two_factor_disabled": "turned off two-step sign-in",
    "auth.two_factor_failed": "typed a wrong sign-in code",
    "auth.two_factor_reset": "reset a therapist's two-step sign-in",
    "auth.recovery_code_used": "signed in with a recovery code",
    "auth.recovery_codes_renewed": "made new recovery codes",
    "practice.two_factor_required": "required two-step sign-in of everyone",
    "practice.two_factor_optional": "made two-step sign-in each therapist's choice",
    "practice.created": "created the practice",
    "practice.settings_changed": "changed the practice settings",
    "therapist.invited": "invited a therapist",
    "therapist.invitation_resent": "resent a therapist's invitation",
    "therapist.invitation_revoked": "withdrew a therapist's invitation",
    "therapist.joined": "joined the practice",
    "therapist.deactivated": "deactivated a therapist",
    "therapist.reactivated": "restored a therapist",
    "demo.user_created": "was created for the demo",
    "audit.exported": "downloaded the practice's access log",
    # Reading client content: who looked, when; never what they read.
    "couple.viewed": "opened the couple's page",
    "homework.viewed": "read a piece of homework",
    "checkin.viewed": "read the couple's check-ins",
    "safety.viewed": "read the couple's safety answers",
    "trends.viewed": "looked at the couple's trends",
    "measure.viewed": "looked at the couple's questionnaires and scores",
    "measure.scheduled": "sent a questionnaire",
    "measure.stopped": "stopped a questionnaire's schedule",
    "measure.submitted": "handed in a questionnaire",
    "practice.measure_settings_changed": "changed the practice's questionnaires",
}


VIEWED = ".viewed"


def viewed(user: User, what: str, couple, target: object | None = None, **details) -> None:
    """Record that a therapist read a couple's client content (`what`: couple, homework,
    checkin, safety, trends): the access log's who-looked-when, never what was read."""
    record(
        f"{what}{VIEWED}",
        actor=user,
        target=target or couple,
        couple_id=couple.id,
        details=details or None,
    )


def describe(event: AuditEvent) -> str:
    """A plain-words label for an audit action (the raw action name when none is set),
    naming the kind of homework when the event records one: "assigned homework: Apology draft"."""
    from practice.homework import KINDS

    label = ACTION_LABELS.get(event.action, event.action)
    kind = KINDS.get((event.details or {}).get("kind", ""))
    return f"{label}: {kind.label}" if kind else label


# -- the practice's access log -------------------------------------------------------------------

# The log's areas, by the first word of an action: the owner filters by them.
AREAS = {
    "auth": "Sign-ins and accounts",
    "couple": "Couples",
    "partner": "Partners' links and portal",
    "appointment": "Sessions",
    "homework": "Homework",
    "checkin": "Check-ins",
    "ritual": "Connection ritual",
    "safety": "Safety",
    "agreement": "Agreements",
    "contract": "Repair contracts",
    "report": "Session summaries",
    "trends": "Trends",
    "measure": "Questionnaires",
    "calendar": "Calendar subscriptions",
    "therapist": "The team",
    "practice": "Practice settings",
    "audit": "This log",
}
LOG_PAGE = 50
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LogFilter:
    area: str = ""
    therapist_id: int | None = None
    couple_id: int | None = None
    since: date | None = None  # days in the practice's zone, inclusive
    until: date | None = None


def _log_statement(filters: LogFilter, zone: ZoneInfo):
    statement = select(AuditEvent).options(
        joinedload(AuditEvent.actor),
        joinedload(AuditEvent.actor_partner),
        joinedload(AuditEvent.couple),
    )
    if filters.area:
        statement = statement.where(AuditEvent.action.like(f"{filters.area}.%"))
    if filters.therapist_id is not None:
        statement = statement.where(AuditEvent.actor_user_id == filters.therapist_id)
    if filters.couple_id is not None:
        statement = statement.where(AuditEvent.couple_id == filters.couple_id)
    if filters.since is not None:
        statement = statement.where(
            AuditEvent.created_at >= datetime.combine(filters.since, time(0), tzinfo=zone)
        )
    if filters.until is not None:
        after = filters.until + timedelta(days=1)
        statement = statement.where(
            AuditEvent.created_at < datetime.combine(after, time(0), tzinfo=zone)
        )
    return statement.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def practice_log(
    filters: LogFilter, zone: ZoneInfo, *, page: int = 1
) -> tuple[list[AuditEvent], bool]:
    """A page of the practice's log, newest first, and whether there is an older page: who
    did what, when, about which couple. Never what anyone wrote."""
    events = list(
        db.session.scalars(
            _log_statement(filters, zone).offset((page - 1) * LOG_PAGE).limit(LOG_PAGE + 1)
        ).unique()
    )
    return events[:LOG_PAGE], len(events) > LOG_PAGE


def _cell(value: str) -> str:
    """A value safe in a spreadsheet: one that would start a formula is kept as text."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def log_csv(owner: User, filters: LogFilter, zone: ZoneInfo) -> str:
    """The filtered log as CSV (an export is itself logged): time in the practice's zone,
    who, what (the action's code and its words), which couple."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["time", "who", "action", "what", "couple"])
    count = 0
    for event in db.session.scalars(_log_statement(filters, zone)).unique():
        writer.writerow(
            [
                event.created_at.astimezone(zone).isoformat(timespec="seconds"),
                _cell(event.actor_name),
                event.action,
                _cell(describe(event)),
                _cell(event.couple.label if event.couple is not None else ""),
            ]
        )
        count += 1
    record("audit.exported", actor=owner, details={"rows": count})
    return buffer.getvalue()

"""Couples and their caseload: who sees which couple, creating and changing a case."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from practice.extensions import db
from practice.models import Couple, CoupleTherapist, Partner, PortalSession, User
from practice.models.base import utcnow
from practice.models.couple import COUPLE_STATUSES, PRESENTING_CONCERNS, REPAIR_ROLES
from practice.services import MAX_ID, DomainError, NotFound, audit
from practice.services.accounts import check_time_zone, normalise_email

PAGE_SIZE = 50
STATUS_FILTERS = {
    "open": ("active", "paused"),
    "active": ("active",),
    "paused": ("paused",),
    "closed": ("closed",),
    "all": tuple(COUPLE_STATUSES),
}
SORTS = {
    "label": (Couple.label.asc(), Couple.id.asc()),
    "recent": (Couple.last_activity_at.desc().nulls_last(), Couple.id.desc()),
    "start": (Couple.start_date.desc(), Couple.id.desc()),
    "status": (Couple.status.asc(), Couple.label.asc(), Couple.id.asc()),
}
VALID_ROLE_PAIRS = {("hurt", "broke_trust"), ("broke_trust", "hurt"), ("mutual", "mutual")}


@dataclass
class PartnerDetails:
    """What a therapist enters about one partner."""

    display_name: str
    email: str | None
    repair_role: str
    time_zone: str


@dataclass
class CaseloadPage:
    couples: list[Couple]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def visible_couples(user: User) -> Select:
    """Couples this therapist may see: assigned ones, or all for the owner."""
    statement = select(Couple)
    if not user.is_owner:
        statement = statement.where(
            exists().where(
                CoupleTherapist.couple_id == Couple.id, CoupleTherapist.user_id == user.id
            )
        )
    return statement


def visible_couple_ids(user: User) -> Select:
    """The ids of the couples this therapist may see, for `…couple_id.in_(…)`."""
    return visible_couples(user).with_only_columns(Couple.id).order_by(None)


def get_couple(user: User, couple_id: int) -> Couple:
    """The couple if this therapist may see it; NotFound otherwise (never 'forbidden')."""
    couple = (
        db.session.execute(
            visible_couples(user)
            .where(Couple.id == couple_id)
            # Its partners with it: every page of a couple names them.
            .options(joinedload(Couple.partners))
        )
        .unique()
        .scalar_one_or_none()
    )
    if couple is None:
        raise NotFound()
    return couple


def couple_page(user: User, couple_id: int) -> tuple[Couple, dict[int, list[PortalSession]]]:
    """The couple for its page, if this therapist may see it (NotFound otherwise), in one
    statement: its partners with their links, its therapists and assignments, and each
    partner's signed-in devices (`portal_access.live_sessions`, by partner id)."""
    rows = (
        db.session.execute(
            visible_couples(user)
            .add_columns(PortalSession)
            .where(Couple.id == couple_id)
            .outerjoin(Partner, Partner.couple_id == Couple.id)
            .outerjoin(
                PortalSession,
                and_(PortalSession.partner_id == Partner.id, PortalSession.ended_at.is_(None)),
            )
            .options(
                joinedload(Couple.partners).joinedload(Partner.current_invite),
                joinedload(Couple.therapists),
                joinedload(Couple.assignments),
            )
        )
        .unique()
        .all()
    )
    if not rows:
        raise NotFound()
    couple = rows[0].Couple
    sessions: dict[int, list[PortalSession]] = {partner.id: [] for partner in couple.partners}
    for row in rows:
        if row.PortalSession is not None:
            sessions[row.PortalSession.partner_id].append(row.PortalSession)
    for devices in sessions.values():
        devices.sort(key=lambda device: device.last_seen_at, reverse=True)
    return couple, sessions


def get_partner(user: User, couple: Couple, partner_id: int) -> Partner:
    """A partner of a couple this therapist may see, loaded through the couple."""
    partner = db.session.scalar(
        select(Partner).where(Partner.id == partner_id, Partner.couple_id == couple.id)
    )
    if partner is None:
        raise NotFound()
    return partner


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def caseload(
    user: User,
    *,
    status: str = "open",
    therapist_id: int | None = None,
    search: str = "",
    sort: str = "label",
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> CaseloadPage:
    """One page of the couples this therapist sees, filtered and sorted, in three queries."""
    statement = visible_couples(user).where(Couple.status.in_(STATUS_FILTERS[status]))
    if therapist_id is not None:
        statement = statement.where(
            exists().where(
                CoupleTherapist.couple_id == Couple.id, CoupleTherapist.user_id == therapist_id
            )
        )
    search = search.strip()
    if search:
        pattern = _like_pattern(search.lower())
        statement = statement.where(
            or_(
                func.lower(Couple.label).like(pattern, escape="\\"),
                exists().where(
                    Partner.couple_id == Couple.id,
                    func.lower(Partner.display_name).like(pattern, escape="\\"),
                ),
            )
        )
    page = max(page, 1)
    # The total rides along as a window column: one query for the page and its count.
    rows = db.session.execute(
        statement.add_columns(func.count().over().label("total"))
        .order_by(*SORTS[sort])
        .limit(per_page)
        .offset((page - 1) * per_page)
        .options(
            selectinload(Couple.partners).joinedload(Partner.current_invite),
            selectinload(Couple.therapists),
        )
    ).all()
    if rows:
        total = rows[0].total
    elif page > 1:
        total = db.session.scalar(statement.with_only_columns(func.count()).order_by(None))
    else:
        total = 0
    return CaseloadPage([row.Couple for row in rows], total, page, per_page)


def assignable_therapists() -> list[User]:
    """Active members of the current practice, for the assign and filter lists."""
    return list(db.session.scalars(select(User).where(User.active).order_by(User.name)))


def _check_choice(value: str, choices: dict, field: str, what: str) -> str:
    if value not in choices:
        raise DomainError(f"Choose {what} from the list.", field)
    return value


def _check_partners(partners: list[PartnerDetails]) -> None:
    if len(partners) != 2:
        raise DomainError("A couple has exactly two partners.")
    for index, details in enumerate(partners, start=1):
        if not details.display_name.strip():
            raise DomainError("Enter a name for each partner.", f"partner{index}.display_name")
        _check_choice(details.repair_role, REPAIR_ROLES, f"partner{index}.repair_role", "a role")
        check_time_zone(details.time_zone, f"partner{index}.time_zone")
    roles = (partners[0].repair_role, partners[1].repair_role)
    if roles not in VALID_ROLE_PAIRS:
        raise DomainError(
            "Roles must pair up: one partner who was hurt and one who broke trust, or both mutual.",
            "partner2.repair_role",
        )
    emails = [normalise_email(p.email) for p in partners if p.email and p.email.strip()]
    if len(emails) == 2 and emails[0] == emails[1]:
        raise DomainError("Each partner needs their own email address.", "partner2.email")


def _therapists_by_id(therapist_ids: list[int]) -> list[User]:
    if not therapist_ids:
        raise DomainError("Assign at least one therapist.", "therapist_ids")
    if not all(0 < therapist_id <= MAX_ID for therapist_id in therapist_ids):
        raise DomainError("Choose therapists from the list.", "therapist_ids")
    therapists = list(
        db.session.scalars(select(User).where(User.id.in_(therapist_ids), User.active))
    )
    if len(therapists) != len(set(therapist_ids)):
        raise DomainError("Choose therapists from the list.", "therapist_ids")
    return therapists


def _check_checkin_time(weekday: int | None, hour: int | None) -> None:
    """A couple's own check-in day (0 Monday … 6 Sunday) and hour (0–23), each None for the
    practice's default."""
    if weekday is not None and (type(weekday) is not int or not 0 <= weekday <= 6):
        raise DomainError(
            "Choose a day of the week from the list, or the practice's default.",
            "checkin_weekday",
        )
    if hour is not None and (type(hour) is not int or not 0 <= hour <= 23):
        raise DomainError(
            "Choose an hour from 00:00 to 23:00, or the practice's default.", "checkin_hour"
        )


def create_couple(
    actor: User,
    *,
    label: str,
    presenting_concern: str,
    start_date: date,
    time_zone: str,
    therapist_notes: str,
    partners: list[PartnerDetails],
    therapist_ids: list[int] | None = None,
    checkin_weekday: int | None = None,
    checkin_hour: int | None = None,
) -> Couple:
    """Open a case with its two partners; a therapist who is not the owner is assigned to it.
    Its weekly check-in opens on the practice's day and hour unless given its own."""
    _check_choice(presenting_concern, PRESENTING_CONCERNS, "presenting_concern", "a concern")
    check_time_zone(time_zone)
    _check_checkin_time(checkin_weekday, checkin_hour)
    _check_partners(partners)
    if not label.strip():
        raise DomainError("Give the couple a label, e.g. their first names.", "label")
    # Only the owner assigns; anyone else creating a couple takes it on themselves.
    ids = therapist_ids if actor.is_owner and therapist_ids else [actor.id]
    therapists = _therapists_by_id(ids)
    couple = Couple(
        label=label.strip(),
        presenting_concern=presenting_concern,
        start_date=start_date,
        time_zone=time_zone,
        therapist_notes=therapist_notes.strip(),
        status="active",
        checkin_weekday=checkin_weekday,
        checkin_hour=checkin_hour,
    )
    for position, details in enumerate(partners, start=1):
        couple.partners.append(
            Partner(
                position=position,
                display_name=details.display_name.strip(),
                email=normalise_email(details.email or "") or None,
                repair_role=details.repair_role,
                time_zone=details.time_zone,
            )
        )
    for therapist in therapists:
        couple.assignments.append(CoupleTherapist(user_id=therapist.id))
    db.session.add(couple)
    db.session.flush()
    audit.record("couple.created", actor=actor, target=couple)
    audit.record(
        "couple.assigned",
        actor=actor,
        target=couple,
        details={"added": sorted(t.id for t in therapists), "removed": []},
    )
    return couple


def update_couple(
    actor: User,
    couple: Couple,
    *,
    label: str,
    presenting_concern: str,
    start_date: date,
    time_zone: str,
    therapist_notes: str,
    status: str,
    partners: list[PartnerDetails],
    checkin_weekday: int | None = None,
    checkin_hour: int | None = None,
) -> None:
    """Change a case's details and its partners' details. The check-in day and hour are set
    as given: None (or left out) is the practice's default."""
    if couple.is_closed:
        raise DomainError("Reopen the couple before editing it.")
    _check_choice(presenting_concern, PRESENTING_CONCERNS, "presenting_concern", "a concern")
    if status not in ("active", "paused"):
        raise DomainError("Choose active or paused. To close a case, use Close.", "status")
    check_time_zone(time_zone)
    _check_checkin_time(checkin_weekday, checkin_hour)
    _check_partners(partners)
    if not label.strip():
        raise DomainError("Give the couple a label, e.g. their first names.", "label")
    values = {
        "label": label.strip(),
        "presenting_concern": presenting_concern,
        "start_date": start_date,
        "time_zone": time_zone,
        "therapist_notes": therapist_notes.strip(),
        "checkin_weekday": checkin_weekday,
        "checkin_hour": checkin_hour,
    }
    # The trail names what changed, never the values (some are client text).
    changed = [name for name, value in values.items() if getattr(couple, name) != value]
    for name in changed:
        setattr(couple, name, values[name])
    if couple.status != status:
        audit.record(f"couple.{status}", actor=actor, target=couple)
    couple.status = status
    for partner, details in zip(couple.partners, partners, strict=True):
        new_email = normalise_email(details.email or "") or None
        if partner.email != new_email:
            audit.record("partner.email_changed", actor=actor, target=partner)
        partner.display_name = details.display_name.strip()
        partner.email = new_email
        partner.repair_role = details.repair_role
        partner.time_zone = details.time_zone
    audit.record("couple.updated", actor=actor, target=couple, details={"fields": changed})


def close_couple(actor: User, couple: Couple) -> None:
    """Archive a case: both partners' links and portal sessions end with it."""
    from practice.services.portal_access import revoke_partner_access

    if couple.is_closed:
        return
    couple.status = "closed"
    couple.closed_at = utcnow()
    for partner in couple.partners:
        revoke_partner_access(actor, partner, reason="couple closed")
    audit.record("couple.closed", actor=actor, target=couple)


def reopen_couple(actor: User, couple: Couple) -> None:
    """Bring a closed case back; partners need fresh links. A deletion scheduled for the
    closed case is cancelled: an open case's record is kept."""
    if not couple.is_closed:
        return
    couple.status = "active"
    couple.closed_at = None
    if couple.deletion_due_at is not None:
        couple.deletion_due_at = None
        audit.record("couple.deletion_cancelled", actor=actor, target=couple)
    audit.record("couple.reopened", actor=actor, target=couple)


def assign_therapists(owner: User, couple: Couple, therapist_ids: list[int]) -> None:
    """Set who is assigned to a couple (owner only)."""
    if not owner.is_owner:
        raise NotFound()
    therapists = _therapists_by_id(therapist_ids)
    wanted = {t.id for t in therapists}
    current = {a.user_id: a for a in couple.assignments}
    added = sorted(wanted - current.keys())
    removed = sorted(current.keys() - wanted)
    for user_id in removed:
        couple.assignments.remove(current[user_id])
    for user_id in added:
        couple.assignments.append(CoupleTherapist(user_id=user_id))
    if added or removed:
        audit.record(
            "couple.assigned",
            actor=owner,
            target=couple,
            details={"added": added, "removed": removed},
        )


def recent_audit(couple: Couple, limit: int = 30):
    """The couple's latest audit events, newest first: what was done to the couple's records
    (reading them is in the owner's access log, not here)."""
    from practice.models import AuditEvent

    return list(
        db.session.scalars(
            select(AuditEvent)
            # What was done; who merely looked is in the practice's access log.
            .where(AuditEvent.couple_id == couple.id, AuditEvent.action.not_like("%.viewed"))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
            .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.actor_partner))
        )
    )


def attach_couples(records: list) -> list:
    """Give each record that names a couple (a notice, say) its `couple`, all from one
    statement: a page reading `record.couple` would otherwise query once per record."""
    ids = {record.couple_id for record in records if record.couple_id is not None}
    found = {}
    if ids:
        found = {c.id: c for c in db.session.scalars(select(Couple).where(Couple.id.in_(ids)))}
    for record in records:
        set_committed_value(record, "couple", found.get(record.couple_id))
    return records


def dashboard_summary(user: User, open_couples: int | None = None) -> dict:
    """Counts for the dashboard, and the partners who have not opened their portal yet.
    `open_couples`: the count, when the caller has it (`review.dashboard_counts`)."""
    visible = visible_couples(user).where(Couple.status.in_(STATUS_FILTERS["open"]))
    open_count = (
        open_couples
        if open_couples is not None
        else db.session.scalar(visible.with_only_columns(func.count()).order_by(None))
    )
    waiting = list(
        db.session.scalars(
            select(Partner)
            .where(
                Partner.couple_id.in_(visible.with_only_columns(Couple.id).order_by(None)),
                Partner.joined_at.is_(None),
            )
            .order_by(Partner.created_at, Partner.id)
            .limit(20)
            .options(joinedload(Partner.couple), joinedload(Partner.current_invite))
        ).unique()
    )
    return {"open_couples": open_count, "waiting_partners": waiting}

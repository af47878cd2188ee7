"""The processing window: both partners agree to the same version of the schedule. Every
kind on that path (the connection ritual's plan too) is agreed to this way.

Reopening an agreed schedule ("Propose a change") goes through `joint.propose_change`, with
the kind's hooks (back to a draft, the window's notice)."""

from __future__ import annotations

from sqlalchemy import delete, select

from practice.extensions import db
from practice.homework import get_kind
from practice.homework.workflow import CONFIRMED, WRITABLE, Status
from practice.models import Partner
from practice.models.base import utcnow
from practice.models.homework import HomeworkResponse, JointConfirmation
from practice.services import DomainError, audit
from practice.services.homework import _transition


def _agreed_by_both(response: HomeworkResponse) -> bool:
    """Work each partner agrees to (the path `CONFIRMED`): a schedule, a ritual's plan."""
    return get_kind(response.kind).workflow is CONFIRMED


def confirmations(response: HomeworkResponse) -> dict[int, JointConfirmation]:
    """Confirmations of the current version, by partner id."""
    if not _agreed_by_both(response):
        return {}  # only a plan made together is confirmed (see `confirm`)
    rows = db.session.scalars(
        select(JointConfirmation).where(JointConfirmation.response_id == response.id)
    )
    return {row.partner_id: row for row in rows if row.version == response.version}


def missing(response: HomeworkResponse) -> dict[str, str]:
    """What the saved schedule still needs before anyone can agree to it (empty when ready)."""
    return get_kind(response.kind).check_complete(response.content)


def confirm(partner: Partner, response: HomeworkResponse) -> bool:
    """A partner agrees to the schedule (or plan) as it stands; True once both have."""
    if not _agreed_by_both(response) or response.couple_id != partner.couple_id:
        raise DomainError("Only a plan you make together is agreed to this way.")
    if response.status not in WRITABLE:
        raise DomainError("This schedule is no longer open for changes.")
    gaps = missing(response)
    if gaps:
        raise DomainError(
            get_kind(response.kind).agree_first
            + " Still missing: "
            + " ".join(dict.fromkeys(gaps.values()))
        )
    db.session.execute(
        delete(JointConfirmation).where(
            JointConfirmation.response_id == response.id,
            JointConfirmation.partner_id == partner.id,
        )
    )
    db.session.add(
        JointConfirmation(response_id=response.id, partner_id=partner.id, version=response.version)
    )
    db.session.flush()
    audit.record(
        "homework.window_confirmed",
        actor=partner,
        target=response,
        details={"kind": response.kind},
    )
    confirmed = confirmations(response)
    if all(p.id in confirmed for p in partner.couple.partners):
        _transition(response, Status.CONFIRMED, partner=partner)
        response.submitted_at = utcnow()
        return True
    return False

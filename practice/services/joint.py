"""Joint documents: finalising and signing a repair contract, and reopening signed or agreed
work on purpose ("Propose a change")."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.homework import get_kind
from practice.homework.workflow import SIGNED, WRITABLE, Status
from practice.models import Partner, User
from practice.models.base import utcnow
from practice.models.homework import (
    ContractSignature,
    ContractVersion,
    HomeworkResponse,
    JointConfirmation,
)
from practice.services import DomainError, NotFound, audit, notices
from practice.services.homework import MOVED_ON, _transition

DEFAULT_REVISIT = timedelta(days=30)


# -- repair contract ----------------------------------------------------------------------


def contract_versions(response: HomeworkResponse) -> list[ContractVersion]:
    """The versions marked final, newest first, with their signatures."""
    if get_kind(response.kind).workflow is not SIGNED:
        return []  # only work that both partners sign is ever marked final
    return list(
        db.session.scalars(
            select(ContractVersion)
            .where(ContractVersion.response_id == response.id)
            .order_by(ContractVersion.number.desc())
            .options(joinedload(ContractVersion.signatures))
        ).unique()
    )


def current_contract(response: HomeworkResponse) -> ContractVersion | None:
    versions = contract_versions(response)
    return versions[0] if versions and versions[0].superseded_at is None else None


def finalize_contract(user: User, response: HomeworkResponse) -> ContractVersion:
    """The therapist marks the contract final: a new version, which both partners sign."""
    if get_kind(response.kind).workflow is not SIGNED:
        raise DomainError("Only work that both partners sign is marked final.")
    missing = get_kind(response.kind).check_complete(response.content)
    if missing:
        raise DomainError("The contract is not complete yet: " + " ".join(missing.values()))
    previous = current_contract(response)
    if previous is not None and previous.content == response.content:
        raise DomainError("This version is already final.")
    if previous is not None:
        previous.superseded_at = utcnow()
    number = (contract_versions(response)[0].number + 1) if contract_versions(response) else 1
    revisit = response.content.get("revisit_date") or ""
    version = ContractVersion(
        response_id=response.id,
        number=number,
        content=response.content,
        revisit_date=date.fromisoformat(revisit) if revisit else date.today() + DEFAULT_REVISIT,  # noqa: DTZ011
        finalized_by_id=user.id,
    )
    db.session.add(version)
    if response.status in WRITABLE:
        _transition(response, Status.FINAL, user=user)
        response.submitted_at = utcnow()
    db.session.flush()
    audit.record(
        "homework.contract_finalized", actor=user, target=response, details={"version": number}
    )
    return version


def sign_contract(partner: Partner, response: HomeworkResponse, typed_name: str) -> ContractVersion:
    """A partner signs the current final version with their typed name."""
    version = current_contract(response)
    if version is None or response.couple_id != partner.couple_id:
        raise DomainError("There is no final version to sign yet.")
    if not typed_name.strip():
        raise DomainError("Type your name to sign.", "typed_name")
    if any(s.partner_id == partner.id for s in version.signatures):
        return version
    db.session.add(
        ContractSignature(
            version_id=version.id, partner_id=partner.id, typed_name=typed_name.strip()[:120]
        )
    )
    db.session.flush()
    db.session.expire(version, ["signatures"])
    audit.record(
        "homework.contract_signed",
        actor=partner,
        target=response,
        details={"version": version.number},
    )
    if len(version.signatures) == len(partner.couple.partners) and response.status == Status.FINAL:
        _transition(response, Status.SIGNED, partner=partner)
    return version


# -- a change proposed to signed or agreed work -----------------------------------------------


def propose_change(
    partner: Partner, response: HomeworkResponse, *, partner_link: str, therapist_link: str
) -> None:
    """A partner reopens a signed contract or an agreed schedule on purpose.

    What the couple signed or agreed stops counting: the current final version is superseded
    (its signatures stay on record, attached to it) and agreements to the current version are
    withdrawn. The other partner and the therapists get a notice that says only that a change
    was proposed, and where to look.
    """
    kind = get_kind(response.kind)
    if response.couple_id != partner.couple_id:
        raise NotFound()
    if not kind.may_reopen(response.status):
        raise DomainError(MOVED_ON)
    version = current_contract(response)
    if version is not None:
        version.superseded_at = utcnow()
    db.session.execute(
        delete(JointConfirmation).where(JointConfirmation.response_id == response.id)
    )
    _transition(response, kind.reopen_to, partner=partner)
    response.submitted_at = None  # signed or agreed no longer: no date says it is
    audit.record(
        "homework.change_proposed", actor=partner, target=response, details={"kind": kind.key}
    )
    other = partner.other
    if other is not None:
        notices.notify_partner(other, kind.change_notice, partner_link)
    notices.notify_therapists(partner.couple, kind.change_notice, therapist_link)

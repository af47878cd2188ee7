"""Joint documents: finalising and signing a repair contract."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from practice.extensions import db
from practice.homework import get_kind
from practice.homework.workflow import WRITABLE, Status
from practice.models import Partner, User
from practice.models.base import utcnow
from practice.models.homework import (
    ContractSignature,
    ContractVersion,
    HomeworkResponse,
)
from practice.services import DomainError, audit
from practice.services.homework import _transition

DEFAULT_REVISIT = timedelta(days=30)


# -- repair contract ----------------------------------------------------------------------


def contract_versions(response: HomeworkResponse) -> list[ContractVersion]:
    return list(
        db.session.scalars(
            select(ContractVersion)
            .where(ContractVersion.response_id == response.id)
            .order_by(ContractVersion.number.desc())
        )
    )


def current_contract(response: HomeworkResponse) -> ContractVersion | None:
    versions = contract_versions(response)
    return versions[0] if versions and versions[0].superseded_at is None else None


def finalize_contract(user: User, response: HomeworkResponse) -> ContractVersion:
    """The therapist marks the contract final: a new version, which both partners sign."""
    if response.kind != "repair_contract":
        raise DomainError("Only a repair contract is finalised.")
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

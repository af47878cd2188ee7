"""Agreements in force: merged by the therapist from both partners' boundary proposals.

Each partner answers an agreement in the portal: they accept it, or ask to talk about it,
with an optional note that only the therapist reads. One answer per partner; a new answer
replaces the old one. Taking back an acceptance is explicit ("ask to talk about this
again"): the therapists and the other partner get a content-free notice. A first request to
talk reaches the therapists only, so that a hesitant partner is not pressed at home.

The therapist's merge page shows each proposal with the worksheet coach's notes, whether it
was used in an agreement (`Agreement.merged_from`), and can pre-fill the form from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.homework.base import Finding
from practice.homework.boundaries import DOMAINS, coach_agreement
from practice.homework.workflow import HANDED_IN
from practice.models import Couple, Partner, User
from practice.models.base import utcnow
from practice.models.homework import Agreement, AgreementAcceptance, HomeworkResponse
from practice.services import DomainError, NotFound, audit, notices
from practice.services.couples import STATUS_FILTERS, visible_couples

NOTE_LIMIT = 2000
ACCEPTED, DISCUSS = "accepted", "discuss"


@dataclass
class Proposal:
    """One proposal as it appears on the merge page: whose, what, the coach's notes on it,
    and whether an agreement in force was made from it."""

    response: HomeworkResponse
    index: int
    domain: str
    agreement: str
    time_frame: str
    review_date: str
    findings: list[Finding] = field(default_factory=list)
    used: bool = False

    @property
    def key(self) -> str:
        """How a "Use" link and the form's hidden field name it: "<response id>:<index>"."""
        return f"{self.response.id}:{self.index}"


def proposals_for(couple: Couple, in_force: list[Agreement] | None = None) -> list[Proposal]:
    """Every submitted boundary proposal of the couple, by domain, with the coach's notes.
    `in_force`: the couple's agreements in force, when the caller has them loaded already
    (they say which proposals were used)."""
    responses = db.session.scalars(
        select(HomeworkResponse)
        .where(
            HomeworkResponse.couple_id == couple.id,
            HomeworkResponse.kind == "boundaries",
            HomeworkResponse.status.in_(HANDED_IN),
        )
        .options(joinedload(HomeworkResponse.partner))
    )
    used = merged_keys(couple) if in_force is None else _keys_of(in_force)
    result = []
    for response in responses:
        proposals = (response.content or {}).get("proposals", [])
        for index, item in enumerate(proposals if isinstance(proposals, list) else []):
            if not isinstance(item, dict) or not str(item.get("agreement") or "").strip():
                continue
            domain = item.get("domain") if item.get("domain") in DOMAINS else "other"
            proposal = Proposal(
                response,
                index,
                domain,
                item["agreement"],
                item.get("time_frame") or "",
                item.get("review_date") or "",
            )
            proposal.findings = coach_agreement(
                proposal.agreement, proposal.time_frame, proposal.review_date
            )
            proposal.used = proposal.key in used
            result.append(proposal)
    order = list(DOMAINS)
    return sorted(
        result,
        key=lambda p: (order.index(p.domain), p.response.partner_id or 0, p.response.id, p.index),
    )


def merged_keys(couple: Couple) -> set[str]:
    """The proposals ("<response id>:<index>") that agreements in force were made from."""
    return _merged(
        db.session.scalars(
            select(Agreement.merged_from).where(
                Agreement.couple_id == couple.id, Agreement.retired_at.is_(None)
            )
        )
    )


def _keys_of(in_force: list[Agreement]) -> set[str]:
    return _merged(agreement.merged_from for agreement in in_force)


def _merged(merged_froms) -> set[str]:
    keys: set[str] = set()
    for merged in merged_froms:
        for pair in merged or []:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                keys.add(f"{pair[0]}:{pair[1]}")
    return keys


def parse_keys(value: str | list[str] | None) -> list[str]:
    """Proposal keys from a query string or the hidden field: "12:0,12:3" or a list; in
    order, each once; anything not shaped like a key is dropped."""
    parts = value if isinstance(value, list) else (value or "").split(",")
    keys: list[str] = []
    for part in parts:
        for key in str(part).split(","):
            key = key.strip()
            response_id, _, index = key.partition(":")
            if response_id.isdigit() and index.isdigit() and len(key) <= 24 and key not in keys:
                keys.append(f"{int(response_id)}:{int(index)}")
    return keys[:10]


def chosen_proposals(couple: Couple, keys: list[str]) -> list[Proposal]:
    """The couple's submitted proposals named by `keys`, in that order; DomainError when one
    of them is not (any more) one of this couple's submitted proposals."""
    by_key = {p.key: p for p in proposals_for(couple)}
    missing = [key for key in keys if key not in by_key]
    if missing:
        raise DomainError(
            "A proposal this agreement was made from is no longer available: use it again from "
            "the list, or write the agreement without it.",
            "merged_from",
        )
    return [by_key[key] for key in keys]


@dataclass
class Prefill:
    """What the agreement form starts with when "Use" was chosen on proposals."""

    domain: str
    text: str
    time_frame: str
    review_date: date | None
    merged_from: str


def prefill(
    couple: Couple, keys: list[str], proposals: list[Proposal] | None = None
) -> Prefill | None:
    """The form's starting values from the chosen proposals (None when none is valid): the
    first one's domain, every chosen text (to be merged into one), the first time frame given
    and the earliest review date. `proposals`: `proposals_for(couple)`, when already made."""
    by_key = {p.key: p for p in (proposals_for(couple) if proposals is None else proposals)}
    chosen = [by_key[key] for key in keys if key in by_key]
    if not chosen:
        return None
    texts: list[str] = []
    for p in chosen:
        if p.agreement.strip() not in texts:
            texts.append(p.agreement.strip())
    dates = [d for d in (_date(p.review_date) for p in chosen) if d is not None]
    return Prefill(
        domain=chosen[0].domain,
        text="\n\n".join(texts),
        time_frame=next((p.time_frame.strip() for p in chosen if p.time_frame.strip()), "")[:200],
        review_date=min(dates) if dates else None,
        merged_from=",".join(p.key for p in chosen),
    )


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def agreements_in_force(couple: Couple) -> list[Agreement]:
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.couple_id == couple.id, Agreement.retired_at.is_(None))
            .order_by(Agreement.created_at, Agreement.id)
            .options(joinedload(Agreement.acceptances))
        ).unique()
    )


def add_agreement(
    user: User,
    couple: Couple,
    *,
    domain: str,
    text: str,
    time_frame: str,
    review_date: date | None,
    merged_from: list[str] | None = None,
) -> Agreement:
    """The therapist writes one agreement for the couple (usually merging two proposals).

    `merged_from` names the proposals it was made from ("<response id>:<index>"); each must
    be one of this couple's submitted proposals.
    """
    if domain not in DOMAINS:
        raise DomainError("Choose a domain from the list.", "domain")
    if not text.strip():
        raise DomainError("Write the agreement.", "text")
    if len(text) > 1000:
        raise DomainError("Keep the agreement under 1,000 characters.", "text")
    if len(time_frame) > 200:
        raise DomainError("Keep the time frame under 200 characters.", "time_frame")
    sources = chosen_proposals(couple, merged_from) if merged_from else []
    agreement = Agreement(
        couple_id=couple.id,
        domain=domain,
        text=text.strip(),
        time_frame=time_frame.strip(),
        review_date=review_date,
        created_by_id=user.id,
        merged_from=[[p.response.id, p.index] for p in sources] or None,
    )
    db.session.add(agreement)
    db.session.flush()
    audit.record("agreement.added", actor=user, target=agreement, couple_id=couple.id)
    return agreement


def coach_notes(agreement: Agreement) -> list[Finding]:
    """The worksheet coach's notes on an agreement (computed each time, never stored)."""
    return coach_agreement(agreement.text, agreement.time_frame, agreement.review_date)


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


def answer_of(agreement: Agreement, partner_id: int | None) -> AgreementAcceptance | None:
    """This partner's answer to the agreement, if any."""
    return next((a for a in agreement.acceptances if a.partner_id == partner_id), None)


def _check_partner(partner: Partner, agreement: Agreement) -> AgreementAcceptance | None:
    if agreement.couple_id != partner.couple_id or agreement.retired_at is not None:
        raise NotFound()
    return db.session.scalar(
        select(AgreementAcceptance).where(
            AgreementAcceptance.agreement_id == agreement.id,
            AgreementAcceptance.partner_id == partner.id,
        )
    )


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise DomainError(f"Keep the note under {NOTE_LIMIT:,} characters.", "note")
    return note or None


def accept(partner: Partner, agreement: Agreement, note: str | None = None) -> bool:
    """A partner accepts an agreement in the portal (a note, if any, is for the therapist).

    Accepting again changes nothing; accepting after asking to talk replaces that answer.
    True when the answer changed.
    """
    previous = _check_partner(partner, agreement)
    note = _clean_note(note)
    if previous is not None and previous.accepted and (note is None or note == previous.note):
        return False
    if previous is None:
        db.session.add(
            AgreementAcceptance(
                agreement_id=agreement.id, partner_id=partner.id, decision=ACCEPTED, note=note
            )
        )
    else:
        previous.decision, previous.note, previous.accepted_at = ACCEPTED, note, utcnow()
    db.session.flush()
    db.session.expire(agreement, ["acceptances"])
    audit.record(
        "agreement.accepted", actor=partner, target=agreement, couple_id=agreement.couple_id
    )
    return True


def ask_to_discuss(
    partner: Partner,
    agreement: Agreement,
    note: str | None = None,
    *,
    therapist_link: str,
    partner_link: str,
) -> str:
    """A partner asks to talk about an agreement, with an optional note only the therapist
    reads. What it was: "first" (the therapists get an "agreement.discuss" notice), "again"
    (an acceptance withdrawn: the therapists and the other partner get an
    "agreement.change_proposed" notice) or "note" (already asked; the note is replaced, and
    the therapists are told again only when it changed).

    The notices and the audit trail say only that it happened, never what was written.
    """
    previous = _check_partner(partner, agreement)
    note = _clean_note(note)
    if previous is None:
        db.session.add(
            AgreementAcceptance(
                agreement_id=agreement.id, partner_id=partner.id, decision=DISCUSS, note=note
            )
        )
        outcome = "first"
    elif previous.accepted:
        previous.decision, previous.note, previous.accepted_at = DISCUSS, note, utcnow()
        outcome = "again"
    else:
        changed = note != previous.note
        previous.note, previous.accepted_at = note, utcnow()
        outcome = "note" if changed else "same"
    db.session.flush()
    db.session.expire(agreement, ["acceptances"])
    couple = partner.couple
    if outcome == "first":
        audit.record("agreement.discuss", actor=partner, target=agreement, couple_id=couple.id)
        notices.notify_therapists(couple, "agreement.discuss", therapist_link)
    elif outcome == "again":
        audit.record(
            "agreement.change_proposed", actor=partner, target=agreement, couple_id=couple.id
        )
        notices.notify_therapists(couple, "agreement.change_proposed", therapist_link)
        other = partner.other
        if other is not None:
            notices.notify_partner(other, "agreement.change_proposed", partner_link)
    elif outcome == "note":
        audit.record("agreement.discuss", actor=partner, target=agreement, couple_id=couple.id)
        notices.notify_therapists(couple, "agreement.discuss", therapist_link)
    return "note" if outcome == "same" else outcome


@dataclass
class DueReview:
    """An agreement in force whose review date has come, with its couple."""

    agreement: Agreement
    couple: Couple
    overdue_days: int


def due_for_review(user: User) -> list[DueReview]:
    """Agreements in force whose review date has come (on or before the couple's today),
    across the open couples this therapist sees: oldest review date first. One query."""
    # No time zone is more than a day ahead of UTC: the couple's own today is checked below.
    latest = (datetime.now(ZoneInfo("UTC")) + timedelta(days=1)).date()
    visible = (
        visible_couples(user)
        .where(Couple.status.in_(STATUS_FILTERS["open"]))
        .with_only_columns(Couple.id)
        .order_by(None)
    )
    rows = db.session.execute(
        select(Agreement, Couple)
        .join(Couple, Couple.id == Agreement.couple_id)
        .where(
            Agreement.couple_id.in_(visible),
            Agreement.retired_at.is_(None),
            Agreement.review_date.is_not(None),
            Agreement.review_date <= latest,
        )
        .order_by(Agreement.review_date, Couple.label, Agreement.id)
    ).all()
    due = []
    for agreement, couple in rows:
        today = datetime.now(ZoneInfo(couple.time_zone)).date()
        if agreement.review_date <= today:
            due.append(DueReview(agreement, couple, (today - agreement.review_date).days))
    return due

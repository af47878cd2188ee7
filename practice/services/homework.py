"""Homework: assigning, drafting, submitting and reviewing, with every transition recorded.

A partner's text is saved as it is typed (autosave) and never silently overwritten: each save
names the version it was based on, and a save based on an older version is refused as an
`EditConflict` that carries both texts, for the partner to reconcile.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, inspect, or_, select, update
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from practice.audience import Audience, Content, Viewer, can_see, visible_to_couple
from practice.extensions import db
from practice.homework import KINDS, ContentError, get_kind, workflow
from practice.homework.standing import Facts, Standing
from practice.homework.workflow import WRITABLE, Status
from practice.models import Couple, Partner, User
from practice.models.base import utcnow
from practice.models.homework import (
    MODES,
    Assignment,
    ContractSignature,
    ContractVersion,
    HomeworkComment,
    HomeworkResponse,
    InstructionTemplate,
    JointConfirmation,
    ResponseTransition,
)
from practice.services import DomainError, NotFound, audit, notices

MAX_CONTENT_BYTES = 200_000
MOVED_ON = "This piece of work has moved on since you opened it. Reload the page."
CLOSED_FOR_EDITING = (
    "This is no longer open for changes, so what you typed was not saved. "
    "Talk to your therapist if something needs to change."
)


class EditConflict(DomainError):
    """Someone saved first: both versions go back to the person who saved second."""

    def __init__(self, response: HomeworkResponse, attempted: dict):
        super().__init__("Your partner saved a newer version while you were writing.")
        self.current_content = response.content
        self.current_version = response.version
        self.attempted = attempted


class InvalidContent(DomainError):
    """The content does not fit the kind; `errors` maps field keys to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some of what you sent could not be saved. Nothing was changed.")
        self.errors = errors


class Incomplete(DomainError):
    """Submitting needs these parts first; the draft itself is saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Your draft is saved. A few parts still need writing before you submit.")
        self.errors = errors


# -- assigning ----------------------------------------------------------------------------


def default_instructions(kind_key: str) -> str:
    """The practice's own instructions for a kind, or the kind's built-in ones."""
    template = db.session.scalar(
        select(InstructionTemplate).where(InstructionTemplate.kind == kind_key)
    )
    return template.instructions if template else get_kind(kind_key).default_instructions


def every_default_instructions() -> dict[str, str]:
    """Each kind's instructions, the practice's own where it has them: one statement."""
    own = {
        template.kind: template.instructions
        for template in db.session.scalars(select(InstructionTemplate))
    }
    return {key: own.get(key, kind.default_instructions) for key, kind in KINDS.items()}


def set_default_instructions(owner: User, kind_key: str, instructions: str) -> None:
    """Set the practice's default instructions for a kind (owner only)."""
    if not owner.is_owner:
        raise NotFound()
    get_kind(kind_key)
    template = db.session.scalar(
        select(InstructionTemplate).where(InstructionTemplate.kind == kind_key)
    )
    if template is None:
        db.session.add(InstructionTemplate(kind=kind_key, instructions=instructions.strip()))
    else:
        template.instructions = instructions.strip()
        template.updated_at = utcnow()
    audit.record("homework.instructions_changed", actor=owner, details={"kind": kind_key})


def default_partner(couple: Couple, kind_key: str) -> Partner:
    """Who a one-partner kind goes to by default: the role the method speaks to."""
    role = get_kind(kind_key).default_role
    for partner in couple.partners:
        if partner.repair_role == role:
            return partner
    return couple.partners[0]


def assign(
    actor: User,
    couple: Couple,
    *,
    kind_key: str,
    mode: str,
    instructions: str,
    due_date: date | None,
    partner_id: int | None = None,
) -> Assignment:
    """Assign a kind of homework to a couple and create the pieces of work it asks for."""
    try:
        kind = get_kind(kind_key)
    except LookupError:
        raise DomainError("Choose a kind of homework from the list.", "kind") from None
    if couple.is_closed:
        raise DomainError("Reopen the couple before assigning homework.")
    if mode not in MODES or mode not in kind.allowed_modes:
        raise DomainError(f"{kind.label} can be assigned: {kind.modes_text}.", "mode")
    partners = couple.partners
    if mode == "one":
        chosen = [p for p in partners if p.id == partner_id]
        if not chosen:
            raise DomainError("Choose which partner this is for.", "partner_id")
        authors: list[Partner | None] = chosen
    elif mode == "each":
        authors = list(partners)
    else:
        authors = [None]
    problem = kind.assign_problem([author.repair_role if author else None for author in authors])
    if problem:
        raise DomainError(problem, "mode")
    if due_date is not None and due_date < couple_today(couple):
        raise DomainError("Choose a due date from today on.", "due_date")
    assignment = Assignment(
        couple_id=couple.id,
        kind=kind.key,
        mode=mode,
        instructions=instructions.strip(),
        due_date=due_date,
        created_by_id=actor.id,
    )
    for author in authors:
        assignment.responses.append(
            HomeworkResponse(
                couple_id=couple.id,
                partner_id=author.id if author else None,
                kind=kind.key,
                status=Status.ASSIGNED,
                audience=(Audience.COUPLE if author is None else kind.default_audience).value,
                content=kind.empty_for(author.repair_role if author else None),
                schema_version=kind.schema_version,
            )
        )
    db.session.add(assignment)
    db.session.flush()
    audit.record(
        "homework.assigned",
        actor=actor,
        target=assignment,
        couple_id=couple.id,
        details={"kind": kind.key, "mode": mode},
    )
    return assignment


def couple_today(couple: Couple) -> date:
    return datetime.now(ZoneInfo(couple.time_zone)).date()


def is_overdue(response: HomeworkResponse, today: date) -> bool:
    due = response.assignment.due_date
    return due is not None and due < today and response.status in WRITABLE


# -- loading, with the audience rules ----------------------------------------------------------


def _content_facts(response: HomeworkResponse, all_submitted: bool) -> Content:
    return Content(
        couple_id=response.couple_id,
        audience=Audience(response.audience),
        author_partner_id=response.partner_id,
        submitted=response.status not in WRITABLE or response.partner_id is None,
        all_submitted=all_submitted,
        released=response.released_at is not None,
    )


def _all_submitted(assignment: Assignment) -> bool:
    return all(r.status not in WRITABLE for r in assignment.responses)


def partner_can_see(partner: Partner, response: HomeworkResponse) -> bool:
    viewer = Viewer(couple_id=partner.couple_id, partner_id=partner.id)
    return can_see(viewer, _content_facts(response, _all_submitted(response.assignment)))


def couple_can_see(couple: Couple, response: HomeworkResponse) -> bool:
    """May the piece go in what both partners read together (a couple's summary)?"""
    facts = _content_facts(response, _all_submitted(response.assignment))
    return visible_to_couple(facts, [partner.id for partner in couple.partners])


def partner_can_edit(partner: Partner, response: HomeworkResponse) -> bool:
    """The author (both partners, for a joint piece) may edit it in the states its kind
    allows (`HomeworkKind.may_edit`); which parts of a joint piece are theirs to change is
    the kind's `merge_edit`.

    A repair contract is final once the therapist marks it so: from then on it is read-only
    for both partners, so that the text they sign stays the text they signed.
    """
    mine = response.partner_id == partner.id or (
        response.partner_id is None and response.couple_id == partner.couple_id
    )
    return mine and get_kind(response.kind).may_edit(response.status)


def partner_responses(partner: Partner) -> list[HomeworkResponse]:
    """Every piece of work this partner may see, newest assignment first."""
    responses = db.session.scalars(
        select(HomeworkResponse)
        .join(HomeworkResponse.assignment)
        .where(HomeworkResponse.couple_id == partner.couple_id)
        .order_by(Assignment.created_at.desc(), HomeworkResponse.id)
        .options(
            joinedload(HomeworkResponse.assignment).joinedload(Assignment.responses),
            joinedload(HomeworkResponse.partner),
        )
    ).unique()
    return [r for r in responses if partner_can_see(partner, r)]


def partner_may_see(partner: Partner):
    """The audience rule (`practice.audience.can_see`) for this partner as a SQL condition on a
    piece of their couple's homework: their own; a joint piece unless private; a piece the
    other partner handed in for the couple; a sealed one once every piece of its assignment is
    handed in, and one sealed until released once the therapist has released it too.
    tests/services/test_homework_visibility.py holds it to `can_see` for every
    combination of author, audience, status and siblings."""
    sibling = aliased(HomeworkResponse)
    writable = [status.value for status in WRITABLE]
    handed_in = HomeworkResponse.status.not_in(writable)
    return or_(
        HomeworkResponse.partner_id == partner.id,
        and_(
            HomeworkResponse.partner_id.is_(None),
            HomeworkResponse.audience != "private",
            or_(
                HomeworkResponse.audience != "sealed_until_released",
                HomeworkResponse.released_at.is_not(None),
            ),
        ),
        and_(HomeworkResponse.audience == "couple", handed_in),
        and_(
            HomeworkResponse.audience.in_(["sealed", "sealed_until_released"]),
            handed_in,
            or_(
                HomeworkResponse.audience == "sealed",
                HomeworkResponse.released_at.is_not(None),
            ),
            ~exists().where(
                sibling.assignment_id == HomeworkResponse.assignment_id,
                sibling.status.in_(writable),
            ),
        ),
    )


def get_partner_response(partner: Partner, public_id: str) -> HomeworkResponse:
    """A piece of work the partner may see, by its public id, or NotFound (existence included).

    The audience rule is part of the statement, so "not found" is the same work whatever its
    reason: the other partner's private draft and an id that names nothing both come back as
    no row from the same statement, and nothing of the hidden piece is loaded.
    """
    response = db.session.scalar(
        select(HomeworkResponse)
        .where(
            HomeworkResponse.public_id == public_id,
            HomeworkResponse.couple_id == partner.couple_id,
            partner_may_see(partner),
        )
        .options(
            # What seeing it and its page need: the other pieces of the same assignment, and
            # who wrote it.
            joinedload(HomeworkResponse.assignment).joinedload(Assignment.responses),
            joinedload(HomeworkResponse.partner),
        )
    )
    # The rule in Python too, from the loaded piece: the two never disagree (tested), and if
    # they did the answer would be the safe one.
    if response is None or not partner_can_see(partner, response):
        raise NotFound()
    # The couple is the partner's own (the statement asks for it): no query to find it again.
    set_committed_value(response.assignment, "couple", partner.couple)
    return response


def get_therapist_response(user: User, couple: Couple, response_id: int) -> HomeworkResponse:
    response = (
        db.session.execute(
            select(HomeworkResponse)
            .where(HomeworkResponse.id == response_id, HomeworkResponse.couple_id == couple.id)
            .options(
                # What its pages show: the assignment, who gave it, the couple, the author,
                # and the therapists' comments with who wrote them.
                joinedload(HomeworkResponse.assignment).joinedload(Assignment.couple),
                joinedload(HomeworkResponse.assignment).joinedload(Assignment.created_by),
                joinedload(HomeworkResponse.partner),
                joinedload(HomeworkResponse.comments).joinedload(HomeworkComment.author),
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    if response is None:
        raise NotFound()
    return response


def couple_assignments(couple: Couple) -> list[Assignment]:
    """The couple's assignments, newest first, with their pieces of work and their authors:
    one statement. Each piece knows its assignment and the assignment its couple, with no
    further query."""
    assignments = list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.couple_id == couple.id)
            .order_by(Assignment.created_at.desc())
            .options(joinedload(Assignment.responses).joinedload(HomeworkResponse.partner))
        ).unique()
    )
    for assignment in assignments:
        set_committed_value(assignment, "couple", couple)
        for response in assignment.responses:
            set_committed_value(response, "assignment", assignment)
    return assignments


# -- writing -----------------------------------------------------------------------------------


def _transition(
    response: HomeworkResponse,
    to: Status,
    *,
    user: User | None = None,
    partner: Partner | None = None,
) -> None:
    """Move the work to `to`, if its kind's path allows it from where it is now, and record
    who moved it. A page opened before someone else moved it gets a plain message."""
    if not get_kind(response.kind).workflow.allows(Status(response.status), to):
        raise DomainError(MOVED_ON)
    db.session.add(
        ResponseTransition(
            response_id=response.id,
            from_status=response.status,
            to_status=to,
            actor_user_id=user.id if user else None,
            actor_partner_id=partner.id if partner else None,
        )
    )
    response.status = to


def clean_content(response: HomeworkResponse, content: object) -> dict:
    kind = get_kind(response.kind)
    try:
        return kind.clean(content)
    except ContentError as error:
        raise InvalidContent(error.errors) from None


def save_draft(
    partner: Partner, response: HomeworkResponse, *, content: object, base_version: int
) -> HomeworkResponse:
    """Save what the partner typed, if nobody saved since `base_version`."""
    if not partner_can_edit(partner, response):
        if response.partner_id not in (None, partner.id):
            raise NotFound()
        raise DomainError(CLOSED_FOR_EDITING)
    if isinstance(content, dict):
        # A part that belongs to the other partner stays as they left it; a piece whose shape
        # was fixed when it was assigned keeps it.
        content = get_kind(response.kind).merge_edit(
            response.content, content, position=partner.position
        )
    cleaned = clean_content(response, content)
    if base_version != response.version:
        raise EditConflict(response, cleaned)
    now = utcnow()
    saved = db.session.execute(
        update(HomeworkResponse)
        .where(
            HomeworkResponse.id == response.id,
            HomeworkResponse.version == base_version,
            # Handed in (a contract made final) between our read and our write: not saved.
            HomeworkResponse.status.in_(WRITABLE),
        )
        .values(
            content=cleaned,
            version=base_version + 1,
            last_saved_at=now,
            last_saved_by_partner_id=partner.id,
            **dict(
                zip(
                    ("coach_flags", "coach_missing"),
                    get_kind(response.kind).coach_counts(cleaned),
                    strict=True,
                )
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if saved != 1:  # another save or a hand-in won the race between our read and our write
        db.session.refresh(response)
        if response.status not in WRITABLE:
            raise DomainError(CLOSED_FOR_EDITING)
        raise EditConflict(response, cleaned)
    db.session.refresh(response)
    if response.status == Status.ASSIGNED:
        _transition(response, Status.DRAFT, partner=partner)
    return response


def submit(
    partner: Partner, response: HomeworkResponse, *, content: object, base_version: int
) -> HomeworkResponse:
    """Save and hand in. Incomplete work is saved as a draft and the gaps are named."""
    save_draft(partner, response, content=content, base_version=base_version)
    kind = get_kind(response.kind)
    missing = kind.check_complete(response.content)
    if missing:
        raise Incomplete(missing)
    if kind.hand_in_label is None:  # finished together, by signing or agreeing
        raise DomainError(f"Your draft is saved. {kind.write_hint}")
    _transition(response, Status.SUBMITTED, partner=partner)
    response.submitted_at = utcnow()
    audit.record(
        "homework.submitted", actor=partner, target=response, details={"kind": response.kind}
    )
    return response


def return_for_revision(user: User, response: HomeworkResponse, comment: str) -> None:
    """Send submitted work back to its author with the therapist's comments."""
    if not comment.strip():
        raise DomainError("Say what to revise: the partner sees this comment.", "comment")
    if is_released_hold(response):
        raise DomainError(
            "Both partners have read this part since you released it, so it is kept as they "
            "read it. Assign a new preparation for anything to add."
        )
    _transition(response, Status.RETURNED, user=user)
    db.session.add(
        HomeworkComment(response_id=response.id, author_user_id=user.id, body=comment.strip())
    )
    db.session.flush()
    db.session.expire(response, ["comments"])
    audit.record("homework.returned", actor=user, target=response, details={"kind": response.kind})


def mark_reviewed(user: User, response: HomeworkResponse) -> None:
    _transition(response, Status.REVIEWED, user=user)
    response.reviewed_at = utcnow()
    audit.record("homework.reviewed", actor=user, target=response, details={"kind": response.kind})


def mark_completed(user: User, response: HomeworkResponse) -> None:
    _transition(response, Status.COMPLETED, user=user)
    response.completed_at = utcnow()
    audit.record("homework.completed", actor=user, target=response, details={"kind": response.kind})


def release(user: User, response: HomeworkResponse) -> None:
    """Share a private piece of work with the couple: an explicit, audited act. Parts held
    until released are released together, once every part is handed in."""
    if response.audience == Audience.SEALED_UNTIL_RELEASED.value:
        release_held(user, response.assignment)
        return
    if response.audience == Audience.COUPLE.value:
        return
    if response.status in WRITABLE:
        raise DomainError("Release it once it has been submitted.")
    response.audience = Audience.COUPLE.value
    response.released_at = utcnow()
    audit.record("homework.released", actor=user, target=response, details={"kind": response.kind})
    for partner in response.assignment.couple.partners:
        if partner.id != response.partner_id:
            _tell_ready_to_read(partner, response)


def release_held(user: User, assignment: Assignment) -> None:
    """Open the parts of an assignment held until released (the truth conversation) to both
    partners, all at once: each partner may read the other's part from now on. Refused until
    every part is handed in; releasing again changes nothing."""
    pieces = assignment.responses
    if any(piece.status in WRITABLE for piece in pieces):
        raise DomainError("Release the parts once both partners have handed theirs in.")
    now = utcnow()
    newly = [piece for piece in pieces if piece.released_at is None]
    for piece in newly:
        piece.released_at = now
        audit.record("homework.released", actor=user, target=piece, details={"kind": piece.kind})
    # Each partner hears that the other's part is there to read, and nothing more.
    for piece in newly:
        for partner in assignment.couple.partners:
            if partner.id != piece.partner_id:
                _tell_ready_to_read(partner, piece)


def _tell_ready_to_read(partner: Partner, response: HomeworkResponse) -> None:
    """A content-free notice: something is there to read, when they feel ready."""
    notices.notify_partner(partner, "homework.released", f"/portal/homework/{response.public_id}")


def can_release(response: HomeworkResponse) -> bool:
    """Whether releasing applies now: to a private piece once handed in; to parts held until
    released once every part is in, and only once."""
    if response.audience == Audience.PRIVATE.value:
        return response.status not in WRITABLE
    if response.audience == Audience.SEALED_UNTIL_RELEASED.value:
        return response.released_at is None and _all_submitted(response.assignment)
    return False


def is_released_hold(response: HomeworkResponse) -> bool:
    """A part held until released that the therapist has released: what both partners have
    read stays as they read it, so it is not returned for revision any more."""
    return (
        response.audience == Audience.SEALED_UNTIL_RELEASED.value
        and response.released_at is not None
    )


# -- where work stands, for whoever looks ------------------------------------------------------


def _local_day(value: datetime | None, zone: str) -> date | None:
    return value.astimezone(ZoneInfo(zone)).date() if value else None


def standings(
    responses: list[HomeworkResponse], *, partner: Partner | None = None
) -> dict[int, Standing]:
    """Where each piece of work stands for `partner` (or, with None, for the therapist), by
    response id: who acts next, in words, and the portal section. A fixed number of queries."""
    if not responses:
        return {}
    confirmed: dict[int, dict[int, tuple[int, datetime]]] = {}
    signed: dict[int, dict[int, datetime]] = {}
    returned_by: dict[int, tuple[int, str]] = {}
    joint_ids = [r.id for r in responses if r.is_joint]
    returned = [r.id for r in responses if r.status == Status.RETURNED]
    if joint_ids or returned:
        # One statement for what only some pieces have: the agreements to a joint piece's
        # version, the signatures on its current contract version, and who returned a piece.
        rows = db.session.execute(
            select(
                HomeworkResponse.id,
                JointConfirmation.partner_id,
                JointConfirmation.version,
                JointConfirmation.confirmed_at,
                ContractVersion.id,
                ContractSignature.partner_id,
                ContractSignature.signed_at,
                HomeworkComment.id,
                User.name,
            )
            .select_from(HomeworkResponse)
            .outerjoin(
                JointConfirmation,
                and_(
                    JointConfirmation.response_id == HomeworkResponse.id,
                    HomeworkResponse.id.in_(joint_ids),
                ),
            )
            .outerjoin(
                ContractVersion,
                and_(
                    ContractVersion.response_id == HomeworkResponse.id,
                    ContractVersion.superseded_at.is_(None),
                    HomeworkResponse.id.in_(joint_ids),
                ),
            )
            .outerjoin(ContractSignature, ContractSignature.version_id == ContractVersion.id)
            .outerjoin(
                HomeworkComment,
                and_(
                    HomeworkComment.response_id == HomeworkResponse.id,
                    HomeworkResponse.id.in_(returned),
                ),
            )
            .outerjoin(User, User.id == HomeworkComment.author_user_id)
            .where(HomeworkResponse.id.in_(joint_ids + returned))
            # Agreements and signatures in the order they were given: names are listed so.
            .order_by(
                HomeworkResponse.id,
                JointConfirmation.id,
                ContractSignature.signed_at,
                ContractSignature.id,
                HomeworkComment.id,
            )
        )
        for (
            rid,
            agreer,
            agreed_version,
            agreed_at,
            version_id,
            signer,
            signed_at,
            comment,
            author,
        ) in rows:
            if agreer is not None:
                confirmed.setdefault(rid, {})[agreer] = (agreed_version, agreed_at)
            if version_id is not None:
                signatures = signed.setdefault(rid, {})
                if signer is not None:
                    signatures[signer] = signed_at
            if comment is not None and comment > returned_by.get(rid, (0, ""))[0]:
                returned_by[rid] = (comment, author)
    couples = _couples_with_partners({r.couple_id for r in responses})
    result = {}
    for response in responses:
        couple = couples[response.couple_id]
        names = {p.id: p.display_name for p in couple.partners}
        other = partner.other if partner is not None else None
        agreed = {
            pid: at
            for pid, (version, at) in confirmed.get(response.id, {}).items()
            if version == response.version
        }
        signatures = signed.get(response.id, {})
        kind = get_kind(response.kind)
        done_at = max((signatures or agreed or {0: None}).values(), default=None)
        held = response.audience == Audience.SEALED_UNTIL_RELEASED.value
        facts = Facts(
            status=Status(response.status),
            workflow=kind.workflow,
            shared=response.audience != Audience.PRIVATE.value
            and (held is False or response.released_at is not None),
            viewer_is_partner=partner is not None,
            viewer_is_author=partner is not None
            and (response.partner_id is None or response.partner_id == partner.id),
            joint=response.is_joint,
            author_name=names.get(response.partner_id, "") if response.partner_id else "",
            other_name=other.display_name if other is not None else "",
            partner_names=tuple(names.values()),
            released=response.released_at is not None,
            last_saved_on=_local_day(response.last_saved_at, couple.time_zone),
            handed_in_on=_local_day(response.submitted_at, couple.time_zone),
            reviewed_on=_local_day(response.reviewed_at, couple.time_zone),
            done_on=_local_day(done_at, couple.time_zone) if done_at else None,
            returned_by=returned_by.get(response.id, (0, ""))[1],
            signed_by_viewer=partner is not None and partner.id in signatures,
            signed_by_other=other is not None and other.id in signatures,
            signers=tuple(names[pid] for pid in signatures if pid in names),
            agreed_by_viewer=partner is not None and partner.id in agreed,
            agreed_by_other=other is not None and other.id in agreed,
            agreed=tuple(names[pid] for pid in agreed if pid in names),
            has_final_version=response.id in signed,
            all_handed_in=held and _all_submitted(response.assignment),
            released_on=_local_day(response.released_at, couple.time_zone),
        )
        result[response.id] = kind.standing(facts)
    return result


def _couples_with_partners(couple_ids: set[int]) -> dict[int, Couple]:
    """The couples by id, with their partners: those the session holds already, the rest in
    one statement."""
    couples = {}
    for couple_id in couple_ids:
        couple = db.session.identity_map.get(identity_key(Couple, couple_id))
        if couple is not None and not {"partners", "time_zone"} & inspect(couple).unloaded:
            couples[couple_id] = couple
    missing = couple_ids - couples.keys()
    if missing:
        for couple in db.session.scalars(
            select(Couple).where(Couple.id.in_(missing)).options(joinedload(Couple.partners))
        ).unique():
            couples[couple.id] = couple
    return couples


def standing(response: HomeworkResponse, *, partner: Partner | None = None) -> Standing:
    return standings([response], partner=partner)[response.id]


def moves(response: HomeworkResponse) -> frozenset[Status]:
    """The statuses this work can move to next, by its kind's path: what a page may offer."""
    return workflow.next_statuses(get_kind(response.kind).workflow, response.status)


def transitions(response: HomeworkResponse) -> list[ResponseTransition]:
    return list(
        db.session.scalars(
            select(ResponseTransition)
            .where(ResponseTransition.response_id == response.id)
            .order_by(ResponseTransition.at, ResponseTransition.id)
        )
    )

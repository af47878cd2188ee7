"""What needs the therapist: the review queue, the dashboard's attention list, the caseload's
"needs you" counts, and what a review page offers. Each list answers in a fixed number of
statements, whatever the caseload: the coach's counts are the ones stored with each save
(`coach_flags`, `coach_missing`), so no list runs a coach or loads the text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    String,
    and_,
    case,
    cast,
    false,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload, load_only

from practice.checkins.status import CheckinStatus
from practice.extensions import db
from practice.homework import KINDS, HomeworkKind, get_kind
from practice.homework.standing import Section
from practice.homework.workflow import AWAITING_THERAPIST, WRITABLE, Status
from practice.models import Couple, CoupleTherapist, Partner, Practice, TherapistInvitation, User
from practice.models.base import utcnow
from practice.models.checkin import Checkin, SafetyFlag
from practice.models.homework import (
    Agreement,
    Assignment,
    ContractVersion,
    HomeworkComment,
    HomeworkResponse,
    ResponseTransition,
)
from practice.services import homework as homework_service
from practice.services.couples import STATUS_FILTERS

# -- the review queue ----------------------------------------------------------------------------


def review_kinds() -> list[HomeworkKind]:
    """The kinds whose handed-in work waits for the therapist (a confirmed window and a signed
    contract close themselves, so they never wait)."""
    return [
        kind
        for kind in KINDS.values()
        if kind.needs_review and AWAITING_THERAPIST & kind.workflow.statuses
    ]


def _waiting():
    """Handed-in work that waits for the therapist: the one definition of 'to review'."""
    return and_(
        HomeworkResponse.status.in_(AWAITING_THERAPIST),
        HomeworkResponse.kind.in_([kind.key for kind in review_kinds()]),
    )


def _couples_of(therapist_id: int):
    return select(CoupleTherapist.couple_id).where(CoupleTherapist.user_id == therapist_id)


def _visible(user: User, couple_id):
    """`couple_id` (a column) names a couple this user sees: `couples.visible_couples`, as a
    condition on the column itself. The owner sees every couple of the practice, and the guard
    keeps every row to the practice already; a therapist, the couples assigned to them (looked
    up by the assignment, not through the couples: no loop over the practice's couples)."""
    if user.is_owner:
        return true()
    return couple_id.in_(_couples_of(user.id))


QUEUE_PAGE_SIZE = 50


def _queue_filters(therapist_id: int | None, kind: str | None):
    """The filters' own conditions (None: no such filter)."""
    therapist_match = (
        HomeworkResponse.couple_id.in_(_couples_of(therapist_id))
        if therapist_id is not None
        else None
    )
    kind_match = HomeworkResponse.kind == kind if kind is not None else None
    return therapist_match, kind_match


def _key_of(response_id: int):
    """The queue's order key of a piece, (handed in, id), as a scalar subquery on the time: the
    page links name a piece by its id, never by a time to parse."""
    cursor = aliased(HomeworkResponse)
    return select(cursor.submitted_at).where(cursor.id == response_id).scalar_subquery()


def _before_key(response_id: int, *, or_at: bool = False):
    """Ordered before the piece `response_id` in the queue (or the piece itself, `or_at`)."""
    at = _key_of(response_id)
    return or_(
        HomeworkResponse.submitted_at < at,
        and_(
            HomeworkResponse.submitted_at == at,
            HomeworkResponse.id <= response_id if or_at else HomeworkResponse.id < response_id,
        ),
    )


def _after_key(response_id: int):
    at = _key_of(response_id)
    return or_(
        HomeworkResponse.submitted_at > at,
        and_(HomeworkResponse.submitted_at == at, HomeworkResponse.id > response_id),
    )


def review_queue(
    user: User,
    *,
    therapist_id: int | None = None,
    kind: str | None = None,
    after: int | None = None,
    before: int | None = None,
    limit: int | None = None,
) -> list[HomeworkResponse]:
    """Work waiting for review across the couples this user sees, oldest first; narrowed to
    the couples of one therapist of the practice and to one kind, when asked.

    Paged by keyset on (handed in, id): `after` a piece, the `limit` that follow it; `before`
    a piece, the `limit` just before it (still oldest first). The content is never loaded (a
    list shows the coach's stored counts): reading it raises instead of a query per row.
    """
    statement = (
        select(HomeworkResponse)
        .where(_waiting(), _visible(user, HomeworkResponse.couple_id))
        .options(
            load_only(
                HomeworkResponse.id,
                # The tenancy guard checks each loaded row's practice.
                HomeworkResponse.practice_id,
                HomeworkResponse.assignment_id,
                HomeworkResponse.couple_id,
                HomeworkResponse.partner_id,
                HomeworkResponse.kind,
                HomeworkResponse.status,
                HomeworkResponse.submitted_at,
                HomeworkResponse.coach_flags,
                HomeworkResponse.coach_missing,
                raiseload=True,
            ),
            joinedload(HomeworkResponse.assignment)
            .load_only(Assignment.practice_id, Assignment.couple_id, Assignment.due_date)
            .joinedload(Assignment.couple),
            joinedload(HomeworkResponse.partner),
        )
    )
    therapist_match, kind_match = _queue_filters(therapist_id, kind)
    if therapist_match is not None:
        statement = statement.where(therapist_match)
    if kind_match is not None:
        statement = statement.where(kind_match)
    backwards = before is not None
    if backwards:
        statement = statement.where(_before_key(before)).order_by(
            HomeworkResponse.submitted_at.desc(), HomeworkResponse.id.desc()
        )
    else:
        if after is not None:
            statement = statement.where(_after_key(after))
        statement = statement.order_by(HomeworkResponse.submitted_at, HomeworkResponse.id)
    if limit is not None:
        statement = statement.limit(limit)
    rows = list(db.session.scalars(statement))
    return rows[::-1] if backwards else rows


def waiting_count(user: User) -> int:
    """How many pieces wait for review: the queue's own definition, counted."""
    return db.session.scalar(
        select(func.count())
        .select_from(HomeworkResponse)
        .where(_waiting(), _visible(user, HomeworkResponse.couple_id))
    )


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue: the work, and what the coach found in it, counted (never shown):
    the counts stored with the last save, so no coach runs for a list."""

    response: HomeworkResponse
    kind: HomeworkKind
    flags: int
    missing: int
    late: bool


def handed_in_late(response: HomeworkResponse) -> bool:
    """Handed in after its due day, as the day goes where the couple lives."""
    due = response.assignment.due_date
    if due is None or response.submitted_at is None:
        return False
    zone = ZoneInfo(response.assignment.couple.time_zone)
    return response.submitted_at.astimezone(zone).date() > due


def queue_items(responses: list[HomeworkResponse]) -> list[QueueItem]:
    return [
        QueueItem(
            response,
            get_kind(response.kind),
            response.coach_flags,
            response.coach_missing,
            handed_in_late(response),
        )
        for response in responses
    ]


@dataclass(frozen=True)
class QueueWithoutFilters:
    """How much would wait with no filter, with the therapist filter only, with the kind only:
    what an empty, filtered queue says emptied it."""

    everything: int
    therapist_only: int
    kind_only: int


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue: its rows, how many wait with these filters in all, where the
    page starts among them (0 for the first), and the counts without the filters."""

    items: list[QueueItem]
    total: int
    start: int
    without_filters: QueueWithoutFilters

    @property
    def first(self) -> int:
        """The position of the first row shown, counted from 1 (0 when there is none)."""
        return self.start + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.start + len(self.items)

    @property
    def earlier(self) -> int | None:
        """The id to page back from (the first row shown), when anything waits before it."""
        return self.items[0].response.id if self.items and self.start > 0 else None

    @property
    def later(self) -> int | None:
        """The id to page on from (the last row shown), when anything waits after it."""
        return self.items[-1].response.id if self.items and self.last < self.total else None


def _queue_counts(
    user: User,
    *,
    therapist_id: int | None,
    kind: str | None,
    after: int | None = None,
    before: int | None = None,
) -> tuple[int, int, QueueWithoutFilters]:
    """In one statement: how many wait with the filters, how many of them come before the
    page (the cursor's key), and how many without each filter."""
    therapist_match, kind_match = _queue_filters(therapist_id, kind)
    both = and_(
        therapist_match if therapist_match is not None else true(),
        kind_match if kind_match is not None else true(),
    )
    if after is not None:
        ahead = and_(both, _before_key(after, or_at=True))
    elif before is not None:
        ahead = and_(both, _before_key(before))
    else:
        ahead = false()
    row = db.session.execute(
        select(
            func.count(case((both, 1))),
            func.count(case((ahead, 1))),
            func.count(),
            func.count(case((therapist_match, 1))) if therapist_match is not None else func.count(),
            func.count(case((kind_match, 1))) if kind_match is not None else func.count(),
        )
        .select_from(HomeworkResponse)
        .where(_waiting(), _visible(user, HomeworkResponse.couple_id))
    ).one()
    total, ahead_count, *without = row
    return total, ahead_count, QueueWithoutFilters(*without)


def queue_page(
    user: User,
    *,
    therapist_id: int | None = None,
    kind: str | None = None,
    after: int | None = None,
    before: int | None = None,
    size: int = QUEUE_PAGE_SIZE,
) -> QueuePage:
    """A page of the review queue, oldest first, `size` rows after (or before) a piece: two
    statements whatever the practice's size (one when nothing waits with these filters)."""
    total, ahead, without = _queue_counts(
        user, therapist_id=therapist_id, kind=kind, after=after, before=before
    )
    responses = []
    if total:
        responses = review_queue(
            user, therapist_id=therapist_id, kind=kind, after=after, before=before, limit=size
        )
    # Paging back lands on the rows just before the cursor: the page starts that many earlier.
    start = max(ahead - len(responses), 0) if before is not None else ahead
    return QueuePage(queue_items(responses), total, start, without)


def queue_without_filters(
    user: User, *, therapist_id: int | None, kind: str | None
) -> QueueWithoutFilters:
    """Counts for an empty, filtered queue: one statement."""
    return _queue_counts(user, therapist_id=therapist_id, kind=kind)[2]


@dataclass(frozen=True)
class CheckinWaiting:
    """A line above the homework in the review queue: a couple's safety answers to address,
    or its check-ins handed in and not yet read (`count` of them over `weeks` weeks, the oldest
    unread week first)."""

    safety: bool
    couple_id: int
    label: str
    week_of: date | None
    weeks: int
    count: int
    since: datetime


def checkins_waiting(
    user: User, *, therapist_id: int | None = None, limit: int = QUEUE_PAGE_SIZE
) -> list[CheckinWaiting]:
    """Per couple: safety answers not yet addressed (first), then check-ins handed in and not
    yet read, oldest first, for the couples this user sees (and the therapist filter): two
    statements, both bounded."""

    def match(column):
        condition = _visible(user, column)
        if therapist_id is not None:
            condition = and_(condition, column.in_(_couples_of(therapist_id)))
        return condition

    flags = (
        select(
            literal(0).label("rank"),
            SafetyFlag.couple_id.label("couple_id"),
            cast(null(), Date).label("week_of"),
            literal(0).label("weeks"),
            func.count().label("n"),
            func.min(SafetyFlag.raised_at).label("since"),
        )
        .where(SafetyFlag.addressed_at.is_(None), match(SafetyFlag.couple_id))
        .group_by(SafetyFlag.couple_id)
    )
    # The couples with the oldest unread check-ins, read from the status index and cut off
    # early; then every unread check-in of those couples is counted (their ids as a plain
    # list: see needs_you_today).
    oldest = sorted(
        set(
            db.session.scalars(
                select(Checkin.couple_id)
                .where(Checkin.status == CheckinStatus.SUBMITTED, match(Checkin.couple_id))
                .order_by(Checkin.submitted_at)
                .limit(limit * 4)
            )
        )
    )
    unread = (
        select(
            literal(1).label("rank"),
            Checkin.couple_id.label("couple_id"),
            func.min(Checkin.week_of).label("week_of"),
            func.count(Checkin.week_of.distinct()).label("weeks"),
            func.count().label("n"),
            func.min(Checkin.submitted_at).label("since"),
        )
        .where(Checkin.status == CheckinStatus.SUBMITTED, Checkin.couple_id.in_(oldest))
        .group_by(Checkin.couple_id)
    )
    waiting = union_all(flags, unread).subquery()
    # The label is looked up per row found, never joined to the union (see needs_you_today).
    label = select(Couple.label).where(Couple.id == waiting.c.couple_id).scalar_subquery()
    rows = db.session.execute(
        select(waiting, label)
        .order_by(waiting.c.rank, waiting.c.since, waiting.c.couple_id)
        .limit(limit)
    ).all()
    return [
        CheckinWaiting(rank == 0, couple_id, label, week_of, weeks, count, since)
        for rank, couple_id, week_of, weeks, count, since, label in rows
    ]


# -- the dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardCounts:
    """The dashboard's numbers, and the time zones its day-by-day lists need."""

    team_size: int
    open_invitations: int
    open_couples: int
    waiting_review: int
    # Safety answers that raised a flag nobody has addressed yet (therapists only).
    open_safety_flags: int
    # The time zones of the couples this user sees: "today" differs between them.
    zones: tuple[str, ...]


def dashboard_counts(user: User) -> DashboardCounts:
    """Every number on the dashboard, and its couples' time zones: one statement (one row per
    time zone, the counts repeated; one row with no zone when the user sees no couple)."""
    zones = select(Couple.time_zone).where(_visible(user, Couple.id)).distinct().subquery()
    rows = db.session.execute(
        select(
            select(func.count()).select_from(User).where(User.active).scalar_subquery(),
            select(func.count())
            .select_from(TherapistInvitation)
            .where(
                TherapistInvitation.accepted_at.is_(None), TherapistInvitation.revoked_at.is_(None)
            )
            .scalar_subquery(),
            select(func.count())
            .select_from(Couple)
            .where(_visible(user, Couple.id), Couple.status.in_(STATUS_FILTERS["open"]))
            .scalar_subquery(),
            select(func.count())
            .select_from(HomeworkResponse)
            .where(_waiting(), _visible(user, HomeworkResponse.couple_id))
            .scalar_subquery(),
            select(func.count())
            .select_from(SafetyFlag)
            .where(SafetyFlag.addressed_at.is_(None), _visible(user, SafetyFlag.couple_id))
            .scalar_subquery(),
            zones.c.time_zone,
        )
        # The practice itself (the guard keeps it to the current one): always one row.
        .select_from(Practice)
        .outerjoin(zones, true())
    ).all()
    team_size, open_invitations, open_couples, waiting_review, open_flags, _ = rows[0]
    return DashboardCounts(
        team_size,
        open_invitations,
        open_couples,
        waiting_review,
        open_flags,
        tuple(sorted(row[-1] for row in rows if row[-1] is not None)),
    )


def _before_the_couples_today(column, zones, *, or_on: bool = False):
    """`column` (a date) before each couple's own today, or on it with `or_on`.

    A due date is a day where the couple lives: work due on Monday in Auckland is late hours
    before it is late in Honolulu, and the dashboard agrees with each couple's page.
    """
    each_zone = []
    for zone in zones:
        today = datetime.now(ZoneInfo(zone)).date()
        each_zone.append(
            and_(Couple.time_zone == zone, column <= today if or_on else column < today)
        )
    return or_(*each_zone) if each_zone else false()


# -- what needs the therapist today: the dashboard and the caseload's column ------------------

# A partner in the portal whose latest handed-in check-in is this old has missed at least the
# two weeks before this one (this week's may still be open).
MISSED_AFTER = timedelta(days=21)
# Falling markers count while the check-in that showed them is recent.
FALLING_FOR = timedelta(days=14)
# The order a therapist reads them in: safety first, then signs that a couple is slipping.
REASONS = (
    "safety",
    "falling",
    "missed",
    "checkins",
    "overdue",
    "revisit",
    "agreement_review",
    "to_review",
    "flagged",
)


@dataclass(frozen=True)
class NeedsYou:
    """What of one couple needs the therapist today: safety answers to address, markers
    falling three weeks running and check-ins stopped (by partner), check-ins to read, overdue
    homework, contract revisits and agreement reviews due, homework to review (and how much of
    it the coach flagged). Dates are the earliest of each."""

    safety: int = 0
    falling: tuple[tuple[str, int], ...] = ()  # (partner, how many markers)
    missed: tuple[tuple[str, date], ...] = ()  # (partner, week of the latest check-in)
    checkins: int = 0
    overdue: int = 0
    overdue_since: date | None = None
    revisit: int = 0
    revisit_on: date | None = None
    agreement_review: int = 0
    agreement_review_on: date | None = None
    to_review: int = 0
    flagged: int = 0

    def __bool__(self) -> bool:
        return any(getattr(self, key) for key in REASONS)

    @property
    def urgent(self) -> bool:
        return bool(self.safety)


NOTHING = NeedsYou()


def _today_utc() -> date:
    return utcnow().date()


def _reason_rows(couples_match, zones, *, active_only):
    """Every reason a couple needs the therapist, as rows (couple, reason, partner's name,
    count, date): a UNION ALL whose branches each read their own index, so the statement costs
    what it finds, not the practice's size. `couples_match(column)` keeps the couples asked
    about; `active_only(column)` the couples whose partners are expected to check in."""
    today = _today_utc()
    no_name = cast(null(), String)
    no_day = cast(null(), Date)

    def counted(reason, column, *where, day=None, join=None):
        statement = select(
            column.label("couple_id"),
            literal(reason, String).label("reason"),
            no_name.label("who"),
            func.count().label("n"),
            (func.min(day) if day is not None else no_day).label("day"),
        )
        for target, on in join or ():
            statement = statement.join(target, on)
        return statement.where(couples_match(column), *where).group_by(column)

    safety = counted("safety", SafetyFlag.couple_id, SafetyFlag.addressed_at.is_(None)).select_from(
        SafetyFlag
    )
    checkins = counted(
        "checkins", Checkin.couple_id, Checkin.status == CheckinStatus.SUBMITTED
    ).select_from(Checkin)
    in_portal = and_(
        couples_match(Partner.couple_id),
        active_only(Partner.couple_id),
        Partner.joined_at.is_not(None),
        Partner.access_revoked_at.is_(None),
    )
    missed = select(
        Partner.couple_id.label("couple_id"),
        literal("missed", String).label("reason"),
        Partner.display_name.label("who"),
        literal(1).label("n"),
        Partner.last_checkin_on.label("day"),
    ).where(in_portal, Partner.last_checkin_on <= today - MISSED_AFTER)
    falling = select(
        Partner.couple_id.label("couple_id"),
        literal("falling", String).label("reason"),
        Partner.display_name.label("who"),
        Partner.declining_markers.label("n"),
        no_day.label("day"),
    ).where(
        in_portal,
        Partner.declining_markers > 0,
        Partner.last_checkin_on > today - FALLING_FOR,
    )
    waiting = counted("to_review", HomeworkResponse.couple_id, _waiting()).select_from(
        HomeworkResponse
    )
    flagged = counted(
        "flagged", HomeworkResponse.couple_id, _waiting(), HomeworkResponse.coach_flags > 0
    ).select_from(HomeworkResponse)
    overdue = counted(
        "overdue",
        HomeworkResponse.couple_id,
        HomeworkResponse.status.in_(WRITABLE),
        _before_the_couples_today(Assignment.due_date, zones),
        day=Assignment.due_date,
        join=(
            (Assignment, Assignment.id == HomeworkResponse.assignment_id),
            (Couple, Couple.id == HomeworkResponse.couple_id),
        ),
    ).select_from(HomeworkResponse)
    revisit_response = aliased(HomeworkResponse)
    revisit = counted(
        "revisit",
        revisit_response.couple_id,
        ContractVersion.superseded_at.is_(None),
        _before_the_couples_today(ContractVersion.revisit_date, zones, or_on=True),
        day=ContractVersion.revisit_date,
        join=(
            (revisit_response, revisit_response.id == ContractVersion.response_id),
            (Couple, Couple.id == revisit_response.couple_id),
        ),
    ).select_from(ContractVersion)
    agreement_review = counted(
        "agreement_review",
        Agreement.couple_id,
        Agreement.retired_at.is_(None),
        _before_the_couples_today(Agreement.review_date, zones, or_on=True),
        day=Agreement.review_date,
        join=((Couple, Couple.id == Agreement.couple_id),),
    ).select_from(Agreement)
    return union_all(
        safety, falling, missed, checkins, overdue, revisit, agreement_review, waiting, flagged
    )


def _gather(rows) -> dict[int, NeedsYou]:
    """Rows of `_reason_rows`, by couple."""
    fields: dict[int, dict] = defaultdict(dict)
    for couple_id, reason, who, count, day in rows:
        found = fields[couple_id]
        if reason in ("missed", "falling"):
            found.setdefault(reason, []).append((who, day if reason == "missed" else count))
            continue
        found[reason] = count
        if day is not None and reason in ("overdue", "revisit", "agreement_review"):
            found[f"{reason}_{'since' if reason == 'overdue' else 'on'}"] = day
    return {
        couple_id: NeedsYou(
            **{
                key: tuple(sorted(value)) if isinstance(value, list) else value
                for key, value in found.items()
            }
        )
        for couple_id, found in fields.items()
    }


def needs_you(couples: list[Couple]) -> dict[int, NeedsYou]:
    """For each couple of a caseload page (already loaded): what needs the therapist. One
    statement whatever the page's size; a couple with nothing is absent (read it as NOTHING)."""
    if not couples:
        return {}
    ids = [couple.id for couple in couples]
    active = [couple.id for couple in couples if couple.status == "active"]
    zones = sorted({couple.time_zone for couple in couples})
    rows = db.session.execute(
        _reason_rows(lambda column: column.in_(ids), zones, active_only=lambda c: c.in_(active))
    ).all()
    return _gather(rows)


@dataclass(frozen=True)
class CoupleNeeds:
    couple_id: int
    label: str
    needs: NeedsYou


# The dashboard lists this many couples; the caseload has the rest.
TODAY_LIMIT = 25
# Each reason offers at most this many rows when choosing which couples to show (a couple can
# have several rows: two partners, several pieces), read in its index's order.
CANDIDATES = 60


def _first(statement, *order):
    """The first CANDIDATES couple ids of a statement, in `order`: a bounded subquery."""
    return select(statement.order_by(*order).limit(CANDIDATES).subquery().c.couple_id)


def _candidates(user: User, zones):
    """The couples that could be among the most pressing, reason by reason, each read from its
    own index and cut off early: the dashboard's cost follows what it shows, not the size of
    the practice. (A couple found here then gets every reason counted.)"""
    today = _today_utc()
    visible = _visible
    flags = select(SafetyFlag.couple_id.label("couple_id")).where(
        SafetyFlag.addressed_at.is_(None), visible(user, SafetyFlag.couple_id)
    )
    falling = select(Partner.couple_id.label("couple_id")).where(
        Partner.declining_markers > 0,
        Partner.last_checkin_on > today - FALLING_FOR,
        visible(user, Partner.couple_id),
    )
    missed = select(Partner.couple_id.label("couple_id")).where(
        Partner.last_checkin_on <= today - MISSED_AFTER,
        Partner.joined_at.is_not(None),
        visible(user, Partner.couple_id),
    )
    unread = select(Checkin.couple_id.label("couple_id")).where(
        Checkin.status == CheckinStatus.SUBMITTED, visible(user, Checkin.couple_id)
    )
    overdue = (
        select(HomeworkResponse.couple_id.label("couple_id"))
        .join(Assignment, Assignment.id == HomeworkResponse.assignment_id)
        .where(
            HomeworkResponse.status.in_(WRITABLE),
            Assignment.due_date < today + timedelta(days=1),  # each couple's own day below
            visible(user, HomeworkResponse.couple_id),
        )
    )
    revisit_response = aliased(HomeworkResponse)
    revisits = (
        select(revisit_response.couple_id.label("couple_id"))
        .join(ContractVersion, ContractVersion.response_id == revisit_response.id)
        .where(
            ContractVersion.superseded_at.is_(None),
            ContractVersion.revisit_date <= today + timedelta(days=1),
            visible(user, revisit_response.couple_id),
        )
    )
    reviews = select(Agreement.couple_id.label("couple_id")).where(
        Agreement.retired_at.is_(None),
        Agreement.review_date <= today + timedelta(days=1),
        visible(user, Agreement.couple_id),
    )
    waiting = select(HomeworkResponse.couple_id.label("couple_id")).where(
        _waiting(), visible(user, HomeworkResponse.couple_id)
    )
    return union_all(
        _first(flags, SafetyFlag.raised_at),
        _first(falling, Partner.last_checkin_on.desc()),
        _first(missed, Partner.last_checkin_on),
        _first(unread, Checkin.submitted_at),
        _first(overdue, Assignment.due_date),
        _first(revisits, ContractVersion.revisit_date),
        _first(reviews, Agreement.review_date),
        _first(waiting, HomeworkResponse.submitted_at),
    )


@dataclass(frozen=True)
class NeedsToday:
    """The dashboard's list: the couples shown, most pressing first, and whether more couples
    need the therapist than are shown (the caseload lists them all)."""

    couples: list[CoupleNeeds]
    more: bool


def needs_you_today(user: User, counts: DashboardCounts) -> NeedsToday:
    """The dashboard's "Needs you today": the open couples this user sees with anything that
    needs them, the most pressing first (safety, then falling markers, missed check-ins, …),
    at most TODAY_LIMIT. Two statements, bounded: the couples are chosen from the first few
    of each reason (`_candidates`), then every reason of those couples is counted."""
    # Two statements, both bounded. The chosen ids go to the second as a plain list: as a
    # subquery, PostgreSQL without statistics reran the candidates once per row it checked.
    chosen = set(db.session.scalars(_candidates(user, counts.zones)))
    if not chosen:
        return NeedsToday([], more=False)
    # Each branch reads its own index for the chosen couples; the couple's status and label
    # are looked up per row found (a correlated lookup by id), never joined to the union:
    # without statistics PostgreSQL would rerun the whole union once per couple.
    reasons = _reason_rows(
        lambda column: column.in_(sorted(chosen)),
        counts.zones,
        active_only=lambda column: true(),
    ).subquery()

    def of_couple(column):
        return select(column).where(Couple.id == reasons.c.couple_id).scalar_subquery()

    status, label = of_couple(Couple.status), of_couple(Couple.label)
    expected = reasons.c.reason.in_(("missed", "falling"))  # only active couples check in
    rank = case({reason: index for index, reason in enumerate(REASONS)}, value=reasons.c.reason)
    rows = db.session.execute(
        select(reasons, label)
        .where(
            or_(
                and_(expected, status == "active"),
                and_(~expected, status.in_(STATUS_FILTERS["open"])),
            )
        )
        .order_by(rank, label, reasons.c.couple_id)
    ).all()
    by_couple = _gather(row[:5] for row in rows)
    labels = {row[0]: row[5] for row in rows}
    ordered = list(dict.fromkeys(row[0] for row in rows))  # first seen: most pressing reason
    shown = [CoupleNeeds(cid, labels[cid], by_couple[cid]) for cid in ordered[:TODAY_LIMIT]]
    return NeedsToday(shown, more=len(ordered) > TODAY_LIMIT)


# -- the review page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a piece's history, in words; `note` is a comment the therapist wrote."""

    at: datetime
    text: str
    note: str | None = None


def _moved(transition: ResponseTransition) -> str:
    actor = transition.actor_name
    before, after = Status(transition.from_status), Status(transition.to_status)
    words = {
        Status.SUBMITTED: f"{actor} handed it in",
        Status.REVIEWED: f"{actor} marked it reviewed",
        Status.COMPLETED: f"{actor} marked it completed",
        Status.FINAL: f"{actor} marked it final for signing",
        Status.SIGNED: f"{actor} signed it: both partners have signed now",
        Status.CONFIRMED: f"{actor} confirmed it: both partners agree to this version now",
    }
    if after == Status.DRAFT:
        return f"{actor} proposed a change" if before == Status.CONFIRMED else f"{actor} started it"
    if after == Status.RETURNED:
        if before in (Status.FINAL, Status.SIGNED):
            return f"{actor} reopened it for changes"
        return f"{actor} returned it for revision"
    return words.get(after, f"{actor}: {before.value} to {after.value}")


def _with_a_note(transition: ResponseTransition, comment: HomeworkComment) -> str:
    name = comment.author.name if comment.author else "your practice"
    if transition is not None and Status(transition.from_status) in (Status.FINAL, Status.SIGNED):
        return f"Reopened for changes with a note from {name}"
    return f"Returned with a note from {name}"


def history(response: HomeworkResponse) -> list[HistoryEntry]:
    """Everything that happened to the work, oldest first: each move, and each comment the
    therapist wrote with a return, kept whole (the comments are a history, never overwritten).
    """
    transitions = list(
        db.session.scalars(
            select(ResponseTransition)
            .where(ResponseTransition.response_id == response.id)
            .order_by(ResponseTransition.at, ResponseTransition.id)
            .options(
                joinedload(ResponseTransition.actor_user),
                joinedload(ResponseTransition.actor_partner),
            )
        )
    )
    if "comments" in inspect(response).unloaded:
        comments = list(
            db.session.scalars(
                select(HomeworkComment)
                .where(HomeworkComment.response_id == response.id)
                .order_by(HomeworkComment.created_at, HomeworkComment.id)
                .options(joinedload(HomeworkComment.author))
            )
        )
    else:  # loaded with the response (`homework.get_therapist_response`)
        comments = sorted(response.comments, key=lambda c: (c.created_at, c.id))
    # A return and its comment are written together: pair each comment with the return by
    # the same therapist nearest in time, and show them as one line with the note beneath.
    returns = [
        t for t in transitions if t.to_status == Status.RETURNED and t.actor_user_id is not None
    ]
    paired: dict[int, HomeworkComment] = {}
    loose: list[HomeworkComment] = []
    for comment in comments:
        candidates = [
            t for t in returns if t.id not in paired and t.actor_user_id == comment.author_user_id
        ]
        nearest = min(
            candidates, key=lambda t: abs((t.at - comment.created_at).total_seconds()), default=None
        )
        if nearest is not None and abs((nearest.at - comment.created_at).total_seconds()) < 60:
            paired[nearest.id] = comment
        else:
            loose.append(comment)
    entries = [
        HistoryEntry(
            response.assignment.created_at,
            f"Assigned by {response.assignment.created_by.name}"
            if response.assignment.created_by
            else "Assigned",
        )
    ]
    for transition in transitions:
        comment = paired.get(transition.id)
        if comment is not None:
            entries.append(
                HistoryEntry(transition.at, _with_a_note(transition, comment), comment.body)
            )
        else:
            entries.append(HistoryEntry(transition.at, _moved(transition)))
    for comment in loose:
        entries.append(HistoryEntry(comment.created_at, _with_a_note(None, comment), comment.body))
    # Stable: equal times keep the order above (the assignment first, moves in their order).
    entries.sort(key=lambda entry: entry.at)
    return entries


@dataclass(frozen=True)
class ReviewActions:
    """What the review page offers the therapist: only the actions that apply now, and where
    the work stands (who acts next), in words."""

    standing: str
    # The therapist acts next (handed-in work to read, a contract to mark final); otherwise
    # the page says "Nothing for you to do: <standing>", with any optional actions below.
    you_act: bool = False
    mark_reviewed: bool = False
    complete: bool = False
    release: bool = False
    finalize: bool = False
    # "return" for handed-in work, "reopen" for a final or signed text; None: no return.
    return_form: str | None = None

    @property
    def any(self) -> bool:
        return bool(
            self.mark_reviewed or self.complete or self.release or self.finalize or self.return_form
        )


def _mid_sentence(text: str, names: list[str]) -> str:
    """'Waiting for Sam to sign' as it reads after 'Nothing for you to do: ' (a name keeps
    its capital)."""
    if any(text.startswith(name) for name in names if name):
        return text
    return text[:1].lower() + text[1:]


def review_actions(response: HomeworkResponse, *, versions: list[ContractVersion]) -> ReviewActions:
    """The actions the kind's path allows from here, and nothing else: no 'Mark final' on a
    final or signed contract, no release of shared work, no return of a draft."""
    kind = get_kind(response.kind)
    moves = homework_service.moves(response)
    status = Status(response.status)
    finalize = False
    if Status.FINAL in moves:
        # Finalising needs a complete text, and one that differs from the current version.
        current = versions[0] if versions and versions[0].superseded_at is None else None
        unchanged = current is not None and current.content == response.content
        finalize = not kind.check_complete(response.content) and not unchanged
    return_form = None
    if Status.RETURNED in moves and not homework_service.is_released_hold(response):
        return_form = "reopen" if status in (Status.FINAL, Status.SIGNED) else "return"
    names = [partner.display_name for partner in response.assignment.couple.partners]
    standing = homework_service.standing(response)
    you_act = standing.section == Section.TODO or finalize
    return ReviewActions(
        standing=standing.text if you_act else _mid_sentence(standing.text, names),
        you_act=you_act,
        mark_reviewed=Status.REVIEWED in moves,
        complete=Status.COMPLETED in moves,
        release=homework_service.can_release(response),
        finalize=finalize,
        return_form=return_form,
    )

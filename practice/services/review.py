"""What needs the therapist: the review queue, the dashboard's attention list, the caseload's
"needs you" counts. Each answers in a fixed number of statements, whatever the caseload."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.homework.workflow import AWAITING_THERAPIST, WRITABLE
from practice.models import Couple, User
from practice.models.homework import Assignment, ContractVersion, HomeworkResponse
from practice.services.couples import visible_couples


def review_queue(user: User) -> list[HomeworkResponse]:
    """Submitted work across the therapist's couples, oldest first."""
    couple_ids = visible_couples(user).with_only_columns(Couple.id).order_by(None)
    return list(
        db.session.scalars(
            select(HomeworkResponse)
            .where(
                HomeworkResponse.status.in_(AWAITING_THERAPIST),
                HomeworkResponse.couple_id.in_(couple_ids),
            )
            .order_by(HomeworkResponse.submitted_at, HomeworkResponse.id)
            .options(
                joinedload(HomeworkResponse.assignment).joinedload(Assignment.couple),
                joinedload(HomeworkResponse.partner),
            )
        )
    )


def _before_the_couples_today(column, couple_ids, *, or_on: bool = False):
    """`column` (a date) before each couple's own today, or on it with `or_on`.

    A due date is a day where the couple lives: work due on Monday in Auckland is late hours
    before it is late in Honolulu, and the dashboard agrees with each couple's page.
    """
    zones = db.session.scalars(
        select(Couple.time_zone).where(Couple.id.in_(couple_ids)).distinct()
    ).all()
    each_zone = []
    for zone in zones:
        today = datetime.now(ZoneInfo(zone)).date()
        each_zone.append(
            and_(Couple.time_zone == zone, column <= today if or_on else column < today)
        )
    return or_(*each_zone) if each_zone else false()


def needs_attention(user: User) -> dict:
    """For the dashboard: overdue work and repair contracts due for their revisit."""
    couple_ids = visible_couples(user).with_only_columns(Couple.id).order_by(None)
    overdue = list(
        db.session.scalars(
            select(HomeworkResponse)
            .join(HomeworkResponse.assignment)
            .join(Couple, Couple.id == HomeworkResponse.couple_id)
            .where(
                HomeworkResponse.couple_id.in_(couple_ids),
                HomeworkResponse.status.in_(WRITABLE),
                _before_the_couples_today(Assignment.due_date, couple_ids),
            )
            .order_by(Assignment.due_date, HomeworkResponse.id)
            .limit(30)
            .options(
                joinedload(HomeworkResponse.assignment).joinedload(Assignment.couple),
                joinedload(HomeworkResponse.partner),
            )
        )
    )
    revisits = list(
        db.session.scalars(
            select(ContractVersion)
            .join(HomeworkResponse, HomeworkResponse.id == ContractVersion.response_id)
            .join(Couple, Couple.id == HomeworkResponse.couple_id)
            .where(
                HomeworkResponse.couple_id.in_(couple_ids),
                ContractVersion.superseded_at.is_(None),
                _before_the_couples_today(ContractVersion.revisit_date, couple_ids, or_on=True),
            )
            .order_by(ContractVersion.revisit_date)
            .limit(30)
        )
    )
    revisit_responses = {
        r.id: r
        for r in db.session.scalars(
            select(HomeworkResponse)
            .where(HomeworkResponse.id.in_([v.response_id for v in revisits]))
            .options(joinedload(HomeworkResponse.assignment).joinedload(Assignment.couple))
        )
    }
    return {
        "overdue": overdue,
        "revisits": [(v, revisit_responses[v.response_id]) for v in revisits],
        "waiting_review": len(review_queue(user)),
    }

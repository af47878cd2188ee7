"""Notices: tell someone there is something to look at, without saying what anybody wrote.

A notice is a kind from `TEXTS` and a link. It stays on the partner's portal home or the
therapist's dashboard until it is opened or dismissed. The words come from here, never from
client text, so a notice is safe on a lock screen or a shared computer.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from practice.extensions import db
from practice.models import Couple, Notice, Partner, User
from practice.models.base import utcnow
from practice.services import NotFound

# kind -> (words for a partner, words for a therapist)
TEXTS: dict[str, tuple[str, str]] = {
    "contract.change_proposed": (
        "A change to your repair contract was proposed. Both signatures need giving again.",
        "A partner proposed a change to a signed repair contract.",
    ),
    "window.change_proposed": (
        "A change to your processing window was proposed. It needs you both to agree again.",
        "A partner reopened an agreed processing window.",
    ),
    "ritual.change_proposed": (
        "A change to your connection ritual was proposed. It needs you both to agree again.",
        "A partner reopened an agreed connection ritual.",
    ),
    "agreement.change_proposed": (
        "Your partner asked to talk about an agreement again.",
        "A partner asked to talk about an agreement they had accepted.",
    ),
    "agreement.discuss": (
        "Your partner would like to talk about an agreement.",
        "A partner would like to talk about an agreement.",
    ),
    "homework.returned": (
        "Your therapist sent some work back with a note.",
        "Work was sent back with a note.",
    ),
    "checkin.open": (
        "Your weekly check-in is open.",
        "",
    ),
    "checkin.nudge": (
        "A gentle reminder: your weekly check-in is still open.",
        "",
    ),
    "measure.due": (
        "A questionnaire from your therapist is ready for you.",
        "",
    ),
    "window.soon": (
        "A time you both agreed to starts within the hour.",
        "",
    ),
    "contract.revisit": (
        "",
        "A repair contract is due for its revisit.",
    ),
    "agreement.review": (
        "",
        "An agreement is due for review.",
    ),
    # Therapists only: the partner who answered never gets a notice about it.
    "safety.answer": (
        "",
        "A safety answer needs your attention.",
    ),
    "summary.released": (
        "Your therapist shared a session summary with you both.",
        "A session summary was shared with the couple.",
    ),
    "homework.released": (
        "Something is ready for you to read, when you feel ready.",
        "Work was released to the couple.",
    ),
}
# Above this many unread, the oldest fold into "and N more" on the page.
SHOWN = 5


def text_for(notice: Notice) -> str:
    for_partner, for_therapist = TEXTS[notice.kind]
    return for_partner if notice.recipient_partner_id is not None else for_therapist


def notify_partner(partner: Partner, kind: str, link: str) -> Notice:
    if kind not in TEXTS:
        raise ValueError(f"unknown notice kind {kind!r}")
    notice = Notice(
        recipient_partner_id=partner.id, couple_id=partner.couple_id, kind=kind, link=link
    )
    db.session.add(notice)
    return notice


def notify_therapists(couple: Couple, kind: str, link: str) -> list[Notice]:
    """A notice to each active therapist of the couple."""
    if kind not in TEXTS:
        raise ValueError(f"unknown notice kind {kind!r}")
    made = [
        Notice(recipient_user_id=user.id, couple_id=couple.id, kind=kind, link=link)
        for user in couple.therapists
        if user.active
    ]
    db.session.add_all(made)
    return made


def unread_for_partner(partner: Partner) -> list[Notice]:
    return list(
        db.session.scalars(
            select(Notice)
            .where(Notice.recipient_partner_id == partner.id, Notice.read_at.is_(None))
            .order_by(Notice.created_at.desc(), Notice.id.desc())
        )
    )


def unread_for_user(user: User) -> list[Notice]:
    return list(
        db.session.scalars(
            select(Notice)
            .where(Notice.recipient_user_id == user.id, Notice.read_at.is_(None))
            .order_by(Notice.created_at.desc(), Notice.id.desc())
            # The dashboard names each notice's couple: loaded with the notices.
            .options(joinedload(Notice.couple))
        )
    )


def _open(notice: Notice | None) -> Notice:
    if notice is None:
        raise NotFound()
    if notice.read_at is None:
        notice.read_at = utcnow()
    return notice


def open_for_partner(partner: Partner, notice_id: int) -> Notice:
    """Mark the partner's own notice read and return it (for its link); NotFound otherwise."""
    return _open(
        db.session.scalar(
            select(Notice).where(Notice.id == notice_id, Notice.recipient_partner_id == partner.id)
        )
    )


def open_for_user(user: User, notice_id: int) -> Notice:
    return _open(
        db.session.scalar(
            select(Notice).where(Notice.id == notice_id, Notice.recipient_user_id == user.id)
        )
    )


def read_all_for_user(user: User) -> int:
    return db.session.execute(
        update(Notice)
        .where(Notice.recipient_user_id == user.id, Notice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount

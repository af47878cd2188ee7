"""factory_boy factories for couples, their partners and their personal links.

Like those in tests/factories.py, each is rooted in a practice: a couple belongs to the practice
of the therapist it is assigned to, and its partners and assignments carry that practice's id.

    couple = CoupleFactory()                            # new practice and therapist
    couple = CoupleFactory(therapist=bob)               # assigned to bob, in bob's practice
    couple = CoupleFactory(therapist=bob, also_assigned=[carol])
    couple = CoupleFactory(practice=p)                  # a new therapist of practice p
    couple = CoupleFactory(practice=p, therapist=None)  # assigned to nobody: the owner sees it
    couple = CoupleFactory(roles=("mutual", "mutual"), partner1_email="ann@example.com")
    hurt, broke_trust = couple.partners

    invite = PartnerInviteFactory(partner=hurt)         # a usable personal link
    invite.token                                        # its plaintext (the row holds its digest)

The factories flush, never commit. After a commit the objects are expired and the tenancy
guard refuses to lazy-load with no practice set: keep ids (`CoupleIds.of(couple)`) before
committing, or read back inside `practice_context(...)`.

`bulk_couples()` adds hundreds of couples in a couple of flushes, for pagination and
statement-count tests where one factory call per row would be slow.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import factory
from sqlalchemy import select

from practice.extensions import db
from practice.models import Couple, CoupleTherapist, Partner, PartnerInvite
from practice.models.base import utcnow
from practice.security import hash_token
from practice.tenancy import unscoped
from tests.factories import BaseFactory, UserFactory


def _partner(o, position: int) -> Partner:
    return Partner(
        practice_id=o.practice_id,
        position=position,
        display_name=getattr(o, f"partner{position}_name"),
        email=getattr(o, f"partner{position}_email"),
        repair_role=o.roles[position - 1],
        time_zone=o.time_zone,
    )


def _assignments(o) -> list[CoupleTherapist]:
    therapists = ([o.therapist] if o.therapist is not None else []) + list(o.also_assigned)
    return [CoupleTherapist(practice_id=o.practice_id, user_id=t.id) for t in therapists]


class CoupleFactory(BaseFactory):
    """An active couple with two partners (hurt, broke_trust) and one assigned therapist."""

    class Meta:
        model = Couple

    class Params:
        # The practice; by default the assigned therapist's (a new one if neither is given).
        practice = None
        # The assigned therapist (new, in `practice` when given); None: assigned to nobody.
        therapist = factory.Maybe(
            "practice",
            yes_declaration=factory.SubFactory(
                UserFactory, practice=factory.SelfAttribute("..practice")
            ),
            no_declaration=factory.SubFactory(UserFactory),
        )
        # More therapists of the same practice to assign.
        also_assigned = ()
        roles = ("hurt", "broke_trust")
        partner1_name = factory.Sequence(lambda n: f"Alex {n}")
        partner2_name = factory.Sequence(lambda n: f"Sam {n}")
        partner1_email = None
        partner2_email = None

    practice_id = factory.LazyAttribute(
        lambda o: o.practice.id if o.practice is not None else o.therapist.practice_id
    )
    label = factory.Sequence(lambda n: f"Couple {n:04d}")
    status = "active"
    presenting_concern = "affair"
    start_date = date(2026, 1, 5)
    time_zone = "Europe/London"
    therapist_notes = ""
    partners = factory.LazyAttribute(lambda o: [_partner(o, 1), _partner(o, 2)])
    assignments = factory.LazyAttribute(_assignments)


def _new_couple_partner() -> Partner:
    return CoupleFactory().partners[0]


def _first_assigned_therapist_id(partner: Partner) -> int:
    with unscoped():  # set-up code, like the factories' own inserts
        user_id = db.session.scalar(
            select(CoupleTherapist.user_id)
            .where(CoupleTherapist.couple_id == partner.couple_id)
            .order_by(CoupleTherapist.id)
            .limit(1)
        )
    if user_id is None:
        raise ValueError("the couple has no assigned therapist: pass created_by_id")
    return user_id


class PartnerInviteFactory(BaseFactory):
    """A usable personal link for a partner (by default the first partner of a new couple).

    `token` is the plaintext, kept on the returned object as `.token` for the test to use;
    the row holds only its SHA-256, as `portal_access.create_invite` stores it.
    """

    class Meta:
        model = PartnerInvite

    class Params:
        partner = factory.LazyFunction(_new_couple_partner)

    token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    practice_id = factory.SelfAttribute("partner.practice_id")
    partner_id = factory.SelfAttribute("partner.id")
    token_hash = factory.LazyAttribute(lambda o: hash_token(o.token))
    created_by_id = factory.LazyAttribute(lambda o: _first_assigned_therapist_id(o.partner))
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=14))

    @classmethod
    def _build(cls, model_class, *args, token: str, **kwargs):
        invite = super()._build(model_class, *args, **kwargs)
        invite.token = token
        return invite

    @classmethod
    def _create(cls, model_class, *args, token: str, **kwargs):
        invite = super()._create(model_class, *args, **kwargs)
        invite.token = token
        return invite


@dataclass(frozen=True)
class CoupleIds:
    """A couple's ids, safe to keep across commits (objects expire; ids do not)."""

    id: int
    practice_id: int
    partner_ids: tuple[int, int]
    therapist_ids: tuple[int, ...]

    @classmethod
    def of(cls, couple: Couple) -> CoupleIds:
        """Read the ids of a couple still loaded in this session (e.g. just built)."""
        first, second = couple.partners
        return cls(
            id=couple.id,
            practice_id=couple.practice_id,
            partner_ids=(first.id, second.id),
            therapist_ids=tuple(sorted(a.user_id for a in couple.assignments)),
        )


def bulk_couples(
    practice_id: int,
    count: int,
    *,
    therapist_ids: Sequence[int],
    invited_by_id: int | None = None,
    status: str = "active",
    label: str = "Bulk couple {n:04d}",
    first: int = 0,
) -> list[int]:
    """Add `count` couples to a practice at once; return their ids in label order.

    Couple n is labelled `label.format(n=n)` and assigned to `therapist_ids[n % len]` and to
    the next one in the list as well when n is odd (so some couples have two therapists).
    With `invited_by_id`, each partner also gets a usable personal link (tokens not kept).
    """
    couples = []
    for n in range(first, first + count):
        assigned = {therapist_ids[n % len(therapist_ids)]}
        if n % 2:
            assigned.add(therapist_ids[(n + 1) % len(therapist_ids)])
        couples.append(
            Couple(
                practice_id=practice_id,
                label=label.format(n=n),
                status=status,
                presenting_concern="affair",
                start_date=date(2026, 1, 1) + timedelta(days=n % 365),
                time_zone="Europe/London",
                therapist_notes="",
                partners=[
                    Partner(
                        practice_id=practice_id,
                        position=position,
                        display_name=f"{name} {n}",
                        repair_role=role,
                        time_zone="Europe/London",
                    )
                    for position, name, role in ((1, "Hurt", "hurt"), (2, "Broke", "broke_trust"))
                ],
                assignments=[
                    CoupleTherapist(practice_id=practice_id, user_id=user_id)
                    for user_id in sorted(assigned)
                ],
            )
        )
    with unscoped():  # set-up code, like the factories' own inserts
        db.session.add_all(couples)
        db.session.flush()
        if invited_by_id is not None:
            expires_at = utcnow() + timedelta(days=14)
            db.session.add_all(
                PartnerInvite(
                    practice_id=practice_id,
                    partner_id=partner.id,
                    token_hash=hash_token(secrets.token_urlsafe(32)),
                    created_by_id=invited_by_id,
                    expires_at=expires_at,
                )
                for couple in couples
                for partner in couple.partners
            )
            db.session.flush()
    return [couple.id for couple in couples]


def public(response_id: int) -> str:
    """The public id of a piece of work: what a portal URL names it by."""
    from practice.models import HomeworkResponse

    with unscoped():
        return db.session.scalar(
            select(HomeworkResponse.public_id).where(HomeworkResponse.id == response_id)
        )


def public_agreement(agreement_id: int) -> str:
    from practice.models import Agreement

    with unscoped():
        return db.session.scalar(select(Agreement.public_id).where(Agreement.id == agreement_id))

"""A fast bulk seed: a practice with N couples, each with homework at every stage.

    from bench.seed import seed_practice, refresh_statistics

    with app.app_context():
        seeded = seed_practice(500)                 # a new practice, 500 couples
        seeded = seed_practice(300, slug="other")   # a second practice in the same database
        seeded = seed_practice(50, practice=existing_practice)
        refresh_statistics()                        # ANALYZE / PRAGMA optimize after the load

Rows go in with SQLAlchemy Core bulk inserts (`db.session.execute(insert(Model), rows)`)
inside `tenancy.unscoped()`, a few statements per table and batch, so 500 couples take a
few seconds on SQLite. Every piece of content is built from the kind's own `empty()` and
checked with its `clean()`, so every page renders it.

Each couple gets: two partners (a personal link each, the privacy notice acknowledged, so
that the portal opens straight onto its home page), one assigned therapist, and

- an apology draft for each partner: partner 1's a draft, partner 2's submitted;
- a boundary worksheet for each partner: partner 1's reviewed, partner 2's returned with
  a comment from the therapist (and a "returned" notice to partner 2);
- an apology draft for partner 2 alone, a draft (private to partner 2);
- a boundary worksheet for partner 1 alone, assigned and untouched;
- a repair contract marked final, version 1, signed by partner 1 only;
- a repair contract signed by both (version 1, two signatures);
- a processing window agreed by both partners (two confirmations of its version);
- two agreements merged from partner 1's proposals: the first accepted by partner 1 and
  "let's talk" from partner 2 (with a notice to the therapist), the second accepted by
  partner 1 only;
- a transition row for every piece that moved past "assigned";
- weekly check-ins for both partners over the last `checkin_weeks` weeks, this one included
  (see `_seed_checkins`): the earlier weeks handed in (the last one or two waiting for the
  therapist, the rest read), some missed; this week's in progress; and on a small share of
  couples a safety answer that raised a flag, most still open.

Partner 1's first apology and partner 2's own apology are private, writable drafts: the
concurrent autosave bench saves into them (`SeededCouple.drafts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from sqlalchemy import Text, bindparam, cast, func, insert, select, text, update

from practice.checkins import questions
from practice.checkins.status import CheckinStatus
from practice.extensions import db
from practice.homework import get_kind
from practice.homework.workflow import Status
from practice.models import (
    Agreement,
    AgreementAcceptance,
    Assignment,
    ContractSignature,
    ContractVersion,
    Couple,
    CoupleTherapist,
    HomeworkComment,
    HomeworkResponse,
    JointConfirmation,
    Notice,
    Partner,
    PartnerInvite,
    Practice,
    PrivacyAcknowledgement,
    ResponseTransition,
    User,
)
from practice.models.checkin import Checkin, SafetyAnswer, SafetyFlag
from practice.models.homework import new_public_id
from practice.security import hash_password, new_token
from practice.services import checkins as checkin_service
from practice.services.portal_access import privacy_notice_digest
from practice.tenancy import unscoped

PASSWORD = "bench-password-1"  # noqa: S105 - the bench's own throwaway practice
BATCH = 1000  # couples per round of inserts: bounds memory and statement size
# Weeks of check-ins per couple unless asked otherwise: a month keeps the tests that load
# hundreds of couples fast; the bench asks for two years (bench/pages.py).
CHECKIN_WEEKS = 4
CHECKIN_ROWS = 10_000  # check-ins held in memory before they go in

_password_hashes: dict[str, str] = {}
# The partner's check-in summary (the latest week handed in, markers falling), where the
# model has it.
_KEEPS_SUMMARY = hasattr(Partner, "last_checkin_on") and hasattr(Partner, "declining_markers")


@dataclass
class SeededCouple:
    id: int
    partner_ids: tuple[int, int]
    # partner id -> the personal link token (the database keeps only its digest)
    invite_tokens: dict[int, str]
    # partner id -> public id of that partner's own private, writable apology draft
    drafts: dict[int, str]
    # public id of a piece of work each stage: "submitted", "returned", "final", ...
    responses: dict[str, str] = field(default_factory=dict)
    submitted_response_id: int = 0


@dataclass
class SeedResult:
    """What `seed_practice` made: ids and the secrets needed to sign in."""

    practice_id: int
    slug: str
    owner_email: str
    therapist_emails: list[str]
    password: str
    couples: list[SeededCouple]

    @property
    def couple_ids(self) -> list[int]:
        return [couple.id for couple in self.couples]


def _batches(items, size):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _Ids:
    """Ids handed out here, so that bulk inserts need no RETURNING (SQLAlchemy returns the
    ids of an ORM bulk insert on SQLite one row at a time)."""

    def __init__(self) -> None:
        self.next: dict[type, int] = {}

    def take(self, model, count: int) -> list[int]:
        if model not in self.next:
            self.next[model] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        first = self.next[model]
        self.next[model] = first + count
        return list(range(first, first + count))

    def sync_sequences(self) -> None:
        """PostgreSQL: move each table's id sequence past the ids given here."""
        if db.session.get_bind().dialect.name != "postgresql":
            return
        for model in self.next:
            table = model.__table__.name
            # The table's name comes from our own metadata, never from input.
            statement = (
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608, E501
            )
            db.session.execute(text(statement))


_ids = _Ids()


def _insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """Insert rows with ids given here, in bulk; return the ids, in the rows' order."""
    ids = _ids.take(model, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    _insert(model, rows)
    return ids


def _insert(model, rows: list[dict]) -> None:
    """One executemany per table and slice. The table's own insert (Core), not the ORM's
    bulk path: that one runs a statement for every few rows here."""
    for chunk in _batches(rows, 5000):
        db.session.execute(insert(model.__table__), chunk)


def _content(kind_key: str, **values) -> dict:
    """A kind's empty content with `values` filled in, checked by the kind itself."""
    kind = get_kind(kind_key)
    content = kind.empty()
    content.update(values)
    return kind.clean(content)


def _apology(n: int, position: int, *, complete: bool) -> dict:
    what = f"I kept a second phone for months and lied when you asked me (couple {n})."
    if not complete:
        return _content("apology", what_i_did=what)
    return _content(
        "apology",
        what_i_did=what,
        how_it_hurt="You stopped trusting what you see and hear, and you felt alone with it.",
        responsibility="It was my choice and my responsibility, nobody else's.",
        amends="I will show you my phone whenever you ask, every day, for the next six months.",
    )


def _boundaries(n: int, position: int) -> dict:
    return _content(
        "boundaries",
        proposals=[
            {
                "domain": "communication",
                "agreement": f"We text each other when we leave work, every weekday ({n}).",
                "time_frame": "for three months",
                "review_date": "",
            },
            {
                "domain": "social_media",
                "agreement": "No private messages with former partners on any app.",
                "time_frame": "",
                "review_date": "",
            },
        ],
    )


def _contract(n: int) -> dict:
    return _content(
        "repair_contract",
        commitments_1=[
            "I will say when I feel unsafe, calmly, the same day.",
            "I will join the Sunday walk every week.",
            "I will tell you when I need a break from talking.",
        ],
        commitments_2=[
            "I will answer questions about that time honestly.",
            "I will be home by seven on weekdays.",
            f"I will keep the shared calendar up to date (couple {n}).",
        ],
        support="Checking in for ten minutes each evening.",
        breaks="Any new secret about money or contact.",
        revisit_date="2027-03-01",
    )


def _window() -> dict:
    return _content(
        "processing_window",
        slots=[
            {"weekday": 1, "start": "19:30", "minutes": 45},
            {"weekday": 4, "start": "19:30", "minutes": 45},
        ],
        code_word="lighthouse",
    )


def _coach_counts(kind_key: str, content: dict, seen: dict) -> tuple[int, int]:
    """What a save stores for `content` (coach_flags, coach_missing): the kind's coach run once
    per distinct content, however many rows share it."""
    key = (kind_key, json.dumps(content, sort_keys=True))
    if key not in seen:
        seen[key] = get_kind(kind_key).coach_counts(content)
    return seen[key]


def _hash(password: str) -> str:
    if password not in _password_hashes:
        _password_hashes[password] = hash_password(password)
    return _password_hashes[password]


def seed_practice(
    couples: int,
    *,
    practice: Practice | None = None,
    slug: str = "bench",
    therapists: int = 8,
    password: str = PASSWORD,
    commit: bool = True,
    checkin_weeks: int = CHECKIN_WEEKS,
) -> SeedResult:
    """Insert `couples` couples with homework at every stage into a practice; return a
    `SeedResult` (ids, logins, each partner's link token and draft public ids).

    Call inside an app context on a migrated database. `practice`: an existing practice to
    fill (its owner is reused when it has one, else one is made); None makes a new practice
    named by `slug` (unique per database: call again with another slug for a second
    practice). Users are `owner@<slug>.bench.example.com` and `t<i>@<slug>.bench.example.com`
    (`therapists` of them, couples assigned round robin), all with `password`. `commit`:
    commit at the end (False leaves the rows in the session's transaction). `checkin_weeks`:
    the weeks of check-ins each partner has, this week included (0: none); couples and
    partners are dated far enough back to have written them.

    Runs unscoped (maintenance): it writes with Core bulk inserts, which the tenancy guard
    does not stamp, so every row names its practice explicitly. Statistics are not
    refreshed: call `refresh_statistics()` after the last bulk load.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    digest_for_practice: str
    _ids.next.clear()
    with unscoped():
        if practice is None:
            practice = Practice(name=f"Bench practice {slug}", slug=slug, time_zone="UTC")
            db.session.add(practice)
            db.session.flush()
        else:
            slug = practice.slug
        practice_id = practice.id
        digest_for_practice = privacy_notice_digest(practice)
        notice_version = practice.privacy_notice_version
        policy = practice.secrets_policy

        owner_email = f"owner@{slug}.bench.example.com"
        owner_id = db.session.scalar(
            select(User.id).where(User.practice_id == practice_id, User.role == "owner")
        )
        if owner_id is None:
            (owner_id,) = _insert_returning_ids(
                User,
                [
                    {
                        "practice_id": practice_id,
                        "email": owner_email,
                        "name": "Bench Owner",
                        "role": "owner",
                        "password_hash": _hash(password),
                        "created_at": now,
                    }
                ],
            )
        else:
            owner_email = db.session.scalar(select(User.email).where(User.id == owner_id))
        therapist_emails = [f"t{i}@{slug}.bench.example.com" for i in range(therapists)]
        therapist_ids = _insert_returning_ids(
            User,
            [
                {
                    "practice_id": practice_id,
                    "email": email,
                    "name": f"Therapist {i:02d}",
                    "role": "therapist",
                    "password_hash": _hash(password),
                    "created_at": now,
                }
                for i, email in enumerate(therapist_emails)
            ],
        ) or [owner_id]
        already = db.session.scalar(
            select(func.count(Couple.id)).where(Couple.practice_id == practice_id)
        )
        weeks = _CheckinWeeks.plan(practice_id, checkin_weeks, now)

        seeded: list[SeededCouple] = []
        for batch in _batches(range(already, already + couples), BATCH):
            seeded.extend(
                _seed_batch(
                    batch,
                    practice_id=practice_id,
                    owner_id=owner_id,
                    therapist_ids=therapist_ids,
                    digest=digest_for_practice,
                    notice_version=notice_version,
                    policy=policy,
                    now=now,
                    weeks=weeks,
                )
            )
        _ids.sync_sequences()
        if commit:
            db.session.commit()
    return SeedResult(
        practice_id=practice_id,
        slug=slug,
        owner_email=owner_email,
        therapist_emails=therapist_emails,
        password=password,
        couples=seeded,
    )


def _seed_batch(
    numbers: list[int],
    *,
    practice_id: int,
    owner_id: int,
    therapist_ids: list[int],
    digest: str,
    notice_version: int,
    policy: str,
    now: datetime,
    weeks: _CheckinWeeks,
) -> list[SeededCouple]:
    pid = practice_id
    statuses = ("active", "active", "paused", "closed")
    # Dated before the first week of check-ins, so that every check-in has its partner.
    history = timedelta(weeks=len(weeks.opened))

    # -- couples, partners, links, therapists -------------------------------------------
    couple_ids = _insert_returning_ids(
        Couple,
        [
            {
                "practice_id": pid,
                "label": f"Couple {n:05d}",
                "status": statuses[n % 4],
                "presenting_concern": ("affair", "lie", "financial_secret", "addiction")[n % 4],
                "start_date": date(2025, 1, 1) + timedelta(days=n % 600),
                "time_zone": "UTC",
                "therapist_notes": "",
                "created_at": now - history - timedelta(days=n % 600),
                "closed_at": now if statuses[n % 4] == "closed" else None,
                "last_activity_at": now - timedelta(minutes=n * 7 % 50000),
            }
            for n in numbers
        ],
    )
    partner_rows = []
    for n, couple_id in zip(numbers, couple_ids, strict=True):
        for position, role in ((1, "hurt"), (2, "broke_trust")):
            created = now - history - timedelta(days=n % 600)
            row = {
                "practice_id": pid,
                "couple_id": couple_id,
                "position": position,
                "display_name": f"{('Sam', 'Alex')[position - 1]} {n}",
                "email": None,
                "repair_role": role,
                "time_zone": "UTC",
                "session_version": 1,
                "created_at": created,
                "joined_at": now - history - timedelta(days=n % 300),
                "last_seen_at": now - timedelta(hours=n % 500),
                "privacy_acknowledged_version": notice_version,
                "privacy_acknowledged_digest": digest,
            }
            if _KEEPS_SUMMARY:  # before any check-in: the day the partner was added
                row |= {"last_checkin_on": created.date(), "declining_markers": 0}
            partner_rows.append(row)
    partner_ids = _insert_returning_ids(Partner, partner_rows)
    pairs = list(zip(partner_ids[0::2], partner_ids[1::2], strict=True))

    tokens: dict[int, str] = {}
    invites, acks, assigned = [], [], []
    for index, (couple_id, (p1, p2)) in enumerate(zip(couple_ids, pairs, strict=True)):
        for partner_id in (p1, p2):
            token, token_digest = new_token()
            tokens[partner_id] = token
            invites.append(
                {
                    "practice_id": pid,
                    "partner_id": partner_id,
                    "token_hash": token_digest,
                    "created_by_id": owner_id,
                    "created_at": now - timedelta(days=1),
                    "expires_at": now + timedelta(days=14),
                    "use_count": 1,
                }
            )
            acks.append(
                {
                    "practice_id": pid,
                    "partner_id": partner_id,
                    "notice_version": notice_version,
                    "notice_digest": digest,
                    "secrets_policy": policy,
                    "acknowledged_at": now - timedelta(days=1),
                }
            )
        assigned.append(
            {
                "practice_id": pid,
                "couple_id": couple_id,
                "user_id": therapist_ids[numbers[index] % len(therapist_ids)],
                "assigned_at": now - timedelta(days=30),
            }
        )
    _insert(PartnerInvite, invites)
    _insert(PrivacyAcknowledgement, acks)
    _insert(CoupleTherapist, assigned)

    # -- homework ------------------------------------------------------------------------
    # (kind, mode) per couple, in order; each assignment's responses follow in `plan`.
    specs = [
        ("apology", "each"),
        ("boundaries", "each"),
        ("apology", "one"),
        ("boundaries", "one"),
        ("repair_contract", "joint"),
        ("repair_contract", "joint"),
        ("processing_window", "joint"),
    ]
    assignment_rows = []
    for index, (n, couple_id) in enumerate(zip(numbers, couple_ids, strict=True)):
        therapist_id = therapist_ids[n % len(therapist_ids)]
        for step, (kind, mode) in enumerate(specs):
            assignment_rows.append(
                {
                    "practice_id": pid,
                    "couple_id": couple_id,
                    "kind": kind,
                    "mode": mode,
                    "instructions": get_kind(kind).default_instructions,
                    "due_date": (now + timedelta(days=7 + step)).date(),
                    "created_by_id": therapist_id,
                    "created_at": now - timedelta(days=40 - step, minutes=index % 1000),
                }
            )
    assignment_ids = _insert_returning_ids(Assignment, assignment_rows)

    window = _window()
    counted: dict = {}  # the coach's counts by distinct content
    response_rows, plan = [], []  # plan: (couple index, label, partner_id or None, status)
    for index, (n, couple_id, (p1, p2)) in enumerate(zip(numbers, couple_ids, pairs, strict=True)):
        a = assignment_ids[index * len(specs) : (index + 1) * len(specs)]
        contract = _contract(n)
        pieces = [
            (a[0], "draft_1", "apology", p1, Status.DRAFT, _apology(n, 1, complete=False)),
            (a[0], "submitted", "apology", p2, Status.SUBMITTED, _apology(n, 2, complete=True)),
            (a[1], "reviewed", "boundaries", p1, Status.REVIEWED, _boundaries(n, 1)),
            (a[1], "returned", "boundaries", p2, Status.RETURNED, _boundaries(n, 2)),
            (a[2], "draft_2", "apology", p2, Status.DRAFT, _apology(n, 2, complete=False)),
            (a[3], "assigned", "boundaries", p1, Status.ASSIGNED, get_kind("boundaries").empty()),
            (a[4], "final", "repair_contract", None, Status.FINAL, contract),
            (a[5], "signed", "repair_contract", None, Status.SIGNED, contract),
            (a[6], "confirmed", "processing_window", None, Status.CONFIRMED, window),
        ]
        for assignment_id, label, kind, partner_id, status, content in pieces:
            handed_in = status not in (Status.ASSIGNED, Status.DRAFT)
            saved = now - timedelta(days=3, minutes=(n * 13 + len(plan)) % 5000)
            flags, missing = _coach_counts(kind, content, counted)
            response_rows.append(
                {
                    "practice_id": pid,
                    "public_id": new_public_id(),
                    "assignment_id": assignment_id,
                    "couple_id": couple_id,
                    "partner_id": partner_id,
                    "kind": kind,
                    "status": status.value,
                    "audience": get_kind(kind).default_audience.value,
                    "content": content,
                    "schema_version": get_kind(kind).schema_version,
                    "version": 0 if status == Status.ASSIGNED else 3,
                    "last_saved_at": None if status == Status.ASSIGNED else saved,
                    "last_saved_by_partner_id": (
                        None if status == Status.ASSIGNED else (partner_id or p1)
                    ),
                    "submitted_at": saved if handed_in else None,
                    "reviewed_at": saved if status == Status.REVIEWED else None,
                    "completed_at": None,
                    "released_at": None,
                    "coach_flags": flags,
                    "coach_missing": missing,
                }
            )
            plan.append((index, label, partner_id, status))
    response_ids = _insert_returning_ids(HomeworkResponse, response_rows)

    result = [
        SeededCouple(
            id=couple_id,
            partner_ids=(p1, p2),
            invite_tokens={p1: tokens[p1], p2: tokens[p2]},
            drafts={},
        )
        for couple_id, (p1, p2) in zip(couple_ids, pairs, strict=True)
    ]
    by_label: dict[tuple[int, str], int] = {}
    transitions, comments, versions_for = [], [], []
    for response_id, row, (index, label, partner_id, status) in zip(
        response_ids, response_rows, plan, strict=True
    ):
        couple = result[index]
        couple.responses[label] = row["public_id"]
        by_label[(index, label)] = response_id
        if label == "draft_1":
            couple.drafts[couple.partner_ids[0]] = row["public_id"]
        elif label == "draft_2":
            couple.drafts[couple.partner_ids[1]] = row["public_id"]
        elif label == "submitted":
            couple.submitted_response_id = response_id
        therapist_id = therapist_ids[numbers[index] % len(therapist_ids)]
        actor_partner = partner_id or couple.partner_ids[0]
        moves = {
            Status.DRAFT: [(Status.ASSIGNED, Status.DRAFT, None)],
            Status.SUBMITTED: [(Status.DRAFT, Status.SUBMITTED, None)],
            Status.REVIEWED: [
                (Status.DRAFT, Status.SUBMITTED, None),
                (Status.SUBMITTED, Status.REVIEWED, therapist_id),
            ],
            Status.RETURNED: [
                (Status.DRAFT, Status.SUBMITTED, None),
                (Status.SUBMITTED, Status.RETURNED, therapist_id),
            ],
            Status.FINAL: [(Status.DRAFT, Status.FINAL, therapist_id)],
            Status.SIGNED: [
                (Status.DRAFT, Status.FINAL, therapist_id),
                (Status.FINAL, Status.SIGNED, None),
            ],
            Status.CONFIRMED: [(Status.DRAFT, Status.CONFIRMED, None)],
        }.get(status, [])
        for step, (before, after, user_id) in enumerate(moves):
            transitions.append(
                {
                    "practice_id": pid,
                    "response_id": response_id,
                    "from_status": before.value,
                    "to_status": after.value,
                    "actor_user_id": user_id,
                    "actor_partner_id": None if user_id else actor_partner,
                    "at": row["last_saved_at"] - timedelta(hours=len(moves) - step),
                }
            )
        if status == Status.RETURNED:
            comments.append(
                {
                    "practice_id": pid,
                    "response_id": response_id,
                    "author_user_id": therapist_id,
                    "body": "Thank you. Could you make the first one more specific: when?",
                    "created_at": row["last_saved_at"],
                }
            )
        if status in (Status.FINAL, Status.SIGNED):
            versions_for.append((index, response_id, status, row))
    _insert(ResponseTransition, transitions)
    _insert(HomeworkComment, comments)

    version_ids = _insert_returning_ids(
        ContractVersion,
        [
            {
                "practice_id": pid,
                "response_id": response_id,
                "number": 1,
                "content": row["content"],
                "revisit_date": date.fromisoformat(row["content"]["revisit_date"]),
                "finalized_by_id": therapist_ids[numbers[index] % len(therapist_ids)],
                "finalized_at": row["last_saved_at"],
                "superseded_at": None,
            }
            for index, response_id, status, row in versions_for
        ],
    )
    signatures, confirmations = [], []
    for version_id, (index, _response_id, status, row) in zip(
        version_ids, versions_for, strict=True
    ):
        p1, p2 = result[index].partner_ids
        for partner_id in (p1, p2) if status == Status.SIGNED else (p1,):
            signatures.append(
                {
                    "practice_id": pid,
                    "version_id": version_id,
                    "partner_id": partner_id,
                    "typed_name": f"Partner {partner_id}",
                    "signed_at": row["last_saved_at"] + timedelta(hours=1),
                }
            )
    for index, couple in enumerate(result):
        for partner_id in couple.partner_ids:
            confirmations.append(
                {
                    "practice_id": pid,
                    "response_id": by_label[(index, "confirmed")],
                    "partner_id": partner_id,
                    "version": 3,
                    "confirmed_at": now - timedelta(days=2),
                }
            )
    _insert(ContractSignature, signatures)
    _insert(JointConfirmation, confirmations)

    # -- agreements, answers, notices ----------------------------------------------------
    agreement_rows = []
    for index, (n, couple_id) in enumerate(zip(numbers, couple_ids, strict=True)):
        reviewed = by_label[(index, "reviewed")]
        for proposal, (domain, words) in enumerate(
            (
                ("communication", f"We text each other when we leave work, every weekday ({n})."),
                ("social_media", "No private messages with former partners on any app."),
            )
        ):
            agreement_rows.append(
                {
                    "practice_id": pid,
                    "public_id": new_public_id(),
                    "couple_id": couple_id,
                    "domain": domain,
                    "text": words,
                    "time_frame": "for three months" if proposal == 0 else "",
                    "review_date": None,
                    "created_by_id": therapist_ids[n % len(therapist_ids)],
                    "created_at": now - timedelta(days=2, minutes=proposal),
                    "retired_at": None,
                    "merged_from": [[reviewed, proposal]],
                }
            )
    agreement_ids = _insert_returning_ids(Agreement, agreement_rows)
    answers, notices = [], []
    for index, couple in enumerate(result):
        first, second = agreement_ids[2 * index : 2 * index + 2]
        p1, p2 = couple.partner_ids
        answers += [
            {
                "practice_id": pid,
                "agreement_id": first,
                "partner_id": p1,
                "decision": "accepted",
                "note": None,
                "accepted_at": now - timedelta(days=1),
            },
            {
                "practice_id": pid,
                "agreement_id": first,
                "partner_id": p2,
                "decision": "discuss",
                "note": "Can we talk about weekends?",
                "accepted_at": now - timedelta(days=1),
            },
            {
                "practice_id": pid,
                "agreement_id": second,
                "partner_id": p1,
                "decision": "accepted",
                "note": None,
                "accepted_at": now - timedelta(days=1),
            },
        ]
        returned_key = couple.responses["returned"]
        notices += [
            {
                "practice_id": pid,
                "recipient_user_id": None,
                "recipient_partner_id": p2,
                "couple_id": couple.id,
                "kind": "homework.returned",
                "link": f"/portal/homework/{returned_key}",
                "created_at": now - timedelta(days=3),
                "read_at": None,
            },
            {
                "practice_id": pid,
                "recipient_user_id": therapist_ids[numbers[index] % len(therapist_ids)],
                "recipient_partner_id": None,
                "couple_id": couple.id,
                "kind": "agreement.discuss",
                "link": f"/couples/{couple.id}/agreements",
                "created_at": now - timedelta(days=1),
                "read_at": None,
            },
        ]
    _insert(AgreementAcceptance, answers)
    _insert(Notice, notices)

    _seed_checkins(
        numbers,
        result,
        agreement_keys=[
            (agreement_rows[2 * i]["public_id"], agreement_rows[2 * i + 1]["public_id"])
            for i in range(len(result))
        ],
        therapist_for=[therapist_ids[n % len(therapist_ids)] for n in numbers],
        practice_id=pid,
        weeks=weeks,
        now=now,
    )
    return result


# -- weekly check-ins ----------------------------------------------------------------------

_FACTS = (
    "A quieter week. We kept to the window on Tuesday and ate together most evenings.",
    "Work was busy; we spoke at lunch most days and walked on Sunday.",
    "We saw family on Saturday; it was easier than last time.",
    "A hard evening on Thursday after a message from a number neither of us knew.",
    "We cooked together twice and went to the cinema.",
    "The anniversary of the day it came out fell this week.",
)
_FEELINGS = (
    "Tired, but steadier than a month ago.",
    "Anxious on Thursday; calmer once we talked it through.",
    "Hopeful. Some sadness when I think about last year.",
    "Angry for a day, then mostly relieved that we did not fight.",
    "Close to you on Sunday. Unsure the rest of the week.",
)
_WENT_WELL = (
    "You told me about the late meeting before I had to ask.",
    "We stopped the argument on Tuesday and came back to it in the window.",
    "The walk on Sunday, phones left at home.",
    "You noticed I was quiet and asked, without pushing.",
    "",
)
_REFLECTIONS = (
    "You put the phone away at dinner.",
    "You asked how my day was, and listened.",
    "You said sorry for snapping, the same evening.",
    "You kept the shared calendar up to date all week.",
)
_HOW = {
    "yes": (
        "We kept it to forty minutes and stopped on time.",
        "We moved it to Wednesday, agreed the day before, and kept it.",
    ),
    "no": ("A late meeting; we did not set another time.", "We were both too tired."),
    "none": ("",),
}
_THERAPIST_NOTES = (
    "Ask about the Thursday evening.",
    "Steadier: name the walks in session.",
    "Check the window is not turning into the only time they talk.",
)
_STEPS = tuple(questions.GROUNDING_STEPS)


@dataclass(frozen=True)
class _CheckinWeeks:
    """The weeks check-ins are loaded for, newest (this week) first: the day each opened
    (`week_of`) and the moment, from the check-in service's own clock for a couple of the
    practice in UTC (the bench couples' zone) on the practice's day and hour."""

    week_of: list[date]
    opened: list[datetime]

    @classmethod
    def plan(cls, practice_id: int, count: int, now: datetime) -> _CheckinWeeks:
        if count <= 0:
            return cls([], [])
        couple = Couple(practice_id=practice_id, time_zone="UTC")  # never added to the session
        latest = checkin_service.week_of(couple, now)
        days = [latest - timedelta(weeks=back) for back in range(count)]
        return cls(days, [checkin_service.opens_at(couple, day).astimezone(UTC) for day in days])


def _checkin_status(n: int, position: int, back: int) -> str | None:
    """The state of partner `position`'s check-in `back` weeks ago (0: this week), None when
    the partner has none that week."""
    if n % 4 == 2:  # paused couples stopped checking in some weeks ago
        if back < 3 + n % 6:
            return None
    elif n % 20 == 1 and back < 4:  # a few active couples stopped a month ago
        return None
    if back == 0:  # this week: not opened, opened, being written or already handed in
        if position == 1:
            return (None, CheckinStatus.OPEN, CheckinStatus.SUBMITTED)[n % 3]
        return CheckinStatus.DRAFT if n % 2 == 0 else CheckinStatus.SUBMITTED
    if (n * 7 + back * 13 + position * 5) % 17 == 0 or (back + n) % 52 in (20, 21):
        return None  # a missed week, and two weeks away each year
    if back == 1 or (back == 2 and n % 5 == 0):
        return CheckinStatus.SUBMITTED  # not read by the therapist yet
    return CheckinStatus.REVIEWED


def _checkin_content(
    n: int, position: int, back: int, agreement_keys: tuple[str, ...], *, draft: bool = False
) -> dict:
    """What the check-in form stores (`questions.parse_form`) for one partner's week: markers
    slowly better over two years (later for the partner who was hurt), on some couples falling
    over the last weeks; a few questions left blank, as partners do. A draft has only its
    first answers."""
    content = questions.empty()
    progress = max(0.0, 1 - back / 104)  # 0 two years ago, 1 this week
    lag = 0.5 if position == 1 else 0.0
    falling = n % 7 == 5 and back <= 4  # these couples' latest weeks go down
    for i, key in enumerate(questions.MARKER_KEYS):
        if (n + 3 * back + 5 * i + position) % 29 == 0 or (draft and i >= 2):
            continue  # left blank
        if falling and i <= n % 3:
            value = 1 + back
        else:
            wiggle = ((n * 31 + back * 17 + i * 7 + position) % 5 - 2) * 0.3
            value = 1.4 + (i % 3) * 0.3 + 2.8 * progress - lag + wiggle
        content["markers"][key] = max(1, min(5, round(value)))
    wiggle = ((n * 13 + back * 5 + position) % 5 - 2) * 0.4
    count = None if (n + back + position) % 31 == 0 else max(0, round(5 - 4.5 * progress + wiggle))
    triggers = content["triggers"]
    triggers["count"] = count
    content["facts"] = _FACTS[(n + back + position) % len(_FACTS)]
    if draft:
        return content
    if count:
        triggers["longest_minutes"] = 5 * max(2, round((150 - 130 * progress) / 5 + 3 * wiggle))
        chosen = {(n + back) % len(_STEPS), (n + back + 3) % len(_STEPS)}
        triggers["helped"] = [step for i, step in enumerate(_STEPS) if i in chosen]
        if (n + back) % 11 == 0:
            triggers["helped_other"] = "A walk round the block on my own."
    held = "none" if n % 10 == 9 else ("no" if (n + back) % 6 == 0 else "yes")
    hows = _HOW[held]
    content["window"] = {"held": held, "how": hows[(n + back) % len(hows)]}
    for j, key in enumerate(agreement_keys):
        if (n + back + j) % 13 == 0:
            continue  # not answered
        if (n + back + j) % 7 == 0:
            content["kept"][key] = "no"
        else:
            content["kept"][key] = "mostly" if progress < 0.4 else "yes"
    content["feelings"] = _FEELINGS[(n * 3 + back + position) % len(_FEELINGS)]
    content["went_well"] = _WENT_WELL[(n + back * 2 + position) % len(_WENT_WELL)]
    content["reflection"] = _REFLECTIONS[(n + back + position) % len(_REFLECTIONS)]
    return content


class _Contents:
    """Check-in contents as stored: each answer pattern built and serialized once, then the
    couple's own agreement ids put into its JSON text (building and serializing a million
    contents one by one took a third of the load's time). A pattern repeats every `CYCLE`
    couples."""

    CYCLE = 60
    # Stand-ins for the couple's agreement ids in the cached text (bench couples have two).
    SLOTS = ("@agreement-0@", "@agreement-1@")

    def __init__(self) -> None:
        self._made: dict[tuple, tuple[dict, str]] = {}

    def get(
        self, n: int, position: int, back: int, keys: tuple[str, ...], *, draft: bool = False
    ) -> tuple[dict, str]:
        """The content (with stand-in agreement ids: read its markers, not its keys) and its
        JSON text for this couple."""
        pattern = (n % self.CYCLE, position, back, draft)
        if pattern not in self._made:
            content = _checkin_content(*pattern[:3], self.SLOTS[: len(keys)], draft=draft)
            self._made[pattern] = (content, json.dumps(content))
        content, stored = self._made[pattern]
        for slot, key in zip(self.SLOTS, keys, strict=False):
            stored = stored.replace(slot, key)
        return content, stored


def _insert_checkins(rows: list[dict]) -> None:
    """Check-ins whose content is already JSON text (`content_json`): bound as text, and cast
    to JSON on PostgreSQL, so that SQLAlchemy does not serialize it a second time."""
    table = Checkin.__table__
    text_value = bindparam("content_json", type_=Text())
    if db.session.get_bind().dialect.name == "postgresql":
        text_value = cast(text_value, table.c.content.type)
    statement = insert(table).values(content=text_value)
    for chunk in _batches(rows, 5000):
        db.session.execute(statement, chunk)


def _seed_checkins(
    numbers: list[int],
    couples: list[SeededCouple],
    *,
    agreement_keys: list[tuple[str, ...]],
    therapist_for: list[int],
    practice_id: int,
    weeks: _CheckinWeeks,
    now: datetime,
) -> None:
    """Each partner's weekly check-ins, in bulk, `CHECKIN_ROWS` at a time.

    This week's: partner 1 has not opened it on a third of couples, opened it on a third and
    handed it in on the rest; partner 2 is writing it (a draft) on even couples and has handed
    it in on odd ones. Earlier weeks: handed in, except about one week in ten missed (and every
    week since a paused couple, or a few active ones, stopped); last week's, and on a fifth of
    couples the week before, wait for the therapist; the rest are read (marked reviewed, a
    private note on some). Each partner's summary (the latest week handed in, and how many
    markers fell three handed-in weeks running) is kept on the partner where the model has it.
    On 2 couples in 100 the latest check-in of one partner carries an unsafe answer that
    raised a flag still open (seen on half of them), and on 2 more a flag since addressed.
    """
    if not weeks.week_of:
        return
    empty = json.dumps(questions.empty())
    contents = _Contents()
    pending: list[dict] = []
    summaries: list[dict] = []
    flagged: list[tuple[int, dict, str]] = []  # couple index, its check-in row, flag state

    def flush() -> None:
        for row, row_id in zip(pending, _ids.take(Checkin, len(pending)), strict=True):
            row["id"] = row_id
        _insert_checkins(pending)
        pending.clear()

    for index, (n, couple) in enumerate(zip(numbers, couples, strict=True)):
        keys = agreement_keys[index]
        therapist_id = therapist_for[index]
        for position, partner_id in enumerate(couple.partner_ids, start=1):
            handed_in: list[dict] = []  # rows, newest first
            markers: list[dict] = []  # their contents (for the summary), newest first
            for back, (week, opened) in enumerate(zip(weeks.week_of, weeks.opened, strict=True)):
                status = _checkin_status(n, position, back)
                if status is None:
                    continue
                # The week's own span: until the next week opened (this week: until now).
                span = (weeks.opened[back - 1] if back else now) - opened
                moment = opened + span * ((30 + (n * 37 + back * 11 + position * 7) % 60) / 100)
                row = {
                    "practice_id": practice_id,
                    "public_id": new_public_id(),
                    "couple_id": couple.id,
                    "partner_id": partner_id,
                    "week_of": week,
                    "status": status.value,
                    "shared": False,
                    "content_json": empty,
                    "version": 0,
                    "last_saved_at": None,
                    "submitted_at": None,
                    "reviewed_at": None,
                    "reviewed_by_id": None,
                    "therapist_note": "",
                    "created_at": opened + span / 10,
                }
                if status == CheckinStatus.DRAFT:
                    _, row["content_json"] = contents.get(n, position, back, keys, draft=True)
                    row |= {"version": 2, "last_saved_at": moment}
                elif status != CheckinStatus.OPEN:
                    content, row["content_json"] = contents.get(n, position, back, keys)
                    markers.append(content)
                    row |= {
                        "shared": (n + back + position) % 4 == 0,
                        "version": 2 + (n + back) % 3,
                        "last_saved_at": moment,
                        "submitted_at": moment,
                    }
                    handed_in.append(row)
                if status == CheckinStatus.REVIEWED:
                    row |= {
                        "reviewed_at": min(moment + timedelta(hours=20 + (n + back) % 50), now),
                        "reviewed_by_id": therapist_id,
                        "therapist_note": _THERAPIST_NOTES[(n + back) % len(_THERAPIST_NOTES)]
                        if (n + back) % 5 == 0
                        else "",
                    }
                pending.append(row)
            if handed_in and _KEEPS_SUMMARY:
                summaries.append(
                    {
                        "b_id": partner_id,
                        "b_last": handed_in[0]["week_of"],
                        # The latest check-in and the twelve before it, oldest first, as the
                        # check-in service reads them when one is handed in.
                        "b_falling": questions.declining(markers[:13][::-1]),
                    }
                )
            flag = {3: "open", 53: "seen", 23: "addressed", 73: "addressed"}.get(n % 100)
            if flag and handed_in and position == 1 + (n // 100) % 2:
                flagged.append((index, handed_in[0], flag))
            if len(pending) >= CHECKIN_ROWS:
                flush()
    flush()
    if summaries:
        partners = Partner.__table__
        db.session.execute(
            update(partners)
            .where(partners.c.id == bindparam("b_id"))
            .values(last_checkin_on=bindparam("b_last"), declining_markers=bindparam("b_falling")),
            summaries,
        )
    _seed_safety_flags(flagged, couples, therapist_for, practice_id=practice_id, now=now)


def _seed_safety_flags(
    flagged: list[tuple[int, dict, str]],
    couples: list[SeededCouple],
    therapist_for: list[int],
    *,
    practice_id: int,
    now: datetime,
) -> None:
    """An unsafe answer to a check-in's safety items, the flag it raised and the therapist's
    notice: as `services.safety` records them."""
    answer_ids = _insert_returning_ids(
        SafetyAnswer,
        [
            {
                "practice_id": practice_id,
                "couple_id": row["couple_id"],
                "partner_id": row["partner_id"],
                "instrument": "checkin_items",
                "context": "checkin",
                "checkin_id": row["id"],
                "answers": {
                    "safe_at_home": "no" if index % 3 == 0 else "not_sure",
                    "feel_heard": "no" if index % 2 else "yes",
                },
                "score": None,
                "positive": True,
                "answered_at": row["submitted_at"],
            }
            for index, row, _state in flagged
        ],
    )
    flags, notices = [], []
    for answer_id, (index, row, state) in zip(answer_ids, flagged, strict=True):
        therapist_id = therapist_for[index]
        raised = row["submitted_at"]
        seen = min(raised + timedelta(hours=3), now) if state != "open" else None
        addressed = min(raised + timedelta(days=1), now) if state == "addressed" else None
        flags.append(
            {
                "practice_id": practice_id,
                "couple_id": row["couple_id"],
                "partner_id": row["partner_id"],
                "answer_id": answer_id,
                "raised_at": raised,
                "seen_at": seen,
                "seen_by_id": therapist_id if seen else None,
                "addressed_at": addressed,
                "addressed_by_id": therapist_id if addressed else None,
                "note": "Called the same day; a safety plan is in place." if addressed else "",
            }
        )
        notices.append(
            {
                "practice_id": practice_id,
                "recipient_user_id": therapist_id,
                "recipient_partner_id": None,
                "couple_id": couples[index].id,
                "kind": "safety.answer",
                "link": f"/couples/{couples[index].id}",
                "created_at": raised,
                "read_at": seen,
            }
        )
    _insert(SafetyFlag, flags)
    _insert(Notice, notices)


def refresh_statistics() -> None:
    """Give the planner statistics after a bulk load: `ANALYZE` on PostgreSQL; `ANALYZE`
    then `PRAGMA optimize` on SQLite. Commits; call inside an app context."""
    db.session.commit()
    engine = db.engine
    if engine.dialect.name == "postgresql":
        # ANALYZE may run inside a transaction, but autocommit keeps it independent.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    elif engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
            connection.execute(text("PRAGMA optimize"))

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
- a transition row for every piece that moved past "assigned".

Partner 1's first apology and partner 2's own apology are private, writable drafts: the
concurrent autosave bench saves into them (`SeededCouple.drafts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from sqlalchemy import func, insert, select, text

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
from practice.models.homework import new_public_id
from practice.security import hash_password, new_token
from practice.services.portal_access import privacy_notice_digest
from practice.tenancy import unscoped

PASSWORD = "bench-password-1"  # noqa: S105 - the bench's own throwaway practice
BATCH = 1000  # couples per round of inserts: bounds memory and statement size

_password_hashes: dict[str, str] = {}


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
) -> SeedResult:
    """Insert `couples` couples with homework at every stage into a practice; return a
    `SeedResult` (ids, logins, each partner's link token and draft public ids).

    Call inside an app context on a migrated database. `practice`: an existing practice to
    fill (its owner is reused when it has one, else one is made); None makes a new practice
    named by `slug` (unique per database: call again with another slug for a second
    practice). Users are `owner@<slug>.bench.example.com` and `t<i>@<slug>.bench.example.com`
    (`therapists` of them, couples assigned round robin), all with `password`. `commit`:
    commit at the end (False leaves the rows in the session's transaction).

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
) -> list[SeededCouple]:
    pid = practice_id
    statuses = ("active", "active", "paused", "closed")

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
                "created_at": now - timedelta(days=n % 600),
                "closed_at": now if statuses[n % 4] == "closed" else None,
                "last_activity_at": now - timedelta(minutes=n * 7 % 50000),
            }
            for n in numbers
        ],
    )
    partner_rows = []
    for n, couple_id in zip(numbers, couple_ids, strict=True):
        for position, role in ((1, "hurt"), (2, "broke_trust")):
            partner_rows.append(
                {
                    "practice_id": pid,
                    "couple_id": couple_id,
                    "position": position,
                    "display_name": f"{('Sam', 'Alex')[position - 1]} {n}",
                    "email": None,
                    "repair_role": role,
                    "time_zone": "UTC",
                    "session_version": 1,
                    "created_at": now - timedelta(days=n % 600),
                    "joined_at": now - timedelta(days=n % 300),
                    "last_seen_at": now - timedelta(hours=n % 500),
                    "privacy_acknowledged_version": notice_version,
                    "privacy_acknowledged_digest": digest,
                }
            )
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
    return result


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

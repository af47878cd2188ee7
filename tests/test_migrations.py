"""Migrations: one head, an empty database upgraded to it matches the models exactly, and the
homework workflow migration moves a copy of the demo's stored homework forward and back.

Each database test builds a second app on a database of its own. It shares the module-level
extensions with the session app, so it runs in its own app context, with rate limits off (the
limiter keeps `enabled` on itself), and disposes of its engine before the database goes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from practice.extensions import db
from tests.conftest import TEST_DATABASE_URL, missing_service

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _script_directory() -> ScriptDirectory:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_there_is_a_single_head_and_a_single_base():
    script = _script_directory()
    heads = script.get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"
    assert len(script.get_bases()) == 1
    # Every revision is reachable from the head: no orphaned branch.
    assert len(list(script.walk_revisions())) == len(
        list(script.revision_map.iterate_revisions(heads[0], "base"))
    )


@contextmanager
def migration_app(database_uri: str, tmp_path: Path, monkeypatch) -> Iterator:
    """A second app on `database_uri`, its app context pushed for the block."""
    monkeypatch.setenv("PRACTICE_INSTANCE_PATH", str(tmp_path))
    from practice import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": None,
            "JOBS_INLINE": True,
        }
    )
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def _schema_diff() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _upgrade_compare_downgrade_upgrade(app) -> None:
    from flask_migrate import downgrade, upgrade

    assert db.engine.url.render_as_string() == app.config["SQLALCHEMY_DATABASE_URI"]
    assert _table_names() == set()

    upgrade()
    assert _table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert _schema_diff() == []

    downgrade(revision="base")
    assert _table_names() <= {"alembic_version"}

    upgrade()
    assert _schema_diff() == []
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert current == tuple(_script_directory().get_heads())


def test_sqlite_upgrade_matches_the_models_and_downgrades(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    with migration_app(uri, tmp_path, monkeypatch) as app:
        _upgrade_compare_downgrade_upgrade(app)


@pytest.fixture
def throwaway_postgres() -> Iterator[str]:
    """A brand-new PostgreSQL database, dropped afterwards; its SQLAlchemy URL."""
    # The server to make throwaway databases on: TEST_POSTGRES_URL, so that the SQLite run of
    # the suite checks the migrations on PostgreSQL too; else the suite's own database.
    server_url = os.environ.get("TEST_POSTGRES_URL") or TEST_DATABASE_URL
    if not server_url:
        missing_service("PostgreSQL (set TEST_POSTGRES_URL or TEST_DATABASE_URL)")
    import psycopg

    from practice.config import normalise_database_url

    url = make_url(normalise_database_url(server_url))
    admin = url.set(drivername="postgresql", database="postgres")
    name = f"practice_migrations_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)
    except psycopg.OperationalError:
        missing_service(f"PostgreSQL at {server_url}")
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgresql_upgrade_matches_the_models_and_downgrades(
    throwaway_postgres, tmp_path, monkeypatch
):
    with migration_app(throwaway_postgres, tmp_path, monkeypatch) as app:
        _upgrade_compare_downgrade_upgrade(app)


# --- the homework workflow migration, on a copy of the demo data -------------------------------
#
# The demo's homework as the schema before the workflow statuses stored it: a final contract
# was 'submitted' and a signed one 'reviewed', a window both confirmed was 'submitted', and a
# returned piece kept its one (latest) comment in homework_responses.therapist_comment.
# Inserted with plain SQL into the old tables; the models describe only the new ones.

BEFORE_WORKFLOW = "5a6d5619bd97"  # the revision before c7d2e5f1a8b4 (homework statuses)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OWNER, THERAPIST = 1, 2
SAM, ALEX, PRIYA, DEV, JAMIE, TAYLOR = 1, 2, 3, 4, 5, 6
SECOND_COMMENT = (
    "This is much clearer, thank you. The change plan still says 'try': name one thing "
    "Priya will see you do, and how often."
)
CONTRACT = {
    "commitments_1": [
        "Name a trigger when it happens, without blame.",
        "Use the code word.",
        "Plan one fun evening a week.",
    ],
    "commitments_2": [
        "Answer questions in the window fully.",
        "Text when plans change.",
        "Keep every small promise.",
    ],
    "support": "A short hug and five quiet minutes when one of us is flooded.",
    "breaks": "Any new contact with the colleague.",
    "revisit_date": "2026-12-20",
}


class Old(NamedTuple):
    """A demo response as stored before the workflow statuses, and the status it moves to."""

    id: int
    assignment: int
    couple: int
    author: int | None
    kind: str
    status: str
    new_status: str
    audience: str = "private"
    comment: str | None = None
    # (from, to, therapist, partner)
    history: tuple[tuple[str, str, int | None, int | None], ...] = ()


DRAFTED = ("assigned", "draft")
RESPONSES = [
    Old(
        1,
        1,
        1,
        ALEX,
        "apology",
        "reviewed",
        "reviewed",
        "couple",
        history=(
            (*DRAFTED, None, ALEX),
            ("draft", "submitted", None, ALEX),
            ("submitted", "reviewed", THERAPIST, None),
        ),
    ),
    Old(
        2,
        2,
        1,
        SAM,
        "boundaries",
        "submitted",
        "submitted",
        history=(
            (*DRAFTED, None, SAM),
            ("draft", "submitted", None, SAM),
        ),
    ),
    Old(3, 2, 1, ALEX, "boundaries", "draft", "draft", history=((*DRAFTED, None, ALEX),)),
    # The processing window both confirmed.
    Old(
        4,
        3,
        1,
        None,
        "processing_window",
        "submitted",
        "confirmed",
        "couple",
        history=(
            (*DRAFTED, None, SAM),
            ("draft", "submitted", None, ALEX),
        ),
    ),
    # The contract made final, signed by Sam so far.
    Old(
        5,
        4,
        1,
        None,
        "repair_contract",
        "submitted",
        "final",
        "couple",
        history=(
            (*DRAFTED, None, SAM),
            ("draft", "submitted", THERAPIST, None),
        ),
    ),
    # The apology returned twice: the column kept only the latest comment.
    Old(
        6,
        5,
        2,
        DEV,
        "apology",
        "returned",
        "returned",
        comment=SECOND_COMMENT,
        history=(
            (*DRAFTED, None, DEV),
            ("draft", "submitted", None, DEV),
            ("submitted", "returned", OWNER, None),
            ("returned", "submitted", None, DEV),
            ("submitted", "returned", OWNER, None),
        ),
    ),
    Old(7, 6, 3, JAMIE, "boundaries", "assigned", "assigned"),
    Old(8, 6, 3, TAYLOR, "boundaries", "assigned", "assigned"),
    # A contract both signed.
    Old(
        9,
        7,
        3,
        None,
        "repair_contract",
        "reviewed",
        "signed",
        "couple",
        history=(
            (*DRAFTED, None, JAMIE),
            ("draft", "submitted", THERAPIST, None),
            ("submitted", "reviewed", None, TAYLOR),
        ),
    ),
]
MOVED = {
    4: [DRAFTED, ("draft", "confirmed")],
    5: [DRAFTED, ("draft", "final")],
    9: [DRAFTED, ("draft", "final"), ("final", "signed")],
}


def _demo_as_stored_then() -> list[tuple[str, list[dict]]]:
    """The demo's rows in the old schema, table by table in insert order."""
    at = (T0 + timedelta(minutes=minute) for minute in range(1000))
    common = {"practice_id": 1}
    couples = [
        (1, "Alex & Sam", "affair", THERAPIST),
        (2, "Priya & Dev", "financial_secret", OWNER),
        (3, "Jamie & Taylor", "lie", THERAPIST),
    ]
    partners = [
        (SAM, 1, 1, "Sam", "hurt"),
        (ALEX, 1, 2, "Alex", "broke_trust"),
        (PRIYA, 2, 1, "Priya", "hurt"),
        (DEV, 2, 2, "Dev", "broke_trust"),
        (JAMIE, 3, 1, "Jamie", "mutual"),
        (TAYLOR, 3, 2, "Taylor", "mutual"),
    ]
    assignments = [
        (1, 1, "apology", "one", THERAPIST),
        (2, 1, "boundaries", "each", THERAPIST),
        (3, 1, "processing_window", "joint", THERAPIST),
        (4, 1, "repair_contract", "joint", THERAPIST),
        (5, 2, "apology", "one", OWNER),
        (6, 3, "boundaries", "each", THERAPIST),
        (7, 3, "repair_contract", "joint", THERAPIST),
    ]
    content = {
        "apology": {
            "what_i_did": "I hid the credit card debt.",
            "how_it_hurt": "You felt lied to.",
            "responsibility": "I chose to hide it.",
            "amends": "I will try.",
        },
        "boundaries": {"proposals": []},
        "processing_window": {
            "slots": [{"weekday": 1, "start": "19:30", "minutes": 45}],
            "code_word": "lighthouse",
        },
        "repair_contract": CONTRACT,
    }
    transitions = []
    for response in RESPONSES:
        for from_status, to_status, user, partner in response.history:
            transitions.append(
                {
                    "response_id": response.id,
                    "from_status": from_status,
                    "to_status": to_status,
                    "actor_user_id": user,
                    "actor_partner_id": partner,
                    "at": next(at),
                    **common,
                }
            )
    return [
        (
            "practices",
            [
                {
                    "id": 1,
                    "name": "Harbour Street Couples Therapy",
                    "slug": "harbour-street-demo",
                    "time_zone": "Europe/London",
                    "secrets_policy": "limited_secrets",
                    "secrets_policy_text": "Limited secrets.",
                    "created_at": T0,
                }
            ],
        ),
        (
            "users",
            [
                {
                    "id": user_id,
                    "email": email,
                    "name": name,
                    "role": role,
                    "active": True,
                    "password_hash": "x",
                    "session_version": 1,
                    "created_at": T0,
                    **common,
                }
                for user_id, email, name, role in (
                    (OWNER, "owner@example.com", "Morgan Reyes", "owner"),
                    (THERAPIST, "therapist@example.com", "Jordan Okafor", "therapist"),
                )
            ],
        ),
        (
            "couples",
            [
                {
                    "id": couple_id,
                    "label": label,
                    "status": "active",
                    "presenting_concern": concern,
                    "start_date": date(2026, 10, 9),
                    "time_zone": "Europe/London",
                    "therapist_notes": "",
                    "created_at": T0,
                    **common,
                }
                for couple_id, label, concern, _ in couples
            ],
        ),
        (
            "couple_therapists",
            [
                {
                    "id": couple_id,
                    "couple_id": couple_id,
                    "user_id": user_id,
                    "assigned_at": T0,
                    **common,
                }
                for couple_id, _, _, user_id in couples
            ],
        ),
        (
            "partners",
            [
                {
                    "id": partner_id,
                    "couple_id": couple_id,
                    "position": position,
                    "display_name": name,
                    "repair_role": role,
                    "time_zone": "Europe/London",
                    "session_version": 1,
                    "created_at": T0,
                    **common,
                }
                for partner_id, couple_id, position, name, role in partners
            ],
        ),
        (
            "assignments",
            [
                {
                    "id": assignment_id,
                    "couple_id": couple_id,
                    "kind": kind,
                    "mode": mode,
                    "instructions": "",
                    "created_by_id": user_id,
                    "created_at": T0,
                    **common,
                }
                for assignment_id, couple_id, kind, mode, user_id in assignments
            ],
        ),
        (
            "homework_responses",
            [
                {
                    "id": r.id,
                    "assignment_id": r.assignment,
                    "couple_id": r.couple,
                    "partner_id": r.author,
                    "kind": r.kind,
                    "status": r.status,
                    "audience": r.audience,
                    "content": content[r.kind],
                    "schema_version": 1,
                    "version": len(r.history),
                    "therapist_comment": r.comment,
                    **common,
                }
                for r in RESPONSES
            ],
        ),
        ("homework_transitions", transitions),
        (
            "agreements",
            [
                {
                    "id": 1,
                    "couple_id": 1,
                    "domain": "communication",
                    "text": "Tell each other about any message from an ex within 24 hours.",
                    "time_frame": "three months",
                    "created_by_id": THERAPIST,
                    "created_at": T0,
                    **common,
                }
            ],
        ),
        (
            "agreement_acceptances",
            [
                {"id": 1, "agreement_id": 1, "partner_id": SAM, "accepted_at": T0, **common},
            ],
        ),
        (
            "joint_confirmations",
            [
                {
                    "id": 1,
                    "response_id": 4,
                    "partner_id": SAM,
                    "version": 1,
                    "confirmed_at": T0,
                    **common,
                },
                {
                    "id": 2,
                    "response_id": 4,
                    "partner_id": ALEX,
                    "version": 1,
                    "confirmed_at": T0,
                    **common,
                },
            ],
        ),
        (
            "contract_versions",
            [
                {
                    "id": version_id,
                    "response_id": response_id,
                    "number": 1,
                    "content": CONTRACT,
                    "revisit_date": date(2026, 12, 20),
                    "finalized_by_id": THERAPIST,
                    "finalized_at": T0,
                    **common,
                }
                for version_id, response_id in ((1, 5), (2, 9))
            ],
        ),
        (
            "contract_signatures",
            [
                {
                    "id": signature_id,
                    "version_id": version_id,
                    "partner_id": partner_id,
                    "typed_name": name,
                    "signed_at": T0,
                    **common,
                }
                for signature_id, version_id, partner_id, name in (
                    (1, 1, SAM, "Sam"),
                    (2, 2, JAMIE, "Jamie"),
                    (3, 2, TAYLOR, "Taylor"),
                )
            ],
        ),
    ]


def _column_type(value):
    if isinstance(value, datetime):
        return sa.DateTime(timezone=True)
    if isinstance(value, date):
        return sa.Date()
    if isinstance(value, (dict, list)):
        return sa.JSON()
    return None


def _insert_old_demo() -> None:
    with db.engine.begin() as connection:
        for name, rows in _demo_as_stored_then():
            for row in rows:
                table = sa.table(name, *(sa.column(k, _column_type(v)) for k, v in row.items()))
                connection.execute(sa.insert(table).values(row))


def _rows(sql: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def _old_state() -> dict[str, list[tuple]]:
    return {
        "responses": _rows(
            "SELECT id, status, therapist_comment FROM homework_responses ORDER BY id"
        ),
        "transitions": _rows(
            "SELECT id, response_id, from_status, to_status FROM homework_transitions ORDER BY id"
        ),
        "acceptances": _rows(
            "SELECT agreement_id, partner_id FROM agreement_acceptances ORDER BY id"
        ),
    }


def _migrate_the_demo_copy() -> None:
    from flask_migrate import downgrade, upgrade

    upgrade(revision=BEFORE_WORKFLOW)
    _insert_old_demo()
    before = _old_state()
    assert [status for _, status, _ in before["responses"]] == [r.status for r in RESPONSES]

    upgrade()

    # Statuses say what happened: a final and a signed contract, a confirmed window; the
    # apologies, boundary sheets and everything else stay as they were.
    statuses = dict(_rows("SELECT id, status FROM homework_responses"))
    assert statuses == {r.id: r.new_status for r in RESPONSES}
    # The recorded history of the moved kinds says the same; other kinds' history is untouched.
    history = {}
    for response_id, from_status, to_status in _rows(
        "SELECT response_id, from_status, to_status FROM homework_transitions ORDER BY id"
    ):
        history.setdefault(response_id, []).append((from_status, to_status))
    for r in RESPONSES:
        old = [(from_status, to_status) for from_status, to_status, _, _ in r.history]
        assert history.get(r.id, []) == MOVED.get(r.id, old), r.kind

    # The one comment became the first of the returned apology's history: by the owner, who
    # returned it last, at the time of that return.
    last_return_at = _rows(
        "SELECT at FROM homework_transitions WHERE response_id = 6 ORDER BY id DESC LIMIT 1"
    )
    assert _rows("SELECT response_id, author_user_id, body, created_at FROM homework_comments") == [
        (6, OWNER, SECOND_COMMENT, last_return_at[0][0])
    ]

    # Every response and agreement has its own opaque public id.
    for public_ids, count in (
        (_rows("SELECT public_id FROM homework_responses"), len(RESPONSES)),
        (_rows("SELECT public_id FROM agreements"), 1),
    ):
        assert len(public_ids) == count
        assert all(public_id for (public_id,) in public_ids)
        assert len(set(public_ids)) == count
    # An acceptance from before is an acceptance still.
    assert _rows("SELECT partner_id, decision, note FROM agreement_acceptances") == [
        (SAM, "accepted", None)
    ]

    downgrade(revision=BEFORE_WORKFLOW)
    assert _old_state() == before
    assert _rows("SELECT therapist_comment FROM homework_responses WHERE id = 6") == [
        (SECOND_COMMENT,)
    ]
    assert "homework_comments" not in _table_names()


def test_sqlite_migrates_a_copy_of_the_demo_homework_and_back(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'demo.db'}"
    with migration_app(uri, tmp_path, monkeypatch):
        _migrate_the_demo_copy()


def test_postgresql_migrates_a_copy_of_the_demo_homework_and_back(
    throwaway_postgres, tmp_path, monkeypatch
):
    with migration_app(throwaway_postgres, tmp_path, monkeypatch):
        _migrate_the_demo_copy()

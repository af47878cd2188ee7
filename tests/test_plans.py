"""Plans that cannot go quadratic: the statements of the main pages, planned on a database of
a fixed size, never loop over a whole practice for each row of a join.

Every statement carries `practice_id = ?` (the tenancy guard), often on every table. Where the
only index a join can use for a table is one on practice_id (or none), the planner reads the
whole practice once per row of the other side: 20 ms at 500 couples, seconds at 2,000. The
tenant-first indexes (tests/models/test_indexes.py) give every join a key to look up instead.

Each backend gets a database of its own, loaded once with plain bulk inserts (bench/seed.py:
300 couples in two practices, homework at every stage), PostgreSQL's autovacuum off for its
tables: what it holds and which statistics it has are this module's alone. The statements are
the app's own, recorded while a test client opens the caseload, a couple page, the dashboard,
the review queue and the portal home, as the owner, a therapist and a partner. Each is then
planned with no statistics, then after ANALYZE, and a join that loops over a practice-wide
read fails: on SQLite (EXPLAIN QUERY PLAN), a step after the head of its loop that scans a
large tenant table or searches it on practice_id alone; on PostgreSQL (EXPLAIN ANALYZE, the
statements are read-only), a scan inside a Nested Loop's inner side that ran more than once
and read a large tenant table whole or on practice_id alone.

PostgreSQL is judged after ANALYZE only: with no statistics at all it guesses every
`practice_id = ?` at 0.5% of a table, and loops whatever the indexes. It is never left
without them: see tests/test_statistics.py, and README on autovacuum.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from practice.extensions import db
from practice.tenancy import unscoped
from tests.conftest import TEST_DATABASE_URL, missing_service

# One worker runs the whole module (`make test`: --dist loadgroup), so each backend's database
# is loaded once, not once on every worker that gets one of its tests.
pytestmark = pytest.mark.xdist_group("plans")

# The fixed volume: couples in each of the two practices.
COUPLES = (200, 100)
# A table with fewer rows than this may be read whole inside a loop: planners do it on purpose
# for the tiny ones (a practice's few users), and it stays cheap whatever the caseload.
SMALL_TABLE = 50
# The pages, as a therapist opens them; {couple} is a couple of the first practice.
THERAPIST_PAGES = (
    "/couples",
    "/couples?status=all&sort=recent",
    "/couples?status=all&q=couple&page=2",
    "/couples/{couple}",
    "/dashboard",
    "/review",
)
PARTNER_PAGES = ("/portal",)


@dataclass(frozen=True, eq=False)
class Statement:
    sql: str
    parameters: object
    page: str

    def __str__(self) -> str:
        return f"{self.page}: {' '.join(self.sql.split())[:160]}…"


@dataclass
class PlansDatabase:
    backend: str
    path_or_url: str
    statements: list[Statement]
    tenant_tables: set[str]
    rows: dict[str, int]  # rows of each tenant table, as loaded

    def large(self, table: str) -> bool:
        return table in self.tenant_tables and self.rows.get(table, 0) >= SMALL_TABLE


# --- the database, loaded once per backend ------------------------------------------------------


def _postgres_server() -> str:
    server = os.environ.get("TEST_POSTGRES_URL") or (
        TEST_DATABASE_URL if TEST_DATABASE_URL.startswith("postgres") else ""
    )
    if not server:
        missing_service("PostgreSQL (set TEST_POSTGRES_URL or TEST_DATABASE_URL)")
    return server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def plans_database(request, tmp_path_factory) -> Iterator[PlansDatabase]:
    folder = tmp_path_factory.mktemp("plans")
    if request.param == "sqlite":
        path = str(folder / "plans.db")
        yield _build(f"sqlite:///{path}", path, folder)
        return

    import psycopg

    from practice.config import normalise_database_url

    url = make_url(normalise_database_url(_postgres_server()))
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    name = f"practice_plans_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(admin, autocommit=True)
    except psycopg.OperationalError:
        missing_service(f"PostgreSQL at {url.render_as_string()}")
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            database_url = url.set(database=name).render_as_string(hide_password=False)
            plain = url.set(drivername="postgresql", database=name)
            yield _build(database_url, plain.render_as_string(hide_password=False), folder)
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _build(database_url: str, path_or_url: str, folder) -> PlansDatabase:
    """Migrate, load, record the pages' statements; the app is gone when this returns."""
    from flask_migrate import upgrade

    from bench.seed import seed_practice
    from practice import create_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRACTICE_INSTANCE_PATH", str(folder))
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "RATELIMIT_ENABLED": False,
                "RATELIMIT_STORAGE_URI": "memory://",
                "REDIS_URL": None,
                "JOBS_INLINE": True,
                "WTF_CSRF_ENABLED": False,
            }
        )
    tenant_tables = {table.name for table in db.metadata.sorted_tables if "practice_id" in table.c}
    with app.app_context():
        try:
            upgrade()
            if db.engine.dialect.name == "postgresql":
                # Nothing gathers statistics behind the test's back.
                with db.engine.begin() as connection:
                    for table in db.metadata.sorted_tables:
                        connection.exec_driver_sql(
                            f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'
                        )
            seeded = [
                seed_practice(count, slug=f"plans{n}", therapists=4)
                for n, count in enumerate(COUPLES)
            ]
            with unscoped():  # counting across both practices
                rows = {
                    name: db.session.scalar(
                        select(func.count()).select_from(db.metadata.tables[name])
                    )
                    for name in tenant_tables
                }
            db.session.commit()
        finally:
            db.session.remove()
    try:
        statements = _record_the_pages(app, seeded[0])
    finally:
        with app.app_context():
            db.engine.dispose()
    return PlansDatabase(
        backend=make_url(database_url).get_backend_name(),
        path_or_url=path_or_url,
        statements=statements,
        tenant_tables=tenant_tables,
        rows=rows,
    )


def _record_the_pages(app, seeded) -> list[Statement]:
    """Every SELECT the app sends for the pages, once each (the first parameters kept)."""
    with app.app_context():
        engine = db.engine
    recorded: dict[str, Statement] = {}
    current = {"page": ""}

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and statement not in recorded:
            recorded[statement] = Statement(statement, parameters, current["page"])

    couple = seeded.couples[len(seeded.couples) // 2]
    visits = [
        (seeded.owner_email, THERAPIST_PAGES),
        (seeded.therapist_emails[0], THERAPIST_PAGES),
    ]
    event.listen(engine, "before_cursor_execute", record)
    try:
        for email, pages in visits:
            client = app.test_client()
            response = client.post("/login", data={"email": email, "password": seeded.password})
            assert response.status_code == 302, email
            for page in pages:
                current["page"] = page = page.format(couple=_couple_of(seeded, email, couple))
                response = client.get(page)
                assert response.status_code == 200, (page, response.status_code)
        partner_id = couple.partner_ids[0]
        client = app.test_client()
        response = client.post(f"/p/{couple.invite_tokens[partner_id]}")
        assert response.status_code == 302, response.status_code
        for page in PARTNER_PAGES:
            current["page"] = page
            response = client.get(page)
            assert response.status_code == 200, (page, response.status_code)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return list(recorded.values())


def _couple_of(seeded, email, couple) -> int:
    """A couple this person sees: any for the owner; for a therapist, one of theirs."""
    if email == seeded.owner_email:
        return couple.id
    # Couples are assigned round robin: the first therapist has the first couple.
    return seeded.couples[0].id


# --- the planners ------------------------------------------------------------------------------


def _table_of(alias: str, tables: set[str]) -> str | None:
    """`couples_1` -> `couples` (SQLAlchemy's aliases), if it names a table of ours."""
    if alias in tables:
        return alias
    base = re.sub(r"_\d+$", "", alias)
    return base if base in tables else None


# SQLite, e.g. "SEARCH partners USING INDEX uq_partners_... (practice_id=? AND couple_id=?)"
_SQLITE_STEP = re.compile(
    r"^(?P<how>SCAN|SEARCH) (?P<alias>\w+)"
    r"(?: USING (?:(?:COVERING )?INDEX \w+|INTEGER PRIMARY KEY))?(?: \((?P<keys>[^)]*)\))?"
)


def sqlite_loops(plan: list[tuple], database: PlansDatabase) -> list[str]:
    """Practice-wide reads inside a loop in an EXPLAIN QUERY PLAN: a full scan of a large
    tenant table, or a search on practice_id alone, anywhere but at the head of its loop."""
    children: dict[int, list[tuple[int, str]]] = {}
    details = {}
    for node_id, parent, _unused, detail in plan:
        children.setdefault(parent, []).append((node_id, detail))
        details[node_id] = detail
    found = []
    for parent, steps in children.items():
        # A correlated subquery runs once per row of its query: all of it loops.
        correlated = "CORRELATED" in details.get(parent, "")
        looped = [
            detail
            for _node, detail in steps
            if _SQLITE_STEP.match(detail)
            and "AUTOMATIC" not in detail
            and not detail.startswith(("SCAN (", "SCAN CONSTANT"))
        ]
        for position, detail in enumerate(looped):
            if position == 0 and not correlated:
                continue  # the head of the loop: read once
            step = _SQLITE_STEP.match(detail)
            table = _table_of(step["alias"], database.tenant_tables)
            if table is None:
                continue
            # "practice_id=? AND couple_id=?" -> {"practice_id", "couple_id"}
            keys = set(re.findall(r"(\w+)[=<>]", step["keys"] or ""))
            if step["how"] == "SCAN":
                practice_wide = database.large(table)
            else:
                practice_wide = not keys - {"practice_id"}
            if practice_wide:
                found.append(detail)
    return found


def _pg_nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _pg_nodes(child)


_PG_KEY = re.compile(r"\(?(?:\w+\.)?(\w+) (?:=|<|>|<=|>=|~~) ")


def postgresql_loops(plan: dict, database: PlansDatabase) -> list[str]:
    """Practice-wide reads inside a loop in an EXPLAIN (ANALYZE, FORMAT JSON): on the inner
    side of a Nested Loop, a scan that ran more than once and looked up nothing but the
    practice: an index scan on practice_id alone, or a Seq Scan of a large tenant table whose
    filter names no other key (a Seq Scan of a table of a few pages, filtered on a couple's
    id, is the planner's cheaper way to read a few rows; it takes the index at scale)."""
    found = []
    for node in _pg_nodes(plan):
        if node["Node Type"] != "Nested Loop":
            continue
        inner = next(p for p in node["Plans"] if p.get("Parent Relationship") == "Inner")
        for scan in _pg_nodes(inner):
            table = scan.get("Relation Name")
            if table not in database.tenant_tables or scan.get("Actual Loops", 0) < 2:
                continue  # not ours, or read once (its loop had one row, or none)
            if scan["Node Type"] == "Seq Scan":
                condition = scan.get("Filter", "")
                if not database.large(table):
                    continue
            else:
                condition = scan.get("Index Cond") or scan.get("Recheck Cond") or ""
            # "((practice_id = 1) AND (partner_id = partners.id))" -> {"partner_id"}
            if not set(_PG_KEY.findall(condition)) - {"practice_id"}:
                found.append(f"{scan['Node Type']} on {scan.get('Alias', table)} ({condition})")
    return found


def _sqlite_plans(database: PlansDatabase) -> dict[Statement, list[str]]:
    connection = sqlite3.connect(database.path_or_url)
    try:
        # The app's own lower() (Unicode), which its searches call.
        connection.create_function("lower", 1, lambda v: v.lower() if isinstance(v, str) else v)
        return {
            statement: sqlite_loops(
                connection.execute(
                    "EXPLAIN QUERY PLAN " + statement.sql, statement.parameters
                ).fetchall(),
                database,
            )
            for statement in database.statements
        }
    finally:
        connection.close()


def _postgresql_plans(database: PlansDatabase) -> dict[Statement, list[str]]:
    import psycopg

    with psycopg.connect(database.path_or_url) as connection:
        plans = {}
        for statement in database.statements:
            (explained,) = connection.execute(
                "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement.sql,
                statement.parameters,
            ).fetchone()
            plans[statement] = postgresql_loops(explained[0]["Plan"], database)
        return plans


def _plans(database: PlansDatabase) -> dict[Statement, list[str]]:
    if database.backend == "sqlite":
        return _sqlite_plans(database)
    return _postgresql_plans(database)


def _forget_statistics(database: PlansDatabase) -> None:
    """SQLite: none, as on a database nobody analysed (the app's connections optimize when
    they close, so the recording may have left some). Plans read them at connect."""
    connection = sqlite3.connect(database.path_or_url)
    with connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            connection.execute("DELETE FROM sqlite_stat1")
    connection.close()


def _analyze(database: PlansDatabase) -> None:
    if database.backend == "sqlite":
        connection = sqlite3.connect(database.path_or_url)
        with connection:
            connection.execute("ANALYZE")
        connection.close()
        return
    import psycopg

    with psycopg.connect(database.path_or_url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def _report(plans: dict[Statement, list[str]]) -> str:
    return "\n".join(
        f"{statement}\n    loops over: {loops}" for statement, loops in plans.items() if loops
    )


# --- the tests ---------------------------------------------------------------------------------


def test_the_pages_were_recorded(plans_database):
    pages = {statement.page for statement in plans_database.statements}
    assert {"/couples", "/dashboard", "/review", "/portal"} <= pages
    assert any(page.startswith("/couples/") for page in pages)
    # The volume the plans are judged at.
    assert plans_database.rows["couples"] == sum(COUPLES)
    assert plans_database.rows["homework_responses"] >= 5 * sum(COUPLES)


def test_no_page_loops_over_a_practice_without_statistics(plans_database):
    if plans_database.backend == "postgresql":
        pytest.skip(
            "PostgreSQL with no statistics takes every `practice_id = ?` for 0.5% of a table "
            "and plans loops over the practice whatever the indexes: it gets statistics from "
            "ANALYZE after db upgrade and seed-demo (tests/test_statistics.py) and after the "
            "bench's load, and from autovacuum in production"
        )
    _forget_statistics(plans_database)
    report = _report(_plans(plans_database))
    assert not report, f"Loops over a whole practice:\n{report}"


def test_no_page_loops_over_a_practice_after_analyze(plans_database):
    _analyze(plans_database)
    report = _report(_plans(plans_database))
    assert not report, f"Loops over a whole practice:\n{report}"

"""Time the main pages at one practice size on one database; print or write JSON.

    python -m bench.pages --couples 500 [--database URL] [--json out.json]

Run by `python -m bench` (which compares sizes); on its own it prints one size. Requests go
through Flask's test client, in this process: the whole WSGI app (routing, sessions, CSRF,
the tenancy guard, SQL, Jinja) without a socket or a server. `/healthz` is timed the same way
in the same process (100 requests just before each page), so "throughput %" (healthz median /
page median) reads the page's own cost relative to the cheapest request the app can answer.

The database is emptied and migrated first (SQLite: a file in a temporary folder). Then
`bench.seed.seed_practice` loads the practice, and a second practice a tenth of its size
(other tenants' rows in every table), each couple with BENCH_CHECKIN_WEEKS weeks of
check-ins (default 104, two years: about 200 rows a couple), and `refresh_statistics()` runs
(BENCH_ANALYZE=0 skips it: the planner then sees a freshly loaded database).

Before that, the caseload's first page and the dashboard are timed on the freshly loaded
database, before any statistics (BENCH_FRESH=0 skips this): the state a practice is in right
after an import, where a planner without statistics may pick a plan that loops.

Environment: BENCH_ROUNDS (requests per page, default 30), BENCH_PAGE_SECONDS (a page stops
early once it has used this much time, after at least 3 rounds; default 10),
BENCH_CHECKIN_WEEKS (weeks of check-ins per couple, default 104).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", "10"))
HEALTHZ_ROUNDS = 400
HEALTHZ_NEAR = 100
MIN_ROUNDS = 3
CHECKIN_WEEKS = int(os.environ.get("BENCH_CHECKIN_WEEKS", "104"))


def build_app(url: str | None, instance: Path):
    os.environ["PRACTICE_ENV"] = "testing"
    os.environ["PRACTICE_INSTANCE_PATH"] = str(instance)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    from practice import create_app
    from practice.config import normalise_database_url

    url = url or f"sqlite:///{instance}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    return app


def reset_database(app) -> None:
    """An empty, migrated database."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from practice.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as connection:
                connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()


class Recorder:
    """SQL statements and their time, and template time, for the request in progress."""

    def __init__(self, app):
        from flask import before_render_template, template_rendered
        from sqlalchemy import event

        from practice.extensions import db

        with app.app_context():
            self.engine = db.engine
        self.statements: list[str] = []
        self.durations: list[float] = []
        self.statements_in_templates = 0
        self.sql = 0.0
        self.sql_in_templates = 0.0
        self.templates = 0.0
        self._render_depth = 0
        self._render_started = 0.0
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        before_render_template.connect(self._render_start, app)
        template_rendered.connect(self._render_end, app)

    def reset(self) -> None:
        self.statements = []
        self.durations = []
        self.statements_in_templates = 0
        self.sql = self.sql_in_templates = self.templates = 0.0

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)
        if self._render_depth:
            self.statements_in_templates += 1
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.sql += elapsed
        self.durations.append(elapsed)
        if self._render_depth:
            self.sql_in_templates += elapsed

    def _render_start(self, sender, template, context, **extra):
        if not self._render_depth:
            self._render_started = time.perf_counter()
        self._render_depth += 1

    def _render_end(self, sender, template, context, **extra):
        self._render_depth -= 1
        if not self._render_depth:
            self.templates += time.perf_counter() - self._render_started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def time_page(client, recorder: Recorder, url: str, *, rounds: int, budget: float) -> dict:
    client.get(url)  # warm: templates compiled, caches filled
    totals, sqls, templates = [], [], []
    started = time.perf_counter()
    statements = 0
    status = None
    for done in range(rounds):
        recorder.reset()
        begin = time.perf_counter()
        response = client.get(url)
        totals.append((time.perf_counter() - begin) * 1000)
        status = response.status_code
        sqls.append(recorder.sql * 1000)
        templates.append((recorder.templates - recorder.sql_in_templates) * 1000)
        statements = len(recorder.statements)
        if done + 1 >= MIN_ROUNDS and time.perf_counter() - started > budget:
            break
    return {
        "url": url,
        "status": status,
        "rounds": len(totals),
        "median": statistics.median(totals),
        "p95": _percentile(totals, 0.95),
        "statements": statements,
        "sql_ms": statistics.median(sqls),
        "template_ms": statistics.median(templates),
    }


# The database driver's own calls: executing a statement and fetching its rows (SQLite computes
# most rows while they are fetched, so timing `execute` alone undercounts it).
_DRIVER = re.compile(
    r"<method '(execute|executemany|fetchall|fetchone|fetchmany)' of 'sqlite3\.Cursor' objects>"
    r"|psycopg/cursor\.py:(execute|executemany|fetchall|fetchone|fetchmany)$"
)


_WRAPPERS = r"^(?!.*(werkzeug/test\.py|flask/app\.py|flask/testing\.py|flask_login/utils))"


def profile_page(client, recorder: Recorder, url: str, top: int = 25) -> dict:
    """One request under cProfile: the functions with the most cumulative time."""
    recorder.reset()
    profiler = cProfile.Profile()
    begin = time.perf_counter()
    profiler.enable()
    client.get(url)
    profiler.disable()
    total = (time.perf_counter() - begin) * 1000
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    driver = sum(
        cumulative
        for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items()
        if _DRIVER.search(f"{filename}:{name}")
    )
    lines = []
    for order, count in (("cumulative", top), ("tottime", 12)):
        out.seek(0)
        out.truncate()
        # The request's own wrappers (test client, Flask dispatch) say nothing: skip them.
        stats.sort_stats(order).print_stats(_WRAPPERS, count)
        lines.append(f"-- by {order} time:")
        lines += [
            line.rstrip()
            for line in out.getvalue().splitlines()
            if re.match(r"\s*\d", line) and "function calls" not in line
        ]
    # Each statement's execute time (on SQLite the rows computed while fetching are not in
    # it: the driver's total above has them), the slowest first.
    statements: dict[str, list] = {}
    for statement, elapsed in zip(recorder.statements, recorder.durations, strict=False):
        head = " ".join(statement.split())[:110]
        entry = statements.setdefault(head, [0, 0.0])
        entry[0] += 1
        entry[1] += elapsed * 1000
    return {
        "total_ms": total,
        "driver_ms": driver * 1000,
        "template_ms": recorder.templates * 1000,
        "statements_in_templates": recorder.statements_in_templates,
        "functions": lines,
        "statements": sorted(
            ((head, count, ms) for head, (count, ms) in statements.items()), key=lambda x: -x[2]
        )[:12],
    }


@contextmanager
def _quiet():
    """Keep the app's INFO log lines (sign-ins, sessions) out of the table."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)


def run(couples: int, url: str | None, *, profile_all: bool = False) -> dict:
    from bench.seed import refresh_statistics, seed_practice
    from practice.extensions import db
    from practice.services.couples import PAGE_SIZE

    with tempfile.TemporaryDirectory() as folder, _quiet():
        app = build_app(url, Path(folder))
        reset_database(app)
        with app.app_context():
            dialect = db.engine.dialect.name
            began = time.perf_counter()
            seeded = seed_practice(couples, slug="bench", checkin_weeks=CHECKIN_WEEKS)
            seed_practice(max(couples // 10, 1), slug="neighbour", checkin_weeks=CHECKIN_WEEKS)
            seed_seconds = time.perf_counter() - began

        therapist = app.test_client()
        therapist.post("/login", data={"email": seeded.owner_email, "password": seeded.password})
        # Active: its partners may sign in. Partner 2 is writing this week's check-in (a
        # draft); the couple has every earlier week handed in but a few (bench/seed.py).
        couple = seeded.couples[0]
        partner_id = couple.partner_ids[1]
        partner = app.test_client()
        partner.post(f"/p/{couple.invite_tokens[partner_id]}", data={})
        open_couples = sum(1 for n in range(couples) if n % 4 != 3)
        last_page = max(1, math.ceil(open_couples / PAGE_SIZE))

        pages = [
            ("caseload, first page", therapist, "/couples"),
            ("caseload, last page", therapist, f"/couples?page={last_page}"),
            ("caseload, search", therapist, "/couples?q=alex+123&status=all"),
            ("caseload, by activity", therapist, "/couples?sort=recent"),
            ("caseload, by start", therapist, "/couples?sort=start"),
            ("caseload, by status", therapist, "/couples?sort=status&status=all"),
            ("dashboard", therapist, "/dashboard"),
            ("couple page", therapist, f"/couples/{couple.id}"),
            ("review queue", therapist, "/review"),
            (
                "review page (one piece)",
                therapist,
                f"/couples/{couple.id}/homework/{couple.submitted_response_id}",
            ),
            ("portal home", partner, "/portal"),
            ("homework edit (portal)", partner, f"/portal/homework/{couple.drafts[partner_id]}"),
            ("couple check-ins", therapist, f"/couples/{couple.id}/checkins"),
            ("couple trends", therapist, f"/couples/{couple.id}/trends"),
            ("couple trends, 52 weeks", therapist, f"/couples/{couple.id}/trends?weeks=52"),
            ("safety flags", therapist, "/couples/safety"),
            ("check-in (portal)", partner, "/portal/checkin"),
            ("trends (portal)", partner, "/portal/trends"),
        ]
        recorder = Recorder(app)
        # Freshly loaded, before any statistics: the two pages whose plans went quadratic.
        fresh = []
        if os.environ.get("BENCH_FRESH", "1") != "0":
            for label, client, path in (pages[0], pages[6]):
                measured = time_page(client, recorder, path, rounds=ROUNDS, budget=5)
                fresh.append(measured | {"page": label})
        began = time.perf_counter()
        if os.environ.get("BENCH_ANALYZE", "1") != "0":
            with app.app_context():
                refresh_statistics()
        analyze_seconds = time.perf_counter() - began
        health = time_page(
            app.test_client(), recorder, "/healthz", rounds=HEALTHZ_ROUNDS, budget=PAGE_SECONDS
        )
        results = []
        probe = app.test_client()
        for label, client, path in pages:
            # /healthz just before each page: the machine's load drifts during a run (other
            # work on the same cores), and the ratio should compare like with like.
            local = time_page(probe, recorder, "/healthz", rounds=HEALTHZ_NEAR, budget=1)
            measured = time_page(client, recorder, path, rounds=ROUNDS, budget=PAGE_SECONDS)
            measured["page"] = label
            measured["healthz_ms"] = local["median"]
            measured["throughput"] = 100 * local["median"] / measured["median"]
            if profile_all or measured["throughput"] < 8:
                measured["profile"] = profile_page(client, recorder, path)
            results.append(measured)
        # /healthz again at the end: the machine's load may have changed meanwhile.
        health_after = time_page(
            app.test_client(), recorder, "/healthz", rounds=HEALTHZ_ROUNDS, budget=PAGE_SECONDS
        )
        with app.app_context():
            db.engine.dispose()
    return {
        "database": dialect,
        "couples": couples,
        "checkin_weeks": CHECKIN_WEEKS,
        "seed_seconds": seed_seconds,
        "analyze_seconds": analyze_seconds,
        "healthz": health,
        "healthz_after": health_after,
        "pages": results,
        "fresh": fresh,
    }


def print_one(result: dict) -> None:
    health = result["healthz"]
    print(
        f"{result['database']}, {result['couples']} couples "
        f"(seeded in {result['seed_seconds']:.1f} s); /healthz median {health['median']:.2f} ms"
    )
    for page in result["pages"]:
        print(
            f"  {page['page']:<26} median {page['median']:8.1f} ms  p95 {page['p95']:8.1f} ms  "
            f"{page['statements']:3d} SQL ({page['sql_ms']:.1f} ms)  "
            f"throughput {page['throughput']:5.1f} %  [{page['status']}]"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=500)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL") or None)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile-all", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.couples, args.database, profile_all=args.profile_all)
    if args.json:
        args.json.write_text(json.dumps(result))
    else:
        print_one(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

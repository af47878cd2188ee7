"""Session-summary PDFs: one render, the queue, two workers, and the workers' memory.

    .venv/bin/python -m bench.reports                 # SQLite (a temporary file)
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/practice_bench \\
        .venv/bin/python -m bench.reports             # PostgreSQL: <name>_reports
    .venv/bin/python -m bench.reports --database URL  # exactly this database (emptied)

A benchmark, not a test: it asserts nothing and exits 0 once it has measured. A fresh
database is migrated and loaded (`bench.seed`: couples with homework at every stage,
agreements, a repair contract signed by both and 26 weeks of check-ins for both partners; and
a second practice), then BENCH_REPORT_COUPLES open couples (20 by default) get seven sessions
two weeks apart, with notes, next steps and homework to come; every summary is the
therapist's copy of a couple's latest session. Then:

1. warm render, in this process: `reports.gather`, the charts (`trends.chart_set`),
   `reports.render_html` and `pdf.render` timed apart, one warm-up and BENCH_REPORT_ROUNDS
   rounds (median, p95, and the CPU time, which other work on the machine inflates less),
   each round in a fresh database session; and the cold render: the
   same summary as the first render of a new process (`--cold`, in a subprocess), imports
   of the app and of WeasyPrint included;
2. enqueue -> done with an idle, preloaded worker: `flask --app practice jobs worker --queue
   reports` as a subprocess (production settings); each round waits until the worker is idle,
   asks for a summary (`reports.request_summary` and the commit: the real after-commit
   enqueue) and polls the database until the report's `rendered_at` is set;
3. request -> downloadable through HTTP (Flask's test client, signed in as the practice's
   owner): POST `reports.prepare`, poll `reports.status` every 100 ms until its state is
   "done", GET the download; also what the page's own polling (700 ms, growing 15 % a poll)
   would have shown, computed from the same moments;
4. throughput: a second worker joins the first, one summary for each of the 20 couples is
   asked for in one transaction, timed until the last is rendered (at most 60 s: then the
   rate is of those done);
5. memory: every 20 ms, the peak resident size (VmHWM) of each worker and of each work horse
   it forks; and each worker's own and its reaped children's largest maximum resident size
   (`wait4`) once it has stopped; and each horse's CPU time (a job's), as last seen.

A worker that exits while the bench uses it (another program signalled it) ends the run with
what was measured so far. The workers are stopped on the way out, SIGTERM or Ctrl-C included.

A number that misses its target gets a line on where one render's time goes (cProfile:
our gather, charts and template, WeasyPrint's styles, layout (the tables' automatic widths
apart) and PDF writing); the profile's top functions go to bench/out/reports-profile-*.txt.
Raw numbers go to bench/out/reports.json, one entry per database.

Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/13); its database is emptied first.
Without Redis parts 2 to 5 are skipped, with a message.

Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_REPORT_ROUNDS (default 10, 4 with
BENCH_QUICK), BENCH_REPORT_SECONDS (a part stops early once it has used this much time,
after at least 2 rounds; default 15), BENCH_REPORT_COUPLES (default 20), BENCH_QUICK. About
two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "4" if QUICK else "10"))
PART_SECONDS = float(os.environ.get("BENCH_REPORT_SECONDS", "15"))
COUPLES = int(os.environ.get("BENCH_REPORT_COUPLES", "20"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
MIN_ROUNDS = 2
CHECKIN_WEEKS = 26
SESSIONS = 7  # per couple, two weeks apart, the last one today
POLL = 0.02  # seconds between two looks at the database
HTTP_POLL = 0.1  # seconds between two status requests
PAGE_POLL = (0.7, 1.15, 2.5)  # the page's own polling: first delay, growth, longest delay
JOB_DEADLINE = 60.0  # a summary not done after this is counted as failed
BATCH_DEADLINE = 60.0  # part 4 stops waiting after this, and counts what is done

TARGETS = {
    "warm": 0.5,  # s, the whole warm render
    "queue": 0.8,  # s, enqueue -> rendered with an idle worker
    "http": 1.5,  # s, request -> downloadable, p50
    "throughput": 2.4,  # summaries/s with two workers
}

NOTES = (
    "Talked through the weekend and the phone. They used the time-out twice and came back "
    "to the talk both times; the old argument about her mother came up again and stayed "
    "shorter. Watch for the silence after a repair: one of them still reads it as sulking."
)
NEXT_STEPS = (
    "Practise the time-out at least twice before the next session, and each write down one "
    "thing that went well every day. Bring the list of money worries to the next session."
)


# -- small helpers --------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p95": _percentile(values, 0.95),
        "min": min(values),
        "max": max(values),
        "values": [round(v, 4) for v in values],
    }


def _page_poll_seen(done: float) -> float:
    """When the page's progress bar would have seen a summary done `done` s after the click
    (its first status request 700 ms after the page loads, then 15 % later each time, at
    most 2.5 s apart; the request's own time left out)."""
    first, growth, longest = PAGE_POLL
    at, delay = first, first
    while at < done:
        delay = min(delay * growth, longest)
        at += delay
    return at


def postgres_database(base: str, suffix: str = "reports") -> str:
    """`<base>_<suffix>`, created on the server when missing (like `make bench`'s sizes)."""
    import psycopg

    head, _, name = base.rpartition("/")
    name = f"{name.split('?')[0]}_{suffix}"
    admin = head.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return f"{head}/{name}"


def _redis_error(url: str) -> str | None:
    """None when Redis answers at `url`, else why not."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        connection = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        connection.ping()
    except (RedisError, OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


@contextlib.contextmanager
def _quiet():
    """The app's INFO lines and alembic's migration log stay out of the table."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


# -- the database and the app -------------------------------------------------------------


@dataclass
class Place:
    """Where this run keeps its database, files and settings."""

    folder: Path
    database: str  # a SQLAlchemy URL as given (sqlite:///... or postgresql://...)
    redis: str | None

    @property
    def reports_path(self) -> Path:
        return self.folder / "reports"

    def harness_environ(self) -> dict[str, str]:
        environ = {
            "PRACTICE_ENV": "testing",
            "PRACTICE_INSTANCE_PATH": str(self.folder / "instance"),
            "DATABASE_URL": self.database,
            "REPORTS_PATH": str(self.reports_path),
        }
        if self.redis:
            environ["REDIS_URL"] = self.redis
        return environ

    def worker_environ(self) -> dict[str, str]:
        """A worker as it runs in production: its own settings, the same database, Redis
        and reports folder."""
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BENCH_", "PRACTICE_", "FLASK_"))
            and key not in ("DATABASE_URL", "REDIS_URL", "REPORTS_PATH", "SECRET_KEY")
        }
        environ |= {
            "PRACTICE_ENV": "production",
            "PRACTICE_INSTANCE_PATH": str(self.folder / "worker-instance"),
            "SECRET_KEY": secrets.token_hex(32),
            "BASE_URL": "http://127.0.0.1:5000",
            "DATABASE_URL": self.database,
            "REDIS_URL": self.redis or "",
            "REPORTS_PATH": str(self.reports_path),
        }
        return environ


def build_app(place: Place):
    for key in ("DATABASE_URL", "REDIS_URL", "REPORTS_PATH"):
        os.environ.pop(key, None)
    os.environ.update(place.harness_environ())
    from practice import create_app

    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    return app


@dataclass
class Loaded:
    practice_id: int
    owner_id: int
    owner_email: str
    password: str
    couple_ids: list[int]
    # couple id -> its latest session (today)
    latest: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


def load(app) -> Loaded:
    """An empty, migrated database with the bench's practice and its sessions."""
    from sqlalchemy import select

    from bench.pages import reset_database
    from bench.seed import refresh_statistics, seed_practice
    from practice.extensions import db
    from practice.models import Couple, User
    from practice.services import appointments
    from practice.tenancy import practice_context

    began = time.perf_counter()
    with _quiet():
        reset_database(app)
    with app.app_context():
        # Every fourth couple the seed makes is closed, and a closed couple has no new
        # sessions: enough are loaded for COUPLES open ones.
        wanted = math.ceil(COUPLES * 4 / 3) + 1
        seeded = seed_practice(wanted, slug="bench", checkin_weeks=CHECKIN_WEEKS)
        seed_practice(2, slug="neighbour", checkin_weeks=CHECKIN_WEEKS)
        with practice_context(seeded.practice_id):
            owner = db.session.scalar(select(User).where(User.email == seeded.owner_email))
            today = datetime.now(UTC).date()
            latest = {}
            for couple_id in seeded.couple_ids:
                couple = db.session.get(Couple, couple_id)
                if couple.is_closed or len(latest) == COUPLES:
                    continue
                for back in range(SESSIONS - 1, -1, -1):
                    details = appointments.AppointmentDetails(
                        day=today - timedelta(weeks=2 * back),
                        start=clock(0, 5),  # early today in the couple's zone: already past
                        notes=NOTES,
                        next_steps=NEXT_STEPS,
                        next_homework=["apology", "boundaries"],
                    )
                    appointment = appointments.record(owner, couple, details)
                latest[couple_id] = appointment.id
            db.session.commit()
            loaded = Loaded(
                practice_id=seeded.practice_id,
                owner_id=owner.id,
                owner_email=seeded.owner_email,
                password=seeded.password,
                couple_ids=list(latest),
                latest=latest,
            )
        refresh_statistics()
    loaded.seconds = time.perf_counter() - began
    return loaded


# -- 1. one render --------------------------------------------------------------------------


def _stand_alone_report(app, loaded: Loaded) -> int:
    """A therapist's copy of the first couple's latest session, with no job run: rendered
    here, never sent to a queue."""
    from practice.extensions import db
    from practice.models import Appointment, Report
    from practice.services import reports
    from practice.tenancy import practice_context

    couple_id = loaded.couple_ids[0]
    with app.app_context(), practice_context(loaded.practice_id):
        appointment = db.session.get(Appointment, loaded.latest[couple_id])
        start, end = reports.period_of(appointment)
        report = Report(
            couple_id=couple_id,
            appointment_id=appointment.id,
            audience="therapist",
            period_start=start,
            period_end=end,
            created_by_id=loaded.owner_id,
        )
        db.session.add(report)
        db.session.commit()
        return report.id


def render_once(report_id: int) -> tuple[dict, int, int]:
    """gather, charts, template and PDF of one report, timed apart (seconds); the pages and
    the PDF's bytes. Call in an app context and the report's practice."""
    from practice import pdf
    from practice.extensions import db
    from practice.models import Report
    from practice.services import reports, trends

    db.session.remove()  # a new session: nothing already loaded
    cpu = time.process_time()
    began = time.perf_counter()
    report = db.session.get(Report, report_id)
    summary = reports.gather(report)
    gathered = time.perf_counter()
    summary.charts = trends.chart_set(summary.trend, prefix=f"r{report.id}", narrow=False)
    charted = time.perf_counter()
    html = reports.render_html(summary)
    templated = time.perf_counter()
    made = pdf.render(html, stylesheets=reports.STYLESHEETS)
    done = time.perf_counter()
    db.session.rollback()
    times = {
        "gather": gathered - began,
        "charts": charted - gathered,
        "template": templated - charted,
        "pdf": done - templated,
        "total": done - began,
        "cpu": time.process_time() - cpu,
    }
    return times, made.pages, len(made.data)


def warm_render(app, loaded: Loaded, report_id: int) -> dict:
    from practice.tenancy import practice_context

    parts: dict[str, list[float]] = {}
    with app.app_context(), practice_context(loaded.practice_id), _quiet():
        render_once(report_id)  # warm-up: templates compiled, WeasyPrint imported, fonts found
        started = time.perf_counter()
        for done in range(ROUNDS):
            times, pages, size = render_once(report_id)
            for key, value in times.items():
                parts.setdefault(key, []).append(value)
            if done + 1 >= MIN_ROUNDS and time.perf_counter() - started > PART_SECONDS:
                break
    return {"pages": pages, "bytes": size} | {key: _stats(v) for key, v in parts.items()}


def cold_render(place: Place, loaded: Loaded, report_id: int) -> dict:
    """The first render of a new process, in a subprocess (`--cold`)."""
    env = dict(os.environ) | place.harness_environ()
    command = [sys.executable, "-m", "bench.reports", "--cold", str(report_id)]
    command += ["--practice", str(loaded.practice_id)]
    began = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False, cwd=Path.cwd()
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall"] = wall
    return result


def _cold_main(report_id: int, practice_id: int) -> int:
    """In the subprocess: build the app and render once; print the times as JSON."""
    import resource

    began = time.perf_counter()
    from practice import create_app
    from practice.tenancy import practice_context

    app = create_app({"RATELIMIT_ENABLED": False})
    built = time.perf_counter()
    with app.app_context(), practice_context(practice_id), _quiet():
        times, pages, _ = render_once(report_id)
    times["app"] = built - began
    times["pages"] = pages
    times["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(times))
    return 0


# -- where one render's time goes ---------------------------------------------------------

# (label, file path ending, function name): cumulative time of these functions.
_PROFILE_PARTS = (
    ("our gather", "practice/services/reports.py", "gather"),
    ("our charts", "practice/services/trends.py", "chart_set"),
    ("our template", "practice/services/reports.py", "render_html"),
    ("WeasyPrint styles", "weasyprint/css/__init__.py", "get_all_computed_styles"),
    ("WeasyPrint layout", "weasyprint/layout/__init__.py", "layout_document"),
    (
        "  of it tables' automatic widths",
        "weasyprint/layout/preferred.py",
        "table_and_columns_preferred_widths",
    ),
    ("  of it text line breaking", "weasyprint/text/line_break.py", "split_first_line"),
    ("WeasyPrint PDF writing", "weasyprint/document.py", "write_pdf"),
)


def profile_render(app, loaded: Loaded, report_id: int, report_path: Path) -> dict:
    """One warm render under cProfile: the time of each part, and the top functions."""
    from practice.tenancy import practice_context

    with app.app_context(), practice_context(loaded.practice_id), _quiet():
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        render_once(report_id)
        profiler.disable()
        total = time.perf_counter() - began
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    parts = {}
    for label, ending, name in _PROFILE_PARTS:
        parts[label] = sum(
            entry[3]
            for (filename, _line, function), entry in stats.stats.items()
            if function == name and filename.endswith(ending)
        )
    calls = {
        f"{Path(filename).name}:{function}": entry[1]
        for (filename, _line, function), entry in stats.stats.items()
        if function in ("get_first_line", "split_first_line")
    }
    with report_path.open("w") as handle:
        handle.write(f"one warm render under cProfile: {total:.3f} s\n")
        for label, seconds in parts.items():
            handle.write(f"  {label:<36} {seconds:7.3f} s\n")
        for order, count in (("cumulative", 40), ("tottime", 20)):
            out.seek(0)
            out.truncate()
            stats.sort_stats(order).print_stats(count)
            handle.write(f"\n-- by {order} time:\n{out.getvalue()}")
    return {"total": total, "parts": parts, "calls": calls, "file": str(report_path)}


# -- workers ------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_kb(pid: int) -> tuple[int, int]:
    """VmHWM and VmRSS of a process in kB (0, 0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", text, re.MULTILINE))
    return int(values.get("VmHWM", 0)), int(values.get("VmRSS", 0))


class MemoryWatch(threading.Thread):
    """Every 20 ms, the peak resident size of each worker and of the work horses it forks."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.workers: list[int] = []
        self.worker_peak_kb = 0
        self.horse_peak_kb = 0
        self.both_rss_kb = 0  # a worker's RSS and its horse's, at one moment (pages shared)
        self.horses_seen: set[int] = set()
        self.horse_cpu: dict[int, float] = {}  # the CPU time each horse had last time seen
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for pid in list(self.workers):
                peak, rss = _memory_kb(pid)
                self.worker_peak_kb = max(self.worker_peak_kb, peak)
                for child in _children(pid):
                    horse_peak, horse_rss = _memory_kb(child)
                    self.horses_seen.add(child)
                    cpu = _cpu_seconds(child)
                    if cpu is not None:
                        self.horse_cpu[child] = cpu
                    self.horse_peak_kb = max(self.horse_peak_kb, horse_peak)
                    self.both_rss_kb = max(self.both_rss_kb, rss + horse_rss)
            self._halt.wait(POLL)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


class Workers:
    """`flask --app practice jobs worker --queue reports` subprocesses, stopped on exit."""

    def __init__(self, place: Place, watch: MemoryWatch) -> None:
        self.place = place
        self.watch = watch
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.max_rss_kb: list[int] = []  # each stopped worker's wait4 maximum
        self.started_in: list[float] = []

    def _command(self) -> list[str]:
        flask = Path(sys.executable).with_name("flask")
        head = [str(flask)] if flask.exists() else [sys.executable, "-m", "flask"]
        return [*head, "--app", "practice", "jobs", "worker", "--queue", "reports"]

    def start(self) -> None:
        log = self.place.folder / f"worker-{len(self.processes) + 1}.log"
        began = time.perf_counter()
        with log.open("w") as handle:
            process = subprocess.Popen(  # noqa: S603
                self._command(),
                env=self.place.worker_environ(),
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parent.parent,
            )
        self.processes.append(process)
        self.logs.append(log)
        self.wait_idle(deadline=60)
        self.started_in.append(time.perf_counter() - began)
        # Watched from now on: its children are work horses (while WeasyPrint loads, the
        # worker runs gcc and ldconfig to find its libraries); its own peak is kept anyway.
        self.watch.workers.append(process.pid)

    def wait_idle(self, deadline: float = 30) -> None:
        """Until every worker started here is registered and idle."""
        from rq import Worker
        from rq.serializers import JSONSerializer

        from practice.jobs.dispatch import redis_connection

        connection = redis_connection()
        pids = {process.pid for process in self.processes}
        until = time.monotonic() + deadline
        while True:
            stopped = self.gone()
            if stopped:
                raise RuntimeError(f"{', '.join(stopped)} (its log is in bench/out/)")
            idle = {
                worker.pid
                for worker in Worker.all(connection=connection, serializer=JSONSerializer)
                if worker.get_state() == "idle"
            }
            if pids <= idle:
                return
            if time.monotonic() > until:
                raise RuntimeError("the workers did not become idle in time")
            time.sleep(POLL)

    def _reap(self, process: subprocess.Popen, *, block: bool = False) -> bool:
        """Collect a worker that has exited (its exit code, and its and its reaped
        children's largest maximum RSS from `wait4`); False while it runs."""
        if process.returncode is not None:
            return True
        pid, status, usage = os.wait4(process.pid, 0 if block else os.WNOHANG)
        if not pid:
            return False
        process.returncode = os.waitstatus_to_exitcode(status)
        self.max_rss_kb.append(usage.ru_maxrss)
        return True

    def gone(self) -> list[str]:
        """The workers that stopped without being asked to here (another program may have
        signalled them), collected."""
        return [
            f"worker {number} exited with {process.returncode}"
            for number, process in enumerate(self.processes, start=1)
            if self._reap(process)
        ]

    def stop(self) -> list[str]:
        """SIGTERM to each worker still running (RQ stops it), then collect each; returns
        the workers that had already stopped on their own."""
        early = self.gone()
        for process in self.processes:
            if process.returncode is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            until = time.monotonic() + 20
            while not self._reap(process):
                if time.monotonic() > until:
                    os.kill(process.pid, signal.SIGKILL)
                    self._reap(process, block=True)
                    break
                time.sleep(0.05)
        return early


# -- asking for summaries -------------------------------------------------------------------


def _progress_rows(report_ids: list[int]) -> dict[int, dict]:
    """Each report's rendered_at and its run's times, read outside any ORM session."""
    from sqlalchemy import select

    from practice.extensions import db
    from practice.models import JobRun, Report

    reports, runs = Report.__table__, JobRun.__table__
    statement = (
        select(
            reports.c.id,
            reports.c.rendered_at,
            reports.c.pages,
            runs.c.status,
            runs.c.enqueued_at,
            runs.c.started_at,
            runs.c.finished_at,
        )
        .select_from(reports.outerjoin(runs, runs.c.id == reports.c.job_run_id))
        .where(reports.c.id.in_(report_ids))
    )
    with db.engine.connect() as connection:
        return {row.id: row._asdict() for row in connection.execute(statement)}


def _wait_rendered(
    report_ids: list[int], began: float, workers: Workers, deadline: float = JOB_DEADLINE
) -> dict[int, dict]:
    """Poll until every report is rendered or its run failed, for at most `deadline` s;
    each row gets `seen`, seconds since `began` when this process saw it (a row still on
    its way at the deadline keeps its run's status and has no `seen`). A worker that
    stops meanwhile ends the wait (RuntimeError)."""
    pending = set(report_ids)
    finished: dict[int, dict] = {}
    until = time.monotonic() + deadline
    while pending:
        stopped = workers.gone()
        if stopped:
            raise RuntimeError(f"{', '.join(stopped)} while summaries were on their way")
        now = time.perf_counter()
        rows = _progress_rows(sorted(pending))
        for report_id, row in rows.items():
            if row["rendered_at"] is not None or row["status"] == "failed":
                row["seen"] = now - began
                finished[report_id] = row
                pending.discard(report_id)
        if pending and time.monotonic() > until:
            finished |= {report_id: rows[report_id] for report_id in pending}
            break
        if pending:
            time.sleep(POLL)
    return finished


def _request(loaded: Loaded, couple_ids: list[int]) -> list[int]:
    """Ask for the therapist's copy of each couple's latest session, in one transaction, and
    commit (the runs go to the queue after the commit)."""
    from practice.extensions import db
    from practice.models import Appointment, Couple, User
    from practice.services import reports
    from practice.tenancy import practice_context

    with practice_context(loaded.practice_id):
        user = db.session.get(User, loaded.owner_id)
        ids = []
        for couple_id in couple_ids:
            couple = db.session.get(Couple, couple_id)
            appointment = db.session.get(Appointment, loaded.latest[couple_id])
            report, attached = reports.request_summary(
                user, couple, "therapist", appointment=appointment
            )
            if attached:
                raise RuntimeError("a summary was still on its way: the rounds overlapped")
            ids.append(report.id)
        db.session.commit()
    db.session.remove()
    return ids


def _breakdown(row: dict, asked: datetime) -> dict:
    """Where one job's time went, from the run's own timestamps (seconds)."""

    def seconds(later, earlier):
        if later is None or earlier is None:
            return None
        return (later - earlier).total_seconds()

    return {
        "to_queue": seconds(row.get("enqueued_at"), asked),
        "queue_to_start": seconds(row.get("started_at"), row.get("enqueued_at")),
        "job": seconds(row.get("finished_at"), row.get("started_at")),
    }


def enqueue_rounds(app, loaded: Loaded, workers: Workers) -> dict:
    """Part 2: one summary at a time with an idle worker."""
    couple_id = loaded.couple_ids[0]
    totals, first, breakdowns, failed = [], None, [], 0
    with app.app_context(), _quiet():
        started = time.perf_counter()
        for done in range(ROUNDS + 1):
            workers.wait_idle()
            asked = datetime.now(UTC)
            began = time.perf_counter()
            (report_id,) = _request(loaded, [couple_id])
            row = _wait_rendered([report_id], began, workers)[report_id]
            if row["rendered_at"] is None:
                failed += 1
                continue
            if done == 0:
                first = row["seen"]  # the worker's first job (kept apart)
                continue
            totals.append(row["seen"])
            breakdowns.append(_breakdown(row, asked))
            if done >= MIN_ROUNDS and time.perf_counter() - started > PART_SECONDS:
                break
    parts = {
        key: _stats([b[key] for b in breakdowns if b[key] is not None])
        for key in ("to_queue", "queue_to_start", "job")
    }
    return {"total": _stats(totals), "first_job": first, "failed": failed, "parts": parts}


def http_rounds(app, loaded: Loaded, workers: Workers, warm_report_id: int) -> dict:
    """Part 3: POST prepare, poll status, GET the download, through the test client (first
    the pages' templates compiled: the form, and a report's page and status)."""
    if "reports.prepare" not in app.view_functions:
        return {"skipped": "the reports blueprint is not registered"}
    from flask import url_for

    couple_id = loaded.couple_ids[1]
    client = app.test_client()
    totals, page_seen, statuses, failed, sizes = [], [], [], 0, []
    with _quiet():
        answer = client.post(
            "/login", data={"email": loaded.owner_email, "password": loaded.password}
        )
        if answer.status_code not in (200, 302):
            return {"skipped": f"signing in answered {answer.status_code}"}
        with app.test_request_context():
            prepare = url_for("reports.prepare", couple_id=couple_id)
            warm = [
                prepare,
                url_for("reports.show", report_id=warm_report_id),
                url_for("reports.status", report_id=warm_report_id),
            ]
        for url in warm:
            client.get(url)
        started = time.perf_counter()
        for done in range(ROUNDS):
            with app.app_context():
                workers.wait_idle()
            began = time.perf_counter()
            answer = client.post(
                prepare,
                data={"audience": "therapist", "appointment_id": str(loaded.latest[couple_id])},
            )
            found = re.search(r"/reports/(\d+)$", answer.headers.get("Location", ""))
            if answer.status_code != 302 or not found:
                return {"skipped": f"prepare answered {answer.status_code}", "rounds": totals}
            report_id = int(found.group(1))
            with app.test_request_context():
                status_url = url_for("reports.status", report_id=report_id)
            polls = 0
            state = None
            until = time.monotonic() + JOB_DEADLINE
            while time.monotonic() < until:
                stopped = workers.gone()
                if stopped:
                    raise RuntimeError(f"{', '.join(stopped)} while a summary was on its way")
                polls += 1
                state = client.get(status_url).get_json()
                if state["state"] in ("done", "failed"):
                    break
                time.sleep(HTTP_POLL)
            ready = time.perf_counter() - began
            if not state or state["state"] != "done":
                failed += 1
                continue
            download = client.get(state["download"])
            total = time.perf_counter() - began
            if download.status_code != 200 or not download.data.startswith(b"%PDF"):
                failed += 1
                continue
            totals.append(total)
            statuses.append(polls)
            sizes.append(len(download.data))
            page_seen.append(_page_poll_seen(ready) + (total - ready))
            if done + 1 >= MIN_ROUNDS and time.perf_counter() - started > PART_SECONDS:
                break
    return {
        "total": _stats(totals),
        "with_page_polling": _stats(page_seen),
        "status_requests": _stats(statuses),
        "failed": failed,
        "bytes": statistics.median(sizes) if sizes else None,
    }


def throughput(app, loaded: Loaded, workers: Workers) -> dict:
    """Part 4: one summary for each couple at once, two workers."""
    with app.app_context(), _quiet():
        workers.wait_idle()
        began = time.perf_counter()
        report_ids = _request(loaded, loaded.couple_ids)
        committed = time.perf_counter() - began
        rows = _wait_rendered(report_ids, began, workers, BATCH_DEADLINE)
    done = [row for row in rows.values() if row["rendered_at"] is not None]
    others = [row["status"] for row in rows.values() if row["rendered_at"] is None]
    last = max((row["seen"] for row in done), default=0.0)
    jobs = [
        (row["finished_at"] - row["started_at"]).total_seconds()
        for row in done
        if row.get("finished_at") and row.get("started_at")
    ]
    return {
        "summaries": len(report_ids),
        "done": len(done),
        "seconds": last,
        "per_second": len(done) / last if last else 0.0,
        "ask_and_commit": committed,
        "job": _stats(jobs),
        "pages": _stats([row["pages"] for row in done if row.get("pages")]),
        "not_done": {status: others.count(status) for status in sorted(set(others))},
    }


# -- the report -----------------------------------------------------------------------------


def _verdict(value: float | None, target: float, *, higher: bool = False) -> str:
    if value is None:
        return "not measured"
    met = value >= target if higher else value <= target
    return "met" if met else "NOT met"


def print_table(result: dict) -> list[str]:
    """The table; returns the lines on what misses a target."""
    warm, cold = result["warm"], result.get("cold", {})
    print()
    print(
        f"{result['database']}: session summaries, therapist's copy of a session "
        f"({warm['pages']} pages, {warm['bytes'] / 1024:.0f} KiB), {COUPLES} couples with "
        f"{CHECKIN_WEEKS} weeks of check-ins (loaded in {result['load_seconds']:.1f} s)"
    )
    header = f"{'measure':<44} {'median':>8} {'p95':>8} {'n':>4}  {'target':>10}  verdict"
    print(header)
    print("-" * len(header))
    misses = []

    def line(label, stats, target=None, unit="s", higher=False, key="median"):
        if not stats or not stats.get("n"):
            print(f"{label:<44} {'—':>8} {'—':>8} {0:>4}")
            return
        verdict = ""
        shown_target = ""
        if target is not None:
            verdict = _verdict(stats[key], target, higher=higher)
            shown_target = f"{'>=' if higher else '<='} {target:g} {unit}"
            if verdict != "met":
                misses.append(label)
        print(
            f"{label:<44} {stats['median']:8.3f} {stats['p95']:8.3f} {stats['n']:>4}  "
            f"{shown_target:>10}  {verdict}"
        )

    line("1. warm render, total", warm["total"], TARGETS["warm"])
    line("   of it CPU time of this process", warm["cpu"])
    for key, label in (
        ("gather", "reports.gather"),
        ("charts", "charts (trends.chart_set)"),
        ("template", "render_html"),
        ("pdf", "pdf.render (WeasyPrint)"),
    ):
        line(f"   {label}", warm[key])
    if cold.get("total") is not None:
        print(
            f"{'   cold: first render in a new process':<44} {cold['total']:8.3f} "
            f"{'':>8} {1:>4}  (gather {cold['gather']:.3f}, charts {cold['charts']:.3f}, "
            f"template {cold['template']:.3f}, pdf {cold['pdf']:.3f}; the app's imports "
            f"{cold['app']:.2f} s, the whole process {cold['process_wall']:.2f} s, its peak "
            f"RSS {cold['max_rss_mb']:.0f} MB)"
        )
    elif cold:
        print(f"   cold render failed: {cold.get('error', '')[-300:]}")
    if "skipped" in result:
        print(f"2.-5. skipped: {result['skipped']}")
        return misses
    queue = result.get("queue")
    if queue:
        line("2. enqueue -> rendered, idle worker", queue["total"], TARGETS["queue"])
        for key, label in (
            ("to_queue", "ask + commit + enqueue"),
            ("queue_to_start", "queued -> claimed (dequeue, fork)"),
            ("job", "the job (claimed -> done)"),
        ):
            line(f"   {label}", queue["parts"][key])
        if queue.get("first_job") is not None:
            print(f"{'   the worker first job (not counted)':<44} {queue['first_job']:8.3f}")
        if queue["failed"]:
            print(f"   failed or timed out: {queue['failed']}")
    http = result.get("http")
    if http and "skipped" in http:
        print(f"3. request -> downloadable (HTTP): skipped: {http['skipped']}")
    elif http:
        line("3. request -> downloadable (HTTP), p50", http["total"], TARGETS["http"])
        line("   as the page's own polling would see it", http["with_page_polling"])
        if http["failed"]:
            print(f"   failed: {http['failed']}")
    batch = result.get("throughput")
    if batch:
        verdict = _verdict(batch["per_second"], TARGETS["throughput"], higher=True)
        if verdict != "met":
            misses.append("4. throughput")
        print(
            f"{'4. throughput, 2 workers (summaries/s)':<44} {batch['per_second']:8.2f} "
            f"{'':>8} {batch['done']:>4}  "
            f"{'>= ' + format(TARGETS['throughput'], 'g') + '/s':>10}  {verdict}  "
            f"({batch['done']}/{batch['summaries']} in {batch['seconds']:.1f} s; each job "
            f"median {batch['job'].get('median', 0):.2f} s)"
        )
        if batch["not_done"]:
            waiting = ", ".join(f"{n} {status}" for status, n in batch["not_done"].items())
            print(f"   not done after {BATCH_DEADLINE:.0f} s: {waiting}")
    memory = result["memory"]
    rows = (
        ("5. peak worker memory (MB)", memory["largest_mb"]),
        ("   the worker process (VmHWM)", memory["worker_peak_mb"]),
        (f"   largest work horse (VmHWM, {memory['horses_seen']} seen)", memory["horse_peak_mb"]),
        ("   worker + horse RSS at one moment", memory["both_rss_mb"]),
    )
    for label, value in rows:
        print(f"{label:<44} {value:8.0f}")
    if memory["wait4_mb"]:
        maxima = ", ".join(f"{mb:.0f}" for mb in memory["wait4_mb"])
        print(f"   each worker's maximum with its horses (wait4): {maxima} MB")
    if result.get("error"):
        print(f"   stopped early: {result['error']}")
    horse_cpu = memory["horse_cpu"]
    if horse_cpu.get("n"):
        print(
            f"   CPU time of a work horse (a job): median {horse_cpu['median']:.2f} s, "
            f"p95 {horse_cpu['p95']:.2f} s over {horse_cpu['n']} horses"
        )
    starts = ", ".join(f"{s:.1f}" for s in result["worker_start_seconds"])
    print(f"   workers started (preload included) and idle in {starts} s")
    return misses


def print_profile(profile: dict) -> None:
    print(f"\nWhere one warm render's time goes (cProfile, {profile['total']:.2f} s in all):")
    for label, seconds in profile["parts"].items():
        share = 100 * seconds / profile["total"] if profile["total"] else 0
        print(f"  {label:<36} {seconds:7.3f} s  {share:5.1f} %")
    calls = ", ".join(f"{name} {count:,}" for name, count in sorted(profile["calls"].items()))
    print(f"  Pango line layouts made: {calls}")
    print(f"  (full profile: {profile['file']})")


def _save(result: dict) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / "reports.json"
    saved = {}
    if path.exists():
        with contextlib.suppress(ValueError):
            saved = json.loads(path.read_text())
    saved[result["database"]] = result
    path.write_text(json.dumps(saved, indent=1, default=str))
    return path


def _machine_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far (/proc/stat), or (0, 0)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class _Step:
    """Prints a part's name, its time once done, and how busy the whole machine was
    meanwhile (this bench, its workers and anything else running)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.busy: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, label: str):
        print(f"  {label} ...", end="", flush=True)
        began = time.perf_counter()
        busy, total = _machine_ticks()
        try:
            yield
        finally:
            now = time.perf_counter()
            busy_after, total_after = _machine_ticks()
            share = 100 * (busy_after - busy) / max(1, total_after - total)
            self.busy[label.strip()] = share
            print(
                f" {now - began:.0f} s (at {now - self.began:.0f} s; machine {share:.0f} % busy)",
                flush=True,
            )


def run(database: str | None, redis_url: str) -> dict:
    """Every part on a fresh database; the raw numbers (a part that failed leaves its
    error in `error` and the parts after it out)."""
    from practice.extensions import db

    OUT.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    step = _Step()
    problem = _redis_error(redis_url)
    if problem:
        print(f"  Redis is not reachable at {redis_url} ({problem}): only part 1 runs.")
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as name:
        folder = Path(name)
        place = Place(
            folder, database or f"sqlite:///{folder}/bench.db", None if problem else redis_url
        )
        app = build_app(place)
        with app.app_context():
            dialect = db.engine.dialect.name
        with step(f"{dialect}: loading {COUPLES} couples and their sessions"):
            loaded = load(app)
        result: dict = {
            "database": dialect,
            "when": stamp,
            "couples": COUPLES,
            "checkin_weeks": CHECKIN_WEEKS,
            "rounds": ROUNDS,
            "load_seconds": loaded.seconds,
            "targets": TARGETS,
        }
        report_id = _stand_alone_report(app, loaded)
        with step("1. warm render"):
            result["warm"] = warm_render(app, loaded, report_id)
        with step("1. cold render (a new process)"):
            result["cold"] = cold_render(place, loaded, report_id)
        if result["warm"]["total"]["median"] > TARGETS["warm"]:
            with step("   one render under cProfile"):
                result["profile"] = profile_render(
                    app, loaded, report_id, OUT / f"reports-profile-{dialect}-{stamp}.txt"
                )
        if problem:
            result["skipped"] = f"Redis is not reachable at {redis_url} ({problem})"
            result["machine_busy"] = step.busy
            return result
        from redis import Redis

        Redis.from_url(redis_url).flushdb()  # this bench's own database index
        watch = MemoryWatch()
        watch.start()
        workers = Workers(place, watch)
        try:
            with step("2. start a worker; enqueue -> done, one at a time"):
                with app.app_context():
                    workers.start()
                result["queue"] = enqueue_rounds(app, loaded, workers)
            with step("3. request -> downloadable, through HTTP"):
                result["http"] = http_rounds(app, loaded, workers, report_id)
            with step(f"4. a second worker; {COUPLES} summaries at once"):
                with app.app_context():
                    workers.start()
                result["throughput"] = throughput(app, loaded, workers)
        except Exception as error:  # noqa: BLE001 - reported with the parts measured so far
            result["error"] = f"{type(error).__name__}: {error}"
        finally:
            early = workers.stop()
            watch.stop()
        if early:
            # Stopped from outside while the bench used them: the last part is incomplete.
            result["error"] = result.get("error") or f"{', '.join(early)} before the end"
        result["worker_start_seconds"] = workers.started_in
        result["machine_busy"] = step.busy
        for number, log in enumerate(workers.logs, start=1):
            with contextlib.suppress(OSError):
                (OUT / f"reports-worker-{number}-{dialect}.log").write_text(log.read_text())
        result["memory"] = {
            "worker_peak_mb": watch.worker_peak_kb / 1024,
            "horse_peak_mb": watch.horse_peak_kb / 1024,
            "both_rss_mb": watch.both_rss_kb / 1024,
            "horses_seen": len(watch.horses_seen),
            # The CPU time of each work horse, as last seen (a job's CPU, give or take the
            # last 20 ms): set against the job's wall time, the wait for a core.
            "horse_cpu": _stats(list(watch.horse_cpu.values())),
            "wait4_mb": [kb / 1024 for kb in workers.max_rss_kb],
            "largest_mb": max([watch.worker_peak_kb, watch.horse_peak_kb, *workers.max_rss_kb])
            / 1024,
        }
        with app.app_context():
            db.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="exactly this database URL (emptied and migrated)")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--cold", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--practice", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold:
        return _cold_main(args.cold, args.practice)
    # Stopped with SIGTERM (`timeout`, a CI runner): the workers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    database = args.database
    base = os.environ.get("BENCH_DATABASE_URL", "")
    if not database and base.startswith(("postgres://", "postgresql")):
        database = postgres_database(base)
    began = time.perf_counter()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"bench.reports: {os.cpu_count()} CPUs (load average {load}), Python "
        f"{sys.version.split()[0]}, at most {ROUNDS} rounds a part, Redis {args.redis}"
    )
    result = run(database, args.redis)
    if "skipped" in result:
        print(f"\n{result['skipped']}: parts 2 to 5 (worker, HTTP, throughput, memory) skipped.")
        print("Start Redis or set BENCH_REDIS_URL, then run again.")
    misses = print_table(result)
    if misses and result.get("profile"):
        print_profile(result["profile"])
    result["seconds"] = time.perf_counter() - began
    path = _save(result)
    print(f"\nreports: {result['seconds']:.0f} s; raw numbers in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Session summaries on the real queue: ids only in Redis, one file per report however often
the job runs, Redis down at request time, a real worker process (a summary too big for its
memory, then a normal one), and a worker killed in the middle of a render.

Everything runs against the real database, the real Redis and real WeasyPrint; nothing of
ours is mocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import time as clock
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from practice.extensions import db
from practice.jobs import REPORTS_QUEUE
from practice.jobs import dispatch as jobs_dispatch
from practice.models import Couple, JobRun, Report, User
from practice.models.base import utcnow
from practice.services import agreements as agreement_service
from practice.services import appointments as appointment_service
from practice.services import reports
from practice.services.appointments import AppointmentDetails
from practice.tenancy import practice_context, unscoped
from tests.conftest import closed_port
from tests.couple_factories import CoupleFactory, CoupleIds
from tests.factories import PracticeFactory, UserFactory

pytestmark = pytest.mark.redis

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"
NEXT_STEPS = "Zephyrine walk every evening"
NOTES = "Quillwort private session notes"
SESSION_START = clock(14, 30)


@dataclass(frozen=True)
class Seeded:
    """Ids of a couple with one recorded session, safe to keep across commits."""

    practice_id: int
    couple_id: int
    user_id: int
    appointment_id: int
    couple_label: str
    partner_names: tuple[str, str]


def seed_session(
    *, next_steps: str = NEXT_STEPS, agreements: int = 0, agreement_text: str = ""
) -> Seeded:
    """A couple (Berlin) of a practice (New York) with one session tomorrow, its next steps
    and notes written by the therapist; `agreements` agreements in force, if asked."""
    practice = PracticeFactory(time_zone="America/New_York")
    therapist = UserFactory(practice=practice)
    couple = CoupleFactory(therapist=therapist, time_zone="Europe/Berlin")
    ids = CoupleIds.of(couple)
    seeded_names = tuple(partner.display_name for partner in couple.partners)
    label = couple.label
    user_id = therapist.id
    db.session.commit()
    with practice_context(ids.practice_id):
        user = db.session.get(User, user_id)
        couple = db.session.get(Couple, ids.id)
        day = utcnow().astimezone(ZoneInfo(couple.time_zone)).date() + timedelta(days=1)
        appointment = appointment_service.record(
            user,
            couple,
            AppointmentDetails(day=day, start=SESSION_START, notes=NOTES, next_steps=next_steps),
        )
        for number in range(agreements):
            agreement_service.add_agreement(
                user,
                couple,
                domain="communication",
                text=f"{number}: {agreement_text}"[:1000],
                time_frame="",
                review_date=None,
            )
        db.session.commit()
        return Seeded(
            practice_id=ids.practice_id,
            couple_id=ids.id,
            user_id=user_id,
            appointment_id=appointment.id,
            couple_label=label,
            partner_names=seeded_names,
        )


def ask(seeded: Seeded, audience: str = "couple") -> tuple[int, int, bool]:
    """Ask for the session's summary as the therapist would, and commit: (report id, run id,
    attached)."""
    with practice_context(seeded.practice_id):
        user = db.session.get(User, seeded.user_id)
        couple = db.session.get(Couple, seeded.couple_id)
        appointment = appointment_service.get(user, couple, seeded.appointment_id)
        report, attached = reports.request_summary(user, couple, audience, appointment=appointment)
        report_id, run_id = report.id, report.job_run_id
        db.session.commit()
    return report_id, run_id, attached


def read_report(seeded: Seeded, report_id: int) -> Report:
    db.session.expire_all()
    with practice_context(seeded.practice_id):
        report = db.session.get(Report, report_id)
        # Loaded now, while the practice is set: the tests read them after.
        report.job_run  # noqa: B018
        return report


def read_run(run_id: int) -> JobRun:
    db.session.expire_all()
    with unscoped():
        return db.session.get(JobRun, run_id)


def folder_of(reports_path: Path, seeded: Seeded) -> Path:
    return reports_path / str(seeded.practice_id) / str(seeded.couple_id)


def worker_env(app, redis_url: str, **extra: str) -> dict[str, str]:
    """What a worker process needs to find the test's database, Redis and reports folder."""
    return {
        **os.environ,
        "PRACTICE_ENV": "testing",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "PRACTICE_INSTANCE_PATH": app.instance_path,
        "REPORTS_PATH": app.config["REPORTS_PATH"],
        "MAIL_BACKEND": "console",
        "RATELIMIT_ENABLED": "false",
        **extra,
    }


WORKER = [str(FLASK), "--app", "practice", "jobs", "worker", "--burst", "--queue", REPORTS_QUEUE]


def run_worker(app, redis_url: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        WORKER,
        env=worker_env(app, redis_url, **extra),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_finished_file(reports_path: Path, seeded: Seeded, report: Report) -> bytes:
    """The report's folder holds its one PDF, whole, matching the digest and size stored."""
    assert report.is_ready and report.stage == "done"
    folder = folder_of(reports_path, seeded)
    assert sorted(path.name for path in folder.iterdir()) == [f"summary-{report.id}.pdf"]
    data = (reports_path / report.file_name).read_bytes()
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == report.sha256
    assert len(data) == report.size
    return data


def client_words(seeded: Seeded) -> list[str]:
    return [NEXT_STEPS, NOTES, seeded.couple_label, *seeded.partner_names]


# --- (a) on the reports queue, ids only; a worker renders it once ---------------------------


def test_a_requested_summary_goes_to_the_reports_queue_with_ids_only(
    app, redis_jobs, redis_dump, burst_worker, reports_path
):
    seeded = seed_session()
    report_id, run_id, attached = ask(seeded)
    assert not attached

    run = read_run(run_id)
    assert (run.status, run.queue, run.function) == ("queued", REPORTS_QUEUE, reports.JOB_NAME)
    assert run.arguments == {"report_id": report_id}
    report = read_report(seeded, report_id)
    assert reports.progress(report).state == "queued"
    assert not reports_path.exists() or not any(reports_path.rglob("*.pdf"))

    assert redis_jobs.llen(f"rq:queue:{REPORTS_QUEUE}") == 1
    assert redis_jobs.llen("rq:queue:default") == 0
    raw = redis_jobs.hgetall(f"rq:job:practice-run-{run_id}")
    assert raw[b"origin"] == REPORTS_QUEUE.encode()
    func_name, instance, args, kwargs = json.loads(zlib.decompress(raw[b"data"]))
    assert func_name == "practice.jobs.dispatch.run"
    assert instance is None
    assert args == [run_id, seeded.practice_id]
    assert all(type(arg) is int for arg in args)
    assert kwargs == {}
    everything = redis_dump()
    for text in client_words(seeded):
        assert text.encode() not in everything, f"{text!r} found in Redis"

    burst_worker()

    run = read_run(run_id)
    assert (run.status, run.attempts, run.error) == ("done", 1, None)
    report = read_report(seeded, report_id)
    assert reports.progress(report).state == "done"
    assert reports.progress(report).percent == 100
    assert report.rendered_at is not None and report.pages >= 1
    assert_one_finished_file(reports_path, seeded, report)
    assert redis_jobs.llen(f"rq:queue:{REPORTS_QUEUE}") == 0
    everything = redis_dump()
    for text in client_words(seeded):
        assert text.encode() not in everything, f"{text!r} found in Redis after the run"


# --- (b) running the job again changes nothing ----------------------------------------------


def test_running_the_summary_job_twice_leaves_one_file_and_one_render(
    app, redis_jobs, burst_worker, reports_path
):
    seeded = seed_session()
    report_id, run_id, _ = ask(seeded)
    burst_worker()
    first = read_report(seeded, report_id)
    rendered_at, digest = first.rendered_at, first.sha256
    data = assert_one_finished_file(reports_path, seeded, first)

    # The same run again, directly, as a second delivery of the job would run it.
    jobs_dispatch.run(run_id, seeded.practice_id)
    # And through the queue: the run sent again, and a worker picks it up.
    jobs_dispatch.dispatch(run_id, seeded.practice_id, reports.JOB_NAME)
    assert redis_jobs.llen(f"rq:queue:{REPORTS_QUEUE}") == 1
    burst_worker()
    # And the job's work itself, called once more for the same report.
    with practice_context(seeded.practice_id):
        reports.render(report_id)
        db.session.commit()

    run = read_run(run_id)
    assert (run.status, run.attempts, run.error) == ("done", 1, None)
    again = read_report(seeded, report_id)
    assert (again.rendered_at, again.sha256) == (rendered_at, digest)
    assert assert_one_finished_file(reports_path, seeded, again) == data
    with practice_context(seeded.practice_id):
        assert db.session.scalars(select(Report.id)).all() == [report_id]


# --- (c) Redis down when it is asked for ----------------------------------------------------


def test_redis_down_leaves_the_summary_queued_and_the_sweep_sends_it(
    app, redis_jobs, redis_url, burst_worker, reports_path, caplog
):
    seeded = seed_session()
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{closed_port()}/0"
    app.extensions.pop("practice_redis", None)

    report_id, run_id, _ = ask(seeded)

    assert read_run(run_id).status == "pending"
    assert any("left pending" in record.getMessage() for record in caplog.records)
    report = read_report(seeded, report_id)
    progress = reports.progress(report)
    assert (progress.state, progress.stage, progress.message) == ("queued", "waiting", None)

    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("practice_redis", None)
    assert jobs_dispatch.requeue_stale(older_than=0) == 1
    assert read_run(run_id).status == "queued"
    assert redis_jobs.llen(f"rq:queue:{REPORTS_QUEUE}") == 1

    burst_worker()

    run = read_run(run_id)
    assert (run.status, run.attempts) == ("done", 1)
    assert_one_finished_file(reports_path, seeded, read_report(seeded, report_id))
    assert jobs_dispatch.requeue_stale(older_than=0) == 0


# --- (d) a real worker process: a summary too big for its memory, then a normal one -----------

# Next steps as long as the form takes (20,000 characters), one short line after another: some
# two hundred pages of lines, far past 30 MB of layout.
LONG_NEXT_STEPS = f"{NEXT_STEPS}\n" + "x\n" * ((appointment_service.NOTES_MAX - 40) // 2)
AGREEMENT_WORDS = "We talk before deciding anything about money, phones or friends. " * 16


def test_a_real_worker_fails_a_summary_too_big_for_its_memory_and_makes_the_next(
    app, redis_jobs, redis_url, reports_path
):
    big = seed_session(next_steps=LONG_NEXT_STEPS)
    big_id, big_run, _ = ask(big)
    assert redis_jobs.llen(f"rq:queue:{REPORTS_QUEUE}") == 1

    # Two worker runs in sequence: the first lets a render add 15 MB, the second has the
    # default. A normal summary needs about 6 MB, but with so little room WeasyPrint's font
    # threads cannot always start; so the summary asked for after the big one goes to a worker
    # with the memory a worker has by default.
    first = run_worker(app, redis_url, REPORT_MEMORY_MB="15")

    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    for text in client_words(big):
        assert text not in output, f"{text!r} in the worker's log"
    # The big one failed cleanly: Python's MemoryError, or the C libraries below WeasyPrint
    # aborting at the cap, which kills the work horse and RQ's hook fails the run at once
    # (not left "running" until its lease runs out). The run says why, the page says it in
    # words, there is no file, and it is not tried again.
    run = read_run(big_run)
    assert run.status == "failed", output[-4000:]
    assert run.error in ("MemoryError", "WorkHorseKilled"), output[-4000:]
    assert run.attempts == 1 and run.finished_at is not None
    report = read_report(big, big_id)
    assert not report.is_ready
    progress = reports.progress(report)
    assert progress.state == "failed" and not progress.retrying
    assert progress.message == reports.ERROR_MESSAGES[run.error]
    assert "memory" in progress.message
    folder = folder_of(reports_path, big)
    assert not folder.exists() or not any(folder.iterdir())

    normal = seed_session()
    normal_id, normal_run, _ = ask(normal)
    second = run_worker(app, redis_url)

    assert second.returncode == 0, second.stdout + second.stderr
    assert (read_run(normal_run).status, read_run(normal_run).attempts) == ("done", 1)
    assert_one_finished_file(reports_path, normal, read_report(normal, normal_id))
    # RQ's own retry of the failed run waits in its scheduled registry; the run stays failed.
    assert read_run(big_run).status == "failed"


# --- (e) a worker killed in the middle of a render ----------------------------------------------


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (name) state ppid ...": the name may hold spaces, so split after its ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def test_a_render_killed_with_its_worker_is_finished_once_after_the_lease(
    app, redis_jobs, redis_url, burst_worker, reports_path
):
    # A hundred agreements: a render of a few seconds, long enough to be killed halfway.
    seeded = seed_session(agreements=100, agreement_text=AGREEMENT_WORDS)
    report_id, run_id, _ = ask(seeded)
    worker = subprocess.Popen(
        WORKER,
        env=worker_env(app, redis_url, JOBS_LEASE_SECONDS="2"),
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while read_run(run_id).status != "running":
            assert worker.poll() is None, "the worker ended before it took the run"
            assert time.monotonic() < deadline, "the worker never took the run"
            time.sleep(0.02)
        # RQ runs each job in a work horse with a process group of its own: a machine that
        # dies takes both, the worker's group and the horse's.
        horses = _children(worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        for horse in horses:
            os.killpg(horse, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    run = read_run(run_id)
    assert (run.status, run.attempts) == ("running", 1)
    assert run.lease_expires_at is not None
    assert not read_report(seeded, report_id).is_ready
    assert not (folder_of(reports_path, seeded) / f"summary-{report_id}.pdf").exists()

    # Past the lease the run is taken for dead; the sweep sends it again.
    time.sleep(max((run.lease_expires_at - utcnow()).total_seconds(), 0) + 0.2)
    assert jobs_dispatch.requeue_stale(older_than=0) == 1
    burst_worker()

    run = read_run(run_id)
    assert (run.status, run.attempts, run.error) == ("done", 2, None)
    report = read_report(seeded, report_id)
    assert_one_finished_file(reports_path, seeded, report)
    assert not list(folder_of(reports_path, seeded).glob("*.part"))
    assert jobs_dispatch.requeue_stale(older_than=0) == 0


# --- a run that keeps dying with its worker ---------------------------------------------------


def test_a_run_whose_every_attempt_died_is_failed_not_sent_round_again(
    app, redis_jobs, redis_url, burst_worker
):
    seeded = seed_session()
    report_id, run_id, _ = ask(seeded)
    with unscoped():
        run = db.session.get(JobRun, run_id)
        # Its last allowed attempt died with its worker: still "running", the lease past.
        run.status, run.attempts = "running", jobs_dispatch.MAX_ATTEMPTS
        run.lease_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    assert jobs_dispatch.requeue_stale(older_than=0) == 0
    run = read_run(run_id)
    assert (run.status, run.error) == ("failed", "WorkHorseKilled")
    progress = reports.progress(read_report(seeded, report_id))
    assert progress.state == "failed" and not progress.retrying
    assert "memory or the time" in progress.message

    # Even sent to a worker by hand, the claim refuses it: no fifth attempt.
    jobs_dispatch.run(run_id, seeded.practice_id)
    assert read_run(run_id).attempts == jobs_dispatch.MAX_ATTEMPTS
    assert not read_report(seeded, report_id).is_ready

"""After a commit, handing the recorded runs to RQ or running them inline; and running one
in a worker.

This is the jobs' infrastructure, below the services: it finds a job by the name stored on
its run (`practice.jobs.registered`) and imports no job module and no service.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.serializers import JSONSerializer
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from practice.config import REDIS_TIMEOUTS
from practice.extensions import db
from practice.jobs import SESSION_KEY, registered
from practice.models import JobRun
from practice.models.base import utcnow
from practice.tenancy import practice_context, unscoped

log = logging.getLogger(__name__)


# Attempts a run gets: the first and RQ's retries (`Retry(max=3)` below).
MAX_ATTEMPTS = 4
# Failures that trying again would only repeat: the document outgrew its memory or time, or
# the work horse died of it. Such a run is not claimed again; a person asks afresh.
FINAL_ERRORS = ("MemoryError", "JobTimeoutException", "WorkHorseKilled")


class JobFailed(Exception):
    """Raised to RQ in place of a job's own exception, whose message could quote client text."""


def _app() -> Flask:
    # A worker runs jobs inside the app that `flask jobs worker` built and holds; building
    # one here would put the whole app (blueprints and all) under the jobs' infrastructure.
    if not has_app_context():
        raise RuntimeError("Jobs run in an app context: start workers with `flask jobs worker`.")
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _after_flush(session: Session, flush_context) -> None:
    # Ids exist now; after the commit the objects are expired and must not be touched.
    runs = session.info.pop(SESSION_KEY, None)
    if runs:
        ready = session.info.setdefault(f"{SESSION_KEY}_ready", [])
        ready.extend((run.id, run.practice_id, run.function) for run in runs)


def _after_commit(session: Session) -> None:
    # SQLAlchemy also calls this when a SAVEPOINT is released: the work is not committed
    # yet, and the outer transaction may still roll back. Only the outermost commit sends.
    if session.in_nested_transaction():
        return
    ready = session.info.pop(f"{SESSION_KEY}_ready", None)
    for job_run_id, practice_id, function in ready or ():
        dispatch(job_run_id, practice_id, function)


def _after_rollback(session: Session) -> None:
    session.info.pop(SESSION_KEY, None)
    session.info.pop(f"{SESSION_KEY}_ready", None)


def install_hooks() -> None:
    """Dispatch recorded runs after commit, forget them on rollback (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_flush_postexec", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def redis_connection(app: Flask | None = None) -> Redis:
    """The app's Redis connection (one per process), created on first use."""
    app = app or current_app
    connection = app.extensions.get("practice_redis")
    if connection is None:
        # A Redis that is down must not hold up the request that enqueues: the run stays
        # pending for the requeue sweep (RQ's worker raises socket_timeout as it needs).
        connection = Redis.from_url(
            app.config["REDIS_URL"],
            socket_timeout=5,
            socket_connect_timeout=REDIS_TIMEOUTS["socket_connect_timeout"],
        )
        app.extensions["practice_redis"] = connection
    return connection


def get_queue(name: str, app: Flask | None = None) -> Queue:
    return Queue(name, connection=redis_connection(app), serializer=JSONSerializer)


def dispatch(job_run_id: int, practice_id: int, function: str) -> None:
    """Send a committed run to its queue; with no Redis configured, run it now."""
    app = _app()
    if app.config["JOBS_INLINE"]:
        run(job_run_id, practice_id)
        return
    spec = registered(function)
    with app.app_context():
        try:
            get_queue(spec.queue, app).enqueue(
                "practice.jobs.dispatch.run",
                job_run_id,
                practice_id,
                job_id=f"practice-run-{job_run_id}",
                job_timeout=spec.timeout,
                failure_ttl=24 * 3600,
                result_ttl=600,
                retry=Retry(max=MAX_ATTEMPTS - 1, interval=[10, 60, 300]),
            )
        except RedisError:
            # The row stays pending; `flask jobs requeue` (run on a timer) sends it later.
            log.warning("job run %s left pending: Redis unavailable", job_run_id)
            return
        # Its own short transaction, in the run's practice (row-level security holds it to it).
        with practice_context(practice_id), db.engine.begin() as connection:
            connection.execute(
                update(JobRun.__table__)
                .where(JobRun.__table__.c.id == job_run_id, JobRun.__table__.c.status == "pending")
                .values(status="queued", enqueued_at=utcnow())
            )


def lease(app: Flask, function: str) -> timedelta:
    """How long a claim on a run of `function` lasts: past it, the worker is taken for dead."""
    seconds = app.config["JOBS_LEASE_SECONDS"]
    if not seconds:
        try:
            seconds = registered(function).timeout + 60
        except ValueError:
            seconds = 60
    return timedelta(seconds=seconds)


def run(job_run_id: int, practice_id: int) -> None:
    """Run one recorded job in its practice. Safe to call twice: a finished run is skipped."""
    app = _app()
    with app.app_context(), practice_context(practice_id):
        now = utcnow()
        function = db.session.scalar(select(JobRun.function).where(JobRun.id == job_run_id))
        if function is None:
            return
        claimed = db.session.execute(
            update(JobRun)
            .where(
                JobRun.id == job_run_id,
                JobRun.attempts < MAX_ATTEMPTS,
                or_(
                    JobRun.status.in_(("pending", "queued")),
                    and_(JobRun.status == "failed", JobRun.error.not_in(FINAL_ERRORS)),
                    # Left running by a worker that died: its lease is past.
                    and_(JobRun.status == "running", JobRun.lease_expires_at < now),
                ),
            )
            .values(
                status="running",
                attempts=JobRun.attempts + 1,
                started_at=now,
                lease_expires_at=now + lease(app, function),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed != 1:
            return
        job_run = db.session.get(JobRun, job_run_id)
        try:
            # A run stored under a name no job has any more fails like any other error.
            registered(job_run.function).function(**job_run.arguments)
            job_run.status = "done"
            job_run.error = None
            job_run.finished_at = utcnow()
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            job_run = db.session.get(JobRun, job_run_id)
            job_run.status = "failed"
            # The exception's type only: its message could quote client text.
            job_run.error = type(exc).__name__[:200]
            job_run.finished_at = utcnow()
            db.session.commit()
            log.error(
                "job run %s (%s) failed: %s", job_run_id, job_run.function, type(exc).__name__
            )
            if not app.config["JOBS_INLINE"]:
                # Let RQ retry it, but never with the original exception: RQ logs its
                # message and traceback and stores them in Redis, and both could quote
                # client text. `from None` drops the chained original too.
                raise JobFailed(f"job run {job_run_id} failed: {type(exc).__name__}") from None


def requeue_stale(older_than: int = 60) -> int:
    """Send again the runs that never reached a queue (pending for `older_than` seconds:
    Redis was down) and those a dead worker left running past their lease. The sweep of
    `flask jobs requeue` and of every `flask jobs tick`; returns how many it sent."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than)
    with unscoped():  # maintenance sweep across practices: ids only
        runs = db.session.execute(
            select(JobRun.id, JobRun.practice_id, JobRun.function).where(
                or_(
                    and_(JobRun.status == "pending", JobRun.created_at <= cutoff),
                    and_(
                        JobRun.status == "running",
                        JobRun.lease_expires_at < now,
                        JobRun.attempts < MAX_ATTEMPTS,
                    ),
                )
            )
        ).all()
    db.session.rollback()
    for job_run_id, practice_id, function in runs:
        dispatch(job_run_id, practice_id, function)
    # A run whose every attempt died with its worker is failed, not sent round again.
    with unscoped(), db.engine.begin() as connection:  # the sweep's one write across practices
        connection.execute(
            update(JobRun.__table__)
            .where(
                JobRun.__table__.c.status == "running",
                JobRun.__table__.c.lease_expires_at < now,
                JobRun.__table__.c.attempts >= MAX_ATTEMPTS,
            )
            .values(status="failed", error="WorkHorseKilled", finished_at=now)
        )
    return len(runs)


def horse_killed(job, retpid: int, ret_val: int, rusage) -> None:
    """RQ's hook when a work horse dies without finishing (a signal: the kernel's OOM killer,
    a C library aborting at the memory cap, a segfault). The run it was doing is failed at
    once, so its page says so instead of waiting for the lease to run out."""
    job_run_id, practice_id = (list(job.args) + [None, None])[:2]
    if not isinstance(job_run_id, int) or not isinstance(practice_id, int):
        return
    with practice_context(practice_id), db.engine.begin() as connection:
        connection.execute(
            update(JobRun.__table__)
            .where(JobRun.__table__.c.id == job_run_id, JobRun.__table__.c.status == "running")
            .values(status="failed", error="WorkHorseKilled", finished_at=utcnow())
        )
    # The worker forks the next work horse from this process: it must not inherit this
    # connection (a socket shared by two processes).
    db.engine.dispose()
    log.error("job run %s failed: its work horse died (status %s)", job_run_id, ret_val)

"""Background jobs: queue names, enqueue-after-commit, and the runner every job goes through.

A job function is a plain function of ids, registered with `@job(queue=...)`. `enqueue()`
writes a `JobRun` row in the caller's transaction; only after that commits is the run handed
to RQ (or, with no `REDIS_URL`, run inline). Redis therefore holds nothing but two integers
per job, and the database always knows a job's state, even when Redis is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session, aliased

from practice.extensions import db
from practice.models import JobRun

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"  # email, reminders
REPORTS_QUEUE = "reports"  # PDF rendering
QUEUES = (DEFAULT_QUEUE, REPORTS_QUEUE)


@dataclass(frozen=True)
class JobSpec:
    function: Callable[..., object]
    queue: str
    timeout: int


REGISTRY: dict[str, JobSpec] = {}


def job(*, queue: str = DEFAULT_QUEUE, timeout: int = 60):
    """Register a job function under its dotted name."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(function: Callable[..., object]) -> Callable[..., object]:
        REGISTRY[f"{function.__module__}.{function.__qualname__}"] = JobSpec(
            function, queue, timeout
        )
        return function

    return register


def enqueue(
    function: Callable[..., object], *, practice_id: int | None = None, **ids: int | None
) -> JobRun:
    """Record a run of `function(**ids)`; it is dispatched when the transaction commits.

    The run belongs to the current practice, or to `practice_id` when the caller acts
    before any practice is set (an anonymous password-reset request): the job runs in
    that practice and `practice_id` is not passed on to the function.
    """
    name = f"{function.__module__}.{function.__qualname__}"
    spec = REGISTRY.get(name)
    if spec is None:
        raise ValueError(f"{name} is not a registered job")
    for key, value in {"practice_id": practice_id, **ids}.items():
        # Ids only: a string here could be client text on its way into Redis.
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"job argument {key!r} must be an id (int), got {type(value)}")
    run = JobRun(
        practice_id=practice_id, queue=spec.queue, function=name, arguments=ids, status="pending"
    )
    db.session.add(run)
    db.session.info.setdefault("practice_jobs", []).append(run)
    return run


def failed_runs(
    function: Callable[..., object], argument: str, ids: Iterable[int]
) -> dict[int, datetime]:
    """When the last run of `function` for each of `ids` (the value of its `argument`) failed:
    {id: when}, for the page that started it to say so. A later run (a resend) that is pending,
    running or done means the failure is no longer the news, and the id is left out.

    One query, whatever the number of ids; failed runs are few and `status` leads an index.
    """
    ids = list(ids)
    if not ids:
        return {}
    name = f"{function.__module__}.{function.__qualname__}"
    key = JobRun.arguments[argument].as_integer()
    later = aliased(JobRun)
    rows = db.session.execute(
        select(key, JobRun.finished_at).where(
            JobRun.status == "failed",
            JobRun.function == name,
            key.in_(ids),
            ~exists().where(
                later.function == name,
                later.id > JobRun.id,
                later.arguments[argument].as_integer() == key,
            ),
        )
    ).all()
    return {job_id: finished_at for job_id, finished_at in rows}


def _after_flush(session: Session, flush_context) -> None:
    # Ids exist now; after the commit the objects are expired and must not be touched.
    runs = session.info.pop("practice_jobs", None)
    if runs:
        ready = session.info.setdefault("practice_jobs_ready", [])
        ready.extend((run.id, run.practice_id, run.function) for run in runs)


def _after_commit(session: Session) -> None:
    ready = session.info.pop("practice_jobs_ready", None)
    if not ready:
        return
    from practice.jobs.dispatch import dispatch

    for job_run_id, practice_id, function in ready:
        dispatch(job_run_id, practice_id, function)


def _after_rollback(session: Session) -> None:
    session.info.pop("practice_jobs", None)
    session.info.pop("practice_jobs_ready", None)


def install_hooks() -> None:
    """Dispatch recorded runs after commit, forget them on rollback (idempotent)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_flush_postexec", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def load_job_modules() -> None:
    """Import every module that registers jobs, so the registry is complete."""
    from practice.jobs import email  # noqa: F401

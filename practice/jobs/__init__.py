"""Background jobs: queue names, the registry of jobs by name, and enqueue-after-commit.

A job is a plain function of ids in a module of `practice.tasks`, registered under a stable
name with `@job(name=..., queue=...)`. Callers enqueue it by that name
(`enqueue("email.password_reset", user_id=...)`): a job calls services, so services, which
enqueue jobs, must never import one back. This package is the machinery below the services;
it finds the job modules by walking `practice.tasks` (`load_job_modules`), not from a list:
a new one is picked up by being there.

`enqueue()` writes a `JobRun` row in the caller's transaction; only after that commits is the
run handed to RQ (or, with no `REDIS_URL`, run inline) by `practice.jobs.dispatch`. Redis
therefore holds nothing but two integers per job, and the database always knows a job's state,
even when Redis is down.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from practice.extensions import db
from practice.models import JobRun

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"  # email, reminders
REPORTS_QUEUE = "reports"  # PDF rendering
QUEUES = (DEFAULT_QUEUE, REPORTS_QUEUE)

# The package whose every module is a job module (imported by name: it sits above this one).
TASKS_PACKAGE = "practice.tasks"
# Where enqueue() leaves new runs in the session for dispatch's after-commit hook.
SESSION_KEY = "practice_jobs"


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its function, the queue it runs on and how long it may take."""

    name: str
    function: Callable[..., object]
    queue: str
    timeout: int
    # Names the job was stored under before: runs recorded with them still run.
    formerly: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.formerly)


REGISTRY: dict[str, JobSpec] = {}
_FORMER_NAMES: dict[str, str] = {}
_modules_loaded = False


def job(*, name: str, queue: str = DEFAULT_QUEUE, timeout: int = 60, formerly: Iterable[str] = ()):
    """Register a job function under `name`, the stable name its runs are stored with.

    Never rename a job that has run: add the old name to `formerly` so its recorded runs
    (pending, or failed and shown on a page) still find it.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    formerly = tuple(formerly)

    def register(function: Callable[..., object]) -> Callable[..., object]:
        origin = f"{function.__module__}.{function.__qualname__}"
        for key in (name, *formerly):
            taken = _lookup(key)
            # The same function registered again (its module re-imported) replaces itself.
            if taken is not None and _origin(taken) != origin:
                raise ValueError(f"job name {key!r} is already taken by {_origin(taken)}")
        REGISTRY[name] = JobSpec(name, function, queue, timeout, formerly)
        _FORMER_NAMES.update(dict.fromkeys(formerly, name))
        return function

    return register


def _origin(spec: JobSpec) -> str:
    return f"{spec.function.__module__}.{spec.function.__qualname__}"


def _lookup(name: str) -> JobSpec | None:
    return REGISTRY.get(name) or REGISTRY.get(_FORMER_NAMES.get(name, ""))


def load_job_modules() -> None:
    """Import every module of `practice.tasks`, once per process, so the registry is complete.

    The package is walked, so a job module added there is found without editing a list.
    """
    global _modules_loaded
    if _modules_loaded:
        return
    package = importlib.import_module(TASKS_PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, prefix=f"{TASKS_PACKAGE}."):
        importlib.import_module(module.name)
    _modules_loaded = True


def registered(name: str) -> JobSpec:
    """The job registered under `name` (or under a name it had before); ValueError if none."""
    if not isinstance(name, str):
        raise TypeError(f"a job is named by a string, as given to @job(name=...); got {name!r}")
    load_job_modules()
    spec = _lookup(name)
    if spec is None:
        raise ValueError(f"{name!r} is not a registered job")
    return spec


def enqueue(name: str, *, practice_id: int | None = None, **ids: int | None) -> JobRun:
    """Record a run of the job registered as `name`, called with `**ids`; it is dispatched
    when the transaction commits.

    The run belongs to the current practice, or to `practice_id` when the caller acts
    before any practice is set (an anonymous password-reset request): the job runs in
    that practice and `practice_id` is not passed on to the function.
    """
    spec = registered(name)
    for key, value in {"practice_id": practice_id, **ids}.items():
        # Ids only: a string here could be client text on its way into Redis.
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"job argument {key!r} must be an id (int), got {type(value)}")
    run = JobRun(
        practice_id=practice_id,
        queue=spec.queue,
        function=spec.name,
        arguments=ids,
        status="pending",
    )
    db.session.add(run)
    db.session.info.setdefault(SESSION_KEY, []).append(run)
    return run


def failed_runs(name: str, argument: str, ids: Iterable[int]) -> dict[int, datetime]:
    """When the last run of the job `name` for each of `ids` (the value of its `argument`)
    failed: {id: when}, for the page that started it to say so. A later run (a resend) that is
    pending, running or done means the failure is no longer the news, and the id is left out.

    One query, whatever the number of ids; failed runs are few and `status` leads an index.
    """
    names = registered(name).names
    ids = list(ids)
    if not ids:
        return {}
    key = JobRun.arguments[argument].as_integer()
    later = aliased(JobRun)
    rows = db.session.execute(
        select(key, JobRun.finished_at).where(
            JobRun.status == "failed",
            JobRun.function.in_(names),
            key.in_(ids),
            ~exists().where(
                later.function.in_(names),
                later.id > JobRun.id,
                later.arguments[argument].as_integer() == key,
            ),
        )
    ).all()
    return {job_id: finished_at for job_id, finished_at in rows}

"""Helpers for job tests: read JobRun rows fresh, run an in-process RQ worker, dump Redis."""

from __future__ import annotations

import signal
import zlib

import pytest


@pytest.fixture
def job_runs():
    """Return every JobRun row as the database holds it now (across practices)."""
    from sqlalchemy import select

    from practice.extensions import db
    from practice.models import JobRun
    from practice.tenancy import unscoped

    def read() -> list[JobRun]:
        db.session.expire_all()  # other sessions (worker, dispatch) changed the rows
        with unscoped():
            return list(db.session.scalars(select(JobRun).order_by(JobRun.id)))

    return read


@pytest.fixture
def burst_worker(redis_jobs):
    """Run an RQ SimpleWorker in this process until every queue of ours is empty."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from practice.jobs import QUEUES
    from practice.jobs.dispatch import get_queue

    def work() -> None:
        worker = SimpleWorker(
            [get_queue(name) for name in QUEUES],
            connection=redis_jobs,
            serializer=JSONSerializer,
        )
        # The worker installs its own SIGINT/SIGTERM handlers: give pytest its own back.
        saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker.work(burst=True)
        finally:
            for number, handler in saved.items():
                signal.signal(number, handler)

    return work


@pytest.fixture
def redis_dump(redis_jobs):
    """Return every key and value in the test Redis db, decompressed where RQ compressed it."""
    connection = redis_jobs

    def expand(value: bytes) -> bytes:
        try:
            return value + b"\n" + zlib.decompress(value)
        except zlib.error:
            return value

    def dump() -> bytes:
        chunks: list[bytes] = []
        for key in connection.scan_iter():
            chunks.append(key)
            kind = connection.type(key)
            if kind == b"string":
                chunks.append(expand(connection.get(key)))
            elif kind == b"hash":
                for field, value in connection.hgetall(key).items():
                    chunks.extend([field, expand(value)])
            elif kind == b"list":
                chunks.extend(expand(v) for v in connection.lrange(key, 0, -1))
            elif kind == b"set":
                chunks.extend(connection.smembers(key))
            elif kind == b"zset":
                chunks.extend(connection.zrange(key, 0, -1))
            elif kind == b"stream":
                for _, fields in connection.xrange(key):
                    for field, value in fields.items():
                        chunks.extend([field, expand(value)])
        return b"\n".join(chunks)

    return dump

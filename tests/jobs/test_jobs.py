"""Background jobs: ids only, enqueue after commit, inline or on RQ, Redis down, failures.

Everything here runs against the real database, the real Redis (db 15) and the real SMTP
server of the test session; nothing of ours is mocked.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

import practice.jobs
from practice.extensions import db
from practice.jobs import enqueue
from practice.models import PasswordReset, Practice
from practice.models.base import utcnow
from practice.services import accounts
from practice.tenancy import TenancyError, practice_context, unscoped
from tests.conftest import BASE_URL
from tests.factories import OwnerFactory, PracticeFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_WORDS = "secret client words"


@practice.jobs.job(name="tests.fail_with_client_words")
def fail_with_client_words(note_id: int) -> None:
    """A test-only job whose exception message quotes what a client wrote."""
    raise ValueError(f"{SECRET_WORDS} (note {note_id})")


@pytest.fixture
def owner():
    owner = OwnerFactory()
    db.session.commit()
    return owner


def forgot_password(client, email: str):
    return client.post_form("/password/forgot", {"email": email})


def assert_reset_email(message, owner) -> str:
    """Check one password-reset email and return its link."""
    assert message["To"] == owner.email
    assert message["Subject"] == "Reset your practice password"
    links = [word for word in message.get_content().split() if word.startswith("http")]
    assert len(links) == 1, message.get_content()
    assert links[0].startswith(f"{BASE_URL}/password/reset/")
    return links[0]


# --- enqueue: ids only, registered functions only ---------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        {"user_id": "12"},
        {"user_id": "owner@example.com"},
        {"user_id": 12.0},
        {"user_id": True},
        {"user_id": 1, "practice_id": "1"},
        {"user_id": 1, "practice_id": False},
    ],
    ids=["digit-string", "email", "float", "bool", "practice-string", "practice-bool"],
)
def test_enqueue_refuses_arguments_that_are_not_ids(app, owner, inbox, job_runs, arguments):
    arguments.setdefault("practice_id", owner.practice_id)
    with pytest.raises(TypeError, match="must be an id"):
        enqueue("email.password_reset", **arguments)
    db.session.commit()
    assert job_runs() == []
    assert inbox.messages == []


def test_enqueue_refuses_an_unregistered_name(app, owner, job_runs):
    with pytest.raises(ValueError, match="not a registered job"):
        enqueue("email.no_such_job", practice_id=owner.practice_id, user_id=owner.id)
    db.session.commit()
    assert job_runs() == []


def test_enqueue_takes_a_name_not_a_function(app, owner, job_runs):
    with pytest.raises(TypeError, match="named by a string"):
        enqueue(fail_with_client_words, practice_id=owner.practice_id, note_id=7)
    db.session.commit()
    assert job_runs() == []


def test_a_registered_job_is_found_by_its_name():
    spec = practice.jobs.registered("tests.fail_with_client_words")
    assert spec.function is fail_with_client_words
    assert spec.queue == practice.jobs.DEFAULT_QUEUE


# --- inline mode (no REDIS_URL) -----------------------------------------------------------


def test_inline_password_reset_runs_after_the_commit(app, owner, inbox, job_runs):
    assert app.config["JOBS_INLINE"]
    accounts.request_password_reset(owner.email)
    db.session.flush()
    (pending,) = job_runs()
    assert pending.status == "pending"
    assert inbox.messages == [], "nothing may be sent before the commit"

    db.session.commit()

    (run,) = job_runs()
    assert run.status == "done"
    assert run.attempts == 1
    assert run.error is None
    assert run.practice_id == owner.practice_id
    assert run.function == "email.password_reset"
    assert run.arguments == {"user_id": owner.id}
    assert run.started_at is not None and run.finished_at is not None
    assert len(inbox.messages) == 1
    assert_reset_email(inbox.messages[0], owner)


def test_inline_forgot_password_request_sends_a_working_link(app, client, owner, inbox, job_runs):
    response = forgot_password(client, owner.email)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"

    (run,) = job_runs()
    assert (run.status, run.attempts) == ("done", 1)
    (message,) = inbox.messages
    link = assert_reset_email(message, owner)
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert "New password" in page.get_data(as_text=True)


def test_forgot_password_for_an_unknown_address_records_no_job(app, client, inbox, job_runs):
    response = forgot_password(client, "nobody@example.com")
    assert response.status_code == 302
    assert job_runs() == []
    assert inbox.messages == []


@pytest.mark.parametrize("flushed", [True, False], ids=["flushed", "never-flushed"])
@pytest.mark.parametrize("mode", ["inline", "redis"])
def test_a_rolled_back_transaction_dispatches_nothing(
    request, app, owner, inbox, job_runs, flushed, mode
):
    redis = request.getfixturevalue("redis_jobs") if mode == "redis" else None
    enqueue("email.password_reset", practice_id=owner.practice_id, user_id=owner.id)
    if flushed:
        db.session.flush()
    db.session.rollback()

    # A later, unrelated commit in the same session must not send the forgotten run.
    with unscoped():
        db.session.add(PracticeFactory.build())
    db.session.commit()

    assert job_runs() == []
    assert inbox.messages == []
    with practice_context(owner.practice_id):
        assert db.session.scalars(select(PasswordReset)).all() == []
    if redis is not None:
        assert list(redis.scan_iter("rq:job:*")) == []
        assert redis.llen("rq:queue:default") == 0


@pytest.mark.parametrize("mode", ["inline", "redis"])
def test_releasing_a_savepoint_sends_nothing_until_the_outer_commit(
    request, app, owner, inbox, job_runs, mode
):
    """A savepoint released inside a transaction is not a commit: a run recorded before it
    waits for the outer commit, and goes nowhere if the outer transaction rolls back."""
    redis = request.getfixturevalue("redis_jobs") if mode == "redis" else None
    enqueue("email.password_reset", practice_id=owner.practice_id, user_id=owner.id)
    db.session.flush()
    with db.session.begin_nested(), unscoped():
        db.session.add(PracticeFactory.build())
    assert inbox.messages == []
    if redis is not None:
        assert redis.llen("rq:queue:default") == 0
    db.session.rollback()
    assert job_runs() == []
    assert inbox.messages == []

    enqueue("email.password_reset", practice_id=owner.practice_id, user_id=owner.id)
    db.session.flush()
    with db.session.begin_nested(), unscoped():
        db.session.add(PracticeFactory.build())
    assert inbox.messages == []
    db.session.commit()
    (run,) = job_runs()
    if redis is None:
        assert run.status == "done" and len(inbox.messages) == 1
    else:
        assert redis.llen("rq:queue:default") == 1


# --- RQ on the real Redis ----------------------------------------------------------------


def test_after_the_commit_redis_holds_only_two_ids(
    app, client, owner, inbox, job_runs, redis_jobs, redis_dump, burst_worker
):
    response = forgot_password(client, owner.email)
    assert response.status_code == 302
    (run,) = job_runs()
    assert run.status == "queued"
    assert run.enqueued_at is not None
    assert inbox.messages == [], "a queued job waits for a worker"

    raw = redis_jobs.hgetall(f"rq:job:practice-run-{run.id}")
    assert raw, "the job is in Redis under its run's id"
    func_name, instance, args, kwargs = json.loads(zlib.decompress(raw[b"data"]))
    assert func_name == "practice.jobs.dispatch.run"
    assert instance is None
    assert args == [run.id, owner.practice_id]
    assert all(type(arg) is int for arg in args)
    assert kwargs == {}
    assert raw[b"origin"] == b"default"

    everything = redis_dump()
    with practice_context(owner.practice_id):
        # The request ended the test's session: read the practice afresh.
        practice_name = db.session.get(Practice, owner.practice_id).name
    for text in (owner.email, owner.email.split("@")[0], owner.name, practice_name):
        assert text.encode() not in everything, f"{text!r} found in Redis"
    assert b"@" not in everything

    burst_worker()

    (message,) = inbox.messages
    assert_reset_email(message, owner)
    (run,) = job_runs()
    assert (run.status, run.attempts, run.error) == ("done", 1, None)


def test_running_one_job_run_twice_sends_one_email(app, client, owner, inbox, job_runs, redis_jobs):
    from practice.jobs.dispatch import run

    forgot_password(client, owner.email)
    (queued,) = job_runs()
    assert queued.status == "queued"

    run(queued.id, owner.practice_id)
    run(queued.id, owner.practice_id)

    assert len(inbox.messages) == 1
    (done,) = job_runs()
    assert (done.status, done.attempts) == ("done", 1)
    with practice_context(owner.practice_id):
        assert len(db.session.scalars(select(PasswordReset)).all()) == 1


def test_redis_down_leaves_the_run_pending_and_requeue_sends_it(
    app, client, owner, inbox, job_runs, redis_jobs, redis_url, burst_worker, caplog
):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("practice_redis", None)

    response = forgot_password(client, owner.email)

    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    page = client.get("/login")
    assert page.status_code == 200
    assert "a reset link is on its way" in page.get_data(as_text=True)
    (run,) = job_runs()
    assert run.status == "pending"
    assert inbox.messages == []
    assert any("left pending" in record.getMessage() for record in caplog.records)

    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("practice_redis", None)
    result = app.test_cli_runner().invoke(args=["jobs", "requeue", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "requeued 1 job run(s)" in result.output
    (run,) = job_runs()
    assert run.status == "queued"

    burst_worker()

    (message,) = inbox.messages
    assert_reset_email(message, owner)
    assert job_runs()[0].status == "done"

    again = app.test_cli_runner().invoke(args=["jobs", "requeue", "--older-than", "0"])
    assert "requeued 0 job run(s)" in again.output


def test_the_tick_sends_runs_left_pending_too(app, owner, job_runs, redis_jobs, redis_url):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("practice_redis", None)
    accounts.request_password_reset(owner.email)
    db.session.commit()
    assert job_runs()[0].status == "pending"
    with unscoped():
        # Pending for two minutes: past the sweep's minute.
        job_runs()[0].created_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("practice_redis", None)

    result = app.test_cli_runner().invoke(args=["jobs", "tick"])

    assert result.exit_code == 0, result.output
    assert "requeued 1 job run(s)" in result.output
    assert job_runs()[0].status == "queued"


def test_requeue_leaves_recent_pending_runs_alone(app, owner, job_runs, redis_jobs, redis_url):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("practice_redis", None)
    accounts.request_password_reset(owner.email)
    db.session.commit()
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("practice_redis", None)

    result = app.test_cli_runner().invoke(args=["jobs", "requeue", "--older-than", "3600"])

    assert result.exit_code == 0, result.output
    assert "requeued 0 job run(s)" in result.output
    assert job_runs()[0].status == "pending"
    status = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert "pending  1" in status.output
    assert "queue default: 0 waiting" in status.output


# --- a failing job -----------------------------------------------------------------------


def _assert_secret_not_logged(caplog) -> None:
    assert SECRET_WORDS not in caplog.text
    for record in caplog.records:
        assert SECRET_WORDS not in record.getMessage()
        assert SECRET_WORDS not in str(record.__dict__)


def test_a_failing_inline_job_records_only_the_exception_type(app, owner, job_runs, caplog):
    caplog.set_level(logging.DEBUG)
    with practice_context(owner.practice_id):
        enqueue("tests.fail_with_client_words", note_id=7)
        db.session.commit()  # inline: the job runs (and fails) here, the commit succeeds

    (run,) = job_runs()
    assert run.status == "failed"
    assert run.attempts == 1
    assert run.error == "ValueError"
    assert run.finished_at is not None
    assert any(
        record.levelno >= logging.ERROR and "ValueError" in record.getMessage()
        for record in caplog.records
    ), "the failure is logged, by type"
    _assert_secret_not_logged(caplog)


def test_a_failing_rq_job_keeps_client_words_out_of_logs_and_redis(
    app, owner, job_runs, redis_jobs, redis_dump, burst_worker, caplog
):
    caplog.set_level(logging.DEBUG)
    with practice_context(owner.practice_id):
        enqueue("tests.fail_with_client_words", note_id=7)
        db.session.commit()
    assert job_runs()[0].status == "queued"

    burst_worker()

    (run,) = job_runs()
    assert (run.status, run.attempts, run.error) == ("failed", 1, "ValueError")
    assert any(record.levelno >= logging.ERROR for record in caplog.records)
    _assert_secret_not_logged(caplog)
    assert SECRET_WORDS.encode() not in redis_dump()


# --- end to end: a real worker process ------------------------------------------------------


def test_a_real_worker_process_sends_the_queued_reset_email(
    app, client, owner, smtp_server, inbox, job_runs, redis_jobs, redis_url
):
    controller, _ = smtp_server
    forgot_password(client, owner.email)
    (run,) = job_runs()
    assert run.status == "queued"

    env = {
        **os.environ,
        "PRACTICE_ENV": "testing",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": controller.hostname,
        "MAIL_PORT": str(controller.port),
        "BASE_URL": BASE_URL,
        "PRACTICE_INSTANCE_PATH": app.instance_path,
        "RATELIMIT_ENABLED": "false",
    }
    flask = Path(sys.executable).parent / "flask"
    worker = subprocess.run(
        [str(flask), "--app", "practice", "jobs", "worker", "--burst"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert worker.returncode == 0, worker.stdout + worker.stderr
    (message,) = inbox.messages
    link = assert_reset_email(message, owner)
    assert job_runs()[0].status == "done"
    assert client.get(urlsplit(link).path).status_code == 200


def test_the_worker_command_refuses_to_start_without_redis(app):
    assert app.config["REDIS_URL"] is None
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_a_run_belongs_to_the_current_practice(app, owner, job_runs):
    with practice_context(owner.practice_id):
        enqueue("email.password_reset", user_id=owner.id)
        db.session.flush()
    (run,) = job_runs()
    assert run.practice_id == owner.practice_id
    assert run.arguments == {"user_id": owner.id}


def test_a_run_cannot_be_made_for_another_practice_inside_one(app, owner, job_runs):
    other_id = PracticeFactory().id
    db.session.commit()
    with practice_context(owner.practice_id):
        enqueue("email.password_reset", practice_id=other_id, user_id=owner.id)
        with pytest.raises(TenancyError):
            db.session.flush()
    db.session.rollback()
    assert job_runs() == []

"""Jobs are found by name: job modules by walking practice.tasks, old stored names still run."""

from __future__ import annotations

import pkgutil
import sys
import textwrap
from urllib.parse import urlsplit

import pytest

import practice.jobs
import practice.tasks
from practice.extensions import db
from practice.jobs import enqueue, failed_runs, load_job_modules, registered
from practice.models import JobRun
from practice.models.base import utcnow
from practice.tenancy import practice_context
from tests.factories import OwnerFactory


def job_modules() -> set[str]:
    """Every module of practice.tasks, as the filesystem has them."""
    found = pkgutil.walk_packages(practice.tasks.__path__, prefix="practice.tasks.")
    return {module.name for module in found}


@pytest.fixture
def scratch_registry(monkeypatch):
    """Let a test register jobs and walk the package again; the real registry is restored."""
    load_job_modules()  # into the real registry: a module is imported (and registers) once
    monkeypatch.setattr(practice.jobs, "REGISTRY", dict(practice.jobs.REGISTRY))
    monkeypatch.setattr(practice.jobs, "_FORMER_NAMES", dict(practice.jobs._FORMER_NAMES))
    monkeypatch.setattr(practice.jobs, "_modules_loaded", False)


@pytest.fixture
def owner():
    owner = OwnerFactory()
    db.session.commit()
    return owner


def test_every_job_module_is_loaded_and_registers_its_jobs():
    load_job_modules()
    modules = job_modules()
    assert "practice.tasks.email" in modules
    registered_from = {
        spec.function.__module__
        for spec in practice.jobs.REGISTRY.values()
        if spec.function.__module__.startswith("practice.")
    }
    # Each job module is imported and holds a job; no job of ours lives outside the package.
    assert modules <= set(sys.modules)
    assert registered_from == modules


def test_a_job_module_added_to_the_package_is_found_without_editing_a_list(
    app, tmp_path, monkeypatch, scratch_registry, job_runs
):
    (tmp_path / "added_in_test.py").write_text(
        textwrap.dedent(
            '''
            from practice.jobs import job

            CALLS = []


            @job(name="tests.added_module")
            def note_something(note_id: int) -> None:
                """A job in a module no list names."""
                CALLS.append(note_id)
            '''
        )
    )
    monkeypatch.setattr(practice.tasks, "__path__", [*practice.tasks.__path__, str(tmp_path)])
    try:
        # Nothing imports the new module: enqueue finds it by walking the package.
        enqueue("tests.added_module", practice_id=OwnerFactory().practice_id, note_id=7)
        db.session.commit()

        added = sys.modules["practice.tasks.added_in_test"]
        assert registered("tests.added_module").function is added.note_something
        assert added.CALLS == [7]
        (run,) = job_runs()
        assert (run.function, run.status) == ("tests.added_module", "done")
    finally:
        sys.modules.pop("practice.tasks.added_in_test", None)


def test_a_job_name_belongs_to_one_function(scratch_registry):
    def another(user_id: int) -> None:
        """Not the password-reset job."""

    with pytest.raises(ValueError, match="already taken"):
        practice.jobs.job(name="email.password_reset")(another)
    with pytest.raises(ValueError, match="already taken"):
        practice.jobs.job(
            name="tests.another", formerly=["practice.jobs.email.send_password_reset"]
        )(another)
    assert registered("email.password_reset").function.__name__ == "send_password_reset"


def test_a_run_stored_under_a_job_s_former_dotted_name_still_runs(
    app, client, owner, inbox, job_runs
):
    # Runs recorded before jobs had names carry the function's dotted path.
    run = JobRun(
        practice_id=owner.practice_id,
        queue="default",
        function="practice.jobs.email.send_password_reset",
        arguments={"user_id": owner.id},
        status="pending",
    )
    db.session.add(run)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["jobs", "requeue", "--older-than", "0"])

    assert result.exit_code == 0, result.output
    (done,) = job_runs()
    assert (done.status, done.attempts, done.error) == ("done", 1, None)
    (message,) = inbox.messages
    link = next(word for word in message.get_content().split() if word.startswith("http"))
    assert client.get(urlsplit(link).path).status_code == 200


def test_a_failure_stored_under_a_former_name_is_still_shown_until_a_resend(app, owner):
    def record(function: str, status: str) -> None:
        db.session.add(
            JobRun(
                practice_id=owner.practice_id,
                queue="default",
                function=function,
                arguments={"user_id": owner.id},
                status=status,
                finished_at=utcnow(),
            )
        )
        db.session.commit()

    record("practice.jobs.email.send_password_reset", "failed")
    with practice_context(owner.practice_id):
        assert set(failed_runs("email.password_reset", "user_id", [owner.id])) == {owner.id}

    record("email.password_reset", "done")
    with practice_context(owner.practice_id):
        assert failed_runs("email.password_reset", "user_id", [owner.id]) == {}


def test_failed_runs_refuses_a_name_no_job_has(app):
    with pytest.raises(ValueError, match="not a registered job"):
        failed_runs("email.partner_invites", "invite_id", [1])

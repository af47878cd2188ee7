"""The command line, through Flask's CLI runner, on the test database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from practice.extensions import db
from practice.models import AuditEvent, Couple, JobRun, Partner, Practice, User
from practice.tenancy import unscoped
from tests.factories import OwnerFactory, PracticeFactory

OWNER_PASSWORD = "a sturdy owner password"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def _counts() -> dict[str, int]:
    with unscoped():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Practice, User, Couple, Partner)
        }


def _assert_clean_failure(result, message: str) -> None:
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    assert f"Error: {message}" in result.output


# --- practice seed-demo ---------------------------------------------------------------------


def test_seed_demo_is_idempotent(cli):
    first = cli("practice", "seed-demo")
    assert first.exit_code == 0, first.output
    after_first = _counts()
    assert after_first == {"Practice": 1, "User": 2, "Couple": 4, "Partner": 8}
    assert "owner@example.com" in first.output
    assert "therapist@example.com" in first.output

    second = cli("practice", "seed-demo")
    assert second.exit_code == 0, second.output
    assert _counts() == after_first
    # The logins are the same; each run prints fresh personal links (only digests are kept).
    logins = [line for line in first.output.splitlines() if "password:" in line]
    assert logins == [line for line in second.output.splitlines() if "password:" in line]
    first_links = {line.split()[-1] for line in first.output.splitlines() if "/p/" in line}
    second_links = {line.split()[-1] for line in second.output.splitlines() if "/p/" in line}
    assert len(first_links) == len(second_links) == 8  # a link for every partner
    assert not first_links & second_links


def test_seed_demo_json_logins_sign_in(cli, client):
    result = cli("practice", "seed-demo", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["practice"]["name"]
    with unscoped():
        assert db.session.get(Practice, data["practice"]["id"]).name == data["practice"]["name"]
    roles = {login["role"]: login for login in data["logins"]}
    assert set(roles) == {"owner", "therapist"}

    for login in data["logins"]:
        client.login(login["email"], login["password"])
        response = client.get("/dashboard")
        assert response.status_code == 200
        assert data["practice"]["name"] in response.get_data(as_text=True)
        client.post_form("/logout")

    # The same logins on a second run, and they still work.
    again = json.loads(cli("practice", "seed-demo", "--json").output)
    assert again["logins"] == data["logins"]
    assert [c["label"] for c in again["couples"]] == [c["label"] for c in data["couples"]]

    # Every partner's printed link opens that partner's welcome page.
    for couple in again["couples"]:
        for partner in couple["partners"]:
            path = partner["invite_link"].removeprefix("https://practice.example.org")
            page = client.get(path)
            assert page.status_code == 200
            assert f"Welcome, {partner['name']}" in page.get_data(as_text=True)


# --- practice create-owner ------------------------------------------------------------------


def _create_owner(cli, **overrides: str):
    options = {
        "practice-name": "Harbour Lights Counselling",
        "name": "Sam Ortega",
        "email": "sam@harbourlights.example",
        "time-zone": "Europe/Madrid",
        "password": OWNER_PASSWORD,
        **overrides,
    }
    args = [item for key, value in options.items() for item in (f"--{key}", value)]
    return cli("practice", "create-owner", *args)


def test_create_owner_creates_a_practice_and_its_owner(cli, client):
    result = _create_owner(cli, email="  Sam@HarbourLights.example ")
    assert result.exit_code == 0, result.output
    assert "Created 'Harbour Lights Counselling' with owner sam@harbourlights.example." in (
        result.output
    )
    with unscoped():
        owner = db.session.scalar(select(User).where(User.email == "sam@harbourlights.example"))
        assert owner is not None
        assert (owner.role, owner.name) == ("owner", "Sam Ortega")
        practice = owner.practice
        assert practice.name == "Harbour Lights Counselling"
        assert practice.slug == "harbour-lights-counselling"
        assert practice.time_zone == "Europe/Madrid"
        assert (
            db.session.scalar(
                select(AuditEvent.action).where(AuditEvent.practice_id == practice.id)
            )
            == "practice.created"
        )
    assert owner.password_hash != OWNER_PASSWORD
    client.login("sam@harbourlights.example", OWNER_PASSWORD)
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email."),
        ({"email": "sam@"}, "Enter a valid email."),
        ({"password": "short"}, "Use at least 10 characters."),
        ({"password": "sam@harbourlights.example"}, "Your password cannot be your email address."),
        ({"time-zone": "Mars/Olympus_Mons"}, "Choose a time zone"),
        # One line each: a line break in the practice's name broke every email naming it.
        ({"practice-name": "Harbour\r\nBcc: x@example.com"}, "Keep this to one line"),
        ({"practice-name": "Harbour\tLights"}, "Keep this to one line"),
        ({"name": "Sam\nOrtega"}, "Keep this to one line"),
        ({"name": "Sam \x1b[31mOrtega"}, "Keep this to one line"),
        ({"practice-name": "   "}, "Name your practice."),
        ({"practice-name": "x" * 201}, "Use at most 200 characters."),
    ],
)
def test_create_owner_refuses_bad_input_cleanly(cli, overrides, message):
    before = _counts()
    result = _create_owner(cli, **overrides)
    _assert_clean_failure(result, message)
    assert _counts() == before


def test_create_owner_refuses_an_email_already_in_use(cli):
    existing = OwnerFactory(email="taken@example.com")
    db.session.commit()
    before = _counts()
    result = _create_owner(cli, email="Taken@Example.com")
    _assert_clean_failure(result, "An account with this email already exists.")
    assert _counts() == before
    with unscoped():
        assert db.session.get(User, existing.id).practice_id == existing.practice_id


# --- jobs -----------------------------------------------------------------------------------


def _status_lines(output: str) -> dict[str, int]:
    return {name: int(count) for name, count in (line.split() for line in output.splitlines())}


def test_jobs_status_counts_runs_of_every_practice(cli):
    empty = cli("jobs", "status")
    assert empty.exit_code == 0, empty.output
    assert _status_lines(empty.output) == {
        "pending": 0,
        "queued": 0,
        "running": 0,
        "done": 0,
        "failed": 0,
    }

    a, b = PracticeFactory(), PracticeFactory()
    statuses = [(a, "pending"), (a, "pending"), (a, "done"), (b, "done"), (b, "failed")]
    with unscoped():
        db.session.add_all(
            JobRun(practice_id=p.id, queue="default", function="x.y", arguments={}, status=s)
            for p, s in statuses
        )
        db.session.flush()
    db.session.commit()

    result = cli("jobs", "status")
    assert result.exit_code == 0, result.output
    assert _status_lines(result.output) == {
        "pending": 2,
        "queued": 0,
        "running": 0,
        "done": 2,
        "failed": 1,
    }


def test_jobs_worker_without_redis_explains_itself(cli, app):
    assert app.config["REDIS_URL"] is None
    _assert_clean_failure(cli("jobs", "worker", "--burst"), "REDIS_URL is not set")

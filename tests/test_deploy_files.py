"""deploy/'s container and service files, checked against the app itself.

These machines have a Docker client but no daemon, so the image is never built here: instead
each service's command must be a real command of the app (with options it accepts), and the
ports, volumes, database roles and settings must agree with the app's configuration.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url

from practice import PROJECT_ROOT
from practice.config import REQUIRED_IN_PRODUCTION, load_config

DEPLOY = PROJECT_ROOT / "deploy"
APP_SERVICES = ("migrate", "web", "worker", "worker-reports", "scheduler")
FLASK = re.compile(r"flask --app practice ((?:[\w:-]+ ?)+)")
GUNICORN = re.compile(r"gunicorn -c (\S+) '?practice:create_app\(\)'?")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _command_line(command) -> str:
    return command if isinstance(command, str) else " ".join(command)


def _commands(line: str) -> list[list[str]]:
    """The app's CLI commands in a command line, as argument lists (without `--app practice`)."""
    return [match.split() for match in FLASK.findall(line.replace("'", " "))]


def _check_cli(app, args: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=[*args, "--help"])
    assert result.exit_code == 0, f"`flask {' '.join(args)}` is not a command of the app"


def _environment(service: dict) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def _example() -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def _example_settings() -> set[str]:
    return set(_example())


def test_every_app_service_runs_a_real_command_of_the_app(app, compose):
    services = compose["services"]
    assert set(APP_SERVICES) <= set(services)
    for name in APP_SERVICES:
        line = _command_line(services[name]["command"])
        commands = _commands(line)
        assert commands or GUNICORN.search(line), f"{name} runs none of the app's commands"
        for args in commands:
            _check_cli(app, args)


def test_the_web_service_runs_the_preflight_then_gunicorn_with_the_deploy_config(app, compose):
    line = _command_line(compose["services"]["web"]["command"])
    assert line.index("check-production") < line.index("gunicorn")
    (config,) = GUNICORN.findall(line)
    assert (PROJECT_ROOT / config).is_file()


def test_the_workers_serve_the_app_s_queues(compose):
    from practice.jobs import DEFAULT_QUEUE, REPORTS_QUEUE

    served = set()
    for name in ("worker", "worker-reports"):
        args = compose["services"][name]["command"]
        served.add(args[args.index("--queue") + 1])
    assert served == {DEFAULT_QUEUE, REPORTS_QUEUE}


def test_the_web_port_is_the_one_exposed_and_health_checked(compose, dockerfile):
    web = compose["services"]["web"]
    port = _environment(web)["GUNICORN_BIND"].rsplit(":", 1)[1]
    assert [str(p) for p in web["expose"]] == [port]
    assert ("EXPOSE", port) in dockerfile
    (healthcheck,) = [argument for kind, argument in dockerfile if kind == "HEALTHCHECK"]
    assert f"127.0.0.1:{port}/healthz" in healthcheck


def test_nginx_proxies_to_the_web_port_and_serves_the_app_s_static_files(compose):
    web_port = _environment(compose["services"]["web"])["GUNICORN_BIND"].rsplit(":", 1)[1]
    nginx = compose["services"]["nginx"]
    environment = _environment(nginx)
    assert environment["NGINX_UPSTREAM"] == f"web:{web_port}"
    mounts = dict(volume.split(":")[:2][::-1] for volume in nginx["volumes"])
    assert mounts[environment["NGINX_STATIC_ROOT"]] == "../practice/static"
    template = (DEPLOY / "nginx.conf").read_text()
    placeholders = set(re.findall(r"^[^#\n]*@([A-Z_]+)@", template, re.MULTILINE))
    script = (DEPLOY / "render-nginx-conf").read_text()
    defaulted = set(re.findall(r"\[([A-Z_]+)\]=", script))
    assert placeholders <= defaulted | {name.removeprefix("NGINX_") for name in environment}


def test_the_reports_volume_is_where_the_app_writes_reports(compose, dockerfile):
    declared = set(compose["volumes"])
    for name in APP_SERVICES:
        service = compose["services"][name]
        reports_path = _environment(service)["REPORTS_PATH"]
        mounts = dict(volume.split(":")[:2][::-1] for volume in service["volumes"])
        assert mounts[reports_path] in declared, f"{name} does not keep reports on a volume"
    assert ("ENV", "") not in dockerfile
    env = " ".join(argument for kind, argument in dockerfile if kind == "ENV")
    assert f"REPORTS_PATH={reports_path}" in env
    database = compose["services"]["postgres"]["volumes"]
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in database)


def test_the_app_connects_as_its_own_role_and_migrates_as_the_owner(app, compose):
    script = (DEPLOY / "postgres-init.sh").read_text()
    services = compose["services"]
    app_user = make_url(_environment(services["web"])["DATABASE_URL"]).username
    owner = make_url(_environment(services["migrate"])["DATABASE_OWNER_URL"]).username
    assert app_user != owner
    assert f"CREATE ROLE {app_user} LOGIN PASSWORD" in script
    assert re.search(rf"CREATE ROLE {owner} LOGIN BYPASSRLS", script)
    assert f"CREATE DATABASE practice OWNER {owner}" in script
    unscoped = app.config["DATABASE_UNSCOPED_ROLE"]
    assert f"CREATE ROLE {unscoped} NOLOGIN BYPASSRLS" in script
    assert f"GRANT {unscoped} TO {app_user}" in script
    # Only the migration knows the owner's password.
    for name in APP_SERVICES:
        if name != "migrate":
            assert "DATABASE_OWNER_URL" not in _environment(services[name]), name


def test_every_setting_production_requires_reaches_every_app_service(compose, tmp_path):
    example = _example_settings()
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == ".env"
        given = set(_environment(service)) | example
        missing = [setting for setting in REQUIRED_IN_PRODUCTION if setting not in given]
        assert missing == [], f"{name} lacks {missing}"
    # And the app starts in production from what they are given (the example's values
    # filled in): nothing else is required.
    environ = {key: value or "filled-in" for key, value in _example().items()}
    environ.update(_environment(compose["services"]["web"]), SECRET_KEY="k" * 48)
    environ["WEB_CONCURRENCY"] = "2"
    environ["BASE_URL"] = "https://practice.example.org"
    assert load_config(tmp_path, environ)["PRACTICE_ENV"] == "production"


def test_every_variable_compose_uses_is_in_the_example_file(compose):
    used = set(re.findall(r"\$\{(\w+)\}", (DEPLOY / "compose.yaml").read_text()))
    assert used and used <= _example_settings()


def _ignored(path: Path) -> bool:
    return str(path.relative_to(PROJECT_ROOT)) in (PROJECT_ROOT / ".gitignore").read_text().split()


def test_the_example_file_is_committed_and_the_real_one_is_ignored():
    assert (DEPLOY / ".env.example").is_file()
    assert _ignored(DEPLOY / ".env")


def test_the_image_is_multi_stage_runs_as_a_user_and_carries_templates_and_migrations(
    dockerfile,
):
    stages = [argument for kind, argument in dockerfile if kind == "FROM"]
    assert len(stages) >= 2 and all("slim" in stage for stage in stages)
    (user,) = [argument for kind, argument in dockerfile if kind == "USER"]
    assert user not in ("root", "0")
    copied = " ".join(argument for kind, argument in dockerfile if kind == "COPY")
    for folder in ("templates", "migrations", "practice", "deploy/gunicorn.conf.py"):
        assert folder in copied
        assert (PROJECT_ROOT / folder).exists()
    run = " ".join(argument for kind, argument in dockerfile if kind == "RUN")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        assert package in run
    (command,) = [argument for kind, argument in dockerfile if kind == "CMD"]
    assert "check-production" in command and "gunicorn" in command


@pytest.mark.parametrize(
    "unit", sorted(p.name for p in (DEPLOY / "systemd").glob("*.service")), ids=str
)
def test_each_systemd_unit_runs_real_commands_of_the_app(app, unit):
    text = (DEPLOY / "systemd" / unit).read_text()
    lines = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("Exec")]
    found = False
    for line in lines:
        for args in _commands(
            line.replace("/srv/practice/.venv/bin/", "").replace("%i", "default")
        ):
            found = True
            _check_cli(app, args)
        if "gunicorn" in line:
            found = True
            (config,) = re.findall(r"gunicorn -c (\S+)", line)
            assert (PROJECT_ROOT / config).is_file()
    assert found, f"{unit} runs none of the app's commands"
    assert "User=practice" in text


def test_the_tick_timer_starts_the_tick_every_minute():
    timer = (DEPLOY / "systemd" / "practice-tick.timer").read_text()
    assert "OnCalendar=*-*-* *:*:00" in timer
    assert (DEPLOY / "systemd" / "practice-tick.service").is_file()

"""Command line: `flask --app practice practice …` and `flask --app practice jobs …`."""

from __future__ import annotations

import gc
import json

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from practice.extensions import db, refresh_statistics
from practice.models import JobRun
from practice.services import DomainError, retry_on_conflict
from practice.tenancy import unscoped

practice_cli = AppGroup("practice", help="Set up practices and demo data.")
jobs_cli = AppGroup("jobs", help="Background jobs: worker, status, requeue.")


@practice_cli.command("seed-demo")
@click.option("--json", "as_json", is_flag=True, help="Print the demo logins as JSON.")
def seed_demo_command(as_json: bool) -> None:
    """Create the demo practice (idempotent) and print its logins."""
    from practice.services.demo import seed_demo

    result = seed_demo()
    db.session.commit()
    # Fresh rows, no statistics yet: without them the first pages would be planned blind.
    with db.engine.begin() as connection:
        refresh_statistics(connection)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"Demo practice: {result['practice']['name']}")
    for login in result["logins"]:
        click.echo(f"  {login['role']:<10} {login['email']}  password: {login['password']}")
    click.echo("Partners' personal links (new each run; earlier ones stop working):")
    for couple in result["couples"]:
        for partner in couple["partners"]:
            if partner["invite_link"]:
                click.echo(f"  {couple['label']:<16} {partner['name']:<7} {partner['invite_link']}")


@practice_cli.command("create-owner")
@click.option("--practice-name", prompt=True)
@click.option("--name", prompt="Your name")
@click.option("--email", prompt=True)
@click.option("--time-zone", default="UTC", show_default=True)
@click.password_option()
def create_owner_command(practice_name, name, email, time_zone, password) -> None:
    """Create a practice and its owner account."""
    from practice.services.accounts import sign_up

    try:
        owner = retry_on_conflict(
            lambda: sign_up(
                practice_name=practice_name,
                name=name,
                email=email,
                password=password,
                time_zone=time_zone,
            )
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Created {practice_name!r} with owner {owner.email}.")


@practice_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """Clear the two-step sign-in of the therapist with this email (an owner who lost their
    phone and recovery codes); they sign in with their password. Audited."""
    from practice.models import User
    from practice.services import accounts, two_factor
    from practice.tenancy import practice_context

    with unscoped():  # the address decides the practice
        user = db.session.scalar(select(User).where(User.email == accounts.normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No therapist signs in with {email!r}.")
    with practice_context(user.practice_id):
        two_factor.reset(None, user)
        db.session.commit()
    click.echo(f"Two-step sign-in is reset for {user.email}: they sign in with their password.")


@practice_cli.command("check-production")
def check_production_command() -> None:
    """Refuse, one line each, what makes this deployment unsafe; else say it is ready."""
    from practice.services.preflight import production_refusals

    refusals = production_refusals()
    for refusal in refusals:
        click.echo(f"Not ready: {refusal}", err=True)
    if refusals:
        raise SystemExit(1)
    click.echo("ready for production")


@jobs_cli.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queue to serve (default: all).")
@click.option("--with-scheduler", is_flag=True, help="Also run retries and timed jobs.")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(queues: tuple[str, ...], with_scheduler: bool, burst: bool) -> None:
    """Run an RQ worker for our queues."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from practice.jobs import QUEUES, REPORTS_QUEUE, load_job_modules
    from practice.jobs.dispatch import get_queue, horse_killed, redis_connection

    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise click.ClickException(
            f"No such queue: {', '.join(unknown)} (queues: {', '.join(QUEUES)})."
        )
    if not current_app.config["REDIS_URL"]:
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed.")
    # Each job runs in a work horse forked from this process: it finds the registry complete
    # and runs in the app context this command holds (jobs build no app of their own).
    load_job_modules()
    if REPORTS_QUEUE in (queues or QUEUES):
        # WeasyPrint imported, fonts found and the summary template compiled here, once:
        # every job's work horse is forked from this process and pays none of it.
        from practice import pdf

        pdf.preload()
        current_app.jinja_env.get_template("pdf/summary.html")
    # What is loaded now is shared with every work horse: kept out of the collector's way, a
    # horse does not copy those pages just by collecting garbage.
    gc.collect()
    gc.freeze()
    worker = Worker(
        [get_queue(name) for name in (queues or QUEUES)],
        connection=redis_connection(),
        serializer=JSONSerializer,
        work_horse_killed_handler=horse_killed,
    )
    worker.work(with_scheduler=with_scheduler, burst=burst)


@jobs_cli.command("status")
def status_command() -> None:
    """Count job runs by status, and show queue lengths."""
    with unscoped():  # maintenance view across practices: counts only
        rows = db.session.execute(select(JobRun.status, func.count()).group_by(JobRun.status)).all()
    counts = dict(rows)
    for status in ("pending", "queued", "running", "done", "failed"):
        click.echo(f"{status:<8} {counts.get(status, 0)}")
    if current_app.config["REDIS_URL"]:
        from practice.jobs import QUEUES
        from practice.jobs.dispatch import get_queue

        for name in QUEUES:
            click.echo(f"queue {name}: {len(get_queue(name))} waiting")


@jobs_cli.command("requeue")
@click.option("--older-than", default=60, show_default=True, help="Seconds a run has waited.")
def requeue_command(older_than: int) -> None:
    """Send runs still pending (Redis was down when they were made), and runs a dead worker
    left running past their lease, to their queues."""
    from practice.jobs.dispatch import requeue_stale

    click.echo(f"requeued {requeue_stale(older_than)} job run(s)")


@jobs_cli.command("tick")
def tick_command():
    """Send the reminders that are due, each exactly once, and requeue stalled job runs (run
    every minute from cron or a systemd timer; two at once are safe)."""
    from practice.jobs.dispatch import requeue_stale
    from practice.services import reminders

    sent = reminders.tick()
    click.echo(
        ", ".join(f"{kind}: {count}" for kind, count in sorted(sent.items())) or "nothing due"
    )
    # The requeue sweep rides on the same timer; it speaks only when it sent something.
    requeued = requeue_stale()
    if requeued:
        click.echo(f"requeued {requeued} job run(s)")

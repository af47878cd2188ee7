"""Session summaries: a PDF of a couple's work over a session or a date range, for one audience.

A therapist asks for one (`request_summary`): a `Report` row and a `JobRun` are written in
the request's transaction, and the job is sent to the `reports` queue after the commit with
the report's id only. Asking again while one is on its way attaches to it. The job
(`render`) gathers what the audience may read, draws the charts, lays out the PDF with the
locked renderer and stores the file under a name made from the report's id, so a retry
replaces the one file it wrote. The job's status, attempts and error stay on the `JobRun`;
the report keeps the stage, for the progress bar.

Two audiences, one template: the therapist's copy holds everything the therapist may see,
with times in the practice's zone; the couple's copy only what both partners may see
(`practice.audience.visible_to_couple`), with times in the couple's zone. It reaches the
portal only when a therapist releases it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from practice import pdf
from practice.audience import Audience
from practice.checkins.questions import MARKERS
from practice.extensions import db
from practice.homework import KINDS, HomeworkKind, get_kind
from practice.homework.base import content_texts
from practice.homework.workflow import WRITABLE
from practice.jobs import enqueue
from practice.jobs.dispatch import FINAL_ERRORS, MAX_ATTEMPTS
from practice.models import (
    Agreement,
    Appointment,
    Assignment,
    Couple,
    HomeworkResponse,
    JobRun,
    Partner,
    Practice,
    Report,
    ReportBatch,
    SafetyFlag,
    User,
)
from practice.models.base import utcnow
from practice.models.report import REPORT_AUDIENCES, REPORT_STAGES
from practice.services import DomainError, NotFound, audit, joint, measures, trends
from practice.services import agreements as agreement_service
from practice.services import appointments as appointment_service
from practice.services import couples as couple_service
from practice.services import homework as homework_service
from practice.services import ritual as ritual_service
from practice.services import signals as signal_service

JOB_NAME = "reports.render_summary"
# A run in one of these is on its way: a new request for the same summary attaches to it.
IN_FLIGHT = ("pending", "queued", "running")
# The longest period a summary covers, and the period before a first session.
MAX_DAYS = 366
FIRST_SESSION_DAYS = 28
EXCERPT_CHARS = 320
STYLESHEETS = ("print.css",)

STAGE_LABELS = {
    "waiting": "Waiting for a worker",
    "gathering": "Gathering the period's work",
    "charts": "Drawing the charts",
    "rendering": "Laying out the pages",
    "saving": "Saving the file",
    "done": "Ready",
}
# What a failed render's error type means, in words; anything else is the last line.
ERROR_MESSAGES = {
    "MemoryError": "The summary grew past the memory a summary may use.",
    "JobTimeoutException": "The summary took longer than a summary may take.",
    "WorkHorseKilled": "Making the summary was stopped: it grew past the memory or the time "
    "a summary may use.",
    "JobFailed": "The summary could not be made.",
}
OTHER_ERROR = "Something went wrong while making the summary."


# -- asking for a summary -----------------------------------------------------------------------


def period_of(appointment: Appointment) -> tuple[date, date]:
    """A session's period: from the day after the couple's session before it (or four weeks
    back, for a first session) to the session's day, in the couple's zone."""
    zone = ZoneInfo(appointment.couple.time_zone)
    end = appointment.starts_at.astimezone(zone).date()
    before = appointment_service.previous(appointment)
    start = end - timedelta(days=FIRST_SESSION_DAYS - 1)
    if before is not None:
        start = min(before.starts_at.astimezone(zone).date() + timedelta(days=1), end)
    return max(start, end - timedelta(days=MAX_DAYS - 1)), end


def check_period(start: date | None, end: date | None) -> tuple[date, date]:
    if start is None or end is None:
        raise DomainError("Give the first and the last day of the period.", "start")
    if start > end:
        raise DomainError("The period ends before it starts.", "end")
    if (end - start).days + 1 > MAX_DAYS:
        raise DomainError(f"A summary covers at most {MAX_DAYS} days.", "start")
    return start, end


def _in_flight(couple: Couple, audience: str, appointment_id, start, end) -> Report | None:
    return db.session.scalar(
        select(Report)
        .join(JobRun, JobRun.id == Report.job_run_id)
        .where(
            Report.couple_id == couple.id,
            Report.audience == audience,
            Report.period_start == start,
            Report.period_end == end,
            Report.appointment_id.is_(None)
            if appointment_id is None
            else Report.appointment_id == appointment_id,
            Report.rendered_at.is_(None),
            JobRun.status.in_(IN_FLIGHT),
        )
        .order_by(Report.id.desc())
        .limit(1)
    )


def request_summary(
    user: User,
    couple: Couple,
    audience: str,
    *,
    appointment: Appointment | None = None,
    start: date | None = None,
    end: date | None = None,
    batch: ReportBatch | None = None,
) -> tuple[Report, bool]:
    """Ask for a summary of a session (or of the days `start` to `end`) for `audience`.

    Returns the report and whether it is one already on its way (the same couple, audience
    and period asked for before and not finished): that one is returned, never a second.
    """
    if audience not in REPORT_AUDIENCES:
        raise DomainError("Choose whose copy to prepare.", "audience")
    if appointment is not None:
        start, end = period_of(appointment)
    else:
        start, end = check_period(start, end)
    appointment_id = appointment.id if appointment is not None else None
    # Requests for one couple queue up here (PostgreSQL; SQLite writes one at a time anyway),
    # so two at one moment cannot both find nothing on its way and both start one.
    db.session.execute(select(Couple.id).where(Couple.id == couple.id).with_for_update())
    existing = _in_flight(couple, audience, appointment_id, start, end)
    if existing is not None:
        return existing, True
    report = Report(
        couple_id=couple.id,
        appointment_id=appointment_id,
        batch_id=batch.id if batch is not None else None,
        audience=audience,
        period_start=start,
        period_end=end,
        stage="waiting",
        created_by_id=user.id,
    )
    db.session.add(report)
    db.session.flush()
    run = enqueue(JOB_NAME, report_id=report.id)
    db.session.flush()
    report.job_run_id = run.id
    audit.record(
        "report.requested",
        actor=user,
        target=couple,
        details={"report": report.id, "audience": audience},
    )
    return report, False


# -- finding one ------------------------------------------------------------------------------


def get_report(user: User, report_id: int) -> Report:
    """A report of a couple the user sees, or NotFound."""
    report = db.session.scalar(
        select(Report)
        .where(
            Report.id == report_id,
            Report.couple_id.in_(couple_service.visible_couple_ids(user)),
        )
        .options(joinedload(Report.job_run), joinedload(Report.couple))
    )
    if report is None:
        raise NotFound()
    return report


def couple_reports(couple: Couple, limit: int = 20) -> list[Report]:
    return list(
        db.session.scalars(
            select(Report)
            .where(Report.couple_id == couple.id)
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(limit)
            .options(joinedload(Report.job_run), joinedload(Report.appointment))
        )
    )


def _released_to(partner: Partner) -> tuple:
    """What the partner may download: a made couple copy of their couple, shared with them."""
    return (
        Report.couple_id == partner.couple_id,
        Report.audience == "couple",
        Report.released_at.is_not(None),
        Report.rendered_at.is_not(None),
    )


def released_for(partner: Partner) -> list[Report]:
    """The summaries released to the partner's couple, newest first."""
    return list(
        db.session.scalars(
            select(Report)
            .where(*_released_to(partner))
            .order_by(Report.released_at.desc(), Report.id.desc())
        )
    )


def released_count(partner: Partner) -> int:
    return db.session.scalar(select(func.count()).select_from(Report).where(*_released_to(partner)))


def get_released(partner: Partner, public_id: str) -> Report:
    """A released couple copy of the partner's couple, or NotFound (the therapist's copies
    and unreleased ones included)."""
    report = db.session.scalar(
        select(Report).where(Report.public_id == public_id, *_released_to(partner))
    )
    if report is None:
        raise NotFound()
    return report


# -- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a report stands, for its page and the status endpoint."""

    state: str  # queued, working, done, failed
    stage: str
    percent: int
    label: str
    attempts: int = 0
    message: str | None = None
    retrying: bool = False
    max_attempts: int = MAX_ATTEMPTS

    def as_json(self) -> dict:
        return {
            "state": self.state,
            "stage": self.stage,
            "percent": self.percent,
            "label": self.label,
            "attempts": self.attempts,
            "message": self.message,
            "retrying": self.retrying,
        }


def progress(report: Report) -> Progress:
    run = report.job_run
    if report.is_ready:
        return Progress("done", "done", 100, STAGE_LABELS["done"], run.attempts if run else 0)
    stage = report.stage if report.stage in REPORT_STAGES else "waiting"
    percent = round(100 * REPORT_STAGES.index(stage) / (len(REPORT_STAGES) - 1))
    if run is None or run.status in ("pending", "queued"):
        label = "Waiting for a free worker: it starts on its own"
        return Progress("queued", "waiting", 0, label, run.attempts if run else 0)
    if run.status == "failed":
        message = ERROR_MESSAGES.get(run.error or "", OTHER_ERROR)
        retrying = (
            not current_app.config["JOBS_INLINE"]
            and run.attempts < MAX_ATTEMPTS
            and run.error not in FINAL_ERRORS
        )
        return Progress(
            "failed", stage, percent, "Not made", run.attempts, message, retrying=retrying
        )
    return Progress("working", stage, max(percent, 5), STAGE_LABELS[stage], run.attempts)


# -- what goes in ---------------------------------------------------------------------------------


@dataclass
class HomeworkLine:
    title: str
    who: str
    status: str
    due: date | None
    excerpt: str
    private: bool  # in the therapist's copy: not something the couple shares
    # A kind that prints whole in the summary (`HomeworkKind.prints_whole`), and the content
    # its print template shows in place of the excerpt.
    print_kind: HomeworkKind | None = None
    content: dict | None = None


@dataclass
class ContractLine:
    number: int
    finalized_at: datetime
    revisit_date: date | None
    signatures: list[tuple[str, datetime]]
    content: dict
    response: HomeworkResponse


@dataclass
class CheckinWeek:
    week: date
    values: dict[str, float | None]  # marker key, "triggers", "kept" -> value


@dataclass
class Summary:
    report: Report
    couple: Couple
    practice_name: str
    is_therapist_copy: bool
    zone: str  # the audience's: the practice's for the therapist, the couple's for them
    practice_zone: str  # "generated at" is always in the practice's zone
    period_start: date
    period_end: date
    appointment: Appointment | None
    sessions: list[Appointment]
    homework: list[HomeworkLine]
    agreements: list[Agreement]
    contract: ContractLine | None
    trend: trends.CoupleTrend
    checkins: dict[str, list[CheckinWeek]]  # partner name -> handed-in weeks of the period
    flags: list[SafetyFlag]
    generated_at: datetime
    next_homework: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    # The therapist's copy only: (week, [(count, longest minutes) per partner of trend]) for
    # the weeks of the period someone logged a trigger. Counts, never the log's words.
    trigger_weeks: list[tuple[date, list]] = field(default_factory=list)
    # The therapist's copy only: each partner's ticks of the connection ritual in the weeks
    # of the period (private to that partner and the therapists).
    ritual: ritual_service.Completion | None = None
    # The therapist's copy only: the method's signs that more help may be needed, with their
    # evidence, over the weeks up to the period's end (services.signals).
    signals: list[signal_service.Signal] = field(default_factory=list)
    signal_weeks: int = signal_service.WINDOW_WEEKS
    # The therapist's copy only: each measure's chart of both partners' scores (services.measures).
    measure_charts: list = field(default_factory=list)


def excerpt(content: dict, limit: int = EXCERPT_CHARS) -> str:
    """The first words of a piece of work, cut at a word."""
    text = re.sub(r"\s+", " ", " ".join(t for t in content_texts(content) if t.strip())).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut}…"


def _homework(couple: Couple, start: date, end: date, *, therapist: bool) -> list[HomeworkLine]:
    """The work of the period: assigned by its end, and not finished before it began."""
    zone = ZoneInfo(couple.time_zone)
    first = datetime.combine(start, time(0), tzinfo=zone)
    after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    responses = db.session.scalars(
        select(HomeworkResponse)
        .join(Assignment, Assignment.id == HomeworkResponse.assignment_id)
        .where(
            HomeworkResponse.couple_id == couple.id,
            Assignment.created_at < after,
            or_(HomeworkResponse.completed_at.is_(None), HomeworkResponse.completed_at >= first),
        )
        .order_by(Assignment.created_at, HomeworkResponse.id)
        .options(
            joinedload(HomeworkResponse.assignment).joinedload(Assignment.responses),
            joinedload(HomeworkResponse.partner),
        )
    ).unique()
    lines = []
    for response in responses:
        set_committed_value(response.assignment, "couple", couple)
        shared = homework_service.couple_can_see(couple, response)
        if not therapist and not shared:
            continue
        kind = get_kind(response.kind)
        whole = kind.prints_whole and response.status not in WRITABLE
        lines.append(
            HomeworkLine(
                title=kind.title(shared=not therapist or shared),
                who=response.partner.display_name if response.partner else "Both together",
                status=response.status_label,
                due=response.assignment.due_date,
                excerpt="" if whole else excerpt(kind.printable(response.content or {})),
                private=response.audience == Audience.PRIVATE.value
                or (
                    response.audience == Audience.SEALED_UNTIL_RELEASED.value
                    and response.released_at is None
                ),
                print_kind=kind if whole else None,
                content=response.content if whole else None,
            )
        )
    return lines


def _contract(couple: Couple) -> ContractLine | None:
    """The repair contract in force: its latest final version, and who signed it."""
    responses = db.session.scalars(
        select(HomeworkResponse)
        .where(HomeworkResponse.couple_id == couple.id, HomeworkResponse.kind == "repair_contract")
        .order_by(HomeworkResponse.id.desc())
        .options(joinedload(HomeworkResponse.assignment))
    ).all()
    names = {partner.id: partner.display_name for partner in couple.partners}
    for response in responses:
        set_committed_value(response.assignment, "couple", couple)
        version = joint.current_contract(response)
        if version is not None:
            return ContractLine(
                number=version.number,
                finalized_at=version.finalized_at,
                revisit_date=version.revisit_date,
                signatures=[
                    (names.get(s.partner_id, "—"), s.signed_at) for s in version.signatures
                ],
                content=version.content,
                response=response,
            )
    return None


def _checkin_weeks(trend: trends.CoupleTrend, start: date, end: date) -> dict:
    """Each partner's handed-in weeks of the period, with the numbers the charts draw."""
    weeks = {}
    for partner in trend.partners:
        rows = []
        for index, week in enumerate(trend.weeks):
            if not partner.handed_in[index] or not start - timedelta(days=6) <= week <= end:
                continue
            values = {key: series.values[index] for key, series in partner.markers.items()}
            values["triggers"] = partner.triggers.values[index]
            values["kept"] = partner.kept.values[index]
            rows.append(CheckinWeek(week, values))
        weeks[partner.partner.display_name] = rows
    return weeks


def _flags(couple: Couple, start: date, end: date) -> list[SafetyFlag]:
    """Safety flags raised in the period, or raised before it and still open."""
    zone = ZoneInfo(couple.time_zone)
    first = datetime.combine(start, time(0), tzinfo=zone)
    after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    return list(
        db.session.scalars(
            select(SafetyFlag)
            .where(
                SafetyFlag.couple_id == couple.id,
                SafetyFlag.raised_at < after,
                or_(SafetyFlag.raised_at >= first, SafetyFlag.addressed_at.is_(None)),
            )
            .order_by(SafetyFlag.raised_at, SafetyFlag.id)
            .options(joinedload(SafetyFlag.partner))
        )
    )


def gather(report: Report, now: datetime | None = None) -> Summary:
    """Everything the report's audience may read about its period, and nothing else."""
    couple = report.couple
    practice = db.session.get(Practice, couple.practice_id)
    therapist = report.audience == "therapist"
    start, end = report.period_start, report.period_end
    span = next((weeks for weeks in trends.SPANS if weeks * 7 >= (end - start).days + 7), 52)
    trend = trends.couple_trend(couple, span, until=end, shared_only=not therapist)
    appointment = report.appointment
    return Summary(
        report=report,
        couple=couple,
        practice_name=practice.name,
        is_therapist_copy=therapist,
        zone=practice.time_zone if therapist else couple.time_zone,
        practice_zone=practice.time_zone,
        period_start=start,
        period_end=end,
        appointment=appointment,
        # A "therapist notes only" entry is the therapist's record, not a meeting with them.
        sessions=[
            session
            for session in appointment_service.between(couple, start, end)
            if therapist or session.attendance != "notes"
        ],
        homework=_homework(couple, start, end, therapist=therapist),
        agreements=agreement_service.agreements_in_force(couple),
        contract=_contract(couple),
        trend=trend,
        checkins=_checkin_weeks(trend, start, end),
        flags=_flags(couple, start, end) if therapist else [],
        generated_at=now or utcnow(),
        next_homework=[KINDS[key].label for key in (appointment.next_homework or [])]
        if appointment is not None
        else [],
        trigger_weeks=[row for row in trend.log_rows if start - timedelta(days=6) <= row[0] <= end]
        if therapist
        else [],
        ritual=ritual_service.completion(
            couple, [week for week in trend.weeks if start - timedelta(days=6) <= week <= end]
        )
        if therapist
        else None,
        signals=signal_service.signals_for(
            couple, today=min(end, homework_service.couple_today(couple))
        )
        if therapist
        else [],
    )


# -- making the file --------------------------------------------------------------------------


def reports_folder() -> Path:
    return Path(current_app.config["REPORTS_PATH"])


def file_path(report: Report) -> Path:
    return reports_folder() / report.file_name


def _set_stage(report_id: int, stage: str) -> None:
    """Record the stage in its own short transaction, so the progress bar sees it now (the
    job's own transaction commits only at the end)."""
    with db.engine.begin() as connection:
        connection.execute(
            update(Report.__table__).where(Report.__table__.c.id == report_id).values(stage=stage)
        )


def render_html(summary: Summary) -> str:
    return render_template("pdf/summary.html", s=summary, markers=MARKERS)


def _write(path: Path, data: bytes) -> None:
    """Write the file whole or not at all: a render killed halfway leaves no half a file
    under the report's name, and the next attempt replaces the same `.part`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def render(report_id: int, *, memory_mb: int | None = None) -> Report | None:
    """Make the report's PDF and store it (the job's work; safe to run again: a report with
    its file already made is left as it is, and a retry overwrites its own file).

    Called with nothing written in the session yet, as a job starts: the stages are recorded
    on a connection of their own, which a pending write of this session would hold up.
    """
    report = db.session.get(Report, report_id)
    if report is None or report.is_ready:
        return report
    _set_stage(report.id, "gathering")
    summary = gather(report)
    _set_stage(report.id, "charts")
    summary.charts = trends.chart_set(summary.trend, prefix=f"r{report.id}", narrow=False)
    if summary.is_therapist_copy:  # each partner's scores are private: never the couple's copy
        summary.measure_charts = measures.summary_charts(
            report.couple, report.period_end, prefix=f"r{report.id}-m"
        )
    _set_stage(report.id, "rendering")
    html = render_html(summary)
    with pdf.memory_cap(memory_mb):
        made = pdf.render(html, stylesheets=STYLESHEETS)
    _set_stage(report.id, "saving")
    name = f"{report.practice_id}/{report.couple_id}/summary-{report.id}.pdf"
    _write(reports_folder() / name, made.data)
    report.file_name = name
    report.sha256 = hashlib.sha256(made.data).hexdigest()
    report.size = len(made.data)
    report.pages = made.pages
    report.rendered_at = utcnow()
    report.stage = "done"
    return report


def couple_files(couple: Couple) -> list[Path]:
    """Every stored summary of the couple (for deleting a couple's records with its files):
    each report knows its file, and all of them sit in the couple's own folder."""
    names = db.session.scalars(
        select(Report.file_name).where(Report.couple_id == couple.id, Report.file_name.is_not(None))
    ).all()
    return [reports_folder() / name for name in names]


def read_checked(path: Path, sha256: str) -> bytes:
    """A stored file, checked against its digest: a file missing or changed on disk is not
    served (summaries here, exports in services.exports)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound() from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise NotFound()
    return data


def read_file(report: Report) -> bytes:
    """The stored PDF, checked against its digest."""
    if not report.is_ready:
        raise NotFound()
    return read_checked(file_path(report), report.sha256)


def download_name(report: Report) -> str:
    label = re.sub(r"[^A-Za-z0-9]+", "-", report.couple.label).strip("-").lower() or "couple"
    copy = "therapist-copy" if report.audience == "therapist" else "couple-copy"
    return f"summary-{label}-{report.period_end.isoformat()}-{copy}.pdf"


def record_download(actor: User | Partner, report: Report) -> None:
    audit.record(
        "report.downloaded",
        actor=actor,
        target=report.couple,
        details={"report": report.id, "audience": report.audience},
    )


def release(user: User, report: Report) -> None:
    """Make a couple copy readable in the portal (a therapist copy never is)."""
    if report.audience != "couple":
        raise DomainError("Only the couple's copy can be shared with the couple.")
    if not report.is_ready:
        raise DomainError("The summary is not ready yet.")
    if report.released_at is not None:
        return
    report.released_at = utcnow()
    report.released_by_id = user.id
    audit.record("report.released", actor=user, target=report.couple, details={"report": report.id})


def withdraw(user: User, report: Report) -> None:
    """Take a released summary back out of the portal."""
    if report.released_at is None:
        return
    report.released_at = None
    report.released_by_id = None
    audit.record(
        "report.withdrawn", actor=user, target=report.couple, details={"report": report.id}
    )


# -- a week's summaries at once -----------------------------------------------------------------


def week_of(user: User, now: datetime) -> tuple[date, date]:
    """Monday to Sunday of this week, in the practice's zone."""
    today = now.astimezone(ZoneInfo(user.practice.time_zone)).date()
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def _week_window(user: User, now: datetime) -> tuple[datetime, datetime]:
    monday, sunday = week_of(user, now)
    zone = ZoneInfo(user.practice.time_zone)
    return (
        datetime.combine(monday, time(0), tzinfo=zone),
        datetime.combine(sunday + timedelta(days=1), time(0), tzinfo=zone),
    )


def week_sessions(user: User, now: datetime) -> list[Appointment]:
    """This week's sessions (Monday to Sunday, the practice's zone) with couples the user sees."""
    return appointment_service.in_window(user, *_week_window(user, now))


def recent_for(user: User, limit: int = 10) -> list[ReportBatch]:
    """The user's latest batches."""
    return list(
        db.session.scalars(
            select(ReportBatch)
            .where(ReportBatch.created_by_id == user.id)
            .order_by(ReportBatch.created_at.desc(), ReportBatch.id.desc())
            .limit(limit)
        )
    )


def request_week_batch(user: User, audience: str, now: datetime) -> ReportBatch:
    """One summary per couple seen this week (its latest session of the week), as a batch."""
    if audience not in REPORT_AUDIENCES:
        raise DomainError("Choose whose copy to prepare.", "audience")
    monday, sunday = week_of(user, now)
    sessions = week_sessions(user, now)
    latest: dict[int, Appointment] = {}
    for appointment in sessions:
        latest[appointment.couple_id] = appointment
    if not latest:
        raise DomainError("No sessions are recorded this week yet.")
    batch = ReportBatch(
        audience=audience, period_start=monday, period_end=sunday, created_by_id=user.id
    )
    db.session.add(batch)
    db.session.flush()
    for appointment in latest.values():
        request_summary(user, appointment.couple, audience, appointment=appointment, batch=batch)
    return batch


def get_batch(user: User, batch_id: int) -> ReportBatch:
    batch = db.session.scalar(
        select(ReportBatch).where(ReportBatch.id == batch_id, ReportBatch.created_by_id == user.id)
    )
    if batch is None:
        raise NotFound()
    return batch


def batch_reports(user: User, batch: ReportBatch) -> list[Report]:
    """The batch's reports of couples the user still sees."""
    return list(
        db.session.scalars(
            select(Report)
            .where(
                Report.batch_id == batch.id,
                Report.couple_id.in_(couple_service.visible_couple_ids(user)),
            )
            .order_by(Report.id)
            .options(joinedload(Report.job_run), joinedload(Report.couple))
        )
    )


@dataclass(frozen=True)
class BatchProgress:
    total: int
    done: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.done + self.failed >= self.total

    @property
    def percent(self) -> int:
        return round(100 * (self.done + self.failed) / self.total) if self.total else 100


def batch_progress(reports: list[Report]) -> BatchProgress:
    states = [progress(report).state for report in reports]
    return BatchProgress(
        total=len(states), done=states.count("done"), failed=states.count("failed")
    )


def batch_zip(user: User, reports: list[Report]) -> bytes:
    """The batch's finished PDFs in one zip; each file counts as a download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for report in reports:
            if not report.is_ready:
                continue
            archive.writestr(download_name(report), read_file(report))
            record_download(user, report)
    return buffer.getvalue()

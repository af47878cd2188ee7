"""A couple's whole record: the owner's export of it, and its deletion after the practice's
retention period.

Export. The owner asks for one (`request_export`): a `CoupleExport` row and a `JobRun` are
written in the request's transaction, and the job (`build_export`) is sent after the commit
with the export's id only. The job writes one zip: `record.json` (every row that hangs off
the couple, found by walking the schema's foreign keys, so a table added later is exported
without a change here), `homework-and-checkins.pdf` (the therapist's summary of the whole
period, through the session summaries' own renderer), the summaries already made, and a
README that says what each file is. Client text goes into the zip, which is the point of an
export, and nowhere else: not into job arguments, logs or the audit trail, which records who
asked for an export and who downloaded it, and when.

Deletion. A closed couple can be scheduled for deletion once the practice's retention period
after closing is over (`schedule_deletion`); reopening the case or `cancel_deletion` clears
it. The reminders' timer (`flask jobs tick`) runs `delete_due_couples` in every practice:
`delete_couple_record` deletes the couple (the database cascades to every row under it and
its partners), the jobs that made its files, its summary and export files on disk, and its
reminders' keys; its calendar feeds go with its partners. The audit trail stays: its rows lose
their reference to the couple and to the partner who acted, and a last row says the record
was deleted, naming no one of the couple.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from practice import pdf
from practice.extensions import db
from practice.jobs import enqueue
from practice.jobs.dispatch import FINAL_ERRORS, MAX_ATTEMPTS
from practice.models import (
    AuditEvent,
    Couple,
    CoupleExport,
    JobRun,
    Partner,
    PartnerInvite,
    Practice,
    Report,
    User,
)
from practice.models.base import utcnow
from practice.models.checkin import ReminderSent
from practice.models.export import EXPORT_STAGES
from practice.models.homework import Agreement, ContractVersion, HomeworkResponse
from practice.models.practice import RETENTION_CHOICES
from practice.services import DomainError, NotFound, audit, reports, trends
from practice.services.reports import IN_FLIGHT, Progress

JOB_NAME = "exports.build_record"
FORMAT = "practice couple record, version 1"

STAGE_LABELS = {
    "waiting": "Waiting for a worker",
    "gathering": "Gathering the whole record",
    "rendering": "Laying out the homework and check-ins",
    "packing": "Packing the files",
    "saving": "Saving the file",
    "done": "Ready",
}
ERROR_MESSAGES = {
    "MemoryError": "The export grew past the memory an export may use.",
    "JobTimeoutException": "The export took longer than an export may take.",
    "WorkHorseKilled": "Making the export was stopped: it grew past the memory or the time "
    "an export may use.",
    "JobFailed": "The export could not be made.",
}
OTHER_ERROR = "Something went wrong while making the export."

# Never exported: the practice's own id, and secrets that open a door (the digests of links
# and feeds, a PIN's hash, a link waiting to be emailed).
LEFT_OUT_COLUMNS = {"practice_id", "token_hash", "pin_hash", "pending_email"}
# Tables that hang off a couple but are not part of its record: earlier exports of it, and
# the audit trail (exported on its own, as who did what and when).
LEFT_OUT_TABLES = {"couple_exports", "audit_events"}


def _owner_only(user: User) -> None:
    # As for every owner-only page: the others are answered as if there were nothing here.
    if not user.is_owner:
        raise NotFound()


# -- asking for an export ---------------------------------------------------------------------


def request_export(user: User, couple: Couple) -> tuple[CoupleExport, bool]:
    """Ask for an export of the couple's whole record (the owner only). Returns the export
    and whether it is one already on its way, which is returned instead of a second."""
    _owner_only(user)
    # Requests for one couple queue up here, as for summaries: never two builds at once.
    db.session.execute(select(Couple.id).where(Couple.id == couple.id).with_for_update())
    existing = db.session.scalar(
        select(CoupleExport)
        .join(JobRun, JobRun.id == CoupleExport.job_run_id)
        .where(
            CoupleExport.couple_id == couple.id,
            CoupleExport.finished_at.is_(None),
            JobRun.status.in_(IN_FLIGHT),
        )
        .order_by(CoupleExport.id.desc())
        .limit(1)
    )
    if existing is not None:
        return existing, True
    export = CoupleExport(couple_id=couple.id, requested_by_id=user.id, stage="waiting")
    db.session.add(export)
    db.session.flush()
    run = enqueue(JOB_NAME, export_id=export.id)
    db.session.flush()
    export.job_run_id = run.id
    audit.record(
        "couple.export_requested", actor=user, target=couple, details={"export": export.id}
    )
    return export, False


def latest_export(user: User, couple: Couple) -> CoupleExport | None:
    """The couple's latest export, for its page (the owner only)."""
    _owner_only(user)
    return db.session.scalar(
        select(CoupleExport)
        .where(CoupleExport.couple_id == couple.id)
        .order_by(CoupleExport.id.desc())
        .limit(1)
        .options(joinedload(CoupleExport.job_run), joinedload(CoupleExport.requested_by))
    )


def progress(export: CoupleExport) -> Progress:
    """Where an export stands, for its page and the status endpoint."""
    run = export.job_run
    attempts = run.attempts if run else 0
    if export.is_ready:
        return Progress("done", "done", 100, STAGE_LABELS["done"], attempts)
    stage = export.stage if export.stage in EXPORT_STAGES else "waiting"
    percent = round(100 * EXPORT_STAGES.index(stage) / (len(EXPORT_STAGES) - 1))
    if run is None or run.status in ("pending", "queued"):
        return Progress("queued", "waiting", 0, "Waiting for a free worker: it starts on its own")
    if run.status == "failed":
        retrying = (
            not current_app.config["JOBS_INLINE"]
            and run.attempts < MAX_ATTEMPTS
            and run.error not in FINAL_ERRORS
        )
        message = ERROR_MESSAGES.get(run.error or "", OTHER_ERROR)
        return Progress("failed", stage, percent, "Not made", attempts, message, retrying)
    if run.status == "done":
        # Finished without a file: an earlier export whose file a newer one replaced.
        return Progress(
            "failed", stage, percent, "Replaced", attempts, "A newer export replaced it."
        )
    return Progress("working", stage, max(percent, 5), STAGE_LABELS[stage], attempts)


# -- what goes in -----------------------------------------------------------------------------


def _value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(table: Table, statement) -> list[dict]:
    keep = [column.name for column in table.columns if column.name not in LEFT_OUT_COLUMNS]
    return [
        {name: _value(row[name]) for name in keep}
        for row in db.session.execute(statement).mappings()
    ]


def record_tables(couple: Couple) -> dict[str, list[dict]]:
    """Every row that hangs off the couple, table by table: found by following the schema's
    foreign keys down from the couple (parents come first in the metadata's order), so that
    a table added later is part of the record without a change here."""
    found: dict[str, set[int]] = {"couples": {couple.id}}
    tables: dict[str, list[dict]] = {}
    for table in db.metadata.sorted_tables:
        if table.name in LEFT_OUT_TABLES or table.name == "couples" or "practice_id" not in table.c:
            continue
        conditions = []
        for foreign_key in table.foreign_key_constraints:
            parent = foreign_key.referred_table.name
            columns = [column for column in foreign_key.columns if column.name != "practice_id"]
            if parent in found and len(columns) == 1:
                conditions.append(columns[0].in_(sorted(found[parent])))
        if not conditions:
            continue
        # A table, not a model: the tenancy guard adds nothing here, so the practice is named.
        statement = (
            select(table)
            .where(table.c.practice_id == couple.practice_id, or_(*conditions))
            .order_by(table.c.id)
        )
        rows = _rows(table, statement)
        found[table.name] = {row["id"] for row in rows}
        tables[table.name] = rows
    return tables


def _trail(couple: Couple) -> list[dict]:
    """The couple's audit trail: who did what, when; never what anyone wrote."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.couple_id == couple.id)
        .order_by(AuditEvent.created_at, AuditEvent.id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.actor_partner))
    )
    return [
        {
            "at": event.created_at.isoformat(),
            "who": event.actor_name,
            "action": event.action,
            "what": audit.describe(event),
            "target_type": event.target_type,
            "target_id": event.target_id,
            "details": event.details or {},
        }
        for event in events
    ]


def _table_descriptions() -> dict[str, str]:
    """Each table's model's one-line docstring, for the README."""
    described = {}
    for mapper in db.Model.registry.mappers:
        table = getattr(mapper.class_, "__tablename__", None)
        doc = (mapper.class_.__doc__ or "").strip().splitlines()
        if table and doc:
            described[table] = doc[0]
    return described


def record_of(couple: Couple, exported_by: User, now: datetime) -> dict:
    """The couple's whole record as one JSON document."""
    practice = db.session.get(Practice, couple.practice_id)
    table = Couple.__table__
    (couple_row,) = _rows(table, select(table).where(table.c.id == couple.id))
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "exported_by": exported_by.name,
        "practice": {"name": practice.name, "time_zone": practice.time_zone},
        "couple": couple_row,
        "tables": record_tables(couple),
        "activity": _trail(couple),
    }


def _whole_period(couple: Couple, now: datetime) -> Report:
    """An unsaved therapist-copy summary from the couple's start to today: the summaries'
    own renderer lays out the homework and check-ins of the whole record."""
    today = now.astimezone(ZoneInfo(couple.time_zone)).date()
    summary = Report(
        couple_id=couple.id,
        audience="therapist",
        period_start=min(couple.start_date, today),
        period_end=today,
        stage="gathering",
    )
    set_committed_value(summary, "couple", couple)
    set_committed_value(summary, "appointment", None)
    return summary


def _summary_name(report: Report) -> str:
    copy = "therapist-copy" if report.audience == "therapist" else "couple-copy"
    return (
        f"summaries/summary-{report.id}-{report.period_start.isoformat()}-to-"
        f"{report.period_end.isoformat()}-{copy}.pdf"
    )


README = """\
The whole record of one couple, exported from {practice} on {when} by {who}.

It holds the couple's own writing and the therapists' notes: keep it as safely as the
records themselves.

Files
-----
record.json
    Everything stored about the couple, as data. "couple" is the case itself; "tables"
    holds every row that belongs to it, one list per table, each row with all its fields
    (ids join them: a row's couple_id, partner_id, response_id ... name a row of another
    list). Times are in UTC (ISO 8601). Left out: the digests of personal links and
    calendar feeds, and PIN hashes, which open nothing once the record is closed.
    "activity" is the couple's audit trail: who did what, and when.

homework-and-checkins.pdf
    The therapist's summary of the whole period, {start} to {end}: every piece of homework
    with its status and first words, the weekly check-ins, charts of the progress markers,
    safety flags, the agreements in force and the repair contract.

summaries/
    The session summaries already made for this couple, as they were made.{summaries}

Tables in record.json
---------------------
{tables}
"""


def _readme(record: dict, export: CoupleExport, summary: Report, names: list, skipped: list):
    descriptions = _table_descriptions()
    tables = "\n".join(
        f"{name} ({len(rows)} row{'' if len(rows) == 1 else 's'})\n    {descriptions.get(name, '')}"
        for name, rows in record["tables"].items()
    )
    if not names and not skipped:
        summaries = " None had been made."
    else:
        summaries = "".join(f"\n    {name}" for name in names)
        summaries += "".join(
            f"\n    Summary {report_id} is not included: its stored file is missing or changed."
            for report_id in skipped
        )
    return README.format(
        practice=record["practice"]["name"],
        when=record["exported_at"],
        who=record["exported_by"],
        start=summary.period_start.isoformat(),
        end=summary.period_end.isoformat(),
        summaries=summaries,
        tables=tables,
    )


# -- making the file --------------------------------------------------------------------------


def exports_folder() -> Path:
    """Where export files live: beside the summaries, in a folder of their own."""
    return reports.reports_folder() / "exports"


def file_path(export: CoupleExport) -> Path:
    return exports_folder() / export.file_name


def _set_stage(export_id: int, stage: str) -> None:
    """The stage in its own short transaction, so the progress bar sees it now."""
    table = CoupleExport.__table__
    with db.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == export_id).values(stage=stage))


def build_export(export_id: int, *, memory_mb: int | None = None) -> CoupleExport | None:
    """Build the export's zip and store it (the job's work; safe to run again: a finished
    export is left as it is, and a retry overwrites its own file)."""
    export = db.session.get(CoupleExport, export_id)
    if export is None or export.is_ready:
        return export
    couple = db.session.get(Couple, export.couple_id)
    now = utcnow()
    _set_stage(export.id, "gathering")
    record = record_of(couple, export.requested_by, now)
    _set_stage(export.id, "rendering")
    whole = _whole_period(couple, now)
    summary = reports.gather(whole, now)
    summary.charts = trends.chart_set(summary.trend, prefix=f"x{export.id}", narrow=False)
    with pdf.memory_cap(memory_mb):
        made = pdf.render(reports.render_html(summary), stylesheets=reports.STYLESHEETS)
    _set_stage(export.id, "packing")
    names, skipped = [], []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("record.json", json.dumps(record, ensure_ascii=False, indent=2))
        archive.writestr("homework-and-checkins.pdf", made.data)
        made_reports = db.session.scalars(
            select(Report)
            .where(Report.couple_id == couple.id, Report.rendered_at.is_not(None))
            .order_by(Report.id)
        )
        for report in made_reports:
            try:
                data = reports.read_file(report)
            except NotFound:
                skipped.append(report.id)
                continue
            names.append(_summary_name(report))
            archive.writestr(names[-1], data)
        archive.writestr("README.txt", _readme(record, export, whole, names, skipped))
    data = buffer.getvalue()
    _set_stage(export.id, "saving")
    name = f"{export.practice_id}/{export.couple_id}/record-{export.id}.zip"
    reports._write(exports_folder() / name, data)
    export.file_name = name
    export.sha256 = hashlib.sha256(data).hexdigest()
    export.size = len(data)
    export.finished_at = utcnow()
    export.stage = "done"
    _forget_earlier(export)
    return export


def _forget_earlier(export: CoupleExport) -> None:
    """One export file per couple on disk: the newest replaces the earlier ones' files."""
    earlier = db.session.scalars(
        select(CoupleExport).where(
            CoupleExport.couple_id == export.couple_id,
            CoupleExport.id < export.id,
            CoupleExport.file_name.is_not(None),
        )
    ).all()
    for old in earlier:
        (exports_folder() / old.file_name).unlink(missing_ok=True)
        old.file_name = None


def read_file(export: CoupleExport) -> bytes:
    """The stored zip, checked against its digest."""
    if not export.is_ready:
        raise NotFound()
    return reports.read_checked(file_path(export), export.sha256)


def download_name(export: CoupleExport) -> str:
    label = re.sub(r"[^A-Za-z0-9]+", "-", export.couple.label).strip("-").lower() or "couple"
    return f"record-{label}-{export.finished_at.date().isoformat()}.zip"


def download(user: User, export: CoupleExport) -> bytes:
    """The export's zip for the owner; the download is audited (who, which export, when)."""
    _owner_only(user)
    data = read_file(export)
    audit.record(
        "couple.export_downloaded",
        actor=user,
        target=export.couple,
        details={"export": export.id},
    )
    return data


# -- the retention period and scheduled deletion ----------------------------------------------


def set_retention(owner: User, practice: Practice, days: int | None) -> None:
    """How long the practice keeps a closed couple's record before it may be deleted."""
    _owner_only(owner)
    if days not in RETENTION_CHOICES:
        raise DomainError("Choose how long to keep closed records from the list.", "retention")
    if practice.closed_record_retention_days == days:
        return
    practice.closed_record_retention_days = days
    audit.record(
        "practice.retention_changed",
        actor=owner,
        target=practice,
        details={"days": days},
    )


def deletion_date(couple: Couple, practice: Practice, now: datetime) -> datetime | None:
    """When the couple's record would be deleted if scheduled now: the retention period
    after it was closed (after now, for a case not closed yet); None when the practice keeps
    closed records until deleted by hand."""
    days = practice.closed_record_retention_days
    if days is None:
        return None
    closed = couple.closed_at or now
    return max(closed + timedelta(days=days), now)


def schedule_deletion(user: User, couple: Couple, now: datetime | None = None) -> datetime:
    """Schedule a closed couple's record for deletion at the end of the practice's retention
    period (the owner only); returns when."""
    _owner_only(user)
    now = now or utcnow()
    if not couple.is_closed:
        raise DomainError("Only a closed case can be scheduled for deletion. Close it first.")
    due = deletion_date(couple, user.practice, now)
    if due is None:
        raise DomainError(
            "The practice keeps closed records until someone deletes them by hand. Choose a "
            "retention period in the practice settings first."
        )
    if couple.deletion_due_at is not None:
        return couple.deletion_due_at
    couple.deletion_due_at = due
    audit.record(
        "couple.deletion_scheduled",
        actor=user,
        target=couple,
        details={"due": due.date().isoformat()},
    )
    return due


def cancel_deletion(user: User | None, couple: Couple) -> None:
    """Take a couple off the deletion schedule (the owner; reopening the case does it too)."""
    if user is not None:
        _owner_only(user)
    if couple.deletion_due_at is None:
        return
    couple.deletion_due_at = None
    audit.record("couple.deletion_cancelled", actor=user, actor_label="system", target=couple)


@dataclass(frozen=True)
class Deleted:
    """What deleting one couple's record removed besides its rows: files and job runs."""

    couple_id: int
    files: int
    job_runs: int


def _couple_folders(practice_id: int, couple_id: int) -> list[Path]:
    """The couple's own folders of summaries and of exports."""
    part = Path(str(practice_id)) / str(couple_id)
    return [reports.reports_folder() / part, exports_folder() / part]


def _job_runs(couple_id: int, partner_ids: list[int]) -> list[int]:
    """The job runs about the couple: those whose arguments name it, one of its partners,
    their links, its summaries or its exports (ids only, but ids of a record that is gone,
    and a report's or export's run is referred to by it)."""
    named = {
        "couple_id": [couple_id],
        "partner_id": partner_ids,
        "invite_id": select(PartnerInvite.id).where(PartnerInvite.partner_id.in_(partner_ids)),
        "report_id": select(Report.id).where(Report.couple_id == couple_id),
        "export_id": select(CoupleExport.id).where(CoupleExport.couple_id == couple_id),
    }
    found = set(
        db.session.scalars(
            select(Report.job_run_id).where(
                Report.couple_id == couple_id, Report.job_run_id.is_not(None)
            )
        )
    )
    found |= set(
        db.session.scalars(
            select(CoupleExport.job_run_id).where(
                CoupleExport.couple_id == couple_id, CoupleExport.job_run_id.is_not(None)
            )
        )
    )
    for argument, ids in named.items():
        found |= set(
            db.session.scalars(
                select(JobRun.id).where(JobRun.arguments[argument].as_integer().in_(ids))
            )
        )
    return sorted(found)


def _reminder_keys(couple_id: int, partner_ids: list[int]) -> list[str]:
    """Patterns of the keys of reminders sent for the couple's partners, contracts and
    agreements: ids a later row could be given again (SQLite reuses the highest id), whose
    old keys would then hold that row's reminders back."""
    versions = db.session.scalars(
        select(ContractVersion.id)
        .join(HomeworkResponse, HomeworkResponse.id == ContractVersion.response_id)
        .where(HomeworkResponse.couple_id == couple_id)
    )
    agreements = db.session.scalars(select(Agreement.id).where(Agreement.couple_id == couple_id))
    return (
        [f"partner:{partner_id}:%" for partner_id in partner_ids]
        + [f"version:{version_id}:%" for version_id in versions]
        + [f"agreement:{agreement_id}:%" for agreement_id in agreements]
    )


def delete_couple_record(couple: Couple, actor: User | None = None) -> Deleted:
    """Delete the couple and everything under it: its rows (the database cascades from the
    couple and its partners), the job runs that made its files, the files on disk, and its
    reminders' keys. The audit trail stays, without the reference to the couple, and gains a
    row saying the record was deleted (ids only)."""
    couple_id, practice_id = couple.id, couple.practice_id
    partner_ids = list(db.session.scalars(select(Partner.id).where(Partner.couple_id == couple_id)))
    files = reports.couple_files(couple)
    exports = db.session.execute(
        select(CoupleExport.file_name, CoupleExport.job_run_id).where(
            CoupleExport.couple_id == couple_id
        )
    ).all()
    files += [exports_folder() / name for name, _ in exports if name]
    job_runs = _job_runs(couple_id, partner_ids)
    keys = _reminder_keys(couple_id, partner_ids)

    audit.record(
        "couple.deleted",
        actor=actor,
        actor_label=None if actor is not None else "system",
        target=couple,
        details={"files": len(files)},
    )
    db.session.flush()  # the row is written while the couple it names still exists
    db.session.execute(delete(Couple).where(Couple.id == couple_id))
    if job_runs:
        db.session.execute(delete(JobRun).where(JobRun.id.in_(job_runs)))
    if keys:
        db.session.execute(
            delete(ReminderSent).where(or_(*(ReminderSent.due_key.like(key) for key in keys)))
        )
    # The objects of the deleted rows still in the session are gone from the database.
    for obj in list(db.session.identity_map.values()):
        if obj is couple or getattr(obj, "couple_id", None) == couple_id:
            db.session.expunge(obj)
    # The files go last, once the rows are gone in this transaction: a deletion that rolls
    # back leaves a record without its summaries (they can be made again), never files of a
    # deleted record on disk.
    for path in files:
        path.unlink(missing_ok=True)
    for folder in _couple_folders(practice_id, couple_id):
        shutil.rmtree(folder, ignore_errors=True)
    return Deleted(couple_id=couple_id, files=len(files), job_runs=len(job_runs))


def delete_due_couples(now: datetime) -> list[Deleted]:
    """Delete every closed couple of the current practice whose scheduled deletion is due
    (the reminders' timer runs it in each practice)."""
    due = db.session.scalars(
        select(Couple)
        .where(
            Couple.status == "closed",
            Couple.deletion_due_at.is_not(None),
            Couple.deletion_due_at <= now,
        )
        .order_by(Couple.id)
    ).all()
    return [delete_couple_record(couple) for couple in due]

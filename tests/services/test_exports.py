"""A couple's whole record: the owner's export (a zip read back: the JSON record, the PDF of
the homework and check-ins, the summaries made), the retention setting, scheduled deletion,
and the deletion itself, which leaves no row, file or feed of the couple behind and keeps a
content-free audit trail.

Jobs run inline here (no Redis): the commit that asks for an export makes it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, or_, select

from practice.extensions import db
from practice.models import AuditEvent, Couple, CoupleExport, JobRun, Practice, Report, User
from practice.models.base import utcnow
from practice.models.checkin import ReminderSent
from practice.services import DomainError, NotFound, exports, reminders
from practice.services import couples as couple_service
from practice.tenancy import practice_context, unscoped
from tests.couple_factories import CoupleFactory
from tests.export_story import (
    AGREEMENT_WORDS,
    APOLOGY_WORDS,
    CHECKIN_WORDS,
    COMMENT_WORDS,
    DRAFT_WORDS,
    SESSION_NOTES,
    Story,
    write_story,
)
from tests.factories import OwnerFactory

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def story(reports_path) -> Story:
    return write_story()


def export_zip(story: Story) -> zipfile.ZipFile:
    """Ask for an export as the owner; the commit makes it. The zip, opened."""
    with practice_context(story.practice_id):
        owner = db.session.get(User, story.owner_id)
        couple = couple_service.get_couple(owner, story.couple_id)
        export, attached = exports.request_export(owner, couple)
        assert not attached
        export_id = export.id
    db.session.commit()
    with practice_context(story.practice_id):
        export = db.session.get(CoupleExport, export_id)
        assert exports.progress(export).state == "done"
        data = exports.download(db.session.get(User, story.owner_id), export)
        db.session.commit()
    return zipfile.ZipFile(io.BytesIO(data))


def actions(practice_id: int) -> list[str]:
    with practice_context(practice_id):
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# -- the export -------------------------------------------------------------------------------


def test_the_export_holds_the_record_the_pdf_and_the_summaries(story):
    archive = export_zip(story)
    names = archive.namelist()
    assert names[:2] == ["record.json", "homework-and-checkins.pdf"]
    assert names[-1] == "README.txt"
    (summary,) = [name for name in names if name.startswith("summaries/")]
    assert summary.endswith("-therapist-copy.pdf")
    assert archive.testzip() is None

    record = json.loads(archive.read("record.json"))
    assert record["couple"]["id"] == story.couple_id
    assert "practice_id" not in record["couple"]
    tables = record["tables"]
    (answer,) = [row for row in tables["homework_responses"] if row["id"] == story.response_id]
    assert answer["content"]["what_i_did"] == APOLOGY_WORDS
    drafts = [row["content"].get("what_i_did") for row in tables["homework_responses"]]
    assert DRAFT_WORDS in drafts
    assert [row["body"] for row in tables["homework_comments"]] == [COMMENT_WORDS]
    assert CHECKIN_WORDS in json.dumps(tables["checkins"], ensure_ascii=False)
    assert tables["safety_answers"] and tables["safety_flags"]
    assert [row["text"] for row in tables["agreements"]] == [AGREEMENT_WORDS]
    assert [row["notes"] for row in tables["appointments"]] == [SESSION_NOTES]
    assert {row["id"] for row in tables["partners"]} == set(story.partner_ids)
    assert len(tables["reports"]) == 1 and tables["notices"] and tables["portal_sessions"]
    # Secrets that open doors are left out.
    assert all("token_hash" not in row for row in tables["calendar_feeds"])
    assert all("pin_hash" not in row for row in tables["partners"])
    # The trail says who did what, never what was written.
    assert "homework.submitted" in [event["action"] for event in record["activity"]]
    assert APOLOGY_WORDS not in json.dumps(record["activity"])

    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(archive.read(names[1]))).pages
    )
    text = re.sub(r"\s+", " ", text)
    assert "Session summary" in text and "Tamarisk" in text  # the answer's first words
    assert archive.read(summary).startswith(b"%PDF")
    readme = archive.read("README.txt").decode()
    for name in ("record.json", "homework-and-checkins.pdf", "summaries/", "homework_responses"):
        assert name in readme


def test_every_table_that_hangs_off_a_couple_is_in_the_record(story):
    archive = export_zip(story)
    tables = json.loads(archive.read("record.json"))["tables"]
    expected = {
        table.name
        for table in db.metadata.sorted_tables
        if ({"couple_id", "partner_id"} & set(table.c.keys()))
        and table.name not in ("couples", "audit_events", "couple_exports")
    }
    assert expected <= set(tables), expected - set(tables)


def test_an_export_and_its_download_are_audited_without_content(story, database_values):
    export_zip(story)
    with practice_context(story.practice_id):
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("couple.export_%"))
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.actor_user_id, e.couple_id) for e in events] == [
        ("couple.export_requested", story.owner_id, story.couple_id),
        ("couple.export_downloaded", story.owner_id, story.couple_id),
    ]
    # The job's arguments are an id; no client text is stored outside the couple's rows.
    with practice_context(story.practice_id):
        run = db.session.scalar(select(JobRun).where(JobRun.function == exports.JOB_NAME))
    assert list(run.arguments) == ["export_id"]
    for table, column, value in database_values():
        if table in ("audit_events", "job_runs", "couple_exports"):
            assert APOLOGY_WORDS not in str(value), (table, column)


def test_a_therapist_cannot_export_and_another_practice_finds_nothing(story):
    with practice_context(story.practice_id):
        therapist = db.session.get(User, story.therapist_id)
        couple = couple_service.get_couple(therapist, story.couple_id)
        with pytest.raises(NotFound):
            exports.request_export(therapist, couple)
        with pytest.raises(NotFound):
            exports.latest_export(therapist, couple)
    other = OwnerFactory()
    with practice_context(other.practice_id), pytest.raises(NotFound):
        couple_service.get_couple(other, story.couple_id)


def test_a_changed_export_file_is_not_served(story, reports_path):
    export_zip(story)
    with practice_context(story.practice_id):
        export = db.session.scalar(select(CoupleExport))
        exports.file_path(export).write_bytes(b"changed")
        with pytest.raises(NotFound):
            exports.read_file(export)


def test_a_new_export_replaces_the_earlier_file(story, reports_path):
    export_zip(story)
    export_zip(story)
    files = sorted(path.name for path in (reports_path / "exports").rglob("*.zip"))
    assert files == ["record-2.zip"]


# -- the retention setting and the schedule ---------------------------------------------------


def owner_and_couple(story: Story):
    owner = db.session.get(User, story.owner_id)
    return owner, couple_service.get_couple(owner, story.couple_id)


def test_only_a_closed_case_with_a_retention_period_is_scheduled(story):
    with practice_context(story.practice_id):
        owner, couple = owner_and_couple(story)
        with pytest.raises(DomainError, match="Close it first"):
            exports.schedule_deletion(owner, couple)
        couple_service.close_couple(owner, couple)
        with pytest.raises(DomainError, match="retention period"):
            exports.schedule_deletion(owner, couple)
        with pytest.raises(DomainError):
            exports.set_retention(owner, owner.practice, 45)
        exports.set_retention(owner, owner.practice, 366)
        due = exports.schedule_deletion(owner, couple)
        assert due - couple.closed_at == timedelta(days=366)
        therapist = db.session.get(User, story.therapist_id)
        with pytest.raises(NotFound):
            exports.cancel_deletion(therapist, couple)
        with pytest.raises(NotFound):
            exports.set_retention(therapist, therapist.practice, 30)
        db.session.commit()
    assert "couple.deletion_scheduled" in actions(story.practice_id)
    assert "practice.retention_changed" in actions(story.practice_id)


def test_reopening_cancels_a_scheduled_deletion(story):
    with practice_context(story.practice_id):
        owner, couple = owner_and_couple(story)
        exports.set_retention(owner, owner.practice, 30)
        couple_service.close_couple(owner, couple)
        exports.schedule_deletion(owner, couple)
        couple_service.reopen_couple(owner, couple)
        assert couple.deletion_due_at is None
        db.session.commit()
        # The sweep long after: nothing to delete.
        assert exports.delete_due_couples(utcnow() + timedelta(days=400)) == []
    assert actions(story.practice_id)[-2:] == ["couple.deletion_cancelled", "couple.reopened"]


# -- deletion ---------------------------------------------------------------------------------


def tenant_counts() -> dict[str, int]:
    """Rows per table, read straight from the database (every practice)."""
    with unscoped(), db.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
        }


def rows_of(story: Story) -> dict[str, int]:
    """The rows that name the story's couple or one of its partners, per table."""
    counts = {}
    # The story's practice told to the connection (row-level security, on PostgreSQL).
    with practice_context(story.practice_id), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            conditions = []
            for name in ("couple_id", "partner_id", "actor_partner_id", "recipient_partner_id"):
                if name in table.c:
                    ids = [story.couple_id] if name == "couple_id" else list(story.partner_ids)
                    conditions.append(table.c[name].in_(ids))
            if table.name == "couples":
                conditions.append(table.c.id == story.couple_id)
            if table.name == "partners":
                conditions.append(table.c.id.in_(story.partner_ids))
            if conditions:
                statement = select(func.count()).select_from(table).where(or_(*conditions))
                counts[table.name] = connection.execute(statement).scalar_one()
    return counts


def test_deleting_a_record_removes_every_row_file_and_feed_and_keeps_the_trail(
    story, reports_path, client
):
    export_zip(story)
    # A second couple of the same practice stays whole.
    with unscoped():
        practice = db.session.get(Practice, story.practice_id)
        other = CoupleFactory(practice=practice)
        other_id = other.id
    db.session.commit()
    assert client.get(f"/calendar/{story.feed_token}.ics").status_code == 200
    before = rows_of(story)
    assert all(before[name] for name in ("couples", "partners", "homework_responses", "checkins"))
    files = sorted(reports_path.rglob("*.*"))
    assert {path.suffix for path in files} == {".pdf", ".zip"}
    counts = tenant_counts()
    with practice_context(story.practice_id):
        trail = db.session.scalar(
            select(func.count()).where(AuditEvent.couple_id == story.couple_id)
        )
        db.session.add(
            ReminderSent(kind="checkin.open", due_key=f"partner:{story.partner_ids[0]}:x")
        )
        db.session.commit()
        owner, couple = owner_and_couple(story)
        deleted = exports.delete_couple_record(couple, owner)
        db.session.commit()
    assert deleted.files == 2

    after = rows_of(story)
    left = {name: count for name, count in after.items() if count and name != "audit_events"}
    assert left == {}
    assert sorted(reports_path.rglob("*.*")) == []
    assert client.get(f"/calendar/{story.feed_token}.ics").status_code == 404
    # Only the couple's rows went: the other couple and the practice's people are there.
    now = tenant_counts()
    assert now["couples"] == counts["couples"] - 1
    assert now["users"] == counts["users"]
    assert now["reminders_sent"] == counts["reminders_sent"]  # +1 added, 1 deleted
    with practice_context(story.practice_id):
        assert db.session.get(Couple, other_id) is not None
        # The trail stays, emptied of the couple: and a row says the record was deleted.
        kept = db.session.scalars(
            select(AuditEvent).where(AuditEvent.couple_id.is_(None)).order_by(AuditEvent.id)
        ).all()
        assert len(kept) >= trail + 1
        last = kept[-1]
        assert (last.action, last.target_type, last.target_id) == (
            "couple.deleted",
            "Couple",
            story.couple_id,
        )
        assert last.actor_user_id == story.owner_id
        assert all(event.actor_partner_id is None for event in kept)
        by_partner = [event for event in kept if event.action == "homework.submitted"]
        assert by_partner and by_partner[0].actor_name == "A partner of a deleted record"
        assert db.session.scalar(select(func.count()).select_from(Report)) == 0
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_the_sweep_deletes_only_the_couples_that_are_due(reports_path):
    first = write_story()
    with unscoped():
        practice = db.session.get(Practice, first.practice_id)
    second = write_story(practice, owner_id=first.owner_id)
    with practice_context(first.practice_id):
        owner = db.session.get(User, first.owner_id)
        exports.set_retention(owner, owner.practice, 30)
        for story in (first, second):
            _, couple = owner_and_couple(story)
            couple_service.close_couple(owner, couple)
        _, couple = owner_and_couple(first)
        due = exports.schedule_deletion(owner, couple)  # the second is closed, not scheduled
        db.session.commit()

    assert reminders.tick(due - timedelta(minutes=1)).get("couple.deleted") is None
    assert rows_of(first)["couples"] == 1
    assert reminders.tick(due).get("couple.deleted") == 1
    assert rows_of(first)["couples"] == 0
    assert rows_of(second)["couples"] == 1
    assert reminders.tick(due + timedelta(days=1)).get("couple.deleted") is None
    assert actions(first.practice_id).count("couple.deleted") == 1

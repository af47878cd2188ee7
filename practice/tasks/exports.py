"""Jobs that export a couple's whole record: one export id in, one zip stored."""

from __future__ import annotations

from flask import current_app

from practice.jobs import REPORTS_QUEUE, job
from practice.services import exports


@job(name=exports.JOB_NAME, queue=REPORTS_QUEUE, timeout=300)
def build_record_export(export_id: int) -> None:
    """Build and store one export. It renders a PDF, so it runs with the summaries, capped
    at REPORT_MEMORY_MB in a worker; inline (no Redis) it has no cap."""
    inline = current_app.config["JOBS_INLINE"]
    exports.build_export(
        export_id, memory_mb=None if inline else current_app.config["REPORT_MEMORY_MB"]
    )

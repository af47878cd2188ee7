"""Jobs that make session summaries: one report id in, one PDF stored."""

from __future__ import annotations

from flask import current_app

from practice.jobs import REPORTS_QUEUE, job
from practice.services import reports


@job(name=reports.JOB_NAME, queue=REPORTS_QUEUE, timeout=120)
def render_summary(report_id: int) -> None:
    """Render and store one summary. In a worker the render may grow the process by at most
    REPORT_MEMORY_MB; inline (no Redis, one therapist on a laptop) it has no cap."""
    inline = current_app.config["JOBS_INLINE"]
    reports.render(report_id, memory_mb=None if inline else current_app.config["REPORT_MEMORY_MB"])

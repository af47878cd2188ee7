from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from practice.blueprints.ops import bp
from practice.extensions import db, limiter

log = logging.getLogger(__name__)


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """The process is up. Touches nothing else."""
    return {"status": "ok"}


@bp.route("/readyz")
@limiter.exempt
def readyz():
    """Ready to serve: the database answers. A Redis that does not answer degrades the node
    (rate limits in this process's memory, jobs pending until the requeue sweep) but does not
    take it out of the load balancer: 503 only when the database is down."""
    checks: dict[str, str] = {}
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        log.warning("readyz: database unavailable (%s)", type(error).__name__)
        checks["database"] = "unavailable"
    if current_app.config["REDIS_URL"]:
        from practice.jobs.dispatch import redis_connection

        try:
            redis_connection().ping()
            checks["redis"] = "ok"
        except RedisError as error:
            log.warning("readyz: redis unavailable (%s)", type(error).__name__)
            checks["redis"] = "degraded"
    else:
        checks["redis"] = "not configured (jobs run inline)"
    if checks["database"] != "ok":
        return {"status": "unavailable", "checks": checks}, 503
    status = "degraded" if checks["redis"] == "degraded" else "ok"
    return {"status": status, "checks": checks}, 200

"""Time the caseload page at 500 couples (and count its SQL statements).

    make bench                         # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/practice_bench make bench

Prints the median and 95th percentile of GET /couples over repeated requests, for the first
page, a later page and a search. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event

COUPLES = int(os.environ.get("BENCH_COUPLES", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))


def build_app(instance: Path):
    os.environ["PRACTICE_ENV"] = "testing"
    os.environ["PRACTICE_INSTANCE_PATH"] = str(instance)
    from practice import create_app

    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{instance}/bench.db"
    from practice.config import normalise_database_url

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )


def seed(app) -> str:
    from flask_migrate import upgrade

    from practice.extensions import db
    from practice.models import Couple, CoupleTherapist, Partner, PartnerInvite, Practice, User
    from practice.models.base import utcnow
    from practice.security import hash_password, new_token
    from practice.tenancy import practice_context, unscoped

    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        with unscoped():
            practice = Practice(name="Bench practice", slug="bench", time_zone="UTC")
            db.session.add(practice)
            db.session.flush()
        with practice_context(practice.id):
            owner = User(
                email="owner@bench.example.com",
                name="Owner",
                role="owner",
                password_hash=hash_password("bench-password-1"),
            )
            others = [
                User(
                    email=f"t{i}@bench.example.com",
                    name=f"Therapist {i}",
                    role="therapist",
                    password_hash=owner.password_hash,
                )
                for i in range(8)
            ]
            db.session.add_all([owner, *others])
            db.session.flush()
            now = utcnow()
            for n in range(COUPLES):
                couple = Couple(
                    label=f"Couple {n:04d}",
                    presenting_concern="affair",
                    start_date=date(2026, 1, 1) + timedelta(days=n % 300),
                    time_zone="UTC",
                    status=("active", "paused", "closed")[n % 3],
                )
                for position, role in ((1, "hurt"), (2, "broke_trust")):
                    couple.partners.append(
                        Partner(
                            position=position,
                            display_name=f"P{n}-{position}",
                            repair_role=role,
                            time_zone="UTC",
                        )
                    )
                couple.assignments.append(CoupleTherapist(user_id=others[n % 8].id))
                db.session.add(couple)
                if n % 100 == 99:
                    db.session.flush()
            db.session.flush()
            for partner in db.session.query(Partner).all():
                _, digest = new_token()
                db.session.add(
                    PartnerInvite(
                        partner_id=partner.id,
                        token_hash=digest,
                        created_by_id=owner.id,
                        expires_at=now + timedelta(days=14),
                    )
                )
            db.session.commit()
    return "owner@bench.example.com"


def measure(app, client, url: str) -> tuple[float, float, int]:
    from practice.extensions import db

    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    timings = []
    for _ in range(ROUNDS):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.status_code
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1], len(statements)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Path(folder))
        email = seed(app)
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password-1"})
        database = re.sub(r"://.*@", "://…@", app.config["SQLALCHEMY_DATABASE_URI"]).split("/")[0]
        print(f"caseload at {COUPLES} couples, {ROUNDS} rounds, {database}")
        for label, url in (
            ("first page", "/couples?status=all"),
            ("page 5", "/couples?status=all&page=5"),
            ("search", "/couples?status=all&q=couple+04"),
            ("sorted by activity", "/couples?sort=recent"),
        ):
            median, p95, statements = measure(app, client, url)
            print(
                f"  {label:<20} median {median:6.1f} ms   p95 {p95:6.1f} ms   "
                f"{statements} SQL statements"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

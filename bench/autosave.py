"""Concurrent autosave: 16 partners typing at once against gunicorn on PostgreSQL.

    python -m bench.autosave --database postgresql://postgres@127.0.0.1:5432/practice_bench_500
    make bench-autosave BENCH_DATABASE_URL=...       # the same (uses <name>_500)

`make bench` runs it after the pages when BENCH_DATABASE_URL is PostgreSQL. The database is
emptied, migrated and seeded (`bench.seed`, 500 couples by default, then ANALYZE). The app
runs under gunicorn (2 workers x 4 threads, gthread) in production mode, bound to 127.0.0.1
on a free port. Each of 16 partners (8 active couples) signs in through their personal link
with their own cookie jar, opens their own private apology draft, and autosaves it every
500 ms (32 saves/s in all) for BENCH_AUTOSAVE_SECONDS (default 60), as the page's script
does: the form's fields plus `version` and the CSRF token, `Accept: application/json`,
the next save based on the version the answer gives. One thread per partner, one request in
flight per partner, stdlib `http.client` only.

It prints the latency percentiles, the errors, the achieved rate, the CPU the load generator
itself used (this process, as a share of the machine's cores) and the gunicorn workers', and
then reads every draft back from the database: each partner's text must be exactly the last
text that partner sent (no save lost, none landing in another partner's draft). A benchmark:
it reports, it asserts nothing (exit 0 once it has measured).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

SECONDS = float(os.environ.get("BENCH_AUTOSAVE_SECONDS", "60"))
INTERVAL = 0.5
PARTNERS = 16
TARGET_P99_MS = 100.0
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)" data-version')
_FIELDS = ("what_i_did", "how_it_hurt", "responsibility", "amends")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """One partner's device: a keep-alive connection and a cookie jar."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None, accept: str = "text/html"):
        headers = {"Accept": accept, "User-Agent": "bench-autosave"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: open a new one, once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers, payload.decode()


class Partner(threading.Thread):
    def __init__(self, port, token, draft_key, partner_id, start_at, stop_at):
        super().__init__(daemon=True)
        self.browser = Browser(port)
        self.token, self.draft_key, self.partner_id = token, draft_key, partner_id
        self.start_at, self.stop_at = start_at, stop_at
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.last_sent: str | None = None
        self.last_ok: str | None = None
        self.sent = 0

    def sign_in(self) -> None:
        status, _, page = self.browser.request("GET", f"/p/{self.token}")
        if status != 200:
            raise RuntimeError(f"personal link answered {status}")
        csrf = _CSRF.search(page).group(1)
        status, headers, _ = self.browser.request("POST", f"/p/{self.token}", {"csrf_token": csrf})
        if status != 302 or not headers.get("Location", "").endswith("/portal"):
            raise RuntimeError(f"signing in answered {status} {headers.get('Location')}")
        status, _, page = self.browser.request("GET", f"/portal/homework/{self.draft_key}")
        if status != 200:
            raise RuntimeError(f"the draft answered {status}")
        self.csrf = _CSRF.search(page).group(1)
        self.version = int(_VERSION.search(page).group(1))
        # One save before the clock starts: each worker thread has served the route once.
        form = {"csrf_token": self.csrf, "version": str(self.version)}
        form |= {f"content-{key}": "" for key in _FIELDS}
        form["content-what_i_did"] = f"Partner {self.partner_id} starts writing."
        status, _, body = self.browser.request(
            "POST", f"/portal/homework/{self.draft_key}/autosave", form, "application/json"
        )
        if status != 200:
            raise RuntimeError(f"the first save answered {status}")
        self.version = json.loads(body)["version"]
        self.last_sent = form["content-what_i_did"]

    def run(self) -> None:
        path = f"/portal/homework/{self.draft_key}/autosave"
        due = self.start_at
        while due < self.stop_at:
            time.sleep(max(0.0, due - time.monotonic()))
            self.sent += 1
            text = (
                f"Partner {self.partner_id}, save {self.sent}: I kept something from you and "
                f"I am sorry for what it did to us. {secrets.token_hex(6)}"
            )
            form = {"csrf_token": self.csrf, "version": str(self.version)}
            form |= {f"content-{key}": "" for key in _FIELDS}
            form["content-what_i_did"] = text
            self.last_sent = text
            began = time.perf_counter()
            try:
                status, _, body = self.browser.request("POST", path, form, "application/json")
            except OSError as error:
                self.errors.append(f"{type(error).__name__}")
                due += INTERVAL
                continue
            self.latencies.append((time.perf_counter() - began) * 1000)
            if status == 200:
                answer = json.loads(body)
                self.version = answer["version"]
                if answer["stored"].get("content-what_i_did") != text:
                    self.errors.append("answer does not echo the text sent")
                self.last_ok = text
            else:
                self.errors.append(f"HTTP {status}")
                with contextlib.suppress(ValueError):
                    self.version = json.loads(body).get("version", self.version)
            due += INTERVAL


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.999999) - 1))]


def seed(database: str, couples: int):
    from bench.pages import build_app, reset_database
    from bench.seed import refresh_statistics, seed_practice

    folder = tempfile.mkdtemp()
    app = build_app(database, Path(folder))
    # Migrations log to stderr through alembic's own logging set-up: kept out of the report.
    with contextlib.redirect_stderr(io.StringIO()):
        reset_database(app)
        with app.app_context():
            seeded = seed_practice(couples, slug="bench")
            refresh_statistics()
    # Active couples only (every fourth is closed, and a closed couple's links do not work).
    chosen = [c for index, c in enumerate(seeded.couples) if index % 4 in (0, 1)][: PARTNERS // 2]
    return app, chosen


def read_drafts(app, keys: list[str]) -> dict[str, dict]:
    from sqlalchemy import select

    from practice.extensions import db
    from practice.models import HomeworkResponse
    from practice.tenancy import unscoped

    with app.app_context(), unscoped():
        rows = db.session.execute(
            select(HomeworkResponse.public_id, HomeworkResponse.content).where(
                HomeworkResponse.public_id.in_(keys)
            )
        ).all()
        db.session.rollback()
    return dict(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--couples", type=int, default=500)
    args = parser.parse_args(argv)
    if not (args.database or "").startswith(("postgres://", "postgresql")):
        print("autosave bench: needs a PostgreSQL --database (or BENCH_DATABASE_URL); skipped")
        return 0
    print(f"\nconcurrent autosave: seeding {args.couples} couples ...", flush=True)
    app, couples = seed(args.database, args.couples)
    port = free_port()
    instance = tempfile.mkdtemp()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "BENCH_DATABASE_URL", "PRACTICE_INSTANCE_PATH")
    }
    env |= {
        "PRACTICE_ENV": "production",
        "DATABASE_URL": args.database,
        "SECRET_KEY": secrets.token_hex(32),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "PRACTICE_INSTANCE_PATH": instance,
        # 16 partners open their links from one address within a second.
        "PORTAL_LINK_RATE_LIMIT": "1000 per minute",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = Path(instance) / "gunicorn.log"
    command = [str(gunicorn), "-w", "2", "--threads", "4", "-k", "gthread"]
    command += ["-b", f"127.0.0.1:{port}", "--error-logfile", str(log), "practice:create_app()"]
    server = subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200 and len(_children(server.pid)) >= 2:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.2)

        start_at = time.monotonic() + 1.0
        stop_at = start_at + args.seconds
        partners = []
        for index, couple in enumerate(couples):
            for slot, partner_id in enumerate(couple.partner_ids):
                n = 2 * index + slot
                partners.append(
                    Partner(
                        port,
                        couple.invite_tokens[partner_id],
                        couple.drafts[partner_id],
                        partner_id,
                        start_at + n * INTERVAL / PARTNERS,  # spread evenly over 500 ms
                        stop_at,
                    )
                )
        for partner in partners:
            partner.sign_in()
        start_at = time.monotonic() + 0.5
        stop_at = start_at + args.seconds
        for n, partner in enumerate(partners):
            partner.start_at = start_at + n * INTERVAL / PARTNERS
            partner.stop_at = stop_at
        workers = _children(server.pid)
        server_cpu = sum(_cpu_seconds(pid) for pid in workers)
        busy, total = _machine_busy()
        cpu, wall = time.process_time(), time.monotonic()
        for partner in partners:
            partner.start()
        for partner in partners:
            partner.join()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        server_cpu = sum(_cpu_seconds(pid) for pid in workers) - server_cpu
        busy_after, total_after = _machine_busy()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    cores = os.cpu_count() or 1
    latencies = [ms for p in partners for ms in p.latencies]
    errors = [error for p in partners for error in p.errors]
    sent = sum(p.sent for p in partners)
    stored = read_drafts(app, [p.draft_key for p in partners])
    wrong = []
    for partner in partners:
        content = stored.get(partner.draft_key, {})
        if content.get("what_i_did") != partner.last_sent:
            wrong.append(
                f"partner {partner.partner_id}: stored "
                f"{(content.get('what_i_did') or '')[:40]!r}, last sent "
                f"{(partner.last_sent or '')[:40]!r}"
            )
    print(
        f"concurrent autosave: gunicorn 2 workers x 4 threads (gthread), PostgreSQL, "
        f"{len(partners)} partners every {INTERVAL * 1000:.0f} ms for {args.seconds:.0f} s"
    )
    if latencies:
        print(
            f"  {len(latencies)} saves answered of {sent} sent ({len(latencies) / wall:.1f}/s): "
            f"p50 {_percentile(latencies, 0.50):.1f} ms, p90 {_percentile(latencies, 0.90):.1f}"
            f" ms, p99 {_percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms "
            f"(mean {statistics.mean(latencies):.1f}); target p99 <= {TARGET_P99_MS:.0f} ms: "
            f"{'met' if _percentile(latencies, 0.99) <= TARGET_P99_MS else 'NOT met'}"
        )
    print(f"  errors: {len(errors)}" + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))
    print(
        "  last text sent = text stored, for every partner: "
        + ("yes (no save lost or mixed up)" if not wrong else f"NO, {len(wrong)} differ")
    )
    for line in wrong:
        print(f"    {line}")
    machine = 100 * (busy_after - busy) / max(1, total_after - total)
    print(
        f"  CPU: load generator {cpu:.1f} s in {wall:.1f} s = {100 * cpu / wall / cores:.1f} % "
        f"of {cores} cores; gunicorn workers {100 * server_cpu / wall / cores:.1f} %; whole "
        f"machine busy {machine:.0f} % (PostgreSQL and anything else running included)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

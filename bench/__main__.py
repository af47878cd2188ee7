"""`make bench`: the main pages at two practice sizes, on SQLite and on PostgreSQL.

    make bench                                   # SQLite (a temporary file), 500 and 5,000
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/practice_bench make bench
    BENCH_QUICK=1 make bench                     # a smoke run: small sizes, few rounds

A benchmark, not a test: it asserts nothing and always exits 0 once it has measured. For
each database and size a fresh process (`python -m bench.pages`) migrates an empty database,
bulk-loads the practice (`bench.seed`: homework at every stage and two years of weekly
check-ins per couple), refreshes statistics, and times each page through
Flask's test client in-process; `/healthz` is timed in the same process. The table gives per
page the median and p95 ms, SQL statements, throughput as a share of `/healthz`'s, and the
ratio of the large size's median to the small one's, against the targets:

- ratio large / small <= 1.5 (a search <= 3): cost grows with the page, not the practice;
- throughput >= 8 % of `/healthz` in the same run.

A page that misses a target gets a line on where its time goes (one request under cProfile:
the database driver, the templates, the rest in Python), and the full profile (top functions
by cumulative time, the statements it ran) goes to bench/out/.

With BENCH_DATABASE_URL, its database name is a prefix: `<name>_<size>` per size, created
when missing, emptied and migrated on each run; the concurrent autosave bench
(`bench.autosave`) then runs against `<name>_<small size>` under gunicorn.

Last, the session-summary bench (`bench.reports`: render, queue, workers, memory) runs once,
on `<name>_reports` with BENCH_DATABASE_URL, else on SQLite (its workers need Redis).

Environment: BENCH_SIZES ("500,5000"), BENCH_ROUNDS, BENCH_PAGE_SECONDS, BENCH_ANALYZE,
BENCH_CHECKIN_WEEKS (see bench/pages.py), BENCH_AUTOSAVE_SECONDS (see bench/autosave.py),
BENCH_REDIS_URL, BENCH_REPORT_ROUNDS, BENCH_REPORT_SECONDS, BENCH_REPORT_COUPLES (see
bench/reports.py), BENCH_QUICK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROOT = OUT.parent.parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
RATIO_TARGET = 1.5
SEARCH_RATIO_TARGET = 3.0
THROUGHPUT_TARGET = 8.0


def sizes() -> list[int]:
    default = "60,300" if QUICK else "500,5000"
    return [int(size) for size in os.environ.get("BENCH_SIZES", default).split(",")]


def postgres_url(base: str, size: int) -> str:
    """`<base>_<size>`, created on the server when it is missing."""
    import psycopg

    head, _, name = base.rpartition("/")
    name = f"{name.split('?')[0]}_{size}"
    admin = head.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return f"{head}/{name}"


def run_size(size: int, url: str | None) -> dict:
    env = dict(os.environ)
    env.pop("BENCH_DATABASE_URL", None)  # the database is named on the command line
    if QUICK:
        env.setdefault("BENCH_ROUNDS", "5")
        env.setdefault("BENCH_PAGE_SECONDS", "2")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        log = Path(folder) / "stderr.txt"
        command = [sys.executable, "-m", "bench.pages", "--couples", str(size), "--json", str(out)]
        command += ["--profile-all"]
        if url:
            command += ["--database", url]
        with log.open("w") as stderr:
            done = subprocess.run(command, env=env, stderr=stderr, check=False)  # noqa: S603
        if done.returncode != 0:
            sys.stderr.write(log.read_text()[-4000:])
            raise SystemExit(f"bench.pages failed at {size} couples ({url or 'sqlite'})")
        return json.loads(out.read_text())


def _ratio_target(page: str) -> float:
    return SEARCH_RATIO_TARGET if "search" in page else RATIO_TARGET


def report(results: list[dict], report_file) -> list[str]:
    """Print the table for one database; return the lines on pages that miss a target."""
    small, large = results[0], results[-1]
    database = small["database"]
    print()
    print(
        f"{database}: {small['couples']:,} and {large['couples']:,} couples, "
        f"{small.get('checkin_weeks', 0)} weeks of check-ins each "
        f"(seeded in {small['seed_seconds']:.1f} s and {large['seed_seconds']:.1f} s); "
        f"/healthz median {small['healthz']['median']:.2f} / {large['healthz']['median']:.2f} ms"
    )
    header = (
        f"{'page':<26} {'ms median':>9} {'p95':>7} {'SQL':>4} {'thr %':>6}   "
        f"{'ms median':>9} {'p95':>7} {'SQL':>4} {'thr %':>6}   {'ratio':>6}  targets"
    )
    print(f"{'':<26} {small['couples']:>20,} couples          {large['couples']:>20,} couples")
    print(header)
    print("-" * len(header))
    misses = []
    for a, b in zip(small["pages"], large["pages"], strict=True):
        ratio = b["median"] / a["median"]
        failed = []
        if ratio > _ratio_target(a["page"]):
            failed.append(f"ratio > {_ratio_target(a['page'])}")
        worst = min(a["throughput"], b["throughput"])
        if worst < THROUGHPUT_TARGET:
            failed.append(f"thr < {THROUGHPUT_TARGET:g} %")
        print(
            f"{a['page']:<26} {a['median']:9.1f} {a['p95']:7.1f} {a['statements']:4d} "
            f"{a['throughput']:6.1f}   {b['median']:9.1f} {b['p95']:7.1f} {b['statements']:4d} "
            f"{b['throughput']:6.1f}   {ratio:6.2f}  {'; '.join(failed) or 'met'}"
        )
        if failed:
            profile = b.get("profile")
            if profile:
                rest = profile["total_ms"] - profile["driver_ms"] - profile["template_ms"]
                misses.append(
                    f"{database} {b['page']} at {large['couples']:,}: one profiled request "
                    f"{profile['total_ms']:.0f} ms = SQL driver {profile['driver_ms']:.0f} ms "
                    f"+ templates {profile['template_ms']:.0f} ms (with "
                    f"{profile['statements_in_templates']} lazy statements) + other Python "
                    f"{rest:.0f} ms; {b['statements']} statements"
                )
                report_file.write(f"\n== {misses[-1]}\n")
                report_file.write("statements (count, execute ms, start), the slowest first:\n")
                for statement, count, ms in profile["statements"]:
                    report_file.write(f"  {count:4d} {ms:8.1f}  {statement}\n")
                report_file.write("\n".join(profile["functions"]) + "\n")
    if small.get("fresh") and large.get("fresh"):
        print("freshly loaded, before statistics (ANALYZE):")
        for a, b in zip(small["fresh"], large["fresh"], strict=True):
            ratio = b["median"] / a["median"]
            print(
                f"  {a['page']:<24} {a['median']:9.1f} ms at {small['couples']:,}, "
                f"{b['median']:9.1f} ms at {large['couples']:,}: ratio {ratio:.2f}"
            )
    bad = [p["page"] for r in results for p in r["pages"] if p["status"] != 200]
    if bad:
        print(f"(pages that did not answer 200: {', '.join(sorted(set(bad)))})")
    return misses


def main() -> int:
    OUT.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report_path = OUT / f"profiles-{stamp}.txt"
    started = time.perf_counter()
    print(
        f"bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, sizes {sizes()}"
        f"{' (quick)' if QUICK else ''}; requests through Flask's test client in-process"
    )
    base = os.environ.get("BENCH_DATABASE_URL", "")
    databases: list[tuple[str, object]] = [("sqlite", None)]
    if base.startswith(("postgres://", "postgresql")):
        databases.append(("postgresql", base))
    all_misses: list[str] = []
    with report_path.open("w") as report_file:
        for name, url in databases:
            results = []
            for size in sizes():
                print(f"  {name}: {size:,} couples ...", flush=True)
                results.append(run_size(size, postgres_url(url, size) if url else None))
            (OUT / f"{name}-{stamp}.json").write_text(json.dumps(results))
            all_misses += report(results, report_file)
    if all_misses:
        shown = report_path.relative_to(ROOT) if report_path.is_relative_to(ROOT) else report_path
        print(f"\nWhere the time goes, for pages that miss a target (full profiles in {shown}):")
        for line in all_misses:
            print(f"  {line}")
    print(f"\npages: {time.perf_counter() - started:.0f} s")
    if len(databases) > 1:
        from bench import autosave

        autosave.main(["--database", postgres_url(base, sizes()[0])])
    from bench import reports

    reports.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())

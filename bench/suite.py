"""Every benchmark in ``bench/``, one table: ``make bench`` (``BENCH_ARGS=--quick``: short runs).

Runs ``python -m bench.<name> [--quick]`` for each benchmark in turn (a subprocess each, so one
failing or running out of memory cannot take the others down), then reads the JSON each writes
under ``bench/results/`` and puts their comparisons in one shape: a workload, our figure, the
peer's (or the limit's) figure measured in the same run, and the ratio. Writes
``bench/results/latest.json`` and ``bench/results/latest.md``. The exit status is 1 if any
benchmark failed; the rows of the others are still written.

Every ratio reads the same way: above 1, ours is ahead (faster, or cheaper in gas); below 1 the
peer is. The API rows compare a workload with the same server's no-op endpoint, so there the
ratio is the share of the no-op's throughput the workload keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import RESULTS, format_figure, format_ratio


@dataclass(frozen=True, slots=True)
class Row:
    """One comparison: our figure and the peer's for the same work, in the same run."""

    bench: str
    workload: str
    ours: float | None
    peer: float | None
    units: str  # of ``ours`` (and of ``peer`` unless ``peer_units`` says otherwise)
    peer_name: str
    higher_is_better: bool = True
    note: str = ""
    peer_units: str = ""

    @property
    def ratio(self) -> float | None:
        """Above 1 when ours is ahead: ours ÷ peer, or peer ÷ ours for costs and latencies."""
        if self.ours is None or self.peer is None or self.ours <= 0 or self.peer <= 0:
            return None
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours


Payload = dict[str, Any]
Extractor = Callable[[Payload], list[Row]]


# --- one extractor per benchmark: its JSON → rows --------------------------------------------


def ledger_rows(payload: Payload) -> list[Row]:
    """Ledger transfers per second (SQLite and PostgreSQL) next to pgbench's simple update."""
    pgbench = payload.get("pgbench") or {}
    rows = []
    for r in payload.get("results", []):
        per_txn = r["transfers"] // max(r["transactions"], 1)
        shape = "1 per txn" if r["workload"] == "single" else f"{per_txn:,}/submit"
        rows.append(
            Row(
                "ledger",
                f"{r['database']}, {shape}",
                r["transfers_per_second"],
                pgbench.get("tps"),
                "transfers/s",
                "pgbench -N, 1 client",
                note=pgbench.get("note", "") if pgbench.get("tps") is None else "",
                peer_units="TPS",
            )
        )
    return rows


def engine_rows(payload: Payload) -> list[Row]:
    """Replay against backtrader, GOOG SMA cross against backtesting.py."""
    rows = []
    replay = payload.get("replay")
    if replay:
        peer = replay["backtrader"]
        for run in replay["ours"]:
            rows.append(
                Row(
                    "engine",
                    f"replay {run['members']:,} members × {run['bars']} bars: {run['label']}",
                    run["member_bars_per_second"],
                    peer["member_bars_per_second"],
                    "member·bars/s",
                    "backtrader, one Cerebro per member",
                    note=(
                        f"backtrader timed on {peer['members_run']:,} members, scaled"
                        if peer["members_run"] != peer["members"]
                        else ""
                    ),
                )
            )
    goog = payload.get("goog")
    if goog:
        peer, *_, ours = goog  # backtesting.py README run first, ours last
        rows.append(
            Row(
                "engine",
                "SMA cross (10, 20) on GOOG daily",
                ours["bars_per_second"],
                peer["bars_per_second"],
                "bars/s",
                "backtesting.py SmaCross",
            )
        )
    return rows


def engine_mtm_rows(payload: Payload) -> list[Row]:
    """Mark-to-market of many portfolios per tick: numpy against a plain-Python loop."""
    return [
        Row(
            "engine",
            f"mark-to-market {r['portfolios']:,} portfolios: {r['workload']}",
            r["numpy_portfolio_ticks_per_second"],
            r["peer_portfolio_ticks_per_second"],
            "portfolio·ticks/s",
            "plain Python, per holding",
        )
        for r in payload.get("results", [])
    ]


def leaderboard_rows(payload: Payload) -> list[Row]:
    """Our standings against a Redis sorted set doing the same work."""
    rows = []
    for r in payload.get("results", []):
        per_op = r["unit"] == "ms"  # time per operation: lower is better

        def figure(seconds: float | None, r: Payload = r, per_op: bool = per_op) -> float | None:
            if seconds is None:
                return None
            return 1000 * seconds / r["operations"] if per_op else r["operations"] / seconds

        rows.append(
            Row(
                "leaderboard",
                r["workload"],
                figure(r["ours_seconds"]),
                figure(r["redis_seconds"]),
                "ms" if per_op else "lookups/s",
                "Redis sorted set, redis-py",
                higher_is_better=not per_op,
                note="" if r["redis_seconds"] is not None else "Redis not reachable",
            )
        )
    return rows


def anchoring_rows(payload: Payload) -> list[Row]:
    """Gas per certificate anchored in batches against each anchored alone."""
    gas = payload.get("gas", [])
    alone = next((g for g in gas if g["batch_size"] == 1), None)
    return [
        Row(
            "anchoring",
            f"gas per certificate, batches of {g['batch_size']:,}",
            g["gas_per_certificate"],
            None if alone is None else alone["gas_per_certificate"],
            "gas",
            "each certificate anchored alone",
            higher_is_better=False,
        )
        for g in gas
        if g["batch_size"] != 1
    ]


def api_rows(payload: Payload) -> list[Row]:
    """API throughput per workload against the same server's no-op endpoint."""
    results = payload.get("results", [])
    noop = next((r for r in results if r["workload"] == "no-op"), None)
    return [
        Row(
            "api",
            f"{r['workload']}: {r['request']}",
            r["requests_per_second"],
            None if noop is None else noop["requests_per_second"],
            "req/s",
            "GET /healthz, same server",
            note=f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
            + (
                f", server CPU {r['server_cpu_ms_per_request']:.1f} ms/req"
                if "server_cpu_ms_per_request" in r
                else ""
            ),
        )
        for r in results
        if r is not noop
    ] + [
        Row(
            "api",
            f"{r['workload']}: {workers} workers vs 1",
            r["requests_per_second"],
            r["one_worker_requests_per_second"],
            "req/s",
            "the same server with 1 worker",
        )
        for workers in [payload.get("plan", {}).get("workers", "N")]
        for r in payload.get("scaling", [])
    ]


def intraday_rows(payload: Payload) -> list[Row]:
    """One minute tick against the daily tick of the same venue, in the same run."""
    r = payload.get("results")
    if not r:
        return []
    plan = payload.get("plan", {})
    return [
        Row(
            "intraday",
            f"minute tick, {plan.get('accounts', 0):,} accounts × {plan.get('symbols', 0)} "
            "symbols (match, mark, rank)",
            r["minute_tick_seconds"] * 1e3,
            r["daily_tick_seconds"] * 1e3,
            "ms",
            "the daily tick of the same venue",
            higher_is_better=False,
            note=f"minute ÷ daily = {r['ratio_minute_to_daily']:.2f}",
        )
    ]


def push_latency_rows(payload: Payload) -> list[Row]:
    """Quote-to-push latency p50 and p99 with the wake-up on commit against the poll alone,
    per database."""
    results = {(r["database"], r["mode"]): r for r in payload.get("results", [])}
    plan = payload.get("plan", {})
    every = plan.get("poll_seconds", "?")
    rows = []
    for database in dict.fromkeys(db for db, _ in results):
        wake, poll = results.get((database, "wake-up")), results.get((database, "poll only"))
        if wake is None:
            continue
        for key in ("p50", "p99"):
            rows.append(
                Row(
                    "push_latency",
                    f"quote → order.fill push {key}, {plan.get('members', 0)} streams, {database}",
                    wake[f"{key}_ms"],
                    None if poll is None else poll[f"{key}_ms"],
                    "ms",
                    f"poll only, every {every} s",
                    higher_is_better=False,
                    note=f"of it tick {wake['tick_ms_median']:.0f} ms, store "
                    f"{wake['store_ms_median']:.0f} ms; "
                    f"push alone p50 {wake['push_p50_ms']:.0f} ms",
                )
            )
    return rows


@dataclass(frozen=True, slots=True)
class Bench:
    """A benchmark module and the result files its rows come from."""

    name: str
    sources: tuple[tuple[str, Extractor], ...]  # (file under bench/results, extractor)


BENCHES = (
    Bench("ledger", (("ledger.json", ledger_rows),)),
    Bench("engine", (("engine.json", engine_rows), ("engine_mtm.json", engine_mtm_rows))),
    Bench("leaderboard", (("leaderboard.json", leaderboard_rows),)),
    Bench("anchoring", (("anchoring.json", anchoring_rows),)),
    Bench("api", (("api.json", api_rows),)),
    Bench("intraday", (("intraday.json", intraday_rows),)),
    Bench("push_latency", (("push_latency.json", push_latency_rows),)),
)


# --- shaping ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one benchmark's run went."""

    name: str
    command: str
    exit_status: int
    wall_seconds: float
    note: str = ""  # e.g. a results file that was not written by this run


def markdown_table(rows: Sequence[Row]) -> str:
    """The suite's table: one line per comparison."""
    header = ("bench", "workload", "ours", "peer or limit, same run", "ratio", "notes")
    cells = [
        (
            row.bench,
            row.workload,
            format_figure(row.ours, row.units),
            f"{format_figure(row.peer, row.peer_units or row.units)} ({row.peer_name})",
            format_ratio(row.ratio),
            row.note,
        )
        for row in rows
    ]
    return harness.markdown(header, cells, align="llrrrl")


def markdown_report(
    rows: Sequence[Row], outcomes: Sequence[Outcome], *, quick: bool, date: str
) -> str:
    """``latest.md``: the table, what ran, and how to run it again."""
    runs = [
        f"- `{o.command}`: "
        + ("ok" if o.exit_status == 0 else f"FAILED (exit status {o.exit_status})")
        + f", {o.wall_seconds:,.0f} s"
        + (f"; {o.note}" if o.note else "")
        for o in outcomes
    ]
    return "\n".join(
        [
            f"# Benchmarks, {'quick' if quick else 'full'} run, {date}",
            "",
            markdown_table(rows),
            "",
            "Ratio above 1: ours is ahead (faster; for gas, cheaper). API rows: the workload's "
            "requests per second as a share of the same server's no-op endpoint.",
            "",
            f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{platform.platform()}.",
            "",
            *runs,
            "",
            f"Reproduce: `make bench{' BENCH_ARGS=--quick' if quick else ''}`; details per "
            "benchmark in `bench/README.md` and `bench/results/<name>.json`.",
            "",
        ]
    )


def results_payload(
    rows: Sequence[Row], outcomes: Sequence[Outcome], *, quick: bool, date: str
) -> dict[str, object]:
    """``latest.json``: every row (with its ratio) and every run's outcome."""
    return {
        "date": date,
        "quick": quick,
        "machine": harness.machine_info(),
        "benches": [asdict(o) for o in outcomes],
        "rows": [asdict(row) | {"ratio": row.ratio} for row in rows],
    }


def collect(bench: Bench, results: Path, *, since: float) -> tuple[list[Row], str]:
    """Rows from ``bench``'s result files written at or after ``since`` (a timestamp), and a
    note naming any file that is missing or left from an earlier run."""
    rows: list[Row] = []
    missing = []
    for filename, extract in bench.sources:
        path = results / filename
        if not path.exists() or path.stat().st_mtime < since:
            missing.append(filename)
            continue
        payload = json.loads(path.read_text())
        if payload.get("skipped"):
            missing.append(f"{filename} (skipped: {payload['skipped']})")
        rows += extract(payload)
    return rows, ("not written by this run: " + ", ".join(missing)) if missing else ""


# --- the run --------------------------------------------------------------------------------------


def run_bench(bench: Bench, *, quick: bool) -> Outcome:
    command = [sys.executable, "-m", f"bench.{bench.name}", *(["--quick"] if quick else [])]
    shown = f"python -m bench.{bench.name}" + (" --quick" if quick else "")
    print(f"\n=== {shown}\n", flush=True)
    started = time.perf_counter()
    status = subprocess.run(command, check=False).returncode
    return Outcome(bench.name, shown, status, round(time.perf_counter() - started, 1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = harness.parser("suite", __doc__, quick="every benchmark's short run", output=False)
    names = [b.name for b in BENCHES]
    parser.add_argument(
        "--only", action="append", choices=names, help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--skip", action="append", choices=names, default=[], help="leave this one out"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="results directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only)]
    chosen = [b for b in chosen if b.name not in args.skip]
    rows: list[Row] = []
    outcomes = []
    for bench in chosen:
        since = time.time() - 1
        outcome = run_bench(bench, quick=args.quick)
        found, note = collect(bench, args.results, since=since)
        outcomes.append(Outcome(**(asdict(outcome) | {"note": note})))
        rows += found
    date = harness.now()
    args.results.mkdir(parents=True, exist_ok=True)
    report = markdown_report(rows, outcomes, quick=args.quick, date=date)
    (args.results / "latest.md").write_text(report)
    payload = results_payload(rows, outcomes, quick=args.quick, date=date)
    harness.write_results(args.results / "latest.json", payload)
    print("\n" + report)
    print(f"written: {args.results / 'latest.md'}, {args.results / 'latest.json'}")
    return 1 if any(o.exit_status != 0 for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Ledger throughput through the real service path, next to pgbench on the same server.

Two workloads, each on a freshly migrated database (a temporary SQLite file and a temporary
PostgreSQL database): one grant per transaction (``ledger.services.transfer``) and linked
batches of grants (``ledger.services.submit``). The peer figure is pgbench's built-in
simple-update transaction (``pgbench -N``, one client) on the same PostgreSQL server. Every
ledger is checked with ``ledger.services.verify`` afterwards. See ``bench/README.md``.

Run with ``make bench`` or ``python -m bench.ledger [--quick] [--postgres-url URL]``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import sqlalchemy
from sqlalchemy import make_url

from bench import harness
from bench.harness import BenchFailure, postgres_database
from core import migrations
from core.db import Database, postgres_admin_connection
from ledger.model import ISSUANCE, POINTS, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork, submit, transfer, verify

PGBENCH_MISSING = (
    "pgbench not found (not on PATH, none under /usr/lib/postgresql/*/bin); "
    "it ships with the PostgreSQL server packages"
)
MEMBERS = 100  # grants rotate over member:1:points … member:100:points


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    single_transfers: int  # workload (a): one transfer per transaction
    batches: int  # workload (b): linked submit calls …
    batch_size: int  # … of this many transfers each
    warmup_transfers: int  # untimed single transfers before each workload
    pgbench_seconds: int  # duration of the pgbench run


FULL = Plan(
    single_transfers=2000, batches=20, batch_size=1000, warmup_transfers=50, pgbench_seconds=10
)
QUICK = Plan(
    single_transfers=300, batches=3, batch_size=1000, warmup_transfers=20, pgbench_seconds=3
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed workload on one database."""

    database: str  # "sqlite" or "postgresql"
    workload: str  # "single" or "batch"
    transactions: int
    transfers: int
    seconds: float

    @property
    def transactions_per_second(self) -> float:
        return self.transactions / self.seconds

    @property
    def transfers_per_second(self) -> float:
        return self.transfers / self.seconds


@dataclass(frozen=True, slots=True)
class Peer:
    """pgbench's simple-update figure, or why there is none."""

    tps: float | None
    latency_ms: float | None
    command: str
    note: str = ""


# --- the ledger workloads -------------------------------------------------------------------


def grants(prefix: str, count: int) -> list[TransferRequest]:
    """``count`` grants of 1-100 points from issuance to members, ids ``{prefix}:{n}``."""
    return [
        TransferRequest(
            id=f"{prefix}:{n}",
            debit=ISSUANCE,
            credit=points_account(1 + n % MEMBERS),
            asset=POINTS,
            amount=1 + n % 100,
            reason="grant",
        )
        for n in range(count)
    ]


def one_per_transaction(uow: LedgerUnitOfWork, plan: Plan) -> tuple[int, int, float]:
    """Workload (a): each grant in its own ``transfer`` call. Returns (txns, transfers, s)."""
    requests = grants("single", plan.single_transfers)
    seconds = harness.timed(lambda: [transfer(uow, request) for request in requests])
    return len(requests), len(requests), seconds


def linked_batches(uow: LedgerUnitOfWork, plan: Plan) -> tuple[int, int, float]:
    """Workload (b): grants in linked ``submit`` groups. Returns (txns, transfers, s)."""
    batches = [grants(f"batch:{b}", plan.batch_size) for b in range(plan.batches)]
    seconds = harness.timed(lambda: [submit(uow, batch) for batch in batches])
    return len(batches), len(batches) * plan.batch_size, seconds


Workload = Callable[[LedgerUnitOfWork, Plan], tuple[int, int, float]]
WORKLOADS: dict[str, Workload] = {"single": one_per_transaction, "batch": linked_batches}


def measure(database: str, url: str, workload: str, plan: Plan) -> Measurement:
    """Migrate the empty database at ``url``, warm up, time ``workload``, then verify."""
    db = Database.connect(url)
    try:
        migrations.upgrade(db.engine)
        uow = LedgerUnitOfWork(db.sessions)
        for request in grants("warmup", plan.warmup_transfers):
            transfer(uow, request)
        transactions, transfers, seconds = WORKLOADS[workload](uow, plan)
        verify_or_fail(uow, expected=plan.warmup_transfers + transfers, label=database)
    finally:
        db.dispose()
    return Measurement(database, workload, transactions, transfers, seconds)


def verify_or_fail(uow: LedgerUnitOfWork, *, expected: int, label: str) -> None:
    """Raise ``BenchFailure`` unless the ledger verifies and holds ``expected`` transfers."""
    report = verify(uow)
    if not report.ok:
        raise BenchFailure(f"{label} ledger failed to verify: " + "; ".join(report.errors[:5]))
    if report.transfers != expected:
        raise BenchFailure(f"{label} ledger holds {report.transfers} transfers, not {expected}")


# --- temporary databases --------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    """The URL of an empty SQLite file in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pl_bench_") as root:
        yield f"sqlite:///{Path(root) / 'ledger.db'}"


def postgres_settings(server_url: str) -> dict[str, str]:
    """Server version and the durability settings that shape both figures."""
    names = ("server_version", "fsync", "synchronous_commit", "shared_buffers")
    with postgres_admin_connection(server_url) as conn:
        return {name: _show(conn, name) for name in names}


def _show(conn: psycopg.Connection, setting: str) -> str:
    row = conn.execute(f"SHOW {setting}").fetchone()
    return "?" if row is None else str(row[0])


# --- the peer: pgbench ----------------------------------------------------------------------


def find_pgbench() -> str | None:
    """The pgbench executable: on PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), key=_major_version)
    return candidates[-1] if candidates else None


def _major_version(path: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", path)
    return int(match.group(1)) if match else 0


def pgbench_peer(server_url: str, seconds: int) -> Peer:
    """Run pgbench's simple-update workload (-N, one client) in its own temporary database."""
    run_args = ["-N", "-c", "1", "-j", "1", "-T", str(seconds)]
    command = "pgbench " + " ".join(run_args)
    executable = find_pgbench()
    if executable is None:
        return Peer(None, None, command, PGBENCH_MISSING)
    print(f"  {command} …", flush=True)
    with postgres_database(server_url, "pgbench") as url:
        connection = _pgbench_connection(url)
        env = _pgbench_env(url)
        init = _run([executable, "-i", "-s", "1", "-q", *connection], env)
        if init.returncode != 0:
            return Peer(None, None, command, f"pgbench -i failed: {_last_line(init.stderr)}")
        run = _run([executable, *run_args, *connection], env)
    if run.returncode != 0:
        return Peer(None, None, command, f"pgbench failed: {_last_line(run.stderr)}")
    return parse_pgbench(run.stdout, command)


def parse_pgbench(output: str, command: str) -> Peer:
    """The ``tps = …`` and ``latency average = … ms`` figures of pgbench's report."""
    tps = re.search(r"^tps = ([0-9.]+)", output, re.MULTILINE)
    latency = re.search(r"^latency average = ([0-9.]+) ms", output, re.MULTILINE)
    if tps is None:
        return Peer(None, None, command, "no 'tps = ' line in pgbench output")
    return Peer(float(tps.group(1)), float(latency.group(1)) if latency else None, command)


def _pgbench_connection(url: str) -> list[str]:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    if parsed.username:
        args += ["-U", parsed.username]
    return [*args, parsed.database or ""]


def _pgbench_env(url: str) -> dict[str, str]:
    password = make_url(url).password
    return os.environ | ({"PGPASSWORD": str(password)} if password else {})


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


# --- reporting ------------------------------------------------------------------------------


def table(measurements: list[Measurement], peer: Peer) -> str:
    """The results table: ledger figures against pgbench simple-update TPS."""
    header = ("database", "workload", "ledger txn/s", "transfers/s", "pgbench TPS", "ratio")
    return harness.text_table(header, [_row(m, peer) for m in measurements], text_columns=2)


def _row(m: Measurement, peer: Peer) -> tuple[str, ...]:
    workload = "1 per txn" if m.workload == "single" else f"{m.transfers // m.transactions}/submit"
    return (
        m.database,
        workload,
        f"{m.transactions_per_second:,.1f}",
        f"{m.transfers_per_second:,.0f}",
        "n/a" if peer.tps is None else f"{peer.tps:,.0f}",
        harness.format_ratio(None if peer.tps is None else m.transfers_per_second / peer.tps),
    )


def results_payload(
    measurements: list[Measurement],
    peer: Peer,
    *,
    plan: Plan,
    quick: bool,
    postgres: dict[str, str] | str,
    cpu_busy_before: float | None,
    wall_seconds: float,
) -> dict[str, object]:
    """Everything worth keeping from a run, JSON-ready."""
    machine = harness.machine_info(
        sqlite=sqlite3.sqlite_version,
        sqlalchemy=sqlalchemy.__version__,
        psycopg=psycopg.__version__,
    )
    return harness.payload_head(
        quick=quick, plan=plan, machine=machine, cpu_busy_before=cpu_busy_before
    ) | {
        "postgresql": postgres,
        "pgbench": asdict(peer),
        "results": [
            asdict(m)
            | {
                "transactions_per_second": round(m.transactions_per_second, 2),
                "transfers_per_second": round(m.transfers_per_second, 2),
                "ratio_to_pgbench_tps": None
                if peer.tps is None
                else round(m.transfers_per_second / peer.tps, 4),
            }
            for m in measurements
        ],
        "wall_seconds": round(wall_seconds, 1),
    }


# --- the run --------------------------------------------------------------------------------


def run_sqlite(plan: Plan) -> list[Measurement]:
    results = []
    for workload in WORKLOADS:
        with sqlite_database() as url:
            results.append(measure("sqlite", url, workload, plan))
            _progress(results[-1])
    return results


def run_postgres(server_url: str, plan: Plan) -> list[Measurement]:
    results = []
    for workload in WORKLOADS:
        with postgres_database(server_url, workload) as url:
            results.append(measure("postgresql", url, workload, plan))
            _progress(results[-1])
    return results


def _progress(m: Measurement) -> None:
    print(f"  {m.database} {m.workload}: {m.transfers} transfers in {m.seconds:.2f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser("ledger", __doc__)
    parser.add_argument(
        "--postgres-url",
        default=harness.DEFAULT_POSTGRES_URL,
        help="server to use (default: $PAPERLEAGUE_TEST_POSTGRES_URL or the local server)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    bench_run = harness.Run.begin("ledger", plan, quick=args.quick)
    try:
        measurements = run_sqlite(plan)
        unavailable = harness.postgres_unavailable(args.postgres_url)
        if unavailable is None:
            postgres: dict[str, str] | str = postgres_settings(args.postgres_url)
            measurements += run_postgres(args.postgres_url, plan)
            peer = pgbench_peer(args.postgres_url, plan.pgbench_seconds)
        else:
            postgres = unavailable
            peer = Peer(None, None, "pgbench -N", "skipped: " + unavailable)
            print(f"\nWARNING: {unavailable}; PostgreSQL rows and pgbench skipped", flush=True)
    except BenchFailure as failure:
        return harness.failed(failure)
    wall = bench_run.wall_seconds
    print()
    print(table(measurements, peer))
    print(_footer(peer, postgres))
    payload = results_payload(
        measurements,
        peer,
        plan=plan,
        quick=bench_run.quick,
        postgres=postgres,
        cpu_busy_before=bench_run.cpu_busy_before,
        wall_seconds=wall,
    )
    return bench_run.finish(args.output, payload)


def _footer(peer: Peer, postgres: dict[str, str] | str) -> str:
    if peer.tps is None:
        return f"\npgbench: n/a ({peer.note})"
    latency = f", latency {peer.latency_ms:.3f} ms" if peer.latency_ms is not None else ""
    settings = (
        f"PostgreSQL {postgres['server_version']}, fsync={postgres['fsync']}, "
        f"synchronous_commit={postgres['synchronous_commit']}"
        if isinstance(postgres, dict)
        else postgres
    )
    return (
        f"\npgbench: `{peer.command}` = {peer.tps:,.1f} TPS{latency} ({settings})\n"
        "ratio = ledger transfers/s / pgbench TPS; for '1 per txn' that is ledger transaction"
        " vs pgbench transaction.\nThe SQLite rows compare against the PostgreSQL peer only as"
        " a yardstick (SQLite runs synchronous=NORMAL: no fsync per commit)."
    )


if __name__ == "__main__":
    sys.exit(main())

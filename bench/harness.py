"""What every benchmark in ``bench/`` shares: the command line (``--quick``, ``--output``), the
run's header and busy-machine warning, timers, figures and ratios as printed, the machine
description and the results JSON under ``bench/results/``, and PostgreSQL scratch databases.

A benchmark reads as::

    args = harness.parser("ledger", __doc__).parse_args(argv)
    run = harness.Run.begin("ledger", plan, quick=args.quick)
    try:
        measurements = ...
    except harness.BenchFailure as failure:
        return harness.failed(failure)
    ...
    return run.finish(args.output, payload)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from sqlalchemy import make_url

from core.db import postgres_admin_connection

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_POSTGRES_URL = os.environ.get(
    "PAPERLEAGUE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BUSY_WARNING = 0.2  # share of the CPUs busy before a run above which its figures are suspect

T = TypeVar("T")
Item = TypeVar("Item")


class BenchFailure(Exception):
    """The benchmark cannot give a trustworthy figure: the sides disagree, a ledger does not
    verify, a piece was not anchored, the server answered 5xx …"""


# --- the command line -----------------------------------------------------------------------


def results_path(name: str) -> Path:
    """Where benchmark ``name`` writes its results: ``bench/results/<name>.json``."""
    return RESULTS / f"{name}.json"


def parser(
    name: str,
    description: str | None,
    *,
    quick: str = "a smaller run (a few seconds)",
    output: bool = True,
) -> argparse.ArgumentParser:
    """``python -m bench.<name>`` with ``--quick`` (help text ``quick``) and, unless ``output``
    is false, ``--output`` defaulting to ``bench/results/<name>.json``."""
    made = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    made.add_argument("--quick", action="store_true", help=quick)
    if output:
        made.add_argument(
            "--output", type=Path, default=results_path(name), help="results JSON file"
        )
    return made


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """One benchmark run: whether it is the short one, when it started (``perf_counter``), and
    the share of the CPUs that were busy just before it (``None`` off Linux)."""

    quick: bool
    started: float
    cpu_busy_before: float | None

    @classmethod
    def begin(cls, name: str, plan: object, *, quick: bool) -> Run:
        """Print ``<name> bench (quick|full): <plan>``, then measure how busy the machine is."""
        started = time.perf_counter()
        print(f"{name} bench ({'quick' if quick else 'full'}): {plan}", flush=True)
        return cls(quick, started, warn_if_busy())

    @property
    def wall_seconds(self) -> float:
        """Seconds since the run began."""
        return time.perf_counter() - self.started

    def finish(self, path: Path, payload: Mapping[str, object]) -> int:
        """Write ``payload`` to ``path``, say so with the wall time; exit status 0."""
        write_results(path, payload)
        print(f"\nwall time {self.wall_seconds:.1f} s; results written to {path}")
        return 0


def failed(failure: BenchFailure) -> int:
    """Report a failed benchmark on stderr; exit status 1."""
    print(f"\nBENCH FAILED: {failure}", file=sys.stderr)
    return 1


def warn_if_busy() -> float | None:
    """Single-client figures need a quiet machine; say so when it is not. Returns busy share."""
    busy = cpu_busy()
    if busy is not None and busy > BUSY_WARNING:
        print(f"  WARNING: the CPUs are {busy:.0%} busy before the run; the figures will be skewed")
    return busy


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The share (0-1) of all CPUs' time spent busy over ``seconds``, from /proc/stat."""
    first, second = cpu_times(), None
    if first is not None:
        time.sleep(seconds)
        second = cpu_times()
    if first is None or second is None or second[1] == first[1]:
        return None
    return 1 - (second[0] - first[0]) / (second[1] - first[1])


def cpu_times() -> tuple[int, int] | None:
    """(idle + iowait, total) jiffies of all CPUs so far, or ``None`` off Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields[:8])


# --- timers ---------------------------------------------------------------------------------


def timed(action: Callable[[], object], repeats: int = 1) -> float:
    """Total seconds of ``repeats`` calls of ``action``."""
    started = time.perf_counter()
    for _ in range(repeats):
        action()
    return time.perf_counter() - started


def median_timed(action: Callable[[], T], repeats: int) -> tuple[T, float]:
    """The last result of ``action`` and the median seconds of ``repeats`` (at least 1) calls."""
    started = time.perf_counter()
    result = action()
    times = [time.perf_counter() - started]
    for _ in range(repeats - 1):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def seconds_each(action: Callable[[Item], object], items: Iterable[Item]) -> list[float]:
    """Seconds of ``action(item)`` for each of ``items``, in order (e.g. one tick each)."""
    seconds = []
    for item in items:
        started = time.perf_counter()
        action(item)
        seconds.append(time.perf_counter() - started)
    return seconds


# --- figures as printed ---------------------------------------------------------------------


def format_figure(value: float | None, units: str) -> str:
    """A figure with its units, to about three significant digits."""
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        number = f"{value:,.0f}"
    elif abs(value) >= 10:
        number = f"{value:,.1f}"
    else:
        number = f"{value:,.2f}"
    return f"{number} {units}"


def format_ratio(ratio: float | None) -> str:
    """A ratio as the tables show it: ``n/a``, ``0.39×``, ``16.00×``, ``1,000×``."""
    if ratio is None:
        return "n/a"
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:,.2f}×"


def markdown(
    header: Sequence[str], rows: Iterable[Iterable[str]], *, align: str | None = None
) -> str:
    """A Markdown table. ``align`` has an ``l`` (text) or ``r`` (figure) per column; by default
    the first column is text and the others figures."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} does not have one letter per column of {header}")
    rule = "|".join("--:" if a == "r" else "---" for a in align)
    lines = ["| " + " | ".join(header) + " |", "|" + rule + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(
    header: tuple[str, ...], rows: Iterable[tuple[str, ...]], *, text_columns: int = 0
) -> str:
    """A plain-text table under a dashed rule: the first ``text_columns`` columns
    left-aligned, the others right-aligned."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- results --------------------------------------------------------------------------------


def machine_info(**versions: object) -> dict[str, object]:
    """What the figures ran on: CPUs, Python, platform, then ``versions`` (library → version)."""
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    } | versions


def now() -> str:
    """The run's date as results record it (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def payload_head(
    *,
    quick: bool,
    plan: DataclassInstance,
    machine: dict[str, object],
    cpu_busy_before: float | None,
) -> dict[str, Any]:
    """The keys every results file starts with: date, quick, plan, machine, cpu_busy_before."""
    return {
        "date": now(),
        "quick": quick,
        "plan": asdict(plan),
        "machine": machine,
        "cpu_busy_before": None if cpu_busy_before is None else round(cpu_busy_before, 3),
    }


def write_results(path: Path, payload: Mapping[str, object]) -> None:
    """``payload`` as indented JSON at ``path`` (its directory made if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


# --- PostgreSQL scratch databases -----------------------------------------------------------


@contextmanager
def postgres_database(server_url: str, suffix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database ``pl_bench_<random>_<suffix>``, dropped after."""
    name = f"pl_bench_{uuid.uuid4().hex[:10]}_{suffix}"
    with postgres_admin_connection(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with postgres_admin_connection(server_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_unavailable(server_url: str) -> str | None:
    """Why the PostgreSQL server cannot be used, or ``None`` when it can."""
    try:
        with postgres_admin_connection(server_url):
            return None
    except psycopg.Error as exc:
        safe = make_url(server_url).render_as_string(hide_password=True)
        return f"PostgreSQL not reachable at {safe}: {exc}".strip()

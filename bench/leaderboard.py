"""Leaderboard ticks and lookups, next to a Redis sorted set on the local server.

Workloads (see ``bench/README.md``), each measured on both sides in the same run:

- a tick for 100,000 entries: vectorized mark-to-market and ``engine.contests.ranking.rank``,
  against the same mark-to-market followed by a pipelined ZADD of every new score;
- a re-rank of 1,000,000 entries against a pipelined ZADD of 1,000,000 new scores;
- on 1,000,000 entries, the same member ids looked up on both sides: rank lookups one call at a
  time (``Standings.rank_of`` / ZREVRANK), around-me one call at a time (``Standings.around`` /
  ZREVRANK + ZREVRANGE) and rank lookups in batches (``Standings.positions_of`` / a pipeline of
  ZREVRANKs).

Run with ``python -m bench.leaderboard [--quick] [--redis-url URL]``. The Redis side uses a
dedicated key that is deleted afterwards; without a reachable Redis it is skipped with the
reason printed and the ratio column reads ``n/a``.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import redis

from bench import harness
from bench.harness import BenchFailure, timed
from engine.contests.ranking import Standings, advance_reached_at, rank
from engine.trading.stats import FloatArray
from engine.trading.valuation import BoolArray, IntArray, mark_to_market

DEFAULT_REDIS_URL = os.environ.get("PAPERLEAGUE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SEED = 20240601


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    tick_entries: int  # entries marked and re-ranked per tick
    instruments: int  # the universe every portfolio is marked against
    ticks: int  # timed ticks per side (after one untimed warm-up tick)
    board_entries: int  # entries of the large board (re-rank and lookups)
    reranks: int  # timed re-ranks / full ZADDs of the large board per side
    lookups: int  # single lookups per side (rank and around-me each)
    batch: int  # members per batched lookup (one positions_of call / one pipeline)
    batched_lookups: int  # members looked up in batches per side
    around_k: int  # rows above and below in around-me
    zadd_chunk: int  # members per ZADD command inside a pipeline


FULL = Plan(
    tick_entries=100_000,
    instruments=20,
    ticks=10,
    board_entries=1_000_000,
    reranks=2,
    lookups=20_000,
    batch=10_000,
    batched_lookups=100_000,
    around_k=5,
    zadd_chunk=10_000,
)
QUICK = Plan(
    tick_entries=10_000,
    instruments=20,
    ticks=5,
    board_entries=100_000,
    reranks=1,
    lookups=2_000,
    batch=1_000,
    batched_lookups=10_000,
    around_k=5,
    zadd_chunk=10_000,
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One workload on both sides: total seconds for ``operations``; Redis None when skipped."""

    workload: str
    unit: str  # "ms" (time per operation, lower is better) or "ops/s"
    operations: int  # operations timed on each side
    ours_seconds: float  # total seconds for ``operations``
    redis_seconds: float | None

    def figure(self, seconds: float) -> str:
        if self.unit == "ms":
            return f"{1000 * seconds / self.operations:,.1f} ms"
        return f"{self.operations / seconds:,.0f}/s"

    @property
    def speedup(self) -> float | None:
        """Redis time ÷ our time for the same work: above 1 when we are faster."""
        return None if self.redis_seconds is None else self.redis_seconds / self.ours_seconds


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Book:
    """Synthetic portfolios: cash, dense positions, marks that walk one step per tick."""

    member_ids: IntArray
    cash: FloatArray
    positions: FloatArray  # (n, instruments)
    start_equity: FloatArray
    qualified: BoolArray

    @classmethod
    def random(cls, entries: int, instruments: int, rng: np.random.Generator) -> Book:
        prices = rng.uniform(5, 500, instruments)
        held = rng.random((entries, instruments)) < 0.3
        positions = (rng.integers(1, 200, (entries, instruments)) * held).astype(np.float64)
        cash = rng.uniform(0, 100_000, entries)
        return cls(
            member_ids=rng.permutation(entries).astype(np.int64) + 1,
            cash=cash,
            positions=positions,
            start_equity=mark_to_market(cash, positions, prices),
            qualified=rng.random(entries) < 0.95,
        )

    def total_return(self, prices: FloatArray) -> FloatArray:
        """The ranking metric: equity at ``prices`` over the starting equity, minus 1."""
        return mark_to_market(self.cash, self.positions, prices) / self.start_equity - 1


def price_path(instruments: int, ticks: int, rng: np.random.Generator) -> list[FloatArray]:
    """``ticks`` price vectors, each a ~1 % random step from the one before."""
    prices = rng.uniform(5, 500, instruments)
    path = []
    for _ in range(ticks):
        prices = prices * np.exp(rng.normal(0, 0.01, instruments))
        path.append(prices)
    return path


def board_metrics(entries: int, rng: np.random.Generator) -> tuple[IntArray, FloatArray]:
    """Member ids and distinct float metrics for the large board."""
    return rng.permutation(entries).astype(np.int64) + 1, rng.normal(0.0, 0.1, entries)


# --- our side --------------------------------------------------------------------------------


def our_ticks(book: Book, path: Sequence[FloatArray]) -> tuple[float, float]:
    """Time mark-to-market + re-rank per tick after the first (a warm-up); returns (total s,
    of which mark-to-market s)."""
    previous = np.full(book.member_ids.size, np.nan)
    reached = np.zeros(book.member_ids.size, dtype=np.int64)
    total = marking = 0.0
    for tick, prices in enumerate(path):
        started = time.perf_counter()
        metric = book.total_return(prices)
        marked = time.perf_counter()
        reached = advance_reached_at(previous, reached, metric, tick=tick)
        rank(book.member_ids, metric, reached_at=reached, qualified=book.qualified)
        finished = time.perf_counter()
        if tick > 0:  # tick 0 is the warm-up
            total += finished - started
            marking += marked - started
        previous = metric
    return total, marking


def our_lookups(standings: Standings, members: list[int]) -> float:
    return timed(lambda: [standings.rank_of(member) for member in members])


def our_arounds(standings: Standings, members: list[int], k: int) -> float:
    return timed(lambda: [standings.around(member, k) for member in members])


def our_batches(standings: Standings, batches: list[IntArray]) -> float:
    return timed(lambda: [standings.ranks[standings.positions_of(batch) - 1] for batch in batches])


# --- Redis side ------------------------------------------------------------------------------


def connect(url: str) -> tuple[redis.Redis | None, str]:
    """A client and the server version, or ``None`` and why Redis cannot be used."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=120)
    try:
        info: Any = client.info("server")
    except redis.RedisError as exc:
        return None, f"Redis not reachable at {url}: {exc}"
    return client, str(info.get("redis_version", "?"))


@contextmanager
def dedicated_key(client: redis.Redis) -> Iterator[str]:
    """A fresh key for the sorted set, deleted afterwards whatever happens."""
    key = f"paperleague:bench:leaderboard:{uuid.uuid4().hex}"
    try:
        yield key
    finally:
        client.delete(key)


def zadd_all(
    client: redis.Redis, key: str, members: IntArray, scores: FloatArray, chunk: int
) -> None:
    """Every (member, score) in one pipeline of ZADD commands of ``chunk`` members each."""
    pipe = client.pipeline(transaction=False)
    ids, values = members.tolist(), scores.tolist()
    for start in range(0, len(ids), chunk):
        pipe.zadd(
            key, dict(zip(ids[start : start + chunk], values[start : start + chunk], strict=True))
        )
    pipe.execute()


def redis_ticks(
    client: redis.Redis, key: str, book: Book, path: Sequence[FloatArray], chunk: int
) -> float:
    """The same mark-to-market, then ZADD of every new score (qualified entries only)."""
    members = book.member_ids[book.qualified]
    total = 0.0
    for tick, prices in enumerate(path):
        started = time.perf_counter()
        metric = book.total_return(prices)
        zadd_all(client, key, members, metric[book.qualified], chunk)
        if tick > 0:
            total += time.perf_counter() - started
    return total


def redis_lookups(client: redis.Redis, key: str, members: list[int]) -> float:
    return timed(lambda: [client.zrevrank(key, member) for member in members])


def redis_arounds(client: redis.Redis, key: str, members: list[int], k: int) -> float:
    def around(member: int) -> Any:
        place: Any = client.zrevrank(key, member)
        return client.zrevrange(key, max(place - k, 0), place + k, withscores=True)

    return timed(lambda: [around(member) for member in members])


def redis_batches(client: redis.Redis, key: str, batches: list[IntArray]) -> float:
    def lookup(batch: IntArray) -> Any:
        pipe = client.pipeline(transaction=False)
        for member in batch.tolist():
            pipe.zrevrank(key, member)
        return pipe.execute()

    return timed(lambda: [lookup(batch) for batch in batches])


def check_agreement(client: redis.Redis, key: str, standings: Standings, sample: list[int]) -> None:
    """With distinct scores both sides must order alike: ZREVRANK = our position - 1."""
    pipe = client.pipeline(transaction=False)
    for member in sample:
        pipe.zrevrank(key, member)
    theirs: list[Any] = pipe.execute()
    ours = (standings.positions_of(sample) - 1).tolist()
    wrong = [m for m, a, b in zip(sample, ours, theirs, strict=True) if a != b]
    if wrong:
        raise BenchFailure(f"Redis and we disagree on the place of members {wrong[:5]}")


# --- the run ---------------------------------------------------------------------------------


def run(plan: Plan, client: redis.Redis | None) -> tuple[list[Measurement], dict[str, float]]:
    rng = np.random.default_rng(SEED)
    extra: dict[str, float] = {}
    results = []

    # (a) ticks
    book = Book.random(plan.tick_entries, plan.instruments, rng)
    path = price_path(plan.instruments, plan.ticks + 1, rng)
    ours, marking = our_ticks(book, path)
    extra["tick_mark_to_market_ms"] = 1000 * marking / plan.ticks
    theirs = None
    if client is not None:
        with dedicated_key(client) as key:
            theirs = redis_ticks(client, key, book, path, plan.zadd_chunk)
    results.append(
        Measurement(
            f"tick: mark-to-market + re-rank, {plan.tick_entries:,} entries",
            "ms",
            plan.ticks,
            ours,
            theirs,
        )
    )
    _progress(results[-1])

    # (b) the large board
    members, metric = board_metrics(plan.board_entries, rng)
    standings = rank(members, metric)
    new_metric = metric + rng.normal(0, 0.01, metric.size)
    ours = timed(lambda: rank(members, new_metric), plan.reranks)
    sample = rng.choice(members, size=plan.lookups).tolist()
    batches = [
        rng.choice(members, size=plan.batch) for _ in range(plan.batched_lookups // plan.batch)
    ]
    timings: dict[str, float | None] = dict.fromkeys(("rerank", "rank", "around", "batch"))
    if client is not None:
        with dedicated_key(client) as key:
            extra["redis_initial_zadd_s"] = timed(
                lambda: zadd_all(client, key, members, metric, plan.zadd_chunk)
            )
            check_agreement(client, key, standings, sample[:1000])
            timings["rank"] = redis_lookups(client, key, sample)
            timings["around"] = redis_arounds(client, key, sample, plan.around_k)
            timings["batch"] = redis_batches(client, key, batches)
            timings["rerank"] = timed(
                lambda: zadd_all(client, key, members, new_metric, plan.zadd_chunk), plan.reranks
            )
    entries = f"{plan.board_entries:,} entries"
    results += [
        Measurement(f"re-rank {entries}", "ms", plan.reranks, ours, timings["rerank"]),
        Measurement(
            f"rank lookup, 1 per call, {entries}",
            "ops/s",
            plan.lookups,
            our_lookups(standings, sample),
            timings["rank"],
        ),
        Measurement(
            f"around-me (k={plan.around_k}), 1 per call, {entries}",
            "ops/s",
            plan.lookups,
            our_arounds(standings, sample, plan.around_k),
            timings["around"],
        ),
        Measurement(
            f"rank lookup, batches of {plan.batch:,}, {entries}",
            "ops/s",
            plan.batched_lookups,
            our_batches(standings, batches),
            timings["batch"],
        ),
    ]
    for measurement in results[1:]:
        _progress(measurement)
    return results, extra


def table(measurements: list[Measurement]) -> str:
    """The Markdown results table: workload, our figure, Redis's, and the speed ratio."""
    header = ("workload", "ours", "Redis sorted set, same run", "ratio")
    rows = [
        (
            m.workload,
            m.figure(m.ours_seconds),
            "n/a" if m.redis_seconds is None else m.figure(m.redis_seconds),
            harness.format_ratio(m.speedup),
        )
        for m in measurements
    ]
    return harness.markdown(header, rows)


def results_payload(
    measurements: list[Measurement],
    extra: dict[str, float],
    *,
    plan: Plan,
    quick: bool,
    redis_server: str,
    cpu_busy_before: float | None,
    wall_seconds: float,
) -> dict[str, object]:
    """Everything worth keeping from a run, JSON-ready."""
    machine = harness.machine_info(numpy=np.__version__, redis_py=redis.__version__)
    return harness.payload_head(
        quick=quick, plan=plan, machine=machine, cpu_busy_before=cpu_busy_before
    ) | {
        "redis_server": redis_server,
        "results": [
            asdict(m)
            | {
                "ours": m.figure(m.ours_seconds),
                "redis": None if m.redis_seconds is None else m.figure(m.redis_seconds),
                "ratio_redis_time_over_ours": None if m.speedup is None else round(m.speedup, 3),
            }
            for m in measurements
        ],
        "details": {name: round(value, 4) for name, value in extra.items()},
        "wall_seconds": round(wall_seconds, 1),
    }


def _progress(m: Measurement) -> None:
    theirs = "skipped" if m.redis_seconds is None else m.figure(m.redis_seconds)
    print(f"  {m.workload}: ours {m.figure(m.ours_seconds)}, Redis {theirs}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser("leaderboard", __doc__)
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help="Redis to compare with (default: $PAPERLEAGUE_BENCH_REDIS_URL or the local server)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    bench_run = harness.Run.begin("leaderboard", plan, quick=args.quick)
    client, redis_server = connect(args.redis_url)
    if client is None:
        print(f"\nWARNING: {redis_server}; the Redis side is skipped", flush=True)
    try:
        measurements, extra = run(plan, client)
    except BenchFailure as failure:
        return harness.failed(failure)
    finally:
        if client is not None:
            client.close()
    wall = bench_run.wall_seconds
    print()
    print(table(measurements))
    server = f"Redis {redis_server}" if client is not None else "Redis skipped"
    print(
        f"\nmark-to-market alone: {extra['tick_mark_to_market_ms']:.1f} ms per tick (both sides)."
        f" {server}; ratio = Redis time ÷ our time for the same work (above 1: we are faster)."
    )
    payload = results_payload(
        measurements,
        extra,
        plan=plan,
        quick=bench_run.quick,
        redis_server=redis_server,
        cpu_busy_before=bench_run.cpu_busy_before,
        wall_seconds=wall,
    )
    return bench_run.finish(args.output, payload)


if __name__ == "__main__":
    sys.exit(main())

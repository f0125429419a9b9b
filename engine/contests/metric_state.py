"""The running state behind a contest's leaderboard, kept between clock ticks.

A ``MetricState`` holds, per entry (aligned with its account ids): the ``RunningStats`` of its
equity curve, its fill counts (trades, round trips, wins, active days), the benchmark close its
excess return starts from, and the previous tick's metric and ``reached_at``. It is stored as one
``np.savez`` blob in ``MetricStateRow`` after every tick, so the next tick is O(entries). When the
stored state is missing, stale or does not cover the accounts, ``rebuild_metric_state`` derives
it from the stored facts (equity marks, fills, the previous snapshot); ``check_metric_state``
proves the stored one equals that derivation.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.contests.spec import MetricKind, MetricSpec, Qualification, TeamSettings
from engine.trading.stats import FloatArray
from engine.trading.store import ContestRow, EntryAccount
from engine.trading.valuation import IntArray, RunningStats

if TYPE_CHECKING:
    from engine.uow import EngineUnitOfWork

COUNTS = ("trades", "round_trips", "wins", "active_days")


@dataclass(frozen=True, slots=True)
class Game:
    """What ranking needs of a contest's settings."""

    metric: MetricSpec
    secondary: str | None
    qualification: Qualification
    teams: TeamSettings | None
    one_account_per_person: bool = False  # Qualification.applies_one_account_per_person

    @classmethod
    def of(cls, contest: ContestRow) -> Game:
        qualification = Qualification.from_json(contest.qualification)
        return cls(
            MetricSpec.from_json(contest.metric),
            contest.secondary_metric,
            qualification,
            TeamSettings.from_json(contest.team_settings),
            qualification.applies_one_account_per_person(prized=bool(contest.prizes)),
        )

    @property
    def benchmark(self) -> str | None:
        wanted = self.metric.needs_benchmark or self.secondary == "excess_return"
        return self.metric.benchmark if wanted else None

    def base_metrics(self) -> set[str]:
        """The base metrics the primary and secondary metrics are built from."""
        if self.metric.kind is MetricKind.COMPOSITE:
            names = set(self.metric.weights)
        else:
            names = {self.metric.kind.value}
        return names | ({self.secondary} if self.secondary else set())


# --- the state kept between ticks -------------------------------------------------------------


@dataclass(slots=True, eq=False)
class MetricState:
    """The contest's running state after ``tick``; every array is aligned with ``account_ids``."""

    tick: int
    account_ids: IntArray
    member_ids: IntArray
    stats: RunningStats
    counts: dict[str, IntArray]  # COUNTS: fills up to and including the tick's day
    benchmark_base: FloatArray  # the close each entry's excess return starts from (NaN: none)
    metric: FloatArray  # the tick's rounded primary metric (NaN: none)
    reached_at: IntArray
    benchmark_last: float  # the benchmark close at ``tick`` (NaN: none)

    def to_bytes(self) -> bytes:
        arrays: dict[str, Any] = {f"stats.{k}": v for k, v in self.stats.to_state().items()}
        arrays.update({f"count.{k}": v for k, v in self.counts.items()})
        arrays.update(
            tick=np.asarray(self.tick),
            account_ids=self.account_ids,
            member_ids=self.member_ids,
            benchmark_base=self.benchmark_base,
            metric=self.metric,
            reached_at=self.reached_at,
            benchmark_last=np.asarray(self.benchmark_last),
        )
        return pack_arrays(arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> MetricState:
        arrays = unpack_arrays(data)
        return cls(
            tick=int(arrays["tick"]),
            account_ids=arrays["account_ids"],
            member_ids=arrays["member_ids"],
            stats=RunningStats.from_state(
                {k.removeprefix("stats."): v for k, v in arrays.items() if k.startswith("stats.")}
            ),
            counts={name: arrays[f"count.{name}"] for name in COUNTS},
            benchmark_base=arrays["benchmark_base"],
            metric=arrays["metric"],
            reached_at=arrays["reached_at"],
            benchmark_last=float(arrays["benchmark_last"]),
        )

    def advance(
        self,
        tick: int,
        equity: FloatArray,
        fills: Mapping[str, IntArray],
        *,
        benchmark_close: float,
    ) -> None:
        """Record ``tick``: every entry's equity (aligned), its fill counts of the day, and the
        benchmark's close (the base of entries that had none yet)."""
        self.stats.update(equity)
        for name in COUNTS:
            self.counts[name] = self.counts[name] + fills[name]
        if not np.isnan(benchmark_close):
            missing = np.isnan(self.benchmark_base)
            self.benchmark_base = np.where(missing, benchmark_close, self.benchmark_base)
        self.tick, self.benchmark_last = tick, benchmark_close

    def take(self, order: IntArray) -> MetricState:
        """The entries at ``order``, in that order."""
        return MetricState(
            self.tick,
            self.account_ids[order],
            self.member_ids[order],
            self.stats.take(order),
            {name: values[order] for name, values in self.counts.items()},
            self.benchmark_base[order],
            self.metric[order],
            self.reached_at[order],
            self.benchmark_last,
        )

    def aligned(self, accounts: Sequence[EntryAccount]) -> MetricState | None:
        """This book in the order of ``accounts``, entries that joined since added (starting at
        their starting cash); ``None`` when a known account is missing (rebuild instead)."""
        ids = np.fromiter((a.id for a in accounts), dtype=np.int64, count=len(accounts))
        by_id = np.argsort(self.account_ids)
        known_sorted = self.account_ids[by_id]
        slot = np.minimum(np.searchsorted(known_sorted, ids), max(known_sorted.size - 1, 0))
        found = known_sorted[slot] == ids if known_sorted.size else np.zeros(ids.size, bool)
        if int(found.sum()) != self.account_ids.size:
            return None
        joined = [a for a, old in zip(accounts, found.tolist(), strict=True) if not old]
        grown = self.grown(joined)
        order = np.empty(ids.size, dtype=np.int64)
        order[found] = by_id[slot[found]]
        order[~found] = self.account_ids.size + np.arange(len(joined))
        return grown.take(order)

    def grown(self, joined: Sequence[EntryAccount]) -> MetricState:
        """This book with ``joined`` appended: each starts at its starting cash, is first
        measured at the next tick and measures its excess return from the close at ``tick``."""
        k = len(joined)
        if k == 0:
            return self
        stats = self.stats.take(np.arange(len(self.stats)))
        stats.grow(k, start_equity=np.array([float(a.starting_cash) for a in joined]))
        return MetricState(
            self.tick,
            np.concatenate((self.account_ids, [a.id for a in joined])).astype(np.int64),
            np.concatenate((self.member_ids, [a.member_id for a in joined])).astype(np.int64),
            stats,
            {n: np.concatenate((v, np.zeros(k, np.int64))) for n, v in self.counts.items()},
            np.concatenate((self.benchmark_base, np.full(k, self.benchmark_last))),
            np.concatenate((self.metric, np.full(k, np.nan))),
            np.concatenate((self.reached_at, np.full(k, self.tick + 1, np.int64))),
            self.benchmark_last,
        )


# A stored book: MAGIC, the header's length (4 bytes, little-endian), the header (JSON: name,
# dtype, shape of each array) and the arrays' bytes one after another. Reading it is a view per
# array, where ``np.savez`` (a zip archive) cost more than the rest of a tick's ranking.
MAGIC = b"PLBOOK1\n"


def pack_arrays(arrays: Mapping[str, Any]) -> bytes:
    """Named numpy arrays as one blob (see MAGIC)."""
    values = {name: np.asarray(value) for name, value in arrays.items()}
    header = json.dumps(
        [[name, v.dtype.str, list(v.shape)] for name, v in values.items()], separators=(",", ":")
    ).encode()
    return b"".join(
        [MAGIC, len(header).to_bytes(4, "little"), header, *(v.tobytes() for v in values.values())]
    )


def unpack_arrays(data: bytes) -> dict[str, Any]:
    """The arrays of ``pack_arrays`` (copies); a blob ``np.savez`` wrote is read too."""
    if not data.startswith(MAGIC):
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    start = len(MAGIC) + 4
    end = start + int.from_bytes(data[len(MAGIC) : start], "little")
    arrays: dict[str, Any] = {}
    offset = end
    for name, dtype, shape in json.loads(data[start:end]):
        kind = np.dtype(dtype)
        count = int(np.prod(shape)) if shape else 1
        flat = np.frombuffer(data, dtype=kind, count=count, offset=offset)
        arrays[name] = flat.reshape(tuple(shape)).copy()
        offset += count * kind.itemsize
    return arrays


def empty_metric_state(tick: int = 0) -> MetricState:
    return MetricState(
        tick,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        RunningStats(),
        {name: np.zeros(0, np.int64) for name in COUNTS},
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, np.int64),
        np.nan,
    )


def load_metric_state(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    day: date,
    accounts: Sequence[EntryAccount],
    *,
    game: Game,
) -> MetricState:
    """The state after the previous tick aligned with ``accounts``: the stored one when it is
    that tick's, else rebuilt from the equity curves, fills and the previous snapshot."""
    previous = contest.clock_ticks - 1
    stored = uow.standings.metric_state(contest.id)
    if stored is not None and stored[0] == previous:
        aligned = MetricState.from_bytes(stored[1]).aligned(accounts)
        if aligned is not None:
            return aligned
    return rebuild_metric_state(uow, contest, accounts, tick=previous, day=day, game=game)


def rebuild_metric_state(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    accounts: Sequence[EntryAccount],
    *,
    tick: int,
    day: date,
    game: Game,
) -> MetricState:
    """The state after ``tick`` (the last tick before ``day``) derived from stored facts only:
    equity marks, fills and the tick's snapshot. Slow (reads every mark); the reference the
    incremental state must equal."""
    book = empty_metric_state(tick).grown(accounts)
    index = {a.id: i for i, a in enumerate(accounts)}
    revealed = _revealed_days(uow, contest, day - timedelta(days=1))
    tick_of = {d: i + 1 for i, d in enumerate(revealed)}
    first_tick = np.full(len(accounts), tick + 1, dtype=np.int64)  # not marked yet
    marks = [m for m in uow.standings.equity_before(contest.id, day) if m[1] in index]
    for marked_on, group in groupby(marks, key=itemgetter(0)):
        rows = list(group)
        idx = np.array([index[a] for _, a, _ in rows], dtype=np.int64)
        first_tick[idx] = np.minimum(first_tick[idx], tick_of.get(marked_on, tick + 1))
        _update_some(book.stats, idx, np.array([float(e) for _, _, e in rows]))
    for counts in uow.standings.fill_counts(contest.id, first=None, last=day - timedelta(days=1)):
        if counts.account_id not in index:
            continue
        for name in COUNTS:
            book.counts[name][index[counts.account_id]] = getattr(counts, name)
    _rebuild_benchmark(uow, game.benchmark, book, revealed, first_tick)
    before = uow.standings.marks(contest.id, tick)
    for i, member in enumerate(book.member_ids.tolist()):
        if member in before:
            metric, reached = before[member]
            book.metric[i] = np.nan if metric is None else float(metric)
            book.reached_at[i] = reached
    return book


def _update_some(stats: RunningStats, idx: IntArray, equity: FloatArray) -> None:
    """``stats.update`` for the portfolios at ``idx`` only (the others were not marked)."""
    if idx.size == len(stats) and np.array_equal(idx, np.arange(len(stats))):
        stats.update(equity)
        return
    part = stats.take(idx)
    part.update(equity)
    for name, values in part.to_state().items():
        if values.ndim:  # the settings are 0-d
            getattr(stats, name)[idx] = values


def _rebuild_benchmark(
    uow: EngineUnitOfWork,
    benchmark: str | None,
    book: MetricState,
    revealed: Sequence[date],
    first_tick: IntArray,
) -> None:
    if benchmark is None or not revealed:
        return
    closes = np.array([benchmark_close(uow, benchmark, d) for d in revealed])
    base_tick = np.clip(first_tick - 1, 1, len(revealed))  # the close before the first mark
    book.benchmark_base = closes[base_tick - 1]
    book.benchmark_last = float(closes[-1])


def _revealed_days(uow: EngineUnitOfWork, contest: ContestRow, last: date) -> list[date]:
    """The days the clock revealed up to ``last``: tick k is the k-th of them."""
    if last < contest.trading_start:
        return []
    return uow.market.trading_days(contest.universe, contest.trading_start, last)


def benchmark_close(uow: EngineUnitOfWork, symbol: str | None, day: date) -> float:
    """The benchmark's close on ``day`` or, if it did not trade, its last before (NaN: none)."""
    if symbol is None:
        return np.nan
    bar = uow.market.bars_on(day, [symbol]).get(symbol)
    close = bar.close if bar is not None else uow.market.previous_close(symbol, day)
    return np.nan if close is None else float(close)


def check_metric_state(uow: EngineUnitOfWork, contest_id: int) -> list[str]:
    """Differences between the stored state and one rebuilt from the stored facts (empty when
    they agree): the check that the incremental statistics equal their derivation. Call it in
    an open transaction."""
    contest = uow.trading.contest(contest_id)
    stored = uow.standings.metric_state(contest_id)
    if contest is None or stored is None or contest.clock_day is None:
        return []
    book = MetricState.from_bytes(stored[1])
    known = set(book.account_ids.tolist())
    accounts = [a for a in uow.trading.accounts(contest_id) if a.id in known]
    mine = book.aligned(accounts)
    if mine is None or mine.tick != contest.clock_ticks:
        return [f"stored state is for tick {book.tick}, the clock is at {contest.clock_ticks}"]
    rebuilt = rebuild_metric_state(
        uow,
        contest,
        accounts,
        tick=contest.clock_ticks,
        day=contest.clock_day + timedelta(days=1),
        game=Game.of(contest),
    )
    pairs = [
        *((f"count.{n}", mine.counts[n], rebuilt.counts[n]) for n in COUNTS),
        *((f"stats.{n}", v, rebuilt.stats.to_state()[n]) for n, v in mine.stats.to_state().items()),
        ("metric", mine.metric, rebuilt.metric),
        ("reached_at", mine.reached_at, rebuilt.reached_at),
        ("benchmark_base", mine.benchmark_base, rebuilt.benchmark_base),
    ]
    return [
        f"{name}: stored and rebuilt differ"
        for name, ours, theirs in pairs
        if not np.allclose(ours, theirs, rtol=1e-9, atol=1e-12, equal_nan=True)
    ]

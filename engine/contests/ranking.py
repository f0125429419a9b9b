"""Leaderboard ranking: one tick's metrics in, a total order with competition ranks out.

Pure numpy over the entry axis (length ``n``); the contest services store and serve the result.

**Order.** Ranked entries come first, then unranked ones, each part ordered by the tie-break
chain: primary metric descending, secondary metric descending, ``reached_at`` ascending (the
tick at which the entry first reached its current primary value: earliest wins), member id
ascending. Member ids are unique, so the order is total: the same inputs give the same order on
every run and every machine, and ``Standings.from_rows(s.to_rows())`` reproduces it exactly.
NaN sorts after every number (a missing secondary metric is the lowest one).

**Ranked.** An entry is ranked when it is qualified and has a primary metric (not NaN). The
others are listed after all ranked entries with rank ``None``.

**Ranks** are competition ranks (1, 2, 2, 4): rank = 1 + the number of ranked entries strictly
better, where *better* means a higher primary metric, or an equal primary and a higher
secondary metric. Entries equal in both metrics are *tied* and share a rank. ``reached_at`` and
the member id only order tied entries (for display and stable paging) and never split them:
the member id is arbitrary, and reaching a value one tick earlier is an ordering courtesy, not a
better score. A prize cut-off therefore never separates tied members (see ``prize_recipients``).

**Positions** are 1-based places in the total order (1 … n); ``position ≥ rank`` for ranked
entries. A page cursor is a position.

**Lookups.** ``Standings`` keeps the member ids sorted once per tick (one ``argsort``, O(n log
n) in C); ``position_of`` / ``rank_of`` / ``around`` are then a binary search
(``np.searchsorted``, O(log n)) plus O(1) array reads, and ``positions_of`` does the same for an
array of members at once. A dict would answer in O(1) but costs ~2.5× longer to build per tick
for a million entries, and the lookups are already a few microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from engine.trading.stats import FloatArray
from engine.trading.valuation import IntArray

MemberId = int
UNRANKED = 0  # the rank stored for unranked entries in Standings.ranks


class Placing(NamedTuple):
    """One leaderboard row; also the snapshot row stored per tick."""

    position: int  # 1 … n, the place in the total order
    member_id: MemberId
    rank: int | None  # competition rank; None when unranked
    metric: float | None  # primary metric; None when missing


# --- ranking ---------------------------------------------------------------------------------


def rank(
    member_ids: npt.ArrayLike,
    metric: npt.ArrayLike,
    *,
    secondary: npt.ArrayLike | None = None,
    reached_at: npt.ArrayLike | None = None,
    qualified: npt.ArrayLike | None = None,
) -> Standings:
    """The standings of ``n`` entries: the total order and competition ranks described above.

    ``member_ids`` (int64, unique), ``metric`` and ``secondary`` (float64, higher is better,
    NaN = no value), ``reached_at`` (int64 tick index) and ``qualified`` (bool) are aligned
    ``(n,)`` arrays; ``secondary`` defaults to all-equal, ``reached_at`` to all-equal (0) and
    ``qualified`` to all-true. Raises ``ValueError`` on bad shapes or duplicate member ids.
    """
    ids = as_vector(member_ids, np.int64, "member_ids")
    n = ids.size
    primary = as_vector(metric, np.float64, "metric", n)
    second = None if secondary is None else as_vector(secondary, np.float64, "secondary", n)
    reached = None if reached_at is None else as_vector(reached_at, np.int64, "reached_at", n)
    eligible = (
        np.ones(n, dtype=bool) if qualified is None else as_vector(qualified, bool, "qualified", n)
    )
    rankable = eligible & ~np.isnan(primary)
    by_id = _sorted_by_id(ids)
    tail = _tail_key(by_id, reached)
    ranked = _chain_order(np.flatnonzero(rankable), primary, second, tail)
    order = np.concatenate((ranked, _chain_order(np.flatnonzero(~rankable), primary, second, tail)))
    ranks = np.zeros(n, dtype=np.int64)
    ranks[: ranked.size] = _competition_ranks(
        primary[ranked], None if second is None else second[ranked]
    )
    place = np.empty(n, dtype=np.int64)
    place[order] = np.arange(n)
    return Standings(ids[order], ranks, primary[order], index=(ids[by_id], place[by_id]))


def as_vector(
    values: npt.ArrayLike, dtype: type, name: str, size: int | None = None
) -> npt.NDArray:
    array = np.asarray(values)
    if array.ndim != 1 or (size is not None and array.size != size):
        expected = "one-dimensional" if size is None else f"of shape ({size},)"
        raise ValueError(f"{name} must be {expected}, got shape {array.shape}")
    if dtype is np.int64 and array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got {array.dtype}")
    return array.astype(dtype, copy=False)


def _sorted_by_id(member_ids: IntArray) -> IntArray:
    """The permutation that sorts ``member_ids``; ``ValueError`` on a duplicate."""
    by_id = np.argsort(member_ids)
    ordered = member_ids[by_id]
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size:
        raise ValueError(f"member ids must be unique: {np.unique(repeated)[:10].tolist()}")
    return by_id


def _tail_key(by_id: IntArray, reached_at: IntArray | None) -> IntArray:
    """One int64 key ordering entries by (``reached_at`` asc, member id asc): one sort pass
    instead of two. ``reached_at`` is shifted to start at 0 (or replaced by its dense rank when
    its span times n would overflow int64), times n, plus the member id's rank (0 … n-1)."""
    n = by_id.size
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[by_id] = np.arange(n)
    if reached_at is None or n == 0:
        return id_rank
    low, high = int(reached_at.min()), int(reached_at.max())
    if (high - low + 1) * n < 2**63:
        shifted = reached_at - low
    else:
        shifted = np.unique(reached_at, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return shifted * n + id_rank


def _chain_order(
    idx: IntArray, metric: FloatArray, secondary: FloatArray | None, tail: IntArray
) -> IntArray:
    """``idx`` sorted by the tie-break chain (``tail`` from ``_tail_key``).

    One argsort on the primary metric, then ``np.lexsort`` over the rest of the chain only for
    the entries in runs of equal primary (often few): the order of a lexsort of every key, in
    a fraction of the time. Any sort algorithm serves for the first pass because every tie it
    leaves is resolved by the chain, which ends in the unique member id.
    """
    key = -metric[idx]  # descending; NaN stays NaN and sorts last
    first_pass = np.argsort(key)
    order, key = idx[first_pass], key[first_pass]
    same = (key[1:] == key[:-1]) | (np.isnan(key[1:]) & np.isnan(key[:-1]))
    if not same.any():
        return order
    in_run = np.zeros(order.size, dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    slots = np.flatnonzero(in_run)  # runs are contiguous, so each run keeps its slots
    run = np.cumsum(np.concatenate(([True], ~same)))[slots]
    members = order[slots]
    keys: list[npt.NDArray[np.generic]] = [tail[members]]
    if secondary is not None:
        keys.append(-secondary[members])
    keys.append(run)
    order[slots] = members[np.lexsort(keys)]
    return order


def _competition_ranks(metric: FloatArray, secondary: FloatArray | None) -> IntArray:
    """Ranks of ranked entries already in order: a new rank where either metric changes."""
    n = metric.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(n, dtype=bool)
    starts[1:] = metric[1:] != metric[:-1]
    if secondary is not None:
        same = (secondary[1:] == secondary[:-1]) | (
            np.isnan(secondary[1:]) & np.isnan(secondary[:-1])
        )
        starts[1:] |= ~same
    first_of_group = np.where(starts, np.arange(n, dtype=np.int64), 0)
    return np.maximum.accumulate(first_of_group) + 1


def advance_reached_at(
    previous_metric: npt.ArrayLike,
    previous_reached_at: npt.ArrayLike,
    metric: npt.ArrayLike,
    *,
    tick: int,
) -> IntArray:
    """``reached_at`` for this tick: ``tick`` where the primary metric changed since the last
    tick (NaN counts as a value: NaN → NaN is unchanged), else the previous ``reached_at``."""
    before = as_vector(previous_metric, np.float64, "previous_metric")
    reached = as_vector(previous_reached_at, np.int64, "previous_reached_at", before.size)
    now = as_vector(metric, np.float64, "metric", before.size)
    unchanged = (now == before) | (np.isnan(now) & np.isnan(before))
    return np.where(unchanged, reached, np.int64(tick))


# --- one account per person ------------------------------------------------------------------


def second_accounts(standings: Standings, person_of: Mapping[MemberId, int]) -> IntArray:
    """Ranked members another ranked account of the same person is placed above.

    ``person_of`` maps linked member ids to their person (an unlisted member is a person of
    their own). Under the ``one_account_per_person`` rule the best-placed account of a person
    is the one that ranks (the best rank, ties broken by the total order); the ones returned
    are listed unranked instead. Empty when nobody is linked.
    """
    count = standings.ranked_count
    ids = standings.member_ids[:count]
    if not person_of or count == 0:
        return np.zeros(0, dtype=np.int64)
    persons = np.fromiter((person_of.get(m, m) for m in ids.tolist()), np.int64, count=count)
    first = np.unique(persons, return_index=True)[1]
    keep = np.zeros(count, dtype=bool)
    keep[first] = True
    return ids[~keep]


def without_ranks_of(standings: Standings, member_ids: npt.ArrayLike) -> Standings:
    """The standings with ``member_ids`` unranked: the other ranked entries keep their order
    and take competition ranks among themselves (1 + the kept entries ranked strictly better);
    the members dropped are listed right after them, in their old order, then the unranked.
    Ranking with those members unqualified gives the same ranks."""
    n, count = len(standings), standings.ranked_count
    dropped = np.isin(standings.member_ids, np.asarray(member_ids, dtype=np.int64))
    dropped[count:] = False
    if not dropped.any():
        return standings
    kept = np.flatnonzero(~dropped[:count])
    old = standings.ranks[kept]  # non-decreasing: the ranked prefix is in rank order
    ranks = np.zeros(n, dtype=np.int64)
    ranks[: kept.size] = np.searchsorted(old, old, side="left") + 1
    order = np.concatenate((kept, np.flatnonzero(dropped), np.arange(count, n)))
    return Standings(standings.member_ids[order], ranks, standings.metric[order])


# --- standings -------------------------------------------------------------------------------


class Standings:
    """One tick's leaderboard: arrays in position order plus a member index.

    ``member_ids``, ``ranks`` (``UNRANKED`` = 0 for unranked entries) and ``metric`` are
    read-only ``(n,)`` arrays indexed by position - 1; ranked entries form the prefix of length
    ``ranked_count``.
    """

    __slots__ = ("member_ids", "ranks", "metric", "ranked_count", "_sorted_ids", "_by_id")

    def __init__(
        self,
        member_ids: IntArray,
        ranks: IntArray,
        metric: FloatArray,
        *,
        index: tuple[IntArray, IntArray] | None = None,
    ) -> None:
        """Arrays in position order. ``index`` is (member ids ascending, their position - 1)
        when the caller has sorted the ids already (``rank`` has); else it is built here."""
        self.member_ids = _frozen(member_ids)
        self.ranks = _frozen(ranks)
        self.metric = _frozen(metric)
        self.ranked_count = int(np.count_nonzero(ranks != UNRANKED))
        if index is None:
            by_id = _sorted_by_id(self.member_ids)
            index = self.member_ids[by_id], by_id
        self._sorted_ids, self._by_id = _frozen(index[0]), _frozen(index[1])

    def __len__(self) -> int:
        return int(self.member_ids.size)

    def __repr__(self) -> str:
        return f"<Standings {len(self)} entries, {self.ranked_count} ranked>"

    # --- reading ---------------------------------------------------------------------------

    def placing_at(self, position: int) -> Placing:
        """The row at ``position`` (1 … n); ``IndexError`` outside."""
        if not 1 <= position <= len(self):
            raise IndexError(f"position {position} is outside 1 … {len(self)}")
        return self._placings(position - 1, position)[0]

    def top(
        self, limit: int, *, after_position: int = 0, before_position: int | None = None
    ) -> list[Placing]:
        """Up to ``limit`` rows after ``after_position`` (0 = from the top), or the last
        ``limit`` rows before ``before_position`` when given (paging backwards). Ranks are the
        global ones whichever way one pages."""
        if limit < 0:
            raise ValueError("limit must be ≥ 0")
        if before_position is not None:
            stop = min(max(before_position - 1, 0), len(self))
            return self._placings(max(stop - limit, 0), stop)
        start = min(max(after_position, 0), len(self))
        return self._placings(start, min(start + limit, len(self)))

    def positions_of(self, member_ids: npt.ArrayLike) -> IntArray:
        """Positions of many members at once (0 for members not in the standings)."""
        wanted = np.asarray(member_ids, dtype=np.int64)
        if len(self) == 0:
            return np.zeros(wanted.shape, dtype=np.int64)
        slot = np.minimum(np.searchsorted(self._sorted_ids, wanted), len(self) - 1)
        found = self._sorted_ids[slot] == wanted
        return np.where(found, self._by_id[slot] + 1, 0)

    def position_of(self, member_id: MemberId) -> int | None:
        """The member's position (1 … n), ``None`` when the member is not in the standings."""
        ids = self._sorted_ids
        slot = int(ids.searchsorted(member_id))  # the method: a third of np.searchsorted's cost
        if slot < ids.size and ids.item(slot) == member_id:
            return int(self._by_id.item(slot)) + 1
        return None

    def rank_of(self, member_id: MemberId) -> int | None:
        """The member's competition rank; ``None`` when unranked or not in the standings."""
        position = self.position_of(member_id)
        if position is None:
            return None
        found = int(self.ranks.item(position - 1))
        return None if found == UNRANKED else found

    def placing_of(self, member_id: MemberId) -> Placing | None:
        """The member's row, ``None`` when the member is not in the standings."""
        position = self.position_of(member_id)
        return None if position is None else self._placings(position - 1, position)[0]

    def around(self, member_id: MemberId, k: int) -> list[Placing]:
        """The member's row with up to ``k`` rows above and ``k`` below, clipped at the top and
        bottom (not shifted: the member near the top sees fewer rows above). Empty when the
        member is not in the standings."""
        if k < 0:
            raise ValueError("k must be ≥ 0")
        position = self.position_of(member_id)
        if position is None:
            return []
        return self._placings(max(position - 1 - k, 0), min(position + k, len(self)))

    def subset(self, member_ids: Iterable[MemberId]) -> list[Placing]:
        """The rows of these members (friends, a team) in leaderboard order with their global
        positions and ranks; members not in the standings are left out."""
        positions = self.positions_of(np.fromiter(member_ids, dtype=np.int64))
        positions = np.unique(positions[positions > 0])
        return self._rows(positions - 1)

    def percentile(self, member_id: MemberId) -> float | None:
        """Percentile rank in (0, 100]: the share of ranked entries whose score is not above
        the member's (worse or tied, the member included): ``100 · (R - rank + 1) / R`` for
        ``R`` ranked entries. The leader scores 100, tied members score alike, and the member is
        in the "top p %" band (``PercentBand.top(p)``) exactly when percentile > 100 - p.
        ``None`` when unranked or not in the standings."""
        found = self.rank_of(member_id)
        if found is None:
            return None
        return 100.0 * (self.ranked_count - found + 1) / self.ranked_count

    # --- snapshots ---------------------------------------------------------------------------

    def to_rows(self) -> list[Placing]:
        """Every row in position order, for the per-tick snapshot."""
        return self._placings(0, len(self))

    @classmethod
    def from_rows(
        cls, rows: Iterable[Placing | tuple[int, int, int | None, float | None]]
    ) -> Standings:
        """Standings rebuilt from snapshot rows in any order; the same order and ranks as the
        standings that wrote them. Raises ``ValueError`` on rows that cannot be a snapshot
        (positions not 1 … n, duplicate members, ranks out of shape)."""
        listed = sorted((Placing(*row) for row in rows), key=lambda row: row.position)
        positions = np.fromiter((row.position for row in listed), dtype=np.int64, count=len(listed))
        if not np.array_equal(positions, np.arange(1, len(listed) + 1)):
            raise ValueError("snapshot positions must be exactly 1 … n")
        standings = cls(
            np.fromiter((row.member_id for row in listed), dtype=np.int64, count=len(listed)),
            np.fromiter(
                (UNRANKED if row.rank is None else row.rank for row in listed),
                dtype=np.int64,
                count=len(listed),
            ),
            np.fromiter(
                (math.nan if row.metric is None else row.metric for row in listed),
                dtype=np.float64,
                count=len(listed),
            ),
        )
        standings.check_invariants()
        return standings

    def check_invariants(self) -> None:
        """Raise ``ValueError`` unless the arrays are standings: ranked entries first with
        non-increasing metrics and competition ranks, tied ranks only on equal metrics."""
        count = self.ranked_count
        ranks, metric = self.ranks[:count], self.metric[:count]
        positions = np.arange(1, count + 1)
        problems = {
            "unranked entry before a ranked one": np.any(self.ranks[count:] != UNRANKED),
            "ranked entry without a metric": np.any(np.isnan(metric)),
            "metric rising down the board": np.any(metric[1:] > metric[:-1]),
            "rank not a competition rank": count > 0
            and (ranks[0] != 1 or np.any((ranks[1:] != ranks[:-1]) & (ranks[1:] != positions[1:]))),
            "tied ranks with different metrics": np.any(
                (ranks[1:] == ranks[:-1]) & (metric[1:] != metric[:-1])
            ),
        }
        for problem, found in problems.items():
            if found:
                raise ValueError(f"standings broken: {problem}")

    # --- internals ---------------------------------------------------------------------------

    def _placings(self, start: int, stop: int) -> list[Placing]:
        """Rows at positions start + 1 … stop (plain slices: the cheap path of every page)."""
        window = slice(start, stop)
        return _placings(
            range(start + 1, stop + 1),
            self.member_ids[window].tolist(),
            self.ranks[window].tolist(),
            self.metric[window].tolist(),
        )

    def _rows(self, index: IntArray) -> list[Placing]:
        return _placings(
            (index + 1).tolist(),
            self.member_ids[index].tolist(),
            self.ranks[index].tolist(),
            self.metric[index].tolist(),
        )


def _placings(
    positions: Iterable[int], ids: list[int], ranks: list[int], metric: list[float]
) -> list[Placing]:
    return [
        Placing(
            position,
            member,
            None if found == UNRANKED else found,
            None if math.isnan(value) else value,
        )
        for position, member, found, value in zip(positions, ids, ranks, metric, strict=True)
    ]


def _frozen(array: npt.NDArray[np.generic]) -> npt.NDArray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array

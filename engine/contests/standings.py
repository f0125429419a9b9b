"""Leaderboards: every clock tick ranks all entries of a contest and stores a snapshot.

``record_tick`` runs inside the clock's open transaction, right after the day's equity marks,
and broadcasts the tick to the contest's members' live streams (``live_feed``: one row).
Everything is numpy over the entry axis: the contest's running state (``metric_state.MetricState``:
``RunningStats``, fill counts, benchmark bases, the previous metric) takes the day's equity in
one update, the metric and qualification are vectors, ``engine.contests.ranking.rank`` orders them,
and the snapshot goes in with one bulk insert. A tick costs O(entries + the day's fills); the
equity curves are re-read only when the stored state is missing or stale (``rebuild_metric_state``).

**Metrics** (``MetricSpec``): ``total_return`` is (equity - starting cash) / starting cash;
``excess_return`` subtracts the benchmark's return over the same span, from the benchmark close
at the last revealed day before the entry's first mark (the first day's close for entries there
from the start: nobody can trade before it); ``sharpe`` is annualized over daily returns
(NaN below two returns or with no spread, so unranked); ``composite`` is
``engine.trading.valuation.composite_score`` over the qualified entries (percentiles within the
ranked field; unqualified entries have none). ``win_rate`` is winning closing fills / closing fills,
a closing fill being one with realized P&L (as ``engine.trading.services.account_summary`` counts).

**Rounding.** Metrics are rounded to 12 decimals (the ``RATIO`` column) before ranking and
clipped to ±``RATIO_LIMIT``, so the stored value read back is exactly the ranked float.

**Teams.** With team settings, a team's score aggregates its qualified members' primary metric
(``TeamSettings.score``: mean, median or top-N mean); a team with none is listed, unranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.contests import live_feed, ranking
from engine.contests.metric_state import (
    COUNTS,
    Game,
    MetricState,
    benchmark_close,
    load_metric_state,
)
from engine.contests.ranking import UNRANKED, Standings, advance_reached_at
from engine.contests.spec import MetricKind, TeamSettings
from engine.contests.team_scores import team_scores
from engine.trading.orders import Fill
from engine.trading.stats import FloatArray
from engine.trading.store import ContestRow, EntryAccount
from engine.trading.valuation import BoolArray, IntArray, RunningStats, composite_score

if TYPE_CHECKING:
    from engine.uow import EngineUnitOfWork

RATIO_PLACES = 12
# Largest |metric| kept: its 10^-12 units stay below 2^53, exact in float64 (and in the column).
RATIO_LIMIT = (2**53 - 1) / 10**RATIO_PLACES


# --- one tick ---------------------------------------------------------------------------------


def record_tick(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    day: date,
    accounts: Sequence[EntryAccount],
    equity: Sequence[Decimal],
    *,
    fills: Sequence[Fill] | None = None,
) -> Standings | None:
    """Rank the contest after the tick ``contest.clock_ticks`` (already advanced) inside the
    clock's open transaction, store the snapshot and return what was ranked (``None`` with no
    accounts). ``equity`` is aligned with ``accounts``; ``fills`` are the day's fills when the
    caller has them (else they are counted in SQL)."""
    if not accounts:
        return None
    tick = contest.clock_ticks
    game = Game.of(contest)
    book = load_metric_state(uow, contest, day, accounts, game=game)
    benchmark_now = benchmark_close(uow, game.benchmark, day)
    book.advance(
        tick,
        np.array([float(e) for e in equity]),
        _counts_on(uow, contest.id, day, book) if fills is None else counts_of(fills, book),
        benchmark_close=benchmark_now,
    )
    measured = measure(book, game, benchmark_now)
    if contest.notes_required_for_ranking:
        measured = without_unnoted(
            measured, book.member_ids, uow.trading.members_with_unnoted_fills(contest.id)
        )
    book.reached_at = advance_reached_at(book.metric, book.reached_at, measured.metric, tick=tick)
    book.metric = measured.metric
    ranked = _rank(book, measured)
    if game.one_account_per_person:
        measured, ranked = _one_account_per_person(uow, contest.id, book, measured, ranked)
    uow.standings.add_snapshots(
        _snapshot_columns(contest.id, tick, day, book, measured, ranked, equity)
    )
    if game.teams is not None:
        teams = _team_standings(uow, contest.id, book, measured, game.teams)
        uow.standings.add_team_snapshots(_team_columns(contest.id, tick, day, teams))
    uow.standings.save_metric_state(contest.id, tick, book.to_bytes())
    live_feed.broadcast_tick(uow, contest.id, tick, day)  # the members' rank.change
    return ranked


def _rank(book: MetricState, measured: Measured) -> Standings:
    return ranking.rank(
        book.member_ids,
        measured.metric,
        secondary=measured.secondary,
        reached_at=book.reached_at,
        qualified=measured.qualified,
    )


def _one_account_per_person(
    uow: EngineUnitOfWork,
    contest_id: int,
    book: MetricState,
    measured: Measured,
    ranked: Standings,
) -> tuple[Measured, Standings]:
    """The rule ``one_account_per_person``: a person's accounts other than the best placed are
    stored unqualified (so unranked, and a rerank of the snapshot agrees) and ranked again."""
    seconds = ranking.second_accounts(ranked, uow.integrity.linked_entrants(contest_id))
    if seconds.size == 0:
        return measured, ranked
    qualified = measured.qualified & ~np.isin(book.member_ids, seconds)
    measured = replace(measured, qualified=qualified)
    return measured, _rank(book, measured)


def _counts_on(
    uow: EngineUnitOfWork, contest_id: int, day: date, book: MetricState
) -> dict[str, IntArray]:
    """Per entry of ``book``, the fills of ``day`` (the day's fills are booked by now)."""
    n = book.account_ids.size
    found = uow.standings.fill_counts(contest_id, first=day, last=day)
    today = {name: np.zeros(n, np.int64) for name in COUNTS}
    if not found:
        return today
    position = {a: i for i, a in enumerate(book.account_ids.tolist())}
    for counts in found:
        i = position.get(counts.account_id)
        if i is not None:
            for name in COUNTS:
                today[name][i] = getattr(counts, name)
    return today


def counts_of(fills: Sequence[Fill], book: MetricState) -> dict[str, IntArray]:
    """``_counts_on`` from one day's fills in hand: per entry of ``book`` its fills, those
    that realized a profit or loss, those with a profit, and the day if it had any."""
    n = book.account_ids.size
    today = {name: np.zeros(n, np.int64) for name in COUNTS}
    if not fills:
        return today
    position = {a: i for i, a in enumerate(book.account_ids.tolist())}
    for fill in fills:
        i = position.get(fill.account_id)
        if i is None:
            continue
        today["trades"][i] += 1
        today["round_trips"][i] += fill.realized_pnl != 0
        today["wins"][i] += fill.realized_pnl > 0
        today["active_days"][i] = 1
    return today


# --- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Measured:
    """One tick's vectors over the entries, all rounded to RATIO_PLACES (NaN: no value)."""

    metric: FloatArray
    secondary: FloatArray | None
    qualified: BoolArray
    total_return: FloatArray


def measure(book: MetricState, game: Game, benchmark_now: float) -> Measured:
    """Primary and secondary metric, qualification and total return of every entry."""
    counts = book.counts
    q = game.qualification
    qualified = (
        (counts["trades"] >= q.min_trades)
        & (counts["round_trips"] >= q.min_round_trips)
        & (counts["active_days"] >= q.min_active_days)
    )
    base = base_metrics(
        book.stats,
        game.base_metrics() | {"total_return"},
        round_trips=counts["round_trips"],
        wins=counts["wins"],
        benchmark_return=benchmark_now / book.benchmark_base - 1.0,
    )
    spec = game.metric
    if spec.kind is MetricKind.COMPOSITE:
        metric = np.full(qualified.size, np.nan)
        field = np.flatnonzero(qualified)
        if field.size:
            metric[field] = composite_score(
                {name: base[name][field] for name in spec.weights},
                {name: float(weight) for name, weight in spec.weights.items()},
            )
    else:
        metric = base[spec.kind.value]
    return Measured(
        metric=rounded(metric),
        secondary=None if game.secondary is None else rounded(base[game.secondary]),
        qualified=qualified,
        total_return=rounded(base["total_return"]),
    )


def without_unnoted(measured: Measured, member_ids: IntArray, unnoted: set[int]) -> Measured:
    """``measured`` with the entries of ``unnoted`` (members with a filled order that has no
    journal note, under ``notes_required_for_ranking``) not qualified: listed, unranked."""
    if not unnoted:
        return measured
    noted = ~np.isin(member_ids, np.fromiter(unnoted, dtype=np.int64))
    return replace(measured, qualified=measured.qualified & noted)


def base_metrics(
    stats: RunningStats,
    names: Iterable[str],
    *,
    round_trips: IntArray,
    wins: IntArray,
    benchmark_return: FloatArray,
) -> dict[str, FloatArray]:
    """The named ``spec.BASE_METRICS`` as vectors (NaN where undefined)."""
    found: dict[str, FloatArray] = {}
    for name in names:
        if name == "excess_return":
            found[name] = stats.total_return - benchmark_return
        elif name == "win_rate":
            with np.errstate(divide="ignore", invalid="ignore"):
                found[name] = np.where(round_trips > 0, wins / round_trips, np.nan)
        else:  # total_return, sharpe, sortino, calmar, max_drawdown
            found[name] = np.asarray(getattr(stats, name), dtype=np.float64)
    return found


def rounded(values: FloatArray) -> FloatArray:
    """``values`` clipped to ±RATIO_LIMIT and rounded to RATIO_PLACES decimals; NaN stays."""
    units = np.rint(np.clip(values, -RATIO_LIMIT, RATIO_LIMIT) * 10.0**RATIO_PLACES)
    return units / 10.0**RATIO_PLACES


def ratio_decimals(values: FloatArray) -> list[Decimal | None]:
    """Rounded ratios as the exact Decimals stored (``float(d)`` gives the value back)."""
    units = np.rint(values * 10.0**RATIO_PLACES)
    missing = np.isnan(units)
    whole = np.where(missing, 0, units).astype(np.int64)
    return [
        None if gone else Decimal(u).scaleb(-RATIO_PLACES)
        for u, gone in zip(whole.tolist(), missing.tolist(), strict=True)
    ]


# --- rows -------------------------------------------------------------------------------------


def _snapshot_columns(
    contest_id: int,
    tick: int,
    day: date,
    book: MetricState,
    measured: Measured,
    ranked: Standings,
    equity: Sequence[Decimal],
) -> dict[str, list[Any]]:
    """The tick's snapshot rows, column-wise, in the order of ``book``."""
    n = len(equity)
    position = ranked.positions_of(book.member_ids)
    ranks = ranked.ranks[position - 1]
    return {
        "contest_id": [contest_id] * n,
        "tick": [tick] * n,
        "member_id": book.member_ids.tolist(),
        "day": [day] * n,
        "position": position.tolist(),
        "rank": [None if found == UNRANKED else found for found in ranks.tolist()],
        "metric": ratio_decimals(measured.metric),
        "secondary": (
            [None] * n if measured.secondary is None else ratio_decimals(measured.secondary)
        ),
        "reached_at": book.reached_at.tolist(),
        "qualified": measured.qualified.tolist(),
        "equity": list(equity),
        "total_return": ratio_decimals(measured.total_return),
        "trades": book.counts["trades"].tolist(),
    }


@dataclass(frozen=True, slots=True, eq=False)
class TeamStandings:
    standings: Standings
    score: FloatArray  # by position - 1
    counted: IntArray  # by position - 1


def _team_standings(
    uow: EngineUnitOfWork,
    contest_id: int,
    book: MetricState,
    measured: Measured,
    settings: TeamSettings,
) -> TeamStandings:
    team_of = uow.contests.memberships(contest_id)
    all_teams = uow.standings.team_ids(contest_id)
    members = book.member_ids.tolist()
    in_team = np.array([m in team_of for m in members], dtype=bool)
    metric = np.where(measured.qualified, measured.metric, np.nan)[in_team]
    team = np.array([team_of[m] for m, inside in zip(members, in_team, strict=True) if inside])
    # every team appears once more with no metric, so a team without entries is listed too
    metric = np.concatenate((metric, np.full(len(all_teams), np.nan)))
    team = np.concatenate((team.astype(np.int64), np.array(all_teams, dtype=np.int64)))
    scores = team_scores(metric, team, how=settings.score, n=settings.top_n)
    score = rounded(scores.score)
    ranked = ranking.rank(scores.team_ids, score)
    position = ranked.positions_of(scores.team_ids)
    order = np.argsort(position)
    return TeamStandings(ranked, score[order], scores.counted[order])


def _team_columns(
    contest_id: int, tick: int, day: date, teams: TeamStandings
) -> dict[str, list[Any]]:
    board = teams.standings
    n = len(board)
    return {
        "contest_id": [contest_id] * n,
        "tick": [tick] * n,
        "team_id": board.member_ids.tolist(),
        "day": [day] * n,
        "position": list(range(1, n + 1)),
        "rank": [None if found == UNRANKED else found for found in board.ranks.tolist()],
        "score": ratio_decimals(teams.score),
        "members_counted": teams.counted.tolist(),
    }

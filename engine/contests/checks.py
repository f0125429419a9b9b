"""The contests package's invariants, for the check registry (``core.checks``): the running
state behind each leaderboard equals its rebuild from the stored facts, and the last stored
snapshot is the ranking of its own stored metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import Decimal

import numpy as np

from core.checks import Check, DatabaseContext
from engine.contests import ranking
from engine.contests.metric_state import Game, check_metric_state
from engine.contests.ranking import UNRANKED
from engine.trading.stats import FloatArray
from engine.trading.store import ContestRow
from engine.uow import EngineUnitOfWork


def metric_state_equals_rebuild(context: DatabaseContext) -> list[str]:
    """Each contest with ticks: its stored running statistics against a rebuild."""
    return _per_ticked_contest(context, lambda uow, c: check_metric_state(uow, c.id))


def snapshot_ranks_its_metrics(context: DatabaseContext) -> list[str]:
    """Each contest with ticks: the last snapshot's positions and ranks against ranking its
    stored metrics, secondary metrics, ``reached_at`` and qualification again."""
    return _per_ticked_contest(context, snapshot_problems)


def snapshot_problems(uow: EngineUnitOfWork, contest: ContestRow) -> list[str]:
    """The rows of the snapshot of the contest's last tick that ranking them again would place
    elsewhere (open transaction)."""
    rows = uow.standings.ranked_rows(contest.id, contest.clock_ticks)
    if not rows:
        return []
    game = Game.of(contest)
    ids = np.array([r.member_id for r in rows], dtype=np.int64)
    again = ranking.rank(
        ids,
        _ratios(r.metric for r in rows),
        secondary=None if game.secondary is None else _ratios(r.secondary for r in rows),
        reached_at=np.array([r.reached_at for r in rows], dtype=np.int64),
        qualified=np.array([r.qualified for r in rows], dtype=bool),
    )
    placed = again.positions_of(ids)
    positions = placed.tolist()
    ranks = [None if r == UNRANKED else r for r in again.ranks[placed - 1].tolist()]
    return [
        f"tick {contest.clock_ticks}, member {row.member_id}: stored position {row.position} "
        f"rank {row.rank}, ranked again position {position} rank {rank}"
        for row, position, rank in zip(rows, positions, ranks, strict=True)
        if (row.position, row.rank) != (position, rank)
    ]


def _ratios(values: Iterable[Decimal | None]) -> FloatArray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def _per_ticked_contest(
    context: DatabaseContext, problems_of: Callable[[EngineUnitOfWork, ContestRow], list[str]]
) -> list[str]:
    """``problems_of`` for every contest whose clock has ticked, each in a snapshot read."""
    uow = EngineUnitOfWork(context.sessions)
    with uow.reading():
        contest_ids = uow.trading.contest_ids()
    found: list[str] = []
    for contest_id in contest_ids:
        with uow.reading(snapshot=True):
            contest = uow.trading.contest(contest_id)
            if contest is None or contest.clock_ticks == 0:
                continue
            found += [f"contest {contest_id}: {p}" for p in problems_of(uow, contest)]
    return found


CHECKS: list[Check[DatabaseContext]] = [
    Check(
        name="contests.metric_state",
        package="engine.contests",
        description="each leaderboard's stored running statistics equal their rebuild from "
        "the equity marks, fills and last snapshot",
        problems=metric_state_equals_rebuild,
    ),
    Check(
        name="contests.snapshot_ranks",
        package="engine.contests",
        description="the last snapshot's positions and ranks equal a ranking of its stored metrics",
        problems=snapshot_ranks_its_metrics,
    ),
]

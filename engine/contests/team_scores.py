"""Team scores: a team's score aggregated from its qualified members' primary metric
(mean, median or top-N mean)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.contests.ranking import as_vector
from engine.trading.stats import FloatArray
from engine.trading.valuation import IntArray

# --- teams -----------------------------------------------------------------------------------

TeamAggregate = Literal["mean", "median", "top_n"]


@dataclass(frozen=True, slots=True, eq=False)
class TeamScores:
    """Team scores, one per team id that appears among the members, ascending by team id."""

    team_ids: IntArray
    score: FloatArray  # NaN for a team without any member metric
    counted: IntArray  # members whose metric went into the score


def team_scores(
    member_metric: npt.ArrayLike,
    team_of_member: npt.ArrayLike,
    *,
    how: TeamAggregate = "mean",
    n: int | None = None,
) -> TeamScores:
    """Each team's score from its members' metrics (aligned ``(m,)`` arrays; NaN = the member
    has no metric and is left out).

    ``mean``: the mean of the members' metrics. ``median``: the middle metric, or the mean of
    the two middle ones. ``top_n``: the mean of the best ``n`` metrics, or of all of them when
    fewer than ``n`` members have one (a small team is not padded with zeros).
    """
    metric = as_vector(member_metric, np.float64, "member_metric")
    team = as_vector(team_of_member, np.int64, "team_of_member", metric.size)
    if (how == "top_n") != (n is not None):
        raise ValueError("n is required for how='top_n' and only for it")
    if n is not None and n < 1:
        raise ValueError("n must be ≥ 1")
    if how not in ("mean", "median", "top_n"):
        raise ValueError(f"unknown team aggregate {how!r}")
    team_ids, inverse = np.unique(team, return_inverse=True)
    valid = ~np.isnan(metric)
    group, value = inverse.reshape(-1)[valid], metric[valid]
    counted = np.bincount(group, minlength=team_ids.size)
    if how == "mean":
        sums = np.bincount(group, weights=value, minlength=team_ids.size)
        return TeamScores(team_ids, _divide(sums, counted), counted)
    order = np.lexsort((-value, group))  # by team, best metric first
    group, value = group[order], value[order]
    starts = np.searchsorted(group, np.arange(team_ids.size))
    if how == "median":
        score = np.full(team_ids.size, np.nan)
        has = counted > 0
        low = starts[has] + (counted[has] - 1) // 2
        high = starts[has] + counted[has] // 2
        score[has] = (value[low] + value[high]) / 2
        return TeamScores(team_ids, score, counted)
    best_count = n or 0  # n ≥ 1 here (checked above)
    best = (np.arange(value.size) - starts[group]) < best_count
    used = np.minimum(counted, best_count)
    sums = np.bincount(group[best], weights=value[best], minlength=team_ids.size)
    return TeamScores(team_ids, _divide(sums, used), used)


def _divide(sums: npt.NDArray[Any], counts: npt.NDArray[Any]) -> FloatArray:
    """sums / counts, NaN where the count is 0 (numpy types weighted bincounts as integer)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)

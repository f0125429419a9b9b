"""The season's bot styles (share of the members, how often a member of the style trades) and
each member's bot, its parameters drawn from a seed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from simulation.bots.over_trader import OverTrader
from simulation.bots.styles import BuyAndHold, IndexHugger, MeanReversion, RandomTrader, SmaMomentum
from simulation.bots.views import Strategy

# Bot styles: share of the members, and how often a member of the style opens the trading app
# on a day they are around (their habit is drawn near it).
STYLES = (
    ("buy_and_hold", 0.26, 0.3),
    ("sma_momentum", 0.22, 0.5),
    ("mean_reversion", 0.18, 0.5),
    ("random", 0.17, 0.6),
    ("index_hugger", 0.14, 0.4),
    ("over_trader", 0.03, 0.95),
)
WATCHLIST = 6  # symbols a momentum or mean-reversion trader follows


def member_bot(style: str, seed: int, symbols: Sequence[str]) -> Strategy:
    """A bot of ``style``, its parameters drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    match style:
        case "buy_and_hold":
            return BuyAndHold(picks=int(rng.integers(3, 7)), seed=seed, invest=Decimal("0.95"))
        case "sma_momentum":
            return SmaMomentum(
                _watchlist(rng, symbols),
                fast=int(rng.integers(5, 11)),
                slow=int(rng.integers(20, 31)),
                invest=Decimal("0.9"),
            )
        case "mean_reversion":
            entry = round(float(rng.uniform(1.3, 2.0)), 2)
            return MeanReversion(_watchlist(rng, symbols), window=20, entry=entry, exit=0.3)
        case "random":
            return RandomTrader(seed=seed, probability=round(float(rng.uniform(0.1, 0.3)), 2))
        case "index_hugger":
            return IndexHugger(every=int(rng.integers(15, 26)), invest=Decimal("0.95"))
        case "over_trader":
            return OverTrader(seed=seed, orders_per_day=(1, 2), bad_share=0.35)
    raise ValueError(f"no bot style {style!r}")


def _watchlist(rng: np.random.Generator, symbols: Sequence[str]) -> list[str]:
    return sorted(
        str(s) for s in rng.choice(symbols, size=min(WATCHLIST, len(symbols)), replace=False)
    )

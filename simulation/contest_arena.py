"""One contest as the contest phase runs it (``Arena``) and each entry in it (``Entrant``): the
bot and the books kept from the fills."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from engine.market.model import Market
from engine.trading.portfolio import Portfolio
from simulation.bots.views import Holdings, MarketHistory, Strategy


@dataclass(slots=True)
class Entrant:
    """A member's entry as the phase follows it: the bot and the books (kept from the fills)."""

    member: int  # index in sim.members
    user_id: int
    account_id: int
    style: str
    bot: Strategy
    portfolio: Portfolio
    holdings: Holdings | None = None  # rebuilt after a fill changes the books

    def holdings_now(self) -> Holdings:
        # Every order is a day order: after the clock nothing is open, so all cash is free.
        if self.holdings is None:
            p = self.portfolio
            positions = {s: q.qty for s, q in p.positions.items() if q.qty}
            self.holdings = Holdings(cash=p.cash, buying_power=p.cash, positions=positions)
        return self.holdings


@dataclass(slots=True)
class Arena:
    """One contest as the phase runs it."""

    market: Market
    contest_id: int
    title: str
    history: MarketHistory
    index_history: MarketHistory
    symbols: tuple[str, ...]
    entrants: dict[int, Entrant] = field(default_factory=dict)  # by member index
    by_account: dict[int, Entrant] = field(default_factory=dict)
    team_names: dict[int, str] = field(default_factory=dict)  # team id → name
    team_members: dict[int, list[int]] = field(default_factory=dict)  # team id → user ids
    team_of: dict[int, int] = field(default_factory=dict)  # user id → team id
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    by_style: Counter[str] = field(default_factory=Counter)  # orders sent per bot style
    fills: int = 0
    traded_by_round: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def enter(self, entrant: Entrant) -> None:
        self.entrants[entrant.member] = entrant
        self.by_account[entrant.account_id] = entrant

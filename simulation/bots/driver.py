"""``BotDriver`` runs bots on an ``engine.trading.simulator.InMemoryVenue`` (tests, benchmarks);
the season simulation builds the same views from its services."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from core.errors import RuleViolation
from engine.trading.admission import OrderRefused
from engine.trading.orders import Order, OrderRequest
from engine.trading.simulator import InMemoryVenue
from simulation.bots.views import Holdings, MarketHistory, Strategy


@dataclass(frozen=True, slots=True)
class Refusal:
    account_id: int
    day: date
    request: OrderRequest
    reason: str  # the rule code (an engine.trading.orders.Reason value)


class BotDriver:
    """Each day: record the revealed closes, let every bot decide, submit its orders.

    ``venue`` must be started; ``run`` trades until the last bar. Refused orders are kept in
    ``refusals`` (a bot that breaks a rule is not an error); everything else propagates.
    """

    def __init__(self, venue: InMemoryVenue, bots: Mapping[int, Strategy]) -> None:
        if venue.tape.today is None:
            raise ValueError("start the venue before driving bots on it")
        self.venue = venue
        self.bots = dict(bots)
        self.history = MarketHistory(venue.instruments.values(), venue.rules)
        self.accepted = 0
        self.refusals: list[Refusal] = []
        self._open_ids: dict[int, list[int]] = defaultdict(list)
        self._seen = 0  # orders looked at so far (the venue numbers them 1, 2, 3 …)

    def step(self) -> None:
        """Decide and submit for the current day (the venue must still have a next bar)."""
        venue = self.venue
        day = venue.tape.today
        assert day is not None
        prices = venue.last_closes()
        market = self.history.record(day, prices)
        open_orders = self._open_orders()
        for account_id in sorted(self.bots):
            portfolio = venue.portfolios[account_id]
            holdings = Holdings.of(portfolio, open_orders[account_id], prices, venue.rules)
            for request in self.bots[account_id].decide(market, holdings):
                try:
                    venue.submit(account_id, request)
                except OrderRefused as refused:
                    self.refusals.append(Refusal(account_id, day, request, refused.reason.value))
                except RuleViolation as violation:
                    self.refusals.append(Refusal(account_id, day, request, violation.rule))
                else:
                    self.accepted += 1

    def _open_orders(self) -> dict[int, list[Order]]:
        """Open orders by account, reading only the orders placed since the last call (a scan
        of every order ever placed, once a day, would grow with the whole history)."""
        orders = self.venue.orders
        while self._seen + 1 in orders:
            self._seen += 1
            self._open_ids[orders[self._seen].account_id].append(self._seen)
        if len(orders) != self._seen:  # numbered otherwise: index everything again
            self._open_ids.clear()
            for order in orders.values():
                self._open_ids[order.account_id].append(order.id)
            self._seen = len(orders)
        result: dict[int, list[Order]] = defaultdict(list)
        for account_id, ids in self._open_ids.items():
            live = [orders[i] for i in ids if orders[i].status.is_open]
            self._open_ids[account_id] = [o.id for o in live]
            result[account_id] = live
        return result

    def run(self) -> None:
        """Trade every remaining day: decide at each close, fill on the next bar."""
        while self.venue.tape.has_next:
            self.step()
            self.venue.advance()

"""A member's portfolio in one contest: cash and positions, derived from fills.

Money is ``Decimal`` in currency units, kept to the cent: a fill's value is qty × price rounded
to the cent, fees are cents, and a position's cost basis moves by whole cents, so the
conservation identity holds exactly (no tolerance) at every step::

    cash + Σ qty × price = starting cash + realized + unrealized − fees

where unrealized = Σ (qty × price − cost basis). Positions are signed: a short has negative
quantity and a negative cost basis (the proceeds it owes back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from engine.trading import valuation
from engine.trading.orders import Fill, Side

CENT = Decimal("0.01")
ZERO = Decimal(0)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_EVEN)


@dataclass(slots=True)
class Position:
    symbol: str
    qty: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    # T+1: what was bought on ``bought_day`` cannot be sold that day.
    bought_day: date | None = None
    bought_on_day: Decimal = ZERO

    @property
    def avg_cost(self) -> Decimal | None:
        if self.qty == 0:
            return None
        return (self.cost_basis / self.qty).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)

    def sellable(self, day: date, *, t_plus_one: bool) -> Decimal:
        """Long shares that may be sold on ``day`` (those bought on ``day`` wait under T+1)."""
        if self.qty <= 0:
            return ZERO
        locked = self.bought_on_day if t_plus_one and self.bought_day == day else ZERO
        return max(ZERO, self.qty - locked)

    def market_value(self, price: Decimal) -> Decimal:
        return self.qty * price

    def unrealized(self, price: Decimal) -> Decimal:
        return self.qty * price - self.cost_basis


@dataclass(slots=True)
class Portfolio:
    account_id: int
    starting_cash: Decimal
    cash: Decimal
    fees_paid: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)

    @classmethod
    def opened(cls, account_id: int, starting_cash: Decimal) -> Portfolio:
        return cls(account_id=account_id, starting_cash=starting_cash, cash=starting_cash)

    def position(self, symbol: str) -> Position:
        found = self.positions.get(symbol)
        if found is None:
            found = self.positions[symbol] = Position(symbol)
        return found

    def qty(self, symbol: str) -> Decimal:
        found = self.positions.get(symbol)
        return found.qty if found else ZERO

    def apply(self, fill: Fill) -> Fill:
        """Book ``fill``; returns it with the P&L it realized."""
        position = self.position(fill.symbol)
        signed_qty = fill.qty * fill.side.sign
        closing = ZERO
        if position.qty != 0 and (position.qty > 0) != (signed_qty > 0):
            closing = min(abs(signed_qty), abs(position.qty))
        close_value = money(fill.value * closing / fill.qty) if closing else ZERO
        realized = self._close(position, fill.side, closing, close_value)
        opening = fill.qty - closing
        if opening:
            position.qty += opening * fill.side.sign
            position.cost_basis += (fill.value - close_value) * fill.side.sign
        if fill.side is Side.BUY:
            if position.bought_day != fill.day:
                position.bought_day, position.bought_on_day = fill.day, ZERO
            position.bought_on_day += fill.qty
        self.cash -= fill.value * fill.side.sign + fill.fees
        self.fees_paid += fill.fees
        return replace(fill, realized_pnl=realized)

    def _close(self, position: Position, side: Side, qty: Decimal, value: Decimal) -> Decimal:
        if not qty:
            return ZERO
        whole = qty == abs(position.qty)
        released = (
            position.cost_basis if whole else money(position.cost_basis * qty / abs(position.qty))
        )
        realized = -side.sign * value - released
        position.cost_basis -= released
        position.qty += qty * side.sign
        position.realized_pnl += realized
        self.realized_pnl += realized
        return realized

    # --- valuation ----------------------------------------------------------------------------

    def positions_value(self, prices: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.market_value(prices[s]) for s, p in self.positions.items() if p.qty),
            ZERO,
        )

    def equity(self, prices: Mapping[str, Decimal]) -> Decimal:
        return self.cash + self.positions_value(prices)

    def unrealized_pnl(self, prices: Mapping[str, Decimal]) -> Decimal:
        return sum((p.unrealized(prices[s]) for s, p in self.positions.items() if p.qty), ZERO)

    def short_requirement(self, prices: Mapping[str, Decimal], margin: Decimal) -> Decimal:
        """Cash a short book must keep: its market value plus the margin on it."""
        return sum(
            (-p.qty * prices[s] * (1 + margin) for s, p in self.positions.items() if p.qty < 0),
            ZERO,
        )

    def conservation_gap(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Left minus right of the conservation identity; exactly zero when the books agree."""
        left = self.cash + self.positions_value(prices)
        right = (
            self.starting_cash + self.realized_pnl + self.unrealized_pnl(prices) - self.fees_paid
        )
        return left - right


def mark_portfolios(
    portfolios: Sequence[Portfolio], prices: Mapping[str, Decimal]
) -> list[Decimal]:
    """Equity of every portfolio at ``prices``, in one numpy product, to the cent."""
    return mark_holdings(
        [p.cash for p in portfolios],
        [{s: q.qty for s, q in p.positions.items()} for p in portfolios],
        prices,
    )


def mark_holdings(
    cash: Sequence[Decimal],
    holdings: Sequence[Mapping[str, Decimal]],
    prices: Mapping[str, Decimal],
) -> list[Decimal]:
    """Equity of each (cash, symbol → quantity) pair at ``prices``, to the cent: what
    ``mark_portfolios`` computes, from the quantities alone."""
    symbols = sorted(prices)
    column = {s: i for i, s in enumerate(symbols)}
    quantities = np.zeros((len(holdings), len(symbols)))
    for row, held in enumerate(holdings):
        for symbol, qty in held.items():
            if qty:
                quantities[row, column[symbol]] = float(qty)
    marks = np.array([float(prices[s]) for s in symbols])
    money_left = np.array([float(c) for c in cash])
    return valuation.quantize(valuation.mark_to_market(money_left, quantities, marks))


def replay(account_id: int, starting_cash: Decimal, fills: Iterable[Fill]) -> Portfolio:
    """The portfolio derived from its fills in order: the reference for stored state."""
    portfolio = Portfolio.opened(account_id, starting_cash)
    for fill in fills:
        portfolio.apply(fill)
    return portfolio


def same_books(stored: Portfolio, derived: Portfolio) -> list[str]:
    """Differences between stored and derived state (empty when they agree)."""
    problems = [
        f"{name}: stored {getattr(stored, name)} derived {getattr(derived, name)}"
        for name in ("cash", "fees_paid", "realized_pnl")
        if getattr(stored, name) != getattr(derived, name)
    ]
    for symbol in sorted(set(stored.positions) | set(derived.positions)):
        a, b = stored.positions.get(symbol), derived.positions.get(symbol)
        key_a = (a.qty, a.cost_basis, a.realized_pnl) if a else (ZERO, ZERO, ZERO)
        key_b = (b.qty, b.cost_basis, b.realized_pnl) if b else (ZERO, ZERO, ZERO)
        if key_a != key_b:
            problems.append(f"position {symbol}: stored {key_a} derived {key_b}")
    return problems

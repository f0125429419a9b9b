"""Corporate actions applied to contest accounts: at the open of the first contest day on or
after an action's ex-date, before any order of that day is matched.

Every account holding the symbol gets the action once: an application is keyed by (account,
action) in storage, and the clock reveals each day once under the contest's row lock. What an
action does to a position is ``engine.market.corporate_actions.entitlement``; this module books
it into a ``Portfolio`` (cash, cost basis, realized P&L) and replays it beside the fills, so
``check_books`` still derives every stored book.

Open orders: on a split's ex-date every open order in the symbol is **canceled** (reason
``corporate_action``): its quantity and prices are in pre-split shares. US brokers adjust GTC
limit and stop prices by the ratio instead (FINRA rule 5330); canceling is the conservative
choice here, since the contest's orders are mostly day orders, and the member sees why. A
dividend leaves open orders as they are (no price reduction, unlike rule 5330's default).

The ex-date's reference price replaces the previous close for the day's price band and for
marking a symbol that does not trade that day, so a split shows no fake loss. An action stored
after the clock has passed its ex-date is not applied backwards (the books of later days were
ranked already); import actions before their ex-date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from engine.market.corporate_actions import (
    ActionKind,
    CorporateAction,
    Entitlement,
    entitlement,
    reference_price,
)
from engine.trading.orders import Fill, OrderStatus, Reason
from engine.trading.portfolio import Portfolio

if TYPE_CHECKING:  # the unit of work's repository imports ``Application`` from here
    from engine.trading.uow import TradingUnitOfWork
    from engine.trading.venue import Venue


@dataclass(frozen=True, slots=True)
class Application:
    """One action applied to one account on contest day ``day``, at ``reference`` price."""

    account_id: int
    action_id: int
    day: date
    reference: Decimal
    whole_shares: bool
    entitlement: Entitlement


def apply_to_portfolio(
    portfolio: Portfolio, action: CorporateAction, *, reference: Decimal, whole_shares: bool
) -> Entitlement | None:
    """Book ``action`` into ``portfolio``; ``None`` when it holds none of the symbol."""
    position = portfolio.positions.get(action.symbol)
    if position is None or not position.qty:
        return None
    due = entitlement(
        action, position.qty, position.cost_basis, reference=reference, whole_shares=whole_shares
    )
    position.qty = due.qty_after
    position.cost_basis -= due.released_cost
    position.realized_pnl += due.realized
    portfolio.cash += due.cash
    portfolio.realized_pnl += due.realized
    return due


def replay_with_actions(
    account_id: int,
    starting_cash: Decimal,
    fills: Iterable[Fill],
    applied: Sequence[tuple[Application, CorporateAction]],
) -> Portfolio:
    """The portfolio derived from its fills and applied actions: an action applied on day D
    comes before D's fills (it takes effect at the open)."""
    portfolio = Portfolio.opened(account_id, starting_cash)
    pending = sorted(applied, key=lambda pair: pair[0].day)  # stable: storage order within a day
    for fill in fills:
        while pending and pending[0][0].day <= fill.day:
            _replay_one(portfolio, *pending.pop(0))
        portfolio.apply(fill)
    for application, action in pending:
        _replay_one(portfolio, application, action)
    return portfolio


def _replay_one(portfolio: Portfolio, application: Application, action: CorporateAction) -> None:
    apply_to_portfolio(
        portfolio,
        action,
        reference=application.reference,
        whole_shares=application.whole_shares,
    )


def apply_actions_on(
    uow: TradingUnitOfWork, venue: Venue, day: date, previous: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Apply the actions whose ex-date falls after the contest's last day and on or before
    ``day`` (only ``day``'s own on the first day) to every holder, cancel the split symbols'
    open orders, and return ``previous`` (the closes before ``day``) with each such symbol's
    close replaced by its reference price. Inside the clock's transaction."""
    after = venue.clock_day if venue.clock_day is not None else day - timedelta(days=1)
    found = uow.market.actions_between(venue.universe, after, day)
    if not found:
        return dict(previous)
    by_symbol: dict[str, list[tuple[int, CorporateAction]]] = defaultdict(list)
    for action_id, action in found:
        by_symbol[action.symbol].append((action_id, action))
    adjusted = dict(previous)
    for symbol, actions in by_symbol.items():
        if symbol in previous:  # never traded before: nobody can hold it
            adjusted[symbol] = reference_price(previous[symbol], [a for _, a in actions])
    _apply_to_holders(uow, venue, day, found, previous)
    _cancel_for_splits(uow, venue, day, {a.symbol for _, a in found if a.kind is ActionKind.SPLIT})
    return adjusted


def _apply_to_holders(
    uow: TradingUnitOfWork,
    venue: Venue,
    day: date,
    found: list[tuple[int, CorporateAction]],
    previous: Mapping[str, Decimal],
) -> None:
    holders = uow.trading.holders(venue.contest_id, {a.symbol for _, a in found})
    if not holders:
        return
    done = uow.trading.applied(holders, [i for i, _ in found])
    books = uow.trading.account_books(venue.contest_id, ids=holders)
    positions = uow.trading.positions_of(holders)
    stored = {
        (account, symbol): replace(position)
        for account, rows in positions.items()
        for symbol, position in rows.items()
    }
    portfolios = [
        Portfolio(b.id, b.starting_cash, b.cash, b.fees_paid, b.realized_pnl, positions[b.id])
        for b in books
    ]
    whole_shares = not venue.rules.fractional
    applications: list[Application] = []
    for portfolio in portfolios:
        price = dict(previous)
        for action_id, action in found:  # dividends before splits, ex-date order
            if (portfolio.account_id, action_id) in done or action.symbol not in price:
                continue
            reference = reference_price(price[action.symbol], [action])
            due = apply_to_portfolio(
                portfolio, action, reference=reference, whole_shares=whole_shares
            )
            price[action.symbol] = reference  # the next action of the day starts from it
            if due is not None:
                applications.append(
                    Application(portfolio.account_id, action_id, day, reference, whole_shares, due)
                )
    touched = {a.account_id for a in applications}
    uow.trading.save_books(
        venue.contest_id, [p for p in portfolios if p.account_id in touched], stored=stored
    )
    uow.trading.add_applications(venue.contest_id, applications)


def _cancel_for_splits(uow: TradingUnitOfWork, venue: Venue, day: date, symbols: set[str]) -> None:
    if not symbols:
        return
    stale = [o for o in uow.trading.open_orders(contest_id=venue.contest_id) if o.symbol in symbols]
    uow.trading.update_orders(
        [o.closed(OrderStatus.CANCELED, Reason.CORPORATE_ACTION, day) for o in stale]
    )


def applied_history(
    uow: TradingUnitOfWork, account_id: int
) -> list[tuple[Application, CorporateAction]]:
    """The account's applications with their actions, in the order they were applied."""
    applications = uow.trading.applications_of(account_id)
    actions = uow.market.actions_by_id(a.action_id for a in applications)
    pairs = [(a, actions[a.action_id]) for a in applications]
    # the order ``apply_actions_on`` met them: by day, then as ``actions_between`` sorts
    return sorted(pairs, key=lambda p: (p[0].day, p[1].ex_date, p[1].symbol, p[1].kind.value))

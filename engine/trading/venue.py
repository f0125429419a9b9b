"""A contest as trading sees it (its venue: rules, universe, window, clock) and the lookups
that refuse a missing contest or entry."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from core.errors import NotFound
from engine.market.model import Market
from engine.trading.rules import RulePack, rule_pack
from engine.trading.store import AccountRow, ContestRow
from engine.trading.store_accounts import VenueRow
from engine.trading.uow import TradingUnitOfWork


class NotEntered(NotFound):
    slug = "not-entered"
    title = "No entry in this contest"


@dataclass(frozen=True, slots=True)
class Venue:
    """What the engine needs of a contest: rules, universe, window and clock."""

    contest_id: int
    market: Market
    rules: RulePack
    universe: tuple[str, ...]
    starting_cash: Decimal
    trading_start: date
    trading_end: date
    clock_day: date | None
    bar_interval: str = "daily"  # "minute": a live intraday contest

    @property
    def trading(self) -> bool:
        """Orders are taken from the first revealed bar until the clock reaches the last day
        (a minute contest's clock day is the session being traded: its last day trades too)."""
        if self.clock_day is None:
            return False
        if self.bar_interval == "minute":
            return self.clock_day <= self.trading_end
        return self.clock_day < self.trading_end


def venue_of(row: ContestRow | VenueRow) -> Venue:
    return Venue(
        contest_id=row.id,
        market=Market(row.market),
        rules=contest_rules(row.market, row.rule_overrides),
        universe=tuple(row.universe),
        starting_cash=row.starting_cash,
        trading_start=row.trading_start,
        trading_end=row.trading_end,
        clock_day=row.clock_day,
        bar_interval=row.bar_interval or "daily",
    )


def require_venue(uow: TradingUnitOfWork, contest_id: int) -> Venue:
    """The contest's venue, or NotFound, read without the contest's row (``VenueRow``)."""
    row = uow.trading.venue_row(contest_id)
    if row is None:
        raise NotFound(f"no contest {contest_id}", contest_id=contest_id)
    return venue_of(row)


def contest_rules(market: str, overrides: Mapping[str, Any] | None) -> RulePack:
    """``rule_pack`` of a contest's stored market and overrides, built once per process for
    each distinct pair: a pack is a frozen value, so every venue with the same pair may share
    it, and a contest whose overrides change gets the pack of its new ones."""
    try:
        key = json.dumps(overrides or {}, sort_keys=True)
    except TypeError:  # not yet stored as JSON (a Decimal): build it afresh
        return rule_pack(market, overrides)
    return _rules_of(market, key)


@functools.lru_cache(maxsize=256)
def _rules_of(market: str, overrides: str) -> RulePack:
    return rule_pack(market, json.loads(overrides))


def require_contest(
    uow: TradingUnitOfWork, contest_id: int, *, lock: bool = False, seasonal: bool = False
) -> ContestRow:
    """The contest's row, or NotFound: every service's one lookup of a contest by id.
    ``seasonal``: only a contest of a season (a game); a bare trading venue counts as missing.
    ``lock`` takes the row lock (the clock's, and entry capacity's)."""
    row = uow.trading.contest(contest_id, lock=lock)
    if row is None or (seasonal and row.season_id is None):
        raise NotFound(f"no contest {contest_id}", contest_id=contest_id)
    return row


def require_account(
    uow: TradingUnitOfWork, contest_id: int, member_id: int, *, lock: bool = False
) -> AccountRow:
    account = uow.trading.account(contest_id, member_id, lock=lock)
    if account is None:
        raise NotEntered(f"you have no entry in contest {contest_id}", contest_id=contest_id)
    return account

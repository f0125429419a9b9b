"""Builders for contest tests: a season over synthetic bars and a contest in it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from core.users.model import User
from engine.contests import seasons
from engine.contests import services as contests
from engine.contests.model import Contest, DataSource, Season
from engine.contests.prize_rules import Disclosures
from engine.contests.seasons import SeasonDraft
from engine.contests.services import ContestDraft
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.uow import EngineUnitOfWork

START = date(2024, 1, 1)
# Everything a contest with prizes must disclose before it is public (engine.contests.prize_rules);
# the dates follow every test's trading window.
DISCLOSURES_JSON: dict[str, Any] = {
    "organiser": "PaperLeague Test Ltd.",
    "eligibility": "Registered members aged 18 or over.",
    "prize_description": "Points and XP credited to the winners' accounts.",
    "prize_value": "Points only; no cash value.",
    "winner_notification": "Winners are notified in the app within 3 days.",
    "award_date": "2030-01-31",
    "draw_date": "2030-01-31",
    "terms_url": "https://example.com/terms",
    "terms_text": "",
}
DISCLOSURES = Disclosures.from_json(DISCLOSURES_JSON)
# Season calendar dates vs. "now": tests pass `now` explicitly, before the season ends.
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def season(
    uow: EngineUnitOfWork,
    operator: User,
    *,
    market: Market = Market.CN,
    days: int = 40,
    count: int = 6,
    seed: int = 7,
    timezone: str = "Asia/Shanghai",
    **changes: Any,
) -> Season:
    """A replay season over ``days`` synthetic bars of ``count`` instruments from START."""
    instruments = install_synthetic(uow, market, count=count, seed=seed, start=START, days=days)  # type: ignore[arg-type]
    symbols = [i.symbol for i in instruments]
    trading_days = uow_trading_days(uow, symbols)
    draft = SeasonDraft(
        name="Spring season",
        timezone=timezone,
        starts_on=date(2026, 2, 1),
        ends_on=date(2026, 6, 30),
        market=market,
        universe=symbols,
        data_source=DataSource.REPLAY,
        replay_start=trading_days[0],
        replay_end=trading_days[-1],
    )
    return seasons.create_season(uow, replace(draft, **changes), operator_id=operator.id, now=NOW)


def uow_trading_days(uow: EngineUnitOfWork, symbols: list[str]) -> list[date]:
    with uow.reading():
        return uow.market.trading_days(symbols, START, date(2100, 1, 1))


def contest(uow: EngineUnitOfWork, s: Season, **changes: Any) -> Contest:
    """A contest over the season's whole replay window, open for registration at NOW."""
    assert s.replay_start is not None and s.replay_end is not None
    draft = ContestDraft(
        season_id=s.id,
        title="A-share cup",
        trading_start=s.replay_start,
        trading_end=s.replay_end,
        starting_cash=Decimal(1_000_000),
        disclosures=DISCLOSURES,
    )
    return contests.create_contest(uow, replace(draft, **changes), now=NOW)

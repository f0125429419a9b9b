"""A small A-share market with a 10送3派5 on one ex-date (three bonus shares and 5 yuan for
every ten held), and a contest on it: what the corporate-action tests share.

The day before the ex-date closes at 13.50; the reference price is (13.50 − 0.50) ÷ 1.3 =
10.00, and the ex-date trades flat at 10.00, so an account's equity must not move across it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from engine.market.corporate_actions import dividend, split
from engine.market.model import Board, Market
from engine.market.services import MarketUnitOfWork, import_csv, store_actions
from engine.trading import services
from engine.uow import EngineUnitOfWork

SYMBOL = "600000.SS"
EX_DATE = date(2024, 1, 4)
BARS = """date,open,high,low,close,volume
2024-01-02,13.00,13.60,12.90,13.40,1000000
2024-01-03,13.40,13.60,13.30,13.50,1000000
2024-01-04,10.00,10.20,9.90,10.00,1300000
2024-01-05,10.00,10.30,9.95,10.20,1300000
"""
ACTIONS_CSV = f"""symbol,ex_date,kind,cash_per_share,ratio
{SYMBOL},{EX_DATE},dividend,0.5,
{SYMBOL},{EX_DATE},split,,13/10
"""
ACTIONS = [dividend(SYMBOL, EX_DATE, Decimal("0.5")), split(SYMBOL, EX_DATE, Fraction(13, 10))]


def install_market(uow: EngineUnitOfWork, *, with_actions: bool = True) -> None:
    market_uow: MarketUnitOfWork = uow  # type: ignore[assignment]  # the engine's is one too
    import_csv(market_uow, BARS, symbol=SYMBOL, market=Market.CN, name="SPDB", board=Board.MAIN)
    if with_actions:
        store_actions(market_uow, ACTIONS, source="csv")


def contest_on_it(uow: EngineUnitOfWork) -> int:
    venue = services.create_venue(
        uow,
        title="ex-date cup",
        market=Market.CN,
        universe=[SYMBOL],
        starting_cash=Decimal(100_000),
        trading_start=date(2024, 1, 2),
        trading_end=date(2024, 1, 5),
    )
    return venue.contest_id

"""The trading screen's market data: a symbol's quote (with its delay, band and session) and
the minute bars of its intraday chart, as running contests may see them (no look-ahead)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from api.http.deps import EngineUow, OptionalUser, SettingsDep, VisibleContestQuery
from api.http.problems import problem_doc
from api.http.schemas.common import Day
from api.http.schemas.quotes import MinuteBarOut, MinutesOut, QuoteOut
from core.clock import utc_now
from core.users.model import Role
from engine.trading import quotes

router = APIRouter(
    prefix="/market",
    tags=["market data"],
    responses={
        401: problem_doc("Bad bearer token"),
        404: problem_doc("Unknown symbol or contest"),
        422: problem_doc("The symbol is outside the contest's universe (`not_in_universe`)"),
    },
)
Symbol = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("/{symbol}/quote", response_model=QuoteOut)
def quote(
    symbol: Symbol,
    uow: EngineUow,
    viewer: OptionalUser,
    settings: SettingsDep,
    contest_id: VisibleContestQuery,
) -> QuoteOut:
    """Last price, change, price band, the feed's delay, the quote's age, staleness and the
    exchange's session, up to the clocks of the running contests on the symbol."""
    found = quotes.quote(
        uow,
        symbol.strip().upper(),
        contest_id=contest_id,
        operator=viewer is not None and viewer.has_any(Role.OPERATOR),
        now=utc_now(),
        stale_after=timedelta(seconds=settings.intraday_stale_after_seconds),
    )
    return QuoteOut.of(found)


@router.get("/{symbol}/minutes", response_model=MinutesOut)
def minutes(
    symbol: Symbol,
    uow: EngineUow,
    viewer: OptionalUser,
    contest_id: VisibleContestQuery,
    day: Day | None = None,
) -> MinutesOut:
    """One exchange-local day's minute bars (default: the last visible day), none past the
    running contests' clocks."""
    wanted = symbol.strip().upper()
    shown, bars = quotes.visible_minutes(
        uow,
        wanted,
        day=day,
        contest_id=contest_id,
        operator=viewer is not None and viewer.has_any(Role.OPERATOR),
        now=utc_now(),
    )
    return MinutesOut(symbol=wanted, day=shown, bars=[MinuteBarOut.of(b) for b in bars])

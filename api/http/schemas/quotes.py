"""HTTP shapes of the trading screen's market data: a quote with its delay, minute bars, fills."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.http.schemas.trading import MoneyStr, PriceStr, QtyStr
from engine.market.feeds import MinuteBar
from engine.trading.orders import Fill, Side
from engine.trading.quotes import Quote


class BandOut(BaseModel):
    down: PriceStr = Field(description="Limit-down price of the day")
    up: PriceStr = Field(description="Limit-up price of the day")


class SessionOut(BaseModel):
    state: str = Field(description="open, lunch_break or closed (at the wall clock)")
    next_open: datetime | None = Field(description="When the exchange next opens (None: open)")


class QuoteOut(BaseModel):
    symbol: str
    name: str
    market: str
    currency: str
    price: PriceStr | None = Field(description="The last visible minute close, else daily close")
    at: datetime | None = Field(description="The minute bar's start, or the daily session's close")
    day: date | None
    intraday: bool = Field(description="The price is a minute bar's close")
    previous_close: PriceStr | None
    change: PriceStr | None
    change_pct: str | None = Field(description="Percent, two places")
    band: BandOut | None = Field(description="The contest rule pack's price band, if any")
    delay_seconds: int = Field(description="How far the feed states its quotes lag the exchange")
    age_seconds: int | None = Field(description="How long ago the price's bar ended")
    stale: bool = Field(description="Orders would be refused as stale_feed now")
    session: SessionOut

    @classmethod
    def of(cls, q: Quote) -> QuoteOut:
        return cls(
            symbol=q.instrument.symbol,
            name=q.instrument.name,
            market=q.instrument.market.value,
            currency=q.instrument.currency,
            price=q.price,
            at=q.at,
            day=q.day,
            intraday=q.intraday,
            previous_close=q.previous_close,
            change=q.change,
            change_pct=None if q.change_pct is None else format(q.change_pct, "f"),
            band=None if q.band is None else BandOut(down=q.band.down, up=q.band.up),
            delay_seconds=int(q.delay.total_seconds()),
            age_seconds=None if q.age is None else int(q.age.total_seconds()),
            stale=q.stale,
            session=SessionOut(state=q.session.state, next_open=q.session.next_open),
        )


class MinuteBarOut(BaseModel):
    start: datetime
    open: PriceStr
    high: PriceStr
    low: PriceStr
    close: PriceStr
    volume: int

    @classmethod
    def of(cls, b: MinuteBar) -> MinuteBarOut:
        return cls(
            start=b.start, open=b.open, high=b.high, low=b.low, close=b.close, volume=b.volume
        )


class MinutesOut(BaseModel):
    symbol: str
    day: date | None = Field(description="The exchange-local day (None: no visible minute)")
    bars: list[MinuteBarOut]


class FillOut(BaseModel):
    id: int
    order_id: int
    symbol: str
    side: Side
    qty: QtyStr
    price: PriceStr
    value: MoneyStr
    fees: MoneyStr
    realized_pnl: MoneyStr
    day: date

    @classmethod
    def of(cls, fill_id: int, f: Fill) -> FillOut:
        return cls(
            id=fill_id,
            order_id=f.order_id,
            symbol=f.symbol,
            side=f.side,
            qty=f.qty,
            price=f.price,
            value=f.value,
            fees=f.fees,
            realized_pnl=f.realized_pnl,
            day=f.day,
        )

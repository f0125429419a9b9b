"""Rule packs: the trading rules of a market, selectable per contest, every field overridable.

Sources (see ../shared/REFERENCES.md): A-share lot size and odd lots (SSE), T+1 (rqalpha
``stock_t1``), price limits from the previous close rounded to the 0.01 tick (SZSE; main ±10%,
ChiNext/STAR ±20%, Beijing Stock Exchange ±30%, main-board ST ±5%; ST stocks of ChiNext and STAR
keep ±20% since 2020), stamp duty 0.1% on sells then 0.05% from 2023-08-28, transfer fee
0.002% each side then 0.001% from 2022-04-29, retail commission 0.025% with a ¥5 minimum per
order; rqalpha refuses buys at limit-up and sells at limit-down. US: fractional and notional
orders, no T+1, no limits, zero commission, optional pattern-day-trader rule (4+ day trades in
5 business days with equity under $25,000; Alpaca "user protection").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.errors import RuleViolation
from engine.market.model import Board, Market
from engine.trading.orders import Side

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class FeeRule:
    """A fee charged as ``rate`` × trade value, at least ``minimum``, on one side or both.

    ``effective_from`` is inclusive and ``effective_until`` exclusive, so a replay of any date
    charges what that date charged.
    """

    name: str
    rate: Decimal
    side: Side | None = None
    minimum: Decimal = Decimal(0)
    effective_from: date | None = None
    effective_until: date | None = None

    def applies(self, side: Side, day: date) -> bool:
        if self.side is not None and self.side is not side:
            return False
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_until is None or day < self.effective_until

    def amount(self, value: Decimal) -> Decimal:
        if self.rate == 0 and self.minimum == 0:
            return Decimal(0)
        return max(value * self.rate, self.minimum).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Fees:
    commission: Decimal = Decimal(0)
    stamp_duty: Decimal = Decimal(0)
    transfer_fee: Decimal = Decimal(0)
    other: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee + self.other


STAMP_DUTY_CUT = date(2023, 8, 28)
TRANSFER_FEE_CUT = date(2022, 4, 29)

CN_TAXES = (
    FeeRule("stamp_duty", Decimal("0.001"), Side.SELL, effective_until=STAMP_DUTY_CUT),
    FeeRule("stamp_duty", Decimal("0.0005"), Side.SELL, effective_from=STAMP_DUTY_CUT),
    FeeRule("transfer_fee", Decimal("0.00002"), effective_until=TRANSFER_FEE_CUT),
    FeeRule("transfer_fee", Decimal("0.00001"), effective_from=TRANSFER_FEE_CUT),
)

CN_PRICE_LIMITS = {
    Board.MAIN: Decimal("0.10"),
    Board.CHINEXT: Decimal("0.20"),
    Board.STAR: Decimal("0.20"),
    Board.ST: Decimal("0.05"),
    Board.BEIJING: Decimal("0.30"),
}


@dataclass(frozen=True, slots=True)
class Guards:
    """Contest-level limits on top of the market's rules (all off by default)."""

    short_selling: bool = False
    # Equity a short must keep beyond its proceeds, as a fraction of its market value.
    margin_requirement: Decimal = Decimal("0.5")
    min_price: Decimal | None = None
    max_position_pct: Decimal | None = None
    max_orders_per_day: int | None = None


@dataclass(frozen=True, slots=True)
class RulePack:
    """How a market trades. ``lot_size`` ``None`` means the instrument's own lot."""

    market: Market
    lot_size: int | None = None
    odd_lot_sell_whole_only: bool = False
    t_plus_one: bool = False
    price_limits: Mapping[Board, Decimal] | None = None
    tick_size: Decimal = CENT
    fractional: bool = False
    qty_decimals: int = 0
    notional_orders: bool = False
    commission_rate: Decimal = Decimal(0)
    commission_min: Decimal = Decimal(0)
    taxes: tuple[FeeRule, ...] = ()
    slippage_bps: Decimal = Decimal(5)
    # Share of a bar's volume one order may take; None is no cap.
    volume_participation: Decimal | None = None
    # Market and stop buys reserve cash at last close × (1 + collar) when there is no limit band.
    market_collar: Decimal = Decimal("0.10")
    pattern_day_trader: bool = False
    pdt_equity_threshold: Decimal = Decimal(25_000)
    pdt_max_day_trades: int = 3
    guards: Guards = field(default_factory=Guards)

    def lot_for(self, instrument_lot: int) -> int:
        return self.lot_size if self.lot_size is not None else instrument_lot

    def fee_rules(self) -> tuple[FeeRule, ...]:
        commission = FeeRule("commission", self.commission_rate, minimum=self.commission_min)
        return (commission, *self.taxes)

    def fees(self, side: Side, value: Decimal, day: date) -> Fees:
        """The fees of one fill of ``value`` (currency units) traded on ``day``."""
        if value <= 0:
            return Fees()
        parts: dict[str, Decimal] = {}
        for rule in self.fee_rules():
            if rule.applies(side, day):
                parts[rule.name] = parts.get(rule.name, Decimal(0)) + rule.amount(value)
        return Fees(
            commission=parts.pop("commission", Decimal(0)),
            stamp_duty=parts.pop("stamp_duty", Decimal(0)),
            transfer_fee=parts.pop("transfer_fee", Decimal(0)),
            other=sum(parts.values(), Decimal(0)),
        )

    def price_band(self, board: Board, previous_close: Decimal | None) -> PriceBand | None:
        """Limit-down and limit-up prices for the day, or ``None`` when the market has none."""
        if self.price_limits is None or previous_close is None or board not in self.price_limits:
            return None
        pct = self.price_limits[board]
        return PriceBand(
            down=round_to_tick(previous_close * (1 - pct), self.tick_size),
            up=round_to_tick(previous_close * (1 + pct), self.tick_size),
        )

    def with_overrides(self, overrides: Mapping[str, Any]) -> RulePack:
        """A copy with fields replaced; an unknown field or a wrong type is a RuleViolation."""
        return _apply_overrides(self, overrides, prefix="rules")

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


@dataclass(frozen=True, slots=True)
class PriceBand:
    down: Decimal
    up: Decimal

    def contains(self, price: Decimal) -> bool:
        return self.down <= price <= self.up


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """Exchange rounding: half up to the tick (limit prices, synthetic prices)."""
    return (price / tick).quantize(Decimal(1), ROUND_HALF_UP) * tick


def cn_a_share() -> RulePack:
    return RulePack(
        market=Market.CN,
        lot_size=100,
        odd_lot_sell_whole_only=True,
        t_plus_one=True,
        price_limits=dict(CN_PRICE_LIMITS),
        commission_rate=Decimal("0.00025"),
        commission_min=Decimal(5),
        taxes=CN_TAXES,
        volume_participation=Decimal("0.25"),
    )


def us_equities() -> RulePack:
    return RulePack(
        market=Market.US,
        lot_size=1,
        fractional=True,
        qty_decimals=6,
        notional_orders=True,
    )


def rule_pack(market: Market | str, overrides: Mapping[str, Any] | None = None) -> RulePack:
    """The default pack of a market with a contest's overrides applied."""
    base = cn_a_share() if Market(market) is Market.CN else us_equities()
    return base.with_overrides(overrides or {})


# --- overrides and JSON -----------------------------------------------------------------------

_FIXED = frozenset({"market", "taxes"})


def _apply_overrides(obj: Any, overrides: Mapping[str, Any], *, prefix: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, raw in overrides.items():
        name = f"{prefix}.{key}"
        if key not in fields or key in _FIXED:
            raise RuleViolation(
                f"{name} is not an overridable rule", field=name, rule="unknown_rule"
            )
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(raw, Mapping):
                raise RuleViolation(f"{name} must be an object", field=name, rule="type")
            changes[key] = _apply_overrides(current, raw, prefix=name)
        else:
            changes[key] = _coerce(name, key, current, raw)
    return dataclasses.replace(obj, **changes)


def _coerce(name: str, key: str, current: Any, raw: Any) -> Any:
    if key == "price_limits":
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise RuleViolation(f"{name} must map boards to fractions", field=name, rule="type")
        return {_board(name, board): _decimal(name, pct, low=0) for board, pct in raw.items()}
    if isinstance(current, bool) or (current is None and isinstance(raw, bool)):
        if not isinstance(raw, bool):
            raise RuleViolation(f"{name} must be true or false", field=name, rule="type")
        return raw
    if raw is None:
        if key in _NULLABLE:
            return None
        raise RuleViolation(f"{name} may not be null", field=name, rule="type")
    if isinstance(current, int) or key in _INTEGERS:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise RuleViolation(f"{name} must be a whole number ≥ 0", field=name, rule="type")
        return raw
    return _decimal(name, raw, low=0)


_NULLABLE = frozenset(
    {"lot_size", "volume_participation", "min_price", "max_position_pct", "max_orders_per_day"}
)
_INTEGERS = frozenset({"lot_size", "qty_decimals", "pdt_max_day_trades", "max_orders_per_day"})


def _board(name: str, raw: Any) -> Board:
    try:
        return Board(raw)
    except ValueError:
        raise RuleViolation(f"{name}: unknown board {raw!r}", field=name, rule="type") from None


def _decimal(name: str, raw: Any, *, low: int) -> Decimal:
    if isinstance(raw, bool | float):
        raise RuleViolation(f"{name} must be a decimal string or integer", field=name, rule="type")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise RuleViolation(f"{name} is not a number", field=name, rule="type") from None
    if not value.is_finite() or value < low:
        raise RuleViolation(f"{name} must be a finite number ≥ {low}", field=name, rule="range")
    return value


def _to_json(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(_to_json(k)): _to_json(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [_to_json(v) for v in obj]
    if isinstance(obj, Decimal | date):
        return str(obj)
    if isinstance(obj, Board | Market | Side):
        return obj.value
    return obj

"""Corporate actions: cash dividends and splits (送转, bonus shares), and what one does to a
position on its ex-date. Pure: no storage, no clock.

A **split** multiplies every holding by ``ratio`` (new shares per old share): a 2-for-1 split is
``2``, 10送3 (three bonus shares for every ten) is ``13/10``, 10转10 is ``2``, a 1-for-10
reverse split is ``1/10``. Where the venue trades whole shares only, the holder gets
``floor(|qty| × ratio)`` shares (toward zero for a short) and the fraction left over is paid
out as **cash in lieu** at the ex-date's reference price, to the cent (a short pays it). Whole
shares, not whole lots: A-share bonus shares arrive as odd lots (零股), which may be sold. The
cost basis is kept for the whole shares and released for the fraction, so an account's P&L does
not move: the fraction is as if sold at the reference price (its realized P&L = cash in lieu −
the cost released). A venue with fractional shares keeps ``qty × ratio`` exactly (no cash).

A **dividend** pays ``cash_per_share`` (currency units, pre-tax: no withholding or 差别化 tax is
modelled) for every share held at the close before the ex-date, to the cent; a short pays it.
It is booked as realized P&L of the position (income, like a gain), so the conservation
identity ``cash + Σ qty × price = starting cash + realized + unrealized − fees`` stays exact.
The cash is credited at the ex-date's open, not on the later pay date: the price drops by the
dividend that morning, and crediting it then keeps the equity curve continuous.

The ex-date's **reference price** (除权除息参考价) is ``(previous close − Σ cash) ÷ Π ratio``
to the cent: what the exchange bases the ex-date's price band on, and what keeps a replay's
equity curve free of a fake drop on a split day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from core.errors import RuleViolation
from engine.market.model import Symbol

CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_RATIO = Fraction(1000)
MIN_RATIO = Fraction(1, 1000)


class ActionKind(StrEnum):
    DIVIDEND = "dividend"
    SPLIT = "split"


class InvalidCorporateAction(RuleViolation):
    """A corporate action that cannot be applied: no positive amount, a ratio out of range."""

    def __init__(self, detail: str, *, field: str = "action", rule: str) -> None:
        super().__init__(detail, field=field, rule=rule)


@dataclass(frozen=True, slots=True)
class CorporateAction:
    """One action on ``symbol`` effective at the open of ``ex_date`` (an exchange date).

    ``cash_per_share`` (dividends) is in the instrument's currency per share held before the
    ex-date; ``ratio`` (splits) is new shares per old share, as an exact fraction."""

    symbol: Symbol
    ex_date: date
    kind: ActionKind
    cash_per_share: Decimal = ZERO
    ratio: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        if self.kind is ActionKind.DIVIDEND:
            if not self.cash_per_share.is_finite() or not 0 < self.cash_per_share < 10**9:
                raise InvalidCorporateAction(
                    f"{self.symbol} {self.ex_date}: a dividend needs a positive cash per share",
                    field="cash_per_share",
                    rule="positive",
                )
            if self.ratio != 1:
                raise InvalidCorporateAction(
                    "a dividend has no split ratio", field="ratio", rule="one_of"
                )
        else:
            terms = max(self.ratio.numerator, self.ratio.denominator)
            if not MIN_RATIO <= self.ratio <= MAX_RATIO or self.ratio == 1 or terms > 10**6:
                raise InvalidCorporateAction(
                    f"{self.symbol} {self.ex_date}: a split ratio must be between 1/1000 and "
                    f"1000, not 1, with terms up to 10^6 (got {self.ratio})",
                    field="ratio",
                    rule="range",
                )
            if self.cash_per_share != 0:
                raise InvalidCorporateAction(
                    "a split pays no cash", field="cash_per_share", rule="one_of"
                )

    @property
    def key(self) -> tuple[Symbol, date, ActionKind]:
        """One action of a kind per symbol and ex-date (two dividends the same day are one)."""
        return (self.symbol, self.ex_date, self.kind)


def dividend(symbol: Symbol, ex_date: date, cash_per_share: Decimal | str) -> CorporateAction:
    return CorporateAction(
        symbol, ex_date, ActionKind.DIVIDEND, cash_per_share=Decimal(cash_per_share)
    )


def split(symbol: Symbol, ex_date: date, ratio: Fraction | str) -> CorporateAction:
    return CorporateAction(symbol, ex_date, ActionKind.SPLIT, ratio=Fraction(ratio))


def parse_ratio(text: str) -> Fraction:
    """``"2"``, ``"3/2"``, ``"2:1"`` (new:old, Yahoo's ``splitRatio``) or ``"1.3"`` as a fraction;
    raises ``InvalidCorporateAction``."""
    cleaned = text.strip().replace(":", "/")
    try:
        value = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        raise InvalidCorporateAction(
            f"split ratio {text!r} is not a number, a fraction or new:old",
            field="ratio",
            rule="number",
        ) from None
    return value


def reference_price(previous_close: Decimal, actions: Iterable[CorporateAction]) -> Decimal:
    """The ex-date reference price: ``(previous close − Σ cash) ÷ Π ratio`` to the cent
    (half up, as exchanges round it); never below one cent."""
    cash = sum((a.cash_per_share for a in actions if a.kind is ActionKind.DIVIDEND), ZERO)
    ratio = Fraction(1)
    for action in actions:
        if action.kind is ActionKind.SPLIT:
            ratio *= action.ratio
    exact = (previous_close - cash) * ratio.denominator / ratio.numerator
    return max(CENT, exact.quantize(CENT, ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Entitlement:
    """What an action does to one position: signed quantities, signed cash (a long receives,
    a short pays), the cost basis released for a fraction paid in lieu, and the realized P&L
    booked (``cash − released_cost``)."""

    qty_before: Decimal
    qty_after: Decimal
    cash: Decimal
    released_cost: Decimal

    @property
    def realized(self) -> Decimal:
        return self.cash - self.released_cost


def entitlement(
    action: CorporateAction,
    qty: Decimal,
    cost_basis: Decimal,
    *,
    reference: Decimal,
    whole_shares: bool,
) -> Entitlement:
    """What ``action`` does to a position of signed ``qty`` with ``cost_basis``; ``reference``
    is the ex-date reference price (cash in lieu is paid at it), ``whole_shares`` whether the
    venue trades whole shares only (module docstring). T+1 locks need no change: the ex-date
    is a later day than every earlier buy."""
    if action.kind is ActionKind.DIVIDEND:
        cash = (qty * action.cash_per_share).quantize(CENT, ROUND_HALF_EVEN)
        return Entitlement(qty, qty, cash, ZERO)
    exact = _times(qty, action.ratio)
    whole = exact.to_integral_value(ROUND_DOWN) if whole_shares else exact
    fraction = exact - whole
    if not fraction:
        return Entitlement(qty, whole, ZERO, ZERO)
    cash = (fraction * reference).quantize(CENT, ROUND_HALF_EVEN)
    released = (cost_basis * fraction / exact).quantize(CENT, ROUND_HALF_EVEN)
    return Entitlement(qty, whole, cash, released)


def _times(qty: Decimal, ratio: Fraction) -> Decimal:
    # Quantities are stored to 9 places; a split's exact product is kept to that scale.
    return (qty * ratio.numerator / ratio.denominator).quantize(Decimal("1e-9"), ROUND_DOWN)

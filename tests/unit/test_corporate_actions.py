"""Corporate actions, pure: what a split or a dividend does to a position, its properties,
and the two sources (CSV, Yahoo's ``Ticker.actions``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.corporate_actions import (
    ActionKind,
    CorporateAction,
    InvalidCorporateAction,
    dividend,
    entitlement,
    parse_ratio,
    reference_price,
    split,
)
from engine.market.csv_actions import parse_actions
from engine.trading.corporate import Application, apply_to_portfolio, replay_with_actions
from engine.trading.orders import Fill, Side
from engine.trading.portfolio import Portfolio, Position, replay, same_books
from tests.yahoo import offline_source, recorded

D = Decimal
DAY = date(2024, 6, 10)
CENT = D("0.01")

ratios = st.sampled_from(
    [Fraction(2), Fraction(13, 10), Fraction(3, 2), Fraction(4, 3), Fraction(1, 10), Fraction(10)]
)
prices = st.decimals(min_value=D("0.50"), max_value=D("2000"), places=2)
quantities = st.integers(min_value=-5_000, max_value=50_000).filter(bool).map(D)


@settings(max_examples=100, deadline=None)
@given(qty=quantities, price=prices, ratio=ratios, whole=st.booleans())
def test_a_split_conserves_value_and_pnl(qty: D, price: D, ratio: Fraction, whole: bool) -> None:
    action = split("AAA", DAY, ratio)
    cost = (qty * price * D("0.9")).quantize(CENT)
    reference = reference_price(price, [action])
    due = entitlement(action, qty, cost, reference=reference, whole_shares=whole)
    if whole:
        assert due.qty_after == due.qty_after.to_integral_value()
        assert abs(due.qty_after) <= abs(qty * ratio.numerator / ratio.denominator)
    # Value: the shares at the reference price plus the cash in lieu equal the shares held
    # at the previous close, within the reference price's rounding (half a cent a new share)
    # and the cents of the cash.
    before = qty * price
    after = due.qty_after * reference + due.cash
    tolerance = abs(qty) * ratio.numerator / ratio.denominator * D("0.005") + CENT
    assert abs(after - before) <= tolerance
    # P&L: the conservation identity holds exactly after the split, at the reference price.
    portfolio = Portfolio(1, D(1_000_000), D(1_000_000) - cost, positions={})
    portfolio.positions["AAA"] = Position("AAA", qty, cost)
    assert apply_to_portfolio(portfolio, action, reference=reference, whole_shares=whole) == due
    assert portfolio.conservation_gap({"AAA": reference}) == 0


@settings(max_examples=100, deadline=None)
@given(qty=quantities, amount=st.decimals(min_value=D("0.001"), max_value=D("20"), places=3))
def test_a_dividend_pays_shares_times_amount(qty: D, amount: D) -> None:
    action = dividend("AAA", DAY, amount)
    bought = D(100_000) - qty  # qty shares at 1.00
    portfolio = Portfolio(1, D(100_000), bought, positions={"AAA": Position("AAA", qty, qty)})
    due = apply_to_portfolio(portfolio, action, reference=D(1), whole_shares=True)
    assert due is not None and due.qty_after == qty
    assert due.cash == (qty * amount).quantize(CENT)  # a short pays it
    assert portfolio.cash == bought + due.cash
    assert portfolio.conservation_gap({"AAA": D(1)}) == 0


@settings(max_examples=50, deadline=None)
@given(qty=st.integers(min_value=1, max_value=9_999).map(lambda q: D(q * 100)), ratio=ratios)
def test_replay_applies_each_recorded_action_once_at_the_open(qty: D, ratio: Fraction) -> None:
    """The stored books are the replay of fills and applications; replaying twice (or holding
    the same application list) gives the same books: applying twice changes nothing."""
    buy = _fill(Side.BUY, qty, D("20.00"), date(2024, 6, 7))
    action = split("AAA", DAY, ratio)
    stored = replay(1, D(10_000_000), [buy])
    reference = reference_price(D("20.00"), [action])
    due = apply_to_portfolio(stored, action, reference=reference, whole_shares=True)
    assert due is not None
    applied = [(Application(1, 7, DAY, reference, True, due), action)]
    derived = replay_with_actions(1, D(10_000_000), [buy], applied)
    assert same_books(stored, derived) == []
    assert same_books(derived, replay_with_actions(1, D(10_000_000), [buy], applied)) == []
    # A sale on the ex-date comes after the split (the action takes effect at the open).
    sell = _fill(Side.SELL, due.qty_after, reference, DAY)
    stored.apply(sell)
    assert same_books(stored, replay_with_actions(1, D(10_000_000), [buy, sell], applied)) == []
    assert stored.positions["AAA"].qty == 0


def _fill(side: Side, qty: D, price: D, day: date) -> Fill:
    return Fill(1, 1, "AAA", side, qty, price, (qty * price).quantize(CENT), D(0), D(0), D(0), day)


def test_the_reference_price_is_the_exchanges() -> None:
    """10送3派5 after a 13.50 close: (13.50 − 0.50) ÷ 1.3 = 10.00."""
    actions = [dividend("A", DAY, D("0.5")), split("A", DAY, Fraction(13, 10))]
    assert reference_price(D("13.50"), actions) == D("10.00")
    assert reference_price(D("0.01"), [dividend("A", DAY, D("5"))]) == CENT  # never below


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("2", Fraction(2)),
        ("13/10", Fraction(13, 10)),
        ("2:1", Fraction(2)),
        ("1.3", Fraction(13, 10)),
    ],
)
def test_ratios_parse_exactly(text: str, ratio: Fraction) -> None:
    assert parse_ratio(text) == ratio


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"kind": ActionKind.DIVIDEND}, "cash_per_share", "positive"),
        ({"kind": ActionKind.SPLIT, "ratio": Fraction(1)}, "ratio", "range"),
        ({"kind": ActionKind.SPLIT, "ratio": Fraction(5000)}, "ratio", "range"),
        (
            {"kind": ActionKind.SPLIT, "ratio": Fraction(2), "cash_per_share": D(1)},
            "cash_per_share",
            "one_of",
        ),
    ],
)
def test_broken_actions_are_refused_naming_field_and_rule(
    kwargs: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(InvalidCorporateAction) as caught:
        CorporateAction("A", DAY, **kwargs)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_csv_rows_parse_and_bad_rows_name_their_line() -> None:
    text = "Symbol,Ex_Date,Kind,Cash_Per_Share,Ratio,note\naaa,2024-06-10,split,,10:1,x\n"
    assert parse_actions(text) == [split("AAA", DAY, Fraction(10))]
    for bad, rule in [
        ("aaa,2024-06-10,merger,,\n", "one_of"),
        ("aaa,10/06/2024,dividend,1,\n", "date"),
        ("aaa,2024-06-10,dividend,abc,\n", "number"),
        ("aaa,2024-06-10,split,,x\n", "number"),
    ]:
        with pytest.raises(InvalidCorporateAction) as caught:
            parse_actions("symbol,ex_date,kind,cash_per_share,ratio\n" + bad)
        assert caught.value.rule == rule and "row 2" in caught.value.detail
    twice = "symbol,ex_date,kind,cash_per_share\nA,2024-06-10,dividend,1\nA,2024-06-10,dividend,2\n"
    with pytest.raises(InvalidCorporateAction, match="row 3") as caught:
        parse_actions(twice)
    assert caught.value.rule == "unique"


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_yahoo_actions_dividends_adjusted_like_its_bars_or_as_traded(tmp_path: Path) -> None:
    """NVDA: 0.04 paid 2024-03-05 (Yahoo says 0.004 after the 10:1 split of 06-10), 0.01 on
    06-11. Yahoo's own bars are split-adjusted, so by default no split comes."""
    source, _ = offline_source({"NVDA": [recorded("nvda_actions_chart.json")]}, tmp_path)
    year = (date(2024, 1, 1), date(2024, 12, 31))
    assert source.actions("NVDA", *year) == [
        dividend("NVDA", date(2024, 3, 5), D("0.004")),
        dividend("NVDA", date(2024, 6, 11), D("0.01")),
    ]
    assert source.actions("NVDA", *year, as_traded=True) == [
        dividend("NVDA", date(2024, 3, 5), D("0.04")),
        split("NVDA", DAY, Fraction(10)),
        dividend("NVDA", date(2024, 6, 11), D("0.01")),
    ]
    assert source.actions("NVDA", date(2024, 6, 1), date(2024, 6, 10), as_traded=True) == [
        split("NVDA", DAY, Fraction(10))
    ]

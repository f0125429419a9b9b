"""Scenario tests of the engine's core on an in-memory venue: A-share and US rules."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from engine.market.model import Bar, Board, Instrument
from engine.trading.admission import OrderRefused
from engine.trading.orders import OrderStatus, Reason
from engine.trading.rules import RulePack, cn_a_share, us_equities
from engine.trading.simulator import InMemoryVenue, venue_for
from tests.engine_builders import cn_stock, request, us_stock

D = Decimal


def flat_bars(
    symbol: str, start: date, closes: list[str], *, volume: int = 10_000_000
) -> list[Bar]:
    """One bar per weekday; each opens at the previous close and ranges ±1%."""
    bars, day, previous = [], start, D(closes[0])
    for close in closes:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        c, o = D(close), previous
        high, low = max(o, c) * D("1.01"), min(o, c) * D("0.99")
        bars.append(
            Bar(symbol, day, o, high.quantize(D("0.01")), low.quantize(D("0.01")), c, volume)
        )
        previous, day = c, day + timedelta(days=1)
    return bars


def venue(
    rules: RulePack, instrument: Instrument, bars: list[Bar], cash: str = "100000"
) -> InMemoryVenue:
    v = venue_for(rules.with_overrides({"slippage_bps": 0}), [instrument], bars)
    v.open_account(1, D(cash))
    v.start()
    return v


def cn_venue(
    closes: list[str],
    *,
    board: Board = Board.MAIN,
    start: date = date(2024, 3, 4),
    cash: str = "100000",
) -> InMemoryVenue:
    return venue(cn_a_share(), cn_stock(board=board), flat_bars("AAA", start, closes), cash)


def refused(v: InMemoryVenue, **kwargs: object) -> Reason:
    with pytest.raises(OrderRefused) as caught:
        v.submit(1, request(**kwargs))  # type: ignore[arg-type]
    return caught.value.reason


def test_cn_buys_come_in_lots_of_100() -> None:
    v = cn_venue(["10"] * 3)
    assert refused(v, qty="150") is Reason.LOT_SIZE
    assert refused(v, qty="10.5") is Reason.QTY_PRECISION
    assert v.submit(1, request(qty="200")).status is OrderStatus.NEW


def test_cn_odd_lot_may_only_be_sold_as_the_whole_position() -> None:
    v = cn_venue(["10"] * 4)
    v.portfolios[1].position("AAA").qty = D(250)  # e.g. after a bonus issue
    v.portfolios[1].position("AAA").cost_basis = D(2500)
    v.portfolios[1].cash -= D(2500)
    assert refused(v, side="sell", qty="50") is Reason.LOT_SIZE
    assert v.submit(1, request("sell", qty="250")).status is OrderStatus.NEW


def test_t_plus_one_shares_bought_today_cannot_be_sold_the_same_day() -> None:
    v = cn_venue(["10"] * 5)
    v.submit(1, request(qty="100"))
    v.advance()  # bought on day 2
    assert v.portfolios[1].qty("AAA") == 100
    # Holding 100 from day 2, a buy and a sell of 100 both fill on day 3: the sell may only use
    # what was held before day 3 — it does — while a sell of 200 is refused up front.
    assert refused(v, side="sell", qty="200") is Reason.INSUFFICIENT_SELLABLE
    v.submit(1, request(qty="100"))
    v.submit(1, request("sell", qty="100"))
    fills = v.advance()
    assert sorted(f.side.value for f in fills) == ["buy", "sell"]
    day3 = v.portfolios[1].position("AAA")
    assert day3.qty == 100 and day3.sellable(v.tape.today, t_plus_one=True) == 0  # type: ignore[arg-type]


def test_t_plus_one_blocks_selling_shares_from_todays_fill() -> None:
    v = cn_venue(["10"] * 4, cash="100000")
    v.submit(1, request(qty="100"))
    v.advance()
    # Sell 100 (held) and, in the same day, the engine must not let a second sell touch the
    # 100 bought that day.
    v.submit(1, request(qty="100"))
    v.submit(1, request("sell", qty="100"))
    v.advance()
    pos = v.portfolios[1].position("AAA")
    assert pos.qty == 100 and pos.bought_on_day == 100


def test_t_plus_zero_in_us_lets_a_same_day_round_trip_settle() -> None:
    v = venue(us_equities(), us_stock(), flat_bars("AAA", date(2024, 3, 4), ["100"] * 3))
    v.submit(1, request(qty="10"))
    v.advance()
    assert v.portfolios[1].position("AAA").sellable(v.tape.today, t_plus_one=False) == 10  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("board", "ok", "too_far"),
    [
        (Board.MAIN, "11.00", "11.01"),
        (Board.CHINEXT, "12.00", "12.01"),
        (Board.ST, "10.50", "10.51"),
    ],
)
def test_limit_price_outside_the_band_is_refused(board: Board, ok: str, too_far: str) -> None:
    v = cn_venue(["10.00"] * 3, board=board)
    assert v.submit(1, request(type="limit", limit=ok)).status is OrderStatus.NEW
    assert refused(v, type="limit", limit=too_far) is Reason.OUTSIDE_PRICE_BAND


def test_buy_rejected_when_the_next_day_opens_locked_at_limit_up() -> None:
    bars = flat_bars("AAA", date(2024, 3, 4), ["10.00", "10.00"])
    bars.append(Bar("AAA", date(2024, 3, 6), D("11.00"), D("11.00"), D("11.00"), D("11.00"), 500))
    v = venue(cn_a_share(), cn_stock(), bars)
    v.advance()
    order = v.submit(1, request(qty="100"))
    v.advance()
    assert v.orders[order.id].status is OrderStatus.REJECTED
    assert v.orders[order.id].reason is Reason.LIMIT_UP
    assert v.portfolios[1].cash == D(100_000)


def test_stamp_duty_changes_on_2023_08_28_during_a_replay() -> None:
    # Fridays 25 Aug and Monday 28 Aug 2023: the same sell costs 0.1% then 0.05%.
    v = cn_venue(["10.00"] * 6, start=date(2023, 8, 22), cash="1000000")
    v.submit(1, request(qty="20000"))
    v.advance()  # buy fills Wed 23 Aug
    v.submit(1, request("sell", qty="10000"))
    v.advance()  # Thu 24 Aug
    v.advance()  # Fri 25 Aug: nothing
    v.submit(1, request("sell", qty="10000"))
    v.advance()  # Mon 28 Aug
    sells = [f for f in v.fills if f.side.value == "sell"]
    assert [f.day for f in sells] == [date(2023, 8, 24), date(2023, 8, 28)]
    assert [f.stamp_duty for f in sells] == [D("100.00"), D("50.00")]


def test_open_buy_orders_reserve_buying_power() -> None:
    # Cash 10,000 with an open 3,000 limit buy leaves 7,000; an 8,000 order is refused.
    v = venue(us_equities(), us_stock(), flat_bars("AAA", date(2024, 3, 4), ["100"] * 3), "10000")
    v.submit(1, request(type="limit", limit="100.00", qty="30"))
    assert refused(v, type="limit", limit="100.00", qty="80") is Reason.INSUFFICIENT_BUYING_POWER
    assert v.submit(1, request(type="limit", limit="100.00", qty="70")).status is OrderStatus.NEW


def test_selling_more_than_held_is_refused_without_short_selling() -> None:
    v = cn_venue(["10"] * 3)
    assert refused(v, side="sell", qty="100") is Reason.INSUFFICIENT_SELLABLE


def test_short_selling_guard_allows_shorts_with_margin() -> None:
    rules = us_equities().with_overrides({"guards": {"short_selling": True}})
    v = venue(
        rules, us_stock(), flat_bars("AAA", date(2024, 3, 4), ["100", "100", "90", "90"]), "10000"
    )
    v.submit(1, request("sell", qty="50"))
    v.advance()  # short 50 at the day-2 open, 100
    assert v.portfolios[1].qty("AAA") == -50
    v.advance()  # closes at 90
    v.submit(1, request("buy", qty="50"))
    v.advance()
    portfolio = v.portfolios[1]
    assert portfolio.qty("AAA") == 0 and portfolio.realized_pnl == D("500.00")


def test_notional_and_fractional_orders_in_us() -> None:
    v = venue(us_equities(), us_stock(), flat_bars("AAA", date(2024, 3, 4), ["300"] * 3))
    v.submit(1, request(qty=None, notional="1000.00"))
    v.submit(1, request(qty="0.5"))
    v.advance()
    assert v.portfolios[1].qty("AAA") == D("3.833333")  # 1000 / 300 rounded down, plus 0.5


def test_notional_is_refused_in_cn() -> None:
    assert refused(cn_venue(["10"] * 3), qty=None, notional="1000") is Reason.NOTIONAL_NOT_ALLOWED


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"type": "limit"}, Reason.LIMIT_PRICE_REQUIRED),
        ({"type": "stop_limit", "stop": "10.00"}, Reason.LIMIT_PRICE_REQUIRED),
        ({"type": "stop"}, Reason.STOP_PRICE_REQUIRED),
        ({"type": "market", "limit": "10.00"}, Reason.PRICE_NOT_ALLOWED),
        ({"qty": "0"}, Reason.INVALID_QTY),
        ({"qty": "-100"}, Reason.INVALID_QTY),
        ({"qty": "NaN"}, Reason.INVALID_QTY),
        ({"qty": "1e20"}, Reason.INVALID_QTY),
        ({"type": "limit", "limit": "10.001"}, Reason.TICK_SIZE),
        ({"qty": "1000000"}, Reason.INSUFFICIENT_BUYING_POWER),
    ],
)
def test_bad_orders_are_refused_with_a_reason_and_nothing_is_written(
    kwargs: dict, reason: Reason
) -> None:
    v = cn_venue(["10.00"] * 3)
    assert refused(v, **kwargs) is reason
    assert v.orders == {} and v.portfolios[1].cash == D(100_000)


def test_guards_min_price_max_position_and_orders_per_day() -> None:
    rules = cn_a_share().with_overrides(
        {"guards": {"min_price": "11", "max_position_pct": "0.2", "max_orders_per_day": 2}}
    )
    v = venue(rules, cn_stock(), flat_bars("AAA", date(2024, 3, 4), ["10.00"] * 3))
    assert refused(v, qty="100") is Reason.MIN_PRICE
    rules = cn_a_share().with_overrides(
        {"guards": {"max_position_pct": "0.2", "max_orders_per_day": 2}}
    )
    v = venue(rules, cn_stock(), flat_bars("AAA", date(2024, 3, 4), ["10.00"] * 3))
    assert refused(v, qty="2100") is Reason.MAX_POSITION  # 21,000 > 20% of 100,000
    v.submit(1, request(qty="100"))
    v.submit(1, request(qty="100"))
    assert refused(v, qty="100") is Reason.MAX_ORDERS_PER_DAY


def test_volume_cap_gives_partial_fills_and_gtc_keeps_working() -> None:
    bars = flat_bars("AAA", date(2024, 3, 4), ["10.00"] * 4, volume=2_000)
    v = venue(cn_a_share(), cn_stock(), bars)
    order = v.submit(1, request(qty="1000", tif="gtc"))
    v.advance()
    assert v.orders[order.id].status is OrderStatus.PARTIALLY_FILLED
    assert v.orders[order.id].filled_qty == 500  # 25% of 2,000
    v.advance()
    assert v.orders[order.id].filled_qty == 1000 and v.orders[order.id].status is OrderStatus.FILLED


def test_time_in_force_day_expires_ioc_cancels_fok_all_or_nothing() -> None:
    bars = flat_bars("AAA", date(2024, 3, 4), ["10.00"] * 3, volume=2_000)
    v = venue(cn_a_share(), cn_stock(), bars)
    day = v.submit(1, request(type="limit", limit="9.00", qty="100"))
    ioc = v.submit(1, request(qty="1000", tif="ioc"))
    fok = v.submit(1, request(qty="1000", tif="fok"))
    v.advance()
    assert (v.orders[day.id].status, v.orders[day.id].reason) == (
        OrderStatus.EXPIRED,
        Reason.DAY_ENDED,
    )
    assert v.orders[ioc.id].status is OrderStatus.CANCELED and v.orders[ioc.id].filled_qty == 500
    assert v.orders[fok.id].filled_qty == 0 and v.orders[fok.id].reason is Reason.FOK_NOT_FILLED


def test_cancel_releases_the_reservation() -> None:
    v = venue(us_equities(), us_stock(), flat_bars("AAA", date(2024, 3, 4), ["100"] * 3), "10000")
    order = v.submit(1, request(type="limit", limit="100.00", qty="90"))
    v.cancel(order.id)
    assert v.submit(1, request(type="limit", limit="100.00", qty="90")).status is OrderStatus.NEW


def test_pattern_day_trader_rule_blocks_the_fourth_day_trade_under_25k() -> None:
    rules = us_equities().with_overrides({"pattern_day_trader": True})
    v = venue(rules, us_stock(), flat_bars("AAA", date(2024, 3, 4), ["100"] * 8), "20000")
    v.submit(1, request(qty="50"))
    v.advance()
    reasons = []
    for _ in range(4):
        # Buy 10 and sell 10 on the same bar: a day trade each day.
        v.submit(1, request(qty="10"))
        sell = v.submit(1, request("sell", qty="10"))
        v.advance()
        reasons.append(v.orders[sell.id].reason)
    assert reasons[:3] == [None, None, None]
    assert reasons[3] is Reason.PATTERN_DAY_TRADER


def test_a_symbol_not_traded_yet_has_no_price_and_an_unknown_one_is_unknown() -> None:
    # As the order desk refuses them: BBB is listed but its first bar is on day 2.
    bars = flat_bars("AAA", date(2024, 3, 4), ["10"] * 3)
    bars += flat_bars("BBB", date(2024, 3, 5), ["10"] * 2)
    v = venue_for(cn_a_share(), [cn_stock("AAA"), cn_stock("BBB")], bars)
    v.open_account(1, D(100_000))
    v.start()
    assert refused(v, symbol="BBB") is Reason.NO_PRICE
    assert refused(v, symbol="ZZZ") is Reason.UNKNOWN_SYMBOL
    v.advance()
    assert v.submit(1, request(symbol="BBB")).status is OrderStatus.NEW

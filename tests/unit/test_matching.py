"""The fill model: prices for each order type, gaps, same-bar ambiguity, price limits."""

from decimal import Decimal

import pytest

from engine.trading.matching import executable_qty, match
from engine.trading.orders import Reason
from engine.trading.rules import PriceBand, cn_a_share, us_equities
from tests.engine_builders import D, bar, order, request

US = us_equities().with_overrides({"slippage_bps": 0})
CN = cn_a_share().with_overrides({"slippage_bps": 0})


def test_market_buy_fills_at_open_plus_slippage_rounded_up_to_tick() -> None:
    rules = us_equities().with_overrides({"slippage_bps": 10})
    outcome = match(order(request()), bar("100.00", "101", "99", "100.5"), rules)
    assert outcome.price == D("100.10")


def test_market_sell_slippage_rounds_down_and_stays_inside_the_bar() -> None:
    rules = us_equities().with_overrides({"slippage_bps": 500})
    outcome = match(order(request("sell")), bar("100.00", "101", "98", "100"), rules)
    assert outcome.price == D("98")  # 95.00 would be below the bar's low


@pytest.mark.parametrize(
    ("limit", "bar_prices", "expected"),
    [
        ("99.00", ("100", "101", "98", "100"), D("99.00")),  # traded through the limit
        ("101.00", ("100", "102", "99", "100"), D("100")),  # opened better than the limit
        ("95.00", ("90", "91", "89", "90"), D("90")),  # gap down: the open, not the limit
        ("97.00", ("100", "101", "98", "100"), None),  # never reached
    ],
)
def test_limit_buy_fills_at_min_of_open_and_limit(
    limit: str, bar_prices: tuple[str, str, str, str], expected: Decimal | None
) -> None:
    outcome = match(order(request(type="limit", limit=limit)), bar(*bar_prices), US)
    assert outcome.price == expected


def test_limit_sell_gap_up_fills_at_the_open() -> None:
    outcome = match(
        order(request("sell", type="limit", limit="105")), bar("110", "112", "108", "111"), US
    )
    assert outcome.price == D("110")


def test_stop_buy_triggers_at_stop_or_gap_open() -> None:
    inside = match(order(request(type="stop", stop="102")), bar("100", "103", "99", "101"), US)
    gap = match(order(request(type="stop", stop="102")), bar("105", "106", "104", "105"), US)
    untouched = match(order(request(type="stop", stop="110")), bar("100", "103", "99", "101"), US)
    assert (inside.price, gap.price, untouched.price) == (D("102"), D("105"), None)
    assert inside.triggered and not untouched.triggered


def test_stop_sell_gap_down_fills_at_the_open_not_the_stop() -> None:
    outcome = match(order(request("sell", type="stop", stop="95")), bar("90", "91", "88", "89"), US)
    assert outcome.price == D("90")


def test_stop_limit_triggered_inside_the_bar_with_limit_below_stop_takes_the_worse_outcome() -> (
    None
):
    # Rose through 102 (trigger) — whether it came back to 101 after is unknowable: no fill.
    req = request(type="stop_limit", stop="102", limit="101")
    outcome = match(order(req), bar("100", "103", "99", "102.5"), US)
    assert outcome.triggered and outcome.price is None


def test_stop_limit_triggered_inside_the_bar_fills_at_stop_when_limit_admits_it() -> None:
    req = request(type="stop_limit", stop="102", limit="103")
    assert match(order(req), bar("100", "104", "99", "103"), US).price == D("102")


def test_stop_limit_triggered_at_the_open_is_a_limit_order_on_the_same_bar() -> None:
    req = request(type="stop_limit", stop="102", limit="104")
    assert match(order(req), bar("103", "105", "102.5", "104"), US).price == D("103")


def test_triggered_stop_limit_acts_as_limit_on_later_bars() -> None:
    req = request(type="stop_limit", stop="102", limit="101")
    later = match(order(req, triggered=True), bar("101.5", "102", "100.5", "101"), US)
    assert later.price == D("101")


def test_market_buy_at_limit_up_open_is_rejected_and_sell_at_limit_down_too() -> None:
    band = PriceBand(down=D("9.00"), up=D("11.00"))
    locked_up = bar("11.00", "11.00", "11.00", "11.00")
    locked_down = bar("9.00", "9.00", "9.00", "9.00")
    assert match(order(request()), locked_up, CN, band).rejected is Reason.LIMIT_UP
    assert match(order(request("sell")), locked_down, CN, band).rejected is Reason.LIMIT_DOWN


def test_limit_buy_waits_when_its_price_would_be_limit_up() -> None:
    band = PriceBand(down=D("9.00"), up=D("11.00"))
    outcome = match(
        order(request(type="limit", limit="11.00")), bar("11.00", "11", "10.5", "11"), CN, band
    )
    assert outcome.price is None and outcome.rejected is None


def test_market_buy_with_slippage_never_exceeds_limit_up() -> None:
    rules = cn_a_share().with_overrides({"slippage_bps": 100})
    band = PriceBand(down=D("9.00"), up=D("11.00"))
    outcome = match(order(request()), bar("10.95", "11.00", "10.90", "11"), rules, band)
    assert outcome.price == D("11.00")  # 10.95 × 1.01 = 11.06, capped at the band and the bar


def test_volume_cap_gives_whole_lots() -> None:
    rules = cn_a_share()  # 25% participation
    assert executable_qty(D(10_000), bar_volume=10_150, rules=rules, lot=100) == D(2500)
    assert executable_qty(D(2_000), bar_volume=10_150, rules=rules, lot=100) == D(2000)
    assert executable_qty(D(1_000), bar_volume=300, rules=rules, lot=100) == D(0)


def test_fractional_volume_cap_rounds_down_to_the_qty_precision() -> None:
    rules = us_equities().with_overrides({"volume_participation": "0.1"})
    assert executable_qty(D("5.5"), bar_volume=33, rules=rules, lot=1, decimals=6) == D("3.3")
    assert executable_qty(D("5"), bar_volume=33, rules=rules, lot=1) == D("3")  # whole stays whole

"""Rule packs: A-share fees with effective dates, price bands, overrides."""

from datetime import date
from decimal import Decimal

import pytest

from core.errors import RuleViolation
from engine.market.model import Board, Market
from engine.trading.orders import Side
from engine.trading.rules import cn_a_share, rule_pack, us_equities

D = Decimal


@pytest.mark.parametrize(
    ("day", "stamp", "transfer"),
    [
        (date(2022, 4, 28), D("100.00"), D("2.00")),  # 0.1% stamp, 0.002% transfer
        (date(2022, 4, 29), D("100.00"), D("1.00")),  # transfer fee cut
        (date(2023, 8, 25), D("100.00"), D("1.00")),
        (date(2023, 8, 28), D("50.00"), D("1.00")),  # stamp duty halved from this date
    ],
)
def test_cn_sell_fees_follow_their_effective_dates(day: date, stamp: D, transfer: D) -> None:
    fees = cn_a_share().fees(Side.SELL, D(100_000), day)
    assert fees.commission == D("25.00")  # 0.025%
    assert (fees.stamp_duty, fees.transfer_fee) == (stamp, transfer)


def test_cn_buys_pay_no_stamp_duty_and_at_least_five_yuan_commission() -> None:
    fees = cn_a_share().fees(Side.BUY, D(4_000), date(2024, 1, 2))
    assert fees.stamp_duty == 0
    assert fees.commission == D("5.00")  # 4000 × 0.025% = 1.00 < ¥5 minimum
    assert fees.transfer_fee == D("0.04")


def test_us_default_is_commission_free() -> None:
    assert us_equities().fees(Side.SELL, D(100_000), date(2024, 1, 2)).total == 0


@pytest.mark.parametrize(
    ("board", "close", "down", "up"),
    [
        (Board.MAIN, "10.05", "9.05", "11.06"),  # 9.045 → 9.05, 11.055 → 11.06 (half up)
        (Board.CHINEXT, "10.00", "8.00", "12.00"),
        (Board.STAR, "33.33", "26.66", "40.00"),
        (Board.ST, "3.33", "3.16", "3.50"),
    ],
)
def test_price_band_from_previous_close_rounded_to_the_tick(
    board: Board, close: str, down: str, up: str
) -> None:
    band = cn_a_share().price_band(board, D(close))
    assert band is not None
    assert (band.down, band.up) == (D(down), D(up))


def test_us_has_no_price_band() -> None:
    assert us_equities().price_band(Board.MAIN, D(100)) is None


def test_overrides_replace_fields_and_nested_guards() -> None:
    pack = rule_pack(
        Market.CN,
        {"commission_rate": "0.0003", "guards": {"short_selling": True, "max_orders_per_day": 5}},
    )
    assert pack.commission_rate == D("0.0003")
    assert pack.guards.short_selling is True and pack.guards.max_orders_per_day == 5
    assert pack.t_plus_one is True  # untouched


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"no_such_rule": 1}, "rules.no_such_rule", "unknown_rule"),
        ({"market": "US"}, "rules.market", "unknown_rule"),
        ({"t_plus_one": "yes"}, "rules.t_plus_one", "type"),
        ({"commission_rate": -1}, "rules.commission_rate", "range"),
        ({"commission_rate": 0.1}, "rules.commission_rate", "type"),
        ({"guards": {"max_orders_per_day": -2}}, "rules.guards.max_orders_per_day", "type"),
        ({"price_limits": {"moon": "0.1"}}, "rules.price_limits", "type"),
    ],
)
def test_bad_overrides_name_the_field_and_rule(overrides: dict, field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        rule_pack(Market.CN, overrides)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_rule_pack_serializes_for_display() -> None:
    data = cn_a_share().to_json()
    assert data["price_limits"]["st"] == "0.05"
    assert data["guards"]["short_selling"] is False

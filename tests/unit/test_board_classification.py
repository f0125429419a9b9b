"""A-share boards come from the code, special treatment from a flag or an "ST"/"*ST" name, and
the price band from both: an ST stock is ±5% on a main board only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.market.model import Board, Market, cn_board, instrument_for, special_treatment_name
from engine.trading.rules import rule_pack

D = Decimal


@pytest.mark.parametrize(
    ("code", "board"),
    [
        ("600519", Board.MAIN),
        ("601318", Board.MAIN),
        ("603259", Board.MAIN),
        ("605499", Board.MAIN),
        ("000001", Board.MAIN),
        ("001979", Board.MAIN),
        ("002594", Board.MAIN),
        ("003816", Board.MAIN),
        ("300750", Board.CHINEXT),
        ("301269", Board.CHINEXT),
        ("688981", Board.STAR),
        ("689009", Board.STAR),
        ("830799", Board.BEIJING),
        ("430047", Board.BEIJING),
        ("920002", Board.BEIJING),
    ],
)
def test_the_board_comes_from_the_code(code: str, board: Board) -> None:
    assert cn_board(code) is board


@pytest.mark.parametrize(
    ("name", "st"),
    [
        ("ST康美", True),
        ("*ST 中华", True),
        ("*ST中华A", True),
        ("ST Kangmei", True),
        ("  *ST Example", True),
        ("Steel Corp", False),
        ("Star One", False),
        ("STAR Market Tech", False),
        ("Stone Holdings", False),
        ("贵州茅台", False),
        ("", False),
    ],
)
def test_special_treatment_is_an_st_prefix_not_followed_by_a_latin_letter(
    name: str, st: bool
) -> None:
    assert special_treatment_name(name) is st


@pytest.mark.parametrize(
    ("symbol", "name", "board"),
    [
        ("600010.SS", "Steel Corp", Board.MAIN),  # a name, not special treatment
        ("688001.SS", "Star One", Board.STAR),
        ("600001.SS", "ST康美", Board.ST),
        ("000002.SZ", "*ST 中华", Board.ST),
        ("300001.SZ", "*ST 创业", Board.CHINEXT),  # ST on ChiNext keeps ±20%
        ("688002.SS", "ST 科创", Board.STAR),  # ST on STAR keeps ±20%
        ("830001.BJ", "Beijing Tech", Board.BEIJING),
    ],
)
def test_instruments_are_classified_by_code_and_st_name(
    symbol: str, name: str, board: Board
) -> None:
    instrument = instrument_for(symbol, source="y", name=name)
    assert (instrument.market, instrument.board) == (Market.CN, board)


def test_an_explicit_flag_wins_over_the_name() -> None:
    assert cn_board("600001", "Plain Name", special_treatment=True) is Board.ST
    assert cn_board("600001", "ST康美", special_treatment=False) is Board.MAIN
    assert cn_board("300001", "Plain", special_treatment=True) is Board.CHINEXT
    flagged = instrument_for("000001.SZ", source="csv", name="Bank", special_treatment=True)
    assert flagged.board is Board.ST


@pytest.mark.parametrize(
    ("symbol", "name", "down", "up"),
    [
        ("600010.SS", "Steel Corp", "9.00", "11.00"),
        ("688001.SS", "Star One", "8.00", "12.00"),
        ("300001.SZ", "ST 创业", "8.00", "12.00"),
        ("600001.SS", "ST康美", "9.50", "10.50"),
        ("830001.BJ", "Beijing Tech", "7.00", "13.00"),
        ("920001.BJ", "ST 北交", "7.00", "13.00"),
    ],
)
def test_price_bands_follow_the_board(symbol: str, name: str, down: str, up: str) -> None:
    band = rule_pack(Market.CN).price_band(
        instrument_for(symbol, source="y", name=name).board, D(10)
    )
    assert band is not None
    assert (band.down, band.up) == (D(down), D(up))


def test_the_beijing_band_is_overridable_by_name() -> None:
    rules = rule_pack(Market.CN, {"price_limits": {"beijing": "0.3", "main": "0.1"}})
    assert rules.price_limits == {Board.BEIJING: D("0.3"), Board.MAIN: D("0.1")}
    assert rules.to_json()["price_limits"]["beijing"] == "0.3"
    assert rule_pack(Market.CN).to_json()["price_limits"]["beijing"] == "0.30"

"""Detectors of multi-accounting: planted pairs are found, independent traders are not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.integrity.model import ClientSignal, SignalKind, SignalRecord
from engine.integrity.detectors import (
    DetectorSettings,
    FindingKind,
    TradeFact,
    mirrored_trades,
    opposite_trades,
    scan,
    shared_signals,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DAY0 = date(2026, 1, 5)
SYMBOLS = [f"{600000 + i}.SH" for i in range(200)]
RULES = DetectorSettings(min_matches=3, window_days=1)


def _signal(i: int, user: int, *, ip: str | None, device: str | None, ago_days: int = 1):
    return SignalRecord(i, user, SignalKind.LOGIN, ip, device, None, NOW - timedelta(days=ago_days))


class Trades:
    """Builds fills with fresh ids."""

    def __init__(self) -> None:
        self.facts: list[TradeFact] = []

    def add(
        self,
        member: int,
        symbol: str,
        side: str,
        day: int,
        *,
        contest: int = 1,
        volume: int | None = 1_000_000,
        qty: str = "100",
    ) -> None:
        self.facts.append(
            TradeFact(
                len(self.facts) + 1,
                contest,
                member,
                symbol,
                side,
                Decimal(qty),
                DAY0 + timedelta(days=day),
                volume,
            )
        )


def _independent(trades: Trades, rng: np.random.Generator, members: range, per_member: int):
    for member in members:
        for _ in range(per_member):
            trades.add(
                member,
                SYMBOLS[int(rng.integers(len(SYMBOLS)))],
                "buy" if rng.random() < 0.5 else "sell",
                int(rng.integers(60)),
            )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 8), st.integers(0, 1))
def test_a_planted_mirror_is_found_and_independent_traders_are_not(
    seed: int, copies: int, lag: int
) -> None:
    rng = np.random.default_rng(seed)
    trades = Trades()
    _independent(trades, rng, range(1, 11), per_member=10)
    # member 50 trades on its own; member 51 copies it ``lag`` days later
    for i in range(copies):
        symbol, side, day = SYMBOLS[int(rng.integers(len(SYMBOLS)))], "buy", 2 * i
        trades.add(50, symbol, side, day)
        trades.add(51, symbol, side, day + lag)
    found = mirrored_trades(trades.facts, RULES)
    assert [f.member_ids for f in found] == [(50, 51)]
    assert found[0].evidence["matches"] == copies
    assert 0 < found[0].score <= 1
    # copies on the other side are not mirrors
    assert all(f.member_ids != (50, 51) for f in opposite_trades(trades.facts, RULES))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(3, 8), st.booleans())
def test_planted_opposite_bets_are_found_thin_ones_weigh_more(
    seed: int, pairs: int, thin: bool
) -> None:
    rng = np.random.default_rng(seed)
    trades = Trades()
    _independent(trades, rng, range(1, 11), per_member=10)
    volume = 500 if thin else 5_000_000
    for i in range(pairs):
        symbol = SYMBOLS[int(rng.integers(len(SYMBOLS)))]
        trades.add(60, symbol, "buy", 3 * i, volume=volume)
        trades.add(61, symbol, "sell", 3 * i, volume=volume)
    found = opposite_trades(trades.facts, RULES)
    assert [f.member_ids for f in found] == [(60, 61)]
    assert bool(found[0].evidence["thin_fills"]) is thin
    plain = opposite_trades(
        [t for t in trades.facts if t.member_id in (60, 61)],
        DetectorSettings(min_matches=3, window_days=1, thin_volume=0, thin_share=Decimal(2)),
    )
    assert found[0].score >= plain[0].score
    assert mirrored_trades(trades.facts, RULES) == []


def test_pairs_in_different_contests_or_too_few_matches_are_not_flagged() -> None:
    trades = Trades()
    for day in range(3):
        trades.add(1, SYMBOLS[day], "buy", day, contest=1)
        trades.add(2, SYMBOLS[day], "buy", day, contest=2)
    trades.add(3, SYMBOLS[0], "buy", 0, contest=1)
    trades.add(3, SYMBOLS[1], "buy", 1, contest=1)  # two matches with member 1: below k = 3
    assert mirrored_trades(trades.facts, RULES) == []


def test_one_copied_trade_among_many_is_below_the_share() -> None:
    trades = Trades()
    for day in range(20):
        trades.add(1, SYMBOLS[day], "buy", day * 3)
        trades.add(2, SYMBOLS[50 + day], "buy", day * 3)
    for day in range(3):  # three matches, but in 3 / 23 of the fills
        trades.add(1, SYMBOLS[100 + day], "sell", 100 + day)
        trades.add(2, SYMBOLS[100 + day], "sell", 100 + day)
    assert mirrored_trades(trades.facts, RULES) == []


def test_shared_device_and_address_pairs() -> None:
    signals = [
        _signal(1, 10, ip="1.1.1.1", device="dev-a"),
        _signal(2, 11, ip="2.2.2.2", device="dev-a"),
        _signal(3, 12, ip="3.3.3.3", device="dev-b"),
        _signal(4, 13, ip="3.3.3.3", device="dev-c"),
        _signal(5, 14, ip="9.9.9.9", device="dev-d"),  # the listed NAT
        _signal(6, 15, ip="9.9.9.9", device="dev-e"),
        _signal(7, 16, ip=None, device="dev-old", ago_days=400),  # outside the window
        _signal(8, 17, ip=None, device="dev-old"),
    ]
    rules = DetectorSettings(ignored_ips=frozenset({"9.9.9.9"}))
    found = {f.member_ids: f for f in shared_signals(signals, rules, now=NOW)}
    assert set(found) == {(10, 11), (12, 13)}
    assert found[(10, 11)].score > found[(12, 13)].score  # a device weighs more than an address
    assert found[(10, 11)].evidence["devices"] == 1
    assert found[(12, 13)].evidence["addresses"] == 1


def test_a_value_shared_by_very_many_accounts_is_a_shared_exit() -> None:
    signals = [_signal(i, 100 + i, ip="5.5.5.5", device=None) for i in range(12)]
    assert shared_signals(signals, DetectorSettings(max_accounts_per_value=10), now=NOW) == []


def test_fingerprints_name_the_evidence_and_group_keys_the_group() -> None:
    signals = [
        _signal(1, 10, ip=None, device="dev-a"),
        _signal(2, 11, ip=None, device="dev-a"),
    ]
    first = shared_signals(signals, DetectorSettings(), now=NOW)[0]
    more = shared_signals(
        [
            *signals,
            _signal(3, 10, ip="7.7.7.7", device=None),
            _signal(4, 11, ip="7.7.7.7", device=None),
        ],
        DetectorSettings(),
        now=NOW,
    )[0]
    assert first.group_key == more.group_key
    assert first.fingerprint != more.fingerprint
    assert first.fingerprint == shared_signals(signals, DetectorSettings(), now=NOW)[0].fingerprint


def test_scan_orders_findings_strongest_first() -> None:
    trades = Trades()
    for day in range(4):
        trades.add(1, SYMBOLS[day], "buy", day)
        trades.add(2, SYMBOLS[day], "buy", day)
    signals = [_signal(1, 3, ip="4.4.4.4", device=None), _signal(2, 4, ip="4.4.4.4", device=None)]
    found = scan(signals, trades.facts, RULES, now=NOW)
    assert [f.kind for f in found] == [FindingKind.MIRRORED, FindingKind.SHARED_SIGNAL]
    assert found[0].score >= found[1].score


def test_client_signal_clips_and_hashes() -> None:
    signal = ClientSignal.of(ip=" 10.0.0.1 ", device_id="d" * 100, user_agent="Mozilla/5.0")
    assert signal.ip == "10.0.0.1"
    assert signal.device_id == "d" * 64
    assert signal.user_agent_hash is not None and len(signal.user_agent_hash) == 64
    assert ClientSignal.of(ip=None, device_id="  ", user_agent=None) == ClientSignal()

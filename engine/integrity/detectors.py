"""Detectors of multi-accounting and collusion: pure functions over stored facts.

Each returns ``Finding`` values: a group of accounts (two, ascending), a score in (0, 1] and the
evidence an operator reviews. ``Finding.fingerprint`` names the evidence, so a dismissed finding
is not raised again for the same evidence.

**Shared device or address** (``shared_signals``): two accounts whose sign-ups or logins inside
the window came from the same device id or the same IP. Addresses on the ignore list (a school's
or a carrier's NAT) never count, nor does a value used by more than ``max_accounts_per_value``
accounts (a shared exit that nobody listed yet). A device counts more than an address: many
people share an address, few share a browser profile.

**Mirrored trades** (``mirrored_trades``): two accounts in one contest filling the same side of the
same symbol within ``window_days`` of each other, at least ``min_matches`` times and in at least
``min_share`` of the quieter account's fills: one person copying a strategy into two entries to
double the chance of a prize.

**Opposite bets and thin symbols** (``opposite_trades``): fills here are against the market's
bars, never member to member, so one account cannot sell to another at a made-up price and chip
dumping in the exchange sense cannot pass value. What one person with two entries can do is bet
both ways: one account buys what the other sells (or sells short) on the same symbol within the
window, so whichever way the price goes one of them wins for sure and takes the prize. The
pattern is the same as mirroring with sides reversed. Such pairs in *thin* symbols weigh double:
a bar whose volume is below ``thin_volume`` shares (or where a fill is ``thin_share`` of the
bar's volume) has a price one large order would move in a real market, which is where paired
bets pay most and look least like investing.

Independent traders rarely meet these thresholds: coinciding by chance on the same symbol, side
and day over and over, in most of one's fills, is unlikely in a universe of many symbols.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import combinations
from typing import Any

from core.integrity.model import SignalRecord

MemberPair = tuple[int, int]


class FindingKind(StrEnum):
    SHARED_SIGNAL = "shared_signal"
    MIRRORED = "mirrored"
    OPPOSITE = "opposite"


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Thresholds of every detector (see the module)."""

    ignored_ips: frozenset[str] = frozenset()
    signal_window: timedelta = timedelta(days=90)
    max_accounts_per_value: int = 10
    window_days: int = 0  # fills this many days apart still match (0: the same day)
    min_matches: int = 3
    min_share: Decimal = Decimal("0.5")
    thin_volume: int = 10_000
    thin_share: Decimal = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class TradeFact:
    """One fill as the detectors see it; ``bar_volume`` is the fill day's bar volume (shares)."""

    fill_id: int
    contest_id: int
    member_id: int
    symbol: str
    side: str  # "buy" | "sell"
    qty: Decimal
    day: date
    bar_volume: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A flagged group of accounts with its evidence; ``score`` is in (0, 1]."""

    kind: FindingKind
    member_ids: tuple[int, ...]
    contest_id: int | None
    score: float
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def group_key(self) -> str:
        """Names the group (kind, contest, accounts): one open case per group."""
        return _digest([self.kind.value, self.contest_id, list(self.member_ids)])

    @property
    def fingerprint(self) -> str:
        """Names the evidence too: a dismissed finding comes back only with new evidence."""
        return _digest([self.group_key, self.evidence.get("key")])


# --- shared device or address -------------------------------------------------------------------


def shared_signals(
    signals: Iterable[SignalRecord], settings: DetectorSettings, *, now: datetime
) -> list[Finding]:
    """Pairs of accounts that used the same device id or IP inside the window (module doc)."""
    since = now - settings.signal_window
    users_of: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for signal in signals:
        if signal.at < since:
            continue
        if signal.device_id:
            users_of[("device", signal.device_id)][signal.user_id] += 1
        if signal.ip and signal.ip not in settings.ignored_ips:
            users_of[("ip", signal.ip)][signal.user_id] += 1
    shared: dict[MemberPair, list[dict[str, Any]]] = defaultdict(list)
    for (what, value), counts in sorted(users_of.items()):
        if not 2 <= len(counts) <= settings.max_accounts_per_value:
            continue
        for pair in combinations(sorted(counts), 2):
            shared[pair].append(
                {"type": what, "value": value, "uses": {str(u): counts[u] for u in pair}}
            )
    return [_shared_finding(pair, values) for pair, values in sorted(shared.items())]


def _shared_finding(pair: MemberPair, values: list[dict[str, Any]]) -> Finding:
    devices = sum(1 for v in values if v["type"] == "device")
    addresses = len(values) - devices
    score = min(1.0, 0.6 * devices + 0.25 * addresses)
    key = sorted(f"{v['type']}:{v['value']}" for v in values)
    return Finding(
        FindingKind.SHARED_SIGNAL,
        pair,
        None,
        round(score, 4),
        {"key": key, "devices": devices, "addresses": addresses, "shared": values},
    )


# --- mirrored and opposite trades -------------------------------------------------------------


def mirrored_trades(trades: Iterable[TradeFact], settings: DetectorSettings) -> list[Finding]:
    """Pairs in one contest filling the same side of a symbol together, repeatedly."""
    return _paired(trades, settings, FindingKind.MIRRORED)


def opposite_trades(trades: Iterable[TradeFact], settings: DetectorSettings) -> list[Finding]:
    """Pairs in one contest taking opposite sides of a symbol together, repeatedly (thin
    symbols weigh double)."""
    return _paired(trades, settings, FindingKind.OPPOSITE)


def is_thin(trade: TradeFact, settings: DetectorSettings) -> bool:
    """Whether the fill's bar is thin: tiny volume, or the fill a large share of it."""
    if trade.bar_volume is None:
        return False
    if trade.bar_volume < settings.thin_volume:
        return True
    return trade.qty >= settings.thin_share * trade.bar_volume


def _paired(
    trades: Iterable[TradeFact], settings: DetectorSettings, kind: FindingKind
) -> list[Finding]:
    by_contest: dict[int, list[TradeFact]] = defaultdict(list)
    for trade in trades:
        by_contest[trade.contest_id].append(trade)
    findings: list[Finding] = []
    for contest_id in sorted(by_contest):
        findings += _paired_in_contest(contest_id, by_contest[contest_id], settings, kind)
    return findings


def _paired_in_contest(
    contest_id: int, trades: Sequence[TradeFact], settings: DetectorSettings, kind: FindingKind
) -> list[Finding]:
    fills_of: dict[int, int] = defaultdict(int)
    by_symbol: dict[str, list[TradeFact]] = defaultdict(list)
    for trade in trades:
        fills_of[trade.member_id] += 1
        by_symbol[trade.symbol].append(trade)
    matched: dict[MemberPair, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    thin: dict[MemberPair, set[int]] = defaultdict(set)
    for symbol_trades in by_symbol.values():
        for a, b in _pairs_within(symbol_trades, settings.window_days):
            if (a.side == b.side) != (kind is FindingKind.MIRRORED):
                continue
            pair = (
                (a.member_id, b.member_id)
                if a.member_id < b.member_id
                else (b.member_id, a.member_id)
            )
            matched[pair][a.member_id].add(a.fill_id)
            matched[pair][b.member_id].add(b.fill_id)
            if is_thin(a, settings) or is_thin(b, settings):
                thin[pair] |= {a.fill_id, b.fill_id}
    found = (
        _pair_finding(kind, contest_id, pair, matched[pair], thin[pair], fills_of, settings)
        for pair in sorted(matched)
    )
    return [finding for finding in found if finding is not None]


def _pair_finding(
    kind: FindingKind,
    contest_id: int,
    pair: MemberPair,
    sides: Mapping[int, set[int]],
    thin: set[int],
    fills_of: Mapping[int, int],
    settings: DetectorSettings,
) -> Finding | None:
    """The finding of a pair whose paired fills (``sides``: member → fill ids) pass the
    thresholds; the score is the share of the quieter account's fills that are paired, doubled
    for opposite bets in thin bars, and scaled down below 2·``min_matches`` matches."""
    matches = min(len(sides[pair[0]]), len(sides[pair[1]]))
    share = Decimal(matches) / min(fills_of[pair[0]], fills_of[pair[1]])
    if matches < settings.min_matches or share < settings.min_share:
        return None
    weight = 2 if kind is FindingKind.OPPOSITE and thin else 1
    score = min(1.0, float(share) * weight * min(1.0, matches / (2 * settings.min_matches)))
    evidence = {
        "key": sorted(sides[pair[0]] | sides[pair[1]]),
        "matches": matches,
        "share": str(share.quantize(Decimal("0.0001"))),
        "fills": {str(m): fills_of[m] for m in pair},
        "thin_fills": sorted(thin),
        "window_days": settings.window_days,
    }
    return Finding(kind, pair, contest_id, round(max(score, 0.0001), 4), evidence)


def _pairs_within(
    trades: Sequence[TradeFact], window_days: int
) -> Iterable[tuple[TradeFact, TradeFact]]:
    """Fills of different members at most ``window_days`` apart (one symbol's fills)."""
    ordered = sorted(trades, key=lambda t: (t.day, t.fill_id))
    start = 0
    for i, trade in enumerate(ordered):
        while (trade.day - ordered[start].day).days > window_days:
            start += 1
        for other in ordered[start:i]:
            if other.member_id != trade.member_id:
                yield other, trade


def scan(
    signals: Iterable[SignalRecord],
    trades: Sequence[TradeFact],
    settings: DetectorSettings,
    *,
    now: datetime,
) -> list[Finding]:
    """Every detector's findings, strongest first."""
    found = (
        shared_signals(signals, settings, now=now)
        + mirrored_trades(trades, settings)
        + opposite_trades(trades, settings)
    )
    return sorted(found, key=lambda f: (-f.score, f.kind.value, f.contest_id or 0, f.member_ids))


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()

"""Prize rules of promotional contests: draw prizes, the draw-prize cap, no paid entry into a
prize pool, and the disclosures a contest with prizes must publish. Pure code.

**Draw prizes** (抽奖式有奖销售) are given by lot among the eligible entrants (those with at least
``min_trades`` fills). The cash value counted against the cap is the larger of the value the
operator states (``cash_value``, CNY) and the prize's points at the configured rate
(``PrizeLimits.points_cny_rate`` CNY per point), so a points prize cannot be understated. The cap
is per market (``PrizeLimits.draw_caps_cny``; by default CN: ¥50,000, the 反不正当竞争法 Art. 10
limit on the top prize of a lottery-style promotion); a market without a cap is not capped.

**The draw** is a commit-reveal lottery. A random ``draw_seed`` (32 bytes, hex) is made when the
contest is created and never changes; its SHA-256, the ``draw_commitment``, is public from the
start (and so in the rules snapshot fixed at lock), the seed itself once the contest is settled.
Each eligible member's ticket for line ``i`` is ``SHA-256("<seed>:<contest id>:<i>:<member
id>")``; the lowest tickets win, line by line, and a member wins at most one draw prize. Anyone
holding the published seed, commitment and eligible list can recompute the winners.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from core.errors import RuleViolation
from core.rule_codes import Rule
from engine.contests.spec import _count, _decimal, _refuse
from ledger.earning import Award

CN_DRAW_PRIZE_CAP = Decimal(50_000)  # CNY, 反不正当竞争法 Art. 10
DEFAULT_POINTS_CNY_RATE = Decimal("0.01")  # CNY per point
MAX_TEXT = 5000


@dataclass(frozen=True, slots=True)
class PrizeLimits:
    """The operator's limits: the top draw prize's cap by market (CNY) and a point's value (CNY)."""

    draw_caps_cny: Mapping[str, Decimal] = field(default_factory=lambda: {"CN": CN_DRAW_PRIZE_CAP})
    points_cny_rate: Decimal = DEFAULT_POINTS_CNY_RATE

    def cap_for(self, market: str) -> Decimal | None:
        """The cap on one draw prize's value in ``market`` (CNY); None: not capped."""
        return self.draw_caps_cny.get(market)


# --- draw prizes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrawPrize:
    """One draw line: ``winners`` members drawn among the entrants with ≥ ``min_trades`` fills,
    each receiving ``points``, ``xp`` and/or the reward item; ``cash_value`` is the operator's
    stated value of one such prize (CNY)."""

    winners: int
    cash_value: Decimal
    min_trades: int = 0
    points: int = 0
    xp: int = 0
    item_key: str | None = None
    description: str = ""

    @property
    def award(self) -> Award:
        return Award(points=self.points, xp=self.xp)

    def value_cny(self, limits: PrizeLimits) -> Decimal:
        """What one prize is worth against the cap: the stated value or the points' value."""
        return max(self.cash_value, self.points * limits.points_cny_rate)

    def to_json(self) -> dict[str, Any]:
        return {
            "winners": self.winners,
            "cash_value": str(self.cash_value),
            "min_trades": self.min_trades,
            "points": self.points,
            "xp": self.xp,
            "item_key": self.item_key,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, at: str) -> DrawPrize:
        if "cash_value" not in data or data["cash_value"] is None:
            _refuse(f"{at}.cash_value", Rule.REQUIRED, "state the cash value of one prize (CNY)")
        value = _decimal(data["cash_value"], f"{at}.cash_value")
        if value < 0:
            _refuse(f"{at}.cash_value", Rule.NON_NEGATIVE, "a cash value is ≥ 0")
        winners = _count(data.get("winners", 1), f"{at}.winners")
        if winners < 1:
            _refuse(f"{at}.winners", Rule.MINIMUM, "a draw has at least one winner")
        item = data.get("item_key")
        prize = cls(
            winners=winners,
            cash_value=value,
            min_trades=_count(data.get("min_trades", 0), f"{at}.min_trades"),
            points=_count(data.get("points", 0), f"{at}.points"),
            xp=_count(data.get("xp", 0), f"{at}.xp"),
            item_key=str(item) if item else None,
            description=str(data.get("description") or ""),
        )
        if prize.points == 0 and prize.xp == 0 and prize.item_key is None:
            _refuse(at, Rule.NON_EMPTY, "a draw prize pays points, XP or an item")
        return prize


def draws_from_json(
    data: Sequence[Mapping[str, Any]] | None, *, at: str = "draws"
) -> list[DrawPrize]:
    """The contest's draw lines (an empty list: no draw)."""
    if data is None:
        return []
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        _refuse(at, Rule.TYPE, "draws are a list of lines")
    return [DrawPrize.from_json(line, at=f"{at}[{i}]") for i, line in enumerate(data)]


def check_draw_cap(draws: Sequence[DrawPrize], market: str, limits: PrizeLimits) -> None:
    """Refuse a draw prize worth more than the market's cap (``draw_prize_cap``)."""
    cap = limits.cap_for(market)
    if cap is None:
        return
    for i, prize in enumerate(draws):
        value = prize.value_cny(limits)
        if value > cap:
            raise RuleViolation(
                f"draws[{i}] is worth ¥{value} (stated ¥{prize.cash_value}, "
                f"{prize.points} points at ¥{limits.points_cny_rate}); a draw prize in "
                f"{market} may be worth at most ¥{cap}",
                field=f"draws[{i}].cash_value",
                rule=Rule.DRAW_PRIZE_CAP,
                cap=str(cap),
                value=str(value),
            )


def offers_prizes(*, prizes: Sequence[Any], draws: Sequence[Any], pk_prizes: Sequence[Any]) -> bool:
    """Whether a contest gives anything away: ranked, draw or PK prize lines (any shape)."""
    return bool(prizes or draws or pk_prizes)


# --- paid entry --------------------------------------------------------------------------------


def check_no_paid_entry(*, has_prizes: bool, entry_fee_points: int) -> None:
    """Refuse an entry fee on a contest that has prizes (``paid_entry_with_prizes``)."""
    if entry_fee_points < 0:
        _refuse("entry_fee_points", Rule.NON_NEGATIVE, "an entry fee is ≥ 0")
    if has_prizes and entry_fee_points > 0:
        raise RuleViolation(
            f"a contest with prizes may not charge for entry ({entry_fee_points} points)",
            field="entry_fee_points",
            rule=Rule.PAID_ENTRY_WITH_PRIZES,
        )


# --- disclosures -------------------------------------------------------------------------------

DISCLOSURE_TEXTS = (
    "organiser",
    "eligibility",
    "prize_description",
    "prize_value",
    "winner_notification",
)


@dataclass(frozen=True, slots=True)
class Disclosures:
    """What a contest with prizes tells the public before it opens: who organises it, who may
    enter, what the prizes are and are worth, when they are awarded (and drawn), how winners are
    told, and the terms (a URL or the text)."""

    organiser: str = ""
    eligibility: str = ""
    prize_description: str = ""
    prize_value: str = ""
    winner_notification: str = ""
    award_date: date | None = None
    draw_date: date | None = None
    terms_url: str = ""
    terms_text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            **{name: getattr(self, name) for name in DISCLOSURE_TEXTS},
            "award_date": None if self.award_date is None else self.award_date.isoformat(),
            "draw_date": None if self.draw_date is None else self.draw_date.isoformat(),
            "terms_url": self.terms_url,
            "terms_text": self.terms_text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Disclosures:
        data = dict(data or {})
        texts = {
            name: _text(data.get(name), f"disclosures.{name}")
            for name in (*DISCLOSURE_TEXTS, "terms_url", "terms_text")
        }
        return cls(
            **texts,
            award_date=_day(data.get("award_date"), "disclosures.award_date"),
            draw_date=_day(data.get("draw_date"), "disclosures.draw_date"),
        )

    def missing(self, *, has_draws: bool) -> list[str]:
        """The fields still to fill in (``disclosures.<name>``), in document order."""
        names = [name for name in DISCLOSURE_TEXTS if not getattr(self, name).strip()]
        if self.award_date is None:
            names.append("award_date")
        if has_draws and self.draw_date is None:
            names.append("draw_date")
        if not self.terms_url.strip() and not self.terms_text.strip():
            names.append("terms")
        return [f"disclosures.{name}" for name in names]


def check_disclosures(
    disclosures: Disclosures, *, has_draws: bool, trading_end: date, action: str
) -> None:
    """Refuse incomplete disclosures (``disclosure_required``, one ``errors[]`` entry per missing
    field) and award or draw dates before the last trading day (``after_trading_end``)."""
    missing = disclosures.missing(has_draws=has_draws)
    if missing:
        raise RuleViolation(
            f"a contest with prizes must disclose {', '.join(missing)} before it {action}",
            field=missing[0],
            rule=Rule.DISCLOSURE_REQUIRED,
            errors=[
                {"field": name, "rule": Rule.DISCLOSURE_REQUIRED, "message": f"{name} is required"}
                for name in missing
            ],
        )
    for name in ("award_date", "draw_date"):
        day = getattr(disclosures, name)
        if day is not None and day < trading_end:
            raise RuleViolation(
                f"{name} {day} is before the last trading day {trading_end}",
                field=f"disclosures.{name}",
                rule=Rule.AFTER_TRADING_END,
            )


# --- the draw ----------------------------------------------------------------------------------


def new_draw_seed() -> str:
    """A fresh draw seed: 32 random bytes as 64 hex digits."""
    return secrets.token_hex(32)


def draw_commitment(seed: str) -> str:
    """The public commitment to a draw seed: its SHA-256 in hex."""
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_ticket(seed: str, contest_id: int, line: int, member_id: int) -> str:
    """A member's ticket in one draw line (lowest wins), as hex."""
    return hashlib.sha256(f"{seed}:{contest_id}:{line}:{member_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DrawWin:
    """A member drawn for line ``line``; ``order`` is 1 for the first drawn."""

    line: int
    member_id: int
    order: int


def draw_winners(
    seed: str,
    contest_id: int,
    draws: Sequence[DrawPrize],
    *,
    trades: Mapping[int, int],
) -> list[DrawWin]:
    """The winners of every draw line, by line then order: among members with at least the
    line's ``min_trades`` (``trades``: member id → fills), lowest tickets first, nobody twice."""
    won: set[int] = set()
    wins: list[DrawWin] = []
    for line, prize in enumerate(draws):
        eligible = _eligible(trades, prize.min_trades, excluded=won)
        ranked = sorted(eligible, key=lambda m: (draw_ticket(seed, contest_id, line, m), m))
        chosen = ranked[: prize.winners]
        wins += [DrawWin(line, member, order) for order, member in enumerate(chosen, 1)]
        won.update(chosen)
    return wins


def _eligible(trades: Mapping[int, int], min_trades: int, *, excluded: Iterable[int]) -> list[int]:
    skip = set(excluded)
    return [m for m, n in trades.items() if n >= min_trades and m not in skip]


# --- helpers -----------------------------------------------------------------------------------


def _text(value: object, at: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        return _refuse(at, Rule.TYPE, "must be text")
    if len(value) > MAX_TEXT:
        return _refuse(at, Rule.MAX_LENGTH, f"at most {MAX_TEXT} characters")
    return value


def _day(value: object, at: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return _refuse(at, Rule.DATE, f"{value!r} is not a YYYY-MM-DD date")

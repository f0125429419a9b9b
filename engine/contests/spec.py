"""What an operator configures on a contest, as frozen values with their own validation.

Each part parses from and serializes to the JSON stored on the contest row, and refuses bad input
with ``RuleViolation`` naming the field (``metric.weights.win_rate``) and the rule. Nothing here
touches the database: the services check what needs stored state (a benchmark symbol, a reward
item) and the API maps the errors to problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from core.errors import RuleViolation
from core.rule_codes import Rule
from engine.contests.prize_table import PercentBand, Places, RankRange, validate_prize_table
from ledger.earning import Award


class MetricKind(StrEnum):
    TOTAL_RETURN = "total_return"
    EXCESS_RETURN = "excess_return"
    SHARPE = "sharpe"
    COMPOSITE = "composite"


# Per-member figures a metric can be built from; every one is higher-is-better (a drawdown is a
# negative fraction, so -0.05 beats -0.20).
BASE_METRICS = (
    "total_return",
    "excess_return",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "win_rate",
)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """The ranking metric: a total return, an excess return over ``benchmark``, a Sharpe ratio,
    or a composite ``Σ weight · percentile_rank(metric)`` over ``weights`` (summing to 1)."""

    kind: MetricKind = MetricKind.TOTAL_RETURN
    benchmark: str | None = None
    weights: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def needs_benchmark(self) -> bool:
        return self.kind is MetricKind.EXCESS_RETURN or "excess_return" in self.weights

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "benchmark": self.benchmark,
            "weights": {k: str(v) for k, v in self.weights.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> MetricSpec:
        data = dict(data or {})
        kind = _choice(data.get("kind", "total_return"), MetricKind, "metric.kind")
        weights = {
            str(name): _decimal(value, f"metric.weights.{name}")
            for name, value in dict(data.get("weights") or {}).items()
        }
        benchmark = data.get("benchmark")
        spec = cls(kind, str(benchmark) if benchmark else None, weights)
        spec.validate()
        return spec

    def validate(self) -> None:
        if self.kind is MetricKind.COMPOSITE:
            if not self.weights:
                _refuse("metric.weights", Rule.REQUIRED, "a composite metric needs weights")
            for name, weight in self.weights.items():
                if name not in BASE_METRICS:
                    _refuse(f"metric.weights.{name}", Rule.ONE_OF, _one_of(name, BASE_METRICS))
                if weight < 0:
                    _refuse(f"metric.weights.{name}", Rule.NON_NEGATIVE, "weights are ≥ 0")
            if sum(self.weights.values()) != 1:
                _refuse("metric.weights", Rule.SUM_TO_ONE, "composite weights must sum to 1")
        elif self.weights:
            _refuse("metric.weights", Rule.COMPOSITE_ONLY, "weights apply to a composite metric")
        if self.needs_benchmark and not self.benchmark:
            _refuse("metric.benchmark", Rule.REQUIRED, "an excess return needs a benchmark symbol")


@dataclass(frozen=True, slots=True)
class Qualification:
    """What an entry must have done to be ranked; unqualified entries are listed, unranked.

    ``min_trades`` counts fills, ``min_round_trips`` fills that closed (part of) a position
    (they realize a profit or loss), ``min_active_days`` distinct days with at least one fill.

    ``one_account_per_person``: when on, of the accounts an operator linked to one person only
    the best placed ranks (and may win a prize); the others are listed unranked with the reason
    ``one_account_per_person``. ``None`` (not set) means on for a contest with a prize table and
    off for one without (``applies_one_account_per_person``).
    """

    min_trades: int = 0
    min_round_trips: int = 0
    min_active_days: int = 0
    one_account_per_person: bool | None = None

    def to_json(self) -> dict[str, int | bool]:
        data: dict[str, int | bool] = {
            "min_trades": self.min_trades,
            "min_round_trips": self.min_round_trips,
            "min_active_days": self.min_active_days,
        }
        if self.one_account_per_person is not None:
            data["one_account_per_person"] = self.one_account_per_person
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Qualification:
        data = dict(data or {})
        one = data.get("one_account_per_person")
        if one is not None and not isinstance(one, bool):
            _refuse("qualification.one_account_per_person", Rule.TYPE, "must be true or false")
        counts = {
            name: _count(data.get(name, 0), f"qualification.{name}")
            for name in ("min_trades", "min_round_trips", "min_active_days")
        }
        return cls(**counts, one_account_per_person=one)

    def applies_one_account_per_person(self, *, prized: bool) -> bool:
        """Whether the rule is on, for a contest with (``prized``) or without a prize table."""
        return prized if self.one_account_per_person is None else self.one_account_per_person

    def met(self, *, trades: int, round_trips: int, active_days: int) -> bool:
        return (
            trades >= self.min_trades
            and round_trips >= self.min_round_trips
            and active_days >= self.min_active_days
        )


@dataclass(frozen=True, slots=True)
class PrizeLine:
    """One line of a prize table: who (rank range or percent band) and what each one gets."""

    places: Places
    points: int = 0
    xp: int = 0
    item_key: str | None = None

    @property
    def award(self) -> Award:
        return Award(points=self.points, xp=self.xp)

    def to_json(self) -> dict[str, Any]:
        where: dict[str, Any]
        if isinstance(self.places, RankRange):
            where = {"ranks": [self.places.first, self.places.last]}
        else:
            where = {"top_percent": [str(self.places.from_percent), str(self.places.to_percent)]}
        return {**where, "points": self.points, "xp": self.xp, "item_key": self.item_key}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, at: str) -> PrizeLine:
        has_ranks, has_percent = "ranks" in data, "top_percent" in data
        if has_ranks == has_percent:
            _refuse(at, Rule.ONE_OF, "a prize line has either `ranks` or `top_percent`")
        places: Places
        if has_ranks:
            first, last = _pair(data["ranks"], f"{at}.ranks")
            places = RankRange(_count(first, f"{at}.ranks"), _count(last, f"{at}.ranks"))
        else:
            low, high = _pair(data["top_percent"], f"{at}.top_percent")
            places = PercentBand(
                _decimal(low, f"{at}.top_percent"), _decimal(high, f"{at}.top_percent")
            )
        item = data.get("item_key")
        line = cls(
            places,
            _count(data.get("points", 0), f"{at}.points"),
            _count(data.get("xp", 0), f"{at}.xp"),
            str(item) if item else None,
        )
        if line.points == 0 and line.xp == 0 and line.item_key is None:
            _refuse(at, Rule.NON_EMPTY, "a prize line pays points, XP or an item")
        return line


def prize_table_from_json(data: Sequence[Mapping[str, Any]] | None, *, at: str) -> list[PrizeLine]:
    """A prize table; an empty list means no prizes, otherwise it must be a valid table."""
    if data is None:
        return []
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        _refuse(at, Rule.TYPE, "a prize table is a list of lines")
    lines = [PrizeLine.from_json(line, at=f"{at}[{i}]") for i, line in enumerate(data)]
    if lines:
        try:
            validate_prize_table([line.places for line in lines])
        except RuleViolation as error:
            raise RuleViolation(error.detail, field=at, rule=error.rule) from None
    return lines


TeamScore = Literal["mean", "median", "top_n"]


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """Teams in a contest: size limit and how members' metrics make the team's score."""

    max_size: int = 5
    score: TeamScore = "mean"
    top_n: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"max_size": self.max_size, "score": self.score, "top_n": self.top_n}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TeamSettings | None:
        if data is None:
            return None
        max_size = _count(data.get("max_size", 5), "teams.max_size")
        if max_size < 1:
            _refuse("teams.max_size", Rule.MINIMUM, "a team holds at least one member")
        score = data.get("score", "mean")
        if score not in ("mean", "median", "top_n"):
            _refuse("teams.score", Rule.ONE_OF, _one_of(score, ("mean", "median", "top_n")))
        top_n = data.get("top_n")
        if (score == "top_n") != (top_n is not None):
            _refuse("teams.top_n", Rule.REQUIRED, "top_n is set exactly when score is top_n")
        if top_n is not None and _count(top_n, "teams.top_n") < 1:
            _refuse("teams.top_n", Rule.MINIMUM, "top_n is at least 1")
        return cls(max_size, score, None if top_n is None else int(top_n))


@dataclass(frozen=True, slots=True)
class PkSettings:
    """Team PK rounds: length in bars, the draw band on the return difference, what each member
    of a winning (drawing) team earns per round, and prizes by final PK standing."""

    round_bars: int = 5
    draw_band: Decimal = Decimal("0.001")
    win: Award = field(default_factory=Award)
    draw: Award = field(default_factory=Award)
    prizes: tuple[PrizeLine, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "round_bars": self.round_bars,
            "draw_band": str(self.draw_band),
            "win": {"points": self.win.points, "xp": self.win.xp},
            "draw": {"points": self.draw.points, "xp": self.draw.xp},
            "prizes": [line.to_json() for line in self.prizes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PkSettings | None:
        if data is None:
            return None
        round_bars = _count(data.get("round_bars", 5), "pk.round_bars")
        if round_bars < 1:
            _refuse("pk.round_bars", Rule.MINIMUM, "a PK round lasts at least one bar")
        band = _decimal(data.get("draw_band", "0.001"), "pk.draw_band")
        if band < 0:
            _refuse("pk.draw_band", Rule.NON_NEGATIVE, "the draw band is ≥ 0")
        prizes = prize_table_from_json(data.get("prizes"), at="pk.prizes")
        if any(not isinstance(line.places, RankRange) for line in prizes):
            _refuse("pk.prizes", Rule.RANKS_ONLY, "PK prizes go by PK standing (ranks)")
        return cls(
            round_bars,
            band,
            _award(data.get("win"), "pk.win"),
            _award(data.get("draw"), "pk.draw"),
            tuple(prizes),
        )


# --- helpers ----------------------------------------------------------------------------------


def _refuse(at: str, rule: str, detail: str) -> Any:
    raise RuleViolation(f"{at}: {detail}", field=at, rule=rule)


def _one_of(value: object, choices: Sequence[str]) -> str:
    return f"{value!r} is not one of {', '.join(choices)}"


def _choice(value: object, kind: type[StrEnum], at: str) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        return _refuse(at, Rule.ONE_OF, _one_of(value, [k.value for k in kind]))


def _decimal(value: object, at: str) -> Decimal:
    if isinstance(value, bool):
        return _refuse(at, Rule.NUMBER, "must be a number")
    try:
        number = Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        return _refuse(at, Rule.NUMBER, f"{value!r} is not a finite number")
    return number


def _count(value: object, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return _refuse(at, Rule.NON_NEGATIVE_INTEGER, f"{value!r} is not an integer ≥ 0")
    return value


def _pair(value: object, at: str) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return _refuse(at, Rule.PAIR, "expects [first, last]")
    return value[0], value[1]


def _award(data: Mapping[str, Any] | None, at: str) -> Award:
    data = dict(data or {})
    return Award(
        points=_count(data.get("points", 0), f"{at}.points"),
        xp=_count(data.get("xp", 0), f"{at}.xp"),
    )

"""What a season simulation is asked to do, and what it hands back. Plain frozen values.

``SimulationConfig`` is the command line's options; ``SimulationResult`` is everything the
command prints and the report draws, gathered as the season runs (``ReportData``). The contest
parts of the report (``ContestReport``, ``PkReport``) are filled by the contest phase; a run
without them still renders, with those sections marked as empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

from core.checks import CheckReport
from core.errors import RuleViolation
from engine.market.model import Market
from ledger.campaigns.services import CampaignStatus, ExperimentResults

# Each market's local time zone: a season's calendar, and the programme's when it runs one market.
MARKET_TIMEZONE = {Market.CN: "Asia/Shanghai", Market.US: "America/New_York"}


class MarketChoice(StrEnum):
    CN = "cn"
    US = "us"
    BOTH = "both"

    @property
    def markets(self) -> tuple[Market, ...]:
        """The markets of the season's contests, A-shares first."""
        return {
            MarketChoice.CN: (Market.CN,),
            MarketChoice.US: (Market.US,),
            MarketChoice.BOTH: (Market.CN, Market.US),
        }[self]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """One season: ``members`` in ``teams``, ``days`` trading days from ``start`` (a weekday
    calendar, as the synthetic market trades), PK rounds every ``pk_every`` trading days."""

    members: int = 500
    teams: int = 50
    days: int = 120
    market: MarketChoice = MarketChoice.BOTH
    seed: int = 7
    database_url: str | None = None  # None: a fresh SQLite file in ``output``
    chain_rpc_url: str | None = None  # None: a fresh in-process eth-tester chain
    output: Path = Path("simulation")
    start: date = date(2025, 1, 6)
    instruments: int = 40  # per market
    pk_every: int = 5
    confirmations: int = 2  # blocks on top of an anchor before its certificates are final
    progress: bool = True

    def validate(self) -> SimulationConfig:
        """Refuse settings no season can run with (``RuleViolation`` naming the option)."""
        checks = (
            ("members", self.members >= 10, "at least 10 members"),
            ("teams", self.teams >= 2, "at least 2 teams"),
            ("teams", self.members >= 2 * self.teams, "at least two members per team"),
            ("days", self.days >= 10, "at least 10 trading days"),
            ("instruments", self.instruments >= 5, "at least 5 instruments per market"),
            ("pk_every", 1 <= self.pk_every <= self.days, "PK rounds within the season"),
            ("start", self.start.weekday() < 5, "the season starts on a weekday"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise RuleViolation(f"{name}: {rule}", field=name, rule="simulation_option")
        return self


# --- what the season produced, for the summary and the report ---------------------------------


@dataclass(frozen=True, slots=True)
class DailyEngagement:
    """Per calendar day of the season (engagement runs on weekends too)."""

    dates: tuple[date, ...]
    signed_up: tuple[int, ...]  # members so far
    check_ins: tuple[int, ...]
    active: tuple[int, ...]  # members who checked in or traded
    streak_histogram: dict[int, int]  # longest streak per member → members
    best_streak: int


@dataclass(frozen=True, slots=True)
class PointsFlow:
    """Points per calendar day by reason (``checkin``, ``task``, ``referral``, ``prize`` …) for
    what was minted, and what was redeemed and expired."""

    dates: tuple[date, ...]
    minted: dict[str, tuple[int, ...]]
    redeemed: tuple[int, ...]
    expired: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ItemFunnel:
    """One catalog item: attempts to redeem it, the completed ones, the refusals by rule."""

    key: str
    name: str
    cost_points: int
    stock: int
    attempts: int
    completed: int
    refused: dict[str, int]


@dataclass(frozen=True, slots=True)
class Retention:
    """Per PK round (week): the share of signed-up members active in it, and of the first
    round's active members how many are still active."""

    rounds: tuple[int, ...]
    active_share: tuple[float, ...]
    cohort_retained: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ContentStats:
    registered: int
    refused: dict[str, int]  # rule → registrations refused (prior art, blocked findings)
    near_duplicates: int  # registrations flagged as near-copies
    compliance_flags: int  # registrations with prohibited claims
    batches: int
    certificates: int  # pieces anchored
    final: int  # of them, final
    gas_used: int
    pending: int

    @property
    def gas_per_certificate(self) -> float:
        return self.gas_used / self.certificates if self.certificates else 0.0


@dataclass(frozen=True, slots=True)
class LeaderRow:
    rank: int
    member: str
    team: str | None
    metric: str  # the ranking metric as shown
    total_return: float


@dataclass(frozen=True, slots=True)
class ContestReport:
    """One contest, filled by the contest phase."""

    name: str
    market: Market
    dates: tuple[date, ...]
    # Top members' equity and leaderboard position per trading day (NaN before they joined).
    equity_curves: dict[str, tuple[float, ...]]
    final_returns: tuple[float, ...]  # every entrant's total return (fraction)
    rank_history: dict[str, tuple[float, ...]]
    leaderboard: tuple[LeaderRow, ...]  # the top of the final leaderboard
    orders_accepted: int = 0
    orders_rejected: dict[str, int] = field(default_factory=dict)  # rule → count
    prizes_paid: int = 0
    prize_points: int = 0  # points paid as prizes (leaderboard and PK prizes)
    entrants: int = 0
    ranked: int = 0  # entrants that met the qualification
    fills: int = 0
    orders_by_style: dict[str, int] = field(default_factory=dict)  # bot style → orders sent


@dataclass(frozen=True, slots=True)
class PkMatch:
    round: int
    home: str
    away: str
    home_score: float
    away_score: float
    result: str  # "home", "away" or "draw"


@dataclass(frozen=True, slots=True)
class TeamRow:
    rank: int
    team: str
    points: float
    wins: int
    draws: int
    losses: int


@dataclass(frozen=True, slots=True)
class PkReport:
    """One contest's PK rounds: every match, the final PK table, and per round the share of
    team members who traded in it."""

    contest: str
    matches: tuple[PkMatch, ...]
    standings: tuple[TeamRow, ...]
    trading_share: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class LedgerAudit:
    transfers: int
    verify_errors: tuple[str, ...]
    trial_balance: dict[str, int]  # asset → posted total (zero when sound)
    pending_totals: dict[str, int]
    minted: int  # POINTS issued
    redeemed: int
    expired: int

    @property
    def ok(self) -> bool:
        return not self.verify_errors and not any(self.trial_balance.values())


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """The season's A/B test as the operator analytics measure it, with the campaign's budget
    at the end, the bots' modelled response (``assumed_uplift``) and the refused grants."""

    results: ExperimentResults
    campaign: CampaignStatus
    assumed_uplift: float
    refused: dict[str, int]


@dataclass(frozen=True, slots=True)
class LeagueWeekReport:
    """One closed league week: its size, tier movements and rewards."""

    starts_on: date
    cohorts: int
    members: int
    promoted: int
    demoted: int
    rewards: int
    reward_points: int
    reward_xp: int


@dataclass(frozen=True, slots=True)
class LeagueReport:
    """The weekly leagues, filled by the league phase: each closed week, the members per tier
    (1 … 10) after each close, and the moves per tier summed over the season."""

    weeks: tuple[LeagueWeekReport, ...] = ()
    tiers_after: tuple[tuple[int, ...], ...] = ()  # per closed week: members entering tier 1 … 10
    moves: tuple[tuple[int, int, int, int], ...] = ()  # (tier, promoted, stayed, demoted)
    open_week_members: int = 0  # members in the week still open when the season ended


@dataclass(frozen=True, slots=True)
class QuizReport:
    """The season's quiz, filled by the quiz phase (empty when it did not run)."""

    title: str = ""
    day: date | None = None
    questions: int = 0
    takers: int = 0
    correct_histogram: dict[int, int] = field(default_factory=dict)  # correct answers → members
    prizes: int = 0
    prize_points: int = 0
    prize_xp: int = 0
    winners: tuple[tuple[int, int, int, int], ...] = ()  # (rank, member id, correct, time ms)


@dataclass(frozen=True, slots=True)
class IntradayReport:
    """The season's minute contest, filled by the intraday phase (empty when it did not run):
    what was ticked, the orders and fills, the invariants the phase asserts (no fill in the
    lunch break, none outside its bar's low–high, none on a bar that started before the order
    was accepted), the final top of the leaderboard and the phase's wall-clock seconds."""

    title: str = ""
    days: tuple[date, ...] = ()  # the sessions traded
    symbols: int = 0
    entrants: int = 0
    bars_ticked: int = 0  # minute bars (contest ticks), lunch break excluded
    orders_placed: int = 0  # accepted
    market_orders: int = 0
    limit_orders: int = 0
    queued_in_break: int = 0  # limit orders accepted in the lunch break, queued for 13:00
    orders_refused: dict[str, int] = field(default_factory=dict)  # rule → count
    fills: int = 0
    orders_filled: int = 0  # orders with at least one fill
    orders_expired: int = 0  # day orders expired at a session's close
    fills_in_break: int = 0  # must be 0
    fills_outside_bar: int = 0  # must be 0
    fills_before_acceptance: int = 0  # fills on a bar starting at or before acceptance: 0
    leaderboard: tuple[LeaderRow, ...] = ()
    prizes_paid: int = 0
    prize_points: int = 0
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # this process's CPU (the wall clock grows with a busy machine)

    @property
    def ran(self) -> bool:
        return bool(self.days)


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the operator report shows; contest parts are empty until the contest phase."""

    title: str
    engagement: DailyEngagement
    points: PointsFlow
    funnels: tuple[ItemFunnel, ...]
    retention: Retention
    content: ContentStats
    ledger: LedgerAudit
    members: int
    referrals: int
    contests: tuple[ContestReport, ...] = ()
    pk: tuple[PkReport, ...] = ()  # one per contest with PK rounds
    leagues: LeagueReport = LeagueReport()
    quiz: QuizReport = QuizReport()
    intraday: IntradayReport = IntradayReport()
    checks: CheckReport = CheckReport(())  # every registered invariant check, after the audit
    experiment: ExperimentReport | None = None  # the season's A/B test, when it ran


@dataclass(frozen=True, slots=True)
class SimulationResult:
    config: SimulationConfig
    digest: str
    report_path: Path
    database_url: str
    data: ReportData
    timings: dict[str, float]  # phase, or "phase: step", → seconds of wall-clock time

"""Operators' seasons and contests; members' entries and follows.

The contest row is also the trading venue (``engine.services``): joining opens the member's
trading account, and the clock, orders and books stay where they are. Once trading starts the
fields that change the game are locked; an ended season is read-only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_

from core.clock import utc_now
from core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from engine.contests.model import (
    Contest,
    ContestState,
    DataSource,
    Season,
    check_secondary,
    contest_state,
    instant,
    local_today,
    registration_open,
    zone,
)
from engine.contests.spec import (
    MetricSpec,
    PkSettings,
    PrizeLine,
    Qualification,
    TeamSettings,
    prize_table_from_json,
)
from engine.contests.store import SeasonRow
from engine.market.model import Market
from engine.rules import rule_pack
from engine.services import ClockReport, TradingUnitOfWork, advance_clock
from engine.store import ContestRow
from ledger.engagement import summary_in


class SeasonEnded(Conflict):
    slug = "season-ended"
    title = "The season has ended"


class FieldLocked(Conflict):
    slug = "field-locked"
    title = "Field locked"


class EntryRefused(Conflict):
    slug = "entry-refused"
    title = "Entry refused"


# --- seasons ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeasonDraft:
    name: str
    timezone: str
    starts_on: date
    ends_on: date
    market: Market
    universe: Sequence[str]
    data_source: DataSource = DataSource.REPLAY
    replay_start: date | None = None
    replay_end: date | None = None
    description: str = ""


SEASON_FIELDS = frozenset(
    {"name", "description", "timezone", "starts_on", "ends_on", "replay_start", "replay_end"}
)


def create_season(
    uow: TradingUnitOfWork, draft: SeasonDraft, *, operator_id: int, now: datetime | None = None
) -> Season:
    """A season; its universe must be known instruments of its market."""
    _check_season(draft)
    with uow:
        _check_universe(uow, draft.market, draft.universe, field="universe")
        row = uow.contests.add(
            SeasonRow(
                name=draft.name,
                description=draft.description,
                timezone=draft.timezone,
                starts_on=draft.starts_on,
                ends_on=draft.ends_on,
                market=draft.market.value,
                universe=list(draft.universe),
                data_source=draft.data_source.value,
                replay_start=draft.replay_start,
                replay_end=draft.replay_end,
                created_by=operator_id,
            )
        )
        season = season_of(row, now=now or utc_now())
        uow.commit()
    return season


def update_season(
    uow: TradingUnitOfWork,
    season_id: int,
    changes: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Season:
    """Change a season's name, description, zone or dates; market and universe belong to the
    contests that already use them. An ended season is read-only (409)."""
    moment = now or utc_now()
    unknown = sorted(set(changes) - SEASON_FIELDS)
    if unknown:
        raise RuleViolation(
            f"{unknown[0]} cannot be changed on a season", field=unknown[0], rule="immutable"
        )
    with uow:
        row = _season_row(uow, season_id, lock=True)
        _refuse_if_ended(row, moment)
        draft = replace(_draft_of(row), **dict(changes))
        _check_season(draft)
        for contest in uow.contests.contests_of_season(season_id):
            _check_within_replay(draft, contest.trading_start, contest.trading_end)
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = moment
        season = season_of(row, now=moment)
        uow.commit()
    return season


def get_season(uow: TradingUnitOfWork, season_id: int, *, now: datetime | None = None) -> Season:
    with uow.reading():
        return season_of(_season_row(uow, season_id), now=now or utc_now())


def list_seasons(
    uow: TradingUnitOfWork, *, after: int | None, limit: int, now: datetime | None = None
) -> tuple[list[Season], int | None]:
    moment = now or utc_now()
    with uow.reading():
        rows, following = uow.contests.seasons_page(after=after, limit=limit)
        return [season_of(r, now=moment) for r in rows], following


def season_of(row: SeasonRow, *, now: datetime) -> Season:
    return Season(
        id=row.id,
        name=row.name,
        description=row.description,
        timezone=row.timezone,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        market=row.market,
        universe=tuple(row.universe),
        data_source=DataSource(row.data_source),
        replay_start=row.replay_start,
        replay_end=row.replay_end,
        ended=_ended(row, now),
    )


def _ended(row: SeasonRow, now: datetime) -> bool:
    return local_today(now, zone(row.timezone)) > row.ends_on


def _refuse_if_ended(row: SeasonRow, now: datetime) -> None:
    if _ended(row, now):
        raise SeasonEnded(
            f"season {row.id} ended on {row.ends_on} ({row.timezone}) and is read-only",
            field="season_id",
            rule="season-ended",
        )


def _draft_of(row: SeasonRow) -> SeasonDraft:
    return SeasonDraft(
        name=row.name,
        timezone=row.timezone,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        market=Market(row.market),
        universe=tuple(row.universe),
        data_source=DataSource(row.data_source),
        replay_start=row.replay_start,
        replay_end=row.replay_end,
        description=row.description,
    )


def _check_season(draft: SeasonDraft) -> None:
    zone(draft.timezone)
    if not draft.name.strip():
        raise RuleViolation("a season needs a name", field="name", rule="non-empty")
    if draft.starts_on > draft.ends_on:
        raise RuleViolation("the season ends before it starts", field="ends_on", rule="after-start")
    if not draft.universe:
        raise RuleViolation("the universe has no instruments", field="universe", rule="non-empty")
    if len(set(draft.universe)) != len(draft.universe):
        raise RuleViolation("the universe lists a symbol twice", field="universe", rule="unique")
    replay = draft.data_source is DataSource.REPLAY
    window = (draft.replay_start, draft.replay_end)
    if replay and None in window:
        raise RuleViolation(
            "a replay season needs replay_start and replay_end",
            field="replay_start",
            rule="required",
        )
    if not replay and window != (None, None):
        raise RuleViolation(
            "a live season has no replay window", field="replay_start", rule="replay-only"
        )
    if replay and draft.replay_start and draft.replay_end and draft.replay_start > draft.replay_end:
        raise RuleViolation(
            "the replay window ends before it starts", field="replay_end", rule="after-start"
        )


def _check_within_replay(draft: SeasonDraft, start: date, end: date) -> None:
    if draft.data_source is not DataSource.REPLAY:
        return
    assert draft.replay_start is not None and draft.replay_end is not None  # _check_season
    if start < draft.replay_start or end > draft.replay_end:
        raise RuleViolation(
            f"trading {start}…{end} lies outside the season's replay window "
            f"{draft.replay_start}…{draft.replay_end}",
            field="trading_start" if start < draft.replay_start else "trading_end",
            rule="within-replay-window",
        )


def _check_universe(
    uow: TradingUnitOfWork, market: Market, symbols: Sequence[str], *, field: str
) -> None:
    for symbol in symbols:
        instrument = uow.market.instrument(symbol)
        if instrument is None:
            raise RuleViolation(f"unknown symbol {symbol!r}", field=field, rule="known-symbol")
        if instrument.market is not market:
            raise RuleViolation(
                f"{symbol} trades in {instrument.market.value}, not {market.value}",
                field=field,
                rule="same-market",
            )


def _season_row(uow: TradingUnitOfWork, season_id: int, *, lock: bool = False) -> SeasonRow:
    row = uow.contests.season(season_id, lock=lock)
    if row is None:
        raise NotFound(f"no season {season_id}", season_id=season_id)
    return row


# --- contests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContestDraft:
    season_id: int
    title: str
    trading_start: date
    trading_end: date
    starting_cash: Decimal
    description: str = ""
    universe: Sequence[str] | None = None  # None: the season's universe
    rule_overrides: Mapping[str, Any] = field(default_factory=dict)
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    capacity: int | None = None
    min_level: int = 0
    private: bool = False
    invite_code: str | None = None  # for a private contest; generated when not given
    metric: MetricSpec = field(default_factory=MetricSpec)
    secondary_metric: str | None = None
    qualification: Qualification = field(default_factory=Qualification)
    prizes: Sequence[PrizeLine] = ()
    teams: TeamSettings | None = None
    pk: PkSettings | None = None


# Fields that change the game: locked once the clock has revealed the first bar.
LOCKED_AT_START = frozenset(
    {
        "starting_cash",
        "rule_overrides",
        "universe",
        "metric",
        "secondary_metric",
        "qualification",
        "prizes",
        "teams",
        "pk",
        "trading_start",
    }
)
EDITABLE = LOCKED_AT_START | {
    "title",
    "description",
    "registration_opens_at",
    "registration_closes_at",
    "trading_end",
    "capacity",
    "min_level",
    "private",
    "invite_code",
}


def create_contest(
    uow: TradingUnitOfWork, draft: ContestDraft, *, now: datetime | None = None
) -> Contest:
    """A contest in an open season; every part is validated before anything is written."""
    moment = now or utc_now()
    with uow:
        season = _season_row(uow, draft.season_id, lock=True)
        _refuse_if_ended(season, moment)
        draft = _normalized(draft, season)
        _check_contest(uow, draft, season)
        row = uow.trading.add_contest(_row_of(draft, season))
        contest = contest_of(row, season, entries=0, now=moment, operator=True)
        uow.commit()
    return contest


def update_contest(
    uow: TradingUnitOfWork,
    contest_id: int,
    changes: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Contest:
    """Apply ``changes`` (field → new value, typed as in ``ContestDraft``).

    Game fields are locked once trading has started, a date once it has passed (409
    ``field-locked``); the whole contest is read-only once its season has ended.
    """
    moment = now or utc_now()
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise RuleViolation(
            f"{unknown[0]} cannot be changed on a contest", field=unknown[0], rule="immutable"
        )
    with uow:
        row = _contest_row(uow, contest_id, lock=True)
        season = _season_row(uow, row.season_id or 0)
        _refuse_if_ended(season, moment)
        _refuse_locked(row, changes, moment)
        draft = _normalized(replace(draft_of(row), **dict(changes)), season)
        _check_contest(uow, draft, season)
        entries = uow.contests.entry_count(contest_id)
        if draft.capacity is not None and draft.capacity < entries:
            raise RuleViolation(
                f"{entries} members have already joined", field="capacity", rule="above-entries"
            )
        _apply(row, draft, changes)
        row.updated_at = moment
        contest = contest_of(row, season, entries=entries, now=moment, operator=True)
        uow.commit()
    return contest


def check_visible(
    uow: TradingUnitOfWork,
    contest_id: int,
    viewer_id: int | None,
    *,
    operator: bool = False,
    invite_code: str | None = None,
) -> None:
    """Refuse a private contest to anyone but its entrants, holders of its invite code and
    operators, with the very ``NotFound`` of a contest that does not exist."""
    with uow.reading():
        row = uow.trading.contest(contest_id)  # a bare trading venue (no season) too
        if row is None or not may_see(
            uow, row, viewer_id, operator=operator, invite_code=invite_code
        ):
            raise _no_contest(contest_id)


def may_see(
    uow: TradingUnitOfWork,
    row: ContestRow,
    viewer_id: int | None,
    *,
    operator: bool = False,
    invite_code: str | None = None,
) -> bool:
    """Whether ``viewer_id`` may know of the contest (inside the caller's transaction)."""
    if row.invite_code is None or operator or _holds_code(row, invite_code):
        return True
    return viewer_id is not None and uow.trading.account(row.id, viewer_id) is not None


def _holds_code(row: ContestRow, invite_code: str | None) -> bool:
    return row.invite_code is not None and secrets.compare_digest(
        (invite_code or "").encode(), row.invite_code.encode()
    )


def get_contest(
    uow: TradingUnitOfWork, contest_id: int, *, operator: bool = False, now: datetime | None = None
) -> Contest:
    with uow.reading():
        row = _contest_row(uow, contest_id)
        season = _season_row(uow, row.season_id or 0)
        entries = uow.contests.entry_count(contest_id)
        return contest_of(row, season, entries=entries, now=now or utc_now(), operator=operator)


def list_contests(
    uow: TradingUnitOfWork,
    *,
    season_id: int | None = None,
    states: Sequence[ContestState] = (),
    after: int | None = None,
    limit: int = 50,
    operator: bool = False,
    visible_to: int | None = None,
    now: datetime | None = None,
) -> tuple[list[Contest], int | None]:
    """Contests newest first, optionally of one season and in some states; with
    ``visible_to``, only those that member may see (public ones and private ones entered)."""
    moment = now or utc_now()
    where: list[Any] = []
    if season_id is not None:
        where.append(ContestRow.season_id == season_id)
    if states:
        where.append(or_(*(_state_condition(s, moment) for s in states)))
    with uow.reading():
        if visible_to is not None:
            where.append(uow.contests.visible_condition(visible_to))
        rows, following = uow.contests.contests_page(where=where, after=after, limit=limit)
        counts = uow.contests.entry_counts([r.id for r in rows])
        seasons = {r.season_id: _season_row(uow, r.season_id or 0) for r in rows}
        contests = [
            contest_of(
                r, seasons[r.season_id], entries=counts.get(r.id, 0), now=moment, operator=operator
            )
            for r in rows
        ]
    return contests, following


def _state_condition(state: ContestState, now: datetime) -> Any:
    """The SQL form of ``contest_state`` for one state (same order of precedence)."""
    c = ContestRow
    unsettled, unstarted = c.settled_at.is_(None), c.clock_day.is_(None)
    opened = or_(c.registration_opens_at.is_(None), c.registration_opens_at <= now)
    closed = and_(c.registration_closes_at.is_not(None), c.registration_closes_at <= now)
    return {
        ContestState.SETTLED: c.settled_at.is_not(None),
        ContestState.FINISHED: and_(unsettled, c.clock_day >= c.trading_end),
        ContestState.RUNNING: and_(unsettled, c.clock_day < c.trading_end),
        ContestState.UPCOMING: and_(unsettled, unstarted, ~opened),
        ContestState.WAITING: and_(unsettled, unstarted, opened, closed),
        ContestState.REGISTRATION: and_(unsettled, unstarted, opened, ~closed),
    }[state]


def contest_of(
    row: ContestRow, season: SeasonRow, *, entries: int, now: datetime, operator: bool
) -> Contest:
    return Contest(
        id=row.id,
        season_id=season.id,
        title=row.title,
        description=row.description,
        market=row.market,
        universe=tuple(row.universe),
        starting_cash=row.starting_cash,
        rule_overrides=dict(row.rule_overrides),
        registration_opens_at=row.registration_opens_at,
        registration_closes_at=row.registration_closes_at,
        trading_start=row.trading_start,
        trading_end=row.trading_end,
        capacity=row.capacity,
        min_level=row.min_level,
        private=row.invite_code is not None,
        invite_code=row.invite_code if operator else None,
        metric=MetricSpec.from_json(row.metric),
        secondary_metric=row.secondary_metric,
        qualification=Qualification.from_json(row.qualification),
        prizes=tuple(prize_table_from_json(row.prizes, at="prizes")),
        teams=TeamSettings.from_json(row.team_settings),
        pk=PkSettings.from_json(row.pk_settings),
        clock_day=row.clock_day,
        clock_ticks=row.clock_ticks,
        state=contest_state(
            now=now,
            opens_at=row.registration_opens_at,
            closes_at=row.registration_closes_at,
            clock_day=row.clock_day,
            trading_end=row.trading_end,
            settled_at=row.settled_at,
        ),
        entries=entries,
        settled_at=row.settled_at,
    )


def draft_of(row: ContestRow) -> ContestDraft:
    return ContestDraft(
        season_id=row.season_id or 0,
        title=row.title,
        trading_start=row.trading_start,
        trading_end=row.trading_end,
        starting_cash=row.starting_cash,
        description=row.description,
        universe=tuple(row.universe),
        rule_overrides=dict(row.rule_overrides),
        registration_opens_at=row.registration_opens_at,
        registration_closes_at=row.registration_closes_at,
        capacity=row.capacity,
        min_level=row.min_level,
        private=row.invite_code is not None,
        invite_code=row.invite_code,
        metric=MetricSpec.from_json(row.metric),
        secondary_metric=row.secondary_metric,
        qualification=Qualification.from_json(row.qualification),
        prizes=tuple(prize_table_from_json(row.prizes, at="prizes")),
        teams=TeamSettings.from_json(row.team_settings),
        pk=PkSettings.from_json(row.pk_settings),
    )


def _normalized(draft: ContestDraft, season: SeasonRow) -> ContestDraft:
    """Season defaults filled in, local times made instants, a private contest's code set."""
    tz = zone(season.timezone)
    opens, closes = draft.registration_opens_at, draft.registration_closes_at
    code = draft.invite_code if draft.private else None
    if draft.private and not code:
        code = secrets.token_urlsafe(9)
    return replace(
        draft,
        universe=tuple(draft.universe) if draft.universe is not None else tuple(season.universe),
        registration_opens_at=None if opens is None else instant(opens, tz),
        registration_closes_at=None if closes is None else instant(closes, tz),
        invite_code=code,
    )


def _check_contest(uow: TradingUnitOfWork, draft: ContestDraft, season: SeasonRow) -> None:
    if not draft.title.strip():
        raise RuleViolation("a contest needs a title", field="title", rule="non-empty")
    if draft.starting_cash <= 0:
        raise RuleViolation(
            "starting cash must be positive", field="starting_cash", rule="positive"
        )
    if draft.trading_start > draft.trading_end:
        raise RuleViolation(
            "trading ends before it starts", field="trading_end", rule="after-start"
        )
    opens, closes = draft.registration_opens_at, draft.registration_closes_at
    if opens is not None and closes is not None and opens >= closes:
        raise RuleViolation(
            "registration closes before it opens",
            field="registration_closes_at",
            rule="after-open",
        )
    if draft.capacity is not None and draft.capacity < 1:
        raise RuleViolation("capacity must be at least 1", field="capacity", rule="minimum")
    if draft.min_level < 0:
        raise RuleViolation("min_level must be ≥ 0", field="min_level", rule="minimum")
    universe = tuple(draft.universe or ())
    outside = sorted(set(universe) - set(season.universe))
    if outside or not universe:
        raise RuleViolation(
            f"{outside[0]} is not in the season's universe" if outside else "empty universe",
            field="universe",
            rule="season-universe",
        )
    _check_within_replay(_draft_of(season), draft.trading_start, draft.trading_end)
    rule_pack(season.market, dict(draft.rule_overrides))  # names the bad rule field
    draft.metric.validate()
    check_secondary(draft.secondary_metric)
    if draft.metric.benchmark is not None and uow.market.instrument(draft.metric.benchmark) is None:
        raise RuleViolation(
            f"unknown benchmark {draft.metric.benchmark!r}",
            field="metric.benchmark",
            rule="known-symbol",
        )
    lines = [*draft.prizes, *(draft.pk.prizes if draft.pk else ())]
    for line in lines:
        if line.item_key is not None and uow.engagement.item_by_key(line.item_key) is None:
            raise RuleViolation(
                f"no reward item {line.item_key!r} in the catalog",
                field="prizes",
                rule="known-item",
            )
    if draft.pk is not None and draft.teams is None:
        raise RuleViolation("PK rounds are between teams", field="pk", rule="needs-teams")
    if DataSource(season.data_source) is DataSource.REPLAY:
        days = uow.market.trading_days(universe, draft.trading_start, draft.trading_end)
        if not days:
            raise RuleViolation(
                "no stored bars in the trading window", field="trading_start", rule="has-bars"
            )


def _row_of(draft: ContestDraft, season: SeasonRow) -> ContestRow:
    row = ContestRow(season_id=season.id, market=season.market, clock_ticks=0)
    _apply(row, draft, EDITABLE)
    return row


def _apply(row: ContestRow, draft: ContestDraft, changed: Any) -> None:
    """Copy the draft's ``changed`` fields onto the row (storage shapes)."""
    stored: dict[str, tuple[str, Any]] = {
        "title": ("title", draft.title),
        "description": ("description", draft.description),
        "starting_cash": ("starting_cash", draft.starting_cash),
        "universe": ("universe", list(draft.universe or ())),
        "rule_overrides": ("rule_overrides", dict(draft.rule_overrides)),
        "registration_opens_at": ("registration_opens_at", draft.registration_opens_at),
        "registration_closes_at": ("registration_closes_at", draft.registration_closes_at),
        "trading_start": ("trading_start", draft.trading_start),
        "trading_end": ("trading_end", draft.trading_end),
        "capacity": ("capacity", draft.capacity),
        "min_level": ("min_level", draft.min_level),
        "private": ("invite_code", draft.invite_code),
        "invite_code": ("invite_code", draft.invite_code),
        "metric": ("metric", draft.metric.to_json()),
        "secondary_metric": ("secondary_metric", draft.secondary_metric),
        "qualification": ("qualification", draft.qualification.to_json()),
        "prizes": ("prizes", [line.to_json() for line in draft.prizes]),
        "teams": ("team_settings", None if draft.teams is None else draft.teams.to_json()),
        "pk": ("pk_settings", None if draft.pk is None else draft.pk.to_json()),
    }
    for name in changed:
        column, value = stored[name]
        setattr(row, column, value)


def _refuse_locked(row: ContestRow, changes: Mapping[str, Any], now: datetime) -> None:
    started = row.clock_day is not None
    for name, value in changes.items():
        if started and name in LOCKED_AT_START:
            raise FieldLocked(
                f"{name} is locked: trading started on {row.trading_start}",
                field=name,
                rule="locked-after-start",
            )
        current = getattr(row, name, None)
        if name in ("registration_opens_at", "registration_closes_at") and value != current:
            if current is not None and current <= now:
                raise FieldLocked(
                    f"{name} has passed ({current.isoformat()})", field=name, rule="date-passed"
                )
        if name == "trading_end" and row.clock_day is not None and value <= row.clock_day:
            raise FieldLocked(
                f"the clock is at {row.clock_day}; trading_end must be later",
                field=name,
                rule="date-passed",
            )


def _contest_row(uow: TradingUnitOfWork, contest_id: int, *, lock: bool = False) -> ContestRow:
    row = uow.trading.contest(contest_id, lock=lock)
    if row is None or row.season_id is None:
        raise _no_contest(contest_id)
    return row


def _no_contest(contest_id: int) -> NotFound:
    return NotFound(f"no contest {contest_id}", contest_id=contest_id)


# --- entries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    contest_id: int
    member_id: int
    account_id: int
    starting_cash: Decimal
    joined_at: datetime


def join_contest(
    uow: TradingUnitOfWork,
    contest_id: int,
    member_id: int,
    *,
    invite_code: str | None = None,
    operator: bool = False,
    now: datetime | None = None,
) -> Entry:
    """Enter the contest: one entry per member, inside the registration window, within
    capacity, at or above the minimum level, with the invite code of a private contest.

    Without the code a private contest is a ``NotFound``, as for every reader who may not see
    it; an operator (who may) is told the code is missing."""
    moment = now or utc_now()
    with uow:
        row = _contest_row(uow, contest_id, lock=True)  # serializes capacity checks
        if not may_see(uow, row, member_id, operator=operator, invite_code=invite_code):
            raise _no_contest(contest_id)
        entered = uow.trading.account(contest_id, member_id) is not None
        if row.invite_code is not None and not entered and not _holds_code(row, invite_code):
            raise PermissionDenied(
                "this contest is private: a valid invite code is required",
                field="invite_code",
                rule="invite-code",
            )
        if entered:
            raise EntryRefused(
                "you have already joined this contest", field="contest_id", rule="one-entry"
            )
        if not registration_open(
            now=moment,
            opens_at=row.registration_opens_at,
            closes_at=row.registration_closes_at,
            clock_day=row.clock_day,
            trading_end=row.trading_end,
        ):
            raise EntryRefused(
                "registration is closed for this contest",
                field="contest_id",
                rule="registration-closed",
            )
        entries = uow.contests.entry_count(contest_id)
        if row.capacity is not None and entries >= row.capacity:
            raise EntryRefused(
                f"the contest is full ({row.capacity} entries)",
                field="contest_id",
                rule="capacity",
            )
        # Every member holds level 1 at least (levels start at 0 XP), so only a higher
        # minimum needs their XP read.
        level = summary_in(uow, member_id).level.number if row.min_level > 1 else row.min_level
        if level < row.min_level:
            raise PermissionDenied(
                f"the contest requires level {row.min_level}; you are level {level}",
                field="contest_id",
                rule="min-level",
            )
        account = uow.trading.add_account(contest_id, member_id, row.starting_cash)
        entry = Entry(contest_id, member_id, account.id, account.starting_cash, moment)
        uow.commit()
    return entry


def my_entries(uow: TradingUnitOfWork, member_id: int) -> list[int]:
    """Ids of the contests the member has joined."""
    with uow.reading():
        return uow.contests.contests_entered(member_id)


# --- follows ----------------------------------------------------------------------------------


def follow(uow: TradingUnitOfWork, follower_id: int, followee_id: int) -> bool:
    """Follow another member (for the friends leaderboard); True when newly followed."""
    if follower_id == followee_id:
        raise RuleViolation("you cannot follow yourself", field="member_id", rule="not-self")
    with uow:
        if not uow.contests.member_exists(followee_id):
            raise NotFound(f"no member {followee_id}", member_id=followee_id)
        created = uow.contests.follow(follower_id, followee_id)
        uow.commit()
    return created


def unfollow(uow: TradingUnitOfWork, follower_id: int, followee_id: int) -> bool:
    with uow:
        removed = uow.contests.unfollow(follower_id, followee_id)
        uow.commit()
    return removed


def followees(uow: TradingUnitOfWork, follower_id: int) -> list[int]:
    with uow.reading():
        return uow.contests.followees(follower_id)


# --- the clock ----------------------------------------------------------------------------------


def advance_contest_clock(
    uow: TradingUnitOfWork,
    contest_id: int,
    *,
    bars: int = 1,
    until: date | None = None,
    now: datetime | None = None,
) -> ClockReport:
    """The operator's (or scheduler's) clock call: reveal up to ``bars`` trading days, none
    after ``until`` (a call naming its target day is safe to retry: the second reveals nothing).

    A replay contest walks its stored bars as fast as it is called; a live one never reveals a
    day that has not ended in the season's time zone. An ended season's clock is stopped.
    """
    if bars < 1:
        raise RuleViolation("advance at least one bar", field="bars", rule="minimum")
    moment = now or utc_now()
    with uow.reading():
        row = _contest_row(uow, contest_id)
        season = _season_row(uow, row.season_id or 0)
        _refuse_if_ended(season, moment)
        if row.settled_at is not None:
            raise Conflict("the contest is settled", field="contest_id", rule="settled")
        if DataSource(season.data_source) is DataSource.LIVE:
            ended = local_today(moment, zone(season.timezone)) - timedelta(days=1)
            until = ended if until is None else min(until, ended)
    return advance_clock(uow, contest_id, bars=bars, until=until, now=moment)


def tick_due_contests(
    uow: TradingUnitOfWork, *, bars: int = 1, now: datetime | None = None
) -> list[ClockReport]:
    """The scheduler's call (cron, a systemd timer): advance every contest that is due, i.e.
    running, or waiting with its registration closed; a contest without a closing time starts
    only on an operator's clock call. Contests of ended seasons are left alone."""
    moment = now or utc_now()
    due: list[int] = []
    after = None
    while True:
        page, after = list_contests(
            uow,
            states=[ContestState.WAITING, ContestState.RUNNING],
            after=after,
            limit=200,
            now=moment,
        )
        due += [c.id for c in page]
        if after is None:
            break
    reports = []
    for contest_id in sorted(due):
        try:
            reports.append(advance_contest_clock(uow, contest_id, bars=bars, now=moment))
        except SeasonEnded:
            continue
    return reports

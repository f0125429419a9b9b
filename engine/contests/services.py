"""Operators' contests: drafts, creation, edits (locked once trading starts), and reads.

The contest row is also the trading venue (``engine.trading.venue``): joining
(``engine.contests.entries``) opens the member's trading account; the clock is
``engine.clock``. Seasons are ``engine.contests.seasons``; an ended season is read-only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_

from core.clock import utc_now
from core.errors import Conflict, RuleViolation
from core.rule_codes import Rule
from core.segments.services import check_target
from engine.contests import seasons
from engine.contests.model import (
    Contest,
    ContestState,
    DataSource,
    check_secondary,
    contest_state,
    instant,
    zone,
)
from engine.contests.prize_rules import (
    Disclosures,
    DrawPrize,
    PrizeLimits,
    check_disclosures,
    check_draw_cap,
    check_no_paid_entry,
    draw_commitment,
    draws_from_json,
    new_draw_seed,
    offers_prizes,
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
from engine.market.sessions import sessions_for
from engine.trading.rules import rule_pack
from engine.trading.store import ContestRow
from engine.trading.venue import require_contest
from engine.uow import EngineUnitOfWork


class FieldLocked(Conflict):
    slug = "field-locked"
    title = "Field locked"


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
    notes_required_for_ranking: bool = False
    prizes: Sequence[PrizeLine] = ()
    teams: TeamSettings | None = None
    pk: PkSettings | None = None
    draws: Sequence[DrawPrize] = ()
    disclosures: Disclosures = field(default_factory=Disclosures)
    entry_fee_points: int = 0
    target_segment: str | None = None  # only its members may join (core.segments)
    bar_interval: str = "daily"  # or "minute": a live intraday contest (engine.intraday_clock)

    @property
    def has_prizes(self) -> bool:
        """Whether the contest gives anything away: ranked, PK or draw prizes."""
        pk_prizes = self.pk.prizes if self.pk is not None else ()
        return offers_prizes(prizes=self.prizes, draws=self.draws, pk_prizes=pk_prizes)


# Fields that change the game: locked once the clock has revealed the first bar.
LOCKED_AT_START = frozenset(
    {
        "starting_cash",
        "rule_overrides",
        "universe",
        "metric",
        "secondary_metric",
        "qualification",
        "notes_required_for_ranking",
        "prizes",
        "teams",
        "pk",
        "trading_start",
        "draws",
        "entry_fee_points",
        "bar_interval",
    }
)
# Secret, so never in the public rules document (and still changeable after the start).
SECRET_FIELDS = frozenset({"invite_code"})
# Every field a member relies on: the contest's rules snapshot (``engine.contests.rules``) holds
# them all, so once trading starts none may change. Derived from the draft, so a field added to
# ``ContestDraft`` is locked (and snapshotted) without a change here.
SNAPSHOT_FIELDS = frozenset(f.name for f in fields(ContestDraft)) - SECRET_FIELDS
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
    "disclosures",
    "target_segment",
}


def create_contest(
    uow: EngineUnitOfWork,
    draft: ContestDraft,
    *,
    now: datetime | None = None,
    limits: PrizeLimits | None = None,
) -> Contest:
    """A contest in an open season; every part is validated before anything is written
    (prize rules against ``limits``, by default ``PrizeLimits()``)."""
    moment = now or utc_now()
    with uow:
        season = seasons.require_season(uow, draft.season_id, lock=True)
        seasons.refuse_if_ended(season, moment)
        draft = _normalized(draft, season)
        _check_contest(uow, draft, season)
        draft = _resolved_end(uow, draft, season)
        _check_prize_rules(draft, season, limits or PrizeLimits())
        row = _row_of(draft, season)
        row.draw_seed = new_draw_seed()
        row = uow.trading.add_contest(row)
        contest = contest_of(row, season, entries=0, now=moment, operator=True)
        uow.commit()
    return contest


def update_contest(
    uow: EngineUnitOfWork,
    contest_id: int,
    changes: Mapping[str, Any],
    *,
    now: datetime | None = None,
    limits: PrizeLimits | None = None,
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
        row = require_contest(uow, contest_id, lock=True, seasonal=True)
        season = seasons.require_season(uow, row.season_id or 0)
        seasons.refuse_if_ended(season, moment)
        _refuse_locked(row, changes, moment)
        if row.draw_seed is None:  # a contest made before draws existed
            row.draw_seed = new_draw_seed()
        draft = _normalized(replace(draft_of(row), **dict(changes)), season)
        _check_contest(uow, draft, season)
        draft = _resolved_end(uow, draft, season)
        _check_prize_rules(draft, season, limits or PrizeLimits())
        entries = uow.contests.entry_count(contest_id)
        if draft.capacity is not None and draft.capacity < entries:
            raise RuleViolation(
                f"{entries} members have already joined", field="capacity", rule="above_entries"
            )
        _apply(row, draft, changes)
        row.updated_at = moment
        contest = contest_of(row, season, entries=entries, now=moment, operator=True)
        uow.commit()
    return contest


def get_contest(
    uow: EngineUnitOfWork, contest_id: int, *, operator: bool = False, now: datetime | None = None
) -> Contest:
    with uow.reading():
        row = require_contest(uow, contest_id, seasonal=True)
        season = seasons.require_season(uow, row.season_id or 0)
        entries = uow.contests.entry_count(contest_id)
        return contest_of(row, season, entries=entries, now=now or utc_now(), operator=operator)


def list_contests(
    uow: EngineUnitOfWork,
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
        season_of = {r.season_id: seasons.require_season(uow, r.season_id or 0) for r in rows}
        contests = [
            contest_of(
                r,
                season_of[r.season_id],
                entries=counts.get(r.id, 0),
                now=moment,
                operator=operator,
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
    # trading_over: a minute contest also needs its last session closed
    last_closed = and_(c.closed_day.is_not(None), c.closed_day >= c.trading_end)
    over = and_(c.clock_day >= c.trading_end, or_(c.bar_interval != "minute", last_closed))
    return {
        ContestState.SETTLED: c.settled_at.is_not(None),
        ContestState.FINISHED: and_(unsettled, over),
        ContestState.RUNNING: and_(unsettled, c.clock_day.is_not(None), ~over),
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
        notes_required_for_ranking=row.notes_required_for_ranking,
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
            minute=row.bar_interval == "minute",
            closed_day=row.closed_day,
        ),
        entries=entries,
        settled_at=row.settled_at,
        draws=tuple(draws_from_json(row.draws)),
        disclosures=Disclosures.from_json(row.disclosures),
        entry_fee_points=row.entry_fee_points or 0,
        draw_commitment=None if row.draw_seed is None else draw_commitment(row.draw_seed),
        draw_seed=row.draw_seed if row.settled_at is not None else None,
        target_segment=row.target_segment,
        bar_interval=row.bar_interval or "daily",
        feed_stale_since=row.feed_stale_since,
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
        notes_required_for_ranking=row.notes_required_for_ranking,
        prizes=tuple(prize_table_from_json(row.prizes, at="prizes")),
        teams=TeamSettings.from_json(row.team_settings),
        pk=PkSettings.from_json(row.pk_settings),
        draws=tuple(draws_from_json(row.draws)),
        disclosures=Disclosures.from_json(row.disclosures),
        entry_fee_points=row.entry_fee_points or 0,
        target_segment=row.target_segment,
        bar_interval=row.bar_interval or "daily",
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


def _check_contest(uow: EngineUnitOfWork, draft: ContestDraft, season: SeasonRow) -> None:
    if draft.bar_interval not in ("daily", "minute"):
        raise RuleViolation("bar_interval is daily or minute", field="bar_interval", rule="one_of")
    if not draft.title.strip():
        raise RuleViolation("a contest needs a title", field="title", rule="non_empty")
    if draft.starting_cash <= 0:
        raise RuleViolation(
            "starting cash must be positive", field="starting_cash", rule="positive"
        )
    if draft.trading_start > draft.trading_end:
        raise RuleViolation(
            "trading ends before it starts", field="trading_end", rule="after_start"
        )
    opens, closes = draft.registration_opens_at, draft.registration_closes_at
    if opens is not None and closes is not None and opens >= closes:
        raise RuleViolation(
            "registration closes before it opens",
            field="registration_closes_at",
            rule="after_open",
        )
    if draft.capacity is not None and draft.capacity < 1:
        raise RuleViolation("capacity must be at least 1", field="capacity", rule="minimum")
    if draft.min_level < 0:
        raise RuleViolation("min_level must be ≥ 0", field="min_level", rule="minimum")
    check_target(uow.session, draft.target_segment)
    universe = tuple(draft.universe or ())
    outside = sorted(set(universe) - set(season.universe))
    if outside or not universe:
        raise RuleViolation(
            f"{outside[0]} is not in the season's universe" if outside else "empty universe",
            field="universe",
            rule="season_universe",
        )
    window = (draft.trading_start, draft.trading_end)
    seasons.check_within_replay(seasons.season_draft_of(season), *window)
    rule_pack(season.market, dict(draft.rule_overrides))  # names the bad rule field
    draft.metric.validate()
    check_secondary(draft.secondary_metric)
    if draft.metric.benchmark is not None and uow.market.instrument(draft.metric.benchmark) is None:
        raise RuleViolation(
            f"unknown benchmark {draft.metric.benchmark!r}",
            field="metric.benchmark",
            rule="known_symbol",
        )
    lines: list[PrizeLine | DrawPrize] = [
        *draft.prizes,
        *(draft.pk.prizes if draft.pk else ()),
        *draft.draws,
    ]
    for line in lines:
        if line.item_key is not None and uow.engagement.item_by_key(line.item_key) is None:
            raise RuleViolation(
                f"no reward item {line.item_key!r} in the catalog",
                field="prizes",
                rule="known_item",
            )
    if draft.pk is not None and draft.teams is None:
        raise RuleViolation("PK rounds are between teams", field="pk", rule="needs_teams")
    if DataSource(season.data_source) is DataSource.REPLAY:
        days = uow.market.trading_days(universe, draft.trading_start, draft.trading_end)
        if not days:
            raise RuleViolation(
                "no stored bars in the trading window", field="trading_start", rule="has_bars"
            )


def _resolved_end(uow: EngineUnitOfWork, draft: ContestDraft, season: SeasonRow) -> ContestDraft:
    """The draft with ``trading_end`` moved back to the window's last trading day, so a
    window ending on a weekend or holiday still finishes (the clock ends at ``trading_end``).
    Replay: the last day with stored bars; live: the last session of the market's calendar."""
    start, end = draft.trading_start, draft.trading_end
    if DataSource(season.data_source) is DataSource.REPLAY:
        days = uow.market.trading_days(tuple(draft.universe or ()), start, end)
        last = days[-1] if days else None
    else:
        last = sessions_for(season.market).last_trading_day(end, not_before=start)
    return draft if last is None or last == end else replace(draft, trading_end=last)


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
        "notes_required_for_ranking": (
            "notes_required_for_ranking",
            draft.notes_required_for_ranking,
        ),
        "prizes": ("prizes", [line.to_json() for line in draft.prizes]),
        "teams": ("team_settings", None if draft.teams is None else draft.teams.to_json()),
        "pk": ("pk_settings", None if draft.pk is None else draft.pk.to_json()),
        "draws": ("draws", [line.to_json() for line in draft.draws]),
        "disclosures": ("disclosures", draft.disclosures.to_json()),
        "entry_fee_points": ("entry_fee_points", draft.entry_fee_points),
        "target_segment": ("target_segment", draft.target_segment),
        "bar_interval": ("bar_interval", draft.bar_interval),
    }
    for name in changed:
        column, value = stored[name]
        setattr(row, column, value)


def _check_prize_rules(draft: ContestDraft, season: SeasonRow, limits: PrizeLimits) -> None:
    """The promotion rules: draw prizes within the cap, no paid entry beside prizes, and a
    public contest with prizes fully disclosed (a private one may wait until it is joined)."""
    check_draw_cap(draft.draws, season.market, limits)
    check_no_paid_entry(has_prizes=draft.has_prizes, entry_fee_points=draft.entry_fee_points)
    if draft.has_prizes and not draft.private:
        check_disclosures(
            draft.disclosures,
            has_draws=bool(draft.draws),
            trading_end=draft.trading_end,
            action="is public",
        )


def _refuse_locked(row: ContestRow, changes: Mapping[str, Any], now: datetime) -> None:
    started = row.clock_day is not None
    for name, value in changes.items():
        if started and (name in LOCKED_AT_START or name in SNAPSHOT_FIELDS):
            raise FieldLocked(
                f"{name} is locked: trading started on {row.trading_start} and the contest's "
                "rules are fixed",
                field=name,
                rule=Rule.LOCKED_AFTER_START,
            )
        current = getattr(row, name, None)
        if name in ("registration_opens_at", "registration_closes_at") and value != current:
            if current is not None and current <= now:
                raise FieldLocked(
                    f"{name} has passed ({current.isoformat()})", field=name, rule="date_passed"
                )
        if name == "trading_end" and row.clock_day is not None and value <= row.clock_day:
            raise FieldLocked(
                f"the clock is at {row.clock_day}; trading_end must be later",
                field=name,
                rule="date_passed",
            )

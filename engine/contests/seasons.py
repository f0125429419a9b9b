"""Seasons: the operator's frame around contests (name, time zone, market, data source, dates).

A season's settings can change until it ends; its contests must lie within a replay season's
window and trade its market.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation
from engine.contests.model import (
    DataSource,
    Season,
    local_today,
    zone,
)
from engine.contests.store import SeasonRow
from engine.market.model import Market
from engine.uow import EngineUnitOfWork


class SeasonEnded(Conflict):
    slug = "season-ended"
    title = "The season has ended"


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
    uow: EngineUnitOfWork, draft: SeasonDraft, *, operator_id: int, now: datetime | None = None
) -> Season:
    """A season; its universe must be known instruments of its market."""
    _check_season(draft)
    with uow:
        check_universe(uow, draft.market, draft.universe, field="universe")
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
    uow: EngineUnitOfWork,
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
        row = require_season(uow, season_id, lock=True)
        refuse_if_ended(row, moment)
        draft = replace(season_draft_of(row), **dict(changes))
        _check_season(draft)
        for contest in uow.contests.contests_of_season(season_id):
            check_within_replay(draft, contest.trading_start, contest.trading_end)
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = moment
        season = season_of(row, now=moment)
        uow.commit()
    return season


def get_season(uow: EngineUnitOfWork, season_id: int, *, now: datetime | None = None) -> Season:
    with uow.reading():
        return season_of(require_season(uow, season_id), now=now or utc_now())


def list_seasons(
    uow: EngineUnitOfWork, *, after: int | None, limit: int, now: datetime | None = None
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
        ended=has_ended(row, now),
    )


def has_ended(row: SeasonRow, now: datetime) -> bool:
    return local_today(now, zone(row.timezone)) > row.ends_on


def refuse_if_ended(row: SeasonRow, now: datetime) -> None:
    if has_ended(row, now):
        raise SeasonEnded(
            f"season {row.id} ended on {row.ends_on} ({row.timezone}) and is read-only",
            field="season_id",
            rule="season_ended",
        )


def season_draft_of(row: SeasonRow) -> SeasonDraft:
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
        raise RuleViolation("a season needs a name", field="name", rule="non_empty")
    if draft.starts_on > draft.ends_on:
        raise RuleViolation("the season ends before it starts", field="ends_on", rule="after_start")
    if not draft.universe:
        raise RuleViolation("the universe has no instruments", field="universe", rule="non_empty")
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
            "a live season has no replay window", field="replay_start", rule="replay_only"
        )
    if replay and draft.replay_start and draft.replay_end and draft.replay_start > draft.replay_end:
        raise RuleViolation(
            "the replay window ends before it starts", field="replay_end", rule="after_start"
        )


def check_within_replay(draft: SeasonDraft, start: date, end: date) -> None:
    if draft.data_source is not DataSource.REPLAY:
        return
    assert draft.replay_start is not None and draft.replay_end is not None  # _check_season
    if start < draft.replay_start or end > draft.replay_end:
        raise RuleViolation(
            f"trading {start}…{end} lies outside the season's replay window "
            f"{draft.replay_start}…{draft.replay_end}",
            field="trading_start" if start < draft.replay_start else "trading_end",
            rule="within_replay_window",
        )


def check_universe(
    uow: EngineUnitOfWork, market: Market, symbols: Sequence[str], *, field: str
) -> None:
    for symbol in symbols:
        instrument = uow.market.instrument(symbol)
        if instrument is None:
            raise RuleViolation(f"unknown symbol {symbol!r}", field=field, rule="known_symbol")
        if instrument.market is not market:
            raise RuleViolation(
                f"{symbol} trades in {instrument.market.value}, not {market.value}",
                field=field,
                rule="same_market",
            )


def require_season(uow: EngineUnitOfWork, season_id: int, *, lock: bool = False) -> SeasonRow:
    row = uow.contests.season(season_id, lock=lock)
    if row is None:
        raise NotFound(f"no season {season_id}", season_id=season_id)
    return row

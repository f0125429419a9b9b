"""HTTP shapes of the leaderboards and follows.

Metrics and returns travel as decimal strings with up to 12 places (exactly what was ranked),
equity as money strings; ``next_cursor`` is opaque (it stands for a position).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer

from api.http.schemas.trading import MoneyStr
from core.pagination import encode_cursor
from engine.contests.board_pages import BoardPage
from engine.contests.leaderboard import (
    Followed,
    HistoryPoint,
    Leaderboard,
    LeaderboardRow,
    MyPlace,
    TeamLeaderboard,
    TeamPlace,
)

RatioStr = Annotated[
    Decimal, PlainSerializer(lambda v: format(v.normalize(), "f"), return_type=str)
]


def _cursor(position: int | None) -> str | None:
    return None if position is None else encode_cursor(position)


class LeaderboardRowOut(BaseModel):
    position: int
    rank: int | None
    member_id: int
    display_name: str
    metric: RatioStr | None
    total_return: RatioStr | None
    equity: MoneyStr
    qualified: bool
    trades: int
    unranked_reason: (
        Literal["one_account_per_person", "journal_notes", "not_qualified", "no_metric"] | None
    ) = Field(
        default=None,
        description="Why an unranked row is unranked (journal_notes: a filled order without a "
        "note, under notes_required_for_ranking); null when ranked",
    )

    @classmethod
    def of(cls, row: LeaderboardRow) -> LeaderboardRowOut:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class MyPlaceOut(BaseModel):
    position: int
    rank: int | None
    percentile: float | None

    @classmethod
    def of(cls, place: MyPlace | None) -> MyPlaceOut | None:
        if place is None:
            return None
        return cls(position=place.position, rank=place.rank, percentile=place.percentile)


class LeaderboardOut(BaseModel):
    """One page (or the around-me window) of a contest's leaderboard after tick ``tick``."""

    contest_id: int
    tick: int
    day: date | None
    entries: int
    ranked: int
    items: list[LeaderboardRowOut]
    next_cursor: str | None
    me: MyPlaceOut | None

    @classmethod
    def of(cls, board: Leaderboard) -> LeaderboardOut:
        return cls(
            contest_id=board.contest_id,
            tick=board.tick,
            day=board.day,
            entries=board.entries,
            ranked=board.ranked,
            items=[LeaderboardRowOut.of(row) for row in board.rows],
            next_cursor=_cursor(board.next_cursor),
            me=MyPlaceOut.of(board.me),
        )


def encode_row(row: LeaderboardRow) -> bytes:
    """One row exactly as ``LeaderboardOut`` serializes it (compact JSON: no newline)."""
    return LeaderboardRowOut.of(row).model_dump_json().encode()


def board_page_json(page: BoardPage) -> bytes:
    """The ``LeaderboardOut`` body of a cached page, byte for byte what the model would write,
    around rows serialized once per tick (``encode_row``)."""
    me = b"null" if page.me is None else MyPlaceOut.of(page.me).model_dump_json().encode()  # type: ignore[union-attr]
    cursor = _cursor(page.next_cursor)
    day = "null" if page.day is None else f'"{page.day.isoformat()}"'
    head = (
        f'{{"contest_id":{page.contest_id},"tick":{page.tick},"day":{day},'
        f'"entries":{page.entries},"ranked":{page.ranked},"items":['
    )
    tail = f'],"next_cursor":{json.dumps(cursor)},"me":'
    return b"".join((head.encode(), b",".join(page.rows), tail.encode(), me, b"}"))


class TeamPlaceOut(BaseModel):
    position: int
    rank: int | None
    team_id: int
    name: str
    score: RatioStr | None
    members_counted: int

    @classmethod
    def of(cls, place: TeamPlace) -> TeamPlaceOut:
        return cls(**{name: getattr(place, name) for name in cls.model_fields})


class TeamLeaderboardOut(BaseModel):
    contest_id: int
    tick: int
    day: date | None
    items: list[TeamPlaceOut]
    next_cursor: str | None

    @classmethod
    def of(cls, board: TeamLeaderboard) -> TeamLeaderboardOut:
        return cls(
            contest_id=board.contest_id,
            tick=board.tick,
            day=board.day,
            items=[TeamPlaceOut.of(row) for row in board.rows],
            next_cursor=_cursor(board.next_cursor),
        )


class HistoryPointOut(BaseModel):
    tick: int
    day: date
    position: int
    rank: int | None
    metric: RatioStr | None

    @classmethod
    def of(cls, point: HistoryPoint) -> HistoryPointOut:
        return cls(**{name: getattr(point, name) for name in cls.model_fields})


class FollowOut(BaseModel):
    member_id: int
    display_name: str

    @classmethod
    def of(cls, followed: Followed) -> FollowOut:
        return cls(member_id=followed.member_id, display_name=followed.display_name)

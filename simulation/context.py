"""What every phase of a season simulation shares: the database, the calendar, the members, the
seeded random streams, who was active when, and the points that flowed each day."""

from __future__ import annotations

import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import numpy.typing as npt

from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.users.services import UsersUnitOfWork
from engine.market.model import Instrument, Market
from engine.uow import EngineCaches
from ledger.services import LedgerUnitOfWork
from simulation.calendar import SeasonCalendar, SeasonDay
from simulation.model import SimulationConfig

# Every simulated member signs in with this password (a demo: try the API as any of them).
MEMBER_PASSWORD = "paperleague-demo"


@dataclass(frozen=True, slots=True)
class Member:
    """A simulated member; ``index`` is the row in every per-member array (sign-up order)."""

    index: int
    user_id: int
    username: str
    signed_up: date
    referred_by: int | None  # the inviter's index
    author: bool


class PointsLedgerLog:
    """Points per calendar day: minted by reason, redeemed, expired (as the services reported)."""

    def __init__(self) -> None:
        self.minted: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        self.redeemed: dict[date, int] = defaultdict(int)
        self.expired: dict[date, int] = defaultdict(int)

    def mint(self, day: date, reason: str, points: int) -> None:
        self.minted[reason][day] += points

    def redeem(self, day: date, points: int) -> None:
        self.redeemed[day] += points

    def expire(self, day: date, points: int) -> None:
        self.expired[day] += points


class Timings:
    """Wall-clock seconds spent per phase, summed over the season."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class SimulationContext:
    """State shared by the phases. Units of work are reusable: each ``with`` opens a session."""

    def __init__(
        self,
        config: SimulationConfig,
        database: Database,
        calendar: SeasonCalendar,
        timings: Timings | None = None,
    ) -> None:
        self.config = config
        # Seconds per phase, and per step where a phase names one (``with sim.timings(...)``).
        self.timings = timings or Timings()
        self.database = database
        self.calendar = calendar
        self.users = UsersUnitOfWork(database.sessions)
        self.ledger = LedgerUnitOfWork(database.sessions)
        self.content = ContentUnitOfWork(database.sessions)
        # What the engine keeps between transactions (the clock's books, committed standings).
        self.engine_caches = EngineCaches()
        self.operator_id: int = 0
        self.members: list[Member] = []
        self.index_of: dict[int, int] = {}  # user id → member index
        # Who did anything (checked in, traded …) on each calendar day of the season.
        self.activity = np.zeros((config.members, len(calendar.calendar_dates)), dtype=np.bool_)
        self.points = PointsLedgerLog()
        self.referrals = 0
        self.instruments: dict[Market, list[Instrument]] = {}  # the season's universe

    def rng(self, stream: str) -> np.random.Generator:
        """A random stream of its own per name, fixed by the seed: phases draw independently, so
        adding draws to one phase never shifts another's."""
        return np.random.default_rng([self.config.seed, zlib.crc32(stream.encode())])

    def add_members(self, members: Iterable[Member]) -> None:
        for member in members:
            self.members.append(member)
            self.index_of[member.user_id] = member.index

    def user_ids(self, indexes: Sequence[int] | npt.NDArray[np.int64]) -> list[int]:
        return [self.members[int(i)].user_id for i in indexes]

    @property
    def signed_up(self) -> int:
        return len(self.members)

    def mark_active(self, day: date, indexes: Iterable[int]) -> None:
        column = self.calendar.calendar_index(day)
        self.activity[list(indexes), column] = True


class Phase(Protocol):
    """One strand of the season. The orchestrator calls ``setup`` once before the first trading
    day, ``on_day`` after each trading day's calendar days have come, and ``finish`` once after
    the last, in the order the phases are listed."""

    name: str

    def setup(self, sim: SimulationContext) -> None: ...

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None: ...

    def finish(self, sim: SimulationContext) -> None: ...

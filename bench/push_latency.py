"""Quotes-to-push latency on loopback: from a minute bar's arrival to each member's ``order.fill``
event on their live stream, with the wake-up on commit and with the poll alone, in one run.

The API (``paperleague serve --workers 1``, production settings) serves a PostgreSQL scratch
database with a minute contest (A-share rules, synthetic minute bars) of N members, each holding
an open ``GET /v1/me/events`` stream (httpx, asynchronous streaming). Each round, every member
has one marketable limit buy resting (placed in the bench process at the session's synthetic
time); then a quote "arrives": the bench stores the next minute's bars
(``engine.market.intraday_services.store_minute_bars``) and ticks them
(``engine.intraday_clock.run_intraday_tick``), so every order fills in the tick's transaction.
A member's latency is the time from the quote's arrival (before the store) to their client
reading the fill's event. The same rounds run against a server with the wake-up
(``core.member_events_wakeup``: ``pg_notify`` in the tick, one LISTEN per server process) and
one that only polls (``PAPERLEAGUE_EVENT_STREAM_WAKEUP=false``, every
``event_stream_poll_seconds`` = 0.5 s, the default). Ratio = poll-only p50 ÷ wake-up p50. The
store and tick times are printed too: they are part of every latency, and what is left is the
push.

The client, the store and the tick run in the bench process (the tick in a thread), the server
and PostgreSQL beside it on the same CPUs. On SQLite (embedded, one process) the server is
uvicorn in a thread of the bench process, since its wake-up reaches only the streams of the
process that writes; it shares the GIL with the client and the tick.

Run with ``python -m bench.push_latency [--quick]``; results go to
bench/results/push_latency.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import uvicorn
from pydantic import SecretStr

from api.http.app import create_app
from api.http.security import issue_access_token
from bench import harness
from bench.api import _free_port, serve
from bench.harness import BenchFailure, postgres_database
from core import migrations
from core.config import Settings
from core.db import Database
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork, create_users
from engine.intraday_clock import run_intraday_tick
from engine.market.feeds import MinuteBar
from engine.market.intraday_services import derive_daily_bars, store_minute_bars
from engine.market.model import Market
from engine.market.services import MarketUnitOfWork
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed
from engine.trading import order_desk, services, store_orders
from engine.trading.order_desk import place_orders
from engine.trading.orders import Order, OrderRequest, OrderType, Side
from engine.uow import EngineUnitOfWork

START = date(2024, 9, 26)  # the session before the contest's (its closes are the bands' base)
MINUTE = timedelta(minutes=1)
PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts in a throwaway database
MODES = {"wake-up": True, "poll only": False}  # the server's event_stream_wakeup


@dataclass(frozen=True, slots=True)
class Plan:
    members: int  # each with an open stream and one resting order per round
    rounds: int  # quotes per mode
    symbols: int
    poll_seconds: float = 0.5  # the server's event_stream_poll_seconds (the default)
    seed: int = 16


FULL = Plan(members=100, rounds=20, symbols=10)
QUICK = replace(FULL, members=30, rounds=5)


@dataclass(frozen=True, slots=True)
class Seeded:
    """The seeded contest: its members, the minutes to come, and their bars."""

    contest_id: int
    members: tuple[User, ...]
    minutes: tuple[datetime, ...]  # the contest session's morning minutes
    bars: dict[datetime, list[MinuteBar]]  # by start


def seed(url: str, plan: Plan) -> Seeded:
    """Members, a minute contest they have all entered, the previous session stored (its
    closes set the price bands) and the contest session's opening minute ticked."""
    database = Database.connect(url)
    try:
        migrations.upgrade(database.engine)
        accounts = [
            NewAccount(username=f"member.{n}", display_name=f"M{n}", roles=frozenset({Role.MEMBER}))
            for n in range(1, plan.members + 1)
        ]
        members = create_users(UsersUnitOfWork(database.sessions), accounts, password=PASSWORD)
        instruments = synthetic_universe(Market.CN, plan.symbols, seed=plan.seed)
        feed = SyntheticIntradayFeed(instruments, seed=plan.seed, start=START, sessions=2)
        before, session = feed.sessions
        market = MarketUnitOfWork(database.sessions)
        with market:
            market.market.add_instruments(instruments)
            market.commit()
        symbols = [i.symbol for i in instruments]
        store_minute_bars(
            market, [m for m in feed.all_minutes() if m.start < session.open], source=feed.name
        )
        derive_daily_bars(market, symbols, before.day)
        uow = EngineUnitOfWork(database.sessions)
        contest = services.create_venue(
            uow,
            title="push latency",
            market=Market.CN,
            universe=symbols,
            starting_cash=Decimal(10_000_000),
            trading_start=session.day,
            trading_end=session.day,
            bar_interval="minute",
        ).contest_id
        for member in members:
            services.open_account(uow, contest, member.id)
        minutes = tuple(m for m in session.minutes() if m < session.open + timedelta(hours=2))
        bars: dict[datetime, list[MinuteBar]] = {}
        for bar in feed.all_minutes():
            if bar.start >= session.open:
                bars.setdefault(bar.start, []).append(bar)
        store_minute_bars(market, bars[minutes[0]], source=feed.name)
        run_intraday_tick(uow, contest, minutes[0], now=minutes[0] + MINUTE)
    finally:
        database.dispose()
    return Seeded(contest, tuple(members), minutes, bars)


@contextmanager
def wall_clock_at(moment: datetime) -> Iterator[None]:
    """Orders are judged and accepted at the session's synthetic ``moment``."""
    with (
        mock.patch.object(order_desk, "utc_now", lambda: moment),
        mock.patch.object(store_orders, "utc_now", lambda: moment),
    ):
        yield


@dataclass
class Round:
    """One quote: when it arrived (``perf_counter``), what the store and the tick took."""

    arrived: float
    store_seconds: float
    tick_seconds: float
    fills: int


class Quotes:
    """The rounds of quotes, in the bench process: orders placed, then a minute stored and
    ticked. Round ``g`` places at the start of minute ``2g+1`` and quotes minute ``2g+2``."""

    def __init__(self, url: str, market: Seeded) -> None:
        self.database = Database.connect(url)
        self.market = market
        self.rounds = 0

    def place(self) -> dict[int, int]:
        """One marketable limit buy per member (100 shares at 2 % over the last close);
        returns order id → member id."""
        g = self.rounds
        placed_at = self.market.minutes[2 * g + 1] + timedelta(seconds=30)
        last = {b.symbol: b.close for b in self.market.bars[self.market.minutes[2 * g]]}
        symbols = sorted(last)
        requests = []
        for n, member in enumerate(self.market.members):
            symbol = symbols[n % len(symbols)]
            limit = (last[symbol] * Decimal("1.02")).quantize(Decimal("0.01"))
            requests.append(
                (
                    member.id,
                    OrderRequest(
                        symbol, Side.BUY, OrderType.LIMIT, qty=Decimal(100), limit_price=limit
                    ),
                )
            )
        with wall_clock_at(placed_at):
            outcomes = place_orders(
                EngineUnitOfWork(self.database.sessions), self.market.contest_id, requests
            )
        refused = [o for o in outcomes if not isinstance(o, Order)]
        if refused:
            raise BenchFailure(f"{len(refused)} orders refused, e.g. {refused[0]!r}")
        return {o.id: member for o, (member, _) in zip(outcomes, requests, strict=True)}  # type: ignore[union-attr]

    def quote(self) -> Round:
        """The next quote arrives: store its minute, tick it (every resting order fills)."""
        minute = self.market.minutes[2 * self.rounds + 2]
        self.rounds += 1
        arrived = time.perf_counter()
        store_minute_bars(
            MarketUnitOfWork(self.database.sessions), self.market.bars[minute], source="bench"
        )
        stored = time.perf_counter()
        tick = run_intraday_tick(
            EngineUnitOfWork(self.database.sessions),
            self.market.contest_id,
            minute,
            now=minute + MINUTE,
        )
        ticked = time.perf_counter()
        if not tick.ran or len(tick.fills) != len(self.market.members):
            raise BenchFailure(f"the tick at {minute} filled {len(tick.fills)} orders")
        return Round(arrived, stored - arrived, ticked - stored, len(tick.fills))


async def _stream(
    client: httpx.AsyncClient,
    token: str,
    received: dict[int, float],
    ready: asyncio.Event,
    got: asyncio.Condition,
) -> None:
    """One member's stream: the time each ``order.fill`` event is read, by order id."""
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", "/v1/me/events", headers=headers) as response:
        if response.status_code != 200:
            raise BenchFailure(f"the stream answered {response.status_code}")
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
                if kind == "ready":
                    ready.set()
            elif line.startswith("data: ") and kind == "order.fill":
                at = time.perf_counter()
                received[json.loads(line.removeprefix("data: "))["payload"]["order_id"]] = at
                async with got:
                    got.notify_all()


async def measure(base_url: str, quotes: Quotes, tokens: list[str], plan: Plan) -> dict[str, Any]:
    """Open every member's stream, then run ``plan.rounds`` quotes; latencies in ms."""
    received: dict[int, float] = {}
    got = asyncio.Condition()
    readies = [asyncio.Event() for _ in tokens]
    limits = httpx.Limits(max_connections=len(tokens) + 5)
    latencies: list[float] = []
    pushes: list[float] = []  # each latency less its round's store and tick
    rng = random.Random(plan.seed)
    rounds: list[Round] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=None, limits=limits) as client:
        streams = [
            asyncio.create_task(_stream(client, t, received, r, got))
            for t, r in zip(tokens, readies, strict=True)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
            for _ in range(plan.rounds):
                placed = await asyncio.to_thread(quotes.place)
                # Streams settle into their waits; the random part spreads the quotes over
                # the poll's phase (the streams were opened together and poll in step).
                await asyncio.sleep(plan.poll_seconds * (1 + rng.random()))
                quote = await asyncio.to_thread(quotes.quote)
                wanted = set(placed)
                async with got:
                    await asyncio.wait_for(
                        got.wait_for(lambda: wanted <= received.keys()),  # noqa: B023 (awaited here)
                        timeout=30 + 4 * plan.poll_seconds,
                    )
                latencies += [(received[o] - quote.arrived) * 1e3 for o in placed]
                work = (quote.store_seconds + quote.tick_seconds) * 1e3
                pushes += [latencies[-1 - i] - work for i in range(len(placed))]
                rounds.append(quote)
            for task in streams:
                if task.done() and task.exception():
                    raise BenchFailure(f"a stream failed: {task.exception()!r}")
        except TimeoutError as exc:
            raise BenchFailure("fills did not reach every stream within 30 s") from exc
        finally:
            for task in streams:
                task.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
    return summary(latencies, pushes, rounds)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``share`` in 0-1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summary(latencies: list[float], pushes: list[float], rounds: list[Round]) -> dict[str, Any]:
    """Quote-to-push percentiles, the push alone (after the tick committed), store and tick."""
    return {
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "push_p50_ms": round(percentile(pushes, 0.5), 2),
        "push_p99_ms": round(percentile(pushes, 0.99), 2),
        "store_ms_median": round(statistics.median(r.store_seconds for r in rounds) * 1e3, 2),
        "tick_ms_median": round(statistics.median(r.tick_seconds for r in rounds) * 1e3, 2),
    }


Results = dict[tuple[str, str], dict[str, Any]]  # (database, mode) → figures


def ratios(results: Results) -> dict[str, float | None]:
    """Per database: poll-only p50 ÷ wake-up p50."""
    found: dict[str, float | None] = {}
    for database in dict.fromkeys(db for db, _ in results):
        wake, poll = results.get((database, "wake-up")), results.get((database, "poll only"))
        ok = wake is not None and poll is not None and wake["p50_ms"] > 0
        found[database] = round(poll["p50_ms"] / wake["p50_ms"], 2) if ok else None  # type: ignore[index]
    return found


def results_payload(
    results: Results,
    *,
    plan: Plan,
    quick: bool,
    cpu_busy_before: float | None,
    wall_seconds: float,
    notes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What bench/results/push_latency.json holds: per database and mode its latencies, and
    per database the ratio; ``notes``: a database left out and why."""
    head = harness.payload_head(
        quick=quick, plan=plan, machine=harness.machine_info(), cpu_busy_before=cpu_busy_before
    )
    return head | {
        "results": [{"database": db, "mode": mode} | r for (db, mode), r in results.items()],
        "ratio_poll_p50_to_wake_p50": ratios(results),
        "notes": notes or {},
        "wall_seconds": round(wall_seconds, 1),
    }


def table(results: Results) -> str:
    header = ["database", "mode", "p50", "p99", "max", "push p50", "store", "tick", "samples"]
    rows = [
        [
            database,
            mode,
            f"{r['p50_ms']:,.1f} ms",
            f"{r['p99_ms']:,.1f} ms",
            f"{r['max_ms']:,.1f} ms",
            f"{r['push_p50_ms']:,.1f} ms",
            f"{r['store_ms_median']:,.1f} ms",
            f"{r['tick_ms_median']:,.1f} ms",
            f"{r['samples']:,}",
        ]
        for (database, mode), r in results.items()
    ]
    return harness.markdown(header, rows, align="llrrrrrrr")


@contextmanager
def serve_in_process(url: str, secret: str, *, wakeup: bool, poll: float) -> Iterator[str]:
    """The app on SQLite, served by uvicorn in a thread of this process (embedded: the bench's
    writes wake its streams); yields the base URL."""
    settings = Settings(
        database_url=url,
        environment="production",
        jwt_secret=SecretStr(secret),
        log_level="WARNING",
        event_stream_wakeup=wakeup,
        event_stream_poll_seconds=poll,
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bench-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise BenchFailure("the in-process server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def run_database(
    database: str, url: str, secret: str, plan: Plan, scratch: Path
) -> dict[str, dict[str, Any]]:
    """Seed ``url``, then every mode's rounds against a server of it; figures by mode."""
    print(f"  {database}: seeding {plan.members} members and a minute contest …", flush=True)
    market = seed(url, plan)
    settings = Settings(database_url=url, environment="production", jwt_secret=SecretStr(secret))
    tokens = [issue_access_token(m, settings)[0] for m in market.members]
    quotes = Quotes(url, market)
    figures = {}
    try:
        for mode, wakeup in MODES.items():
            print(f"  {database}, {mode}: {plan.rounds} quotes …", flush=True)
            server: contextlib.AbstractContextManager[str]
            if database == "sqlite":
                server = serve_in_process(url, secret, wakeup=wakeup, poll=plan.poll_seconds)
            else:
                server = _served(url, secret, wakeup=wakeup, poll=plan.poll_seconds, log=scratch)
            with server as base_url:
                figures[mode] = asyncio.run(measure(base_url, quotes, tokens, plan))
    finally:
        quotes.database.dispose()
    return figures


@contextmanager
def _served(url: str, secret: str, *, wakeup: bool, poll: float, log: Path) -> Iterator[str]:
    """``paperleague serve --workers 1`` in its own process; yields the base URL."""
    env = {
        "PAPERLEAGUE_EVENT_STREAM_WAKEUP": str(wakeup).lower(),
        "PAPERLEAGUE_EVENT_STREAM_POLL_SECONDS": str(poll),
    }
    out = log / f"server-{str(wakeup).lower()}.log"
    with serve(url, secret, kind="serve", workers=1, log=out, env=env) as server:
        yield server.base_url


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser("push_latency", __doc__, quick="30 members, 5 quotes per mode")
    parser.add_argument("--postgres-url", default=harness.DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--database", action="append", choices=["postgresql", "sqlite"], help="only this one"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    run = harness.Run.begin("push latency", plan, quick=args.quick)
    secret = secrets.token_urlsafe(48)
    results: Results = {}
    notes: dict[str, str] = {}
    wanted = args.database or ["postgresql", "sqlite"]
    try:
        with tempfile.TemporaryDirectory(prefix="pl_bench_push_") as scratch:
            if "postgresql" in wanted:
                unavailable = harness.postgres_unavailable(args.postgres_url)
                if unavailable is not None:
                    print(f"\nWARNING: {unavailable}; the PostgreSQL rows are skipped")
                    notes["postgresql"] = unavailable
                else:
                    with postgres_database(args.postgres_url, "push") as url:
                        for mode, r in run_database(
                            "postgresql", url, secret, plan, Path(scratch)
                        ).items():
                            results["postgresql", mode] = r
            if "sqlite" in wanted:
                url = f"sqlite:///{Path(scratch) / 'push.db'}"
                for mode, r in run_database("sqlite", url, secret, plan, Path(scratch)).items():
                    results["sqlite", mode] = r
    except BenchFailure as failure:
        return harness.failed(failure)
    payload = results_payload(
        results,
        plan=plan,
        quick=args.quick,
        cpu_busy_before=run.cpu_busy_before,
        wall_seconds=run.wall_seconds,
        notes=notes,
    )
    print("\n" + table(results))
    shown = ", ".join(
        f"{db} {harness.format_ratio(r)}" for db, r in payload["ratio_poll_p50_to_wake_p50"].items()
    )
    print(
        f"\n* {plan.members} members, each an open stream and a resting limit order filled "
        f"by every quote; {plan.rounds} quotes per mode; quote = store + tick of a minute bar "
        f"(A-share rules, {plan.symbols} symbols); push = latency less its round's store and "
        f"tick (medians shown). Poll only: every {plan.poll_seconds} s. PostgreSQL: "
        "`paperleague serve --workers 1` in its own process; SQLite: uvicorn in a thread of "
        f"the bench (embedded). poll p50 ÷ wake-up p50: {shown or 'n/a'}"
    )
    return run.finish(args.output, payload)


if __name__ == "__main__":
    sys.exit(main())

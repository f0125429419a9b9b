"""The HTTP API under load: uvicorn workers on PostgreSQL, many members at once, next to a no-op.

One run (see ``bench/README.md``):

1. a fresh PostgreSQL database ``pl_bench_<random>_api``, migrated, seeded through the services
   the API uses: an operator, ``members`` members (one bulk sign-up), a US replay season over
   synthetic bars, a running contest every member has joined, one market order each, and the
   clock advanced a few bars, so the leaderboard has ranked rows;
2. the app served by uvicorn on loopback, by default as deployed:
   ``paperleague serve --workers W`` (``--server uvicorn``: uvicorn's own ``--workers``);
3. a closed-loop load generator in this process (asyncio, ``concurrency`` keep-alive
   connections each with one request in flight, a bearer token per member) runs each workload
   for ``seconds`` after an untimed warm-up: the no-op ``GET /healthz`` first, then the member
   workloads. Requests per second and p50 / p99 latency per workload; the figure is the
   workload's throughput ÷ the no-op's, measured against the same server in the same run.

Every response must be 2xx: other statuses are counted, and any 5xx or transport error fails the
run (exit status 1). The CPU time of the load generator, the server's workers and the
database's backends is read from ``/proc`` per workload, so the split on a small machine shows.

Run with ``make bench-api`` or ``python -m bench.api [--quick] [--workers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastapi
import httpx
import sqlalchemy
import uvicorn
from pydantic import SecretStr

from api.http.security import issue_access_token
from bench import harness
from bench.harness import BenchFailure, postgres_database, write_results
from core import migrations
from core.config import Settings
from core.db import Database
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork, create_user, create_users
from engine import clock
from engine.contests import entries, seasons
from engine.contests import services as contests
from engine.contests.model import DataSource
from engine.market.model import Market
from engine.market.services import MarketUnitOfWork, install_synthetic
from engine.trading.order_desk import place_orders
from engine.trading.orders import OrderRequest, Side
from engine.uow import EngineUnitOfWork

PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts in a throwaway database
MARKET_START = date(2024, 1, 1)


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    members: int  # members joined to the contest (each holds its own token)
    instruments: int  # the contest's universe
    bars: int  # synthetic trading days installed
    clock_bars: int  # bars revealed before the load (leaderboard ticks)
    concurrency: int  # requests in flight
    seconds: float  # timed per workload
    warmup_seconds: float  # untimed per workload, before the timed part
    workers: int  # uvicorn worker processes


FULL = Plan(
    members=3000,
    instruments=20,
    bars=60,
    clock_bars=5,
    concurrency=32,
    seconds=15.0,
    warmup_seconds=2.0,
    workers=2,
)
QUICK = Plan(
    members=1000,
    instruments=20,
    bars=60,
    clock_bars=5,
    concurrency=16,
    seconds=4.0,
    warmup_seconds=1.0,
    workers=2,
)


# --- seeding ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the load generator needs from the seeded database."""

    contest_id: int
    symbols: tuple[str, ...]
    member_ids: tuple[int, ...]
    members: tuple[User, ...] = ()  # for their tokens (each carries the user's token stamp)


def seed(url: str, plan: Plan, *, today: date) -> Seeded:
    """An operator, members, a running US replay contest they have all joined, one order each,
    and ``plan.clock_bars`` bars revealed: through the services, as the API would."""
    database = Database.connect(url)
    try:
        migrations.upgrade(database.engine)
        users = UsersUnitOfWork(database.sessions)
        operator = create_user(users, username="operator", password=PASSWORD, roles=[Role.OPERATOR])
        accounts = [
            NewAccount(
                username=f"member.{n}", display_name=f"Member {n}", roles=frozenset({Role.MEMBER})
            )
            for n in range(1, plan.members + 1)
        ]
        members = create_users(users, accounts, password=PASSWORD)
        uow = EngineUnitOfWork(database.sessions)
        universe = install_synthetic(
            MarketUnitOfWork(database.sessions),
            Market.US,
            count=plan.instruments,
            seed=7,
            start=MARKET_START,
            days=plan.bars,
        )
        symbols = tuple(i.symbol for i in universe)
        with uow.reading():
            days = uow.market.trading_days(list(symbols), MARKET_START, date(2100, 1, 1))
        season = seasons.create_season(
            uow,
            seasons.SeasonDraft(
                name="Bench season",
                timezone="America/New_York",
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=365),
                market=Market.US,
                universe=list(symbols),
                data_source=DataSource.REPLAY,
                replay_start=days[0],
                replay_end=days[-1],
            ),
            operator_id=operator.id,
        )
        contest = contests.create_contest(
            uow,
            contests.ContestDraft(
                season_id=season.id,
                title="Bench cup",
                trading_start=days[0],
                trading_end=days[-1],
                starting_cash=Decimal(100_000),
            ),
        )
        for member in members:
            entries.join_contest(uow, contest.id, member.id)
        clock.advance_contest_clock(uow, contest.id)
        rng = random.Random(7)
        first_orders = [
            (
                m.id,
                OrderRequest(
                    symbol=rng.choice(symbols), side=Side.BUY, qty=Decimal(rng.randint(1, 50))
                ),
            )
            for m in members
        ]
        place_orders(uow, contest.id, first_orders)
        clock.advance_contest_clock(uow, contest.id, bars=plan.clock_bars - 1)
    finally:
        database.dispose()
    return Seeded(contest.id, symbols, tuple(m.id for m in members), tuple(members))


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    """A running uvicorn: its base URL and master process."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def workers(self) -> list[int]:
        """The worker processes (the master alone when it serves by itself)."""
        spawned = [pid for pid in self.pids()[1:] if b"spawn_main" in _cmdline(pid)]
        return [pid for pid in spawned if b"resource_tracker" not in _cmdline(pid)] or [
            self.process.pid
        ]

    def pids(self) -> list[int]:
        """The master and every process under it (the workers)."""
        found, frontier = [self.process.pid], [self.process.pid]
        while frontier:
            children = [pid for pid, parent in _parents().items() if parent in frontier]
            found += children
            frontier = children
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(url: str, secret: str, data_dir: Path) -> dict[str, str]:
    """The server's ``PAPERLEAGUE_*`` settings: production, the bench database, a real secret,
    and a scratch data directory (the local chain node's state)."""
    return os.environ | {
        "PAPERLEAGUE_DATABASE_URL": url,
        "PAPERLEAGUE_DATA_DIR": str(data_dir),
        "PAPERLEAGUE_ENVIRONMENT": "production",
        "PAPERLEAGUE_JWT_SECRET": secret,
        "PAPERLEAGUE_LOG_LEVEL": "WARNING",
    }


SERVERS = {
    # What `make serve` and the README's deployment run: uvicorn workers on a listening socket
    # with TCP_NODELAY (api.cli.serve.listening_socket), access log on.
    "serve": "paperleague serve --workers {workers}",
    # uvicorn's own multi-worker path, for comparison: it leaves Nagle's algorithm on for every
    # accepted connection (uvicorn issue #3149), so keep-alive responses wait for delayed ACKs.
    "uvicorn": "uvicorn api.http.app:app_from_environment --factory --workers {workers}",
}


def server_command(kind: str, *, port: int, workers: int) -> list[str]:
    """The command line of server ``kind`` (a key of ``SERVERS``) on loopback ``port``."""
    bin_dir = Path(sys.executable).parent
    if kind == "serve":
        command = [str(bin_dir / "paperleague"), "serve"]
    else:
        app = "api.http.app:app_from_environment"
        command = [sys.executable, "-m", "uvicorn", app, "--factory"]
    return [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


@contextmanager
def serve(
    url: str,
    secret: str,
    *,
    kind: str,
    workers: int,
    log: Path,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Server ``kind`` serving the app on a free loopback port until the block ends; ``env``:
    more ``PAPERLEAGUE_*`` settings for it."""
    port = _free_port()
    command = server_command(kind, port=port, workers=workers)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=server_environment(url, secret, log.parent) | (env or {}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server, workers)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, workers: int, timeout: float = 120.0) -> None:
    """Until /readyz answers 200 on enough connections that every worker has started."""
    deadline = time.monotonic() + timeout
    ready = 0
    while ready < 4 * workers:
        if server.process.poll() is not None:
            raise BenchFailure(f"the server exited: {_tail(server.log)}")
        if time.monotonic() > deadline:
            raise BenchFailure(f"the server was not ready in {timeout:.0f} s: {_tail(server.log)}")
        try:
            with httpx.Client(timeout=2) as client:  # a new connection each time
                ready += client.get(f"{server.base_url}/readyz").status_code == 200
        except httpx.TransportError:
            time.sleep(0.2)


def _tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of the server's log, leaving out the access log."""
    kept = [line for line in path.read_text(errors="replace").splitlines() if '" ' not in line]
    return "\n".join(kept[-lines:])


# --- CPU accounting -----------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "


def _parents() -> dict[int, int]:
    """pid → parent pid of every process (Linux)."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            found[int(entry.name)] = int(fields[1])
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each of ``pids`` still alive."""
    found = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``cpu_seconds`` readings (a process that exited in
    between is left out: pooled database connections come and go)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def database_backends(database: str) -> list[int]:
    """PostgreSQL backend processes connected to ``database`` (same machine only)."""
    found = []
    for pid in _parents():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            found.append(pid)
    return found


def connections_per_process(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to local ``port`` each of ``pids`` holds."""
    return dict(Counter(socket_owners(port, pids).values()))


def machine_cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine so far, from /proc/stat."""
    times = harness.cpu_times()
    if times is None:
        return None
    idle, total = times
    return (total - idle) / CLOCK_TICKS


# --- the load generator -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One request to send."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    kind: str = ""  # in a mix, which of its requests (latencies are also kept per kind)


@dataclass
class Tally:
    """What one workload's timed part saw."""

    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    server_error_sample: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    """One workload: throughput, latency and what the CPUs did meanwhile."""

    workload: str
    request: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    transport_errors: dict[str, int]
    cpu_seconds: dict[str, float]  # generator, server, database, machine (all processes)
    connections: list[int]  # keep-alive connections each server process holds, most first
    stopped_early: str = ""  # why fewer than the planned seconds ran (the members ran out)
    p99_ms_by_kind: dict[str, float] = field(default_factory=dict)  # a mix's requests apart

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def cpu_ms_per_request(self, part: str) -> float:
        """CPU milliseconds ``part`` (server, database, generator) spent per request: unlike
        requests per second, barely moved by other work on the machine."""
        return 1000 * self.cpu_seconds.get(part, 0.0) / max(self.requests, 1)

    @property
    def non_2xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if not s.startswith("2"))

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("5"))


class Exhausted(Exception):
    """A workload has no more requests to make (every member has checked in)."""


Source = Callable[[], Call]


class Connection:
    """One keep-alive HTTP/1.1 connection, lean: a request is one write and a response one
    header read plus one body read, so the generator costs a fraction of what the server spends
    on the same request (an httpx client costs more than the server's no-op; see --client)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, call: Call) -> tuple[int, bytes]:
        """Send ``call``; its status and body. Raises OSError / IncompleteReadError when the
        connection fails (it is reopened on the next call)."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        body = b"" if call.body is None else json.dumps(call.body).encode()
        lines = [f"{call.method} {call.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in call.headers.items()]
        if call.body is not None or call.method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status, headers = _parse_head(head)
            if headers.get("transfer-encoding") == "chunked":
                payload = await _read_chunked(reader)
            else:
                payload = await reader.readexactly(int(headers.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            await self.close()
            raise
        if headers.get("connection") == "close":
            await self.close()
        return status, payload

    @property
    def local_port(self) -> int | None:
        """The client side's port while connected (to find the worker that accepted it)."""
        if self._streams is None:
            return None
        return int(self._streams[1].get_extra_info("sockname")[1])

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    return int(status_line.split(" ", 2)[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size + 2))
    await reader.readuntil(b"\r\n")
    return b"".join(c[:-2] for c in chunks)


class HttpxSender:
    """The same calls through a shared httpx.AsyncClient (``--client httpx``), for comparison."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, call: Call) -> tuple[int, bytes]:
        response = await self.client.request(
            call.method, call.path, headers=call.headers, json=call.body
        )
        return response.status_code, response.content

    async def close(self) -> None:
        pass


Sender = Connection | HttpxSender


async def drive(
    senders: list[Sender], source: Source, *, seconds: float, tally: Tally
) -> tuple[float, str]:
    """One closed loop per sender, sending ``source()``'s calls for ``seconds``. Returns the
    elapsed seconds and, if ``source`` ran out first, why."""
    deadline = time.perf_counter() + seconds
    stopped = ""

    async def loop(sender: Sender) -> None:
        nonlocal stopped
        while time.perf_counter() < deadline:
            try:
                call = source()
            except Exhausted as exc:
                stopped = str(exc)
                return
            started = time.perf_counter()
            try:
                status, body = await sender.send(call)
            except (OSError, asyncio.IncompleteReadError, ValueError, httpx.TransportError) as exc:
                tally.transport_errors[type(exc).__name__] += 1
                continue
            latency = time.perf_counter() - started
            tally.latencies.append(latency)
            if call.kind:
                tally.by_kind.setdefault(call.kind, []).append(latency)
            tally.statuses[status] += 1
            if status >= 500 and not tally.server_error_sample:
                tally.server_error_sample = f"{call.method} {call.path}: {body[:300]!r}"

    started = time.perf_counter()
    await asyncio.gather(*(loop(sender) for sender in senders))
    return time.perf_counter() - started, stopped


async def spread(connections: list[Connection], server: Server) -> None:
    """Open ``connections`` and reconnect until the workers hold equal shares of them.

    uvicorn's workers accept from one shared socket, each taking every connection pending when
    it wakes, so connections opened together tend to land on one worker; a load balancer in
    front would spread them. Gives up (and says so) after a bounded number of tries.
    """
    noop = Call("GET", "/healthz", {})
    for connection in connections:
        await connection.send(noop)
    workers = server.workers()
    counts: Counter[int] = Counter()
    for _ in range(20 * len(connections)):
        owners = socket_owners(server.port, workers)
        held = {c: owners.get(c.local_port or 0) for c in connections}
        counts = Counter({pid: list(held.values()).count(pid) for pid in workers})
        ranked = counts.most_common()
        (busiest, most), (_, least) = ranked[0], ranked[-1]
        if most - least <= 1:
            break
        moved = next(c for c, pid in held.items() if pid == busiest)
        await moved.close()
        await moved.send(noop)
    else:
        print(f"  WARNING: connections stay unevenly spread over the workers: {dict(counts)}")
    for connection in connections:  # none left idle past the server's keep-alive timeout
        await connection.send(noop)


def socket_owners(server_port: int, pids: list[int]) -> dict[int, int]:
    """Client port → the pid among ``pids`` holding the server side of that loopback
    connection to ``server_port`` (Linux /proc)."""
    by_inode = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                if int(local, 16) == server_port and fields[3] == "01":  # ESTABLISHED
                    by_inode[f"socket:[{fields[9]}]"] = int(remote, 16)
    owners = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link in by_inode:
                        owners[by_inode[link]] = pid
    return owners


def percentile_ms(latencies: list[float], q: int) -> float:
    """The ``q``-th percentile (1-99) of ``latencies`` in milliseconds."""
    if len(latencies) < 2:
        return 1000 * latencies[0] if latencies else float("nan")
    return 1000 * statistics.quantiles(latencies, n=100, method="inclusive")[q - 1]


@dataclass
class Members:
    """Members' bearer tokens, dealt round-robin."""

    tokens: dict[int, str]
    _turn: Iterator[int] = field(init=False)

    def __post_init__(self) -> None:
        ids = list(self.tokens)
        random.Random(11).shuffle(ids)
        self._turn = itertools.cycle(ids)

    def next(self) -> int:
        return next(self._turn)

    def auth(self, member: int, *, idempotent: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[member]}"}
        if idempotent:  # as the web UI sends every POST
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return headers


def workloads(seeded: Seeded, members: Members) -> dict[str, tuple[str, Source]]:
    """Workload name → (the request, as shown in the table; a source of calls)."""
    contest = f"/v1/contests/{seeded.contest_id}"
    rng = random.Random(5)
    # Once a day each: the check-in workload takes half the members, the mixed one the rest.
    shuffled = list(seeded.member_ids)
    rng.shuffle(shuffled)
    half = len(shuffled) // 2
    check_ins, mixed_check_ins = shuffled[:half], shuffled[half:]

    def noop() -> Call:
        return Call("GET", "/healthz", {})

    def me() -> Call:
        return Call("GET", "/v1/me", members.auth(members.next()))

    def leaderboard_page() -> Call:
        return Call("GET", f"{contest}/leaderboard?limit=20", members.auth(members.next()))

    def leaderboard_around() -> Call:
        return Call("GET", f"{contest}/leaderboard?around=me&k=5", members.auth(members.next()))

    def order() -> Call:
        body = {"symbol": rng.choice(seeded.symbols), "side": "buy", "qty": str(rng.randint(1, 5))}
        headers = members.auth(members.next(), idempotent=True)
        return Call("POST", f"{contest}/orders", headers, body)

    def check_in_from(pool: list[int]) -> Call:
        if not pool:
            raise Exhausted("every member has checked in")
        return Call("POST", "/v1/me/check-ins", members.auth(pool.pop(), idempotent=True))

    def check_in() -> Call:
        return check_in_from(check_ins)

    def mixed() -> Call:
        pick = rng.random()
        if pick < 0.1 and mixed_check_ins:
            return replace(check_in_from(mixed_check_ins), kind="check in")
        if pick < 0.4:
            return replace(order(), kind="order")
        if pick < 0.7:
            return replace(leaderboard_around(), kind="around me")
        return replace(leaderboard_page(), kind="top 20")

    return {
        "no-op": ("GET /healthz", noop),
        "authenticated read": ("GET /v1/me", me),
        "leaderboard, top 20": ("GET …/leaderboard?limit=20", leaderboard_page),
        "leaderboard, around me": ("GET …/leaderboard?around=me&k=5", leaderboard_around),
        "place order": ("POST …/orders, market buy, Idempotency-Key", order),
        "check in": ("POST /v1/me/check-ins, Idempotency-Key", check_in),
        "mixed": ("30% orders, 60% leaderboard, 10% check-ins", mixed),
    }


async def run_load(
    server: Server,
    database: str,
    seeded: Seeded,
    members: Members,
    plan: Plan,
    *,
    client: str,
    only: list[str],
    profile: Path | None = None,
) -> list[Result]:
    """Every workload in turn against the running server: warm-up, then the timed part."""
    limits = httpx.Limits(
        max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency
    )
    shared = httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60)
    host, port = server.base_url.removeprefix("http://").split(":")
    senders: list[Sender] = [
        HttpxSender(shared) if client == "httpx" else Connection(host, int(port))
        for _ in range(plan.concurrency)
    ]
    results = []
    try:
        if client == "raw" and plan.workers > 1:
            await spread([s for s in senders if isinstance(s, Connection)], server)
        for name, (request, source) in workloads(seeded, members).items():
            if only and name not in only and name != "no-op":
                continue
            results.append(
                await _measure(server, database, senders, name, request, source, plan, profile)
            )
    finally:
        for sender in senders:
            await sender.close()
        await shared.aclose()
    return results


async def _measure(
    server: Server,
    database: str,
    senders: list[Sender],
    name: str,
    request: str,
    source: Source,
    plan: Plan,
    profile: Path | None,
) -> Result:
    warm = Tally()
    await drive(senders, source, seconds=plan.warmup_seconds, tally=warm)
    pids = server.pids()
    connections = connections_per_process(pids, server.port)
    with profiling(server, profile, name):
        backends = database_backends(database)
        before = _cpu_now(pids, backends)
        tally = Tally()
        seconds, stopped = await drive(senders, source, seconds=plan.seconds, tally=tally)
    backends = sorted(set(backends) | set(database_backends(database)))
    after = _cpu_now(pids, backends)
    result = Result(
        workload=name,
        request=request,
        requests=len(tally.latencies),
        seconds=seconds,
        p50_ms=percentile_ms(tally.latencies, 50),
        p99_ms=percentile_ms(tally.latencies, 99),
        statuses={str(s): n for s, n in sorted((warm.statuses + tally.statuses).items())},
        transport_errors=dict(warm.transport_errors + tally.transport_errors),
        cpu_seconds={
            part: round(cpu_used(start, after[part]), 2) for part, start in before.items()
        },
        connections=sorted(connections.values(), reverse=True),
        stopped_early=stopped,
        p99_ms_by_kind={
            kind: round(percentile_ms(latencies, 99), 1)
            for kind, latencies in sorted(tally.by_kind.items())
        },
    )
    _progress(result)
    if result.server_errors or result.transport_errors:
        sample = warm.server_error_sample or tally.server_error_sample
        raise BenchFailure(
            f"{name}: {result.server_errors} server errors, transport errors "
            f"{result.transport_errors}; first: {sample or 'n/a'}\nserver log:\n"
            + _tail(server.log)
        )
    return result


@contextmanager
def profiling(server: Server, directory: Path | None, workload: str) -> Iterator[None]:
    """With ``directory``: py-spy samples the server's workers while they hold the GIL during
    the block and writes collapsed stacks to ``directory/<workload>.txt``."""
    if directory is None:
        yield
        return
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / (workload.replace(",", "").replace(" ", "-") + ".txt")
    command = [
        py_spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--gil",
        "--rate", "100", "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches to every worker before the load starts
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def _cpu_now(server: list[int], database: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the generator (this process), the server's processes, the
    database's backends, and the whole machine (key 0)."""
    machine = machine_cpu_seconds()
    return {
        "generator": {os.getpid(): time.process_time()},
        "server": cpu_seconds(server),
        "database": cpu_seconds(database),
        "machine": {} if machine is None else {0: machine},
    }


# --- reporting ----------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    """The Markdown results table: each workload next to the no-op of the same run."""
    noop = next((r for r in results if r.workload == "no-op"), None)
    header = (
        "workload",
        "request",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server CPU ms/req",
        "database CPU ms/req",
        "non-2xx",
        "vs no-op req/s",
    )
    rows = [
        (
            r.workload,
            r.request,
            f"{r.requests_per_second:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.cpu_ms_per_request('server'):.2f}",
            f"{r.cpu_ms_per_request('database'):.2f}",
            f"{r.non_2xx}",
            harness.format_ratio(
                None if noop is None else r.requests_per_second / noop.requests_per_second
            ),
        )
        for r in results
    ]
    return harness.markdown(header, rows, align="llrrrrrrr")


# Workloads a second pass can repeat (the check-ins are spent: once a day per member).
SCALING_WORKLOADS = (
    "no-op",
    "authenticated read",
    "leaderboard, top 20",
    "leaderboard, around me",
    "place order",
)


def _pairs(one: list[Result], many: list[Result]) -> list[tuple[Result, Result]]:
    by_name = {r.workload: r for r in many}
    return [(r, by_name[r.workload]) for r in one if r.workload in by_name]


def scaling_table(one: list[Result], many: list[Result], *, workers: int) -> str:
    """Each repeatable workload's req/s with 1 worker and with ``workers``, and the ratio."""
    header = ("workload", "1 worker req/s", f"{workers} workers req/s", "scaling")
    rows = [
        (
            single.workload,
            f"{single.requests_per_second:,.0f}",
            f"{several.requests_per_second:,.0f}",
            harness.format_ratio(several.requests_per_second / single.requests_per_second),
        )
        for single, several in _pairs(one, many)
    ]
    return harness.markdown(header, rows, align="lrrr")


def scaling_payload(one: list[Result], many: list[Result]) -> list[dict[str, object]]:
    return [
        {
            "workload": single.workload,
            "one_worker_requests_per_second": round(single.requests_per_second, 1),
            "requests_per_second": round(several.requests_per_second, 1),
            "ratio": round(several.requests_per_second / single.requests_per_second, 3),
        }
        for single, several in _pairs(one, many)
    ]


def cpu_table(results: list[Result]) -> str:
    """Where the CPU went per workload: shares of the machine's two (or N) cores."""
    cores = os.cpu_count() or 1
    header = (
        "workload",
        "load generator",
        "server workers",
        "PostgreSQL backends",
        "everything else",
        "idle",
        f"(of {cores} cores)",
    )
    rows = []
    for r in results:
        capacity = cores * r.seconds
        cpu = r.cpu_seconds
        ours = cpu.get("generator", 0) + cpu.get("server", 0) + cpu.get("database", 0)
        machine = cpu.get("machine")
        other = "n/a" if machine is None else f"{max(machine - ours, 0) / capacity:.0%}"
        idle = "n/a" if machine is None else f"{max(capacity - machine, 0) / capacity:.0%}"
        rows.append(
            (
                r.workload,
                f"{cpu.get('generator', 0) / capacity:.0%}",
                f"{cpu.get('server', 0) / capacity:.0%}",
                f"{cpu.get('database', 0) / capacity:.0%}",
                other,
                idle,
                "",
            )
        )
    return harness.markdown(header, rows, align="lrrrrrl")


def results_payload(
    results: list[Result],
    *,
    plan: Plan,
    quick: bool,
    server: str,
    postgres: str,
    cpu_busy_before: float | None,
    wall_seconds: float,
) -> dict[str, object]:
    noop = next((r for r in results if r.workload == "no-op"), None)
    machine = harness.machine_info(
        fastapi=fastapi.__version__,
        uvicorn=uvicorn.__version__,
        httpx=httpx.__version__,
        sqlalchemy=sqlalchemy.__version__,
    )
    return harness.payload_head(
        quick=quick, plan=plan, machine=machine, cpu_busy_before=cpu_busy_before
    ) | {
        "server": {
            "kind": server,
            "command": SERVERS[server].format(workers=plan.workers),
        },
        "postgresql": postgres,
        "results": [
            asdict(r)
            | {
                "requests_per_second": round(r.requests_per_second, 1),
                "server_cpu_ms_per_request": round(r.cpu_ms_per_request("server"), 3),
                "database_cpu_ms_per_request": round(r.cpu_ms_per_request("database"), 3),
                "ratio_to_noop": None
                if noop is None
                else round(r.requests_per_second / noop.requests_per_second, 4),
            }
            for r in results
        ],
        "wall_seconds": round(wall_seconds, 1),
    }


def _progress(r: Result) -> None:
    early = f" (stopped early: {r.stopped_early})" if r.stopped_early else ""
    print(
        f"  {r.workload}: {r.requests:,} requests in {r.seconds:.1f} s = "
        f"{r.requests_per_second:,.0f}/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"statuses {r.statuses}, connections per worker {r.connections}{early}",
        flush=True,
    )
    if r.p99_ms_by_kind:
        kinds = ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in r.p99_ms_by_kind.items())
        print(f"    p99 by request: {kinds}", flush=True)


# --- the run ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = harness.parser("api", __doc__, quick="a smaller run (under a minute)")
    parser.add_argument(
        "--postgres-url",
        default=harness.DEFAULT_POSTGRES_URL,
        help="server to use (default: $PAPERLEAGUE_TEST_POSTGRES_URL or the local server)",
    )
    parser.add_argument("--workers", type=int, help="uvicorn workers (default 2)")
    parser.add_argument("--members", type=int, help="members in the contest")
    parser.add_argument("--concurrency", type=int, help="requests in flight")
    parser.add_argument("--seconds", type=float, help="timed seconds per workload")
    parser.add_argument(
        "--workload", action="append", default=[], help="run only this workload (repeatable)"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: lean keep-alive connections (default) or an httpx.AsyncClient",
    )
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="serve",
        help="paperleague serve (default, as deployed) or uvicorn's own --workers",
    )
    parser.add_argument(
        "--no-scaling",
        action="store_true",
        help="skip the second pass with one worker (the scaling ratio)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy per workload; collapsed stacks go to DIR",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    overrides = {
        "workers": args.workers,
        "members": args.members,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
    }
    plan = replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    bench_run = harness.Run.begin("API", plan, quick=args.quick)
    unavailable = harness.postgres_unavailable(args.postgres_url)
    if unavailable is not None:
        print(f"\nWARNING: {unavailable}; the API bench needs PostgreSQL and is skipped")
        write_results(args.output, {"skipped": unavailable, "quick": args.quick, "results": []})
        return 0
    secret = secrets.token_urlsafe(48)
    try:
        with (
            postgres_database(args.postgres_url, "api") as url,
            tempfile.TemporaryDirectory(prefix="pl_bench_api_") as scratch,
        ):
            print(f"  seeding {plan.members:,} members and a running contest …", flush=True)
            seeded = seed(url, plan, today=date.today())
            settings = Settings(
                database_url=url, environment="production", jwt_secret=SecretStr(secret)
            )
            tokens = {m.id: issue_access_token(m, settings)[0] for m in seeded.members}
            members = Members(tokens)
            log = Path(scratch) / "server.log"
            command = SERVERS[args.server].format(workers=plan.workers)
            print(f"  serving: {command} …", flush=True)
            with serve(url, secret, kind=args.server, workers=plan.workers, log=log) as server:
                database = url.rsplit("/", 1)[-1]
                results = asyncio.run(
                    run_load(
                        server,
                        database,
                        seeded,
                        members,
                        plan,
                        client=args.client,
                        only=args.workload,
                        profile=args.profile,
                    )
                )
            scaling = []
            if plan.workers > 1 and not args.no_scaling:
                print("  serving with 1 worker, for the scaling ratio …", flush=True)
                one = replace(plan, workers=1)
                with serve(url, secret, kind=args.server, workers=1, log=log) as server:
                    scaling = asyncio.run(
                        run_load(
                            server,
                            url.rsplit("/", 1)[-1],
                            seeded,
                            members,
                            one,
                            client=args.client,
                            only=[
                                w
                                for w in SCALING_WORKLOADS
                                if not args.workload or w in args.workload
                            ],
                        )
                    )
    except BenchFailure as failure:
        return harness.failed(failure)
    wall = bench_run.wall_seconds
    print()
    print(table(results))
    print()
    print(cpu_table(results))
    if scaling:
        print()
        print(scaling_table(scaling, results, workers=plan.workers))
    print(
        f"\n{plan.concurrency} keep-alive connections, one request in flight each "
        f"({args.client} client), {plan.members:,} members' tokens in turn; {plan.seconds:g} s "
        f"timed per workload after {plan.warmup_seconds:g} s of warm-up. "
        "vs no-op = workload req/s ÷ GET /healthz req/s."
    )
    return bench_run.finish(
        args.output,
        results_payload(
            results,
            plan=plan,
            quick=bench_run.quick,
            server=args.server,
            postgres=make_safe(args.postgres_url),
            cpu_busy_before=bench_run.cpu_busy_before,
            wall_seconds=wall,
        )
        | {"scaling": scaling_payload(scaling, results)},
    )


def make_safe(url: str) -> str:
    return sqlalchemy.make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())

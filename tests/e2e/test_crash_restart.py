"""Crash and restart: the real server (``paperleague serve``) is SIGKILLed while orders,
check-ins, redemptions, grants and a settlement are in flight, then restarted on the same
database. Nothing acknowledged is lost, nothing is doubled, nothing is half-written, and every
request retried with its Idempotency-Key comes out once.

The kill moment is random but seeded (``PAPERLEAGUE_CRASH_SEED``); the assertions hold for any
moment. The narrowest windows (after a route's commit, before its response is stored; after a
prize is posted, before it is marked paid) are hit by some seeds only, so the last two tests
build those states on purpose.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.http.routes.points import operation_id
from api.http.routes.trading import keyed_client_order_id
from api.http.store import COMPLETED, PENDING, IdempotencyRow, IdempotencyStore, KeyRecord
from core.db import Database
from core.users import services as users
from core.users.model import Role, User
from engine.contests.store import PrizeRow
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.trading.store import ContestRow
from engine.uow import EngineUnitOfWork
from ledger.model import points_account
from ledger.store.engagement import CheckInRow, RedemptionRow
from ledger.store.transfers import TransferRow
from tests.conftest import PASSWORD, TEST_SECRET
from tests.contest_builders import DISCLOSURES_JSON
from tests.crash_window import crash_after_commit

SEED = int(os.environ.get("PAPERLEAGUE_CRASH_SEED", "20240607"))
MEMBERS = 10
WORKERS = 8
TIMEZONE = "Asia/Shanghai"
CHECKIN_POINTS = 10
GRANT_POINTS = 100
MUG_COST, MUG_STOCK = 40, 12  # 20 redemption attempts: stock and points both run out
CUP_PRIZES = [
    {"ranks": [1, 1], "points": 500, "xp": 200, "item_key": "cup-ticket"},
    {"ranks": [2, 3], "points": 50},
]
Headers = dict[str, str]


# --- the server process -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``paperleague serve`` in its own process group, so SIGKILL reaches every process."""

    def __init__(self, db_url: str, log: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = os.environ | {
            "PAPERLEAGUE_DATABASE_URL": db_url,
            "PAPERLEAGUE_ENVIRONMENT": "test",
            "PAPERLEAGUE_JWT_SECRET": TEST_SECRET,
            "PAPERLEAGUE_LOG_LEVEL": "WARNING",
            # A replay of a key whose holder died answers 409 in-progress at once.
            "PAPERLEAGUE_IDEMPOTENCY_WAIT_SECONDS": "0.2",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(Path(sys.executable).parent / "paperleague"), "serve"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120  # a start-up guard, not a timed assertion
        while True:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "server did not start\n" + self.log.read_text()
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no flushing, mid-request."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


# --- requests -----------------------------------------------------------------------------------


@dataclass
class Op:
    """One POST of the burst and what became of it."""

    kind: str  # checkin, order, redeem, grant, settle
    actor: int  # the user id whose token sends it
    path: str
    body: dict[str, Any] | None
    key: str
    client_order_id: str | None = None
    status: int | None = None  # None: no answer (killed in flight, or never sent)
    payload: Any = None
    error: str | None = None

    @property
    def acked(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _send(http: httpx.Client, op: Op, headers: Headers) -> httpx.Response:
    return http.post(op.path, json=op.body, headers=headers | {"Idempotency-Key": op.key})


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class World:
    """What the seeding made: ids and each user's bearer headers."""

    operator: int
    members: list[int]
    tokens: dict[int, Headers]
    symbols: list[str]
    live: int  # a running contest (orders)
    cup: int  # a finished contest (settlement)
    mug: int  # the reward item members redeem


def _install_symbols(database: Database) -> list[str]:
    instruments = install_synthetic(
        EngineUnitOfWork(database.sessions),  # type: ignore[arg-type]
        Market.CN,
        count=3,
        seed=11,
        start=date(2024, 1, 1),
        days=15,
    )
    return [i.symbol for i in instruments]


def _season(symbols: list[str]) -> dict[str, Any]:
    today = date.today()
    return {
        "name": "Crash season",
        "timezone": TIMEZONE,
        "starts_on": str(today - timedelta(days=1)),
        "ends_on": str(today + timedelta(days=365)),
        "market": "CN",
        "universe": symbols,
        "replay_start": "2024-01-01",
        "replay_end": "2024-01-19",
    }


def _contest(season_id: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "season_id": season_id,
        "title": title,
        "trading_start": "2024-01-01",
        "trading_end": "2024-01-19",
        "starting_cash": "1000000.00",
        "disclosures": DISCLOSURES_JSON,
    } | extra


def _seed_database(database: Database) -> tuple[int, list[int], list[str]]:
    symbols = _install_symbols(database)
    uow = users.UsersUnitOfWork(database.sessions)
    operator = users.create_user(uow, username="operator", password=PASSWORD, roles=[Role.OPERATOR])
    members = users.create_users(
        uow, [users.NewAccount(f"member{i}") for i in range(MEMBERS)], password=PASSWORD
    )
    return operator.id, [m.id for m in members], symbols


def _seed_http(http: httpx.Client, database: Database) -> World:
    operator_id, member_ids, symbols = _seed_database(database)
    names = {operator_id: "operator"} | {m: f"member{i}" for i, m in enumerate(member_ids)}
    tokens: dict[int, Headers] = {}
    for user_id, name in names.items():
        token = _ok(http.post("/v1/auth/token", data={"username": name, "password": PASSWORD}))
        tokens[user_id] = {"Authorization": f"Bearer {token['access_token']}"}
    op = tokens[operator_id]
    rules = {"timezone": TIMEZONE, "checkin": {"points": CHECKIN_POINTS, "xp": 5}}
    _ok(http.put("/v1/admin/earning-rules", json=rules, headers=op))
    mug = {"key": "mug", "name": "Mug", "cost_points": MUG_COST, "stock": MUG_STOCK}
    mug_id = _ok(http.post("/v1/admin/rewards", json=mug, headers=op), 201)["id"]
    ticket = {"key": "cup-ticket", "name": "Cup ticket", "cost_points": 10_000, "stock": 5}
    _ok(http.post("/v1/admin/rewards", json=ticket, headers=op), 201)
    for member in member_ids:
        grant = {"member_id": member, "asset": "POINTS", "amount": GRANT_POINTS, "reason": "seed"}
        _ok(http.post("/v1/admin/points/grants", json=grant, headers=op), 201)
    season_id = _ok(http.post("/v1/admin/seasons", json=_season(symbols), headers=op), 201)["id"]
    live, cup = (
        _ok(http.post("/v1/admin/contests", json=contest, headers=op), 201)["id"]
        for contest in (_contest(season_id, "Live"), _contest(season_id, "Cup", prizes=CUP_PRIZES))
    )
    for member in member_ids:
        _ok(http.post(f"/v1/contests/{live}/entries", json={}, headers=tokens[member]), 201)
    for member in member_ids[:4]:
        _ok(http.post(f"/v1/contests/{cup}/entries", json={}, headers=tokens[member]), 201)
    for contest_id in (live, cup):
        _ok(http.post(f"/v1/admin/contests/{contest_id}/clock", json={"bars": 1}, headers=op))
    order = {"symbol": symbols[0], "side": "buy", "qty": "5000"}
    _ok(http.post(f"/v1/contests/{cup}/orders", json=order, headers=tokens[member_ids[0]]), 201)
    ran = _ok(http.post(f"/v1/admin/contests/{cup}/clock", json={"bars": 100}, headers=op))
    assert ran["finished"], ran
    return World(operator_id, member_ids, tokens, symbols, live, cup, mug_id)


def _burst_ops(world: World, rng: random.Random) -> list[Op]:
    """Every member checks in twice, orders three times and redeems twice; the operator grants
    and settles the cup twice. Shuffled, so the kill lands in a different mix each seed."""
    ops: list[Op] = []

    def key() -> str:
        return f"crash-{uuid.UUID(int=rng.getrandbits(128)).hex}"

    for m in world.members:
        for _ in range(2):
            ops.append(Op("checkin", m, "/v1/me/check-ins", None, key()))
            ops.append(Op("redeem", m, f"/v1/rewards/{world.mug}/redemptions", None, key()))
        for i in range(3):
            body = {"symbol": rng.choice(world.symbols), "side": "buy", "qty": "100"}
            op = Op("order", m, f"/v1/contests/{world.live}/orders", body, key())
            if i < 2:  # the third relies on its Idempotency-Key alone
                body["client_order_id"] = f"c{m}-{i}"
            op.client_order_id = body.get("client_order_id") or keyed_client_order_id(op.key)
            ops.append(op)
    for m in rng.sample(world.members, 4):
        grant = {"member_id": m, "asset": "POINTS", "amount": 20, "reason": "burst"}
        ops.append(Op("grant", world.operator, "/v1/admin/points/grants", grant, key()))
    for _ in range(2):
        settle = f"/v1/admin/contests/{world.cup}/settlement"
        ops.append(Op("settle", world.operator, settle, None, key()))
    rng.shuffle(ops)
    return ops


def _burst_and_kill(server: Server, world: World, ops: list[Op], *, kill_after: int) -> None:
    """Send ``ops`` from WORKERS threads; SIGKILL the server once ``kill_after`` answered."""
    queue = iter(ops)
    lock = threading.Lock()
    answered = threading.Condition()
    counts = {"answered": 0, "done": 0}
    killed = threading.Event()

    def work() -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            while not killed.is_set():
                with lock:
                    op = next(queue, None)
                if op is None:
                    break
                try:
                    response = _send(http, op, world.tokens[op.actor])
                except httpx.TransportError as exc:
                    op.error = type(exc).__name__
                    continue
                op.status, op.payload = response.status_code, response.json()
                with answered:
                    counts["answered"] += 1
                    answered.notify_all()
        with answered:
            counts["done"] += 1
            answered.notify_all()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    with answered:
        answered.wait_for(lambda: counts["answered"] >= kill_after or counts["done"] == WORKERS)
    server.kill()
    killed.set()
    for thread in threads:
        thread.join()


# --- reading the database -----------------------------------------------------------------------


@dataclass
class Snapshot:
    transfers: dict[str, TransferRow]
    checkins: dict[tuple[int, str], int]  # (member, local day) → points paid
    checkin_operations: dict[str, str]  # operation id (from the Idempotency-Key) → local day
    redemptions: dict[str, RedemptionRow]
    keys: dict[tuple[int, str], IdempotencyRow]
    orders: dict[int, list[dict[str, Any]]]  # member → their orders in the live contest


def _snapshot(database: Database, http: httpx.Client, world: World) -> Snapshot:
    with database.sessions() as session:
        transfers = {t.id: t for t in session.scalars(select(TransferRow))}
        rows = list(session.scalars(select(CheckInRow)))
        checkins = {(c.member_id, c.local_date): c.points for c in rows}
        checkin_operations = {c.operation_id: c.local_date for c in rows if c.operation_id}
        redemptions = {r.id: r for r in session.scalars(select(RedemptionRow))}
        keys = {(k.user_id, k.key): k for k in session.scalars(select(IdempotencyRow))}
        session.expunge_all()
    orders = {m: _orders(http, world, m) for m in world.members}
    return Snapshot(transfers, checkins, checkin_operations, redemptions, keys, orders)


def _orders(http: httpx.Client, world: World, member: int) -> list[dict[str, Any]]:
    path = f"/v1/contests/{world.live}/orders"
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = _ok(http.get(path, params=params, headers=world.tokens[member]))
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def _present(op: Op, state: Snapshot) -> list[Any]:
    """The rows that carry ``op``'s effect (empty when absent). Check-ins are per member-day,
    not per request: a member's two check-ins share one."""
    if op.kind == "order":
        return [
            o["id"] for o in state.orders[op.actor] if o["client_order_id"] == op.client_order_id
        ]
    if op.kind == "redeem":
        rid = operation_id("redemption", op.actor, op.key)
        return [rid] if rid in state.redemptions else []
    if op.kind == "grant":
        tid = f"adjustment:{op.actor}:{op.key}"
        return [tid] if tid in state.transfers else []
    if op.kind == "checkin":
        return sorted(day for member, day in state.checkins if member == op.actor)
    return []  # settlement: judged by the prize postings


def _assert_consistent(world: World, state: Snapshot, http: httpx.Client) -> None:
    """No half-writes: every domain record has exactly its postings and nothing else posts."""
    op = world.tokens[world.operator]
    verified = _ok(http.get("/v1/admin/ledger/verify", headers=op))
    assert verified["ok"] and verified["errors"] == [], verified
    trial = _ok(http.get("/v1/admin/ledger/trial-balance", headers=op))
    assert trial["balanced"], trial
    by_reason: dict[str, list[TransferRow]] = {}
    for transfer in state.transfers.values():
        by_reason.setdefault(transfer.reason, []).append(transfer)
    assert set(by_reason) <= {"stock", "adjustment", "checkin", "redemption", "contest_prize"}
    # one check-in per member and local day, each with exactly its points and XP postings
    checkin_ids = {t.id for t in by_reason.get("checkin", [])}
    expected = {f"checkin:{m}:{d}:{leg}" for m, d in state.checkins for leg in ("points", "xp")}
    assert checkin_ids == expected
    # every redemption has its points debit and its item, and no redemption posting is stray
    redemption_ids = {t.id for t in by_reason.get("redemption", [])}
    assert redemption_ids == {f"{r}:{leg}" for r in state.redemptions for leg in ("points", "item")}
    for row in state.redemptions.values():
        debit = state.transfers[row.points_transfer_id]
        assert (debit.debit_account, debit.amount) == (points_account(row.member_id), MUG_COST)
    assert len(state.redemptions) <= MUG_STOCK
    # prizes: at most one posting per leg of each award, all of this cup
    prize_ids = Counter(t.id.rsplit(":", 1)[0] for t in by_reason.get("contest_prize", []))
    assert all(t.reference == f"contest:{world.cup}" for t in by_reason.get("contest_prize", []))
    assert all(count <= 3 for count in prize_ids.values()), prize_ids
    # each member's points are exactly the sum of their records
    for member in world.members:
        account = points_account(member)
        posted = sum(
            t.amount * ((t.credit_account == account) - (t.debit_account == account))
            for t in state.transfers.values()
        )
        from_records = (
            sum(t.amount for t in by_reason["adjustment"] if t.credit_account == account)
            + sum(points for (m, _), points in state.checkins.items() if m == member)
            + sum(
                t.amount for t in by_reason.get("contest_prize", []) if t.credit_account == account
            )
            - MUG_COST * sum(1 for r in state.redemptions.values() if r.member_id == member)
        )
        balance = _ok(http.get("/v1/me/points", headers=world.tokens[member]))["balance"]
        assert balance == posted == from_records >= 0, (member, balance, posted, from_records)
    # orders: unique client ids, and the reserved cash is exactly the open orders'
    for member in world.members:
        mine = state.orders[member]
        assert len({o["client_order_id"] for o in mine}) == len(mine)
        account = _ok(http.get(f"/v1/contests/{world.live}/account", headers=world.tokens[member]))
        reserved = sum(
            Decimal(o["reserved_cash"]) for o in mine if o["status"] in ("new", "partially_filled")
        )
        assert Decimal(account["reserved_cash"]) == reserved, (account, mine)


def _legs(prizes: list[dict[str, Any]]) -> Counter[str]:
    """How many ledger postings each award makes: its points, its XP, its item."""
    return Counter(
        {
            p["award_id"]: (p["points"] > 0) + (p["xp"] > 0) + (p["item_key"] is not None)
            for p in prizes
        }
    )


def _age_pending_keys(database: Database) -> None:
    """What LOCK_SECONDS of waiting would do: the dead process's claims lapse."""
    with database.sessions() as session:
        session.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.status == PENDING)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()


# --- the test -----------------------------------------------------------------------------------


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    server = Server(db_url, tmp_path / "server.log")
    yield server
    server.stop()


def _check_after_restart(
    database: Database,
    http: httpx.Client,
    world: World,
    answered: list[Op],
    unanswered: list[Op],
    story: str,
) -> None:
    store = IdempotencyStore(database.sessions)
    before = _snapshot(database, http, world)
    _assert_consistent(world, before, http)

    # Every answer survived: 2xx effects are there exactly once, refusals left nothing, and
    # the key replays the very same response without running anything.
    for op in answered:
        present = _present(op, before)
        if op.kind == "checkin" and op.acked:
            assert (op.actor, op.payload["local_date"]) in before.checkins, (story, op)
        elif op.kind in ("order", "redeem", "grant"):
            assert len(present) == (1 if op.acked else 0), (story, op, present)
            if op.kind == "order" and op.acked:
                assert present == [op.payload["id"]], (story, op)
        row = before.keys[(op.actor, op.key)]
        assert (row.status, row.response_status) == (COMPLETED, op.status), (story, op)
        replay = _send(http, op, world.tokens[op.actor])
        assert replay.headers.get("idempotent-replayed") == "true", (story, op, replay.text)
        assert (replay.status_code, replay.json()) == (op.status, op.payload), (story, op)

    # Requests the kill cut off: no record means the server never started them; a completed
    # record is replayed; a pending one is still locked by the dead process, then taken over.
    cut_off: Counter[tuple[str, str, bool]] = Counter()
    stored: dict[str, KeyRecord | None] = {}
    for op in unanswered:
        record = stored[op.key] = store.get(op.actor, op.key)
        cut_off[op.kind, record.status if record else "none", bool(_present(op, before))] += 1
        if record is None and op.kind != "checkin":
            assert _present(op, before) == [], (story, op)
        elif record is not None and record.status == PENDING:
            busy = _send(http, op, world.tokens[op.actor])
            assert busy.status_code == 409, (story, op, busy.text)
            assert busy.json()["type"] == "/problems/idempotency-key-in-progress", busy.text
    print(story, "| cut off (kind, key record, effect present):", dict(cut_off))
    _age_pending_keys(database)
    # Only a request itself can make its own order, redemption or grant; check-ins are per
    # member-day, so those made by the retries are tracked as they happen.
    checkins = set(before.checkins)  # the (member, day) pairs
    retried: list[tuple[Op, httpx.Response]] = []
    for op in unanswered:
        was = _present(op, before)
        today = datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
        retry = _send(http, op, world.tokens[op.actor])
        assert retry.status_code < 500, (story, op, retry.text)
        body = retry.json()
        record = stored[op.key]
        if record is not None and record.response is not None:  # answered, then lost in transit
            assert retry.headers.get("idempotent-replayed") == "true", (story, op)
            assert retry.status_code == record.response.status, (story, op, body)
            if op.kind in ("order", "redeem", "grant"):
                assert was == ([body["id"]] if retry.status_code == 201 else []), (story, op)
            elif op.kind == "checkin" and retry.status_code == 201:
                assert (op.actor, body["local_date"]) in checkins, (story, op)
        elif op.kind in ("order", "redeem", "grant") and was:
            assert (retry.status_code, body["id"]) == (201, was[0]), (story, op, body)
        elif op.kind == "checkin" and operation_id("checkin", op.actor, op.key) in (
            before.checkin_operations
        ):  # committed before the kill: the check-in's stored key replays it, whatever the day
            committed_day = before.checkin_operations[operation_id("checkin", op.actor, op.key)]
            assert (retry.status_code, body["local_date"]) == (201, committed_day), (story, op)
        elif op.kind == "checkin":
            expected = 409 if (op.actor, today) in checkins else 201
            assert retry.status_code == expected, (story, op, body)
            checkins.add((op.actor, today))
        elif op.kind == "settle":
            assert retry.status_code == 200 and body["refused"] == [], (story, body)
        else:  # absent before: it runs now, once, or is refused (stock, points)
            assert retry.status_code in (201, 422), (story, op, body)
        retried.append((op, retry))

    after = _snapshot(database, http, world)
    _assert_consistent(world, after, http)
    for op, retry in retried:
        if op.kind in ("order", "redeem", "grant"):
            assert len(_present(op, after)) == (1 if retry.status_code == 201 else 0), (story, op)
        again = _send(http, op, world.tokens[op.actor])
        assert again.headers.get("idempotent-replayed") == "true", (story, op)
        assert (again.status_code, again.json()) == (retry.status_code, retry.json())
    for op in answered:  # still exactly once after the retries
        if op.kind in ("order", "redeem", "grant"):
            assert len(_present(op, after)) == (1 if op.acked else 0), (story, op)

    # Settlement run again after the restart pays every prize, each exactly once.
    op_headers = world.tokens[world.operator]
    settle = f"/v1/admin/contests/{world.cup}/settlement"
    report = _ok(http.post(settle, headers=op_headers))
    assert report["settled"] and report["refused"] == [], (story, report)
    prizes = _ok(http.get(f"/v1/contests/{world.cup}/prizes", headers=op_headers))["prizes"]
    assert len(prizes) == report["prizes"] >= 3 and all(p["paid"] for p in prizes), prizes
    final = _snapshot(database, http, world)
    _assert_consistent(world, final, http)
    postings = Counter(
        t.id.rsplit(":", 1)[0] for t in final.transfers.values() if t.reason == "contest_prize"
    )
    assert postings == _legs(prizes), (story, postings, prizes)
    again = _ok(http.post(settle, headers=op_headers))
    assert (again["paid_now"], again["already_paid"]) == (0, len(prizes)), again
    for op in (o for o in answered if o.acked):
        if op.kind in ("order", "redeem", "grant"):
            assert len(_present(op, final)) == 1, (story, op)


def test_sigkill_mid_burst_loses_nothing_and_doubles_nothing(
    backend: str, db_url: str, server: Server
) -> None:
    rng = random.Random(f"{SEED}-{backend}")
    database = Database.connect(db_url)
    try:
        server.start()
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            world = _seed_http(http, database)
        ops = _burst_ops(world, rng)
        kill_after = rng.randint(5, len(ops) - 2 * WORKERS)
        _burst_and_kill(server, world, ops, kill_after=kill_after)
        story = f"seed {SEED}, {backend}, killed after {kill_after} answers"
        answered = [o for o in ops if o.status is not None]
        assert all((o.status or 0) < 500 for o in answered), (story, answered)
        unanswered = [o for o in ops if o.status is None]

        server.start()  # same database, same port
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            _check_after_restart(database, http, world, answered, unanswered, story)
    finally:
        database.dispose()


# --- the narrow window, built on purpose --------------------------------------------------------


def test_retry_after_a_crash_between_commit_and_response(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    symbols = _install_symbols(database)
    operator_user, member_user = make_user(Role.OPERATOR), make_user()
    op, member = login(operator_user), login(member_user)
    client.put("/v1/admin/earning-rules", json={"checkin": {"points": 10, "xp": 0}}, headers=op)
    grant = {"member_id": member_user.id, "asset": "POINTS", "amount": 100, "reason": "seed"}
    assert client.post("/v1/admin/points/grants", json=grant, headers=op).status_code == 201
    mug = {"key": "mug", "name": "Mug", "cost_points": 10, "stock": 5}
    mug_id = client.post("/v1/admin/rewards", json=mug, headers=op).json()["id"]
    season_id = client.post("/v1/admin/seasons", json=_season(symbols), headers=op).json()["id"]
    contest = _contest(season_id, "Live")
    live = client.post("/v1/admin/contests", json=contest, headers=op).json()["id"]
    assert client.post(f"/v1/contests/{live}/entries", json={}, headers=member).status_code == 201
    client.post(f"/v1/admin/contests/{live}/clock", json={"bars": 1}, headers=op)

    order = {"symbol": symbols[0], "side": "buy", "qty": "100"}  # no client_order_id
    cases: list[tuple[User, Headers, str, dict[str, Any] | None]] = [
        (member_user, member, f"/v1/contests/{live}/orders", order),
        (member_user, member, f"/v1/rewards/{mug_id}/redemptions", None),
        (operator_user, op, "/v1/admin/points/grants", grant | {"amount": 7}),
    ]
    for user, headers, path, body in cases:
        keyed = headers | {"Idempotency-Key": f"window-{uuid.uuid4().hex}"}
        first = client.post(path, json=body, headers=keyed)
        assert first.status_code == 201, first.text
        crash_after_commit(database, user.id, keyed["Idempotency-Key"])
        retry = client.post(path, json=body, headers=keyed)
        assert retry.status_code == 201, retry.text
        assert "idempotent-replayed" not in retry.headers  # it ran again …
        assert retry.json()["id"] == first.json()["id"], path  # … and found the first's effect
    keyed = member | {"Idempotency-Key": "window-checkin"}
    assert client.post("/v1/me/check-ins", headers=keyed).status_code == 201
    crash_after_commit(database, member_user.id, "window-checkin")
    retry = client.post("/v1/me/check-ins", headers=keyed)
    # The check-in stored its key's operation id: the retry finds it and answers as the first.
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers, retry.text
    orders = client.get(f"/v1/contests/{live}/orders", headers=member).json()["items"]
    assert len(orders) == 1
    points = client.get("/v1/me/points", headers=member).json()
    assert (points["balance"], points["items"]) == (100 + 7 - 10 + 10, {"mug": 1})


def test_settlement_rerun_after_a_crash_between_payment_and_mark(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    symbols = _install_symbols(database)
    operator_user = make_user(Role.OPERATOR)
    op = login(operator_user)
    people = [make_user() for _ in range(3)]
    tokens = {person.id: login(person) for person in people}
    ticket = {"key": "cup-ticket", "name": "Cup ticket", "cost_points": 10_000, "stock": 5}
    assert client.post("/v1/admin/rewards", json=ticket, headers=op).status_code == 201
    season_id = client.post("/v1/admin/seasons", json=_season(symbols), headers=op).json()["id"]
    contest = _contest(season_id, "Cup", prizes=CUP_PRIZES)
    cup = client.post("/v1/admin/contests", json=contest, headers=op).json()["id"]
    for person in people:
        joined = client.post(f"/v1/contests/{cup}/entries", json={}, headers=tokens[person.id])
        assert joined.status_code == 201, joined.text
    client.post(f"/v1/admin/contests/{cup}/clock", json={"bars": 1}, headers=op)
    order = {"symbol": symbols[0], "side": "buy", "qty": "5000"}
    client.post(f"/v1/contests/{cup}/orders", json=order, headers=tokens[people[0].id])
    client.post(f"/v1/admin/contests/{cup}/clock", json={"bars": 100}, headers=op)
    keyed = op | {"Idempotency-Key": "window-settle"}
    settle = f"/v1/admin/contests/{cup}/settlement"
    first = client.post(settle, headers=keyed)
    assert first.status_code == 200 and first.json()["paid_now"] == 3, first.text

    # The crash: every prize posted to the ledger, none marked paid, the contest not closed.
    with database.sessions() as session:
        session.execute(update(PrizeRow).where(PrizeRow.contest_id == cup).values(paid_at=None))
        session.execute(update(ContestRow).where(ContestRow.id == cup).values(settled_at=None))
        session.commit()
    crash_after_commit(database, operator_user.id, "window-settle")
    retry = client.post(settle, headers=keyed)

    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    assert (retry.json()["paid_now"], retry.json()["settled"]) == (3, True), retry.text
    prizes = client.get(f"/v1/contests/{cup}/prizes", headers=op).json()["prizes"]
    with database.sessions() as session:
        posted = Counter(
            t.id.rsplit(":", 1)[0]
            for t in session.scalars(
                select(TransferRow).where(TransferRow.reason == "contest_prize")
            )
        )
    assert len(prizes) == 3 and all(p["paid"] for p in prizes)
    assert posted == _legs(prizes)  # each leg of each award posted once, across both runs
    for person in people:
        won = sum(p["points"] for p in prizes if p["member_id"] == person.id)
        assert client.get("/v1/me/points", headers=tokens[person.id]).json()["balance"] == won

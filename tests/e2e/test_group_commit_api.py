"""Group commit over HTTP: concurrent check-ins, orders and grants joined into batches, each
request still answered with its own status and body.

Each test holds the first batch until the other requests have queued behind it
(``_first_batch_waits``), so they are answered from one batch, not one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from api.http.app import create_app
from api.http.group_commits import CHECK_INS, GRANTS
from core.config import Settings
from core.db import Database
from core.group_commit import GroupCommit
from core.users.model import Role, User
from ledger import engagement
from ledger.levels import Level, Privileges
from ledger.services import LedgerUnitOfWork
from tests.concurrency import race
from tests.conftest import PASSWORD
from tests.e2e.test_trading_api import contest, entered  # noqa: F401 (fixture)

Headers = dict[str, str]


@pytest.fixture
def batch_sizes(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, Any, int], list[int]]:
    """``hold(kind, key, expected)``: the app's combiner of ``kind`` ("check_ins", "orders",
    "grants") wrapped so that its first batch of ``key`` waits (at most 5 s) until
    ``expected`` - 1 more callers queue behind it; returns the batch sizes it runs."""

    def hold(kind: str, key: Any, expected: int) -> list[int]:
        sizes: list[int] = []
        combiner: GroupCommit[Any, Any, Any] = getattr(app.state.group_commits, kind)
        original = combiner.run_batch

        def waiting(batch_key: Any, items: Sequence[Any]) -> Sequence[Any]:
            if not sizes:
                deadline = time.monotonic() + 5
                while combiner.queued(key) < expected - 1 and time.monotonic() < deadline:
                    time.sleep(0.002)
            sizes.append(len(items))
            return original(batch_key, items)

        monkeypatch.setattr(combiner, "run_batch", waiting)
        return sizes

    return hold


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.OPERATOR))


@pytest.fixture
def levels(database: Database, make_user: Callable[..., User]) -> None:
    engagement.set_levels(
        LedgerUnitOfWork(database.sessions),
        [
            Level(1, "New", 0),
            Level(2, "Pro", 100, Privileges(points_multiplier=Decimal("1.5"))),
            Level(3, "Star", 300, Privileges(points_multiplier=Decimal("2"))),
        ],
        operator_id=make_user(Role.OPERATOR).id,
    )


def _points(client: TestClient, headers: Headers) -> int:
    return int(client.get("/v1/me/points", headers=headers).json()["balance"])


def _grant(member_id: int, amount: int, asset: str = "POINTS") -> dict[str, Any]:
    return {"member_id": member_id, "asset": asset, "amount": amount, "reason": "goodwill"}


def test_concurrent_check_ins_share_a_batch_and_each_gets_its_own_body(
    client: TestClient,
    operator: Headers,
    levels: None,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    batch_sizes: Callable[[str, Any, int], list[int]],
) -> None:
    members = [make_user() for _ in range(6)]
    xp = [0, 100, 300, 0, 300, 100]  # levels 1, 2, 3: ×1, ×1.5, ×2 on 10 points
    for member, gained in zip(members, xp, strict=True):
        if gained:
            made = client.post(
                "/v1/admin/points/grants", headers=operator, json=_grant(member.id, gained, "XP")
            )
            assert made.status_code == 201, made.text
    headers = [login(m) for m in members]
    sizes = batch_sizes("check_ins", CHECK_INS, len(members))

    answers = race(len(members), lambda i: client.post("/v1/me/check-ins", headers=headers[i]))

    assert [a.status_code for a in answers] == [201] * len(members), [a.text for a in answers]
    expected = {0: 10, 100: 15, 300: 20}
    assert [a.json()["points"] for a in answers] == [expected[g] for g in xp]
    assert [_points(client, h) for h in headers] == [expected[g] for g in xp]
    assert max(sizes) > 1 and sum(sizes) == len(members), sizes


def test_the_same_member_twice_at_once_is_checked_in_once(
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    batch_sizes: Callable[[str, Any, int], list[int]],
) -> None:
    headers = login(make_user())
    sizes = batch_sizes("check_ins", CHECK_INS, 3)
    answers = race(3, lambda _: client.post("/v1/me/check-ins", headers=headers))
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    refused = [a.json() for a in answers if a.status_code == 409]
    assert {r["rule"] for r in refused} == {"one_checkin_per_local_day"}
    made = next(a.json() for a in answers if a.status_code == 201)
    assert _points(client, headers) == made["points"] and sum(sizes) == 3


def test_the_same_idempotency_key_twice_at_once_answers_the_same_check_in(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    headers = login(make_user()) | {"Idempotency-Key": "wave-1"}
    answers = race(2, lambda _: client.post("/v1/me/check-ins", headers=headers))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
    assert _points(client, headers) == answers[0].json()["points"]


def test_concurrent_orders_with_refusals_each_get_their_own_answer(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    batch_sizes: Callable[[str, Any, int], list[int]],
) -> None:
    contest_id, symbols = contest
    members = [make_user() for _ in range(4)]
    for member in members[:3]:
        entered(database, contest_id, member)
    headers = [login(m) for m in members]
    buy = {"symbol": symbols[0], "side": "buy", "type": "market"}
    sent = [
        (0, buy | {"qty": "1000", "client_order_id": "a-1"}),
        (0, buy | {"qty": "100", "client_order_id": "a-1"}),  # the same id, other fields
        (1, buy | {"qty": "150"}),  # not a whole lot
        (1, buy | {"qty": "100"}),
        (2, buy | {"qty": "100000000"}),  # more than the cash
        (3, buy | {"qty": "100"}),  # not entered
        (2, buy | {"qty": "200", "note": "a steady name"}),
    ]
    sizes = batch_sizes("orders", contest_id, len(sent))
    url = f"/v1/contests/{contest_id}/orders"

    answers = race(
        len(sent), lambda i: client.post(url, json=sent[i][1], headers=headers[sent[i][0]])
    )

    statuses = [a.status_code for a in answers]
    first_a, second_a = statuses[0], statuses[1]
    assert sorted([first_a, second_a]) == [201, 409]  # whichever came first is the order
    assert statuses[2:] == [422, 201, 422, 404, 201], [a.text for a in answers]
    assert answers[2].json()["rule"] == "lot_size"
    assert answers[4].json()["rule"] == "insufficient_buying_power"
    assert answers[6].json()["note"] == "a steady name"
    placed = [a.json() for a in answers if a.status_code == 201]
    assert len({o["id"] for o in placed}) == 3
    assert {o["qty"] for o in placed if o["client_order_id"] == "a-1"} <= {"1000", "100"}
    listed = client.get(url, headers=headers[0]).json()["items"]
    assert [o["id"] for o in listed] == [o["id"] for o in placed if o["client_order_id"] == "a-1"]
    assert max(sizes) > 1, sizes


def test_concurrent_grants_share_a_batch_and_a_refusal_stays_its_own(
    client: TestClient,
    operator: Headers,
    make_user: Callable[..., User],
    batch_sizes: Callable[[str, Any, int], list[int]],
) -> None:
    members = [make_user() for _ in range(4)]
    sent = [_grant(members[0].id, 50), _grant(members[1].id, -10), _grant(members[2].id, 70)]
    sent += [_grant(members[3].id, 5, "XP")]
    sizes = batch_sizes("grants", GRANTS, len(sent))

    answers = race(
        len(sent), lambda i: client.post("/v1/admin/points/grants", headers=operator, json=sent[i])
    )

    assert [a.status_code for a in answers] == [201, 422, 201, 201], [a.text for a in answers]
    assert answers[1].json()["rule"] == "exceeds_available"
    assert [a.json()["amount"] for a in answers if a.status_code == 201] == [50, 70, 5]
    trial = client.get("/v1/admin/ledger/trial-balance", headers=operator).json()
    balances = {(a["account"], a["asset"]): a for a in trial["accounts"]}
    assert (f"member:{members[1].id}:points", "POINTS") not in balances
    assert client.get("/v1/admin/ledger/verify", headers=operator).json()["ok"] is True
    assert sizes and max(sizes) > 1, sizes


@pytest.fixture
def solo_app(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"group_commit": False}), database=database)
    ) as client:
        yield client


def test_without_group_commit_each_request_runs_alone(
    solo_app: TestClient, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    original = engagement.check_in_each

    def recording(*args: Any, **kwargs: Any) -> Any:
        batches.append(len(args[1]))
        return original(*args, **kwargs)

    monkeypatch.setattr(engagement, "check_in_each", recording)
    members = [make_user() for _ in range(3)]
    headers = []
    for member in members:
        token = solo_app.post(
            "/v1/auth/token",
            data={"username": member.username, "password": PASSWORD},
        ).json()["access_token"]
        headers.append({"Authorization": f"Bearer {token}"})
    answers = race(3, lambda i: solo_app.post("/v1/me/check-ins", headers=headers[i]))
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert batches == [1, 1, 1]


def test_two_workers_batching_the_same_member_check_them_in_once(
    client: TestClient,
    settings: Settings,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    members = [make_user() for _ in range(3)]
    headers = [login(m) for m in members]
    with TestClient(create_app(settings, database=database)) as other:  # its own combiners
        clients = [client, other]
        answers = race(
            12, lambda i: clients[i % 2].post("/v1/me/check-ins", headers=headers[i % 3])
        )
    for member in range(3):
        mine = sorted(a.status_code for i, a in enumerate(answers) if i % 3 == member)
        assert mine == [201, 409, 409, 409], [a.text for a in answers]
        assert _points(client, headers[member]) > 0

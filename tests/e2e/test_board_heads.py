"""A kept leaderboard (engine.contests.contest_heads, board_pages.kept_board_page) never outlives
a change: two apps on one PostgreSQL database (each what a worker would be, told by the
database's notifications), a tick or an invite code committed through one app or behind both
(bulk SQL), and the very next read from the other app sees it.

Each case first checks that the other app served the board from what it keeps, on the event
loop (no thread-pool hop, so no database round trip): otherwise it would pass without any
invalidation. Then it makes the change, waits until the other app has dropped the contest's
head (a notification arrives a moment after the commit; without one the wait times out), and
asks once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.http.app import create_app
from api.http.routes import leaderboard as leaderboard_route
from core.config import Settings
from core.db import Database
from core.db_notifications import LISTENER_NAME, listener_of
from core.users.model import Role, User
from engine.contests.contest_heads import ContestHeads
from engine.contests.model import Contest
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

GENEROUS = 20.0  # seconds for a listener to (re)connect or a notification to arrive
Headers = dict[str, str]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GENEROUS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _heads(client: TestClient) -> ContestHeads:
    assert isinstance(client.app, FastAPI)
    heads = client.app.state.engine_caches.heads
    assert isinstance(heads, ContestHeads)
    return heads


@pytest.fixture
def other(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A second app on the same database: another worker."""
    with TestClient(create_app(settings, database=database)) as client:
        _wait_for(lambda: _heads(client).usable(), "the other app never trusted")
        yield client


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The leaderboard reads that went to the thread pool (to the database)."""
    went: list[str] = []
    real = leaderboard_route.run_in_threadpool

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        went.append(func.__name__)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(leaderboard_route, "run_in_threadpool", counted)
    return went


@pytest.fixture
def contest(database: Database, make_user: Callable[..., User]) -> Contest:
    uow = EngineUnitOfWork(database.sessions)
    today = date.today()
    season = build.season(
        uow,
        make_user(Role.OPERATOR),
        days=20,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=365),
    )
    return build.contest(uow, season)


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.OPERATOR))


def _enter_and_tick(
    client: TestClient, contest: Contest, members: list[Headers], operator: Headers
) -> None:
    for headers in members:
        entered = client.post(f"/v1/contests/{contest.id}/entries", json={}, headers=headers)
        assert entered.status_code == 201, entered.text
    _tick(client, contest, operator, bars=2)


def _tick(client: TestClient, contest: Contest, operator: Headers, *, bars: int = 1) -> None:
    clock = client.post(
        f"/v1/admin/contests/{contest.id}/clock", json={"bars": bars}, headers=operator
    )
    assert clock.status_code == 200, clock.text


def _kept(
    client: TestClient, contest: Contest, headers: Headers, hops: list[str], **params: Any
) -> dict[str, Any]:
    """Ask ``client`` twice and check the second answer came from what it keeps."""
    path = f"/v1/contests/{contest.id}/leaderboard"
    first = client.get(path, params=params, headers=headers)
    assert first.status_code == 200, first.text
    hops.clear()
    second = client.get(path, params=params, headers=headers)
    assert second.status_code == 200, second.text
    assert hops == [], "the board was not served from what the worker keeps"
    assert second.content == first.content
    assert _heads(client).get(contest.id) is not None
    body: dict[str, Any] = second.json()
    return body


def _dropped(client: TestClient, contest: Contest) -> None:
    _wait_for(lambda: _heads(client).get(contest.id) is None, "the change never arrived")


def test_a_tick_committed_in_one_worker_is_served_by_the_next_read_in_another(
    client: TestClient,
    other: TestClient,
    contest: Contest,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    hops: list[str],
) -> None:
    members = [login(make_user()) for _ in range(3)]
    _enter_and_tick(client, contest, members, operator)
    before = _kept(other, contest, members[0], hops, limit=2)
    around_before = _kept(other, contest, members[1], hops, around="me", k=1)
    assert before["tick"] == around_before["tick"] == 2 and before["entries"] == 3
    _tick(client, contest, operator)
    _dropped(other, contest)
    path = f"/v1/contests/{contest.id}/leaderboard"
    asks: list[tuple[dict[str, str | int], Headers]] = [
        ({"limit": 2}, members[0]),
        ({"around": "me", "k": 1}, members[1]),
    ]
    for params, headers in asks:
        after = other.get(path, params=params, headers=headers)
        assert after.status_code == 200 and after.json()["tick"] == 3, after.text
        assert after.content == client.get(path, params=params, headers=headers).content
    assert _kept(other, contest, members[0], hops, limit=2)["tick"] == 3  # kept again


def test_a_tick_written_behind_every_app_is_served_by_the_next_read(
    other: TestClient,
    client: TestClient,
    database: Database,
    contest: Contest,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    hops: list[str],
) -> None:
    member = login(make_user())
    _enter_and_tick(client, contest, [member], operator)
    assert _kept(other, contest, member, hops)["tick"] == 2
    with database.engine.begin() as conn:  # no ORM, no service: psql, a repair script
        conn.execute(
            text("UPDATE contests SET clock_ticks = clock_ticks + 1 WHERE id = :id"),
            {"id": contest.id},
        )
    _dropped(other, contest)
    after = other.get(f"/v1/contests/{contest.id}/leaderboard", headers=member)
    assert after.status_code == 200 and after.json()["tick"] == 3, after.text


def test_a_contest_made_private_is_hidden_from_outsiders_by_the_next_read(
    other: TestClient,
    client: TestClient,
    database: Database,
    contest: Contest,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    hops: list[str],
) -> None:
    member, outsider = login(make_user()), login(make_user())
    _enter_and_tick(client, contest, [member], operator)
    _kept(other, contest, outsider, hops)  # public: anyone may read it, from what is kept
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE contests SET invite_code = 'secret-door' WHERE id = :id"),
            {"id": contest.id},
        )
    _dropped(other, contest)
    path = f"/v1/contests/{contest.id}/leaderboard"
    for _ in range(2):  # the second read finds the private contest's head kept
        hidden = other.get(path, headers=outsider)
        assert hidden.status_code == 404, hidden.text
        assert other.get(path, params={"around": "me"}, headers=outsider).status_code == 404
        assert other.get(path, headers=member).status_code == 200  # an entrant still sees it
    assert _heads(other).get(contest.id) is not None, "the private contest's head was not kept"
    # Every route that names the contest asks the same kept head (engine.contests.visibility).
    orders = f"/v1/contests/{contest.id}/orders"
    assert other.get(orders, headers=outsider).status_code == 404
    assert other.get(orders, headers=member).status_code == 200
    assert _kept(other, contest, operator, hops)["entries"] == 1  # operators see every contest


def test_around_me_without_an_entry_stays_not_entered_while_the_board_is_kept(
    other: TestClient,
    client: TestClient,
    contest: Contest,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    hops: list[str],
) -> None:
    member, outsider = login(make_user()), login(make_user())
    _enter_and_tick(client, contest, [member], operator)
    _kept(other, contest, member, hops, around="me", k=2)
    _kept(other, contest, outsider, hops)  # the page itself is public
    path = f"/v1/contests/{contest.id}/leaderboard"
    for _ in range(2):
        refused = other.get(path, params={"around": "me"}, headers=outsider)
        assert refused.status_code == 404 and refused.json()["type"].endswith("not-entered")


def test_without_its_listener_a_worker_reads_the_database_and_forgets_on_reconnect(
    other: TestClient,
    client: TestClient,
    database: Database,
    contest: Contest,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    hops: list[str],
) -> None:
    member = login(make_user())
    _enter_and_tick(client, contest, [member], operator)
    _kept(other, contest, member, hops)
    listener = listener_of(database)
    assert listener is not None
    connects = listener.connects
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": LISTENER_NAME},
        )
    _wait_for(lambda: not _heads(other).usable(), "the worker kept trusting")
    _tick(client, contest, operator)  # its notification is lost: nobody listens
    hops.clear()
    path = f"/v1/contests/{contest.id}/leaderboard"
    assert other.get(path, headers=member).json()["tick"] == 3  # read, not kept
    assert hops, "served from what the worker kept while it could hear nothing"
    _wait_for(lambda: listener.connects > connects, "the listener did not reconnect")
    _wait_for(lambda: _heads(other).usable(), "the worker never trusted again")
    assert other.get(path, headers=member).json()["tick"] == 3


def test_bad_parameters_are_still_refused_while_the_board_is_kept(
    other: TestClient,
    client: TestClient,
    contest: Contest,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    hops: list[str],
) -> None:
    member = login(make_user())
    _enter_and_tick(client, contest, [member], operator)
    _kept(other, contest, member, hops)
    path = f"/v1/contests/{contest.id}/leaderboard"
    refusals: list[tuple[dict[str, str | int], str]] = [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"k": 51}, "k"),
        ({"k": -1}, "k"),
        ({"around": "you"}, "around"),
        ({"scope": "everyone"}, "scope"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "x" * 513}, "cursor"),
        ({"limit": "2\x00"}, "limit"),
    ]
    for params, field in refusals:
        bad = other.get(path, params=params, headers=member)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert field in bad.json()["field"], (params, bad.json())
    assert other.get(f"/v1/contests/{2**31}/leaderboard", headers=member).status_code == 422
    assert other.get(path).status_code == 401
    assert other.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401

"""Fairness and privacy over HTTP: market bars never run ahead of the slowest running contest on
a symbol, whichever contest the caller names; a check-in retried after a crash gets its first
answer back; a member's rank history can be made private."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine import clock
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.trading import services
from engine.uow import EngineUnitOfWork
from tests.crash_window import crash_after_commit

START = date(2024, 1, 1)  # a Monday; the synthetic market trades on weekdays
LAST = date(2024, 1, 26)  # the 20th trading day
Headers = dict[str, str]


def _venue(uow: EngineUnitOfWork, symbols: list[str], start: date, end: date) -> int:
    return services.create_venue(
        uow,
        title=f"venue {start} {end}",
        market=Market.CN,
        universe=symbols,
        starting_cash=Decimal(500_000),
        trading_start=start,
        trading_end=end,
    ).contest_id


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def symbols(uow: EngineUnitOfWork) -> list[str]:
    installed = install_synthetic(uow, Market.CN, count=3, seed=5, start=START, days=20)  # type: ignore[arg-type]
    return [i.symbol for i in installed]


def _last_day(
    client: TestClient, symbol: str, headers: Headers | None = None, **params: int
) -> str:
    response = client.get(f"/v1/market/{symbol}/bars", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return str(response.json()[-1]["day"]) if response.json() else ""


# --- bars: the horizon is the slowest running contest ------------------------------------------


def test_naming_a_faster_or_finished_contest_reveals_no_bar_past_the_slowest_clock(
    client: TestClient,
    uow: EngineUnitOfWork,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    slow, fast, done = (_venue(uow, symbols, START, LAST) for _ in range(3))
    clock.advance_clock(uow, slow, bars=1)  # 2024-01-01
    clock.advance_clock(uow, fast, bars=5)  # 2024-01-05
    clock.advance_clock(uow, done, bars=30)  # finished on 2024-01-26
    member = make_user()
    services.open_account(uow, slow, member.id)
    mine = login(member)
    operator = login(make_user(Role.OPERATOR))
    symbol = symbols[0]

    assert _last_day(client, symbol, mine, contest_id=fast) == "2024-01-01"
    assert _last_day(client, symbol, mine, contest_id=done) == "2024-01-01"
    assert _last_day(client, symbol, mine, contest_id=slow) == "2024-01-01"
    assert _last_day(client, symbol) == "2024-01-01"  # no token
    assert _last_day(client, symbol, contest_id=done) == "2024-01-01"
    # Operators see every bar, or a contest's view when they name one.
    assert _last_day(client, symbol, operator) == "2024-01-26"
    assert _last_day(client, symbol, operator, contest_id=fast) == "2024-01-05"
    # A bad token is refused, not read as anonymous.
    bad = client.get(f"/v1/market/{symbol}/bars", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
    unknown = client.get(f"/v1/market/{symbol}/bars", params={"contest_id": 2_147_483_647})
    assert unknown.status_code == 404
    refused = client.get(f"/v1/market/{symbol}/bars", params={"contest_id": 0})
    assert refused.status_code == 422 and refused.json()["field"] == "query.contest_id"


def test_what_counts_as_running(
    client: TestClient, uow: EngineUnitOfWork, symbols: list[str]
) -> None:
    symbol = symbols[0]
    # Not started, trading after every stored bar: nothing of it to hide.
    _venue(uow, symbols, date(2024, 3, 1), date(2024, 3, 29))
    assert _last_day(client, symbol) == "2024-01-26"
    # Its last trading day passed, the window ends on a Sunday: it will reveal nothing more.
    weekend = _venue(uow, symbols, START, date(2024, 1, 7))
    clock.advance_clock(uow, weekend, bars=10)
    assert services.venue(uow, weekend).clock_day == date(2024, 1, 5)
    assert _last_day(client, symbol) == "2024-01-26"
    # Not started, a replay of days already stored: its days stay hidden until it starts.
    replay = _venue(uow, symbols, date(2024, 1, 15), LAST)
    assert _last_day(client, symbol) == "2024-01-12"
    clock.advance_clock(uow, replay, bars=1)
    assert _last_day(client, symbol) == "2024-01-15"
    clock.advance_clock(uow, replay, bars=30)  # finished
    assert _last_day(client, symbol) == "2024-01-26"
    # A contest on other symbols does not hold this one back.
    _venue(uow, symbols[1:], START, LAST)
    assert _last_day(client, symbol) == "2024-01-26"
    assert _last_day(client, symbols[1]) == ""  # that one has not started: nothing yet


# --- check-in: a retry after a crash replays the first answer ----------------------------------


def test_a_check_in_retried_after_a_crash_answers_201_with_the_first_check_in(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    op = login(make_user(Role.OPERATOR))
    rules = {"checkin": {"points": 10, "xp": 0}}
    assert client.put("/v1/admin/earning-rules", json=rules, headers=op).status_code == 200
    member = make_user()
    keyed = login(member) | {"Idempotency-Key": "checkin-crash"}

    first = client.post("/v1/me/check-ins", headers=keyed)
    assert first.status_code == 201, first.text
    crash_after_commit(database, member.id, "checkin-crash")
    retry = client.post("/v1/me/check-ins", headers=keyed)

    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers  # it ran again, and found the first
    assert retry.json() == first.json()
    assert client.get("/v1/me/points", headers=keyed).json()["balance"] == 10
    # Another key on the same day is still the day's second check-in.
    other = client.post("/v1/me/check-ins", headers=login(member) | {"Idempotency-Key": "b"})
    assert (other.status_code, other.json()["rule"]) == (409, "one_checkin_per_local_day")


# --- rank history: public by default, private on request ----------------------------------------


def test_a_private_rank_history_is_a_404_to_others_but_not_to_its_member_or_operators(
    client: TestClient,
    uow: EngineUnitOfWork,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    contest = _venue(uow, symbols, START, LAST)
    owner, other = make_user(), make_user()
    for user in (owner, other):
        services.open_account(uow, contest, user.id)
    clock.advance_clock(uow, contest, bars=2)
    mine, theirs = login(owner), login(other)
    operator = login(make_user(Role.OPERATOR))
    url = f"/v1/contests/{contest}/leaderboard/history"
    about_owner = {"member_id": owner.id}

    assert client.get("/v1/me", headers=mine).json()["rank_history_public"] is True
    public = client.get(url, params=about_owner, headers=theirs)
    assert public.status_code == 200 and [p["tick"] for p in public.json()] == [1, 2]

    hidden = client.patch("/v1/me", json={"rank_history_public": False}, headers=mine)
    assert hidden.status_code == 200 and hidden.json()["rank_history_public"] is False
    private = client.get(url, params=about_owner, headers=theirs)
    nobody = client.get(url, params={"member_id": 2_147_483_647}, headers=theirs)
    assert private.status_code == nobody.status_code == 404
    assert private.headers["content-type"] == "application/problem+json"
    assert private.json().keys() == nobody.json().keys()
    assert private.json()["field"] == "member_id"
    assert client.get(url, headers=mine).json() == public.json()
    assert client.get(url, params=about_owner, headers=mine).json() == public.json()
    assert client.get(url, params=about_owner, headers=operator).json() == public.json()

    shown = client.patch("/v1/me", json={"rank_history_public": True}, headers=mine)
    assert shown.status_code == 200
    assert client.get(url, params=about_owner, headers=theirs).json() == public.json()


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"rank_history_public": "no"}, "rank_history_public", "bool_type"),
        ({"rank_history_public": 0}, "rank_history_public", "bool_type"),
        ({"rank_history_public": None}, "rank_history_public", "not_null"),
        ({"display": "x"}, "display", "extra_forbidden"),
        ([True], "body", "model_attributes_type"),
    ],
)
def test_bad_settings_are_422_naming_field_and_rule(
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    body: object,
    field: str,
    rule: str,
) -> None:
    user = make_user()
    response = client.patch("/v1/me", json=body, headers=login(user))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["field"], response.json()["rule"]) == (field, rule)
    assert client.get("/v1/me", headers=login(user)).json()["rank_history_public"] is True

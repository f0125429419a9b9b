"""The trading services on SQLite and PostgreSQL: orders, the clock, books, referrals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from core.db import Database
from core.errors import Conflict, NotFound
from core.users.model import User
from engine import clock
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.trading import order_desk, services, views
from engine.trading import venue as venue_lookup
from engine.trading.admission import OrderRefused
from engine.trading.orders import Order, OrderRequest, OrderStatus, Reason
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.model import POINTS, points_account
from ledger.services import balance
from tests.engine_builders import request

D = Decimal
START = date(2024, 1, 1)


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


def cn_contest(
    uow: EngineUnitOfWork,
    *,
    days: int = 30,
    end: date = date(2024, 12, 31),
    overrides: dict | None = None,
) -> int:
    instruments = install_synthetic(uow, Market.CN, count=6, seed=7, start=START, days=days)  # type: ignore[arg-type]
    venue = services.create_venue(
        uow,
        title="A-share cup",
        market=Market.CN,
        universe=[i.symbol for i in instruments],
        starting_cash=D(1_000_000),
        trading_start=START,
        trading_end=end,
        rule_overrides=overrides,
    )
    return venue.contest_id


def trading_member(uow: EngineUnitOfWork, make_user: Callable[..., User]) -> tuple[int, User, str]:
    """A CN contest one bar in, a member with an entry, and a symbol to trade."""
    contest = cn_contest(uow)
    member = make_user()
    services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    return contest, member, symbols(uow, contest)[0]


def symbols(uow: EngineUnitOfWork, contest_id: int) -> tuple[str, ...]:
    return services.venue(uow, contest_id).universe


def test_orders_are_refused_before_the_first_bar(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest = cn_contest(uow)
    member = make_user()
    services.open_account(uow, contest, member.id)
    with pytest.raises(OrderRefused) as caught:
        order_desk.place_order(uow, contest, member.id, request(symbol=symbols(uow, contest)[0]))
    assert caught.value.reason is Reason.OUTSIDE_TRADING_WINDOW


def test_a_market_order_fills_on_the_next_bar_and_books_balance(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest, member, symbol = trading_member(uow, make_user)
    order = order_desk.place_order(uow, contest, member.id, request(symbol=symbol, qty="1000"))
    assert order.status is OrderStatus.NEW and order.reserved_cash > 0
    report = clock.advance_clock(uow, contest)
    assert report.fills == 1
    filled = services.get_order(uow, contest, member.id, order.id)
    assert filled.status is OrderStatus.FILLED and filled.filled_qty == 1000
    summary = views.account_summary(uow, contest, member.id)
    assert summary.reserved_cash == 0
    assert summary.cash == D(1_000_000) - filled.filled_value - filled.fees
    assert summary.equity == summary.cash + summary.positions_value
    assert summary.statistics.trade_count == 1
    [position] = views.positions(uow, contest, member.id)
    assert position.qty == 1000 and position.sellable_qty == 1000
    history = views.portfolio_history(uow, contest, member.id)
    assert len(history) == 2  # the first close and the fill day
    assert services.check_books(uow, contest) == []


def test_client_order_id_is_idempotent_and_conflicts_on_other_fields(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest, member, symbol = trading_member(uow, make_user)
    first = order_desk.place_order(
        uow, contest, member.id, _with_client_id(request(symbol=symbol), "abc-1")
    )
    again = order_desk.place_order(
        uow, contest, member.id, _with_client_id(request(symbol=symbol), "abc-1")
    )
    assert again.id == first.id
    with pytest.raises(Conflict):
        order_desk.place_order(
            uow, contest, member.id, _with_client_id(request(symbol=symbol, qty="200"), "abc-1")
        )
    orders, _ = services.list_orders(uow, contest, member.id)
    assert [o.id for o in orders] == [first.id]


def _with_client_id(req: OrderRequest, client_id: str) -> OrderRequest:
    return replace(req, client_order_id=client_id)


def test_a_refused_order_writes_nothing(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest, member, symbol = trading_member(uow, make_user)
    for bad in (
        request(symbol=symbol, qty="150"),
        request(symbol="NOPE"),
        request(symbol=symbol, qty="100000000"),
    ):
        with pytest.raises(OrderRefused):
            order_desk.place_order(uow, contest, member.id, bad)
    assert services.list_orders(uow, contest, member.id) == ([], None)
    assert views.account_summary(uow, contest, member.id).cash == D(1_000_000)


def test_cancel_releases_buying_power_and_a_second_cancel_conflicts(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest, member, symbol = trading_member(uow, make_user)
    order = order_desk.place_order(
        uow, contest, member.id, request(symbol=symbol, qty="1000", tif="gtc")
    )
    before = views.account_summary(uow, contest, member.id).buying_power
    services.cancel_order(uow, contest, member.id, order.id)
    after = views.account_summary(uow, contest, member.id).buying_power
    assert after - before == order.reserved_cash
    with pytest.raises(Conflict):
        services.cancel_order(uow, contest, member.id, order.id)


def test_members_cannot_see_each_others_orders(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest = cn_contest(uow)
    alice, bob = make_user(), make_user()
    for m in (alice, bob):
        services.open_account(uow, contest, m.id)
    clock.advance_clock(uow, contest)
    order = order_desk.place_order(uow, contest, alice.id, request(symbol=symbols(uow, contest)[0]))
    with pytest.raises(NotFound):
        services.get_order(uow, contest, bob.id, order.id)
    with pytest.raises(NotFound):
        services.cancel_order(uow, contest, bob.id, order.id)


def test_clock_stops_at_the_end_of_the_window_and_cancels_open_orders(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest = cn_contest(uow, days=6, end=date(2024, 1, 8))  # six weekdays
    member = make_user()
    services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest, bars=5)
    symbol = symbols(uow, contest)[0]
    order = order_desk.place_order(
        uow,
        contest,
        member.id,
        request(symbol=symbol, type="limit", limit=_far_below(uow, contest, symbol), tif="gtc"),
    )
    report = clock.advance_clock(uow, contest, bars=10)
    assert len(report.days) == 1 and report.finished
    assert services.get_order(uow, contest, member.id, order.id).reason is Reason.CONTEST_ENDED
    with pytest.raises(OrderRefused) as caught:
        order_desk.place_order(uow, contest, member.id, request(symbol=symbol))
    assert caught.value.reason is Reason.OUTSIDE_TRADING_WINDOW


def _far_below(uow: EngineUnitOfWork, contest: int, symbol: str) -> str:
    with uow.reading():
        v = venue_lookup.venue_of(uow.trading.contest(contest))  # type: ignore[arg-type]
        close = uow.market.bars_on(v.clock_day, [symbol])[symbol].close  # type: ignore[arg-type]
    return str((close * D("0.91")).quantize(D("0.01")))


def test_first_fill_fires_the_referral_reward_once(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    inviter, invitee = make_user(), make_user()
    engagement.record_referral(uow, inviter_id=inviter.id, invitee_id=invitee.id)
    contest = cn_contest(uow)
    services.open_account(uow, contest, invitee.id)
    clock.advance_clock(uow, contest)
    symbol = symbols(uow, contest)[0]
    order_desk.place_order(uow, contest, invitee.id, request(symbol=symbol))
    order_desk.place_order(uow, contest, invitee.id, request(symbol=symbol))
    clock.advance_clock(uow, contest, bars=2)
    rules = engagement.current_rules(uow)
    assert balance(uow, points_account(inviter.id), POINTS).posted == rules.referral_inviter.points


def test_same_orders_on_two_databases_of_the_same_market_give_the_same_books(
    database: Database, make_user: Callable[..., User]
) -> None:
    """Determinism through the services: a second contest on the same bars, same orders."""
    uow = EngineUnitOfWork(database.sessions)
    first = cn_contest(uow)
    second = services.create_venue(
        uow,
        title="copy",
        market=Market.CN,
        universe=list(symbols(uow, first)),
        starting_cash=D(1_000_000),
        trading_start=START,
        trading_end=date(2024, 12, 31),
    ).contest_id
    member = make_user()
    for contest in (first, second):
        services.open_account(uow, contest, member.id)
        clock.advance_clock(uow, contest)
        for i, symbol in enumerate(symbols(uow, contest)):
            order_desk.place_order(
                uow, contest, member.id, request(symbol=symbol, qty=str(100 * (i + 1)), tif="gtc")
            )
        clock.advance_clock(uow, contest, bars=5)
    a = views.portfolio_history(uow, first, member.id)
    b = views.portfolio_history(uow, second, member.id)
    assert a == b and len(a) == 6


def test_a_batch_judges_each_order_as_place_order_would_and_refusals_write_nothing(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    contest, rich, symbol = trading_member(uow, make_user)
    outsider = make_user()
    summary = views.account_summary(uow, contest, rich.id)
    close = services.visible_bars(uow, symbol, start=START, end=date(2100, 1, 1))[-1].close
    limit = str(close)
    lots = int(summary.buying_power / close / 100)  # whole lots the cash buys at the close
    outcomes = order_desk.place_orders(
        uow,
        contest,
        [
            (
                rich.id,
                replace(request(symbol=symbol, type="limit", limit=limit), qty=D(lots // 2 * 100)),
            ),
            (rich.id, request(symbol=symbol, qty="150")),  # lot size
            (outsider.id, request(symbol=symbol)),  # no entry
            # Reserves on top of the first order: more than the rest of the buying power.
            (
                rich.id,
                replace(
                    request(symbol=symbol, type="limit", limit=limit),
                    qty=D((lots - lots // 2 + 1) * 100),
                ),
            ),
            (rich.id, replace(request(symbol=symbol, qty="100"), client_order_id="x-1")),
        ],
    )
    assert isinstance(outcomes[0], Order)
    assert isinstance(outcomes[1], OrderRefused) and outcomes[1].reason is Reason.LOT_SIZE
    assert isinstance(outcomes[2], NotFound)
    assert isinstance(outcomes[3], OrderRefused)
    assert outcomes[3].reason is Reason.INSUFFICIENT_BUYING_POWER
    assert isinstance(outcomes[4], Order)
    stored, _ = services.list_orders(uow, contest, rich.id)
    assert sorted(o.id for o in stored) == sorted(o.id for o in (outcomes[0], outcomes[4]))
    again = replace(request(symbol=symbol, qty="100"), client_order_id="x-1")
    replay = order_desk.place_orders(uow, contest, [(rich.id, again)])
    assert replay == [outcomes[4]]

"""The clock keeps each contest's books (cash, holdings) between ticks in the process; a tick
that starts from them marks and books exactly as one that reads everything from the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from core.db import Database
from core.users.model import User
from engine import clock
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.trading import order_desk, services, views
from engine.trading.orders import Side
from engine.uow import EngineUnitOfWork
from tests.engine_builders import request

START = date(2024, 1, 1)


def venue(uow: EngineUnitOfWork, universe: list[str], title: str) -> int:
    return services.create_venue(
        uow,
        title=title,
        market=Market.CN,
        universe=universe,
        starting_cash=Decimal(1_000_000),
        trading_start=START,
        trading_end=date(2024, 12, 31),
    ).contest_id


def play(
    uow: EngineUnitOfWork, contest: int, members: list[User], late: User, *, cold: bool
) -> None:
    """Eight bars of buys and sells, a member joining half-way; ``cold``: every tick reads
    the books from the database."""
    symbols = services.venue(uow, contest).universe
    for member in members:
        services.open_account(uow, contest, member.id)
    for bar in range(8):
        if cold:
            uow.caches.books.clear()
        clock.advance_clock(uow, contest)
        if bar == 4:
            services.open_account(uow, contest, late.id)
        traders = [*members, late] if bar >= 4 else members
        for n, member in enumerate(traders):
            symbol = symbols[(n + bar) % len(symbols)]
            held = {p.symbol: p.sellable_qty for p in views.positions(uow, contest, member.id)}
            sellable = [s for s, qty in held.items() if qty >= 100]
            if bar % 3 == 2 and sellable:
                order_desk.place_order(
                    uow, contest, member.id, request(symbol=sellable[0], side=Side.SELL.value)
                )
            else:
                order_desk.place_order(uow, contest, member.id, request(symbol=symbol, qty="200"))


def test_ticks_from_the_kept_books_equal_ticks_that_read_everything(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    instruments = install_synthetic(uow, Market.CN, count=5, seed=3, start=START, days=20)  # type: ignore[arg-type]
    universe = [i.symbol for i in instruments]
    members, late = [make_user() for _ in range(3)], make_user()
    warm, cold = venue(uow, universe, "warm"), venue(uow, universe, "cold")
    play(uow, warm, members, late, cold=False)
    play(uow, cold, members, late, cold=True)
    for member in [*members, late]:
        a = views.portfolio_history(uow, warm, member.id)
        b = views.portfolio_history(uow, cold, member.id)
        assert a == b and a
        assert views.account_summary(uow, warm, member.id).cash == (
            views.account_summary(uow, cold, member.id).cash
        )
    assert services.check_books(uow, warm) == services.check_books(uow, cold) == []

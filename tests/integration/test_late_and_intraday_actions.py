"""Corporate actions a contest's clock would miss: one imported after a running contest has
traded past its ex-date is refused (rule ``ex_date_passed``, nothing stored), and a minute
contest applies an action at the first tick of its ex-date's session, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from core.errors import RuleViolation
from core.users.model import User
from engine import clock
from engine.intraday_clock import run_intraday_tick
from engine.market.corporate_actions import dividend, split
from engine.market.intraday_services import install_synthetic_intraday
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.trading import late_actions, order_desk, services, store_orders, views
from engine.trading.orders import OrderStatus, Reason
from engine.uow import EngineUnitOfWork
from tests.corporate_builders import (
    ACTIONS,
    ACTIONS_CSV,
    SYMBOL,
    contest_on_it,
    install_market,
)
from tests.engine_builders import request

MINUTE = timedelta(minutes=1)


def test_an_action_imported_after_a_running_contest_passed_its_ex_date_is_refused(
    database: Database, db_url: str, make_user: Callable[..., User], tmp_path: Path
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    install_market(uow, with_actions=False)
    contest = contest_on_it(uow)
    services.open_account(uow, contest, make_user().id)
    for _ in range(3):  # 01-02, 01-03, 01-04 (the ex-date) revealed
        clock.advance_clock(uow, contest)
    with pytest.raises(RuleViolation) as late:
        late_actions.store_actions(uow, ACTIONS, source="csv")
    assert (late.value.field, late.value.rule) == ("ex_date", "ex_date_passed")
    assert f"contest {contest}" in str(late.value)
    with uow.reading():
        assert uow.market.actions_of(SYMBOL) == []  # all or nothing
    path = tmp_path / "actions.csv"
    path.write_text(ACTIONS_CSV)
    cli_import = ["market", "actions", "import", str(path), "--database-url", db_url]
    refused = CliRunner().invoke(cli, cli_import)
    assert refused.exit_code == 1 and "ex-date" in refused.output

    # An action still ahead of the clock is stored, and storing it again is no refusal.
    ahead = [dividend(SYMBOL, date(2024, 1, 5), Decimal("0.10"))]
    assert late_actions.store_actions(uow, ahead, source="csv") == 1
    assert late_actions.store_actions(uow, ahead, source="csv") == 0


def test_a_minute_contest_applies_a_split_at_its_ex_sessions_first_tick_once(
    database: Database, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(
        uow, Market.CN, count=1, seed=3, start=date(2024, 3, 4), sessions=2
    )
    first_day, ex_day = done.days
    symbol = done.instruments[0].symbol
    calendar = sessions_for(Market.CN)
    contest = services.create_venue(
        uow,
        title="split minutes",
        market=Market.CN,
        universe=[symbol],
        starting_cash=Decimal(1_000_000),
        trading_start=first_day,
        trading_end=ex_day,
        bar_interval="minute",
    ).contest_id
    member = make_user()
    services.open_account(uow, contest, member.id)
    session, ex_session = calendar.session(first_day), calendar.session(ex_day)
    assert session is not None and ex_session is not None
    minutes = session.minutes()

    def at(moment: datetime) -> None:
        for module in (order_desk, store_orders):
            monkeypatch.setattr(module, "utc_now", lambda: moment)

    run_intraday_tick(uow, contest, minutes[0], now=minutes[1])
    at(minutes[1] + timedelta(seconds=5))
    order_desk.place_order(uow, contest, member.id, request(symbol=symbol, qty="1000"))
    with uow.reading():
        low = min(b.low for b in uow.minutes.minute_bars_of_day([symbol], first_day))
    floor = (low * Decimal("0.95")).quantize(Decimal("0.01"))
    resting = order_desk.place_order(
        uow,
        contest,
        member.id,
        request(symbol=symbol, qty="100", type="limit", limit=str(floor), tif="gtc"),
    )
    for minute in minutes[1:]:
        run_intraday_tick(uow, contest, minute, now=minute + MINUTE)
    [bought] = views.positions(uow, contest, member.id)
    assert bought.qty == 1000
    # Imported before its ex-date (the clock is at the first session): accepted.
    assert late_actions.store_actions(uow, [split(symbol, ex_day, Fraction(2))], source="csv")

    opening = ex_session.open
    tick = run_intraday_tick(uow, contest, opening, now=opening + MINUTE)
    assert tick.ran
    [position] = views.positions(uow, contest, member.id)
    assert position.qty == 2000 and position.cost_basis == bought.cost_basis
    canceled = services.get_order(uow, contest, member.id, resting.id)
    assert (canceled.status, canceled.reason) == (OrderStatus.CANCELED, Reason.CORPORATE_ACTION)
    # The session's later minutes apply nothing more.
    run_intraday_tick(uow, contest, opening + MINUTE, now=opening + 2 * MINUTE)
    assert [p.qty for p in views.positions(uow, contest, member.id)] == [2000]
    assert services.check_books(uow, contest) == []

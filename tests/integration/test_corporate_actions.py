"""Corporate actions on both databases: imported once, applied once on the ex-date to every
holder, open orders in a split symbol canceled, and an equity curve with no fake loss."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import market as cli_market
from api.cli.main import cli
from core.db import Database
from core.users.model import User
from engine import clock
from engine.market.corporate_actions import ActionKind, InvalidCorporateAction, split
from engine.market.model import Board, Market, UnknownSymbol
from engine.market.services import (
    MarketUnitOfWork,
    import_actions_csv,
    import_csv,
    store_actions,
)
from engine.trading import order_desk, services, views
from engine.trading.corporate import apply_actions_on
from engine.trading.orders import OrderStatus, Reason
from engine.trading.venue import require_contest, venue_of
from engine.uow import EngineUnitOfWork
from tests.corporate_builders import (
    ACTIONS,
    ACTIONS_CSV,
    BARS,
    EX_DATE,
    SYMBOL,
    contest_on_it,
    install_market,
)
from tests.engine_builders import request, us_stock
from tests.yahoo import offline_source, recorded

D = Decimal


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


def test_a_split_and_dividend_are_booked_once_with_no_fake_loss(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    install_market(uow)
    contest = contest_on_it(uow)
    holder, bystander = make_user(), make_user()
    for member in (holder, bystander):
        services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)  # 01-02 revealed
    order_desk.place_order(uow, contest, holder.id, request(symbol=SYMBOL, qty="1000"))
    clock.advance_clock(uow, contest)  # 01-03: bought 1000 at the open
    resting = order_desk.place_order(
        uow,
        contest,
        holder.id,
        request(symbol=SYMBOL, qty="100", type="limit", limit="12.50", tif="gtc"),
    )
    before = views.account_summary(uow, contest, holder.id)
    [bought] = views.positions(uow, contest, holder.id)

    clock.advance_clock(uow, contest)  # 01-04: the ex-date

    after = views.account_summary(uow, contest, holder.id)
    [position] = views.positions(uow, contest, holder.id)
    assert position.qty == 1300  # 10送3: whole shares, nothing in lieu
    assert after.cash == before.cash + D("500.00")  # 1000 × 0.50, pre-tax
    assert position.cost_basis == bought.cost_basis  # the same cost over more shares
    # Flat at the reference price: the equity curve is continuous across the ex-date.
    history = views.portfolio_history(uow, contest, holder.id)
    equity = [e for _, _, e in history]
    assert equity[-2] == equity[-1] == before.equity
    canceled = services.get_order(uow, contest, holder.id, resting.id)
    assert (canceled.status, canceled.reason) == (OrderStatus.CANCELED, Reason.CORPORATE_ACTION)
    assert views.account_summary(uow, contest, bystander.id).cash == D(100_000)
    assert services.check_books(uow, contest) == []

    # Applying the day's actions again (a retried tick, a second worker) changes nothing.
    with uow:
        row = require_contest(uow, contest, lock=True)
        apply_actions_on(uow, venue_of(row), EX_DATE, {SYMBOL: D("13.50")})
        uow.commit()
    assert views.account_summary(uow, contest, holder.id).cash == after.cash
    assert [p.qty for p in views.positions(uow, contest, holder.id)] == [1300]

    clock.advance_clock(uow, contest)  # 01-05: the day after, nothing more applied
    assert views.account_summary(uow, contest, holder.id).cash == after.cash
    assert services.check_books(uow, contest) == []


def test_cash_in_lieu_for_a_fraction_keeps_the_books_derived(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    install_market(uow, with_actions=False)
    store_actions(uow, [split(SYMBOL, EX_DATE, Fraction(4, 3))], source="csv")  # type: ignore[arg-type]
    contest = contest_on_it(uow)
    member = make_user()
    services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    order_desk.place_order(uow, contest, member.id, request(symbol=SYMBOL, qty="1000"))
    clock.advance_clock(uow, contest)
    before = views.account_summary(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    [position] = views.positions(uow, contest, member.id)
    assert position.qty == 1333  # 1333.33… whole shares; a third of a share in lieu
    reference = (D("13.50") * 3 / 4).quantize(D("0.01"), ROUND_HALF_UP)  # 10.13, as exchanges
    in_lieu = (D("0.333333333") * reference).quantize(D("0.01"))
    assert views.account_summary(uow, contest, member.id).cash == before.cash + in_lieu
    assert services.check_books(uow, contest) == []


def test_csv_import_is_all_or_nothing_and_refuses_unknown_symbols(uow: EngineUnitOfWork) -> None:
    install_market(uow, with_actions=False)
    market: MarketUnitOfWork = uow  # type: ignore[assignment]
    with pytest.raises(UnknownSymbol):
        import_actions_csv(market, ACTIONS_CSV + "NOPE.SS,2024-01-04,dividend,1,\n")
    with pytest.raises(InvalidCorporateAction) as caught:
        import_actions_csv(market, ACTIONS_CSV + f"{SYMBOL},2024-01-05,split,,1\n")
    assert (caught.value.field, caught.value.rule) == ("ratio", "range")
    with uow.reading():
        assert uow.market.actions_of(SYMBOL) == []
    assert import_actions_csv(market, ACTIONS_CSV) == 2
    assert import_actions_csv(market, ACTIONS_CSV) == 0  # stored once, never replaced
    with uow.reading():
        stored = uow.market.actions_of(SYMBOL)
    assert stored == ACTIONS and [a.kind for a in stored] == [ActionKind.DIVIDEND, ActionKind.SPLIT]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_cli_imports_and_fetches_actions_and_exits_2_on_a_bad_file(
    db_url: str, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    install_market(uow, with_actions=False)
    runner = CliRunner()
    good = tmp_path / "actions.csv"
    good.write_text(ACTIONS_CSV)
    result = runner.invoke(
        cli, ["market", "actions", "import", str(good), "--database-url", db_url]
    )
    assert result.exit_code == 0, result.output
    assert "stored 2 new corporate actions" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,ex_date,kind,ratio\n600000.SS,2024-13-01,split,2\n")
    result = runner.invoke(cli, ["market", "actions", "import", str(bad), "--database-url", db_url])
    assert result.exit_code == 2 and "rule date" in result.output

    with uow:
        uow.market.add_instruments([us_stock("NVDA")])
        uow.commit()
    source, _ = offline_source({"NVDA": [recorded("nvda_actions_chart.json")]}, tmp_path)
    monkeypatch.setattr(cli_market, "make_actions_source", lambda: source)
    args = ["market", "actions", "fetch", "NVDA", "ZZZNOPE", "--start", "2024-01-01"]
    result = runner.invoke(
        cli, [*args, "--end", "2024-12-31", "--as-traded", "--database-url", db_url]
    )
    assert result.exit_code == 1  # ZZZNOPE failed; NVDA is stored
    assert "NVDA: 3 actions, 3 new" in result.output and "ZZZNOPE: error" in result.output
    with uow.reading():
        assert [a.kind for a in uow.market.actions_of("NVDA")] == [
            ActionKind.DIVIDEND,
            ActionKind.SPLIT,
            ActionKind.DIVIDEND,
        ]


def test_a_symbol_suspended_across_its_split_is_marked_at_the_carried_price(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    install_market(uow, with_actions=False)  # SYMBOL trades every day: the calendar
    halted = "600002.SS"
    two_days = "\n".join(BARS.splitlines()[:3]) + "\n"  # 01-02 and 01-03, then suspended
    import_csv(uow, two_days, symbol=halted, market=Market.CN, name="HALT", board=Board.MAIN)  # type: ignore[arg-type]
    store_actions(uow, [split(halted, EX_DATE, Fraction(2))], source="csv")  # type: ignore[arg-type]
    venue = services.create_venue(
        uow,
        title="halted",
        market=Market.CN,
        universe=[SYMBOL, halted],
        starting_cash=D(100_000),
        trading_start=date(2024, 1, 2),
        trading_end=date(2024, 1, 5),
    )
    contest, member = venue.contest_id, make_user()
    services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    order_desk.place_order(uow, contest, member.id, request(symbol=halted, qty="1000"))
    clock.advance_clock(uow, contest)
    before = views.account_summary(uow, contest, member.id).equity
    clock.advance_clock(uow, contest, bars=2)  # the ex-date and the day after, both halted
    assert [p.qty for p in views.positions(uow, contest, member.id)] == [2000]
    summary = views.account_summary(uow, contest, member.id)
    assert summary.positions_value == 2000 * D("6.75")  # 13.50 carried over the 2:1 split
    assert [e for _, _, e in views.portfolio_history(uow, contest, member.id)][-3:] == [before] * 3

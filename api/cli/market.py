"""``paperleague market``: import bars from CSV, fetch them from Yahoo, install synthetic ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from core.errors import DomainError
from engine.market.corporate_actions import InvalidCorporateAction
from engine.market.intraday_services import (
    derive_daily_bars,
    install_synthetic_intraday,
    store_minute_bars,
)
from engine.market.model import Board, InvalidBars, Market, PriceSource, cn_board, instrument_for
from engine.market.services import (
    MarketUnitOfWork,
    ensure_bars,
    import_csv,
    install_synthetic,
)
from engine.market.sessions import sessions_for
from engine.market.tape import parse_minute_bars
from engine.trading.late_actions import import_actions_csv, store_actions
from engine.trading.uow import TradingUnitOfWork

if TYPE_CHECKING:
    from engine.market.yfinance_source import YFinanceSource

market_cli = typer.Typer(
    help="Market data: instruments, daily and minute bars, corporate actions.", no_args_is_help=True
)
actions_cli = typer.Typer(
    help="Corporate actions (dividends, splits / 送转) applied on their ex-dates.",
    no_args_is_help=True,
)
market_cli.add_typer(actions_cli, name="actions")

# Exit status of a refused import (invalid file), as for other usage errors.
EXIT_INVALID = 2

Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD.")]


def make_actions_source() -> YFinanceSource:
    """The source of ``market actions fetch`` (tests replace it with an offline one)."""
    from engine.market.yfinance_source import YFinanceSource

    return YFinanceSource()


def make_source(*, auto_adjust: bool) -> PriceSource:
    """The remote price source of ``market fetch`` (tests replace it with an offline one)."""
    from engine.market.yfinance_source import YFinanceSource

    return YFinanceSource(auto_adjust=auto_adjust)


@contextmanager
def _market(database_url: str | None) -> Iterator[MarketUnitOfWork]:
    """The market data of an existing database; refuses (exit 1) a schema not at head."""
    with at_head(settings(database_url)) as database:
        yield MarketUnitOfWork(database.sessions)


@contextmanager
def _actions(database_url: str | None) -> Iterator[TradingUnitOfWork]:
    """Market data and the contests' clocks: corporate actions are checked against both."""
    with at_head(settings(database_url)) as database:
        yield TradingUnitOfWork(database.sessions)


@market_cli.command("import")
def market_import(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="CSV: date,open,high,low,close,volume"),
    ],
    symbol: Annotated[str, typer.Option(help="The symbol the bars belong to.")],
    market: Annotated[
        Market | None,
        typer.Option(help="Default: CN for .SS/.SZ/.BJ symbols, else US.", show_default=False),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Instrument name.")] = None,
    board: Annotated[
        Board | None,
        typer.Option(
            help="Listing board (CN price limit). Default: from the code.", show_default=False
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import daily bars from a CSV file; all or nothing (exit 2 on an invalid row)."""
    inferred = instrument_for(symbol, source="csv", name=name)
    market = market or inferred.market
    if board is None:
        board = cn_board(symbol.split(".", 1)[0], name or "") if market is Market.CN else Board.MAIN
    with _market(database_url) as uow:
        try:
            stored = import_csv(uow, file, symbol=symbol, market=market, name=name, board=board)
        except InvalidBars as exc:
            typer.echo(f"error: {exc.detail} (rule {exc.rule}); nothing stored", err=True)
            raise typer.Exit(EXIT_INVALID) from exc
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}; nothing stored", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"stored {stored} new bars for {symbol} ({market.value}, {board.value})")


@market_cli.command("fetch")
def market_fetch(
    symbols: Annotated[list[str], typer.Argument(help="Yahoo symbols, e.g. AAPL 600519.SS")],
    start: Day,
    end: Day,
    auto_adjust: Annotated[
        bool,
        typer.Option(
            "--auto-adjust/--no-auto-adjust",
            help="Split/dividend-adjusted prices (stored as source yfinance-adjusted).",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Fetch daily bars from Yahoo Finance into the cache; only days not fetched before.

    Exit status 1 when any symbol failed (the others are stored)."""
    if end < start:
        raise typer.BadParameter("--end is before --start")
    source = make_source(auto_adjust=auto_adjust)
    with _market(database_url) as uow:
        report = ensure_bars(uow, source, symbols, start.date(), end.date())
    for result in report.results:
        if result.error is not None:
            typer.echo(f"{result.symbol}: error: {result.error.detail}")
        elif result.requested is None:
            typer.echo(f"{result.symbol}: cached, nothing to fetch")
        else:
            first, last = result.requested
            typer.echo(f"{result.symbol}: {result.stored} new bars ({first} .. {last})")
    failed = len(report.failures)
    typer.echo(
        f"{report.source}: {report.stored} bars stored, {failed} of {len(report.results)} failed"
    )
    if failed:
        raise typer.Exit(1)


@market_cli.command("synth")
def market_synth(
    market: Annotated[Market, typer.Option(help="CN or US.")],
    count: Annotated[int, typer.Option(min=1, max=10_000, help="Number of instruments.")] = 50,
    seed: Annotated[int, typer.Option(help="Same seed, same market.")] = 0,
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")
    ] = datetime(2024, 1, 1),
    days: Annotated[int, typer.Option(min=1, max=5_000, help="Trading days (weekdays).")] = 250,
    database_url: DatabaseUrl = None,
) -> None:
    """Install a seeded synthetic market (SIM- symbols) with its daily bars."""
    with _market(database_url) as uow:
        instruments = install_synthetic(
            uow, market, count=count, seed=seed, start=start.date(), days=days
        )
    first, last = instruments[0].symbol, instruments[-1].symbol
    typer.echo(
        f"installed {len(instruments)} {market.value} instruments ({first} .. {last}) "
        f"with {len(instruments) * days} bars from {start.date()} (seed {seed})"
    )


@market_cli.command("intraday")
def market_intraday(
    market: Annotated[Market, typer.Option(help="CN (XSHG sessions) or US (XNYS).")] = Market.CN,
    count: Annotated[int, typer.Option(min=1, max=500, help="Number of instruments.")] = 10,
    seed: Annotated[int, typer.Option(help="Same seed, same minutes.")] = 0,
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")
    ] = datetime(2024, 10, 8),
    sessions: Annotated[int, typer.Option(min=1, max=20, help="Exchange sessions.")] = 3,
    tape: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Store this tape CSV (symbol,start,open,high,low,close,volume) instead.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Store minute bars (a seeded synthetic intraday market, or a recorded tape) and the
    daily bars derived from them."""
    with _market(database_url) as uow:
        try:
            if tape is not None:
                minutes, daily, days = _store_tape(uow, tape.read_text(encoding="utf-8-sig"))
                what = f"tape {tape.name}"
            else:
                done = install_synthetic_intraday(
                    uow, market, count=count, seed=seed, start=start.date(), sessions=sessions
                )
                minutes, daily, days = done.minute_bars, done.daily_bars, done.days
                what = f"{count} synthetic {market.value} instruments (seed {seed})"
        except InvalidBars as exc:
            typer.echo(f"error: {exc.detail} (rule {exc.rule}); nothing stored", err=True)
            raise typer.Exit(EXIT_INVALID) from exc
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}; nothing stored", err=True)
            raise typer.Exit(1) from exc
    span = f"{days[0]} .. {days[-1]}" if days else "no sessions"
    typer.echo(f"{what}: {minutes} new minute bars, {daily} new daily bars ({span})")


def _store_tape(uow: MarketUnitOfWork, text: str) -> tuple[int, int, tuple[date, ...]]:
    bars = parse_minute_bars(text)
    symbols = sorted({b.symbol for b in bars})
    with uow:
        known = uow.market.instruments_of(symbols)
        uow.market.add_instruments(
            instrument_for(s, source="tape") for s in symbols if s not in known
        )
        uow.commit()
    minutes = store_minute_bars(uow, bars, source="tape")
    with uow.reading():
        instruments = uow.market.instruments_of(symbols)
    days = sorted({sessions_for(instruments[b.symbol].market).local_day(b.start) for b in bars})
    daily = sum(derive_daily_bars(uow, symbols, day) for day in days)
    return minutes, daily, tuple(days)


@actions_cli.command("import")
def actions_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV: symbol,ex_date,kind,cash_per_share,ratio"
        ),
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Import dividends and splits from a CSV file; all or nothing (exit 2 on an invalid row;
    exit 1 when a running contest has already traded past an action's ex-date)."""
    with _actions(database_url) as uow:
        try:
            stored = import_actions_csv(uow, file)
        except InvalidCorporateAction as exc:
            typer.echo(f"error: {exc.detail} (rule {exc.rule}); nothing stored", err=True)
            raise typer.Exit(EXIT_INVALID) from exc
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}; nothing stored", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"stored {stored} new corporate actions")


@actions_cli.command("fetch")
def actions_fetch(
    symbols: Annotated[list[str], typer.Argument(help="Yahoo symbols, e.g. AAPL 600519.SS")],
    start: Day,
    end: Day,
    as_traded: Annotated[
        bool,
        typer.Option(
            "--as-traded/--yahoo-adjusted",
            help="Also splits, dividends as paid then: for bars as traded from another "
            "vendor. Default: dividends only, split-adjusted like Yahoo's own bars.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Fetch dividends (and splits) from Yahoo Finance; exit 1 when any symbol failed."""
    if end < start:
        raise typer.BadParameter("--end is before --start")
    source = make_actions_source()
    failed = 0
    with _actions(database_url) as uow:
        for symbol in symbols:
            try:
                found = source.actions(symbol, start.date(), end.date(), as_traded=as_traded)
                stored = store_actions(uow, found, source=source.name)
            except DomainError as exc:
                failed += 1
                typer.echo(f"{symbol}: error: {exc.detail}")
                continue
            typer.echo(f"{symbol}: {len(found)} actions, {stored} new")
    if failed:
        raise typer.Exit(1)

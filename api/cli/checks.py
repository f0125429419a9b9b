"""``paperleague check``: run every invariant check over a database, print the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.checks import CheckContext, run_checks
from api.cli.database import DatabaseUrl, at_head, settings
from api.http.schemas.checks import CheckReportOut
from contracts.chain import chain_for
from contracts.chain_reader import OnChainReader
from contracts.verification import ChainReader
from core.checks import CheckReport
from core.config import Settings

AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def check(database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
    """Run every invariant check (stored derived state against its derivation).

    Exit status: 0 when all hold, 1 when any fails (or the schema is not at head)."""
    found = settings(database_url)
    with at_head(found) as database:
        report = run_checks(CheckContext(database.sessions, chain=chain_of(found)))
    if as_json:
        typer.echo(CheckReportOut.of(report).model_dump_json(indent=2))
    else:
        print_report(report, Console(width=120))
    if not report.ok:
        raise typer.Exit(1)


def chain_of(settings: Settings) -> Callable[[], ChainReader] | None:
    """The configured chain node, if any. The in-process chain is not one here: a new process
    has a new, empty one, which holds no anchor of this database."""
    if settings.chain_rpc_url is None:
        return None
    return lambda: OnChainReader(chain_for(settings))


def print_report(report: CheckReport, console: Console) -> None:
    table = Table("check", "ok", "problems", "seconds")
    for result in report.results:
        table.add_row(
            result.name,
            "ok" if result.ok else "[bold red]FAIL[/]",
            str(result.problem_count),
            f"{result.seconds:.3f}",
        )
    console.print(table)
    for result in report.failed:
        console.print(f"{result.name}: {result.description}", highlight=False, markup=False)
        for problem in result.problems:
            console.print(f"  {problem}", highlight=False, markup=False)
        if result.unlisted:
            console.print(f"  … and {result.unlisted} more")
    console.print(report.verdict(), highlight=False, markup=False)

"""``paperleague simulate``: a whole season on embedded defaults (SQLite, the in-process chain,
the synthetic market), or on a database and chain node of your choosing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.checks import registered_checks
from core.errors import DomainError
from simulation import MarketChoice, SimulationConfig, simulate
from simulation.summary import summary_lines

_DEFAULTS = SimulationConfig()


def simulate_season(
    members: Annotated[int, typer.Option(min=10, help="Members in the season.")] = (
        _DEFAULTS.members
    ),
    teams: Annotated[int, typer.Option(min=2, help="Teams for the PK rounds.")] = _DEFAULTS.teams,
    days: Annotated[int, typer.Option(min=10, help="Trading days.")] = _DEFAULTS.days,
    market: Annotated[
        MarketChoice, typer.Option(help="Contests on A-share rules, US rules, or one of each.")
    ] = _DEFAULTS.market,
    seed: Annotated[int, typer.Option(help="Same seed, same season (and digest).")] = (
        _DEFAULTS.seed
    ),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="An empty database to use (default: a fresh SQLite file in the output directory).",
            show_default=False,
        ),
    ] = None,
    chain_rpc_url: Annotated[
        str | None,
        typer.Option(
            "--chain-rpc-url",
            help="JSON-RPC URL of a chain node (default: a fresh in-process chain).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option(file_okay=False, help="Directory for the report (and the database).")
    ] = _DEFAULTS.output,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Simulate a season: sign-ups, check-ins, contests, PK, settlement, rewards, certificates;
    print the summary and the digest, and write the operator report."""
    config = SimulationConfig(
        members=members,
        teams=teams,
        days=days,
        market=market,
        seed=seed,
        database_url=database_url,
        chain_rpc_url=chain_rpc_url,
        output=output,
        progress=progress,
    )
    try:
        result = simulate(config, checks=registered_checks())
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    for line in summary_lines(result):
        typer.echo(line)
    if not (result.data.ledger.ok and result.data.checks.ok):
        raise typer.Exit(1)

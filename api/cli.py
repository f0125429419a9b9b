"""The ``paperleague`` command: serve, migrate the database, manage users, audit the ledger."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from api import cli_content, cli_simulate
from api.cli_contests import contest_cli
from api.cli_market import market_cli
from core import migrations
from core.config import Settings, get_settings
from core.db import Database
from core.errors import DomainError
from core.signing import SigningSecretError, with_signing_secret
from core.users import services
from core.users.model import Role
from ledger import services as ledger_services

if TYPE_CHECKING:
    import uvicorn

cli = typer.Typer(help="PaperLeague: contest-grade investment simulator.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
user_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
ledger_cli = typer.Typer(help="The points / XP / stock ledger.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(ledger_cli, name="ledger")
cli_content.install(cli)
cli.add_typer(market_cli, name="market")
cli.add_typer(contest_cli, name="contest")
cli_simulate.install(cli)

WORKER_HEALTHCHECK_SECONDS = 60

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides PAPERLEAGUE_DATABASE_URL.", show_default=False),
]


def _settings(database_url: str | None = None) -> Settings:
    try:
        settings = get_settings()
        if database_url:
            settings = Settings(**(settings.model_dump() | {"database_url": database_url}))
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return settings


def _database(settings: Settings) -> Database:
    return Database.connect(
        settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Apply migrations, then serve the HTTP API with uvicorn."""
    import uvicorn

    settings = _settings()
    logging.basicConfig(level=settings.log_level)
    try:
        # Before the workers start, so that a generated secret is generated (and logged) once.
        with_signing_secret(settings)
    except SigningSecretError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    database = _database(settings)
    migrations.upgrade(database.engine)
    database.dispose()
    if workers == 1:
        uvicorn.run(
            "api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            server_header=False,  # no "server: uvicorn" on every response
        )
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        server_header=False,
        # A worker answers the supervisor's health check only once it has imported this CLI
        # (its __main__) and the app: 4-6 s on a busy 2-core machine, past uvicorn's 5 s
        # default, after which the supervisor kills and restarts it, again and again.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    Multiprocess(config, sockets=[listening_socket(config)]).run()


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket uvicorn's workers share, with Nagle's algorithm off.

    uvicorn binds it without ``IPPROTO_TCP``, so asyncio does not set ``TCP_NODELAY`` on the
    connections the workers accept, and every keep-alive response waits ~40 ms for the client's
    delayed ACK (uvicorn issue #3149). Accepted connections inherit the option from here.
    """
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Upgrade the schema (to head by default)."""
    database = _database(_settings(database_url))
    migrations.upgrade(database.engine, revision)
    typer.echo(f"schema at {migrations.current_revision(database.engine)}")


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Downgrade the schema to REVISION."""
    database = _database(_settings(database_url))
    migrations.downgrade(database.engine, revision)
    typer.echo(f"schema at {migrations.current_revision(database.engine)}")


@db_cli.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Print the schema's revision and whether it is at head."""
    database = _database(_settings(database_url))
    current, head = migrations.current_revision(database.engine), migrations.head_revision()
    typer.echo(f"current {current} head {head}" + ("" if current == head else " (behind)"))


@user_cli.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[list[Role], typer.Option(help="Role to grant; repeat for several.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when omitted.",
        ),
    ],
    display_name: Annotated[str | None, typer.Option(help="Shown name.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user (e.g. an operator) with the given roles."""
    database = _database(_settings(database_url))
    migrations.upgrade(database.engine)
    try:
        user = services.create_user(
            services.UsersUnitOfWork(database.sessions),
            username=username,
            password=password,
            display_name=display_name,
            roles=role,
        )
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    roles = ",".join(sorted(user.roles))
    typer.echo(f"created user {user.id} {user.username} roles={roles}")


@contextmanager
def _ledger(database_url: str | None) -> Iterator[ledger_services.LedgerUnitOfWork]:
    """The ledger of an existing database; refuses (exit 1) a schema that is not at head."""
    database = _database(_settings(database_url))
    try:
        current, head = migrations.current_revision(database.engine), migrations.head_revision()
        if current != head:
            typer.echo(f"error: schema at {current}, head is {head}: run `paperleague db upgrade`")
            raise typer.Exit(1)
        yield ledger_services.LedgerUnitOfWork(database.sessions)
    finally:
        database.dispose()


@ledger_cli.command("verify")
def ledger_verify(database_url: DatabaseUrl = None) -> None:
    """Recompute the hash chain and every balance from the transfers; exit 1 on any mismatch."""
    with _ledger(database_url) as uow:
        report = ledger_services.verify(uow)
    if not report.ok:
        for error in report.errors:
            typer.echo(error)
        typer.echo(f"FAILED: {len(report.errors)} errors in {report.transfers} transfers")
        raise typer.Exit(1)
    typer.echo(f"ok: {report.transfers} transfers, head at seq {report.head_seq}")


@ledger_cli.command("trial-balance")
def ledger_trial_balance(database_url: DatabaseUrl = None) -> None:
    """Print posted and pending totals per asset (zero when sound); exit 1 if unbalanced."""
    with _ledger(database_url) as uow:
        trial = ledger_services.trial_balance(uow)
    for asset in sorted(trial.totals):
        typer.echo(f"{asset} posted {trial.totals[asset]} pending {trial.pending_totals[asset]}")
    verdict = "balanced" if trial.balanced else "UNBALANCED"
    typer.echo(f"{verdict}: {len(trial.totals)} assets, {len(trial.accounts)} balances")
    if not trial.balanced:
        raise typer.Exit(1)


@ledger_cli.command("expire")
def ledger_expire(database_url: DatabaseUrl = None) -> None:
    """Release lapsed holds and expire points per the earning rules (run it daily)."""
    from ledger import engagement

    with _ledger(database_url) as uow:
        holds = ledger_services.expire_holds(uow)
        with uow.reading():
            days = engagement.current_rules(uow).points_expiry_days
        expired = [] if days is None else ledger_services.expire_points(uow, days=days)
    typer.echo(f"released {len(holds)} lapsed holds")
    typer.echo(
        "points never expire (no points_expiry_days in the earning rules)"
        if days is None
        else f"expired {sum(t.amount for t in expired)} points from {len(expired)} members"
    )


def main() -> None:
    cli()

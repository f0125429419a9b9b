"""``paperleague webhooks``: deliver outbox events to the operators' webhook endpoints."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from core import webhooks
from core.outbox import RetryPolicy

webhooks_cli = typer.Typer(help="Webhooks: deliver outbox events.", no_args_is_help=True)

MaxAttemptsOption = typer.Option(
    "--max-attempts",
    min=1,
    max=100,
    help="Attempts before a delivery fails (default: PAPERLEAGUE_WEBHOOK_MAX_ATTEMPTS, 8).",
    show_default=False,
)
Timeout = Annotated[
    float, typer.Option("--timeout", min=0.1, max=120, help="Seconds to wait for an answer.")
]


@webhooks_cli.command("deliver")
def deliver(
    max_attempts: Annotated[int | None, MaxAttemptsOption] = None,
    timeout: Timeout = 10.0,
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep delivering until interrupted (Ctrl-C).")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Deliver what is due once through (fan out new events, send due attempts), or --loop."""
    found = settings(database_url)
    policy = RetryPolicy(max_attempts=max_attempts or found.webhook_max_attempts)
    with at_head(found) as database:
        uow = webhooks.WebhooksUnitOfWork(database.sessions)
        if loop:
            stop = threading.Event()
            try:
                webhooks.run_dispatcher(uow, stop, policy=policy, timeout=timeout)
            except KeyboardInterrupt:
                stop.set()
            return
        report = webhooks.dispatch_once(uow, policy=policy, timeout=timeout)
    typer.echo(
        f"{report.fanned_out} new deliveries; {report.attempted} attempted: "
        f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed"
    )

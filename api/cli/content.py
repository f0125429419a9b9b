"""``paperleague verify`` (a certificate, with no database) and ``paperleague content anchor``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.audit import record_cli_action
from api.cli.database import DatabaseUrl, at_head, settings
from contracts import anchoring
from contracts.certificates import parse_certificate
from contracts.chain import chain_for, connect
from contracts.chain_reader import OnChainReader
from contracts.uow import ContentUnitOfWork
from contracts.verification import CheckStatus, verify_certificate
from core.config import get_settings
from core.errors import DomainError, Unavailable

content_cli = typer.Typer(help="Content certification: anchoring.", no_args_is_help=True)

# Exit statuses of `verify`: 0 valid, 1 invalid (or not a certificate), 2 could not check.
EXIT_INVALID, EXIT_UNCHECKED = 1, 2
_MARK = {CheckStatus.PASSED: "ok  ", CheckStatus.FAILED: "FAIL", CheckStatus.SKIPPED: "skip"}


def verify(
    certificate: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The certificate JSON file.")
    ],
    content: Annotated[
        Path,
        typer.Option("--content", exists=True, dir_okay=False, help="The certified content."),
    ],
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help="JSON-RPC URL of a node of the certificate's chain (default "
            "PAPERLEAGUE_CHAIN_RPC_URL, else the in-process chain).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Verify a certificate against the content and the chain, without any database.

    Prints every check. Exit status: 0 valid, 1 invalid, 2 the chain could not be asked."""
    try:
        parsed = parse_certificate(certificate.read_bytes())
    except DomainError as exc:
        typer.echo(f"INVALID: {exc.detail}")
        raise typer.Exit(EXIT_INVALID) from exc
    try:
        reader = OnChainReader(connect(rpc or get_settings().chain_rpc_url))
        verdict = verify_certificate(parsed, content.read_bytes(), reader)
    except (Unavailable, OSError) as exc:
        typer.echo(f"error: cannot read the chain: {exc}", err=True)
        raise typer.Exit(EXIT_UNCHECKED) from exc
    for check in verdict.checks:
        typer.echo(f"{_MARK[check.status]} {check.name:<13} {check.detail}")
    if not verdict.valid:
        typer.echo("INVALID: failed " + ", ".join(verdict.failed))
        raise typer.Exit(EXIT_INVALID)
    typer.echo(
        f"VALID: certificate {parsed.id} anchored at block timestamp {parsed.block_timestamp}"
    )


@content_cli.command("anchor")
def anchor(
    context: typer.Context,
    database_url: DatabaseUrl = None,
    limit: Annotated[
        int, typer.Option(min=1, max=anchoring.MAX_BATCH, help="Most pieces in the batch.")
    ] = anchoring.MAX_BATCH,
) -> None:
    """Anchor pending content now (one transaction), then advance anchored batches to final."""
    found = settings(database_url)
    with at_head(found) as database:
        uow = ContentUnitOfWork(database.sessions)
        try:
            registry = anchoring.registry_for(uow, chain_for(found))
            batch = anchoring.anchor_pending(uow, registry, limit=limit)
            finality = anchoring.refresh_finality(
                uow, registry, confirmations=found.chain_confirmations
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail} (pending content stays pending)", err=True)
            raise typer.Exit(1) from exc
        if batch is not None or finality.finalized or finality.reorged:
            after = {
                "batch": None if batch is None else batch.id,
                "finalized": list(finality.finalized),
                "reorged": list(finality.reorged),
            }
            record_cli_action(
                context, database.sessions, action="content.anchor", subject="anchors", after=after
            )
    if batch is None:
        typer.echo("nothing pending")
    else:
        typer.echo(
            f"anchored batch {batch.id}: {batch.count} pieces, root 0x{batch.root.hex()}, "
            f"tx {batch.tx_hash}, block {batch.block_number}, gas {batch.gas_used}"
        )
    if finality.finalized or finality.reorged:
        typer.echo(f"final: {finality.finalized} reorganised: {finality.reorged}")

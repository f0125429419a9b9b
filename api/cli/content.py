"""``paperleague verify`` (a certificate, with no database), ``paperleague content anchor`` and
``paperleague content review list|approve|reject``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.audit import record_cli_action
from api.cli.database import DatabaseUrl, at_head, settings
from contracts import anchoring, reviews
from contracts.certificates import parse_certificate
from contracts.chain import chain_for, connect
from contracts.chain_reader import OnChainReader
from contracts.content import ReviewReason, ReviewStatus
from contracts.content import Verdict as ReviewVerdict
from contracts.uow import ContentUnitOfWork
from contracts.verification import CheckStatus, Verdict, verify_certificate
from core.config import get_settings
from core.errors import DomainError, Unavailable
from core.users import services as user_services
from core.users.model import Role
from engine.uow import EngineUnitOfWork
from notary.rounds import anchor_round

content_cli = typer.Typer(help="Content certification: anchoring and review.", no_args_is_help=True)

# Exit statuses of `verify`: 0 valid, 1 invalid (or not a certificate), 2 could not check.
EXIT_INVALID, EXIT_UNCHECKED = 1, 2
_MARK = {CheckStatus.PASSED: "ok  ", CheckStatus.FAILED: "FAIL", CheckStatus.SKIPPED: "skip"}

RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        help="JSON-RPC URL of a node of the certificate's chain (default "
        "PAPERLEAGUE_CHAIN_RPC_URL, else the local node of the data directory, else the "
        "in-process chain).",
        show_default=False,
    ),
]


def certificate_chain(rpc: str | None) -> OnChainReader:
    """The chain a ``verify`` command reads: ``--rpc``, else the settings' chain."""
    return OnChainReader(connect(rpc) if rpc else chain_for(get_settings()))


def verify(
    certificate: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The certificate JSON file.")
    ],
    content: Annotated[
        Path,
        typer.Option("--content", exists=True, dir_okay=False, help="The certified content."),
    ],
    rpc: RpcOption = None,
) -> None:
    """Verify a certificate against the content and the chain, without any database.

    Prints every check. Exit status: 0 valid, 1 invalid, 2 the chain could not be asked."""
    try:
        parsed = parse_certificate(certificate.read_bytes())
    except DomainError as exc:
        typer.echo(f"INVALID: {exc.detail}")
        raise typer.Exit(EXIT_INVALID) from exc
    try:
        reader = certificate_chain(rpc)
        verdict = verify_certificate(parsed, content.read_bytes(), reader)
    except (Unavailable, OSError) as exc:
        typer.echo(f"error: cannot read the chain: {exc}", err=True)
        raise typer.Exit(EXIT_UNCHECKED) from exc
    show_verdict(verdict)
    typer.echo(
        f"VALID: certificate {parsed.id} anchored at block timestamp {parsed.block_timestamp}"
    )


def show_verdict(verdict: Verdict) -> None:
    """Print every check; exit ``EXIT_INVALID`` unless all passed."""
    for check in verdict.checks:
        typer.echo(f"{_MARK[check.status]} {check.name:<13} {check.detail}")
    if not verdict.valid:
        typer.echo("INVALID: failed " + ", ".join(verdict.failed))
        raise typer.Exit(EXIT_INVALID)


@content_cli.command("anchor")
def anchor(
    context: typer.Context,
    database_url: DatabaseUrl = None,
    limit: Annotated[
        int, typer.Option(min=1, max=anchoring.MAX_BATCH, help="Most pieces in the batch.")
    ] = anchoring.MAX_BATCH,
) -> None:
    """Anchor pending content now (one transaction) and contests' rules and results, then
    advance anchored batches and attestations to final."""
    found = settings(database_url)
    with at_head(found) as database:
        uow = ContentUnitOfWork(database.sessions)
        try:
            registry = anchoring.registry_for(uow, chain_for(found))
            engine = EngineUnitOfWork(database.sessions)
            anchored = anchor_round(
                uow, engine, registry, confirmations=found.chain_confirmations, limit=limit
            )
            batch, finality, report = anchored.batch, anchored.finality, anchored.attestations
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
    for attestation in report.anchored:
        typer.echo(
            f"anchored {attestation.kind} of contest {attestation.subject}: "
            f"{attestation.count} leaves, root 0x{attestation.root.hex()}, tx {attestation.tx_hash}"
        )
    if report.finalized:
        typer.echo(f"final attestations: {list(report.finalized)}")


review_cli = typer.Typer(
    help="The review queue: content the policy held for an operator.", no_args_is_help=True
)
content_cli.add_typer(review_cli, name="review")


@review_cli.command("list")
def review_list(
    database_url: DatabaseUrl = None,
    status: Annotated[
        ReviewStatus | None, typer.Option(help="Only cases in this state (default: pending).")
    ] = ReviewStatus.PENDING,
    reason: Annotated[ReviewReason | None, typer.Option(help="Only cases held for this.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most cases to list.")] = 100,
) -> None:
    """List held content, oldest first: id, review status, reasons, author, title."""
    with at_head(settings(database_url)) as database:
        cases, more = reviews.review_queue(
            ContentUnitOfWork(database.sessions), status=status, reason=reason, limit=limit
        )
    for case in cases:
        review = case.review
        assert review is not None
        reasons = ",".join(review.reasons)
        decided = f" — {review.decision_reason}" if review.decision_reason else ""
        typer.echo(
            f"{case.id} {review.status.value} {reasons} author {case.author_id} "
            f"{case.title!r}{decided}"
        )
    typer.echo(f"{len(cases)} cases" + (" (more follow)" if more is not None else ""))


def _decide_cli(
    database_url: str | None, content_id: int, verdict: ReviewVerdict, *, operator: str, reason: str
) -> None:
    with at_head(settings(database_url)) as database:
        user = user_services.find_by_username(
            user_services.UsersUnitOfWork(database.sessions), operator
        )
        if user is None or not user.has_any(Role.OPERATOR):
            typer.echo(f"error: {operator!r} is not an operator", err=True)
            raise typer.Exit(1)
        try:
            review = reviews.decide(
                ContentUnitOfWork(database.sessions),
                content_id,
                verdict,
                operator_id=user.id,
                reason=reason,
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"content {content_id} {review.status} by {operator}: {review.decision_reason}")


_Operator = Annotated[str, typer.Option(help="The deciding operator's username.")]
_Reason = Annotated[str, typer.Option(help="Why (shown to the author); required.")]


@review_cli.command("approve")
def review_approve(
    content_id: Annotated[int, typer.Argument(help="The held piece's id.")],
    operator: _Operator,
    reason: _Reason,
    database_url: DatabaseUrl = None,
) -> None:
    """Approve a held piece: the next anchoring run certifies it."""
    _decide_cli(database_url, content_id, ReviewVerdict.APPROVE, operator=operator, reason=reason)


@review_cli.command("reject")
def review_reject(
    content_id: Annotated[int, typer.Argument(help="The held piece's id.")],
    operator: _Operator,
    reason: _Reason,
    database_url: DatabaseUrl = None,
) -> None:
    """Reject a held piece: it is never anchored."""
    _decide_cli(database_url, content_id, ReviewVerdict.REJECT, operator=operator, reason=reason)

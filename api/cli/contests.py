"""``paperleague contest``: the contest clock by hand or on a schedule (cron), settlement, and
verifying a contest rules or results certificate, and a contest's official rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from api.cli.audit import record_cli_action
from api.cli.content import EXIT_INVALID, EXIT_UNCHECKED, RpcOption, certificate_chain, show_verdict
from api.cli.database import DatabaseUrl, at_head, settings
from contracts.attestations import parse_attestation_certificate
from core.errors import DomainError, Unavailable
from engine import clock as contest_clock
from engine import intraday_schedule
from engine.clock import ClockReport
from engine.contests import services, settlement
from engine.contests.official_rules import LANGUAGES, official_rules
from engine.contests.prize_rules import PrizeLimits
from engine.uow import EngineUnitOfWork
from notary import contests as notary

contest_cli = typer.Typer(
    help="Contests: the clock, settlement and official rules.", no_args_is_help=True
)

Bars = Annotated[int, typer.Option("--bars", min=1, max=1000, help="Trading days to reveal.")]


@contextmanager
def _trading(database_url: str | None) -> Iterator[EngineUnitOfWork]:
    """The contests of an existing database at head; a refused command exits 1 with the reason."""
    with at_head(settings(database_url)) as database:
        try:
            yield EngineUnitOfWork(database.sessions)
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc


def _clock(report: ClockReport) -> dict[str, object]:
    """Where a contest's clock stands after a command, for its audit entry."""
    day = None if report.clock_day is None else report.clock_day.isoformat()
    return {"contest_id": report.contest_id, "clock_day": day, "finished": report.finished}


def _show(report: ClockReport) -> None:
    shown = f"{report.days[0]}…{report.days[-1]}" if report.days else "no new bar"
    typer.echo(
        f"contest {report.contest_id}: {len(report.days)} bar(s) ({shown}), {report.fills} fills, "
        f"clock at {report.clock_day}{' (finished)' if report.finished else ''}"
    )


@contest_cli.command("clock")
def clock(
    context: typer.Context,
    contest_id: Annotated[int, typer.Argument(help="The contest.")],
    bars: Bars = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Reveal the next trading days of one contest (what the operator's clock button does)."""
    with _trading(database_url) as uow:
        report = contest_clock.advance_contest_clock(uow, contest_id, bars=bars)
        subject = f"contest:{contest_id}"
        record_cli_action(
            context,
            uow.sessions,
            action="contest.advance_clock",
            subject=subject,
            after=_clock(report),
        )
    _show(report)


@contest_cli.command("tick")
def tick(context: typer.Context, bars: Bars = 1, database_url: DatabaseUrl = None) -> None:
    """Advance every due contest (running, or registration closed): run it from cron."""
    with _trading(database_url) as uow:
        reports = contest_clock.tick_due_contests(uow, bars=bars)
        if reports:
            after = [_clock(report) for report in reports]
            record_cli_action(
                context, uow.sessions, action="contest.tick", subject="contests", after=after
            )
    for report in reports:
        _show(report)
    if not reports:
        typer.echo("no contest is due")


@contest_cli.command("tick-intraday")
def tick_intraday(
    context: typer.Context,
    contest_id: Annotated[int, typer.Argument(help="A minute contest.")],
    bars: Annotated[
        int,
        typer.Option("--bars", min=1, max=intraday_schedule.MAX_TICKS, help="Most minutes."),
    ] = 1,
    through: Annotated[
        datetime | None,
        typer.Option(
            "--through",
            help="Tick no minute starting after this instant (ISO 8601, UTC when naive). "
            "Default: a live contest's minutes that have ended, a replay's next ones.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Tick a minute contest at its next due minute bars, as the worker's contest.intraday
    job does (same service: fills at the next quote, marks, the session's close). Exit 1 when
    its feed is stale (matching paused)."""
    if through is not None and through.tzinfo is None:
        through = through.replace(tzinfo=UTC)
    with _trading(database_url) as uow:
        run = intraday_schedule.tick_due_bars(uow, contest_id, through=through, limit=bars)
        if run.ticks:
            after = {
                "contest_id": contest_id,
                "intraday_bar": run.ticks[-1].bar_start.isoformat(),
                "ticks": len(run.ticks),
            }
            record_cli_action(
                context,
                uow.sessions,
                action="contest.tick_intraday",
                subject=f"contest:{contest_id}",
                after=after,
            )
    shown = (
        f"{run.ticks[0].bar_start.isoformat()}…{run.ticks[-1].bar_start.isoformat()}"
        if run.ticks
        else "no bar due"
    )
    typer.echo(
        f"contest {contest_id}: {len(run.ticks)} minute bar(s) ({shown}), {run.fills} fills, "
        f"{run.sessions_closed} session(s) closed"
    )
    if run.stale:
        typer.echo(
            f"paused: the feed is stale at {run.stale_bar}: {', '.join(run.stale)}", err=True
        )
        raise typer.Exit(1)


@contest_cli.command("settle")
def settle(
    context: typer.Context,
    contest_id: Annotated[int, typer.Argument(help="A finished contest.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Pay the contest's prizes into the ledger (safe to rerun: each prize is paid once)."""
    with _trading(database_url) as uow:
        report = settlement.settle_contest(uow, contest_id)
        after = {"settled": report.settled, "paid_now": report.paid_now, "prizes": report.prizes}
        subject = f"contest:{contest_id}"
        record_cli_action(
            context, uow.sessions, action="contest.settle", subject=subject, after=after
        )
    totals = ", ".join(f"{amount} {asset}" for asset, amount in sorted(report.totals.items()))
    typer.echo(
        f"contest {contest_id}: {report.prizes} prizes to {report.recipients} members "
        f"({totals or 'nothing'}); paid now {report.paid_now}, already paid {report.already_paid}"
    )
    for refused in report.refused:
        typer.echo(f"refused: {refused}", err=True)
    if not report.settled:
        typer.echo("not settled yet: rerun once the refusals are resolved", err=True)
        raise typer.Exit(1)


@contest_cli.command("verify")
def verify(
    certificate: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="A contest rules or results CERT.json."),
    ],
    rpc: RpcOption = None,
) -> None:
    """Verify a contest rules or results certificate against the chain, without any database.

    Prints every check. Exit status: 0 valid, 1 invalid, 2 the chain could not be asked."""
    try:
        parsed = parse_attestation_certificate(certificate.read_bytes())
    except DomainError as exc:
        typer.echo(f"INVALID: {exc.detail}")
        raise typer.Exit(EXIT_INVALID) from exc
    try:
        reader = certificate_chain(rpc)
        verdict = notary.verify_contest_certificate(parsed, reader)
    except (Unavailable, OSError) as exc:
        typer.echo(f"error: cannot read the chain: {exc}", err=True)
        raise typer.Exit(EXIT_UNCHECKED) from exc
    show_verdict(verdict)
    typer.echo(f"VALID: {parsed.kind} of contest {parsed.subject}, values {list(parsed.values)}")


@contest_cli.command("rules")
def rules(
    contest_id: Annotated[int, typer.Argument(help="The contest.")],
    lang: Annotated[str, typer.Option("--lang", help="zh-CN or en.")] = "zh-CN",
    database_url: DatabaseUrl = None,
) -> None:
    """Print the contest's official rules as Markdown (what GET …/official-rules serves)."""
    if lang not in LANGUAGES:
        typer.echo(f"error: --lang is one of {', '.join(LANGUAGES)}", err=True)
        raise typer.Exit(2)
    config = settings(database_url)
    limits = PrizeLimits(config.draw_prize_caps_cny, config.points_cny_rate)
    with _trading(database_url) as uow:
        contest = services.get_contest(uow, contest_id, operator=True)
    document = official_rules(contest, language=lang, limits=limits)
    typer.echo(document.to_markdown(), nl=False)

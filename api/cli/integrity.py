"""``paperleague integrity scan``: run the one-person-one-entry detectors, open review cases."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from api.http.schemas.integrity import ScanOut
from core.errors import DomainError
from engine.integrity import services
from engine.uow import EngineUnitOfWork

integrity_cli = typer.Typer(help="One person, one entry: detectors and the review queue.")

ContestIds = Annotated[
    list[int] | None,
    typer.Option("--contest", help="A contest to scan (repeatable); default: every running one."),
]


@integrity_cli.command("scan")
def scan(
    contest: ContestIds = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run the detectors over sign-in signals and fills; open a case per new finding."""
    found = settings(database_url)
    with at_head(found) as database:
        try:
            report = services.scan(
                EngineUnitOfWork(database.sessions),
                contest_ids=contest or None,
                settings=services.detector_settings(found),
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(ScanOut.of(report).model_dump_json(indent=2))
        return
    typer.echo(
        f"scanned contests {list(report.contest_ids)}: {report.findings} findings, "
        f"{len(report.opened)} new cases"
    )
    for case in report.opened:
        members = ", ".join(str(m) for m in case.member_ids)
        typer.echo(f"  case {case.id}: {case.kind.value} score {case.score} members {members}")

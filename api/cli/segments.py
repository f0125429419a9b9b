"""``paperleague segments``: refresh the behavioural tags (by hand or from cron) and list
segments with their sizes."""

from __future__ import annotations

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from core.segments import services as segments
from core.segments.uow import SegmentsUnitOfWork
from engine.segments.tags import refresh_tags, thresholds_from
from ledger.services import LedgerUnitOfWork

segments_cli = typer.Typer(help="Segments: behavioural tags and sizes.", no_args_is_help=True)


@segments_cli.command("refresh-tags")
def refresh(database_url: DatabaseUrl = None) -> None:
    """Recompute every member's behavioural tags (safe to rerun: same tags, same ``since``)."""
    found = settings(database_url)
    with at_head(found) as database:
        report = refresh_tags(
            LedgerUnitOfWork(database.sessions), thresholds=thresholds_from(found)
        )
    typer.echo(f"{report.members} members; added {report.added}, removed {report.removed} tags")
    for tag, count in sorted(report.counts.items()):
        typer.echo(f"{tag}: {count}")


@segments_cli.command("list")
def list_segments(database_url: DatabaseUrl = None) -> None:
    """Every segment with its size now."""
    with at_head(settings(database_url)) as database:
        found = segments.list_segments(SegmentsUnitOfWork(database.sessions))
    for segment in found:
        typer.echo(f"{segment.key}\t{segment.size}\t{segment.name}")

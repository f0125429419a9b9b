"""``paperleague campaign`` and ``paperleague experiment``: what operators do over HTTP, from
a shell (set up, list, grant, results), and a member's own time zone for caps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from core.clock import as_utc
from core.errors import DomainError
from ledger.campaigns import services as campaigns
from ledger.campaigns.model import (
    DEFAULT_ZONE,
    BudgetKind,
    CampaignSpec,
    CapPeriod,
    FrequencyCap,
    Lift,
    Variant,
)
from ledger.campaigns.services import ExperimentSpec
from ledger.campaigns.uow import CampaignUnitOfWork

campaign_cli = typer.Typer(help="Campaign budgets and frequency caps.", no_args_is_help=True)
experiment_cli = typer.Typer(help="A/B tests and their lift.", no_args_is_help=True)


def _fail(exc: DomainError) -> typer.Exit:
    rule = exc.extensions.get("rule")
    typer.echo(f"error: {exc.detail}" + (f" ({rule})" if rule else ""), err=True)
    return typer.Exit(1)


@campaign_cli.command("create")
def create(
    key: Annotated[str, typer.Argument(help="The campaign's key (a-z, 0-9, '_', '-').")],
    budget: Annotated[int, typer.Option(help="Points or item units in all.")],
    reward: Annotated[int, typer.Option(help="What one grant pays, in the budget's unit.")],
    starts: Annotated[datetime, typer.Option(help="Start (UTC unless an offset is given).")],
    ends: Annotated[datetime, typer.Option(help="End, exclusive.")],
    title: Annotated[str, typer.Option()] = "",
    item: Annotated[str | None, typer.Option(help="An item budget: the reward item.")] = None,
    cap: Annotated[int | None, typer.Option(help="At most this many grants per member…")] = None,
    per: Annotated[CapPeriod, typer.Option(help="… per local day or week.")] = CapPeriod.DAY,
    timezone: Annotated[str, typer.Option(help="Zone of members without their own.")] = (
        DEFAULT_ZONE
    ),
    experiment: Annotated[str | None, typer.Option(help="An experiment setting rewards.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set up a campaign with its whole budget left."""
    spec = CampaignSpec(
        key=key,
        title=title or key,
        kind=BudgetKind.POINTS if item is None else BudgetKind.ITEM,
        budget=budget,
        reward=reward,
        starts_at=as_utc(starts),
        ends_at=as_utc(ends),
        item_key=item,
        cap=None if cap is None else FrequencyCap(cap, per),
        timezone=timezone,
        experiment_key=experiment,
    )
    with at_head(settings(database_url)) as database:
        try:
            made = campaigns.create_campaign(
                CampaignUnitOfWork(database.sessions), spec, operator_id=None
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    typer.echo(f"campaign {made.spec.key}: budget {made.spec.budget} {made.spec.kind}")


@campaign_cli.command("list")
def list_(database_url: DatabaseUrl = None) -> None:
    """Every campaign: spent / budget (remaining) and grants."""
    with at_head(settings(database_url)) as database:
        found = campaigns.list_campaigns(CampaignUnitOfWork(database.sessions))
    for c in found:
        unit = c.spec.item_key or "points"
        typer.echo(
            f"{c.spec.key}: spent {c.spent}/{c.spec.budget} {unit}, remaining {c.remaining}, "
            f"{c.grants} grant(s)"
        )


@campaign_cli.command("grant")
def grant(
    key: Annotated[str, typer.Argument(help="The campaign.")],
    member_id: Annotated[int, typer.Argument(help="The member paid.")],
    operation: Annotated[str, typer.Option(help="Names the grant: rerunning it pays once.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Pay a member one grant through the campaign, charged to its budget."""
    with at_head(settings(database_url)) as database:
        try:
            made = campaigns.grant(
                CampaignUnitOfWork(database.sessions), key, member_id, operation=operation
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    variant = f" (variant {made.variant})" if made.variant else ""
    typer.echo(f"granted {made.amount} {made.item_key or 'points'} to {member_id}{variant}")


@campaign_cli.command("set-zone")
def set_zone(
    member_id: Annotated[int, typer.Argument()],
    timezone: Annotated[str, typer.Argument(help="An IANA zone, e.g. America/New_York.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Record a member's own time zone: their caps count in it."""
    with at_head(settings(database_url)) as database:
        try:
            campaigns.set_member_timezone(
                CampaignUnitOfWork(database.sessions), member_id, timezone
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    typer.echo(f"member {member_id}: {timezone}")


def _variant(text: str) -> Variant:
    name, _, rest = text.partition(":")
    weight, _, reward = rest.partition(":")
    try:
        return Variant(name, int(weight or "1"), int(reward) if reward else None)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: name[:weight[:reward]]") from exc


@experiment_cli.command("create")
def create_experiment(
    key: Annotated[str, typer.Argument()],
    variant: Annotated[
        list[str], typer.Option(help="name[:weight[:reward]], the first the control; repeat.")
    ],
    title: Annotated[str, typer.Option()] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Set up an A/B test."""
    spec = ExperimentSpec(key=key, title=title or key, variants=tuple(_variant(v) for v in variant))
    with at_head(settings(database_url)) as database:
        try:
            campaigns.create_experiment(
                CampaignUnitOfWork(database.sessions), spec, operator_id=None
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    typer.echo(f"experiment {key}: {', '.join(v.name for v in spec.variants)}")


def lift_text(lift: Lift | None) -> str:
    """``+4.2 pp [−1.0, +9.4] p=0.11`` (percentage points), or ``control``."""
    if lift is None:
        return "control"
    return (
        f"{lift.difference * 100:+.1f} pp [{lift.low * 100:+.1f}, {lift.high * 100:+.1f}] "
        f"p={lift.p_value:.3f}"
    )


@experiment_cli.command("results")
def results(key: Annotated[str, typer.Argument()], database_url: DatabaseUrl = None) -> None:
    """Per variant: members, participation, D1 / D7 retention and lift ± 95 % CI."""
    with at_head(settings(database_url)) as database:
        try:
            found = campaigns.experiment_results(CampaignUnitOfWork(database.sessions), key)
        except DomainError as exc:
            raise _fail(exc) from exc
    for v in found.variants:
        typer.echo(
            f"{v.name}: {v.members} member(s); participation {v.participation.value:.1%} "
            f"({lift_text(v.participation_lift)}); D1 {v.d1.value:.1%} ({lift_text(v.d1_lift)}); "
            f"D7 {v.d7.value:.1%} ({lift_text(v.d7_lift)})"
        )

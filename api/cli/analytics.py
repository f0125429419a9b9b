"""``paperleague analytics``: the operator figures as JSON (the same bodies as the API's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

import typer
from pydantic import BaseModel

from api.cli.database import DatabaseUrl, at_head, settings
from api.http.schemas.analytics import (
    CohortOut,
    FunnelOut,
    LiabilityOut,
    OverviewOut,
    RetentionOut,
    RewardCostOut,
    StageOut,
    WindowOut,
)
from core.clock import utc_now
from core.config import Settings
from core.errors import DomainError
from engine.analytics import model
from engine.analytics import services as analytics
from engine.analytics.model import Window
from engine.analytics.uow import AnalyticsUnitOfWork

analytics_cli = typer.Typer(
    help="Operator analytics: participation, retention, funnel, liability, reward cost.",
    no_args_is_help=True,
)

From = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="First day (default: 27 days before --to)."),
]
To = Annotated[
    datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (default: today).")
]
Streak = Annotated[
    int,
    typer.Option("--streak", min=1, max=analytics.MAX_STREAK, help="The funnel's streak (days)."),
]
Figure = Callable[[AnalyticsUnitOfWork, Window, Settings], BaseModel]


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()


def _print(
    database_url: str | None, first: datetime | None, last: datetime | None, figure: Figure
) -> None:
    found = settings(database_url)
    try:
        window = model.window(_day(first), _day(last), today=utc_now().date())
        with at_head(found) as database:
            body = figure(AnalyticsUnitOfWork(database.sessions), window, found)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(body.model_dump_json(by_alias=True, indent=2))


@analytics_cli.command("overview")
def overview(
    first: From = None,
    last: To = None,
    streak: Streak = model.DEFAULT_STREAK,
    database_url: DatabaseUrl = None,
) -> None:
    """Participation, the funnel, points liability and reward cost in one snapshot."""
    _print(
        database_url,
        first,
        last,
        lambda uow, window, found: OverviewOut.of(
            analytics.overview(uow, window, points_cny_rate=found.points_cny_rate, streak=streak),
            segment=None,
        ),
    )


@analytics_cli.command("retention")
def retention(first: From = None, last: To = None, database_url: DatabaseUrl = None) -> None:
    """Weekly cohorts by sign-up week and the members active each week since."""
    _print(
        database_url,
        first,
        last,
        lambda uow, window, _: RetentionOut(
            window=WindowOut.of(window),
            cohorts=[CohortOut.of(c) for c in analytics.retention(uow, window)],
        ),
    )


@analytics_cli.command("funnel")
def funnel(
    first: From = None,
    last: To = None,
    streak: Streak = model.DEFAULT_STREAK,
    database_url: DatabaseUrl = None,
) -> None:
    """Sign-up → contest entry → first trade → check-in streak → redemption."""
    _print(
        database_url,
        first,
        last,
        lambda uow, window, _: FunnelOut(
            window=WindowOut.of(window),
            streak=streak,
            stages=[
                StageOut.of(s) for s in analytics.engagement_funnel(uow, window, streak=streak)
            ],
        ),
    )


@analytics_cli.command("liability")
def liability(database_url: DatabaseUrl = None) -> None:
    """Points members hold now: spendable, held, and their CNY cost."""
    _print(
        database_url,
        None,
        None,
        lambda uow, _, found: LiabilityOut.of(
            analytics.points_liability(uow, points_cny_rate=found.points_cny_rate)
        ),
    )


@analytics_cli.command("reward-cost")
def reward_cost(first: From = None, last: To = None, database_url: DatabaseUrl = None) -> None:
    """Points issued by reason and redeemed by item inside the window."""
    _print(
        database_url,
        first,
        last,
        lambda uow, window, found: RewardCostOut.of(
            analytics.reward_cost(uow, window, points_cny_rate=found.points_cny_rate)
        ),
    )

"""``paperleague worker [--once] [--jobs …]``: run the scheduled jobs (see ``api.worker``)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from api.worker import INTRADAY_PACE, REPLAY_PACE, Worker, standard_jobs, worker_id
from core.jobs.model import RunOutcome
from core.jobs.services import DEFAULT_LEASE, FAILED, RAN, SKIPPED

JobsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--jobs",
        help="Only these jobs (repeat, or comma-separated): market.intraday, "
        "contest.intraday, contest.day, contest.settle, ledger.expire, content.anchor, "
        "webhooks.deliver. Default: all.",
        show_default=False,
    ),
]


def _show(outcomes: list[RunOutcome]) -> None:
    for outcome in outcomes:
        detail = f": {outcome.detail}" if outcome.detail else ""
        typer.echo(f"{outcome.job} {outcome.key} {outcome.result}{detail}")
    counts = {
        result: sum(o.result == result for o in outcomes) for result in (RAN, SKIPPED, FAILED)
    }
    typer.echo(f"{counts[RAN]} ran, {counts[SKIPPED]} skipped, {counts[FAILED]} failed")


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run everything due now, then exit.")
    ] = False,
    jobs: JobsOption = None,
    lease: Annotated[
        int,
        typer.Option(
            "--lease",
            min=10,
            max=86_400,
            help="Seconds a claim is held before another worker "
            "may retake it (a worker that died).",
        ),
    ] = int(DEFAULT_LEASE.total_seconds()),
    replay_pace: Annotated[
        int,
        typer.Option(
            "--replay-pace",
            min=0,
            help="Seconds between the scheduled days of a replay contest.",
        ),
    ] = int(REPLAY_PACE.total_seconds()),
    intraday_pace: Annotated[
        float,
        typer.Option(
            "--intraday-pace",
            min=0,
            help="Seconds per stored minute a replay minute contest walks (0: as fast as "
            "the worker looks). Live minute contests follow the wall clock.",
        ),
    ] = INTRADAY_PACE.total_seconds(),
    database_url: DatabaseUrl = None,
) -> None:
    """Own every scheduled job: the intraday feed and minute contests' ticks, contest days
    (marks, PK rounds), settlement, points expiry, anchoring, webhooks. Each (job, contest,
    bar) runs once across all workers; missed windows are caught up. Exit status of --once: 1
    when a window failed."""
    found = settings(database_url)
    logging.basicConfig(level=found.log_level, format="%(asctime)s %(name)s %(message)s")
    if not once:  # a running worker always says what it runs; --once prints its outcomes
        worker_log = logging.getLogger("paperleague.worker")
        worker_log.setLevel(min(logging.INFO, logging.getLogger().getEffectiveLevel()))
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its per-look lines: noise
    with at_head(found) as database:
        every = standard_jobs(
            database,
            found,
            replay_pace=timedelta(seconds=replay_pace),
            intraday_pace=timedelta(seconds=intraday_pace),
        )
        known = {job.name: job for job in every}
        wanted = [name.strip() for given in jobs or [] for name in given.split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise typer.BadParameter(
                f"unknown job(s) {', '.join(unknown)}; known: {', '.join(known)}",
                param_hint="--jobs",
            )
        chosen = [known[name] for name in dict.fromkeys(wanted)] if wanted else every
        runner = Worker(database, chosen, worker_id(), lease=timedelta(seconds=lease))
        if not once:
            stop = threading.Event()
            # systemd and docker stop with SIGTERM: finish the windows running, then exit
            signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
            try:
                runner.serve(stop)
            except KeyboardInterrupt:
                pass
            return
        outcomes = runner.run_once()
    _show(outcomes)
    if any(outcome.result == FAILED for outcome in outcomes):
        raise typer.Exit(1)

"""The leagues' invariants for the check registry (``core.checks``): cohorts are well formed
(each entry in a cohort of its week and tier, sizes within the week's bounds), and a finalized
week's payouts are what its reward table gives its final ranks, posted in the ledger once the
week is closed."""

from __future__ import annotations

from collections import Counter

from core.checks import Check, DatabaseContext
from engine.leagues import model
from engine.leagues.model import Standing, Zone
from engine.leagues.services import config_from
from engine.leagues.store import LeagueEntryRow, LeagueWeekRow
from engine.leagues.uow import LeagueUnitOfWork
from ledger.model import POINTS, XP


def cohort_problems(uow: LeagueUnitOfWork) -> list[str]:
    """One sentence per entry outside its cohort's week or tier, and per cohort whose size
    breaks the week's bounds (at most ``cohort_size``; a tier's cohorts differ by at most one)."""
    problems: list[str] = []
    with uow.reading(snapshot=True):
        for week in uow.leagues.weeks():
            problems += _week_cohort_problems(uow, week)
    return problems


def _week_cohort_problems(uow: LeagueUnitOfWork, week: LeagueWeekRow) -> list[str]:
    config = config_from(week.config)
    cohorts = {row.id: row for row in uow.leagues.cohorts(week.id)}
    sizes: Counter[int] = Counter()
    problems: list[str] = []
    for entry in uow.leagues.entries(week.id):
        cohort = cohorts.get(entry.cohort_id)
        if cohort is None or cohort.tier != entry.tier:
            problems.append(
                f"week {week.id}: member {entry.member_id} (tier {entry.tier}) is in cohort "
                f"{entry.cohort_id}, not one of this week's tier-{entry.tier} cohorts"
            )
            continue
        sizes[cohort.id] += 1
    by_tier: dict[int, list[int]] = {}
    for cohort_id, cohort in cohorts.items():
        by_tier.setdefault(cohort.tier, []).append(sizes[cohort_id])
    for tier, counts in sorted(by_tier.items()):
        expected = model.cohort_sizes(sum(counts), config.cohort_size)
        if sorted(counts, reverse=True) != expected:
            problems.append(
                f"week {week.id} tier {tier}: cohort sizes {sorted(counts, reverse=True)}, "
                f"the bounds give {expected}"
            )
    return problems


def payout_problems(uow: LeagueUnitOfWork) -> list[str]:
    """One sentence per finalized week whose payouts differ from its reward table, or per
    payout of a closed week missing from the ledger."""
    problems: list[str] = []
    with uow.reading(snapshot=True):
        for week in uow.leagues.weeks():
            if week.finalized_at is not None:
                problems += _week_payout_problems(uow, week)
    return problems


def _week_payout_problems(uow: LeagueUnitOfWork, week: LeagueWeekRow) -> list[str]:
    config = config_from(week.config)
    entries: list[LeagueEntryRow] = uow.leagues.entries(week.id)
    standings = [
        (e.tier, Standing(e.rank, e.member_id, e.score, Zone(e.zone)))
        for e in entries
        if e.rank is not None and e.zone is not None
    ]
    owed = model.expected_payouts(config, standings)
    rows = uow.leagues.payouts(week.id)
    paid = {row.member_id: (row.points, row.xp) for row in rows}
    problems: list[str] = []
    if len(standings) != len(entries):
        problems.append(f"week {week.id}: finalized with entries left unranked")
    if paid != owed:
        wrong = sorted(set(paid.items()) ^ set(owed.items()))
        problems.append(f"week {week.id}: payouts differ from the reward table at {wrong[:5]}")
    if week.closed_at is None:
        return problems
    ids = [f"{row.award_id}:{kind}" for row in rows for kind in ("points", "xp")]
    posted = uow.ledger.transfers_by_id(ids)
    for row in rows:
        for kind, asset, amount in (("points", POINTS, row.points), ("xp", XP, row.xp)):
            transfer = posted.get(f"{row.award_id}:{kind}")
            got = 0 if transfer is None else transfer.amount
            if got != amount or (transfer is not None and transfer.asset != asset):
                problems.append(
                    f"week {week.id}: member {row.member_id}'s reward {kind} is {amount}, "
                    f"the ledger posted {got}"
                )
    return problems


CHECKS: list[Check[DatabaseContext]] = [
    Check(
        name="leagues.cohorts",
        package="engine.leagues",
        description="every league entry is in a cohort of its week and tier, and each tier's "
        "cohort sizes are the ones its member count and the cohort size give",
        problems=lambda context: cohort_problems(LeagueUnitOfWork(context.sessions)),
    ),
    Check(
        name="leagues.payouts",
        package="engine.leagues",
        description="a finalized week's payouts are what its reward table gives the final "
        "ranks, and a closed week's rewards are posted in the ledger",
        problems=lambda context: payout_problems(LeagueUnitOfWork(context.sessions)),
    ),
]

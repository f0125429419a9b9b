"""The closing summary ``paperleague simulate`` prints: leaderboards, PK standings, points, the
ledger audit, the invariant checks, certificates, content findings, the digest and the time
each phase took."""

from __future__ import annotations

from simulation.model import SimulationResult

TOP = 5


def summary_lines(result: SimulationResult) -> list[str]:
    data = result.data
    lines = [data.title, ""]
    if not data.contests:
        lines.append("leaderboards: no contest ran")
    for contest in data.contests:
        lines.append(f"leaderboard {contest.name}:")
        lines += [
            f"  {row.rank:>3}. {row.member:<28} {row.metric:>12}  return {row.total_return:+.2%}"
            for row in contest.leaderboard[:TOP]
        ]
        refused = sum(contest.orders_rejected.values())
        lines.append(
            f"  orders accepted {contest.orders_accepted}, rejected {refused}, "
            f"prizes paid {contest.prizes_paid}"
        )
    lines += _intraday_lines(result)
    for pk in data.pk:
        lines.append(f"team PK standings {pk.contest}:")
        lines += [
            f"  {t.rank:>3}. {t.team:<24} {t.points:>6g} pts  W{t.wins} D{t.draws} L{t.losses}"
            for t in pk.standings[:TOP]
        ]
    ledger, content = data.ledger, data.content
    trial = ", ".join(f"{asset} {total}" for asset, total in ledger.trial_balance.items())
    verdict = "ok" if not ledger.verify_errors else f"{len(ledger.verify_errors)} ERRORS"
    lines += [
        f"members: {data.members} ({data.referrals} referred), "
        f"check-ins: {sum(data.engagement.check_ins)}",
        f"points: minted {ledger.minted}, redeemed {ledger.redeemed}, expired {ledger.expired}",
        f"ledger: trial balance {trial}; verify {verdict} ({ledger.transfers} transfers)",
        f"invariant checks: {data.checks.verdict()}",
        f"certificates: {content.certificates} anchored in {content.batches} batches "
        f"({content.final} final), gas per certificate {content.gas_per_certificate:,.0f}",
        f"content: {content.registered} registered, {content.near_duplicates} near-duplicates, "
        f"{content.compliance_flags} compliance flags, "
        f"{sum(content.refused.values())} refused",
        f"report: {result.report_path}",
        *_time_lines(result.timings),
        f"digest: {result.digest}",
    ]
    return lines


def _intraday_lines(result: SimulationResult) -> list[str]:
    day = result.data.intraday
    if not day.ran:
        return []
    lines = [f"intraday {day.title} ({len(day.days)} sessions of minute bars):"]
    lines += [
        f"  {row.rank:>3}. {row.member:<28} {row.metric:>12}" for row in day.leaderboard[:TOP]
    ]
    lines += [
        f"  {day.bars_ticked} bars ticked; orders placed {day.orders_placed} "
        f"({day.market_orders} market, {day.limit_orders} limit), "
        f"refused {sum(day.orders_refused.values())}, filled {day.orders_filled}, "
        f"expired {day.orders_expired}; {day.fills} fills",
        f"  fills in the lunch break {day.fills_in_break}, outside their bar "
        f"{day.fills_outside_bar}, before acceptance {day.fills_before_acceptance} "
        f"(next bar, no look-ahead); {day.seconds:.1f}s wall, {day.cpu_seconds:.1f}s CPU",
    ]
    return lines


def _time_lines(timings: dict[str, float]) -> list[str]:
    """Phases on one line with their total; steps within a phase ("phase: step") on another."""
    phases = {name: s for name, s in timings.items() if ":" not in name}
    steps = {name: s for name, s in timings.items() if ":" in name}
    lines = [
        "time: "
        + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in phases.items())
        + f" (total {sum(phases.values()):.1f}s)"
    ]
    if steps:
        lines.append("  of which " + ", ".join(f"{n} {s:.1f}s" for n, s in sorted(steps.items())))
    return lines

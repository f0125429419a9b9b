"""The operator report: one self-contained HTML file (plots as embedded PNG, no network needed)
drawn from a ``ReportData``. Sections whose data a run did not produce (the contest parts, before
the contest phase exists) say so instead of drawing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: never a window, never a display server

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from core.checks import CheckResult  # noqa: E402
from engine.leagues.model import tier_name  # noqa: E402
from ledger.campaigns.model import Lift, Rate  # noqa: E402
from simulation import report_html as html_parts  # noqa: E402
from simulation.model import ContestReport, PkReport, ReportData  # noqa: E402

SECTIONS = (
    ("summary", "Season summary"),
    ("equity", "Equity curves of the top members"),
    ("returns", "Return distribution"),
    ("leaderboard", "Leaderboard movement"),
    ("orders", "Orders, bot styles and refusals"),
    ("pk", "PK results"),
    ("intraday", "Intraday contest (minute bars)"),
    ("participation", "Daily participation and check-in streaks"),
    ("points", "Points flow"),
    ("leagues", "Weekly leagues"),
    ("quiz", "Quiz competition"),
    ("redemptions", "Redemption conversion"),
    ("retention", "Retention across PK rounds"),
    ("experiment", "A/B test: the weekly check-in bonus"),
    ("content", "Content certification"),
    ("ledger", "Ledger audit"),
    ("checks", "Invariant checks"),
)
NO_CONTESTS = "No contest ran in this simulation, so there is nothing to show here yet."
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
td, th { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #777; font-style: italic; }
nav a { margin-right: 0.8rem; }
"""


# The sections that show the ledger's verification and the invariant checks; the others can be
# drawn before they end.
AUDITED = frozenset({"summary", "ledger", "checks"})


def draw_sections(data: ReportData, keys: Iterable[str]) -> dict[str, str]:
    """The HTML of the sections ``keys`` (their plots drawn), for ``write_report(drawn=)``."""
    return {key: _RENDERERS[key](data) for key in keys}


def write_report(data: ReportData, path: Path, *, drawn: Mapping[str, str] | None = None) -> Path:
    """Render ``data`` to ``path`` (directories created); returns the path. ``drawn``: sections
    already rendered by ``draw_sections`` from data that differs only in the ledger's
    verification (none of ``AUDITED``)."""
    ready = dict(drawn or {})
    body = [f"<h1>{html_parts.escape(data.title)}</h1>", _nav()]
    for key, title in SECTIONS:
        body.append(f'<h2 id="{key}">{html_parts.escape(title)}</h2>')
        body.append(ready[key] if key in ready and key not in AUDITED else _RENDERERS[key](data))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html_parts.escape(data.title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


# --- sections ---------------------------------------------------------------------------------


def _summary(data: ReportData) -> str:
    content, ledger = data.content, data.ledger
    rows = [
        ("Members", data.members),
        ("Signed up through a referral", data.referrals),
        ("Check-ins", sum(data.engagement.check_ins)),
        ("Longest check-in streak (days)", data.engagement.best_streak),
        ("Points minted", ledger.minted),
        ("Points redeemed", ledger.redeemed),
        ("Points expired", ledger.expired),
        ("Articles registered", content.registered),
        ("Certificates anchored", content.certificates),
        ("Ledger", "verified, balanced" if ledger.ok else "PROBLEMS: see the ledger audit"),
        ("Invariant checks", data.checks.verdict()),
    ]
    rows += [
        (
            f"Contest: {c.name}",
            f"{c.entrants} entrants ({c.ranked} ranked), {c.orders_accepted:,} orders, "
            f"{c.fills:,} fills, {c.prizes_paid} prizes ({c.prize_points:,} points)",
        )
        for c in data.contests
    ]
    if data.intraday.ran:
        day = data.intraday
        rows.append(
            (
                f"Intraday: {day.title}",
                f"{day.entrants} entrants, {day.bars_ticked:,} minute bars, "
                f"{day.orders_placed:,} orders, {day.fills:,} fills",
            )
        )
    return html_parts.table(("", "value"), rows)


def _equity(data: ReportData) -> str:
    def draw(contest: ContestReport) -> Callable[[Axes], None]:
        def plot(ax: Axes) -> None:
            for member, curve in contest.equity_curves.items():
                ax.plot(
                    html_parts.days(contest.dates[: len(curve)]), curve, label=member, linewidth=1.2
                )
            ax.set_ylabel("equity")
            ax.legend(fontsize=7, ncol=2)

        return plot

    return _per_contest(data, lambda c: html_parts.figure(draw(c), title=c.name, dates=True))


def _returns(data: ReportData) -> str:
    def figure(contest: ContestReport) -> str:
        def plot(ax: Axes) -> None:
            returns = np.array(contest.final_returns) * 100
            ax.hist(returns, bins=min(40, max(5, len(returns) // 5)), color="#4c72b0")
            ax.axvline(float(np.median(returns)) if returns.size else 0, color="k", linestyle="--")
            ax.set_xlabel("total return (%)")
            ax.set_ylabel("members")

        return html_parts.figure(plot, title=f"{contest.name} (dashed: median)")

    return _per_contest(data, figure)


def _leaderboard(data: ReportData) -> str:
    def figure(contest: ContestReport) -> str:
        def plot(ax: Axes) -> None:
            for member, ranks in contest.rank_history.items():
                ax.plot(
                    html_parts.days(contest.dates[: len(ranks)]), ranks, label=member, linewidth=1.2
                )
            ax.invert_yaxis()
            ax.set_ylabel("rank")
            ax.legend(fontsize=7, ncol=2)

        rows = [
            (r.rank, r.member, r.team or "", r.metric, f"{r.total_return:.2%}")
            for r in contest.leaderboard
        ]
        table = html_parts.table(("rank", "member", "team", "metric", "return"), rows)
        return html_parts.figure(plot, title=contest.name, dates=True) + table

    return _per_contest(data, figure)


def _orders(data: ReportData) -> str:
    def figure(contest: ContestReport) -> str:
        rules = sorted(contest.orders_rejected, key=contest.orders_rejected.__getitem__)

        def plot(ax: Axes) -> None:
            y = np.arange(len(rules))
            ax.barh(y, [contest.orders_rejected[r] for r in rules], color="#c44e52")
            ax.set_yticks(y, rules, fontsize=8)
            ax.set_xlabel("orders refused")

        styles = html_parts.table(
            ("bot style", "orders sent"),
            [(style, n) for style, n in sorted(contest.orders_by_style.items())],
        )
        refused = sum(contest.orders_rejected.values())
        note = (
            f"<p>{contest.orders_accepted:,} orders accepted, {refused:,} refused by the rules, "
            f"{contest.fills:,} fills.</p>"
        )
        chart = html_parts.figure(plot, title=f"{contest.name}: refusals by rule") if rules else ""
        return f"<h3>{html_parts.escape(contest.name)}</h3>" + note + styles + chart

    return _per_contest(data, figure)


def _pk(data: ReportData) -> str:
    if not data.pk:
        return html_parts.note(NO_CONTESTS)
    return "".join(_pk_contest(pk) for pk in data.pk)


def _pk_contest(pk: PkReport) -> str:
    table = html_parts.table(
        ("rank", "team", "points", "W", "D", "L"),
        [(t.rank, t.team, f"{t.points:g}", t.wins, t.draws, t.losses) for t in pk.standings],
    )
    rounds = sorted({m.round for m in pk.matches})

    def plot(ax: Axes) -> None:
        wins: list[int] = []
        draws: list[int] = []
        for r in rounds:
            matches = [m for m in pk.matches if m.round == r]
            draws.append(sum(m.result == "draw" for m in matches))
            wins.append(len(matches) - draws[-1])
        ax.bar(rounds, wins, label="decided", color="#4c72b0")
        ax.bar(rounds, draws, bottom=wins, label="draw", color="#dd8452")
        ax.set_xlabel("PK round")
        ax.set_ylabel("matches")
        ax.legend(fontsize=8)

    chart = html_parts.figure(plot, title=f"{pk.contest}: matches per round") if rounds else ""
    return f"<h3>{html_parts.escape(pk.contest)}</h3>" + table + chart


def _participation(data: ReportData) -> str:
    daily = data.engagement

    def activity(ax: Axes) -> None:
        ax.plot(html_parts.days(daily.dates), daily.signed_up, label="signed up", color="#999")
        ax.plot(html_parts.days(daily.dates), daily.active, label="active", color="#4c72b0")
        ax.plot(
            html_parts.days(daily.dates),
            daily.check_ins,
            label="checked in",
            color="#55a868",
            linewidth=0.8,
        )
        ax.set_ylabel("members")
        ax.legend(fontsize=8)

    def streaks(ax: Axes) -> None:
        lengths = sorted(daily.streak_histogram)
        ax.bar(lengths, [daily.streak_histogram[n] for n in lengths], color="#8172b2")
        ax.set_xlabel("longest check-in streak (days)")
        ax.set_ylabel("members")

    activity_chart = html_parts.figure(activity, title="Members per day", dates=True)
    return activity_chart + html_parts.figure(streaks, title="Streaks")


def _leagues(data: ReportData) -> str:
    report = data.leagues
    if not report.weeks:
        return '<p class="note">No league week ended during the season.</p>'
    weeks = html_parts.table(
        ("week of", "cohorts", "members", "promoted", "demoted", "rewards", "points", "XP"),
        [
            (
                str(w.starts_on),
                w.cohorts,
                w.members,
                w.promoted,
                w.demoted,
                w.rewards,
                f"{w.reward_points:,}",
                f"{w.reward_xp:,}",
            )
            for w in report.weeks
        ],
    )
    moves = html_parts.table(
        ("tier", "promoted", "stayed", "demoted"),
        [(f"{tier} {tier_name(tier)}", up, stay, down) for tier, up, stay, down in report.moves],
    )

    def plot(ax: Axes) -> None:
        shown = np.array(report.tiers_after, dtype=np.float64)
        x = np.arange(1, len(shown) + 1)
        bottom = np.zeros(len(shown))
        for tier in range(shown.shape[1]):
            if shown[:, tier].any():
                ax.bar(x, shown[:, tier], bottom=bottom, label=tier_name(tier + 1))
                bottom += shown[:, tier]
        ax.set_xlabel("closed week")
        ax.set_ylabel("members entering the next week")
        ax.legend(fontsize=7, ncol=3)

    still = f"<p>{report.open_week_members} members are in the week still running at the end.</p>"
    chart = html_parts.figure(plot, title="Members per tier after each closed week")
    return weeks + "<h3>Tier movements over the season</h3>" + moves + chart + still


FILL_RULE = (
    "An order fills at the first minute bar that starts after it was accepted, never at the "
    "bar current when it was sent (no look-ahead): the bots see a bar once it has ended and "
    "their orders go in before the next one ends, so they meet the bar after that. Market "
    "orders take its open with slippage, kept inside the bar; limit orders fill when the bar "
    "reaches them. T+1, lots and price limits are the daily rules; the lunch break "
    "(11:30–13:00) has no bars, so a market order sent then is refused and a limit order "
    "queues for 13:00; day orders expire at 15:00."
)


def _intraday(data: ReportData) -> str:
    day = data.intraday
    if not day.ran:
        return html_parts.note("No intraday contest ran in this simulation (it needs A-shares).")
    refused = sum(day.orders_refused.values())
    sessions = ", ".join(d.isoformat() for d in day.days)
    facts = html_parts.table(
        ("", "value"),
        [
            ("Contest", f"{day.title}: {day.entrants} entrants, {day.symbols} symbols"),
            ("Sessions", f"{len(day.days)} ({sessions}), 09:30–11:30 and 13:00–15:00 Beijing"),
            ("Minute bars ticked", f"{day.bars_ticked:,}"),
            (
                "Orders placed",
                f"{day.orders_placed:,} ({day.market_orders:,} market, {day.limit_orders:,} "
                f"limit; {day.queued_in_break:,} queued in the lunch break)",
            ),
            ("Orders refused", f"{refused:,}"),
            ("Orders filled", f"{day.orders_filled:,} ({day.fills:,} fills)"),
            ("Orders expired at the close", f"{day.orders_expired:,}"),
            ("Fills in the lunch break", day.fills_in_break),
            ("Fills outside their bar's low–high", day.fills_outside_bar),
            ("Fills on a bar that started before the order", day.fills_before_acceptance),
            ("Prizes paid", f"{day.prizes_paid} ({day.prize_points:,} points)"),
            ("Time the phase took", f"{day.seconds:.1f} s wall, {day.cpu_seconds:.1f} s CPU"),
        ],
    )
    rules = html_parts.table(
        ("rule", "orders refused"), [(rule, n) for rule, n in day.orders_refused.items()]
    )
    top = html_parts.table(
        ("rank", "member", "total return"),
        [(row.rank, row.member, row.metric) for row in day.leaderboard],
    )
    return (
        f"<p>{html_parts.escape(FILL_RULE)}</p>"
        + facts
        + ("<h3>Refusals by rule</h3>" + rules if day.orders_refused else "")
        + "<h3>Final ranking, top 5</h3>"
        + top
    )


def _quiz(data: ReportData) -> str:
    quiz = data.quiz
    if quiz.day is None:
        return '<p class="note">No quiz ran in this simulation.</p>'
    facts = html_parts.table(
        ("", "value"),
        [
            ("Quiz", f"{quiz.title} on {quiz.day}"),
            ("Questions", quiz.questions),
            ("Members who took it", quiz.takers),
            ("Prizes paid", f"{quiz.prizes} ({quiz.prize_points:,} points, {quiz.prize_xp:,} XP)"),
        ],
    )
    top = html_parts.table(
        ("rank", "member id", "correct", "time (s)"),
        [(rank, member, right, f"{ms / 1000:.1f}") for rank, member, right, ms in quiz.winners],
    )

    def plot(ax: Axes) -> None:
        scores = list(range(quiz.questions + 1))
        ax.bar(scores, [quiz.correct_histogram.get(n, 0) for n in scores], color="#55a868")
        ax.set_xlabel("correct answers")
        ax.set_ylabel("members")

    chart = html_parts.figure(plot, title="Correct answers per member") if quiz.takers else ""
    return facts + "<h3>Top of the leaderboard</h3>" + top + chart


def _points(data: ReportData) -> str:
    flow = data.points
    days = html_parts.days(flow.dates)
    weeks = days[::7]  # one bar a week: daily bars are too thin to read over a season

    def weekly(series: Sequence[int]) -> npt.NDArray[np.float64]:
        values = np.zeros(len(weeks) * 7)
        values[: len(series)] = series
        return values.reshape(-1, 7).sum(axis=1)

    def plot(ax: Axes) -> None:
        bottom = np.zeros(len(weeks))
        for reason, series in sorted(flow.minted.items()):
            values = weekly(series)
            ax.bar(weeks, values, bottom=bottom, label=f"minted: {reason}", width=6)
            bottom += values
        ax.bar(weeks, -weekly(flow.redeemed), label="redeemed", color="#c44e52", width=6)
        ax.axhline(0, color="k", linewidth=0.5)
        ax.set_ylabel("points per week")
        ax.legend(fontsize=7, ncol=3)

    def cumulative(ax: Axes) -> None:
        minted = np.cumsum(np.sum([np.array(s) for s in flow.minted.values()], axis=0))
        ax.plot(days, minted, label="minted")
        ax.plot(days, np.cumsum(flow.redeemed), label="redeemed")
        ax.plot(days, np.cumsum(flow.expired), label="expired")
        ax.set_ylabel("points, cumulative")
        ax.legend(fontsize=8)

    ledger = data.ledger
    table = html_parts.table(
        ("", "points"),
        [
            ("minted (ledger)", ledger.minted),
            ("redeemed (ledger)", ledger.redeemed),
            ("expired (ledger)", ledger.expired),
            ("outstanding", ledger.minted - ledger.redeemed - ledger.expired),
        ],
    )
    if not flow.minted:
        return table
    charts = html_parts.figure(plot, title="Minted and redeemed per week", dates=True)
    return (
        charts + html_parts.figure(cumulative, title="Cumulative, with expiry", dates=True) + table
    )


def _redemptions(data: ReportData) -> str:
    rows = [
        (
            f.name,
            f.cost_points,
            f.stock,
            f.attempts,
            f.completed,
            f"{f.completed / f.attempts:.0%}" if f.attempts else "–",
            ", ".join(f"{rule} {n}" for rule, n in f.refused.items()) or "–",
        )
        for f in data.funnels
    ]
    table = html_parts.table(
        ("item", "cost", "stock", "attempts", "completed", "conversion", "refused (rule)"), rows
    )

    def plot(ax: Axes) -> None:
        names = [f.name for f in data.funnels]
        y = np.arange(len(names))
        ax.barh(y, [f.attempts for f in data.funnels], color="#ccc", label="attempts")
        ax.barh(y, [f.completed for f in data.funnels], color="#55a868", label="completed")
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlabel("redemptions")
        ax.legend(fontsize=8)

    ledger = data.ledger
    share = ledger.redeemed / ledger.minted if ledger.minted else 0.0
    note = f"<p>{share:.1%} of the points minted were redeemed for rewards.</p>"
    return html_parts.figure(plot, title="Attempts and completions per item") + table + note


def _retention(data: ReportData) -> str:
    retention = data.retention
    if not retention.rounds:
        return html_parts.note("The season was shorter than one PK round.")

    def plot(ax: Axes) -> None:
        ax.plot(
            retention.rounds, np.array(retention.active_share) * 100, marker="o", label="active"
        )
        ax.plot(
            retention.rounds,
            np.array(retention.cohort_retained) * 100,
            marker="s",
            label="round-1 cohort still active",
        )
        for pk in data.pk:
            shown = pk.trading_share[: len(retention.rounds)]
            ax.plot(
                retention.rounds[: len(shown)],
                np.array(shown) * 100,
                marker=".",
                linestyle="--",
                label=f"team members trading: {pk.contest}",
            )
        ax.set_xlabel("PK round")
        ax.set_ylabel("% of members")
        ax.set_ylim(0, 105)
        ax.legend(fontsize=8)

    return html_parts.figure(plot, title="Weekly retention")


def _pct(rate: Rate) -> str:
    return f"{rate.value:.1%} ({rate.successes:,}/{rate.trials:,})"


def _lift(lift: Lift | None) -> str:
    if lift is None:
        return "control"
    return (
        f"{lift.difference * 100:+.1f} pp [{lift.low * 100:+.1f}, {lift.high * 100:+.1f}], "
        f"p = {lift.p_value:.3f}"
    )


def _experiment(data: ReportData) -> str:
    ab = data.experiment
    if ab is None:
        return html_parts.note("No A/B test ran in this simulation.")
    rows = [
        (
            v.name,
            v.members,
            _pct(v.participation),
            _lift(v.participation_lift),
            _pct(v.d1),
            _lift(v.d1_lift),
            _pct(v.d7),
            _lift(v.d7_lift),
        )
        for v in ab.results.variants
    ]
    table = html_parts.table(
        ("variant", "members", "participation", "lift", "D1", "lift", "D7", "lift"), rows
    )
    rewards = ", ".join(
        f"{v.name} {v.reward or ab.campaign.spec.reward} points"
        for v in ab.results.experiment.variants
    )
    c = ab.campaign
    refused = ", ".join(f"{rule} {n:,}" for rule, n in ab.refused.items()) or "none"
    return (
        f"<p>Weekly bonus per variant: {html_parts.escape(rewards)}. Budget "
        f"{c.spec.budget:,} points: {c.spent:,} spent in {c.grants:,} grants, "
        f"{c.remaining:,} left; refused grants: {html_parts.escape(refused)}.</p>"
        + table
        + html_parts.note(
            "Lift: the variant's rate minus the control's in percentage points, with its 95 % "
            "interval and the two-sided p-value of the two-proportion z-test. The bots' response "
            f"is modelled: the boost arm checks in {ab.assumed_uplift:.0%} more often while its "
            "bonus runs; the table is what the operator analytics measure from the database."
        )
    )


def _content(data: ReportData) -> str:
    c = data.content
    rows: list[tuple[Any, ...]] = [
        ("articles registered", c.registered),
        ("flagged as near-copies", c.near_duplicates),
        ("flagged for prohibited claims", c.compliance_flags),
        *((f"refused: {rule}", n) for rule, n in c.refused.items()),
        ("anchor batches", c.batches),
        ("certificates anchored", c.certificates),
        ("of them final", c.final),
        ("still pending", c.pending),
        ("gas used", c.gas_used),
        ("gas per certificate", f"{c.gas_per_certificate:,.0f}"),
    ]
    return html_parts.table(("", "count"), rows)


def _ledger(data: ReportData) -> str:
    ledger = data.ledger
    rows = [
        (asset, total, ledger.pending_totals.get(asset, 0))
        for asset, total in sorted(ledger.trial_balance.items())
    ]
    verdict = (
        f"verify: ok over {ledger.transfers} transfers"
        if not ledger.verify_errors
        else f"verify: {len(ledger.verify_errors)} errors: " + "; ".join(ledger.verify_errors[:10])
    )
    return f"<p>{html_parts.escape(verdict)}</p>" + html_parts.table(
        ("asset", "posted total", "pending total"), rows
    )


def _more(result: CheckResult) -> str:
    return f" … and {result.unlisted} more" if result.unlisted else ""


def _checks(data: ReportData) -> str:
    report = data.checks
    rows = [
        (r.name, "ok" if r.ok else "FAIL", r.problem_count, f"{r.seconds:.2f}", r.description)
        for r in report.results
    ]
    problems = "".join(
        "<p>" + html_parts.escape(f"{r.name}: {'; '.join(r.problems)}{_more(r)}") + "</p>"
        for r in report.failed
    )
    return html_parts.table(("check", "ok", "problems", "seconds", "invariant"), rows) + problems


_RENDERERS: dict[str, Callable[[ReportData], str]] = {
    "summary": _summary,
    "equity": _equity,
    "returns": _returns,
    "leaderboard": _leaderboard,
    "orders": _orders,
    "pk": _pk,
    "participation": _participation,
    "points": _points,
    "leagues": _leagues,
    "quiz": _quiz,
    "intraday": _intraday,
    "redemptions": _redemptions,
    "retention": _retention,
    "experiment": _experiment,
    "content": _content,
    "ledger": _ledger,
    "checks": _checks,
}


# --- helpers ----------------------------------------------------------------------------------


def _per_contest(data: ReportData, render: Callable[[ContestReport], str]) -> str:
    if not data.contests:
        return html_parts.note(NO_CONTESTS)
    return "".join(render(contest) for contest in data.contests)


def _nav() -> str:
    return (
        "<nav>"
        + "".join(f'<a href="#{k}">{html_parts.escape(t)}</a>' for k, t in SECTIONS)
        + "</nav>"
    )

"""A small world in which every invariant check has something to check, and the ways to corrupt
each kind of derived state it checks, straight in the database (what no service would do).

The world: a contest with four members that trade over four clock ticks, check-ins with a
streak and a gap, certified content in a final batch and an anchored one on a
``FakeRegistry``, an erased member, and two operator actions in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from api import privacy
from contracts import anchoring, registration
from contracts.checks import CheckContext
from contracts.uow import ContentUnitOfWork
from core.audit import services as audit
from core.audit.model import AuditDraft
from core.audit.services import AuditUnitOfWork
from core.checks import CheckReport
from core.db import Database
from core.privacy.services import PrivacyUnitOfWork
from core.users.model import Role, User
from core.users.store import UserRepository
from engine import clock
from engine.contests import entries
from engine.contests.metric_state import MetricState
from engine.contests.model import Contest
from engine.contests.spec import Qualification
from engine.contests.store_standings import StandingsRepository
from engine.leagues import services as leagues
from engine.leagues.uow import LeagueUnitOfWork
from engine.trading import order_desk
from engine.trading.store_accounts import TradingRepository
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.campaigns import services as campaigns
from ledger.campaigns.uow import CampaignUnitOfWork
from ledger.model import points_account
from ledger.quizzes import services as quizzes
from ledger.quizzes.uow import QuizUnitOfWork
from ledger.services import LedgerUnitOfWork
from tests import campaign_builders as campaign_build
from tests import contest_builders as build
from tests import league_builders as league_build
from tests import quiz_builders as quiz_build
from tests.contest_builders import NOW
from tests.engine_builders import request
from tests.fake_chain import FakeRegistry

CHECK_INS_FROM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class CheckWorld:
    database: Database
    registry: FakeRegistry
    contest: Contest
    members: list[User]

    def context(self) -> CheckContext:
        return CheckContext(self.database.sessions, chain=self.registry.reader)


def add_user(database: Database, name: str, *roles: Role) -> User:
    """A user without a usable password (hashing one costs ~0.3 s; these never sign in)."""
    with database.sessions.begin() as session:
        return UserRepository(session).add(
            username=name,
            display_name=name,
            password_hash="!",
            roles=list(roles or (Role.MEMBER,)),
            now=NOW,
        )


def build_world(database: Database, operator: User | None = None) -> CheckWorld:
    uow = EngineUnitOfWork(database.sessions)
    operator = operator or add_user(database, "checks-operator", Role.OPERATOR)
    season = build.season(uow, operator, days=12, count=3)
    contest = build.contest(uow, season, qualification=Qualification(min_trades=1))
    members = [add_user(database, f"checks-member{i}") for i in range(4)]
    for member in members:
        entries.join_contest(uow, contest.id, member.id, now=NOW)
    symbols = list(contest.universe)
    clock.advance_clock(uow, contest.id, now=NOW)
    for member, symbol, qty in zip(members[:3], symbols, ("1000", "500", "800"), strict=True):
        order_desk.place_order(uow, contest.id, member.id, request(symbol=symbol, qty=qty))
    clock.advance_clock(uow, contest.id, bars=2, now=NOW)
    order_desk.place_order(uow, contest.id, members[0].id, request("sell", symbol=symbols[0]))
    clock.advance_clock(uow, contest.id, now=NOW)

    ledger = LedgerUnitOfWork(database.sessions)
    for member, days in ((members[0], (0, 1, 2)), (members[1], (0, 2, 3)), (members[2], (1,))):
        for day in days:
            engagement.check_in(ledger, member.id, now=CHECK_INS_FROM + timedelta(days=day))

    quizzing = QuizUnitOfWork(database.sessions)
    quiz_id = quiz_build.quiz(quizzing, operator.id, quiz_build.bank(quizzing, operator.id))
    quiz_build.take(quizzing, quiz_id, members[0].id, right=2)  # finished: 2 right, 1 wrong
    quizzes.start_attempt(quizzing, quiz_id, members[1].id, now=quiz_build.OPENS)

    campaigning = CampaignUnitOfWork(database.sessions)
    campaign_build.points_campaign(campaigning, operator.id, key="checks")
    campaigns.grant(
        campaigning, "checks", members[2].id, operation="one", now=campaign_build.DURING
    )
    league = LeagueUnitOfWork(database.sessions)
    week = leagues.open_week(league, now=league_build.WEEK0)  # the members, scored 0: by id
    leagues.close_week(league, week.id, now=league_build.WEEK1)

    registry = FakeRegistry()
    pieces = ContentUnitOfWork(database.sessions)
    for batch in range(2):
        for i in range(2):
            registration.register_content(
                pieces,
                members[3].id,
                title=f"note {batch}.{i}",
                content=f"Batch {batch}, note {i}: margins widen.".encode(),
                content_type="text/plain",
            )
        anchoring.anchor_pending(pieces, registry)
        if batch == 0:  # the first batch becomes final, the second stays anchored
            registry.mine(3)
            assert anchoring.refresh_finality(pieces, registry, confirmations=3).finalized
    erased = add_user(database, "checks-erased")
    privacy.erase(
        PrivacyUnitOfWork(database.sessions), erased.id, operator_id=operator.id, reason="asked"
    )

    for member in members[:2]:  # operator actions in the audit log
        draft = AuditDraft(operator.id, "user.set_roles", f"user:{member.id}", after=["member"])
        audit.record(AuditUnitOfWork(database.sessions), draft, now=NOW)
    return CheckWorld(database, registry, contest, members)


def failed(report: CheckReport) -> dict[str, tuple[str, ...]]:
    """Failing check name → its problems."""
    return {result.name: result.problems for result in report.failed}


# --- corruptions, one per kind of derived state --------------------------------------------


def _execute(world: CheckWorld, sql: str, **params: object) -> None:
    with world.database.engine.begin() as connection:
        assert connection.execute(text(sql), params).rowcount == 1, sql


def corrupt_cash(world: CheckWorld) -> str:
    """One account's stored cash, a cent off its fills (through the mapping: SQLite stores
    money as scaled integers)."""
    with world.database.sessions.begin() as session:
        account = TradingRepository(session).account(world.contest.id, world.members[0].id)
        assert account is not None
        account.cash += Decimal("0.01")
    return "cash: stored"


def corrupt_metric_state(world: CheckWorld) -> str:
    """The stored running state counts a trade that no fill shows."""
    with world.database.sessions.begin() as session:
        standings = StandingsRepository(session)
        stored = standings.metric_state(world.contest.id)
        assert stored is not None
        state = MetricState.from_bytes(stored[1])
        state.counts["trades"] = state.counts["trades"] + 1
        standings.save_metric_state(world.contest.id, stored[0], state.to_bytes())
    return "count.trades: stored and rebuilt differ"


def corrupt_snapshot(world: CheckWorld) -> str:
    """The last snapshot's leader carries a rank its metric does not give."""
    _execute(
        world,
        "UPDATE leaderboard_snapshots SET rank = 99 "
        "WHERE contest_id = :c AND position = 1 AND tick = "
        "(SELECT max(tick) FROM leaderboard_snapshots WHERE contest_id = :c)",
        c=world.contest.id,
    )
    return "stored position 1 rank 99, ranked again position 1 rank 1"


def corrupt_balance(world: CheckWorld) -> str:
    """A member's stored points balance, 7 more than its transfers give."""
    account = points_account(world.members[0].id)
    _execute(
        world,
        "UPDATE ledger_balances SET credits_posted = credits_posted + 7 "
        "WHERE account = :a AND asset = 'POINTS'",
        a=account,
    )
    return f"balance {account} POINTS: stored"


def corrupt_streak(world: CheckWorld) -> str:
    """A member's latest check-in claims a longer streak than its days."""
    member = world.members[1].id  # checked in on days 0, 2, 3: a streak of 2
    _execute(
        world,
        "UPDATE ledger_checkins SET streak = 5 WHERE member_id = :m AND local_date = "
        "(SELECT max(local_date) FROM ledger_checkins WHERE member_id = :m)",
        m=member,
    )
    return f"check-in of member {member} on 2026-03-05: streak 5, its history gives 2"


def corrupt_quiz_answer(world: CheckWorld) -> str:
    """A wrong quiz answer stored as correct."""
    _execute(world, "UPDATE quiz_answers SET correct = :t WHERE position = 2", t=True)
    return (
        "question 2: stored on_time True correct True, its answer gives on_time True correct False"
    )


def corrupt_campaign(world: CheckWorld) -> str:
    """A campaign's budget given back without undoing its grant."""
    _execute(world, "UPDATE campaigns SET remaining = remaining + 10 WHERE key = 'checks'")
    return "campaign checks: remaining 100, budget 100 less grants 10 gives 90"
def corrupt_league_cohort(world: CheckWorld) -> str:
    """An empty second cohort in a tier whose members fit one."""
    _execute(
        world,
        "INSERT INTO league_cohorts (week_id, tier, number) "
        "SELECT week_id, tier, 99 FROM league_cohorts WHERE number = 1",
    )
    return "tier 1: cohort sizes [4, 0], the bounds give [4]"


def corrupt_league_payout(world: CheckWorld) -> str:
    """The first place's league reward stored larger than the week's reward table pays."""
    _execute(world, "UPDATE league_payouts SET points = points + 1 WHERE rank = 1")
    return "payouts differ from the reward table"


def corrupt_anchor(world: CheckWorld) -> str:
    """The final batch's recorded block time is not the time the chain anchored its root."""
    _execute(
        world,
        "UPDATE anchor_batches SET block_timestamp = block_timestamp + 1 WHERE status = 'final'",
    )
    return "the recorded block's time is"


def corrupt_review(world: CheckWorld) -> str:
    """An anchored piece that a review says was rejected."""
    _execute(
        world,
        "INSERT INTO content_reviews (content_id, for_compliance, for_near_duplicate, status, "
        "opened_at, decided_by, decided_at, decision_reason) SELECT id, true, false, "
        "'rejected', registered_at, author_id, registered_at, 'corrupt' FROM content_registrations "
        "WHERE id = (SELECT min(id) FROM content_registrations WHERE batch_id IS NOT NULL)",
    )
    return "(rejected in review) is"


def corrupt_erasure(world: CheckWorld) -> str:
    """The erased member's account is enabled again."""
    _execute(world, "UPDATE users SET is_active = :on WHERE username LIKE 'erased-%'", on=True)
    return "the account is not erased-"


def corrupt_audit(world: CheckWorld) -> str:
    """An audit entry inserted around the service, sealed with a made-up hash."""
    _execute(
        world,
        "INSERT INTO audit_entries (seq, at, actor_id, action, subject, request, before, after, "
        "prev_hash, hash) SELECT last_seq + 1, at, actor_id, action, subject, request, before, "
        "after, last_hash, :forged FROM audit_head, audit_entries WHERE seq = last_seq",
        forged="f" * 64,
    )
    return "audit seq 3: content does not match its hash"


CORRUPTIONS = (
    ("trading.books", corrupt_cash),
    ("contests.metric_state", corrupt_metric_state),
    ("contests.snapshot_ranks", corrupt_snapshot),
    ("ledger.books", corrupt_balance),
    ("ledger.streaks", corrupt_streak),
    ("ledger.quiz_attempts", corrupt_quiz_answer),
    ("ledger.campaign_budgets", corrupt_campaign),
    ("leagues.cohorts", corrupt_league_cohort),
    ("leagues.payouts", corrupt_league_payout),
    ("contracts.anchors", corrupt_anchor),
    ("contracts.reviews", corrupt_review),
    ("privacy.erasures", corrupt_erasure),
    ("core.audit_chain", corrupt_audit),
)

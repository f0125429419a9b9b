"""Segments at the service layer on both databases: onboarding answers, definitions and their
sizes, the behavioural-tag refresh, targeting refusals (quizzes, rewards, tasks, contests) and
the member's data rights (export and erasure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.privacy import SECTIONS
from core.clock import utc_now
from core.db import Database
from core.errors import Conflict, PermissionDenied, RuleViolation
from core.privacy import services as privacy
from core.privacy.services import PrivacyUnitOfWork
from core.segments import services as segments
from core.segments.model import TagThresholds
from core.segments.uow import SegmentsUnitOfWork
from core.users.model import Role, User
from engine import clock
from engine.contests import entries
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.segments.tags import refresh_tags
from engine.trading import order_desk
from engine.trading import services as trading
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.earning import Award, EarningRules, TaskRule
from ledger.quizzes import services as quizzes
from ledger.quizzes.services import QuizSpec
from ledger.quizzes.uow import QuizUnitOfWork
from ledger.services import LedgerUnitOfWork
from tests import contest_builders
from tests import quiz_builders as build
from tests.engine_builders import request

BOLD = {"answer": "risk_tolerance", "in": ["high"]}


@pytest.fixture
def uow(database: Database) -> SegmentsUnitOfWork:
    return SegmentsUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def _bold_segment(uow: SegmentsUnitOfWork, operator: User) -> None:
    segments.define_segment(uow, "bold", name="Bold", definition=BOLD, operator_id=operator.id)


def test_answers_are_stored_replaced_and_refused_whole(
    uow: SegmentsUnitOfWork, make_user: Callable[..., User]
) -> None:
    member = make_user()
    assert segments.get_onboarding(uow, member.id).revision == 0
    first = segments.submit_answers(
        uow, member.id, {"risk_tolerance": "high", "interests": ["etfs", "a_shares"]}
    )
    assert first.revision == 1
    assert first.answers == {"risk_tolerance": ("high",), "interests": ("a_shares", "etfs")}
    second = segments.submit_answers(uow, member.id, {"experience": "none"})
    assert second.revision == 2 and second.answers == {"experience": ("none",)}
    with pytest.raises(RuleViolation) as refused:
        segments.submit_answers(uow, member.id, {"experience": "none", "asset_band": "lots"})
    assert (refused.value.field, refused.value.rule) == ("answers.asset_band", "one_of")
    assert segments.get_onboarding(uow, member.id) == second  # nothing half-written


def test_segments_have_sizes_previews_and_unique_keys(
    uow: SegmentsUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    bold, timid = make_user(), make_user()
    segments.submit_answers(uow, bold.id, {"risk_tolerance": "high"})
    segments.submit_answers(uow, timid.id, {"risk_tolerance": "low"})
    not_bold = {"not": BOLD}
    assert segments.preview_size(uow, BOLD) == 1
    _bold_segment(uow, operator)
    made = segments.define_segment(
        uow, "careful", name="Careful", definition=not_bold, operator_id=operator.id
    )
    assert made.size == 2  # the timid member and the operator, who answered nothing
    assert {s.key: s.size for s in segments.list_segments(uow)} == {"bold": 1, "careful": 2}
    with pytest.raises(Conflict) as taken:
        _bold_segment(uow, operator)
    assert taken.value.extensions["rule"] == "segment_taken"
    with pytest.raises(RuleViolation) as bad:
        segments.define_segment(
            uow, "odd", name="Odd", definition={"all": [{"tag": "rich"}]}, operator_id=operator.id
        )
    assert (bad.value.field, bad.value.rule) == ("definition.all[0].tag", "one_of")
    with uow.reading():
        assert segments.members_of(uow.session, "bold") == {bold.id}
        assert segments.is_eligible(uow.session, bold.id, "bold")
        assert not segments.is_eligible(uow.session, timid.id, "bold")
        assert not segments.is_eligible(uow.session, bold.id, "deleted_since")
        assert segments.is_eligible(uow.session, timid.id, None)


RISKS = st.lists(st.sampled_from([None, "low", "medium", "high"]), min_size=1, max_size=4)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(risks=RISKS)
def test_members_of_agrees_with_is_eligible_and_the_size(
    uow: SegmentsUnitOfWork, operator: User, make_user: Callable[..., User], risks: list[str | None]
) -> None:
    key = f"s{abs(hash(tuple(risks))) % 10**9}"
    definition = {"any": [BOLD, {"answer": "risk_tolerance", "in": ["medium"]}]}
    if segments.preview_size(uow, definition) is not None and key not in {
        s.key for s in segments.list_segments(uow)
    }:
        segments.define_segment(uow, key, name=key, definition=definition, operator_id=None)
    for risk in risks:
        member = make_user()
        if risk is not None:
            segments.submit_answers(uow, member.id, {"risk_tolerance": risk})
    with uow.reading():
        inside = segments.members_of(uow.session, key)
        everyone = uow.segments.member_ids()
        assert inside == {m for m in everyone if segments.is_eligible(uow.session, m, key)}
    assert segments.get_segment(uow, key).size == len(inside)


def test_the_tag_refresh_is_idempotent_and_follows_activity(
    database: Database, make_user: Callable[..., User]
) -> None:
    engine_uow = EngineUnitOfWork(database.sessions)
    instruments = install_synthetic(
        engine_uow, Market.CN, count=2, seed=7, start=contest_builders.START, days=10
    )  # type: ignore[arg-type]
    venue = trading.create_venue(
        engine_uow,
        title="Tags cup",
        market=Market.CN,
        universe=[i.symbol for i in instruments],
        starting_cash=Decimal(1_000_000),
        trading_start=contest_builders.START,
        trading_end=contest_builders.START + timedelta(days=60),
    )
    trader, idle = make_user(), make_user()
    trading.open_account(engine_uow, venue.contest_id, trader.id)
    clock.advance_clock(engine_uow, venue.contest_id)
    order_desk.place_order(
        engine_uow, venue.contest_id, trader.id, request(symbol=instruments[0].symbol)
    )
    ledger = LedgerUnitOfWork(database.sessions)
    limits = TagThresholds(active_trader_orders=1, dormant_days=14, new_days=7, high_level=2)
    now = utc_now()
    first = refresh_tags(ledger, thresholds=limits, now=now)
    assert first.counts == {"active_trader": 1, "dormant": 0, "new": 2, "high_level": 0}
    uow = SegmentsUnitOfWork(database.sessions)
    with uow.reading():
        rows = {(r.user_id, r.tag): r.since for r in uow.segments.tag_rows()}
    assert rows.keys() == {(trader.id, "active_trader"), (trader.id, "new"), (idle.id, "new")}
    again = refresh_tags(ledger, thresholds=limits, now=now + timedelta(minutes=1))
    assert (again.added, again.removed, again.counts) == (0, 0, first.counts)
    with uow.reading():
        assert {(r.user_id, r.tag): r.since for r in uow.segments.tag_rows()} == rows
    later = refresh_tags(ledger, thresholds=limits, now=now + timedelta(days=15))
    assert later.counts == {"active_trader": 0, "dormant": 2, "new": 0, "high_level": 0}
    assert (later.added, later.removed) == (2, 3)
    assert segments.tag_counts(uow)["dormant"] == 2


def test_targets_refuse_members_outside_the_segment(
    database: Database, uow: SegmentsUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    inside, outside = make_user(), make_user()
    segments.submit_answers(uow, inside.id, {"risk_tolerance": "high"})
    _bold_segment(uow, operator)
    ledger = LedgerUnitOfWork(database.sessions)

    # Quizzes: an unknown target is refused at scheduling, an outsider at the attempt.
    quiz_uow = QuizUnitOfWork(database.sessions)
    ids = build.bank(quiz_uow, operator.id)
    now = utc_now()
    spec = QuizSpec(
        "Bold quiz",
        now - timedelta(minutes=1),
        now + timedelta(hours=1),
        20,
        tuple(ids),
        target_segment="nobody",
    )
    with pytest.raises(RuleViolation) as unknown:
        quizzes.create_quiz(quiz_uow, spec, operator_id=operator.id, now=spec.opens_at)
    assert (unknown.value.field, unknown.value.rule) == ("target_segment", "known_segment")
    quiz = quizzes.create_quiz(
        quiz_uow,
        QuizSpec(**{**_fields(spec), "target_segment": "bold"}),
        operator_id=operator.id,
        now=spec.opens_at,
    )
    quizzes.publish_quiz(quiz_uow, quiz.id, now=spec.opens_at)
    _refused(lambda: quizzes.start_attempt(quiz_uow, quiz.id, outside.id), "quiz_id")
    assert quizzes.start_attempt(quiz_uow, quiz.id, inside.id).member_id == inside.id

    # Rewards: redeem refused outside the segment, before any points move.
    engagement.award(ledger, inside.id, Award(points=100), award_id="seed:in", reason="grant")
    engagement.award(ledger, outside.id, Award(points=100), award_id="seed:out", reason="grant")
    item = engagement.create_item(
        ledger, key="bold-cap", name="Cap", cost_points=10, stock=5, target_segment="bold"
    )
    _refused(
        lambda: engagement.redeem(ledger, outside.id, item.id, redemption_id="r-out"), "item_id"
    )
    assert engagement.redeem(ledger, inside.id, item.id, redemption_id="r-in").item_id == item.id
    assert engagement.points_summary(ledger, outside.id).points.posted == 100

    # Tasks: not offered and not paid outside the segment; open tasks still are.
    rules = EarningRules(
        tasks={
            "bold-read": TaskRule("bold-read", "Read", Award(points=5), target_segment="bold"),
            "read": TaskRule("read", "Read", Award(points=5)),
        }
    )
    with pytest.raises(RuleViolation) as bad_task:
        engagement.set_earning_rules(
            ledger,
            EarningRules(tasks={"t": TaskRule("t", "T", Award(1), target_segment="nobody")}),
            operator_id=operator.id,
        )
    assert bad_task.value.field == "tasks.t.target_segment"
    engagement.set_earning_rules(ledger, rules, operator_id=operator.id)
    assert [t.key for t in engagement.offered_tasks(ledger, outside.id)] == ["read"]
    assert [t.key for t in engagement.offered_tasks(ledger, inside.id)] == ["bold-read", "read"]
    _refused(
        lambda: engagement.complete_task(ledger, outside.id, "bold-read", completion_id="t-out"),
        "task_key",
    )
    assert engagement.complete_task(ledger, inside.id, "bold-read", completion_id="t-in").points

    # Contests: join refused outside the segment.
    engine_uow = EngineUnitOfWork(database.sessions)
    season = contest_builders.season(engine_uow, operator, days=10, count=2)
    contest = contest_builders.contest(engine_uow, season, target_segment="bold")
    assert contest.target_segment == "bold"
    now_c = contest_builders.NOW
    _refused(
        lambda: entries.join_contest(engine_uow, contest.id, outside.id, now=now_c), "contest_id"
    )
    assert entries.join_contest(engine_uow, contest.id, inside.id, now=now_c).member_id == inside.id


def _fields(spec: QuizSpec) -> dict[str, object]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def _refused(action: Callable[[], object], field: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        action()
    extensions = refused.value.extensions
    assert (extensions["field"], extensions["rule"], extensions["segment"]) == (
        field,
        "segment_required",
        "bold",
    )


def test_answers_and_tags_are_exported_and_erased(
    database: Database, uow: SegmentsUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    member = make_user()
    segments.submit_answers(uow, member.id, {"risk_tolerance": "high"})
    refresh_tags(LedgerUnitOfWork(database.sessions), now=utc_now())
    _bold_segment(uow, operator)
    rights = PrivacyUnitOfWork(database.sessions)
    exported = privacy.export_member(rights, member.id, sections=SECTIONS)
    section = exported["sections"]["segments"]
    assert section["onboarding"][0]["answers"] == {"risk_tolerance": "high"}
    assert [t["tag"] for t in section["tags"]] == ["new"]
    outcome = privacy.erase_member(
        rights, member.id, sections=SECTIONS, blockers=(), operator_id=operator.id, reason="asked"
    )
    assert outcome is not None
    assert segments.get_onboarding(uow, member.id).revision == 0
    with uow.reading():
        assert uow.segments.tags_of(member.id) == frozenset()
        assert member.id not in segments.members_of(uow.session, "bold")

"""Campaigns at the service layer on both databases: the budget charged with the ledger
transfer (never overspent, refused whole), caps in the member's local calendar, sticky
variants changing the reward, and the experiment's results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import Database
from core.errors import Conflict, NotFound, RuleViolation
from core.users.model import Role, User
from ledger import engagement
from ledger.campaigns import model
from ledger.campaigns import services as campaigns
from ledger.campaigns.checks import budget_problems
from ledger.campaigns.model import CapPeriod, FrequencyCap
from ledger.campaigns.uow import CampaignUnitOfWork
from ledger.earning import Award, EarningRules, TaskRule
from ledger.services.verification import verify
from tests import campaign_builders as build
from tests.campaign_builders import DURING, ENDS, STARTS


@pytest.fixture
def uow(database: Database) -> CampaignUnitOfWork:
    return CampaignUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def _points(uow: CampaignUnitOfWork, member_id: int) -> int:
    return engagement.points_summary(uow, member_id).points.posted


def _rule(error: BaseException) -> str:
    assert isinstance(error, RuleViolation | Conflict | NotFound), error
    return str(error.extensions.get("rule"))


@given(amounts=st.lists(st.integers(1, 40), min_size=1, max_size=10))
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_the_budget_is_never_overspent(
    uow: CampaignUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    amounts: list[int],
) -> None:
    """Arbitrary grant sizes against a budget of 100: a grant that fits is paid and charged,
    one that does not is refused whole; remaining ≥ 0 and spent = points paid ≤ budget."""
    key = f"c{abs(hash(tuple(amounts))) % 10**9}-{len(amounts)}"
    member = make_user()
    paid = 0
    status = build.points_campaign(uow, operator.id, key=key, budget=100, reward=1)
    remaining = status.remaining
    for index, amount in enumerate(amounts):
        with uow:  # the reward of the next grant (operators cannot edit it; tests may)
            row = uow.campaigns.campaign(key)
            assert row is not None
            row.reward = amount
            uow.commit()
        before = _points(uow, member.id)
        try:
            campaigns.grant(uow, key, member.id, operation=f"op{index}", now=DURING)
        except Conflict as error:
            assert _rule(error) == "campaign_budget_exhausted" and amount > remaining
            assert _points(uow, member.id) == before
        else:
            assert amount <= remaining
            remaining -= amount
            paid += amount
        now = campaigns.get_campaign(uow, key)
        assert now.remaining == remaining >= 0
        assert now.spent == paid == 100 - remaining
    assert budget_problems(uow) == []
    assert verify(uow).ok


def test_a_replayed_operation_pays_once(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    member, other = make_user(), make_user()
    build.points_campaign(uow, operator.id)
    first = campaigns.grant(uow, "spring", member.id, operation="x", now=DURING)
    again = campaigns.grant(uow, "spring", member.id, operation="x", now=DURING)
    assert first == again and _points(uow, member.id) == 10
    assert campaigns.get_campaign(uow, "spring").remaining == 90
    with pytest.raises(Conflict):
        campaigns.grant(uow, "spring", other.id, operation="x", now=DURING)


def test_item_budget_and_stock(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    build.item_campaign(uow, operator.id, budget=2, stock=5)
    members = [make_user() for _ in range(3)]
    for index, member in enumerate(members[:2]):
        campaigns.grant(uow, "mugs", member.id, operation=str(index), now=DURING)
    with pytest.raises(Conflict) as excinfo:
        campaigns.grant(uow, "mugs", members[2].id, operation="2", now=DURING)
    assert _rule(excinfo.value) == "campaign_budget_exhausted"
    with uow.reading():
        assert engagement.stock_left(uow, "mug") == 3
    assert budget_problems(uow) == [] and verify(uow).ok


def test_out_of_stock_refuses_without_charging(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    build.item_campaign(uow, operator.id, budget=5, stock=1)
    campaigns.grant(uow, "mugs", make_user().id, operation="1", now=DURING)
    with pytest.raises(RuleViolation) as excinfo:
        campaigns.grant(uow, "mugs", make_user().id, operation="2", now=DURING)
    assert _rule(excinfo.value) == "in_stock"
    assert campaigns.get_campaign(uow, "mugs").remaining == 4


def test_daily_cap_counts_in_the_members_zone(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    """Cap 1 a day. 15:30 and 16:30 UTC on 2 June are two local days in Shanghai (the
    campaign's zone, 23:30 and 00:30) but one in New York (11:30 and 12:30)."""
    shanghai, new_york = make_user(), make_user()
    campaigns.set_member_timezone(uow, new_york.id, "America/New_York", now=STARTS)
    build.points_campaign(uow, operator.id, cap=FrequencyCap(1, CapPeriod.DAY))
    evening = STARTS + timedelta(days=1, hours=15, minutes=30)  # 23:30 Shanghai, 11:30 NY
    late = STARTS + timedelta(days=1, hours=16, minutes=30)  # 00:30 Shanghai next day, 12:30 NY
    # Shanghai: two local days, both paid
    campaigns.grant(uow, "spring", shanghai.id, operation="s1", now=evening)
    second = campaigns.grant(uow, "spring", shanghai.id, operation="s2", now=late)
    assert second.local_period == "2026-06-03"
    # New York: one local day, the second refused
    made = campaigns.grant(uow, "spring", new_york.id, operation="n1", now=evening)
    assert made.local_period == "2026-06-02"
    with pytest.raises(Conflict) as excinfo:
        campaigns.grant(uow, "spring", new_york.id, operation="n2", now=late)
    assert _rule(excinfo.value) == "frequency_cap_reached"
    assert campaigns.get_campaign(uow, "spring").remaining == 70  # the refusal charged nothing


def test_weekly_cap_and_the_window(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    member = make_user()
    build.points_campaign(uow, operator.id, cap=FrequencyCap(2, CapPeriod.WEEK), timezone="UTC")
    monday = STARTS  # 2026-06-01 is a Monday
    for day in range(2):
        campaigns.grant(
            uow, "spring", member.id, operation=f"w{day}", now=monday + timedelta(days=day)
        )
    with pytest.raises(Conflict):
        campaigns.grant(uow, "spring", member.id, operation="w2", now=monday + timedelta(days=6))
    campaigns.grant(uow, "spring", member.id, operation="w7", now=monday + timedelta(days=7))
    with pytest.raises(RuleViolation) as excinfo:
        campaigns.grant(uow, "spring", member.id, operation="late", now=ENDS)
    assert _rule(excinfo.value) == "campaign_window"


def test_set_up_refusals(uow: CampaignUnitOfWork, operator: User) -> None:
    build.points_campaign(uow, operator.id)
    with pytest.raises(Conflict):
        build.points_campaign(uow, operator.id)
    with pytest.raises(RuleViolation) as excinfo:
        build.points_campaign(uow, operator.id, key="other", experiment_key="nope")
    assert _rule(excinfo.value) == "known_experiment"
    with pytest.raises(RuleViolation) as excinfo:
        build.points_campaign(uow, operator.id, key="zone", timezone="Mars/Olympus")
    assert _rule(excinfo.value) == "iana_time_zone"
    with pytest.raises(RuleViolation) as excinfo:
        build.points_campaign(uow, operator.id, key="big", budget=5, reward=6)
    assert _rule(excinfo.value) == "range"
    with pytest.raises(NotFound):
        campaigns.grant(uow, "none", operator.id, operation="x", now=DURING)


def test_variants_are_sticky_change_the_reward_and_are_measured(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    build.ab_experiment(uow, operator.id)
    build.points_campaign(uow, operator.id, budget=10_000, experiment_key="bonus")
    members = [make_user() for _ in range(6)]
    for member in members:
        variant = model.assign("bonus", member.id, build_variants())
        made = campaigns.grant(uow, "spring", member.id, operation=f"g{member.id}", now=DURING)
        assert made.variant == variant.name and made.amount == variant.reward
        assert _points(uow, member.id) == variant.reward
        assert campaigns.expose(uow, "bonus", member.id, now=ENDS) == variant.name
    assert campaigns.expose_many(uow, "bonus", [m.id for m in members], now=ENDS) == {
        m.id: model.assign("bonus", m.id, build_variants()).name for m in members
    }
    # retention: check in the day after the first exposure (local day in Shanghai)
    engagement.check_in(uow, members[0].id, now=DURING + timedelta(days=1))
    results = campaigns.experiment_results(uow, "bonus")
    assert sum(v.members for v in results.variants) == 6
    assert all(v.participation.value == 1.0 for v in results.variants)
    assert sum(v.d1.successes for v in results.variants) == 1
    assert results.variants[0].participation_lift is None
    assert results.variants[1].d1_lift is not None


def build_variants() -> tuple[model.Variant, ...]:
    return (model.Variant("a", 1, reward=5), model.Variant("b", 1, reward=20))


def test_a_task_pays_its_campaign_bonus_once_and_keeps_paying_when_it_is_spent(
    uow: CampaignUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    task = TaskRule("review", "Weekly review", Award(points=30))
    engagement.set_earning_rules(
        uow, EarningRules(tasks={"review": task}), operator_id=operator.id, now=STARTS
    )
    build.ab_experiment(uow, operator.id)
    build.points_campaign(uow, operator.id, budget=20, reward=5, experiment_key="bonus")
    member = make_user()
    variant = model.assign("bonus", member.id, build_variants())
    first = campaigns.complete_task_with_bonus(
        uow, member.id, "review", completion_id="c1", campaign_key="spring", now=DURING
    )
    again = campaigns.complete_task_with_bonus(
        uow, member.id, "review", completion_id="c1", campaign_key="spring", now=DURING
    )
    assert first == again and first.bonus is not None and first.bonus.amount == variant.reward
    assert _points(uow, member.id) == 30 + (variant.reward or 0)
    results = [
        campaigns.complete_task_with_bonus(
            uow, member.id, "review", completion_id=f"c{n}", campaign_key="spring", now=DURING
        )
        for n in range(2, 6)
    ]
    assert results[-1].refused == "campaign_budget_exhausted" and results[-1].bonus is None
    paid_bonuses = sum(r.bonus.amount for r in [first, *results] if r.bonus is not None)
    assert paid_bonuses <= 20 and _points(uow, member.id) == 5 * 30 + paid_bonuses

"""Check-ins, tasks, referrals, levels, catalog and redemption on both databases."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.errors import Conflict, NotFound, RuleViolation
from core.users.model import Role, User
from ledger import engagement, services
from ledger.catalog import RedemptionStatus
from ledger.earning import Award, EarningRules, TaskRule
from ledger.engagement import AlreadyCheckedIn, OutOfStock
from ledger.levels import Level, Privileges
from ledger.model import (
    POINTS,
    InsufficientFunds,
    TransferRequest,
    inventory_account,
    item_asset,
    points_account,
)
from ledger.services import LedgerUnitOfWork

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def member(make_user: Callable[..., User]) -> User:
    return make_user(Role.MEMBER)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def rules(uow: LedgerUnitOfWork, operator: User, **changes: object) -> EarningRules:
    base = EarningRules(checkin=Award(10, 5), streak_bonuses={3: Award(30, 10)})
    return engagement.set_earning_rules(
        uow,
        EarningRules(**({f: getattr(base, f) for f in base.__dataclass_fields__} | changes)),  # type: ignore[arg-type]
        operator_id=operator.id,
    )


def points(uow: LedgerUnitOfWork, member: User) -> int:
    return services.balance(uow, points_account(member.id), POINTS).available


def test_one_check_in_per_local_day_with_streak_bonus(
    ledger_uow: LedgerUnitOfWork, member: User, operator: User
) -> None:
    rules(ledger_uow, operator)
    first = engagement.check_in(ledger_uow, member.id, now=T0)
    assert (first.streak, first.points, first.xp) == (1, 10, 5)
    with pytest.raises(AlreadyCheckedIn):
        engagement.check_in(ledger_uow, member.id, now=T0 + timedelta(hours=2))
    engagement.check_in(ledger_uow, member.id, now=T0 + timedelta(days=1))
    third = engagement.check_in(ledger_uow, member.id, now=T0 + timedelta(days=2))
    assert (third.streak, third.points) == (3, 40)
    after_gap = engagement.check_in(ledger_uow, member.id, now=T0 + timedelta(days=4))
    assert after_gap.streak == 1
    assert points(ledger_uow, member) == 10 + 10 + 40 + 10
    assert services.verify(ledger_uow).ok


def test_check_ins_around_local_midnight(
    ledger_uow: LedgerUnitOfWork, member: User, operator: User
) -> None:
    rules(ledger_uow, operator, timezone="America/New_York")
    before = datetime(2026, 6, 1, 23, 59, tzinfo=NY)
    after = datetime(2026, 6, 2, 0, 1, tzinfo=NY)
    assert engagement.check_in(ledger_uow, member.id, now=before).local_date == "2026-06-01"
    second = engagement.check_in(ledger_uow, member.id, now=after)
    assert (second.local_date, second.streak) == ("2026-06-02", 2)
    with pytest.raises(AlreadyCheckedIn):  # 23:30 UTC is still June 2nd in New York
        engagement.check_in(ledger_uow, member.id, now=datetime(2026, 6, 2, 23, 30, tzinfo=UTC))


def test_streak_survives_the_dst_change(
    ledger_uow: LedgerUnitOfWork, member: User, operator: User
) -> None:
    rules(ledger_uow, operator, timezone="America/New_York")
    # Clocks jump from 02:00 to 03:00 on 2026-03-08: that local day has 23 hours.
    days = [datetime(2026, 3, day, 0, 30, tzinfo=NY) for day in (7, 8, 9)]
    streaks = [engagement.check_in(ledger_uow, member.id, now=d).streak for d in days]
    assert streaks == [1, 2, 3]
    late = datetime(2026, 3, 9, 23, 30, tzinfo=NY)  # 03:30 UTC on the 10th, local still the 9th
    with pytest.raises(AlreadyCheckedIn):
        engagement.check_in(ledger_uow, member.id, now=late)


def test_tasks_respect_window_and_caps(
    ledger_uow: LedgerUnitOfWork, member: User, operator: User
) -> None:
    T0 = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday: the next days share its ISO week
    quiz = TaskRule("quiz", "Answer the quiz", Award(20, 10), per_day_cap=2, per_week_cap=3)
    flash = TaskRule(
        "flash", "Limited time", Award(5, 0), starts_at=T0, ends_at=T0 + timedelta(hours=1)
    )
    rules(ledger_uow, operator, tasks={"quiz": quiz, "flash": flash})
    complete = lambda key, cid, when: engagement.complete_task(  # noqa: E731
        ledger_uow, member.id, key, completion_id=cid, now=when
    )
    complete("quiz", "c1", T0)
    assert complete("quiz", "c1", T0).id == "c1"  # a replay pays nothing more
    complete("quiz", "c2", T0)
    with pytest.raises(RuleViolation) as daily:
        complete("quiz", "c3", T0)
    assert daily.value.rule == "per_day_cap"
    complete("quiz", "c4", T0 + timedelta(days=1))
    with pytest.raises(RuleViolation) as weekly:
        complete("quiz", "c5", T0 + timedelta(days=2))
    assert weekly.value.rule == "per_week_cap"
    with pytest.raises(RuleViolation) as closed:
        complete("flash", "f1", T0 + timedelta(hours=2))
    assert closed.value.rule == "task_window"
    with pytest.raises(NotFound):
        complete("nope", "n1", T0)
    assert points(ledger_uow, member) == 3 * 20


def test_referral_pays_both_once_and_never_self(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User], operator: User
) -> None:
    rules(ledger_uow, operator, referral_inviter=Award(100, 0), referral_invitee=Award(50, 0))
    inviter, invitee = make_user(), make_user()
    with pytest.raises(RuleViolation):
        engagement.record_referral(ledger_uow, invitee_id=inviter.id, inviter_id=inviter.id)
    engagement.record_referral(ledger_uow, invitee_id=invitee.id, inviter_id=inviter.id)
    with pytest.raises(Conflict):
        engagement.record_referral(ledger_uow, invitee_id=invitee.id, inviter_id=operator.id)
    assert len(engagement.complete_referral(ledger_uow, invitee.id, now=T0)) == 2
    assert engagement.complete_referral(ledger_uow, invitee.id, now=T0)[0].seq  # replay: same
    assert (points(ledger_uow, inviter), points(ledger_uow, invitee)) == (100, 50)
    assert engagement.complete_referral(ledger_uow, operator.id, now=T0) == []


def test_level_ups_are_recorded_and_multiply_points(
    ledger_uow: LedgerUnitOfWork, member: User, operator: User
) -> None:
    engagement.set_levels(
        ledger_uow,
        [Level(1, "New", 0), Level(2, "Pro", 10, Privileges(points_multiplier=Decimal("1.5")))],
        operator_id=operator.id,
    )
    rules(ledger_uow, operator, checkin=Award(10, 10), streak_bonuses={})
    engagement.check_in(ledger_uow, member.id, now=T0)  # 10 XP: reaches level 2
    summary = engagement.points_summary(ledger_uow, member.id)
    assert (summary.level.number, summary.lifetime_xp, summary.next_level) == (2, 10, None)
    assert engagement.check_in(ledger_uow, member.id, now=T0 + timedelta(days=1)).points == 15


def test_redemption_rules_and_linked_stock(
    ledger_uow: LedgerUnitOfWork, member: User, operator: User
) -> None:
    ticket = engagement.create_item(
        ledger_uow,
        key="salon",
        name="Salon ticket",
        cost_points=30,
        stock=2,
        per_member_limit=1,
        now=T0,
    )
    vip = engagement.create_item(
        ledger_uow, key="vip", name="VIP", cost_points=1, stock=5, min_level=3, now=T0
    )
    later = engagement.create_item(
        ledger_uow,
        key="later",
        name="Later",
        cost_points=1,
        stock=5,
        valid_from=T0 + timedelta(days=9),
        now=T0,
    )
    redeem = lambda item, rid: engagement.redeem(  # noqa: E731
        ledger_uow, member.id, item.id, redemption_id=rid, now=T0
    )
    with pytest.raises(InsufficientFunds) as poor:
        redeem(ticket, "r1")
    assert poor.value.rule == "enough_points"
    services.transfer(
        ledger_uow,
        TransferRequest("g1", "system:issuance", points_account(member.id), POINTS, 100, "grant"),
    )
    done = redeem(ticket, "r2")
    assert done.status is RedemptionStatus.COMPLETED
    assert redeem(ticket, "r2") == done  # replay
    assert points(ledger_uow, member) == 70
    assert (
        services.balance(ledger_uow, inventory_account(member.id), item_asset("salon")).posted == 1
    )
    for item, rid, rule in (
        (ticket, "r3", "per_member_limit"),
        (vip, "r4", "min_level"),
        (later, "r5", "validity_window"),
    ):
        with pytest.raises(RuleViolation) as refused:
            redeem(item, rid)
        assert refused.value.rule == rule
    assert points(ledger_uow, member) == 70  # nothing written by the refusals
    assert services.verify(ledger_uow).ok


def test_out_of_stock(ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]) -> None:
    item = engagement.create_item(ledger_uow, key="one", name="Last one", cost_points=5, stock=1)
    a, b = make_user(), make_user()
    for m in (a, b):
        services.transfer(
            ledger_uow,
            TransferRequest(
                f"g{m.id}", "system:issuance", points_account(m.id), POINTS, 10, "grant"
            ),
        )
    engagement.redeem(ledger_uow, a.id, item.id, redemption_id="ra")
    with pytest.raises(OutOfStock):
        engagement.redeem(ledger_uow, b.id, item.id, redemption_id="rb")
    assert points(ledger_uow, b) == 10


def test_fulfilment_holds_then_fulfil_or_cancel(ledger_uow: LedgerUnitOfWork, member: User) -> None:
    item = engagement.create_item(
        ledger_uow, key="book", name="Book", cost_points=40, stock=3, needs_fulfilment=True
    )
    services.transfer(
        ledger_uow,
        TransferRequest("g", "system:issuance", points_account(member.id), POINTS, 100, "grant"),
    )
    first = engagement.redeem(ledger_uow, member.id, item.id, redemption_id="b1")
    second = engagement.redeem(ledger_uow, member.id, item.id, redemption_id="b2")
    assert first.status is second.status is RedemptionStatus.PENDING
    assert points(ledger_uow, member) == 20  # both held
    assert (
        engagement.resolve_redemption(ledger_uow, "b1", fulfil=True).status
        is RedemptionStatus.FULFILLED
    )
    assert (
        engagement.resolve_redemption(ledger_uow, "b2", fulfil=False).status
        is RedemptionStatus.CANCELLED
    )
    assert points(ledger_uow, member) == 60
    with pytest.raises(Conflict):
        engagement.resolve_redemption(ledger_uow, "b2", fulfil=True)
    assert services.verify(ledger_uow).ok

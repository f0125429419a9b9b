"""Bulk sign-up and bulk check-in, on both databases: each pays and records exactly what its
one-at-a-time counterpart does."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import Database
from core.users import services as users
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork
from ledger import engagement, services
from ledger.earning import Award, EarningRules
from ledger.levels import Level, Privileges
from ledger.services import LedgerUnitOfWork
from ledger.store.engagement import LevelEventRow

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Check-in days with a gap after the third, so streaks reset.
DAYS = [T0 + timedelta(days=n) for n in (0, 1, 2, 4, 5, 6, 7, 8, 9, 10)]


def publish(uow: LedgerUnitOfWork, operator: User) -> None:
    engagement.set_levels(
        uow,
        [Level(1, "New", 0), Level(2, "Pro", 30, Privileges(Decimal("1.5"))), Level(3, "Ace", 60)],
        operator_id=operator.id,
    )
    engagement.set_earning_rules(
        uow,
        EarningRules(checkin=Award(10, 10), streak_bonuses={3: Award(25, 5)}),
        operator_id=operator.id,
    )


def level_events(database: Database, member_id: int) -> list[tuple[int, int]]:
    with database.sessions() as session:
        rows = session.scalars(
            select(LevelEventRow).where(LevelEventRow.member_id == member_id)
        ).all()
        return sorted((row.level, row.lifetime_xp) for row in rows)


def test_check_in_many_pays_what_check_in_pays(
    ledger_uow: LedgerUnitOfWork, database: Database, make_user: Callable[..., User]
) -> None:
    publish(ledger_uow, make_user(Role.OPERATOR))
    alone, batched, other = make_user(), make_user(), make_user()
    for day in DAYS:
        single = engagement.check_in(ledger_uow, alone.id, now=day)
        many = engagement.check_in_many(ledger_uow, [batched.id, other.id], now=day)
        assert [(c.streak, c.points, c.xp) for c in many] == [
            (single.streak, single.points, single.xp)
        ] * 2
    assert [c.member_id for c in many] == [batched.id, other.id]
    alone_now, batched_now = (engagement.points_summary(ledger_uow, m.id) for m in (alone, batched))
    assert (batched_now.points, batched_now.lifetime_xp, batched_now.level) == (
        alone_now.points,
        alone_now.lifetime_xp,
        alone_now.level,
    )
    assert batched_now.level.number == 3
    # Streak bonuses on the third and sixth check-ins carry XP past 30 (to 35) and 60 (to 70).
    expected = [(2, 35), (3, 70)]
    assert level_events(database, batched.id) == level_events(database, alone.id) == expected
    assert services.verify(ledger_uow).ok


def test_check_in_many_skips_who_already_checked_in(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    first, second = make_user(), make_user()
    engagement.check_in(ledger_uow, first.id, now=T0)
    made = engagement.check_in_many(ledger_uow, [first.id, second.id, second.id], now=T0)
    assert [c.member_id for c in made] == [second.id]
    assert engagement.check_in_many(ledger_uow, [first.id, second.id], now=T0) == []
    assert engagement.check_in_many(ledger_uow, [], now=T0) == []
    assert services.trial_balance(ledger_uow).balanced


def test_create_users_all_share_one_password(users_uow: UsersUnitOfWork) -> None:
    made = users.create_users(
        users_uow,
        [NewAccount("Ann.Lee"), NewAccount("bob", "Bob", frozenset({Role.MEMBER, Role.AUTHOR}))],
        password="a shared secret",
        now=T0,
    )
    assert [(u.username, u.display_name, u.created_at) for u in made] == [
        ("ann.lee", "Ann.Lee", T0),
        ("bob", "Bob", T0),
    ]
    assert made[1].roles == {Role.MEMBER, Role.AUTHOR}
    for user in made:
        assert users.authenticate(users_uow, username=user.username, password="a shared secret")


def test_create_users_is_all_or_nothing(users_uow: UsersUnitOfWork) -> None:
    users.create_users(users_uow, [NewAccount("taken")], password="a shared secret")
    for batch in (["fresh", "taken"], ["fresh", "fresh"]):
        with pytest.raises(users.UsernameTaken):
            users.create_users(users_uow, [NewAccount(n) for n in batch], password="12345678")
        assert users.find_by_username(users_uow, "fresh") is None

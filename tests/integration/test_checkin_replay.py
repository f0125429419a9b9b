"""A check-in made with an operation id (from the request's Idempotency-Key) is found again by
that id: a retry whose stored response was lost gets the first check-in, even the next day."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from core.users.model import User
from ledger import engagement, services
from ledger.engagement import AlreadyCheckedIn
from ledger.model import POINTS, points_account
from ledger.services import LedgerUnitOfWork

T0 = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)  # the default rules count days in UTC


def test_the_same_operation_id_returns_the_first_check_in_on_any_day(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    member = make_user()
    first = engagement.check_in(ledger_uow, member.id, now=T0, operation_id="checkin:1:k")
    again = engagement.check_in(  # the retry arrives on the next local day
        ledger_uow, member.id, now=T0 + timedelta(seconds=2), operation_id="checkin:1:k"
    )
    assert again == first and first.points > 0
    balance = services.balance(ledger_uow, points_account(member.id), POINTS).available
    assert balance == first.points
    with pytest.raises(AlreadyCheckedIn):
        engagement.check_in(ledger_uow, member.id, now=T0, operation_id="checkin:1:other")
    with pytest.raises(AlreadyCheckedIn):
        engagement.check_in(ledger_uow, member.id, now=T0)


def test_another_members_operation_id_is_not_theirs(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    one, two = make_user(), make_user()
    engagement.check_in(ledger_uow, one.id, now=T0, operation_id="shared")
    made = engagement.check_in(ledger_uow, two.id, now=T0 + timedelta(days=2))
    assert made.member_id == two.id

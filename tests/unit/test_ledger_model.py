"""Pure ledger rules: request validation, FIFO expiry arithmetic, replay comparison."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from ledger.model import (
    ISSUANCE,
    MAX_AMOUNT,
    POINTS,
    XP,
    ResolvePending,
    TransferRequest,
    expirable_points,
    item_asset,
    stock_account,
)
from ledger.validation import check_request

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _request(**changes: object) -> TransferRequest:
    base = {
        "id": "t1",
        "debit": ISSUANCE,
        "credit": "member:1:points",
        "asset": POINTS,
        "amount": 10,
        "reason": "grant",
    }
    return TransferRequest(**(base | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes,field,rule",
    [
        ({"amount": 0}, "amount", "amount_range"),
        ({"amount": -5}, "amount", "amount_range"),
        ({"amount": 1.5}, "amount", "amount_range"),
        ({"amount": True}, "amount", "amount_range"),
        ({"amount": MAX_AMOUNT + 1}, "amount", "amount_range"),
        ({"credit": "member:1:cash"}, "credit", "known_account"),
        ({"credit": "alice"}, "credit", "known_account"),
        ({"credit": "member:0:points"}, "credit", "known_account"),
        ({"asset": "GOLD"}, "asset", "known_asset"),
        ({"credit": "member:1:xp"}, "credit", "asset_matches_account"),
        (
            {"credit": stock_account("ticket"), "asset": item_asset("coupon")},
            "credit",
            "asset_matches_account",
        ),
        ({"credit": ISSUANCE}, "credit", "accounts_must_differ"),
        ({"reason": "because"}, "reason", "known_reason"),
        ({"id": ""}, "id", "id_format"),
        ({"id": "x" * 129}, "id", "id_format"),
        ({"id": "has space"}, "id", "id_format"),
        ({"timeout_seconds": 60}, "timeout_seconds", "pending_only"),
        ({"pending": True, "timeout_seconds": 0}, "timeout_seconds", "timeout_range"),
        ({"metadata": {"blob": "x" * 5000}}, "metadata", "max_size"),
    ],
)
def test_malformed_requests_name_field_and_rule(changes: dict, field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_request(_request(**changes))
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_well_formed_requests_pass() -> None:
    check_request(_request())
    check_request(_request(credit="member:7:xp", asset=XP))
    check_request(
        _request(debit=ISSUANCE, credit=stock_account("ticket"), asset=item_asset("ticket"))
    )
    check_request(_request(pending=True, timeout_seconds=3600))
    check_request(ResolvePending(id="p1", pending_id="t1", post=True, amount=5))


def test_void_takes_no_amount() -> None:
    with pytest.raises(RuleViolation, match="omit amount"):
        check_request(ResolvePending(id="v", pending_id="t1", post=False, amount=5))


def _fifo_remaining(lots: list[tuple[int, datetime]], debited: int, cutoff: datetime) -> int:
    """Reference model: walk the lots, consuming debits from the earliest first."""
    left = debited
    remaining = 0
    for amount, earned_at in lots:
        used = min(amount, left)
        left -= used
        if earned_at <= cutoff:
            remaining += amount - used
    return remaining


@given(
    st.lists(st.integers(min_value=1, max_value=1000), max_size=12),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=12_000),
)
def test_expiry_takes_what_is_left_of_the_earliest_lots(
    amounts: list[int], cutoff_day: int, spent: int
) -> None:
    lots = [(amount, T0 + timedelta(days=i * 2)) for i, amount in enumerate(amounts)]
    debited = min(spent, sum(amounts))  # a member account never goes below zero
    cutoff = T0 + timedelta(days=cutoff_day)
    expiring = expirable_points(lots, debited, cutoff)
    assert expiring == _fifo_remaining(lots, debited, cutoff)
    assert 0 <= expiring <= sum(amounts) - debited  # never more than the balance


def test_earn_100_spend_60_expires_40() -> None:
    assert expirable_points([(100, T0)], 60, T0 + timedelta(days=1)) == 40

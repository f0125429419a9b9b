"""The backoff of failed sign-ins, as a pure function of the failures and the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.users.sign_in_limits import (
    FailureCount,
    LimitKind,
    limit_key,
    retry_after_header,
    wait_seconds,
)

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
MAX = timedelta(minutes=15)


@pytest.mark.parametrize(
    "failures,ago,wait",
    [
        (0, None, 0.0),
        (4, 0, 0.0),  # the free ones cost nothing
        (5, 0, 1.0),  # then 1 s, 2 s, 4 s … after the last failure
        (6, 0, 2.0),
        (8, 0, 8.0),
        (8, 3, 5.0),
        (8, 9, 0.0),
        (50, 0, 900.0),  # capped
        (10_000, 0, 900.0),
    ],
)
def test_each_failure_past_the_free_ones_doubles_the_wait(
    failures: int, ago: int | None, wait: float
) -> None:
    last = None if ago is None else NOW - timedelta(seconds=ago)
    count = FailureCount(failures, last)
    assert wait_seconds(count, free=5, max_delay=MAX, now=NOW) == wait


def test_the_first_delay_sets_the_scale() -> None:
    count = FailureCount(7, NOW)
    first = timedelta(seconds=30)
    assert wait_seconds(count, free=5, max_delay=MAX, now=NOW, first_delay=first) == 120.0


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert [retry_after_header(s) for s in (0.01, 1.0, 1.2, 899.5)] == [1, 1, 2, 900]


def test_keys_are_hashed_and_kinds_do_not_collide() -> None:
    user = limit_key(LimitKind.USERNAME, "1.2.3.4")
    address = limit_key(LimitKind.ADDRESS, "1.2.3.4")
    assert user != address and len(user) == 64 and "1.2.3.4" not in user

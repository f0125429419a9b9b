"""Failed sign-ins are limited per username and per address, in the database (every worker
sees the same counts), with backoff, and forgiven for the username on a right password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from core.users import services
from core.users.model import User
from core.users.services import InvalidCredentials, TooManySignIns, UsersUnitOfWork
from core.users.sign_in_limits import SignInLimits
from tests.conftest import PASSWORD

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
LIMITS = SignInLimits(per_username=3, per_address=5, window=timedelta(minutes=15))


def _try(uow: UsersUnitOfWork, username: str, password: str, at: float, address: str = "a") -> str:
    try:
        services.authenticate(
            uow,
            username=username,
            password=password,
            address=address,
            limits=LIMITS,
            now=T0 + timedelta(seconds=at),
        )
    except InvalidCredentials:
        return "401"
    except TooManySignIns as exc:
        return f"429:{exc.extensions['limit']}:{exc.retry_after}"
    return "ok"


def test_a_username_backs_off_then_the_right_password_works_again(
    users_uow: UsersUnitOfWork, make_user: Callable[..., User]
) -> None:
    name = make_user().username
    assert [_try(users_uow, name, "wrong-password", 0) for _ in range(3)] == ["401"] * 3
    assert _try(users_uow, name, "wrong-password", 0.5) == "429:username:1"
    assert _try(users_uow, name, PASSWORD, 0.5) == "429:username:1"  # not even checked
    assert _try(users_uow, name, "wrong-password", 1) == "401"  # waited 1 s: one more try
    assert _try(users_uow, name, PASSWORD, 2.5) == "429:username:1"  # 2 s after it now
    assert _try(users_uow, name, PASSWORD, 3) == "ok"
    # The right password forgave the username (not the address): three free failures again.
    again = [_try(users_uow, name, "wrong-password", 4, address="c") for _ in range(4)]
    assert again == ["401", "401", "401", "429:username:1"]


def test_failures_older_than_the_window_are_forgotten(
    users_uow: UsersUnitOfWork, make_user: Callable[..., User]
) -> None:
    name = make_user().username
    # Each try once the previous wait is over: 8 failures, the last at 31 s.
    tries = [_try(users_uow, name, "wrong-password", at) for at in (0, 0, 0, 1, 3, 7, 15, 31)]
    assert tries == ["401"] * 8
    assert _try(users_uow, name, PASSWORD, 62) == "429:username:1"  # 32 s after the last
    assert _try(users_uow, name, PASSWORD, 31 + 15 * 60) == "ok"  # all out of the window


def test_an_address_is_limited_across_usernames_unknown_ones_too(
    users_uow: UsersUnitOfWork, make_user: Callable[..., User]
) -> None:
    user = make_user()
    tries = [_try(users_uow, f"nobody{n}", "wrong-password", 0) for n in range(5)]
    assert tries == ["401"] * 5
    assert _try(users_uow, user.username, PASSWORD, 0) == "429:address:1"
    assert _try(users_uow, user.username, PASSWORD, 0, address="b") == "ok"


@pytest.mark.parametrize("name", ["No Such User!", "x" * 300, ""])
def test_malformed_usernames_are_counted_like_any_other(
    users_uow: UsersUnitOfWork, name: str
) -> None:
    tries = [_try(users_uow, name, "wrong-password", 0, address=f"z{n}") for n in range(4)]
    assert tries == ["401", "401", "401", "429:username:1"]

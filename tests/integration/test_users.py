"""User use cases on both databases."""

import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import Database
from core.errors import NotFound, RuleViolation
from core.users import services
from core.users.model import Role, User
from core.users.services import InvalidCredentials, UsernameTaken, UsersUnitOfWork
from tests.conftest import PASSWORD


def test_sign_up_then_authenticate(users_uow: UsersUnitOfWork) -> None:
    user = services.sign_up(users_uow, username="Alice", password=PASSWORD, display_name="Alice")
    assert user.username == "alice"
    assert user.roles == {Role.MEMBER}
    assert user.created_at.tzinfo is not None
    assert services.authenticate(users_uow, username="ALICE", password=PASSWORD) == user


@pytest.mark.parametrize(
    "username,password", [("alice", "wrong password"), ("nobody", PASSWORD), ("x", PASSWORD)]
)
def test_bad_credentials(users_uow: UsersUnitOfWork, username: str, password: str) -> None:
    services.sign_up(users_uow, username="alice", password=PASSWORD, display_name="Alice")
    with pytest.raises(InvalidCredentials):
        services.authenticate(users_uow, username=username, password=password)


def test_username_taken_case_insensitively(users_uow: UsersUnitOfWork) -> None:
    services.sign_up(users_uow, username="bob", password=PASSWORD, display_name="Bob")
    with pytest.raises(UsernameTaken):
        services.sign_up(users_uow, username="BOB", password=PASSWORD, display_name="Bob 2")


def test_roles_replaced_and_never_empty(users_uow: UsersUnitOfWork) -> None:
    user = services.sign_up(users_uow, username="carol", password=PASSWORD, display_name="C")
    updated = services.set_roles(users_uow, user.id, [Role.MEMBER, Role.AUTHOR])
    assert updated.roles == {Role.MEMBER, Role.AUTHOR}
    assert services.get_user(users_uow, user.id).roles == {Role.MEMBER, Role.AUTHOR}
    assert services.set_roles(users_uow, user.id, [Role.OPERATOR]).roles == {Role.OPERATOR}
    with pytest.raises(RuleViolation):
        services.set_roles(users_uow, user.id, [])
    with pytest.raises(NotFound):
        services.set_roles(users_uow, 10_000, [Role.MEMBER])


def test_bad_input_writes_nothing(users_uow: UsersUnitOfWork) -> None:
    with pytest.raises(RuleViolation):
        services.create_user(users_uow, username="dave", password="short", roles=[Role.MEMBER])
    with pytest.raises(RuleViolation):
        services.create_user(users_uow, username="dave", password=PASSWORD, roles=[])
    assert services.list_users(users_uow, after=None, limit=10) == ([], None)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(min_value=0, max_value=7), limit=st.integers(min_value=1, max_value=4))
def test_paging_visits_every_user_once_in_order(
    database: Database, make_user: Callable[..., User], count: int, limit: int
) -> None:
    uow = UsersUnitOfWork(database.sessions)
    existing = len(services.list_users(uow, after=None, limit=200)[0])
    for _ in range(count):
        make_user()
    seen, after = [], None
    while True:
        page, after = services.list_users(uow, after=after, limit=limit)
        assert len(page) <= limit
        seen += [u.id for u in page]
        if after is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == existing + count


@pytest.mark.postgres_only
def test_concurrent_sign_ups_of_one_name_create_one_user(pg_url: str) -> None:
    database = Database.connect(pg_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def sign_up() -> None:
        barrier.wait()
        try:
            services.sign_up(
                UsersUnitOfWork(database.sessions),
                username="racer",
                password=PASSWORD,
                display_name="Racer",
            )
            outcomes.append("created")
        except UsernameTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=sign_up) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["taken"] * 9
    assert (
        len(services.list_users(UsersUnitOfWork(database.sessions), after=None, limit=50)[0]) == 1
    )
    database.dispose()

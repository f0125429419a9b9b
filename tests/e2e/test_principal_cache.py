"""The principal cache (core.users.principals) never outlives a change: two apps on one database
(on PostgreSQL each is what a worker would be, told by the database's notifications; on SQLite
the one process's commits), a change made through one app or behind both of them (bulk SQL), and
the very next request to the other app sees it.

Each case first checks that the other app did keep the user (otherwise it would pass without
any invalidation), then makes the change, waits until the other app has dropped the user
(on PostgreSQL a notification arrives a moment after the commit; without invalidation the
wait times out), then asks once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.http.app import create_app
from core.config import Settings
from core.db import Database
from core.db_notifications import LISTENER_NAME, listener_of
from core.privacy import services as privacy
from core.privacy.model import ConsentKind
from core.privacy.services import PrivacyUnitOfWork
from core.users.model import Role, User
from core.users.principals import PrincipalCache
from tests.conftest import PASSWORD

GENEROUS = 20.0  # seconds for a listener to (re)connect


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GENEROUS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.fixture
def other(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A second app on the same database: another worker."""
    with TestClient(create_app(settings, database=database)) as client:
        _wait_for(lambda: _principals(client.app).usable(), "the other app never trusted")
        yield client


def _principals(app: object) -> PrincipalCache:
    assert isinstance(app, FastAPI)
    cache = app.state.principals
    assert isinstance(cache, PrincipalCache)
    return cache


def _delivered(client: TestClient, user: User) -> None:
    """Wait until ``client``'s cache no longer keeps ``user``: the change reached that worker
    (at once on SQLite; on PostgreSQL once its listener read the notification)."""
    _wait_for(lambda: _principals(client.app).get(user.id) is None, "the change never arrived")


def _kept_by(client: TestClient, user: User, headers: dict[str, str]) -> None:
    """Ask ``client`` as ``user`` and check it kept them (so the case can fail)."""
    response = client.get("/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    assert _principals(client.app).get(user.id) is not None, "the cache kept nothing"


def test_signing_out_everywhere_in_one_worker_revokes_the_token_in_the_next(
    client: TestClient,
    other: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    member = make_user()
    headers = login(member)
    _kept_by(other, member, headers)
    assert client.post("/v1/auth/logout-all", headers=headers).status_code == 204
    _delivered(other, member)
    assert other.get("/v1/me", headers=headers).status_code == 401


def test_a_new_password_revokes_earlier_tokens_in_every_worker(
    client: TestClient,
    other: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    member = make_user()
    headers = login(member)
    _kept_by(other, member, headers)
    changed = client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another horse battery"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    _delivered(other, member)
    assert other.get("/v1/me", headers=headers).status_code == 401
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert other.get("/v1/me", headers=fresh).status_code == 200


def test_a_user_disabled_by_bulk_sql_is_refused_by_the_next_request(
    other: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    member = make_user()
    headers = login(member)
    _kept_by(other, member, headers)
    with database.engine.begin() as conn:  # behind every app: no ORM, no service
        conn.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": member.id})
    _delivered(other, member)
    assert other.get("/v1/me", headers=headers).status_code == 401


def test_a_role_removed_in_one_worker_is_gone_in_the_next(
    client: TestClient,
    other: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    admin, operator = make_user(Role.OPERATOR), make_user(Role.OPERATOR)
    headers = login(operator)
    _kept_by(other, operator, headers)
    assert other.get("/v1/admin/users", headers=headers).status_code == 200
    removed = client.put(
        f"/v1/admin/users/{operator.id}/roles", json={"roles": ["member"]}, headers=login(admin)
    )
    assert removed.status_code == 200, removed.text
    _delivered(other, operator)
    assert other.get("/v1/admin/users", headers=headers).status_code == 403


def test_a_role_row_deleted_by_sql_is_gone_at_once(
    other: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = make_user(Role.OPERATOR)
    headers = login(operator)
    _kept_by(other, operator, headers)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM user_roles WHERE user_id = :id"), {"id": operator.id})
    _delivered(other, operator)
    assert other.get("/v1/admin/users", headers=headers).status_code == 403


def test_new_terms_block_the_next_write_in_every_worker_until_accepted(
    other: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    admin, member = make_user(Role.OPERATOR), make_user()
    headers = login(member)
    write = "/v1/me/follows/" + str(admin.id)
    assert other.post(write, headers=headers).status_code in {200, 201}  # no terms yet
    kept = _principals(other.app).get(member.id)
    assert kept is not None and kept.consents_current, "the consent check was not kept"
    privacy.publish_document(
        PrivacyUnitOfWork(database.sessions),
        ConsentKind.TERMS,
        title="Terms",
        body="Be nice.",
        operator_id=admin.id,
    )
    _delivered(other, member)
    blocked = other.post(write, headers=headers)
    assert blocked.status_code == 403, blocked.text
    assert blocked.json()["rule"] == "consent_required"
    accepted = other.post("/v1/me/consents", json={"kind": "terms", "version": 1}, headers=headers)
    assert accepted.status_code in {200, 201}, accepted.text
    assert other.post(write, headers=headers).status_code in {200, 201}


def test_a_withdrawn_consent_blocks_the_next_write(
    client: TestClient,
    other: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    admin, member = make_user(Role.OPERATOR), make_user()
    privacy.publish_document(
        PrivacyUnitOfWork(database.sessions),
        ConsentKind.TERMS,
        title="Terms",
        body="Be nice.",
        operator_id=admin.id,
    )
    headers = login(member)
    accept = client.post("/v1/me/consents", json={"kind": "terms", "version": 1}, headers=headers)
    assert accept.status_code in {200, 201}, accept.text
    write = "/v1/me/follows/" + str(admin.id)
    assert other.post(write, headers=headers).status_code in {200, 201}
    withdrawn = client.post("/v1/me/consents/terms/withdrawal", headers=headers)
    assert withdrawn.status_code in {200, 201, 204}, withdrawn.text
    _delivered(other, member)
    assert other.post(write, headers=headers).status_code == 403


def test_the_cache_turned_off_keeps_nothing(
    settings: Settings,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    off = settings.model_copy(update={"principal_cache": False})
    with TestClient(create_app(off, database=database)) as uncached:
        member = make_user()
        headers = login(member)
        assert uncached.get("/v1/me", headers=headers).status_code == 200
        assert _principals(uncached.app).get(member.id) is None


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_without_its_listener_a_worker_reads_the_database_and_forgets_on_reconnect(
    other: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    member = make_user()
    headers = login(member)
    _kept_by(other, member, headers)
    listener = listener_of(database)
    assert listener is not None
    connects = listener.connects
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": LISTENER_NAME},
        )
    _wait_for(lambda: not _principals(other.app).usable(), "the worker kept trusting")
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": member.id})
    assert other.get("/v1/me", headers=headers).status_code == 401  # read, not kept
    _wait_for(lambda: listener.connects > connects, "the listener did not reconnect")
    _wait_for(lambda: _principals(other.app).usable(), "the worker never trusted again")
    assert _principals(other.app).get(member.id) is None
    assert other.get("/v1/me", headers=headers).status_code == 401

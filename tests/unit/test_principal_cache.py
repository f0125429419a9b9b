"""The principal cache's rule (core.users.principals): a value read before a change is never
kept after the change's invalidation, whatever the interleaving of readers and writers."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.users.model import User
from core.users.principals import Principal, PrincipalCache

USERS = (1, 2, 3)


def _user(user_id: int, stamp: int) -> User:
    return User(
        id=user_id,
        username=f"u{user_id}",
        display_name="U",
        roles=frozenset(),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        token_stamp=str(stamp),
    )


# ("read", user): a reader takes the epoch and reads the row; ("keep", n): the n-th open read
# remembers what it read; ("write", user): a writer changes the row and its notification lands.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.sampled_from(USERS)),
        st.tuples(st.just("keep"), st.integers(0, 5)),
        st.tuples(st.just("write"), st.sampled_from(USERS)),
        st.tuples(st.just("everyone"), st.just(0)),
    ),
    max_size=40,
)


@given(steps)
def test_a_kept_principal_is_always_the_database_s_current_row(
    script: list[tuple[str, int]],
) -> None:
    cache = PrincipalCache()
    cache.connected()
    rows = dict.fromkeys(USERS, 0)
    reads: list[tuple[int, int, int]] = []  # (user, epoch, stamp read)
    for action, arg in script:
        if action == "read":
            reads.append((arg, cache.epoch(), rows[arg]))
        elif action == "keep" and reads:
            user_id, epoch, stamp = reads.pop(arg % len(reads))
            cache.remember(user_id, Principal(_user(user_id, stamp)), epoch=epoch)
        elif action == "write":
            rows[arg] += 1
            cache.forget(arg)
        elif action == "everyone":
            for user_id in USERS:
                rows[user_id] += 1
            cache.notified("paperleague_users", "")
        for user_id in USERS:
            kept = cache.get(user_id)
            if kept is not None:
                assert kept.user is not None
                assert kept.user.token_stamp == str(rows[user_id])


def test_nothing_is_kept_or_served_while_invalidations_cannot_arrive() -> None:
    cache = PrincipalCache()
    epoch = cache.epoch()
    cache.remember(1, Principal(_user(1, 0)), epoch=epoch)
    assert cache.get(1) is None  # never connected
    cache.connected()
    cache.remember(1, Principal(_user(1, 0)), epoch=cache.epoch())
    assert cache.get(1) is not None
    cache.disconnected()
    assert cache.get(1) is None
    cache.connected()
    assert cache.get(1) is None  # a reconnect forgets: what was sent meanwhile is lost


def test_whether_terms_are_required_is_kept_until_a_document_changes() -> None:
    cache = PrincipalCache()
    assert cache.consents_required() is None  # not trusted before the listener connects
    cache.connected()
    epoch = cache.epoch()
    cache.remember_consents_required(False, epoch=epoch)
    assert cache.consents_required() is False
    cache.forget(1)  # one user's row or consent changed: documents did not
    assert cache.consents_required() is False
    cache.notified("paperleague_users", "")  # a document was published: every entry goes
    assert cache.consents_required() is None


def test_whether_terms_are_required_read_before_a_change_is_not_kept() -> None:
    cache = PrincipalCache()
    cache.connected()
    epoch = cache.epoch()
    cache.notified("paperleague_users", "")  # published while the read ran
    cache.remember_consents_required(False, epoch=epoch)
    assert cache.consents_required() is None
    cache.disconnected()
    cache.remember_consents_required(False, epoch=cache.epoch())
    assert cache.consents_required() is None  # an untrusted cache keeps nothing

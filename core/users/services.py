"""Use cases for users: sign-up, operator-created accounts, authentication, roles.

The API, the CLI and the season simulation all create users through these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation, TooManyRequests, Unauthenticated
from core.integrity.model import ClientSignal, SignalKind
from core.integrity.store import SignalRepository
from core.uow import UnitOfWork
from core.users.model import (
    Role,
    User,
    UserId,
    check_password,
    normalize_display_name,
    normalize_username,
)
from core.users.passwords import dummy_hash, hash_password, verify_password
from core.users.sign_in_limits import (
    LimitKind,
    SignInLimits,
    limit_key,
    retry_after_header,
    wait_seconds,
)
from core.users.store import SignInFailures, UserRepository


class UsersUnitOfWork(UnitOfWork):
    users: UserRepository
    sign_ins: SignInFailures
    signals: SignalRepository

    def _bind(self, session: Session) -> None:
        self.users = UserRepository(session)
        self.sign_ins = SignInFailures(session)
        self.signals = SignalRepository(session)


class UsernameTaken(Conflict):
    slug = "username-taken"


class InvalidCredentials(Unauthenticated):
    slug = "invalid-credentials"


class TooManySignIns(TooManyRequests):
    slug = "too-many-sign-ins"


def sign_up(
    uow: UsersUnitOfWork,
    *,
    username: str,
    password: str,
    display_name: str,
    signal: ClientSignal | None = None,
) -> User:
    """A new member account; ``signal`` (address, device) is recorded with it when given."""
    return create_user(
        uow,
        username=username,
        password=password,
        display_name=display_name,
        roles=[Role.MEMBER],
        signal=signal,
    )


def create_user(
    uow: UsersUnitOfWork,
    *,
    username: str,
    password: str,
    display_name: str | None = None,
    roles: Iterable[Role],
    signal: ClientSignal | None = None,
) -> User:
    """A new account with the given roles (operators and the CLI may grant any role).

    ``signal`` is the sign-up's client signal, recorded in the same transaction."""
    name = normalize_username(username)
    shown = normalize_display_name(display_name if display_name is not None else name)
    role_set = _non_empty_roles(roles)
    password_hash = hash_password(check_password(password))  # slow: outside the transaction
    with uow:
        if uow.users.username_taken(name):
            raise UsernameTaken(f"username {name!r} is taken", field="username")
        try:
            user = uow.users.add(
                username=name,
                display_name=shown,
                password_hash=password_hash,
                roles=role_set,
                now=utc_now(),
            )
            if signal is not None:
                uow.signals.add(user.id, SignalKind.SIGN_UP, signal, at=user.created_at)
            uow.commit()
        except IntegrityError as exc:  # lost a race with a concurrent sign-up
            raise UsernameTaken(f"username {name!r} is taken", field="username") from exc
    return user


@dataclass(frozen=True, slots=True)
class NewAccount:
    """One account of a bulk creation (``create_users``)."""

    username: str
    display_name: str | None = None
    roles: frozenset[Role] = frozenset({Role.MEMBER})


def create_users(
    uow: UsersUnitOfWork,
    accounts: Sequence[NewAccount],
    *,
    password: str,
    now: datetime | None = None,
) -> list[User]:
    """Many accounts in one transaction, all or none (bulk imports, the season simulation).

    Every account gets the same initial password, hashed once: an Argon2 hash costs about
    0.1 s, which a thousand sign-ups cannot pay one by one. A taken username, or one repeated
    in ``accounts``, refuses the whole batch.
    """
    checked = [
        (
            normalize_username(account.username),
            normalize_display_name(
                account.display_name if account.display_name is not None else account.username
            ),
            _non_empty_roles(account.roles),
        )
        for account in accounts
    ]
    password_hash = hash_password(check_password(password))  # slow: outside the transaction
    moment = now or utc_now()
    created: list[User] = []
    seen: set[str] = set()
    with uow:
        for name, shown, roles in checked:
            if name in seen or uow.users.username_taken(name):
                raise UsernameTaken(f"username {name!r} is taken", field="username")
            seen.add(name)
            created.append(
                uow.users.add(
                    username=name,
                    display_name=shown,
                    password_hash=password_hash,
                    roles=roles,
                    now=moment,
                )
            )
        try:
            uow.commit()
        except IntegrityError as exc:  # lost a race with a concurrent sign-up
            raise UsernameTaken("a username of the batch was taken meanwhile") from exc
    return created


def authenticate(
    uow: UsersUnitOfWork,
    *,
    username: str,
    password: str,
    address: str | None = None,
    limits: SignInLimits | None = None,
    now: datetime | None = None,
    signal: ClientSignal | None = None,
) -> User:
    """The active user with these credentials, or ``InvalidCredentials``.

    A successful sign-in records ``signal`` (a login) when given.

    Failed attempts are limited per username and per client ``address`` (``TooManySignIns``,
    with the seconds to wait); while a key must wait, not even the right password is checked.
    """
    try:
        name: str | None = normalize_username(username)
    except RuleViolation:
        name = None
    rules = limits or SignInLimits()
    moment = now or utc_now()
    # Unknown and malformed names count too: the limits must not tell who exists.
    user_key = limit_key(LimitKind.USERNAME, name or username.strip().lower()[:64])
    keys = {LimitKind.USERNAME: user_key}
    if address is not None:
        keys[LimitKind.ADDRESS] = limit_key(LimitKind.ADDRESS, address)
    with uow:
        uow.sign_ins.serialize()
        since = moment - rules.window
        waits = {
            kind: wait_seconds(
                uow.sign_ins.count(key, since=since),
                free=rules.free(kind),
                max_delay=rules.max_delay,
                now=moment,
                first_delay=rules.first_delay,
            )
            for kind, key in keys.items()
        }
        kind, wait = max(waits.items(), key=lambda item: item[1])
        if wait > 0:
            seconds = retry_after_header(wait)
            raise TooManySignIns(
                f"too many failed sign-ins for this {kind.value}; try again in {seconds} s",
                retry_after=seconds,
                limit=kind.value,
            )
        # Counted as failed until the password proves right: parallel guesses count too.
        attempt = uow.sign_ins.add(keys.values(), at=moment)
        uow.sign_ins.prune(before=since)
        found = uow.users.credentials(name) if name else None
        uow.commit()
    if found is None:
        verify_password(password, dummy_hash())  # same cost as a real check
        raise InvalidCredentials("incorrect username or password")
    user, password_hash = found
    if not verify_password(password, password_hash) or not user.is_active:
        raise InvalidCredentials("incorrect username or password")
    with uow:
        # The username's failures are forgiven; the address keeps its others.
        uow.sign_ins.forget(keys=[user_key], ids=attempt)
        if signal is not None:
            uow.signals.add(user.id, SignalKind.LOGIN, signal, at=moment)
        uow.commit()
    return user


def revoke_tokens(uow: UsersUnitOfWork, user_id: UserId) -> User:
    """Sign out everywhere: every token issued to the user so far stops working."""
    with uow:
        user = uow.users.revoke_tokens(user_id)
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        uow.commit()
    return user


def change_password(
    uow: UsersUnitOfWork,
    user: User,
    *,
    current_password: str,
    new_password: str,
    address: str | None = None,
    limits: SignInLimits | None = None,
) -> User:
    """A new password, given the current one; every token issued so far stops working.

    The current password is checked like a sign-in, under the same limits."""
    password_hash = hash_password(check_password(new_password))  # slow: outside the transaction
    try:
        authenticate(
            uow,
            username=user.username,
            password=current_password,
            address=address,
            limits=limits,
        )
    except InvalidCredentials as exc:
        raise RuleViolation(
            "the current password is wrong", field="current_password", rule="wrong_password"
        ) from exc
    with uow:
        changed = uow.users.revoke_tokens(user.id, password_hash=password_hash)
        if changed is None:
            raise NotFound(f"user {user.id} does not exist")
        uow.commit()
    return changed


def get_user(uow: UsersUnitOfWork, user_id: UserId) -> User:
    with uow.reading():
        user = uow.users.get(user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def find_by_username(uow: UsersUnitOfWork, username: str) -> User | None:
    try:
        name = normalize_username(username)
    except RuleViolation:
        return None
    with uow.reading():
        found = uow.users.credentials(name)
    return None if found is None else found[0]


def set_roles(uow: UsersUnitOfWork, user_id: UserId, roles: Iterable[Role]) -> User:
    """Replace a user's roles (operators only; at least one role)."""
    role_set = _non_empty_roles(roles)
    with uow:
        user = uow.users.set_roles(user_id, role_set, now=utc_now())
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        uow.commit()
    return user


def update_profile(
    uow: UsersUnitOfWork, user_id: UserId, *, rank_history_public: bool | None = None
) -> User:
    """Change the user's own settings; a ``None`` setting is left as it is."""
    with uow:
        user = uow.users.get(user_id)
        if user is not None and rank_history_public is not None:
            user = uow.users.set_rank_history_public(user_id, rank_history_public)
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        uow.commit()
    return user


def list_users(
    uow: UsersUnitOfWork, *, after: UserId | None, limit: int
) -> tuple[Sequence[User], UserId | None]:
    with uow.reading():
        return uow.users.page(after=after, limit=limit)


def _non_empty_roles(roles: Iterable[Role]) -> frozenset[Role]:
    role_set = frozenset(roles)
    if not role_set:
        raise RuleViolation("a user needs at least one role", field="roles", rule="min_items")
    return role_set

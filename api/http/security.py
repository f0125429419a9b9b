"""Access tokens: HS256 JWTs signed with the configured secret (pyjwt).

A token names its user by id (``sub``; ids are never reused) and by the user's token stamp
(``stm``), a random value the user gets at creation and again whenever their tokens are revoked
(sign out everywhere, a new password). A token whose stamp is not the user's current one is
refused, so a token can never outlive the credentials, or the account, it was issued for.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy.orm import Session, sessionmaker

from core.clock import utc_now
from core.config import Settings
from core.db import one_read_session
from core.users.model import User, UserId
from core.users.principals import Principal, PrincipalCache
from core.users.store import UserRepository

ALGORITHM = "HS256"
ISSUER = "paperleague"


@dataclass(frozen=True, slots=True)
class TokenSubject:
    """Whom a validly signed, unexpired token was issued to."""

    user_id: UserId
    stamp: str


def issue_access_token(user: User, settings: Settings) -> tuple[str, int]:
    """A signed token for ``user`` and its lifetime in seconds."""
    now = utc_now()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user.id),
        "stm": user.token_stamp,
        "iat": now,
        "exp": now + lifetime,
        "iss": ISSUER,
    }
    token = jwt.encode(claims, settings.signing_secret(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


class VerifiedTokens:
    """Tokens whose signature and claims this process has verified, with their expiry: a token
    string is signed or not once and for all, so a member's next request skips the HMAC and
    the claim checks, not the expiry (checked on every hit) nor the stamp (``token_user``)."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[str, str], tuple[TokenSubject, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, secret: str, token: str) -> TokenSubject | None:
        key = (secret, token)
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            if found[1] <= time.time():
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return found[0]

    def put(self, secret: str, token: str, subject: TokenSubject, expires: float) -> None:
        with self._lock:
            self._kept[(secret, token)] = (subject, expires)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


VERIFIED = VerifiedTokens()


def token_subject(token: str, settings: Settings) -> TokenSubject | None:
    """The subject of a valid, unexpired token; ``None`` for anything else."""
    secret = settings.signing_secret()
    known = VERIFIED.get(secret, token)
    if known is not None:
        return known
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "stm", "exp", "iat", "iss"]},
        )
        stamp = claims["stm"]
        if not isinstance(stamp, str) or not stamp:
            return None
        subject = TokenSubject(int(claims["sub"]), stamp)
        expires = float(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    VERIFIED.put(secret, token, subject, expires)
    return subject


def user_id_from_token(token: str, settings: Settings) -> UserId | None:
    """The user a valid, unexpired token was issued to; ``None`` for anything else.

    The signature only: whether the token is still the user's is ``token_user``'s question.
    """
    subject = token_subject(token, settings)
    return None if subject is None else subject.user_id


def token_user(
    token: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    principals: PrincipalCache | None = None,
) -> User | None:
    """The active user a token authenticates now: signed, unexpired, and not revoked. With
    ``principals``, the user as kept there (core.users.principals: dropped on every change)."""
    subject = token_subject(token, settings)
    if subject is None:
        return None
    user = principal_user(subject.user_id, sessions, principals)
    if user is None or not user.is_active:
        return None
    if not secrets.compare_digest(user.token_stamp.encode(), subject.stamp.encode()):
        return None
    return user


def kept_token_user(
    token: str, settings: Settings, principals: PrincipalCache
) -> tuple[User, bool] | None:
    """The user a valid token names as the principal cache keeps it now (active, the token's
    stamp still the user's), and whether their consents are known current; ``None`` when it is
    not kept or does not match: then ``token_user`` answers, reading the database. Nothing here
    blocks."""
    subject = token_subject(token, settings)
    kept = None if subject is None else principals.get(subject.user_id)
    if subject is None or kept is None or kept.user is None or not kept.user.is_active:
        return None
    if not secrets.compare_digest(kept.user.token_stamp.encode(), subject.stamp.encode()):
        return None
    return kept.user, bool(kept.consents_current)


def principal_user(
    user_id: UserId, sessions: sessionmaker[Session], principals: PrincipalCache | None
) -> User | None:
    """The user ``user_id`` as the database has it now, from ``principals`` when kept."""
    kept = None if principals is None else principals.get(user_id)
    if kept is not None:
        return kept.user
    epoch = 0 if principals is None else principals.epoch()
    with one_read_session(sessions) as session:  # one statement: one round trip
        user = UserRepository(session).get(user_id)
    if principals is not None:
        principals.remember(user_id, Principal(user), epoch=epoch)
    return user


STREAM_AUDIENCE = "paperleague:events"


def issue_stream_token(user: User, settings: Settings) -> tuple[str, int]:
    """A short-lived token that opens ``user``'s event stream (``?stream_token=``: an
    EventSource cannot send headers) and nothing else: its audience keeps it from passing as
    an access token, and it names the token stamp, so signing out everywhere revokes it."""
    now = utc_now()
    lifetime = timedelta(seconds=settings.stream_token_seconds)
    claims = {
        "sub": str(user.id),
        "stm": user.token_stamp,
        "iat": now,
        "exp": now + lifetime,
        "iss": ISSUER,
        "aud": STREAM_AUDIENCE,
    }
    token = jwt.encode(claims, settings.signing_secret(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def stream_token_user(
    token: str, settings: Settings, sessions: sessionmaker[Session]
) -> User | None:
    """The active user a valid, unexpired, unrevoked stream token was issued to, else None."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_secret(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=STREAM_AUDIENCE,
            options={"require": ["sub", "stm", "exp", "iat", "iss", "aud"]},
        )
        user_id, stamp = int(claims["sub"]), claims["stm"]
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    if not isinstance(stamp, str) or not stamp:
        return None
    with sessions() as session:
        user = UserRepository(session).get(user_id)
    if user is None or not user.is_active:
        return None
    if not secrets.compare_digest(user.token_stamp.encode(), stamp.encode()):
        return None
    return user


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None

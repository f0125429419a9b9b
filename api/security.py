"""Access tokens: HS256 JWTs signed with the configured secret (pyjwt)."""

from __future__ import annotations

from datetime import timedelta

import jwt

from core.clock import utc_now
from core.config import Settings
from core.users.model import UserId

ALGORITHM = "HS256"
ISSUER = "paperleague"


def issue_access_token(user_id: UserId, settings: Settings) -> tuple[str, int]:
    """A signed token for ``user_id`` and its lifetime in seconds."""
    now = utc_now()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime, "iss": ISSUER}
    token = jwt.encode(claims, settings.signing_secret(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def user_id_from_token(token: str, settings: Settings) -> UserId | None:
    """The user a valid, unexpired token was issued to; ``None`` for anything else."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_secret(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None

from datetime import timedelta

import jwt
import pytest

from api.http.security import (
    ALGORITHM,
    ISSUER,
    TokenSubject,
    bearer_token,
    issue_access_token,
    token_subject,
    user_id_from_token,
)
from core.clock import utc_now
from core.config import Settings
from core.users.model import Role, User

SETTINGS = Settings(environment="test", jwt_secret="k" * 64)  # type: ignore[arg-type]


def _forge(secret: str = "k" * 64, algorithm: str = ALGORITHM, **claims: object) -> str:
    now = utc_now()
    base = {
        "sub": "7",
        "stm": "stamp",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": ISSUER,
    }
    return jwt.encode(base | claims, secret, algorithm=algorithm)


USER = User(42, "alice", "Alice", frozenset({Role.MEMBER}), utc_now(), token_stamp="s-42")


def test_issued_token_names_its_user_and_stamp() -> None:
    token, lifetime = issue_access_token(USER, SETTINGS)
    assert user_id_from_token(token, SETTINGS) == 42
    assert token_subject(token, SETTINGS) == TokenSubject(42, "s-42")
    assert lifetime == SETTINGS.access_token_minutes * 60


def test_a_token_without_a_stamp_names_no_user() -> None:
    """Tokens from before token stamps (or forged without one) are refused."""
    now = utc_now()
    claims = {"sub": "7", "iat": now, "exp": now + timedelta(minutes=5), "iss": ISSUER}
    assert user_id_from_token(jwt.encode(claims, "k" * 64, algorithm=ALGORITHM), SETTINGS) is None
    assert token_subject(_forge(stm=""), SETTINGS) is None
    assert token_subject(_forge(stm=7), SETTINGS) is None
    assert token_subject(_forge(), SETTINGS) == TokenSubject(7, "stamp")


@pytest.mark.parametrize(
    "token",
    [
        _forge(exp=utc_now() - timedelta(seconds=1)),
        _forge(secret="other" * 10),
        _forge(iss="someone-else"),
        _forge(sub="not-a-number"),
        _forge(algorithm="HS512"),
        "not.a.jwt",
        "",
    ],
    ids=["expired", "wrong-secret", "wrong-issuer", "bad-subject", "other-alg", "garbage", "empty"],
)
def test_invalid_tokens_name_no_user(token: str) -> None:
    assert user_id_from_token(token, SETTINGS) is None


def test_unsigned_token_refused() -> None:
    token = jwt.encode({"sub": "7", "iss": ISSUER}, key=None, algorithm="none")
    assert user_id_from_token(token, SETTINGS) is None


@pytest.mark.parametrize(
    "header,token",
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        (None, None),
    ],
)
def test_bearer_header_parsing(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token

"""The production password hash is pwdlib's recommended Argon2id. tests/conftest.py swaps in a
cheap one for speed, so this test holds the real parameters."""

from __future__ import annotations

from core.users import passwords
from tests.conftest import PRODUCTION_PASSWORD_HASH


def test_production_hashes_use_pwdlibs_recommended_argon2id() -> None:
    parameters = PRODUCTION_PASSWORD_HASH().hash("correct horse battery").rsplit("$", 2)[0]
    assert parameters == "$argon2id$v=19$m=65536,t=3,p=4"
    assert passwords._hasher().hash("x").rsplit("$", 2)[0] != parameters  # the suite's cheap one

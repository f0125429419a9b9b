import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from core.users.model import (
    USERNAME_PATTERN,
    Role,
    User,
    check_password,
    normalize_display_name,
    normalize_username,
)


@given(st.text(max_size=40))
def test_normalized_username_is_canonical_or_refused(raw: str) -> None:
    try:
        name = normalize_username(raw)
    except RuleViolation as exc:
        assert (exc.field, exc.rule) == ("username", "username_format")
    else:
        assert USERNAME_PATTERN.fullmatch(name)
        assert normalize_username(name) == name  # idempotent


def test_usernames_are_case_insensitive() -> None:
    assert normalize_username("  Alice_01 ") == "alice_01"


@pytest.mark.parametrize("bad", ["ab", "", "_alice", "a" * 33, "al ice", "ali$e"])
def test_bad_usernames_refused(bad: str) -> None:
    with pytest.raises(RuleViolation):
        normalize_username(bad)


@pytest.mark.parametrize("length,ok", [(7, False), (8, True), (128, True), (129, False)])
def test_password_length_bounds(length: int, ok: bool) -> None:
    if ok:
        assert check_password("p" * length)
    else:
        with pytest.raises(RuleViolation, match="8-128"):
            check_password("p" * length)


def test_display_name_whitespace_collapsed() -> None:
    assert normalize_display_name("  Ada \n Lovelace ") == "Ada Lovelace"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, "tab\x00null"])
def test_bad_display_names_refused(bad: str) -> None:
    with pytest.raises(RuleViolation):
        normalize_display_name(bad)


def test_has_any_role() -> None:
    user = User(1, "a", "A", frozenset({Role.MEMBER, Role.AUTHOR}), created_at=None)  # type: ignore[arg-type]
    assert user.has_any(Role.AUTHOR)
    assert not user.has_any(Role.OPERATOR)


def test_an_unusable_hash_is_well_formed_and_matches_no_password() -> None:
    from core.users.passwords import unusable_hash, verify_password

    first, second = unusable_hash(), unusable_hash()
    assert first != second and first.startswith("$argon2id$")
    assert not any(verify_password(p, first) for p in ("", "password", first))

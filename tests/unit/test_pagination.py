import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from core.pagination import decode_cursor, encode_cursor


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_cursor_round_trips(key: int) -> None:
    assert decode_cursor(encode_cursor(key)) == key


def test_no_cursor_means_first_page() -> None:
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@given(st.text(max_size=64))
def test_arbitrary_text_decodes_to_an_int_or_a_rule_violation(text: str) -> None:
    try:
        after = decode_cursor(text)
    except RuleViolation as exc:
        assert exc.field == "query.cursor"
        assert exc.rule == "valid_cursor"
    else:
        assert after is None or type(after) is int


@pytest.mark.parametrize("forged", [encode_cursor("x"), encode_cursor(True), encode_cursor(2**70)])
def test_forged_cursor_of_wrong_type_refused(forged: str) -> None:
    with pytest.raises(RuleViolation):
        decode_cursor(forged)

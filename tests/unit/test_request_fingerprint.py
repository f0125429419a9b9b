import json

from hypothesis import given
from hypothesis import strategies as st

from api.http.idempotency import describe_request, differences, valid_key

PEPPER = b"p" * 32
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _describe(body: bytes, path: str = "/v1/x", content_type: str = "application/json"):
    return describe_request("POST", path, content_type, body, pepper=PEPPER)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5))
def test_key_order_and_whitespace_do_not_change_the_request(body: dict) -> None:
    compact = json.dumps(body, separators=(",", ":")).encode()
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    assert differences(_describe(compact), _describe(spaced)) == []
    assert _describe(compact).request_digest == _describe(spaced).request_digest


def test_differences_name_the_changed_fields_and_path() -> None:
    first = _describe(b'{"username": "a", "password": "x", "roles": ["member"]}')
    again = _describe(b'{"username": "b", "password": "x", "extra": 1}', path="/v1/y")
    assert differences(first, again) == ["path", "extra", "roles", "username"]


def test_no_plaintext_is_kept() -> None:
    described = _describe(b'{"password": "hunter2-secret"}')
    assert "hunter2" not in repr(described)


def test_form_bodies_compare_by_field() -> None:
    form = "application/x-www-form-urlencoded"
    first = _describe(b"a=1&b=2", content_type=form)
    assert differences(first, _describe(b"b=2&a=1", content_type=form)) == []
    assert differences(first, _describe(b"a=1&b=3", content_type=form)) == ["b"]


def test_key_format() -> None:
    assert valid_key("order-2026-11-21:42")
    assert not valid_key("")
    assert not valid_key("has space")
    assert not valid_key("x" * 256)
    assert not valid_key("ключ")

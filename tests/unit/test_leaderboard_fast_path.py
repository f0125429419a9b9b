"""The leaderboard route's fast path takes only asks its declared parameters would accept as
they are (api.http.routes.leaderboard._plain_ask); anything else goes the declared way."""

from __future__ import annotations

import pytest

from api.http.routes.leaderboard import _plain_ask


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", (7, 50, None, False, 5)),
        (b"limit=20", (7, 20, None, False, 5)),
        (b"around=me&k=0", (7, 50, None, True, 0)),
        (b"cursor=eyJhZnRlciI6IDJ9&limit=200", (7, 200, "eyJhZnRlciI6IDJ9", False, 5)),
    ],
)
def test_a_plain_ask_is_taken(
    query: bytes, expected: tuple[int, int, str | None, bool, int]
) -> None:
    assert _plain_ask("7", query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"limit=0",
        b"limit=201",
        b"limit=-1",
        b"limit=%32",  # an escape: FastAPI decodes it, the fast path does not try
        b"limit=2&limit=3",  # repeated
        b"k=51",
        b"around=you",
        b"around=me&around=me",
        b"scope=friends",
        b"code=x",  # a name the route does not declare
        b"limit=20&",
        b"cursor=" + b"x" * 513,
        b"cursor=a+b",
    ],
)
def test_anything_else_goes_the_declared_way(query: bytes) -> None:
    assert _plain_ask("7", query) is None


@pytest.mark.parametrize(
    "contest_id", ["0", "2147483648", "99999999999", "-1", "x", "\u0663", None, 7]
)
def test_a_contest_id_out_of_range_goes_the_declared_way(contest_id: object) -> None:
    assert _plain_ask(contest_id, b"") is None

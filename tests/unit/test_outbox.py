"""The outbox's pure parts: signatures a receiver can verify, the backoff schedule, input rules."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.compliance import DEFAULT_TERMS, screen
from core.errors import RuleViolation
from core.outbox import (
    EVENT_KINDS,
    RetryPolicy,
    check_kinds,
    check_url,
    signature,
    verify_signature,
)
from engine.trading.journal import MAX_NOTE_LENGTH, check_note

secrets_ = st.text(min_size=16, max_size=64)
bodies = st.binary(max_size=512)
timestamps = st.integers(min_value=0, max_value=2**40)


@given(secret=secrets_, body=bodies, timestamp=timestamps)
def test_the_signature_is_hmac_sha256_of_timestamp_dot_body(
    secret: str, body: bytes, timestamp: int
) -> None:
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert signature(secret, body, timestamp=timestamp) == f"t={timestamp},v1={expected}"
    assert verify_signature(
        secret, body, signature(secret, body, timestamp=timestamp), now=timestamp
    )


@given(secret=secrets_, body=bodies, timestamp=timestamps, other=bodies)
def test_a_changed_body_an_other_secret_or_an_old_timestamp_does_not_verify(
    secret: str, body: bytes, timestamp: int, other: bytes
) -> None:
    header = signature(secret, body, timestamp=timestamp)
    if other != body:
        assert not verify_signature(secret, other, header, now=timestamp)
    assert not verify_signature(secret + "x", body, header, now=timestamp)
    assert not verify_signature(secret, body, header, now=timestamp + 301)
    assert verify_signature(secret, body, header, now=timestamp + 300)
    assert not verify_signature(secret, body, "v1=00", now=timestamp)


@given(
    attempt=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.01, max_value=600),
    cap=st.floats(min_value=1, max_value=86_400),
    seed=st.integers(),
)
def test_backoff_doubles_with_jitter_within_half_to_whole_and_never_passes_the_cap(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    policy = RetryPolicy(base_seconds=base, cap_seconds=cap)
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    delay = policy.delay_seconds(attempt, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling
    next_ceiling = min(cap, base * 2.0**attempt)
    assert next_ceiling >= ceiling  # the schedule never shortens


def test_backoff_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().delay_seconds(0, random.Random(1))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "example.com/hook",
        "http:///nohost",
        "",
        "http://" + "a" * 2000,
        "http://[::1",
        "http://example.com:99999/",
        "http://exa mple.com/",
    ],
)
def test_a_bad_url_is_refused(url: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        check_url(url)
    assert (refused.value.field, refused.value.rule) == ("url", "webhook_url")


def test_kinds_are_known_and_not_empty() -> None:
    assert check_kinds(["level.up", "level.up", "prize.paid"]) == ("level.up", "prize.paid")
    assert check_kinds(list(EVENT_KINDS)) == EVENT_KINDS
    for kinds in ([], ["level.down"]):
        with pytest.raises(RuleViolation) as refused:
            check_kinds(kinds)
        assert (refused.value.field, refused.value.rule) == ("kinds", "event_kind")


# --- trade-journal notes: the compliance screen --------------------------------------------------

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


@given(before=words, after=words, term=st.sampled_from(DEFAULT_TERMS))
def test_a_note_is_refused_iff_it_holds_a_term_naming_each_found(
    before: str, after: str, term: str
) -> None:
    note = f"{before} {term.upper()} {after}"
    with pytest.raises(RuleViolation) as refused:
        check_note(note, DEFAULT_TERMS)
    assert refused.value.rule == "prohibited_claim" and term in refused.value.extensions["terms"]
    clean = f"{before} {after}"
    if clean.strip() and not screen(clean, DEFAULT_TERMS):
        assert check_note(clean, DEFAULT_TERMS) == clean


@given(length=st.integers(min_value=1, max_value=2100))
def test_a_note_has_at_most_2000_characters(length: int) -> None:
    note = "n" * length
    if length <= MAX_NOTE_LENGTH:
        assert check_note(note, ()) == note
    else:
        with pytest.raises(RuleViolation) as refused:
            check_note(note, ())
        assert (refused.value.field, refused.value.rule) == ("note", "max_length")

"""The audit chain, pure: any sequence of appends verifies; any single tamper (an edited entry,
re-sealed or not, a deleted one, a forged one) is reported at the entry it hit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.audit.model import (
    AuditDraft,
    AuditEntry,
    Retention,
    chain_problems,
    check_retention_days,
    retention_problems,
    seal,
)
from core.audit.services import as_json
from core.config import Settings
from core.errors import RuleViolation
from core.hashchain import GENESIS_HASH, canonical_json

START = datetime(2026, 1, 1, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
drafts = st.builds(
    AuditDraft,
    actor_id=st.none() | st.integers(1, 2**31 - 1),
    action=st.sampled_from(["contest.update", "user.set_roles", "points.grant"]),
    subject=st.text(min_size=1, max_size=20),
    request=json_values,
    before=json_values,
    after=json_values,
)


def build_chain(items: list[AuditDraft]) -> list[AuditEntry]:
    chain: list[AuditEntry] = []
    for i, draft in enumerate(items):
        prev = chain[-1].hash if chain else GENESIS_HASH
        chain.append(seal(draft, seq=i + 1, at=START + timedelta(seconds=i), prev_hash=prev))
    return chain


def problems_of(chain: list[AuditEntry], *, head: tuple[int, str] | None = None) -> list[Any]:
    end = head or ((chain[-1].seq, chain[-1].hash) if chain else (0, GENESIS_HASH))
    return chain_problems(chain, retention=Retention(), head=end)


@given(st.lists(drafts, max_size=12))
def test_any_sequence_of_appends_verifies(items: list[AuditDraft]) -> None:
    chain = build_chain(items)
    assert problems_of(chain) == []
    assert [e.seq for e in chain] == list(range(1, len(items) + 1))


FIELDS = ("actor_id", "action", "subject", "request", "before", "after", "at")


def _edited(entry: AuditEntry, field: str, value: Any) -> AuditEntry:
    if field == "at":
        return replace(entry, at=entry.at + timedelta(microseconds=1))
    if field == "actor_id":
        return replace(entry, actor_id=(entry.actor_id or 0) + 1)
    if field in ("action", "subject"):
        return replace(entry, **{field: getattr(entry, field) + "x"})
    assume(canonical_json(value) != canonical_json(getattr(entry, field)))
    return replace(entry, **{field: value})


@given(
    st.lists(drafts, min_size=1, max_size=8),
    st.data(),
    st.sampled_from(FIELDS),
    json_values,
    st.booleans(),
)
def test_an_edited_entry_is_reported_at_its_seq(
    items: list[AuditDraft], data: st.DataObject, field: str, value: Any, reseal: bool
) -> None:
    chain = build_chain(items)
    head = (chain[-1].seq, chain[-1].hash)
    i = data.draw(st.integers(0, len(chain) - 1))
    edited = _edited(chain[i], field, value)
    if reseal:  # the forger recomputes the edited entry's own hash
        edited = replace(edited, hash=edited.content_hash())
    chain[i] = edited
    found = problems_of(chain, head=head)
    assert found
    # Unsealed: the entry's own hash fails. Re-sealed: the next entry's link (or the head).
    expected = chain[i].seq if not reseal else min(chain[i].seq + 1, head[0])
    assert found[0].seq == expected, found


@given(st.lists(drafts, min_size=1, max_size=8), st.data())
def test_a_deleted_entry_is_reported_missing(items: list[AuditDraft], data: st.DataObject) -> None:
    chain = build_chain(items)
    head = (chain[-1].seq, chain[-1].hash)
    i = data.draw(st.integers(0, len(chain) - 1))
    removed = chain.pop(i)
    found = problems_of(chain, head=head)
    assert found
    if i < len(chain):  # a gap in the middle
        assert found[0].seq == removed.seq and "missing" in found[0].reason
    else:  # the last one: the head still names it
        assert "head records seq" in found[-1].reason


@given(st.lists(drafts, max_size=6), drafts, st.booleans())
def test_an_entry_forged_around_the_service_is_reported(
    items: list[AuditDraft], forged: AuditDraft, well_sealed: bool
) -> None:
    chain = build_chain(items)
    head = (chain[-1].seq, chain[-1].hash) if chain else (0, GENESIS_HASH)
    extra = seal(forged, seq=head[0] + 1, at=START, prev_hash=head[1])
    if not well_sealed:
        extra = replace(extra, hash="f" * 64)
    found = problems_of([*chain, extra], head=head)  # the head was not moved
    assert found
    assert found[0].seq in (extra.seq, head[0])


def test_the_chain_verifies_from_the_retention_anchor() -> None:
    chain = build_chain([AuditDraft(None, "contest.update", f"contest:{i}") for i in range(5)])
    kept = chain[2:]
    retention = Retention(kept_from=3, anchor_hash=chain[1].hash)
    head = (chain[-1].seq, chain[-1].hash)
    assert chain_problems(kept, retention=retention, head=head) == []
    wrong = Retention(kept_from=3, anchor_hash=GENESIS_HASH)
    assert [p.seq for p in chain_problems(kept, retention=wrong, head=head)] == [3]


def test_retention_is_never_under_six_months() -> None:
    assert check_retention_days(183) == 183
    with pytest.raises(RuleViolation) as refused:
        check_retention_days(182)
    assert (refused.value.field, refused.value.rule) == ("retention_days", "minimum")
    with pytest.raises(ValueError, match="183"):
        Settings(audit_retention_days=182)
    assert Settings(audit_retention_days=183).audit_retention_days == 183
    early = Retention(kept_from=9, purged_before=START, purged_at=START + timedelta(days=100))
    assert [p.seq for p in retention_problems(early)] == [9]
    lawful = replace(early, purged_at=START + timedelta(days=183))
    assert retention_problems(lawful) == []


def test_a_malformed_action_is_refused() -> None:
    with pytest.raises(RuleViolation):
        AuditDraft(None, "Contest Update", "contest:1")
    with pytest.raises(RuleViolation):
        AuditDraft(None, "contest.update", "")


def test_what_is_stored_is_what_is_hashed() -> None:
    """Tuples read back as lists and a lone surrogate as "?": both before sealing."""
    assert as_json({"b": (1, 2), "a": "\ud800x"}) == {"a": "?x", "b": [1, 2]}
    with pytest.raises(TypeError):
        as_json({"when": START})

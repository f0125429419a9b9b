"""Contest attestations: certificates whose every tampered field or byte fails its named check,
the strict parser, and the canonical rules document."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.attestations import (
    ATTESTATION_CHECK_NAMES,
    Attestation,
    AttestationCertificate,
    AttestationStatus,
    certificate_of,
    document_sha256,
    parse_attestation_certificate,
    tree_of,
)
from contracts.certificates import MalformedCertificate, hex32
from engine.contests.rules import canonical_json
from notary import contests as notary_contests
from notary.contests import RESULTS, RESULTS_ENCODING, RULES, RULES_ENCODING, metric_text
from notary.contests import verify_contest_certificate as verify
from tests.fake_chain import FakeRegistry

DOCUMENT = canonical_json({"contest_id": 7, "contest": {"title": "Spring cup", "cash": "1e6"}})
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _issue(registry: FakeRegistry, kind: str, *, position: int = 1) -> AttestationCertificate:
    """A certificate of one leaf of an anchored rules (one leaf) or results (five) attestation."""
    sha = hex32(document_sha256(DOCUMENT))
    if kind == RULES:
        encoding, leaves = RULES_ENCODING, [("7", sha)]
        position = 0
    else:
        encoding = RESULTS_ENCODING
        leaves = [
            ("7", str(u), str(r), f"0.0{r}", str(100 // r), sha)
            for r, u in enumerate((11, 12, 13, 14, 15), start=1)
        ]
    tree = tree_of(leaves, encoding)
    receipt = registry.anchor(tree.root, len(leaves))
    attestation = Attestation(
        id=1,
        kind=kind,
        subject=7,
        leaf_encoding=encoding,
        count=len(leaves),
        root=tree.root,
        document=DOCUMENT,
        status=AttestationStatus.ANCHORED,
        created_at=NOW,
        chain_id=registry.chain_id,
        contract_address=registry.address,
        from_block=0,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        block_hash=receipt.block_hash,
        block_timestamp=receipt.block_timestamp,
    )
    return certificate_of(attestation, leaves[position], tree.proof(position))


@pytest.mark.parametrize("kind", [RULES, RESULTS])
def test_a_genuine_certificate_passes_every_named_check(kind: str) -> None:
    registry = FakeRegistry()
    certificate = _issue(registry, kind)
    verdict = verify(certificate, registry.reader())
    assert verdict.valid, verdict
    assert [c.name for c in verdict.checks] == list(ATTESTATION_CHECK_NAMES)
    assert parse_attestation_certificate(certificate.dumps()) == certificate


# --- tampering: each JSON field, any byte of it --------------------------------------------

# The named check that must fail when a field is tampered (values: by position, see below).
EXPECTED = {
    "kind": "kind",
    "subject": "subject",
    "document": "document",
    "leaf_encoding": "kind",
    "leaf": "leaf",
    "proof": "proof",
    "root": "proof",
    "chain_id": "chain_id",
    "contract_address": "contract",
    "tx_hash": "transaction",
    "block_number": "anchor_time",
    "block_hash": "block_hash",
    "block_timestamp": "anchor_time",
}
TAMPERABLE = sorted([*EXPECTED, "values", "version"])


def _other_char(text: str, at: int, draw: st.DrawFn) -> str:
    """``text`` with the character at ``at`` replaced by a different one of the same class."""
    old = text[at]
    pool = "0123456789abcdef" if old in "0123456789abcdef" else 'xyzXYZ {}"é'
    new = draw(st.sampled_from([c for c in pool if c != old]))
    return text[:at] + new + text[at + 1 :]


@st.composite
def tampered(draw: st.DrawFn) -> tuple[str, dict[str, Any], str, FakeRegistry]:
    """(field, tampered JSON document, the check that must fail, the chain it was anchored
    on) for a rules or results certificate."""
    kind = draw(st.sampled_from([RULES, RESULTS]))
    registry = FakeRegistry()
    document = _issue(registry, kind).to_json()
    field = draw(st.sampled_from(TAMPERABLE))
    value = document[field]
    expected = EXPECTED.get(field, "")
    if field == "values":
        index = draw(st.integers(0, len(value) - 1))
        text = value[index]
        at = draw(st.integers(2 if text.startswith("0x") else 0, len(text) - 1))
        value = [*value[:index], _other_char(text, at, draw), *value[index + 1 :]]
        expected = "subject" if index == 0 else "document" if index == len(value) - 1 else "leaf"
    elif field == "proof":
        if not value:  # a one-leaf tree has no proof: any sibling breaks it
            value = ["0x" + "11" * 32]
        else:
            index = draw(st.integers(0, len(value) - 1))
            at = draw(st.integers(2, 65))
            value = [*value[:index], _other_char(value[index], at, draw), *value[index + 1 :]]
    elif field == "leaf_encoding":
        value = list(RESULTS_ENCODING if kind == RULES else RULES_ENCODING)
    elif field == "kind":
        value = draw(st.sampled_from([k for k in (RULES, RESULTS, "contest-prizes") if k != kind]))
    elif isinstance(value, int):
        step = draw(st.integers(1, 1000))
        moved = value + step * draw(st.sampled_from([1, -1]))
        # Never back to the original (abs(1 - 2) == 1 would be): only the version may go < 0.
        value = value + step if moved < 0 and field != "version" else moved
    else:  # hex strings and the document
        at = draw(st.integers(2 if value.startswith("0x") else 0, len(value) - 1))
        value = _other_char(value, at, draw)
    document[field] = value
    return field, document, expected, registry


@settings(max_examples=300, deadline=None)
@given(tampered())
def test_any_tampered_field_or_byte_fails_its_named_check(
    case: tuple[str, dict[str, Any], str, FakeRegistry],
) -> None:
    field, document, expected, registry = case
    try:
        certificate = parse_attestation_certificate(json.dumps(document))
    except MalformedCertificate as refused:
        assert refused.field == field  # the parser names what was broken
        return
    assert field != "version"
    verdict = verify(certificate, registry.reader())
    assert not verdict.valid
    assert expected in verdict.failed, (field, verdict.failed)


def test_a_results_leaf_cannot_pass_as_a_rules_leaf() -> None:
    registry = FakeRegistry()
    document = _issue(registry, RESULTS).to_json() | {"kind": RULES}
    verdict = verify(parse_attestation_certificate(document), registry.reader())
    assert verdict.failed == ["kind"]


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"values": []}, "values", "max_items"),
        ({"values": [7]}, "values", "type"),
        ({"leaf_encoding": ["address"]}, "leaf_encoding", "leaf_encoding"),
        ({"kind": "Contest Rules"}, "kind", "type"),
        ({"subject": "7"}, "subject", "type"),
        ({"extra": 1}, "extra", "unknown_field"),
        ({"version": 2}, "version", "version"),
    ],
)
def test_a_malformed_certificate_names_the_field(
    change: dict[str, Any], field: str, rule: str
) -> None:
    document = _issue(FakeRegistry(), RESULTS).to_json() | change
    with pytest.raises(MalformedCertificate) as refused:
        parse_attestation_certificate(document)
    assert (refused.value.field, refused.value.rule) == (field, rule)


# --- the canonical document ----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_canonical_json_ignores_key_order_and_round_trips(data: dict[str, Any], rng: Any) -> None:
    items = list(data.items())
    rng.shuffle(items)
    text = canonical_json(data)
    assert canonical_json(dict(items)) == text
    assert json.loads(text) == data
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_canonical_json_spells_decimals_and_dates_as_strings() -> None:
    text = canonical_json({"b": Decimal("1000000.00"), "a": date(2026, 3, 1), "c": (1, 2)})
    assert text == '{"a":"2026-03-01","b":"1000000.00","c":[1,2]}'


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_metric_text_is_a_plain_decimal_that_round_trips(metric: float) -> None:
    text = metric_text(metric)
    assert "e" not in text.lower()
    assert float(Decimal(text)) == metric


@given(st.sets(st.integers(1, 10_000), max_size=60), st.integers(1, 7))
def test_the_notary_pages_through_every_contest(ids: set[int], size: int) -> None:
    ordered = sorted(ids)

    def page(*, after: int, limit: int) -> list[int]:
        return [i for i in ordered if i > after][:limit]

    assert notary_contests._all(page, size=size) == ordered

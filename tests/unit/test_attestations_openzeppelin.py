"""A contest results tree and proof, checked by @openzeppelin/merkle-tree itself under node:
the public tool a member uses to verify their certificate without our database."""

from __future__ import annotations

import random

from contracts.attestations import tree_of
from notary.contests import RESULTS_ENCODING, RULES_ENCODING
from tests.unit.test_merkle_openzeppelin import _hex, _openzeppelin, pytestmark  # noqa: F401


def _results(size: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rules_sha = _hex(rng.randbytes(32))
    return [
        [
            "42",
            str(rng.randrange(1, 10**9)),
            str(rank),
            rng.choice(["", "0", "-0.0123", "1.5", "12345.678901234567"]),
            str(rng.choice([0, 10, 5000])),
            rules_sha,
        ]
        for rank in range(1, size + 1)
    ]


def test_openzeppelin_builds_our_results_root_and_accepts_our_proofs() -> None:
    for size in (1, 2, 3, 7, 33):
        values = _results(size, seed=size)
        theirs = _openzeppelin(values, list(RESULTS_ENCODING))
        ours = tree_of(values, RESULTS_ENCODING)
        assert _hex(ours.root) == theirs["root"]
        assert [[_hex(p) for p in ours.proof(i)] for i in range(size)] == theirs["proofs"]
        assert all(theirs["verified"])


def test_openzeppelin_builds_our_rules_root() -> None:
    values = [["42", "0x" + "ab" * 32]]
    theirs = _openzeppelin(values, list(RULES_ENCODING))
    assert _hex(tree_of(values, RULES_ENCODING).root) == theirs["root"]

"""Root and proof parity with @openzeppelin/merkle-tree itself, run under node.

Skipped (with the reason) when node or the npm package is not installed
(``npm ci --prefix contracts`` installs it).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contracts.certificates import LEAF_ENCODING, leaf_of
from contracts.merkle import MerkleTree, standard_tree

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
PACKAGE = CONTRACTS / "node_modules" / "@openzeppelin" / "merkle-tree"

# Reads {"values": [...], "types": [...]}; prints the root, every value's proof, and whether
# StandardMerkleTree.verify accepts each value with its proof.
SCRIPT = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { values, types } = JSON.parse(input);
  const tree = StandardMerkleTree.of(values, types);
  const proofs = values.map((_, i) => tree.getProof(i));
  const verified = values.map((v, i) =>
    StandardMerkleTree.verify(tree.root, types, v, proofs[i]));
  console.log(JSON.stringify({ root: tree.root, proofs, verified }));
});
"""

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not PACKAGE.is_dir(),
    reason=f"node or {PACKAGE} missing (npm ci --prefix contracts)",
)


def _openzeppelin(values: list[list[str]], types: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        ["node", "--input-type=commonjs", "-e", SCRIPT],
        input=json.dumps({"values": values, "types": types}),
        capture_output=True,
        text=True,
        cwd=CONTRACTS,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 100])
def test_roots_and_proofs_equal_openzeppelins(size: int) -> None:
    rng = random.Random(size)
    leaves_values = [
        (rng.randbytes(32), rng.randbytes(32), rng.randbytes(32), rng.randrange(1, 10**9))
        for _ in range(size)
    ]
    values = [[_hex(n), _hex(r), _hex(s), str(a)] for n, r, s, a in leaves_values]
    theirs = _openzeppelin(values, list(LEAF_ENCODING))

    ours = MerkleTree.of([leaf_of(*v) for v in leaves_values])
    assert _hex(ours.root) == theirs["root"]
    assert [[_hex(p) for p in ours.proof(i)] for i in range(size)] == theirs["proofs"]
    assert all(theirs["verified"])


def test_a_duplicated_leaf_changes_the_root_here_and_there() -> None:
    types = ["bytes32"]
    a, b, c = (bytes([n]) * 32 for n in (1, 2, 3))
    for leaves in ([a, b, c], [a, b, c, c]):
        theirs = _openzeppelin([[_hex(v)] for v in leaves], types)
        assert _hex(standard_tree([[v] for v in leaves], types).root) == theirs["root"]
    assert (
        standard_tree([[a], [b], [c]], types).root
        != standard_tree([[a], [b], [c], [c]], types).root
    )

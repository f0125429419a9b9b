"""Hash chains: canonical JSON and the SHA-256 link every chained record (ledger transfers,
audit entries) is sealed with. One definition, so every chain hashes the same way."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS_HASH = "0" * 64  # the prev_hash of a chain's first record

# One encoder for every hash: ``json.dumps`` with options builds a new one per call.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON: sorted keys, no spaces, UTF-8 text (the same value always
    gives the same text)."""
    return _CANONICAL_JSON.encode(value)


def chain_hash(prev_hash: str, fields: list[Any]) -> str:
    """Hex SHA-256 linking a record (its ``fields``, canonical JSON) to its predecessor's hash."""
    return hashlib.sha256(f"{prev_hash}|{canonical_json(fields)}".encode()).hexdigest()

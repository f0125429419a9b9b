"""A contest's rules snapshot as a value (the record ``engine.contests.store_rules`` stores)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RulesSnapshot:
    """The rules members rely on, fixed when trading starts: ``document`` is canonical JSON
    (``engine.contests.rules.canonical_json``), ``sha256`` the SHA-256 of its UTF-8 bytes."""

    contest_id: int
    document: str
    sha256: bytes
    locked_at: datetime

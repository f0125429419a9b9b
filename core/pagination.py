"""Opaque cursors for keyset pagination: every list in the API pages the same way."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from core.errors import RuleViolation

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(last_key: Any) -> str:
    """An opaque cursor for the page after ``last_key`` (a JSON-serialisable sort key)."""
    raw = json.dumps({"after": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type = int) -> Any | None:
    """The sort key of type ``kind`` a cursor stands for; ``None`` for the first page."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise _invalid_cursor() from exc
    if type(after) is not kind:  # bool is an int subclass; a forged cursor must not pass
        raise _invalid_cursor()
    if isinstance(after, int) and not -(2**63) <= after < 2**63:
        raise _invalid_cursor()
    return after


def _invalid_cursor() -> RuleViolation:
    return RuleViolation(
        "cursor is not one this API issued", field="query.cursor", rule="valid_cursor"
    )

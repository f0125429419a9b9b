"""Compliance screening of content: the pure screening lives in ``core.compliance`` (trade
journal notes in the engine are screened with the same function); re-exported here for the
content pipeline."""

from core.compliance import (
    DEFAULT_TERMS,
    MAX_TERM_LENGTH,
    MAX_TERMS,
    ComplianceHit,
    normalize_terms,
    screen,
)

__all__ = [
    "DEFAULT_TERMS",
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "ComplianceHit",
    "normalize_terms",
    "screen",
]

"""Compliance screening: prohibited claims (promises of returns) found in a text, with positions.

Matching is case-insensitive; a space in a term matches any run of whitespace (so a line break
inside "guaranteed\\nreturn" is still found); a term that begins with a letter or digit of a
spaced script only matches at the start of a word, and may end inside one (so "guaranteed
return" is found in "guaranteed returns" but not in "unguaranteed return"). Chinese terms match
anywhere.
Positions are character offsets into the text as submitted (after UTF-8 decoding).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.errors import RuleViolation

DEFAULT_TERMS: tuple[str, ...] = (
    "保本",
    "保收益",
    "保证收益",
    "稳赚",
    "零风险",
    "无风险收益",
    "guaranteed return",
    "guaranteed profit",
    "risk-free profit",
    "risk-free return",
)
MAX_TERMS = 500
MAX_TERM_LENGTH = 100


@dataclass(frozen=True, slots=True)
class ComplianceHit:
    """``term`` found as ``text[start:end]`` (character offsets)."""

    term: str
    start: int
    end: int
    excerpt: str


def normalize_terms(terms: Iterable[str]) -> list[str]:
    """Terms cleaned up for storage: NFC, trimmed, inner whitespace single, no duplicates
    (case-insensitively), in the given order. Raises ``RuleViolation`` for bad lists."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for term in terms:
        term = " ".join(unicodedata.normalize("NFC", term).split())
        if not term:
            raise RuleViolation("a term must not be blank", field="terms", rule="blank_term")
        if len(term) > MAX_TERM_LENGTH:
            raise RuleViolation(
                f"a term has at most {MAX_TERM_LENGTH} characters", field="terms", rule="max_length"
            )
        if term.casefold() not in seen:
            seen.add(term.casefold())
            cleaned.append(term)
    if len(cleaned) > MAX_TERMS:
        raise RuleViolation(f"at most {MAX_TERMS} terms", field="terms", rule="max_items")
    return cleaned


def screen(text: str, terms: Sequence[str]) -> list[ComplianceHit]:
    """Every occurrence of every term in ``text``, ordered by position."""
    hits = []
    for term in terms:
        for match in _pattern(term).finditer(text):
            start, end = match.span()
            excerpt = text[max(0, start - 20) : end + 20].replace("\n", " ")
            hits.append(ComplianceHit(term=term, start=start, end=end, excerpt=excerpt))
    return sorted(hits, key=lambda h: (h.start, h.end, h.term))


@lru_cache(maxsize=2048)
def _pattern(term: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(word) for word in term.split())
    if _spaced_word_char(term[0]):
        body = r"(?<!\w)" + body
    return re.compile(body, re.IGNORECASE)


def _spaced_word_char(char: str) -> bool:
    # Han, kana and Hangul are written without spaces: a boundary there means nothing.
    return char.isalnum() and not unicodedata.name(char, "").startswith(
        ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
    )

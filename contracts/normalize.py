"""Text normalization before hashing, so trivially different copies of a text hash alike.

Normalized text is Unicode NFC, LF line endings, runs of spaces and tabs collapsed to one
space, trailing spaces removed from every line, runs of blank lines collapsed to one, and no
leading or trailing whitespace. Binary content (a PDF) is not normalized: its normalized hash is
its raw hash.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# Horizontal whitespace: every Unicode space except line breaks (NBSP, ideographic space ...).
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """``text`` in normal form: NFC, LF, collapsed whitespace, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data``: 32 bytes."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class ContentHashes:
    """SHA-256 of the bytes as given (``raw``) and of the normalized text (``normalized``)."""

    raw: bytes
    normalized: bytes


class NotText(ValueError):
    """Content declared as text is not valid UTF-8."""


def content_hashes(content: bytes, *, is_text: bool) -> ContentHashes:
    """Both hashes of ``content``; for text, the normalized hash is of its normalized UTF-8."""
    raw = sha256(content)
    if not is_text:
        return ContentHashes(raw=raw, normalized=raw)
    return ContentHashes(raw=raw, normalized=sha256(normalize_text(decode_text(content)).encode()))


def decode_text(content: bytes) -> str:
    """``content`` as UTF-8 text (a leading byte-order mark dropped); ``NotText`` if it is not."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotText(f"content is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


TEXT_CONTENT_TYPES = frozenset({"text/plain", "text/markdown", "text/html"})
BINARY_CONTENT_TYPES = frozenset({"application/pdf"})
CONTENT_TYPES = TEXT_CONTENT_TYPES | BINARY_CONTENT_TYPES
"""The content types a piece may be registered as; text types are normalized before hashing."""


def is_text(content_type: str) -> bool:
    return content_type in TEXT_CONTENT_TYPES

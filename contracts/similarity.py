"""Near-duplicate text: MinHash signatures over character shingles, banded for LSH lookup.

Character shingles (not words) so Chinese, which has no spaces, works like English. A
signature is ``datasketch.MinHash`` (128 permutations, the ``affine32`` scheme, pinned so stored
signatures stay comparable across library upgrades). For lookup the signature is cut into
``BANDS`` bands of ``ROWS`` rows, with the band layout ``datasketch.MinHashLSH`` picks for
``LSH_THRESHOLD``; each band becomes one 64-bit key. Pieces sharing any key are candidates, and
the estimated Jaccard similarity of the signatures decides. Storing the keys in the database
(``contracts.store``) gives the same LSH as ``MinHashLSH``, shared by every process.

With 32 bands of 4 rows a pair with Jaccard similarity 0.6 becomes a candidate with probability
0.988, 0.7 with 0.9997: policy thresholds from ``MIN_THRESHOLD`` up are found reliably.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from contracts.normalize import normalize_text

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"
SHINGLE_CHARS = 4
LSH_THRESHOLD = 0.4
MIN_THRESHOLD = 0.5
MAX_CANDIDATES = 500  # compared per registration: the texts sharing the most bands
MAX_REPORTED = 10
_LSH = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
BANDS, ROWS = _LSH.b, _LSH.r
_SIGNATURE_DTYPE = np.dtype("<u4")
# Permutations are derived from the seed; computing them once saves ~1 ms per signature.
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def shingles(text: str, size: int = SHINGLE_CHARS) -> set[bytes]:
    """The distinct ``size``-character substrings of the casefolded, normalized ``text``, with
    line breaks read as spaces (re-wrapping a copy changes nothing)."""
    text = " ".join(normalize_text(text).casefold().split())
    if len(text) <= size:
        return {text.encode()} if text else set()
    return {text[i : i + size].encode() for i in range(len(text) - size + 1)}


def signature(text: str) -> bytes:
    """The MinHash signature of ``text`` as ``NUM_PERM`` little-endian uint32 (512 bytes)."""
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_PERMUTATIONS)
    minhash.update_batch(sorted(shingles(text)))
    return minhash.hashvalues.astype(_SIGNATURE_DTYPE).tobytes()


def _values(signature_bytes: bytes) -> np.ndarray:
    return np.frombuffer(signature_bytes, dtype=_SIGNATURE_DTYPE)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity (0..1) of the texts behind two signatures: the share of
    equal MinHash values, as ``MinHash.jaccard`` computes it."""
    return float(np.mean(_values(a) == _values(b)))


def band_keys(signature_bytes: bytes) -> list[int]:
    """One signed 64-bit key per LSH band; two texts sharing a key are candidates."""
    values = np.frombuffer(signature_bytes, dtype=_SIGNATURE_DTYPE)
    keys = []
    for band in range(BANDS):
        rows = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(band.to_bytes(2, "big") + rows, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    """An earlier piece (by registration id) whose text is ``score`` similar (0..1)."""

    content_id: int
    score: float


def near_duplicates(
    signature_bytes: bytes,
    candidates: Sequence[tuple[int, bytes]],
    *,
    threshold: float,
    limit: int = MAX_REPORTED,
) -> list[NearDuplicate]:
    """The ``candidates`` (id, signature) at least ``threshold`` similar, most similar first,
    at most ``limit`` of them. All candidates are compared in one vectorized step."""
    if not candidates:
        return []
    matrix = np.frombuffer(b"".join(s for _, s in candidates), dtype=_SIGNATURE_DTYPE)
    scores = np.mean(matrix.reshape(len(candidates), NUM_PERM) == _values(signature_bytes), axis=1)
    found = [
        NearDuplicate(content_id, round(float(score), 4))
        for (content_id, _), score in zip(candidates, scores, strict=True)
        if score >= threshold
    ]
    return sorted(found, key=lambda d: (-d.score, d.content_id))[:limit]

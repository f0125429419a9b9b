"""Text normalization, near-duplicate signatures and compliance screening (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import similarity
from contracts.compliance import DEFAULT_TERMS, normalize_terms, screen
from contracts.normalize import NotText, content_hashes, decode_text, normalize_text, sha256
from core.errors import RuleViolation

# --- normalization ----------------------------------------------------------------------------


def test_nfc_line_endings_whitespace_and_edges_are_normalized() -> None:
    decomposed = "Cafe\u0301  au\tlait\u00a0et\u3000thé \r\n\r\n\r\n\r\nSecond line  \rthird\n"
    assert normalize_text(decomposed) == "Café au lait et thé\n\nSecond line\nthird"


@pytest.mark.parametrize(
    "variant",
    [
        "Buy the dip.\nHold for a year.",
        "  Buy the dip.\r\nHold for a year.  ",
        "Buy  the\tdip.\rHold for a year.\n\n",
        "Buy the dip. \nHold\u00a0for a year.",
    ],
)
def test_variants_share_the_normalized_hash_not_the_raw_one(variant: str) -> None:
    reference = content_hashes(b"Buy the dip.\nHold for a year.", is_text=True)
    hashes = content_hashes(variant.encode(), is_text=True)
    assert hashes.normalized == reference.normalized
    assert hashes.raw == sha256(variant.encode())


def test_binary_content_is_not_normalized() -> None:
    pdf = b"%PDF-1.7\r\n  binary \x00\xff"
    hashes = content_hashes(pdf, is_text=False)
    assert hashes.raw == hashes.normalized == sha256(pdf)


def test_a_byte_order_mark_is_dropped_and_non_utf8_refused() -> None:
    assert decode_text("\ufeff保本".encode()) == "保本"
    with pytest.raises(NotText, match="UTF-8"):
        decode_text("caf\xe9".encode("latin-1"))


@given(st.text())
def test_normalizing_twice_changes_nothing(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "\r" not in once and "  " not in once and once == once.strip()


# --- near-duplicates --------------------------------------------------------------------------

ENGLISH = (
    "Semiconductor stocks rallied this week as demand for AI accelerators kept rising. "
    "We think the market underestimates the capex cycle at the large foundries. "
    "Margins at the memory makers are recovering faster than consensus expects. "
    "Inventory at distributors fell for the third straight quarter. "
    "Valuations are stretched, but earnings revisions are still positive. "
    "We prefer equipment makers over chip designers for the next twelve months. "
    "The main risk is a slowdown in hyperscaler spending in the second half. "
    "Export controls remain a wildcard for the sector."
)
CHINESE = (
    "本周半导体板块大幅上涨，人工智能加速器需求持续增长。我们认为市场低估了大型晶圆厂的资本开支周期。"
    "存储厂商的利润率恢复速度快于市场预期。分销商库存连续第三个季度下降。估值偏高，但盈利预测仍在上调。"
    "未来十二个月我们更看好设备厂商而非芯片设计公司。主要风险是下半年云厂商支出放缓。"
    "出口管制仍是行业的不确定因素。"
)
ONE_SENTENCE_EDITED = {
    "english": (
        ENGLISH,
        ENGLISH.replace(
            "Inventory at distributors fell for the third straight quarter.",
            "Distributor inventory dropped for a fourth quarter running.",
        ),
    ),
    "chinese": (
        CHINESE,
        CHINESE.replace("分销商库存连续第三个季度下降。", "经销商的库存已经连续四个季度减少。"),
    ),
}


@pytest.mark.parametrize("language", ONE_SENTENCE_EDITED)
def test_a_copy_with_one_sentence_edited_is_a_near_duplicate(language: str) -> None:
    original, edited = ONE_SENTENCE_EDITED[language]
    a, b = similarity.signature(original), similarity.signature(edited)
    assert similarity.similarity(a, b) >= 0.7
    assert set(similarity.band_keys(a)) & set(similarity.band_keys(b))  # an LSH candidate
    found = similarity.near_duplicates(b, [(7, a)], threshold=0.7)
    assert [d.content_id for d in found] == [7]


def test_unrelated_texts_are_not_similar() -> None:
    bonds = "Duration risk dominates bond portfolios when central banks keep raising rates."
    assert similarity.similarity(similarity.signature(ENGLISH), similarity.signature(bonds)) < 0.2
    assert similarity.similarity(similarity.signature(ENGLISH), similarity.signature(CHINESE)) < 0.1


def test_signatures_are_deterministic_and_fixed_size() -> None:
    first, again = similarity.signature(ENGLISH), similarity.signature(ENGLISH)
    assert first == again and len(first) == 4 * similarity.NUM_PERM
    assert len(similarity.band_keys(first)) == similarity.BANDS
    # Case, spacing and line endings do not matter: shingles come from the normalized text.
    assert similarity.signature(ENGLISH.upper().replace(". ", ".\r\n")) == first


# --- compliance -------------------------------------------------------------------------------


def test_chinese_claims_are_found_with_positions() -> None:
    text = "本产品保本保收益，稳赚不赔，零风险！"
    hits = screen(text, DEFAULT_TERMS)
    assert [(h.term, h.start, h.end) for h in hits] == [
        ("保本", 3, 5),
        ("保收益", 5, 8),
        ("稳赚", 9, 11),
        ("零风险", 14, 17),
    ]
    assert all(text[h.start : h.end] == h.term for h in hits)


def test_english_claims_are_found_case_insensitively_across_whitespace() -> None:
    text = "A GUARANTEED\nreturn of 20%! Risk-free   profits for all. Unguaranteed returns."
    hits = screen(text, DEFAULT_TERMS)
    assert [(h.term, text[h.start : h.end]) for h in hits] == [
        ("guaranteed return", "GUARANTEED\nreturn"),
        ("risk-free profit", "Risk-free   profit"),
    ]
    assert "GUARANTEED" in hits[0].excerpt


def test_clean_text_has_no_hits() -> None:
    assert screen(ENGLISH + CHINESE, DEFAULT_TERMS) == []


def test_terms_are_cleaned_and_checked() -> None:
    assert normalize_terms([" Guaranteed   return ", "guaranteed RETURN", "保本"]) == [
        "Guaranteed return",
        "保本",
    ]
    with pytest.raises(RuleViolation) as blank:
        normalize_terms(["ok", "  "])
    assert blank.value.rule == "blank_term"
    with pytest.raises(RuleViolation) as long:
        normalize_terms(["x" * 101])
    assert long.value.rule == "max_length"


def test_the_similarity_estimate_is_datasketchs() -> None:
    import numpy as np
    from datasketch import MinHash

    def minhash(text: str) -> MinHash:
        values = np.frombuffer(similarity.signature(text), dtype="<u4").astype(np.uint64)
        return MinHash(scheme=similarity.SCHEME, hashvalues=values)

    original, edited = ONE_SENTENCE_EDITED["english"]
    expected = minhash(original).jaccard(minhash(edited))
    assert similarity.similarity(similarity.signature(original), similarity.signature(edited)) == (
        expected
    )


def test_near_duplicates_are_ranked_and_capped() -> None:
    original, edited = ONE_SENTENCE_EDITED["english"]
    target = similarity.signature(original)
    candidates = [(i, similarity.signature(edited if i % 2 else original)) for i in range(30)]
    found = similarity.near_duplicates(target, candidates, threshold=0.7, limit=5)
    assert [d.content_id for d in found] == [0, 2, 4, 6, 8]
    assert {d.score for d in found} == {1.0}

"""Content registration and batched anchoring on both databases, against an in-memory chain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from contracts import anchoring, services
from contracts.chain import ChainError
from contracts.compliance import DEFAULT_TERMS
from contracts.content import BatchStatus, ContentPolicy, ContentStatus, PolicyAction, Registration
from contracts.merkle import verify
from contracts.registration import MAX_CONTENT_BYTES, PriorArt, register_content
from contracts.registry import NotAnchorer
from contracts.uow import ContentUnitOfWork
from contracts.verification import verify_certificate
from core.clock import utc_now
from core.db import Database
from core.errors import Conflict, NotFound, RuleViolation
from core.users.model import Role, User
from tests.concurrency import race
from tests.fake_chain import FakeRegistry
from tests.unit.test_content_text import ONE_SENTENCE_EDITED


@pytest.fixture
def uow(database: Database) -> ContentUnitOfWork:
    return ContentUnitOfWork(database.sessions)


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    return make_user(Role.AUTHOR)


def _register(uow: ContentUnitOfWork, author: User, body: str, **kwargs: object) -> Registration:
    return register_content(
        uow,
        author.id,
        title=str(kwargs.pop("title", "A note")),
        content=body.encode(),
        content_type=str(kwargs.pop("content_type", "text/plain")),
        **kwargs,  # type: ignore[arg-type]
    )


def _pieces(
    uow: ContentUnitOfWork, author: User, count: int, *, first: int = 0
) -> list[Registration]:
    return [
        register_content(
            uow,
            author.id,
            title=f"n{i}",
            content=f"Note {i}: {i * 7919}".encode(),
            content_type="text/markdown",
        )
        for i in range(first, first + count)
    ]


# --- registration -----------------------------------------------------------------------------


def test_registration_is_pending_with_both_hashes_and_a_salted_leaf(
    uow: ContentUnitOfWork, author: User
) -> None:
    first = register_content(
        uow,
        author.id,
        title="  Capex   cycle ",
        content=b"Hello\r\nworld ",
        content_type="text/plain",
    )
    assert first.status is ContentStatus.PENDING and first.batch_id is None
    assert first.title == "Capex cycle"
    assert first.content_sha256 != first.normalized_sha256
    assert not first.flagged
    assert services.my_content(uow, author.id, before=None, limit=10) == ([first], None)


def test_prior_art_is_refused_naming_the_earlier_certificate(
    uow: ContentUnitOfWork, author: User, make_user: Callable[..., User]
) -> None:
    first = _register(uow, author, "Buy the dip.\nHold for a year.")
    other = make_user(Role.AUTHOR)
    with pytest.raises(PriorArt) as refused:
        _register(uow, other, "  Buy the dip.\r\nHold   for a year.\n")  # same normalized text
    assert refused.value.extensions["certificate_id"] == first.id
    assert f"certificate {first.id}" in refused.value.detail


@pytest.mark.parametrize("language", ONE_SENTENCE_EDITED)
def test_a_near_duplicate_is_flagged_then_blocked_by_policy(
    uow: ContentUnitOfWork, author: User, language: str
) -> None:
    original_text, edited_text = ONE_SENTENCE_EDITED[language]
    original = _register(uow, author, original_text)
    flagged = _register(uow, author, edited_text)
    assert [d.content_id for d in flagged.near_duplicates] == [original.id]
    assert flagged.near_duplicates[0].score >= 0.7

    services.set_content_policy(uow, ContentPolicy(near_duplicate_action=PolicyAction.BLOCK))
    with pytest.raises(RuleViolation) as blocked:
        _register(uow, author, edited_text + " One more line.")
    assert blocked.value.rule == "near_duplicate"
    assert blocked.value.extensions["near_duplicates"][0]["certificate_id"] in {
        original.id,
        flagged.id,
    }
    assert len(services.my_content(uow, author.id, before=None, limit=10)[0]) == 2


def test_compliance_hits_are_flagged_then_blocked(uow: ContentUnitOfWork, author: User) -> None:
    assert services.compliance_terms(uow) == list(DEFAULT_TERMS)  # seeded by the migration
    flagged = _register(uow, author, "本基金保本保收益。Also a guaranteed return of 8%.")
    assert [(h.term, h.start) for h in flagged.compliance_hits] == [
        ("保本", 3),
        ("保收益", 5),
        ("guaranteed return", 16),
    ]
    services.set_content_policy(uow, ContentPolicy(compliance_action=PolicyAction.BLOCK))
    with pytest.raises(RuleViolation) as blocked:
        _register(uow, author, "Risk-free profit, every month.")
    assert blocked.value.rule == "prohibited_claim"
    assert blocked.value.extensions["matches"] == [
        {"term": "risk-free profit", "start": 0, "end": 16}
    ]
    services.set_compliance_terms(uow, ["moonshot"])
    assert _register(uow, author, "Risk-free profit, every month.").compliance_hits == ()


@pytest.mark.parametrize(
    ("body", "content_type", "rule"),
    [
        (b"", "text/plain", "non_empty"),
        (b" \r\n\t ", "text/markdown", "non_empty"),
        (b"", "application/pdf", "non_empty"),
        (b"x" * (MAX_CONTENT_BYTES + 1), "text/plain", "max_size"),
        (b"hello", "image/png", "allowed_content_type"),
        ("café".encode("latin-1"), "text/plain", "utf8"),
    ],
)
def test_bad_content_is_refused(
    uow: ContentUnitOfWork, author: User, body: bytes, content_type: str, rule: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        register_content(uow, author.id, title="t", content=body, content_type=content_type)
    assert refused.value.rule == rule


def test_policy_threshold_is_checked(uow: ContentUnitOfWork) -> None:
    for threshold in ("0.49", "1.01", "0.705"):
        with pytest.raises(RuleViolation):
            services.set_content_policy(
                uow, ContentPolicy(near_duplicate_threshold=Decimal(threshold))
            )
    policy = ContentPolicy(PolicyAction.BLOCK, Decimal("0.85"), PolicyAction.FLAG)
    services.set_content_policy(uow, policy)
    assert services.content_policy(uow) == policy


def test_concurrent_registrations_of_one_text_give_one_piece(
    uow: ContentUnitOfWork, database: Database, author: User
) -> None:
    results = race(
        4, lambda _: _register(ContentUnitOfWork(database.sessions), author, "Same text.")
    )
    assert sum(isinstance(r, Registration) for r in results) == 1
    assert sum(isinstance(r, PriorArt) for r in results) == 3, results


# --- anchoring --------------------------------------------------------------------------------


def test_anchoring_puts_all_pending_under_one_root_with_valid_certificates(
    uow: ContentUnitOfWork, author: User
) -> None:
    registry = FakeRegistry()
    pieces = _pieces(uow, author, 5)
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None and batch.status is BatchStatus.ANCHORED
    assert (batch.count, registry.sent, len(registry.anchors)) == (5, 1, 1)
    assert anchoring.anchor_pending(uow, registry) is None  # nothing left
    for piece in pieces:
        certificate = services.certificate(uow, piece.id, author_id=author.id)
        assert certificate.root == batch.root and verify(certificate.proof, batch.root, piece.leaf)
        assert certificate.block_timestamp == registry.blocks[batch.block_number or 0].timestamp
        content = f"Note {pieces.index(piece)}: {pieces.index(piece) * 7919}".encode()
        assert verify_certificate(certificate, content, registry.reader()).valid
    mine = services.my_content(uow, author.id, before=None, limit=10)[0]
    assert {p.status for p in mine} == {ContentStatus.ANCHORED}


def test_batches_respect_the_limit(uow: ContentUnitOfWork, author: User) -> None:
    registry = FakeRegistry()
    _pieces(uow, author, 5)
    first = anchoring.anchor_pending(uow, registry, limit=3)
    second = anchoring.anchor_pending(uow, registry, limit=3)
    assert first is not None and second is not None
    assert (first.count, second.count) == (3, 2)
    batches, _ = services.anchor_batches(uow, before=None, limit=10)
    assert [b.id for b in batches] == [second.id, first.id]


def test_pending_content_survives_a_chain_failure_and_anchors_on_retry(
    uow: ContentUnitOfWork, author: User
) -> None:
    registry = FakeRegistry()
    pieces = _pieces(uow, author, 3)
    registry.fail_next(times=2)
    for _ in range(2):
        with pytest.raises(ChainError):
            anchoring.anchor_pending(uow, registry)
    mine = services.my_content(uow, author.id, before=None, limit=10)[0]
    assert {p.status for p in mine} == {ContentStatus.PENDING}
    (sending,) = services.anchor_batches(uow, before=None, limit=10)[0]
    assert sending.status is BatchStatus.SENDING and sending.attempts == 2
    assert "injected" in (sending.last_error or "")
    with pytest.raises(Conflict):
        services.certificate(uow, pieces[0].id, author_id=author.id)

    late = _pieces(
        uow, author, 1, first=10
    )  # registered while the batch is stuck: goes in the next one
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None and batch.id == sending.id and batch.root == sending.root
    assert (batch.count, batch.attempts, batch.last_error) == (3, 3, None)
    assert len(registry.anchors) == 1
    nxt = anchoring.anchor_pending(uow, registry)
    assert nxt is not None and nxt.count == 1
    assert services.certificate(uow, late[0].id, author_id=None).root == nxt.root


def test_a_refused_anchorer_keeps_content_pending(uow: ContentUnitOfWork, author: User) -> None:
    registry = FakeRegistry()
    _pieces(uow, author, 2)
    registry.fail_next(NotAnchorer("0xabc does not have the anchorer role"))
    with pytest.raises(NotAnchorer):
        anchoring.anchor_pending(uow, registry)
    assert anchoring.anchor_pending(uow, registry) is not None


def test_a_lost_receipt_is_recovered_without_anchoring_twice(
    uow: ContentUnitOfWork, author: User
) -> None:
    registry = FakeRegistry()
    pieces = _pieces(uow, author, 4)
    registry.lose_next_receipt()
    with pytest.raises(ChainError):
        anchoring.anchor_pending(uow, registry)  # mined, but we never saw the receipt
    batch = anchoring.anchor_pending(uow, registry)  # AlreadyAnchored -> read the event
    assert batch is not None and batch.status is BatchStatus.ANCHORED
    assert len(registry.anchors) == 1 and registry.sent == 2
    assert batch.tx_hash == registry.anchors[0].tx_hash
    certificate = services.certificate(uow, pieces[2].id, author_id=author.id)
    assert verify_certificate(certificate, b"Note 2: 15838", registry.reader()).valid


def test_a_crash_before_recording_the_receipt_is_recovered(
    uow: ContentUnitOfWork, author: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = FakeRegistry()
    _pieces(uow, author, 2)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("process killed")

    with monkeypatch.context() as patch:
        patch.setattr(anchoring, "_record_anchor", crash)
        with pytest.raises(RuntimeError):
            anchoring.anchor_pending(uow, registry)
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None and batch.status is BatchStatus.ANCHORED
    assert len(registry.anchors) == 1


def test_finality_after_confirmations_and_reorg_back_to_pending(
    uow: ContentUnitOfWork, author: User
) -> None:
    registry = FakeRegistry()
    pieces = _pieces(uow, author, 2)
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None and batch.block_number is not None
    assert anchoring.refresh_finality(uow, registry, confirmations=3).finalized == []
    registry.reorg(batch.block_number)  # the anchoring block is replaced
    finality = anchoring.refresh_finality(uow, registry, confirmations=3)
    assert finality.reorged == [batch.id]
    assert services.my_content(uow, author.id, before=None, limit=5)[0][0].status is (
        ContentStatus.PENDING
    )
    again = anchoring.anchor_pending(uow, registry)  # resent, same root
    assert again is not None and again.id == batch.id and again.block_hash != batch.block_hash
    registry.mine(2)
    assert anchoring.refresh_finality(uow, registry, confirmations=3).finalized == [batch.id]
    assert services.anchor_batch(uow, batch.id).status is BatchStatus.FINAL
    certificate = services.certificate(uow, pieces[0].id, author_id=author.id)
    assert verify_certificate(certificate, b"Note 0: 0", registry.reader()).valid
    mine = services.my_content(uow, author.id, before=None, limit=5)[0]
    assert {p.status for p in mine} == {ContentStatus.FINAL}


def test_anchoring_is_due_by_count_or_by_age(uow: ContentUnitOfWork, author: User) -> None:
    registry = FakeRegistry()
    due: dict[str, Any] = {"batch_size": 3, "max_wait_seconds": 60}
    assert anchoring.anchor_due(uow, registry, **due) is None  # nothing pending
    _pieces(uow, author, 2)
    assert anchoring.anchor_due(uow, registry, **due) is None
    later = utc_now() + timedelta(seconds=61)
    batch = anchoring.anchor_due(uow, registry, **due, now=later)
    assert batch is not None and batch.count == 2
    _pieces_after = [
        register_content(
            uow, author.id, title="x", content=f"more {i}".encode(), content_type="text/plain"
        )
        for i in range(3)
    ]
    batch = anchoring.anchor_due(uow, registry, **due)
    assert batch is not None and batch.count == len(_pieces_after)


def test_certificates_are_private_to_their_author_and_operators(
    uow: ContentUnitOfWork, author: User, make_user: Callable[..., User]
) -> None:
    (piece,) = _pieces(uow, author, 1)
    anchoring.anchor_pending(uow, FakeRegistry())
    stranger = make_user(Role.AUTHOR)
    with pytest.raises(NotFound):
        services.certificate(uow, piece.id, author_id=stranger.id)
    with pytest.raises(NotFound):
        services.certificate(uow, 999_999, author_id=None)
    assert services.certificate(uow, piece.id, author_id=None).author_id == author.id


def test_my_content_pages_newest_first(uow: ContentUnitOfWork, author: User) -> None:
    pieces = _pieces(uow, author, 5)
    first, cursor = services.my_content(uow, author.id, before=None, limit=2)
    second, cursor2 = services.my_content(uow, author.id, before=cursor, limit=2)
    third, end = services.my_content(uow, author.id, before=cursor2, limit=2)
    assert [p.id for p in first + second + third] == [p.id for p in reversed(pieces)]
    assert end is None


def test_the_deployment_is_remembered_per_chain(database: Database) -> None:
    uow = ContentUnitOfWork(database.sessions)
    first, second = "0x" + "11" * 20, "0x" + "22" * 20
    with uow:
        assert uow.content.record_deployment(5, first, replacing=None, now=utc_now()) == first
        assert uow.content.record_deployment(5, second, replacing=first, now=utc_now()) == second
        uow.commit()
    with uow.reading():
        assert uow.content.deployment(5) == second
        assert uow.content.deployment(6) is None
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM chain_deployments")).scalar() == 1

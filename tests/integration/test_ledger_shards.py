"""The shard chains on both databases: random traffic keeps every chain linked and every
stripe equal to the replay; roots seal the heads and ``verify`` catches a forged one; the
legacy global chain of earlier versions carries on under the shard chains (migration 0031)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core import migrations
from core.db import Database, make_engine
from core.errors import DomainError
from ledger import services
from ledger.model import (
    GENESIS_HASH,
    ISSUANCE,
    POINTS,
    REDEEMED,
    XP,
    Balance,
    Transfer,
    TransferKind,
    TransferRequest,
    effects,
    points_account,
    xp_account,
)
from ledger.services import LedgerUnitOfWork
from ledger.shards import chain_shard, shard_genesis, stripe_of

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ACCOUNTS = [points_account(m) for m in range(1, 9)] + [REDEEMED]
_ids = itertools.count()


def _grant(account: str, amount: int, asset: str = POINTS) -> TransferRequest:
    return TransferRequest(f"g{next(_ids)}", ISSUANCE, account, asset, amount, "grant")


_move = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 300))
_group = st.lists(_move, min_size=1, max_size=4)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(groups=st.lists(_group, min_size=1, max_size=5), xp=st.integers(1, 50))
def test_random_groups_keep_every_chain_linked_and_stripes_equal_the_replay(
    ledger_uow: LedgerUnitOfWork, groups: list[list[tuple[str, str, int]]], xp: int
) -> None:
    seeded = services.submit(
        ledger_uow,
        [_grant(a, 500) for a in ACCOUNTS if a != REDEEMED] + [_grant(xp_account(1), xp, XP)],
        now=T0,
    )
    made: list[Transfer] = list(seeded)
    for group in groups:
        requests = [
            TransferRequest(f"m{next(_ids)}", debit, credit, POINTS, amount, "transfer")
            for debit, credit, amount in group
            if debit != credit
        ]
        if requests:
            try:
                made += services.submit(ledger_uow, requests, now=T0)
            except DomainError:
                pass  # refused as a whole: nothing of it is stored
    report = services.verify(ledger_uow)
    assert report.ok, report.errors
    with ledger_uow.reading():
        stored = ledger_uow.ledger.transfers_by_id(t.id for t in made)
        everything = list(ledger_uow.ledger.all_transfers())
        rows = ledger_uow.ledger.balance_rows()
    assert all(t.shard == chain_shard(t.debit, t.credit) for t in stored.values())
    replayed: dict[tuple[str, str], Balance] = {}
    holds = {t.id: t for t in everything if t.kind is TransferKind.PENDING}
    for t in everything:
        for account, asset, delta in effects(t, holds.get(t.pending_id or "")):
            replayed[(account, asset)] = replayed.get((account, asset), Balance()) + delta
    for (account, asset), want in replayed.items():  # the stripes add up to the replay
        assert services.balance(ledger_uow, account, asset) == want, (account, asset)
    issuance = {stripe for account, _, stripe in rows if account == ISSUANCE}
    assert issuance == {
        stripe_of(ISSUANCE, t.shard) for t in everything if ISSUANCE in (t.debit, t.credit)
    }
    assert len(issuance) > 1  # issuance is striped: no row is written by every shard


def test_a_write_moves_only_its_shards_heads_and_the_system_stripe_of_its_shard(
    ledger_uow: LedgerUnitOfWork,
) -> None:
    first = services.transfer(ledger_uow, _grant(points_account(1), 10), now=T0)
    second = services.transfer(ledger_uow, _grant(points_account(2), 20), now=T0)
    assert (first.shard, second.shard) == (7, 15)  # shard_of of those accounts
    assert first.prev_hash == shard_genesis(GENESIS_HASH, 7) and first.shard_seq == 1
    with ledger_uow.reading():
        heads = ledger_uow.ledger.shard_heads()
        rows = ledger_uow.ledger.balance_rows()
    assert heads[7] == (1, first.hash) and heads[15] == (1, second.hash)
    assert sum(1 for seq, _ in heads.values() if seq) == 2
    assert rows[(ISSUANCE, POINTS, 7)].debits_posted == 10
    assert rows[(ISSUANCE, POINTS, 15)].debits_posted == 20
    assert services.balance(ledger_uow, ISSUANCE, POINTS).posted == -30
    assert services.balance_at(ledger_uow, ISSUANCE, POINTS, T0) == -30


def test_roots_seal_moved_heads_only_and_verify_catches_a_forged_one(
    ledger_uow: LedgerUnitOfWork, database: Database
) -> None:
    assert services.seal_root(ledger_uow, now=T0) is None  # nothing moved since genesis
    services.transfer(ledger_uow, _grant(points_account(1), 10), now=T0)
    first = services.seal_root(ledger_uow, now=T0)
    assert first is not None and first.id == 1 and first.prev_root == GENESIS_HASH
    assert services.seal_root(ledger_uow, now=T0) is None  # no head moved since
    services.transfer(ledger_uow, _grant(points_account(2), 10), now=T0)
    second = services.seal_root(ledger_uow, now=T0 + timedelta(minutes=10))
    assert second is not None and second.prev_root == first.root
    report = services.verify(ledger_uow)
    assert report.ok and report.roots == 2, report.errors
    assert report.shards == {7: 1, 15: 1}

    forged = [[s, seq + 1 if s == 7 else seq, h] for s, seq, h in second.heads]
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_roots SET heads = :heads WHERE id = 2"),
            {"heads": json.dumps(forged)},
        )
    errors = services.verify(ledger_uow).errors
    assert any("root 2: its hash does not recompute" in e for e in errors), errors
    assert any("root 2: shard 7 at shard_seq 2 is not on its chain" in e for e in errors)


def test_verify_catches_a_shard_head_moved_back(
    ledger_uow: LedgerUnitOfWork, database: Database
) -> None:
    services.transfer(ledger_uow, _grant(points_account(1), 10), now=T0)
    services.transfer(ledger_uow, _grant(points_account(1), 10), now=T0)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_heads SET last_seq = 1 WHERE shard = 7"))
    errors = services.verify(ledger_uow).errors
    assert errors == ["shard 7 head is at shard_seq 1, its transfers end at 2"]


_LEGACY_COLUMNS = (
    "seq, id, kind, debit_account, credit_account, asset, amount, reason, reference, metadata, "
    "pending_id, timeout_seconds, timeout_at, reversal_of, created_at, prev_hash, hash"
)


def _legacy_chain(count: int) -> list[Transfer]:
    """A global chain as versions before the shard chains wrote it (shard NULL)."""
    chain, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        transfer = Transfer(
            seq=seq,
            id=f"legacy-{seq}",
            kind=TransferKind.POSTED,
            debit=ISSUANCE,
            credit=points_account(seq),
            asset=POINTS,
            amount=10 * seq,
            reason="grant",
            reference="",
            metadata={},
            pending_id=None,
            timeout_seconds=None,
            timeout_at=None,
            reversal_of=None,
            created_at=T0,
            prev_hash=prev,
            hash="",
        ).sealed()
        chain.append(transfer)
        prev = transfer.hash
    return chain


def test_the_legacy_chain_carries_on_under_the_shard_chains(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    legacy = _legacy_chain(3)
    try:
        migrations.upgrade(engine, "0030")
        with engine.begin() as connection:  # what 0030's code left: one chain, one head
            for t in legacy:
                connection.execute(
                    text(
                        f"INSERT INTO ledger_transfers ({_LEGACY_COLUMNS}) VALUES (:seq, :id, "
                        "'posted', :debit, :credit, 'POINTS', :amount, 'grant', '', '{}', NULL, "
                        "NULL, NULL, NULL, :at, :prev, :hash)"
                    ),
                    {
                        "seq": t.seq,
                        "id": t.id,
                        "debit": t.debit,
                        "credit": t.credit,
                        "amount": t.amount,
                        "at": T0.isoformat() if engine.dialect.name == "sqlite" else T0,
                        "prev": t.prev_hash,
                        "hash": t.hash,
                    },
                )
            for account, amount in [(ISSUANCE, -60)] + [(t.credit, t.amount) for t in legacy]:
                connection.execute(
                    text(
                        "INSERT INTO ledger_balances (account, asset, debits_posted, "
                        "credits_posted, debits_pending, credits_pending) "
                        "VALUES (:a, 'POINTS', :d, :c, 0, 0)"
                    ),
                    {"a": account, "d": max(0, -amount), "c": max(0, amount)},
                )
            connection.execute(
                text("UPDATE ledger_head SET last_seq = 3, last_hash = :h"), {"h": legacy[-1].hash}
            )
        migrations.upgrade(engine)
        database = Database.connect(empty_db_url)
        try:
            uow = LedgerUnitOfWork(database.sessions)
            before = services.verify(uow)
            assert before.ok and before.shards == {None: 3}, before.errors
            made = services.transfer(uow, _grant(points_account(1), 5), now=T0)
            assert made.seq == 4 and made.shard == 7
            assert made.prev_hash == shard_genesis(legacy[-1].hash, 7)
            assert services.balance(uow, points_account(1), POINTS).posted == 15
            after = services.verify(uow)
            assert after.ok and after.shards == {None: 3, 7: 1}, after.errors
        finally:
            database.dispose()
        with pytest.raises(RuntimeError, match="shard chains"):
            migrations.downgrade(engine, "0030")
    finally:
        engine.dispose()

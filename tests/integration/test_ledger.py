"""Ledger use cases on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.db import Database
from core.errors import Conflict, NotFound
from ledger import services
from ledger.model import (
    EXPIRED,
    ISSUANCE,
    POINTS,
    REDEEMED,
    AlreadyReversed,
    IdAlreadyFailed,
    InsufficientFunds,
    LedgerRuleViolation,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    ResolvePending,
    TransferExists,
    TransferKind,
    TransferRequest,
    inventory_account,
    item_asset,
    points_account,
    stock_account,
)
from ledger.services import LedgerUnitOfWork

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ALICE = points_account(1)


def grant(id: str, amount: int, account: str = ALICE, **kw: object) -> TransferRequest:
    return TransferRequest(
        id=id, debit=ISSUANCE, credit=account, asset=POINTS, amount=amount, reason="grant", **kw
    )  # type: ignore[arg-type]


def spend(id: str, amount: int, account: str = ALICE, **kw: object) -> TransferRequest:
    return TransferRequest(
        id=id,
        debit=account,
        credit=REDEEMED,
        asset=POINTS,
        amount=amount,
        reason="redemption",
        **kw,
    )  # type: ignore[arg-type]


def available(uow: LedgerUnitOfWork, account: str = ALICE, asset: str = POINTS) -> int:
    return services.balance(uow, account, asset).available


def test_transfer_moves_value_and_trial_balance_is_zero(ledger_uow: LedgerUnitOfWork) -> None:
    made = services.transfer(ledger_uow, grant("g1", 100), now=T0)
    assert (made.seq, made.kind, made.amount) == (1, TransferKind.POSTED, 100)
    services.transfer(ledger_uow, spend("s1", 30), now=T0)
    assert available(ledger_uow) == 70
    assert services.balance(ledger_uow, ISSUANCE, POINTS).posted == -100
    trial = services.trial_balance(ledger_uow)
    assert trial.balanced and trial.totals == {POINTS: 0}
    assert services.verify(ledger_uow).ok


def test_replay_returns_original_and_writes_nothing(ledger_uow: LedgerUnitOfWork) -> None:
    first = services.transfer(ledger_uow, grant("g1", 100, metadata={"a": 1}), now=T0)
    again = services.transfer(
        ledger_uow, grant("g1", 100, metadata={"a": 1}), now=T0 + timedelta(days=1)
    )
    assert again == first
    assert available(ledger_uow) == 100
    assert services.verify(ledger_uow).transfers == 1


def test_same_id_other_content_names_the_fields(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    with pytest.raises(TransferExists) as caught:
        services.transfer(ledger_uow, grant("g1", 90, reference="x"), now=T0)
    assert caught.value.extensions["differing"] == ["amount", "reference"]


def test_failed_id_stays_failed_even_after_funds_arrive(ledger_uow: LedgerUnitOfWork) -> None:
    with pytest.raises(InsufficientFunds) as caught:
        services.transfer(ledger_uow, spend("s1", 10), now=T0)
    assert (caught.value.field, caught.value.rule) == ("amount", "exceeds_available")
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    with pytest.raises(IdAlreadyFailed):
        services.transfer(ledger_uow, spend("s1", 10), now=T0)
    services.transfer(ledger_uow, spend("s2", 10), now=T0)
    assert available(ledger_uow) == 90


def test_bad_input_writes_nothing_at_all(ledger_uow: LedgerUnitOfWork) -> None:
    with pytest.raises(LedgerRuleViolation):
        services.transfer(ledger_uow, grant("g1", 0), now=T0)
    services.transfer(ledger_uow, grant("g1", 5), now=T0)  # the id was not burnt
    assert available(ledger_uow) == 5


def test_linked_transfers_are_all_or_nothing(ledger_uow: LedgerUnitOfWork) -> None:
    ticket = item_asset("ticket")
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(
        ledger_uow,
        TransferRequest(
            id="stock",
            debit=ISSUANCE,
            credit=stock_account("ticket"),
            asset=ticket,
            amount=1,
            reason="stock",
        ),
        now=T0,
    )
    take_ticket = lambda id: TransferRequest(  # noqa: E731
        id=id,
        debit=stock_account("ticket"),
        credit=inventory_account(1),
        asset=ticket,
        amount=1,
        reason="redemption",
    )
    services.submit(ledger_uow, [spend("r1-points", 60), take_ticket("r1-item")], now=T0)
    with pytest.raises(InsufficientFunds):  # points suffice, the stock does not
        services.submit(ledger_uow, [spend("r2-points", 30), take_ticket("r2-item")], now=T0)
    assert available(ledger_uow) == 40  # r2's points leg was not applied
    assert services.balance(ledger_uow, inventory_account(1), ticket).posted == 1
    with pytest.raises(IdAlreadyFailed):  # both ids of the failed group stay failed
        services.transfer(ledger_uow, spend("r2-points", 30), now=T0)
    assert services.verify(ledger_uow).ok


def test_partial_replay_of_a_linked_group_is_a_conflict(ledger_uow: LedgerUnitOfWork) -> None:
    services.submit(ledger_uow, [grant("a", 1), grant("b", 1)], now=T0)
    assert len(services.submit(ledger_uow, [grant("a", 1), grant("b", 1)], now=T0)) == 2
    with pytest.raises(Conflict):
        services.submit(ledger_uow, [grant("a", 1), grant("c", 1)], now=T0)


def test_hold_reserves_then_posts_partially(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, spend("h1", 80, pending=True, timeout_seconds=3600), now=T0)
    assert available(ledger_uow) == 20
    with pytest.raises(InsufficientFunds):
        services.transfer(ledger_uow, spend("s1", 30), now=T0)
    posted = services.transfer(
        ledger_uow, ResolvePending(id="p1", pending_id="h1", post=True, amount=50), now=T0
    )
    assert posted.kind is TransferKind.POST_PENDING and posted.amount == 50
    assert available(ledger_uow) == 50  # the 30 not posted came back
    with pytest.raises(PendingAlreadyResolved):
        services.transfer(ledger_uow, ResolvePending(id="v1", pending_id="h1", post=False), now=T0)
    with pytest.raises(LedgerRuleViolation, match="reserves"):
        services.transfer(ledger_uow, spend("h2", 10, pending=True), now=T0)
        services.transfer(
            ledger_uow, ResolvePending(id="p2", pending_id="h2", post=True, amount=11), now=T0
        )
    assert services.verify(ledger_uow).ok


def test_void_then_post_is_an_error(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, spend("h1", 80, pending=True), now=T0)
    services.transfer(ledger_uow, ResolvePending(id="v1", pending_id="h1", post=False), now=T0)
    assert available(ledger_uow) == 100
    with pytest.raises(PendingAlreadyResolved, match="voided"):
        services.transfer(ledger_uow, ResolvePending(id="p1", pending_id="h1", post=True), now=T0)
    with pytest.raises(PendingNotFound):
        services.transfer(ledger_uow, ResolvePending(id="p2", pending_id="nope", post=True), now=T0)


def test_holds_expire_once_and_cannot_be_posted_after(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, spend("h1", 80, pending=True, timeout_seconds=60), now=T0)
    assert services.expire_holds(ledger_uow, now=T0 + timedelta(seconds=59)) == []
    later = T0 + timedelta(seconds=61)
    with pytest.raises(PendingExpired):
        services.transfer(
            ledger_uow, ResolvePending(id="p1", pending_id="h1", post=True), now=later
        )
    expired = services.expire_holds(ledger_uow, now=later)
    assert [t.kind for t in expired] == [TransferKind.EXPIRE_PENDING]
    assert services.expire_holds(ledger_uow, now=later) == []
    assert available(ledger_uow) == 100
    with pytest.raises(PendingAlreadyResolved, match="expired"):
        services.transfer(
            ledger_uow, ResolvePending(id="p2", pending_id="h1", post=True), now=later
        )
    assert services.verify(ledger_uow).ok


def test_reversal_once(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    reversal = services.reverse(ledger_uow, "g1", now=T0)
    assert (reversal.debit, reversal.credit, reversal.reversal_of) == (ALICE, ISSUANCE, "g1")
    assert available(ledger_uow) == 0
    with pytest.raises(AlreadyReversed):
        services.reverse(ledger_uow, "g1", now=T0)
    with pytest.raises(LedgerRuleViolation, match="reversal cannot"):
        services.reverse(ledger_uow, reversal.id, now=T0)
    with pytest.raises(NotFound):
        services.reverse(ledger_uow, "nope", now=T0)


def test_reversal_cannot_overdraw_but_can_be_retried(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, spend("s1", 60), now=T0)
    with pytest.raises(InsufficientFunds):
        services.reverse(ledger_uow, "g1", now=T0)
    services.reverse(ledger_uow, "s1", now=T0)
    assert available(ledger_uow) == 100
    services.reverse(ledger_uow, "g1", now=T0)  # the refused reversal's id was not burnt
    assert available(ledger_uow) == 0


def test_xp_is_never_debited_from_members(ledger_uow: LedgerUnitOfWork) -> None:
    xp = TransferRequest("x1", ISSUANCE, "member:1:xp", "XP", 50, "grant")
    services.transfer(ledger_uow, xp, now=T0)
    with pytest.raises(LedgerRuleViolation) as caught:
        services.transfer(
            ledger_uow, TransferRequest("x2", "member:1:xp", ISSUANCE, "XP", 5, "adjustment")
        )
    assert caught.value.rule == "xp_never_debited"
    services.reverse(ledger_uow, "x1", now=T0)  # a mistaken grant is still reversible


def test_running_totals_are_capped(ledger_uow: LedgerUnitOfWork) -> None:
    from ledger.model import MAX_AMOUNT, MAX_TOTAL

    batch = [grant(f"big{i}", MAX_AMOUNT) for i in range(MAX_TOTAL // MAX_AMOUNT)]
    services.submit(ledger_uow, batch[:4000], now=T0)
    with pytest.raises(LedgerRuleViolation) as caught:
        services.submit(ledger_uow, batch[4000:] + [grant("over", MAX_AMOUNT)], now=T0)
    assert caught.value.rule == "total_limit"


def test_balance_at_a_past_time(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, spend("s1", 30), now=T0 + timedelta(hours=1))
    services.transfer(ledger_uow, grant("g2", 5), now=T0 + timedelta(hours=2))
    at = lambda h: services.balance_at(ledger_uow, ALICE, POINTS, T0 + timedelta(hours=h))  # noqa: E731
    assert [at(-1), at(0), at(1.5), at(3)] == [0, 100, 70, 75]


def test_points_expire_fifo_never_below_zero(ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, spend("s1", 60), now=T0 + timedelta(days=5))
    services.transfer(ledger_uow, grant("g2", 50), now=T0 + timedelta(days=20))
    made = services.expire_points(ledger_uow, days=30, now=T0 + timedelta(days=31))
    assert [(t.debit, t.credit, t.amount) for t in made] == [(ALICE, EXPIRED, 40)]
    assert available(ledger_uow) == 50
    assert services.expire_points(ledger_uow, days=30, now=T0 + timedelta(days=31)) == []
    services.expire_points(ledger_uow, days=30, now=T0 + timedelta(days=51))
    assert available(ledger_uow) == 0
    assert services.verify(ledger_uow).ok


def test_history_pages_newest_first(ledger_uow: LedgerUnitOfWork) -> None:
    for i in range(5):
        services.transfer(ledger_uow, grant(f"g{i}", 1), now=T0)
    services.transfer(ledger_uow, grant("other", 1, account=points_account(2)), now=T0)
    seen, cursor = [], None
    while True:
        page, cursor = services.history(ledger_uow, [ALICE], before_seq=cursor, limit=2)
        seen += [t.id for t in page]
        if cursor is None:
            break
    assert seen == ["g4", "g3", "g2", "g1", "g0"]


def test_raw_update_and_delete_of_transfers_fail(
    database: Database, ledger_uow: LedgerUnitOfWork
) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    for statement in (
        "UPDATE ledger_transfers SET amount = 1000000",
        "DELETE FROM ledger_transfers",
    ):
        with (
            database.engine.connect() as connection,
            pytest.raises(DBAPIError, match="append-only"),
        ):
            connection.execute(text(statement))
    assert services.verify(ledger_uow).ok


def test_orm_refuses_to_update_transfers(database: Database, ledger_uow: LedgerUnitOfWork) -> None:
    from ledger.store.transfers import TransferRow

    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    with database.sessions() as session:
        row = session.get(TransferRow, 1)
        row.amount = 1
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()


def test_forged_row_is_reported_by_verify(database: Database, ledger_uow: LedgerUnitOfWork) -> None:
    services.transfer(ledger_uow, grant("g1", 100), now=T0)
    services.transfer(ledger_uow, grant("g2", 7), now=T0)
    with database.engine.begin() as connection:  # an attacker with the triggers switched off
        if database.is_sqlite:
            connection.execute(text("DROP TRIGGER ledger_transfers_no_update"))
        else:
            connection.execute(text("ALTER TABLE ledger_transfers DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE ledger_transfers SET amount = 1000 WHERE id = 'g1'"))
    report = services.verify(ledger_uow)
    assert not report.ok
    assert any("seq 1 (g1): content does not match its hash" in e for e in report.errors)
    assert any(f"balance {ALICE} POINTS" in e for e in report.errors)

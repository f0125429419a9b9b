"""Ledger use cases that write transfers: single, linked, holds and their resolution, reversal.

Every write runs under the locks of the heads of its accounts' shards (see
``ledger.store.repository``), so balance checks, the shard hash chains and idempotency are
race-free on both databases, while writes to other shards proceed. ``append`` prefetches what
the pure ``ledger.state_machine`` reads, applies the group there and persists the result.
A request refused by a rule of state (insufficient funds, a resolved hold …) records its id as
failed, in a transaction of its own, so that id stays failed; malformed input is refused before
anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from core.clock import utc_now
from core.errors import DomainError, NotFound
from ledger import state_machine
from ledger.model import (
    AlreadyReversed,
    LedgerRequest,
    LedgerRuleViolation,
    ResolvePending,
    Transfer,
    TransferId,
    TransferKind,
    TransferRequest,
    request_digest,
)
from ledger.services.refusals import refusal_error
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.state_machine import BalanceKey, LedgerState, Refused, accounts_named, keys_touched
from ledger.store.repository import LedgerRepository, LockedHead
from ledger.store.transfers import FailedTransferRow
from ledger.validation import check_request


def transfer(
    uow: LedgerUnitOfWork, request: LedgerRequest, *, now: datetime | None = None
) -> Transfer:
    """One transfer (or hold, or hold resolution). Idempotent by ``request.id``."""
    return submit(uow, [request], now=now)[0]


def submit(
    uow: LedgerUnitOfWork, requests: Sequence[LedgerRequest], *, now: datetime | None = None
) -> list[Transfer]:
    """Linked transfers: all commit, in order, or none does.

    A retry of the whole group with the same content returns the original transfers.
    """
    _check_group(requests)
    try:
        try:
            return _submit_once(uow, requests, now=now)
        except IntegrityError:
            # The same id written meanwhile with other accounts, so under other shards' locks:
            # once more, the stored transfer is found (a replay or a conflict naming fields).
            return _submit_once(uow, requests, now=now)
    except LedgerRefusal as refusal:
        record_failures(uow, requests, refusal, now=now)
        raise refusal.error from None


def _submit_once(
    uow: LedgerUnitOfWork, requests: Sequence[LedgerRequest], *, now: datetime | None
) -> list[Transfer]:
    with uow:
        # The group is all the transaction writes: its write statement may carry the COMMIT.
        transfers, _ = append_reporting_replay(uow.ledger, requests, now=now, commits=True)
        uow.commit()
        return transfers


def _check_group(requests: Sequence[LedgerRequest]) -> None:
    if not requests:
        raise LedgerRuleViolation("no transfers given", field="transfers", rule="min_items")
    if len(requests) > 8190:  # TigerBeetle's batch size
        raise LedgerRuleViolation(
            "at most 8190 transfers at once", field="transfers", rule="max_items"
        )
    for request in requests:
        check_request(request)
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise LedgerRuleViolation(
            "transfer ids repeat within the group", field="id", rule="unique_ids"
        )


class LedgerRefusal(Exception):
    """A rule of state refused ``failed_id``; the group's ids are to be recorded as failed."""

    def __init__(self, error: DomainError, failed_id: TransferId) -> None:
        super().__init__(error.detail)
        self.error = error
        self.failed_id = failed_id


def append(
    repo: LedgerRepository,
    requests: Sequence[LedgerRequest],
    *,
    now: datetime | None = None,
    reversal_of: Transfer | None = None,
) -> list[Transfer]:
    """Apply a linked group inside the caller's open transaction (which must commit it).

    For services composing ledger writes with their own (check-ins, redemptions, prizes).
    Raises ``LedgerRefusal`` for rules of state, ``TransferExists`` / ``IdAlreadyFailed`` for
    reused ids. Returns the original transfers when the whole group was already applied.
    """
    return append_reporting_replay(repo, requests, now=now, reversal_of=reversal_of)[0]


def append_reporting_replay(
    repo: LedgerRepository,
    requests: Sequence[LedgerRequest],
    *,
    now: datetime | None = None,
    reversal_of: Transfer | None = None,
    commits: bool = False,
) -> tuple[list[Transfer], bool]:
    """``append``, and whether the group was a replay (the transfers are then the originals,
    and nothing moved). ``commits``: the group is the last thing the transaction writes and the
    caller commits right after, so the write may commit it in the same round trip (see
    ``ledger.store.appends``).

    Locks the heads of the shards of the group's accounts first (in the statement that reads
    what the group's checks need, when it resolves no hold); a hold's accounts are read
    before (a stored transfer never changes), so a resolution locks its hold's shards in
    the same ascending statement as the rest."""
    pending_ids = [r.pending_id for r in requests if isinstance(r, ResolvePending)]
    holds = repo.transfers_by_id(pending_ids) if pending_ids else {}
    keys = keys_touched(requests, holds)  # once: it costs a few µs a request in large groups
    if pending_ids:
        repo.lock_accounts(key[0] for key in keys)
    heads, state, stored = _prefetch(repo, requests, keys if not pending_ids else None)
    outcome = state_machine.apply(
        state,
        requests,
        now=now or utc_now(),
        reversal_of=None if reversal_of is None else reversal_of.id,
    )
    if isinstance(outcome, Refused):
        error = refusal_error(outcome, requests)
        if outcome.code.is_rule_of_state:
            raise LedgerRefusal(error, requests[outcome.index].id)
        raise error
    if outcome.replayed:
        return list(outcome.transfers), True
    after = outcome.state.balances
    repo.write_group(
        {
            key: balance
            for key, balance in after.items()
            if key not in stored or balance != state.balances[key]
        },
        outcome.transfers,
        heads=heads,
        new_heads=outcome.state.heads,
        commit=commits,
    )
    if not commits:
        repo.session.flush()  # the caller's own pending rows, if any (nothing of the ledger's)
    return list(outcome.transfers), False


def _prefetch(
    repo: LedgerRepository,
    requests: Sequence[LedgerRequest],
    keys: set[BalanceKey] | None,
) -> tuple[dict[int, LockedHead], LedgerState, set[BalanceKey]]:
    """The locked heads of the group's shards, what the state machine reads for ``requests``,
    and the balance keys that have a row already. Reserves one global seq per request.
    ``keys``: the balances the group touches, when it resolves no hold (else read here; the
    heads are then locked already)."""
    ids = [r.id for r in requests]
    pending_ids = [r.pending_id for r in requests if isinstance(r, ResolvePending)]
    if keys is None:  # the holds' accounts are known once the holds are read
        transfers, failed = repo.transfers_and_failures(ids, also=pending_ids)
        found = repo.prefetch((), balances=keys_touched(requests, transfers), reserve=len(requests))
        # Held already (no statement), unless a hold was stored after the caller looked.
        heads = repo.lock_accounts(accounts_named(requests, transfers))
    else:  # every account is named: the locks and the balances come in the same statement
        heads, found = repo.lock_and_prefetch(
            (key[0] for key in keys), ids, balances=keys, reserve=len(requests)
        )
        transfers, failed = found.transfers, found.failures
    chains = {shard: (head.last_seq, head.last_hash) for shard, head in heads.items()}
    if any(i in transfers for i in ids):  # a replay or a conflict: balances are not needed
        return heads, LedgerState(chains, found.seqs, transfers=transfers), set()
    state = LedgerState(
        chains,
        found.seqs,
        balances=found.balances,
        transfers=transfers,
        resolutions=repo.resolutions_of(pending_ids),
        failed=failed,
    )
    return heads, state, found.stored


def record_failures(
    uow: LedgerUnitOfWork,
    requests: Sequence[LedgerRequest],
    refusal: LedgerRefusal,
    *,
    now: datetime | None = None,
) -> None:
    """Remember a refused group's ids as failed (the refused one with its reason)."""
    rows = _failure_rows(requests, refusal, now or utc_now())
    try:
        with uow:
            uow.ledger.add_failures(rows)
            uow.commit()
    except IntegrityError:  # a concurrent retry recorded them first
        pass


def _failure_rows(
    requests: Sequence[LedgerRequest], refusal: LedgerRefusal, moment: datetime
) -> list[FailedTransferRow]:
    return [
        FailedTransferRow(
            id=r.id,
            request_digest=request_digest(r),
            code=refusal.error.slug if r.id == refusal.failed_id else "linked-transfer-failed",
            detail=refusal.error.detail[:512],
            created_at=moment,
        )
        for r in requests
    ]


def submit_each(
    uow: LedgerUnitOfWork,
    groups: Sequence[Sequence[LedgerRequest]],
    *,
    now: datetime | None = None,
) -> list[list[Transfer] | DomainError]:
    """Several independent ``submit`` calls in one transaction (group commit of served
    writes): each linked group is applied in turn, as if the calls came one after another.

    The outcome list is aligned with ``groups``: a group's transfers, or the error ``submit``
    would have raised for it (nothing of that group written). A group refused by a rule of
    state has its ids recorded as failed in the same transaction, so they stay failed exactly
    as after ``submit``. An unexpected error (the database's) fails the whole call: the caller
    retries each group alone with ``submit``.
    """
    moment = now or utc_now()
    outcomes: list[list[Transfer] | DomainError] = []
    with uow:
        # Every shard the batch names, in one ascending statement: locking them group by group
        # could take a lower shard after a higher one and deadlock with another batch.
        uow.ledger.lock_accounts(accounts_named([r for g in groups for r in g], {}))
        for group in groups:
            try:
                _check_group(group)
                outcomes.append(append(uow.ledger, group, now=moment))
            except LedgerRefusal as refusal:
                uow.ledger.add_failures(_failure_rows(group, refusal, moment))
                outcomes.append(refusal.error)
            except DomainError as error:  # malformed, or an id reused with other content
                outcomes.append(error)
        uow.commit()
    return outcomes


def reverse(
    uow: LedgerUnitOfWork,
    transfer_id: TransferId,
    *,
    reason: str = "reversal",
    reference: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Undo a posted transfer with an opposite transfer; at most once per original."""
    reversal_id = f"reversal:{transfer_id}"
    try:
        with uow:
            repo = uow.ledger
            original = repo.transfers_by_id([transfer_id]).get(transfer_id)
            if original is None:
                raise NotFound(f"no transfer {transfer_id!r}")
            # Stored transfers never change: its accounts' shards serialize its reversals.
            repo.lock_accounts([original.debit, original.credit])
            if original.kind not in (TransferKind.POSTED, TransferKind.POST_PENDING):
                raise LedgerRuleViolation(
                    f"a {original.kind.value} transfer cannot be reversed; void the hold instead",
                    field="transfer_id",
                    rule="reversible_kind",
                )
            if original.reversal_of is not None:
                raise LedgerRuleViolation(
                    "a reversal cannot itself be reversed",
                    field="transfer_id",
                    rule="reversible_kind",
                )
            done = repo.reversal_of(transfer_id)
            if done is not None:
                raise AlreadyReversed(
                    f"transfer {transfer_id!r} was already reversed by {done.id!r}",
                    reversal_id=done.id,
                )
            request = TransferRequest(
                id=reversal_id,
                debit=original.credit,
                credit=original.debit,
                asset=original.asset,
                amount=original.amount,
                reason=reason,
                reference=reference or original.id,
            )
            made = append(repo, [request], now=now, reversal_of=original)
            uow.commit()
            return made[0]
    except LedgerRefusal as refusal:
        # Not recorded as failed: a reversal is keyed by its original (once, by a unique
        # constraint), and may be retried once the accounts can bear it.
        raise refusal.error from None

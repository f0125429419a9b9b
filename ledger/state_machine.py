"""The ledger's state machine: a linked group of requests against prefetched state. Pure code.

``apply(state, requests, now=…)`` reads nothing and writes nothing: the caller prefetches a
``LedgerState`` (the heads of the shard chains the group joins, the global seqs reserved for
its transfers, the balance stripes it touches, the stored transfers it names, the resolutions
of the holds it names, the ids that failed before) under the locks of those shards' heads, and
persists what comes back. The result is ``Applied`` (the new transfers, each sealed into the
hash chain of its shard, and the state after them) or ``Refused`` (a code per request). A
group is linked, as in TigerBeetle: all of it applies, in order, or none of it does.

Each transfer joins the chain of ``ledger.shards.chain_shard`` of its accounts and moves one
balance row per side: the account's only row, or, for a ``system:`` account, the stripe of
that shard. Balances are checked on the rows a transfer moves, so a system account's
``MAX_TOTAL`` applies to each of its stripes (the account as a whole may sum past it; no
member account can, having one stripe).

Refusal codes, in precedence order: the first failing check wins. The group checks run first
(over the whole group, in request order), then each request's own checks, in order:

1. ``exists_with_different_fields``: an id of the group is stored with other content.
2. ``linked_group_partly_exists``: some ids of the group are stored and some are not.
   (When every id is stored with the same content the group is a replay: ``Applied`` with the
   original transfers and the state unchanged.)
3. ``id_already_failed``: an id of the group was refused before; failed ids stay failed.
4. ``pending_not_found``: a resolution names no pending transfer.
5. ``pending_already_resolved``: the hold was posted, voided or expired already.
6. ``pending_expired``: the hold's timeout has passed (only the ledger's expiry may release it).
7. ``exceeds_pending_amount``: a post asks for more than the hold reserves.
8. ``debit_exceeds_limit``: the debit account's posted totals (on the stripe the transfer
   moves) would pass ``MAX_TOTAL``.
9. ``debit_exceeds_available``: the debit account's available balance would go below zero.
10. ``credit_exceeds_limit``: the credit account's posted totals would pass ``MAX_TOTAL``.
11. ``credit_exceeds_available``: the credit account would be below zero (a credit never lowers
    what is available, so only a state already unsound reaches this).

Checks 8-11 spare ``system:`` accounts the floor (only they may go negative), not the limit.
The other requests of a refused group get ``linked_transfer_failed``. Codes 4-11 are rules of
state: the caller records the group's ids as failed; 1-3 concern the ids themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ledger.model import (
    MAX_TOTAL,
    AccountId,
    Asset,
    Balance,
    LedgerRequest,
    ResolvePending,
    Transfer,
    TransferId,
    TransferKind,
    TransferRequest,
    differing_fields,
    effects,
    may_go_negative,
    request_kind,
)
from ledger.shards import StripeKey, chain_shard, stripe_of

BalanceKey = StripeKey  # the balances a group's checks read are stored rows: stripes
ShardHead = tuple[int, str]  # (shard_seq, hash) of a shard chain's last transfer


class Refusal(StrEnum):
    """Why a request of a group was refused, in precedence order (see the module docstring)."""

    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    LINKED_GROUP_PARTLY_EXISTS = "linked_group_partly_exists"
    ID_ALREADY_FAILED = "id_already_failed"
    PENDING_NOT_FOUND = "pending_not_found"
    PENDING_ALREADY_RESOLVED = "pending_already_resolved"
    PENDING_EXPIRED = "pending_expired"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"
    DEBIT_EXCEEDS_LIMIT = "debit_exceeds_limit"
    DEBIT_EXCEEDS_AVAILABLE = "debit_exceeds_available"
    CREDIT_EXCEEDS_LIMIT = "credit_exceeds_limit"
    CREDIT_EXCEEDS_AVAILABLE = "credit_exceeds_available"
    LINKED_TRANSFER_FAILED = "linked_transfer_failed"

    @property
    def is_rule_of_state(self) -> bool:
        """Refused by the state of accounts and holds (its ids are then recorded as failed)."""
        return self in _RULES_OF_STATE


_RULES_OF_STATE = frozenset(list(Refusal)[3:11])


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What the ledger holds that a group's checks read. Balances absent are empty.

    ``heads``: the shard chains the group may join (those whose heads the caller locked);
    ``seqs``: global seqs reserved for the group's transfers, one per request, in order."""

    heads: Mapping[int, ShardHead]
    seqs: Sequence[int] = ()
    balances: Mapping[BalanceKey, Balance] = field(default_factory=dict)
    # Stored transfers the group names: under its own ids (replays) and the holds it resolves.
    transfers: Mapping[TransferId, Transfer] = field(default_factory=dict)
    # Hold id → the transfer that resolved it (posted, voided or expired).
    resolutions: Mapping[TransferId, Transfer] = field(default_factory=dict)
    # Ids refused before → the slug of their refusal.
    failed: Mapping[TransferId, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Applied:
    """The group's transfers in chain order and the state after them (``replayed``: the group
    was applied before; these are the originals and nothing changed)."""

    transfers: tuple[Transfer, ...]
    state: LedgerState
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    """The group was refused at request ``index`` with ``code``; the rest is context for the
    message: the account and amount a balance check refused, the hold a resolution names …"""

    index: int
    code: Refusal
    count: int
    account: AccountId | None = None
    asset: Asset | None = None
    available: int | None = None  # what ``account`` had available before the request
    amount: int | None = None
    pending: Transfer | None = None
    resolution: Transfer | None = None
    differing: tuple[str, ...] = ()
    existing: tuple[TransferId, ...] = ()
    failed_code: str = ""

    @property
    def codes(self) -> tuple[Refusal, ...]:
        """One code per request of the group."""
        return tuple(
            self.code if i == self.index else Refusal.LINKED_TRANSFER_FAILED
            for i in range(self.count)
        )


def keys_touched(
    requests: Sequence[LedgerRequest], transfers: Mapping[TransferId, Transfer]
) -> set[BalanceKey]:
    """The balances a group may change (``transfers``: stored ones, for the holds it resolves)."""
    keys: set[BalanceKey] = set()
    for request in requests:
        if isinstance(request, TransferRequest):
            debit, credit, asset = request.debit, request.credit, request.asset
        elif (target := transfers.get(request.pending_id)) is not None:
            debit, credit, asset = target.debit, target.credit, target.asset
        else:
            continue
        shard = chain_shard(debit, credit)
        keys |= {(debit, asset, stripe_of(debit, shard)), (credit, asset, stripe_of(credit, shard))}
    return keys


def accounts_named(
    requests: Sequence[LedgerRequest], transfers: Mapping[TransferId, Transfer]
) -> set[AccountId]:
    """The accounts a group moves (``transfers``: stored ones, for the holds it resolves):
    whose shards' heads its write locks."""
    return {key[0] for key in keys_touched(requests, transfers)}


def apply(
    state: LedgerState,
    requests: Sequence[LedgerRequest],
    *,
    now: datetime,
    reversal_of: TransferId | None = None,
) -> Applied | Refused:
    """Apply a linked group of (shape-checked) requests at ``now``, all or nothing.

    ``reversal_of`` marks every transfer made as the reversal of that transfer.
    """
    refused_ids = _id_refusal(state, requests)
    if refused_ids is not None:
        return refused_ids
    if any(r.id in state.transfers for r in requests):  # every id stored, same content
        return Applied(tuple(state.transfers[r.id] for r in requests), state, replayed=True)
    balances = dict(state.balances)
    transfers = dict(state.transfers)
    resolutions = dict(state.resolutions)
    heads = dict(state.heads)
    if len(state.seqs) < len(requests):
        raise ValueError("a group needs one reserved seq per request")
    made: list[Transfer] = []
    for index, request in enumerate(requests):
        pending = None
        if isinstance(request, ResolvePending):
            pending_or_refused = _hold(index, request, transfers, resolutions, now, len(requests))
            if isinstance(pending_or_refused, Refused):
                return pending_or_refused
            pending = pending_or_refused
        shard = _shard_of(request, pending)
        if shard not in heads:
            raise RuntimeError(f"shard {shard}'s head is not locked for this write")
        draft = _draft(
            request,
            pending,
            now=now,
            seq=state.seqs[index],
            chain=(shard, heads[shard][0] + 1, heads[shard][1]),
            reversal_of=reversal_of,
        )
        if pending is not None and draft.amount > pending.amount:
            return Refused(
                index,
                Refusal.EXCEEDS_PENDING_AMOUNT,
                len(requests),
                amount=draft.amount,
                pending=pending,
            )
        transfer = draft.sealed()
        refused = _move(index, transfer, pending, balances, len(requests))
        if refused is not None:
            return refused
        transfers[transfer.id] = transfer
        if pending is not None:
            resolutions[pending.id] = transfer
        made.append(transfer)
        heads[shard] = (heads[shard][0] + 1, transfer.hash)
    after = LedgerState(
        heads, state.seqs[len(requests) :], balances, transfers, resolutions, state.failed
    )
    return Applied(tuple(made), after)


def _shard_of(request: LedgerRequest, pending: Transfer | None) -> int:
    """The chain ``request``'s transfer joins (a resolution moves its hold's accounts)."""
    if isinstance(request, TransferRequest):
        return chain_shard(request.debit, request.credit)
    assert pending is not None, "a resolution needs its pending transfer"
    return chain_shard(pending.debit, pending.credit)


def _id_refusal(state: LedgerState, requests: Sequence[LedgerRequest]) -> Refused | None:
    """Checks 1-3: ids stored with other content, a group partly stored, ids that failed."""
    count = len(requests)
    stored = [r.id for r in requests if r.id in state.transfers]
    for index, request in enumerate(requests):
        if request.id in state.transfers:
            named = differing_fields(state.transfers[request.id], request, request_kind(request))
            if named:
                return Refused(
                    index, Refusal.EXISTS_WITH_DIFFERENT_FIELDS, count, differing=tuple(named)
                )
    if stored and len(stored) != count:
        index = next(i for i, r in enumerate(requests) if r.id not in state.transfers)
        return Refused(
            index, Refusal.LINKED_GROUP_PARTLY_EXISTS, count, existing=tuple(sorted(stored))
        )
    if stored:
        return None  # a replay
    for index, request in enumerate(requests):
        if request.id in state.failed:
            return Refused(
                index, Refusal.ID_ALREADY_FAILED, count, failed_code=state.failed[request.id]
            )
    return None


def _hold(
    index: int,
    request: ResolvePending,
    transfers: Mapping[TransferId, Transfer],
    resolutions: Mapping[TransferId, Transfer],
    now: datetime,
    count: int,
) -> Transfer | Refused:
    """Checks 4-6: the hold ``request`` resolves exists, is unresolved and (unless expiring)
    live."""
    pending = transfers.get(request.pending_id)
    if pending is None or pending.kind is not TransferKind.PENDING:
        return Refused(index, Refusal.PENDING_NOT_FOUND, count)
    resolution = resolutions.get(pending.id)
    if resolution is not None:
        return Refused(
            index,
            Refusal.PENDING_ALREADY_RESOLVED,
            count,
            pending=pending,
            resolution=resolution,
        )
    lapsed = pending.timeout_at is not None and now >= pending.timeout_at
    if lapsed and not request.expiry:
        return Refused(index, Refusal.PENDING_EXPIRED, count, pending=pending)
    return pending


def _move(
    index: int,
    transfer: Transfer,
    pending: Transfer | None,
    balances: dict[BalanceKey, Balance],
    count: int,
) -> Refused | None:
    """Checks 8-11, then the transfer's effects on ``balances`` (which stay as they were when
    refused: the group is dropped anyway)."""
    limit_codes = (Refusal.DEBIT_EXCEEDS_LIMIT, Refusal.CREDIT_EXCEEDS_LIMIT)
    floor_codes = (Refusal.DEBIT_EXCEEDS_AVAILABLE, Refusal.CREDIT_EXCEEDS_AVAILABLE)
    for side, (account, asset, delta) in enumerate(effects(transfer, pending)):
        key = (account, asset, stripe_of(account, transfer.shard))
        before = balances.get(key, Balance())
        after = before + delta
        if max(abs(after.debits_posted), abs(after.credits_posted)) > MAX_TOTAL:
            return Refused(index, limit_codes[side], count, account=account, asset=asset)
        if not may_go_negative(account) and after.available < 0:
            return Refused(
                index,
                floor_codes[side],
                count,
                account=account,
                asset=asset,
                available=before.available,
                amount=transfer.amount,
            )
        balances[key] = after
    return None


def _draft(
    request: LedgerRequest,
    pending: Transfer | None,
    *,
    now: datetime,
    seq: int,
    chain: tuple[int, int, str],
    reversal_of: TransferId | None,
) -> Transfer:
    """The transfer ``request`` makes at ``chain`` (its shard, shard_seq and the hash before
    it there), not yet sealed (its hash empty)."""
    shard, shard_seq, prev_hash = chain
    pending_id: TransferId | None = None
    timeout: int | None = None
    timeout_at: datetime | None = None
    if isinstance(request, TransferRequest):
        debit, credit, asset, amount = request.debit, request.credit, request.asset, request.amount
        if request.pending and request.timeout_seconds is not None:
            timeout = request.timeout_seconds
            timeout_at = now + timedelta(seconds=timeout)
    else:
        assert pending is not None, "a resolution needs its pending transfer"
        debit, credit, asset, pending_id = pending.debit, pending.credit, pending.asset, pending.id
        amount = request.amount if request.post and request.amount is not None else pending.amount
    return Transfer(
        seq=seq,
        id=request.id,
        kind=request_kind(request),
        debit=debit,
        credit=credit,
        asset=asset,
        amount=amount,
        reason=request.reason,
        reference=request.reference,
        metadata=dict(request.metadata),
        pending_id=pending_id,
        timeout_seconds=timeout,
        timeout_at=timeout_at,
        reversal_of=reversal_of,
        created_at=now,
        prev_hash=prev_hash,
        hash="",
        shard=shard,
        shard_seq=shard_seq,
    )

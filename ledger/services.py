"""Ledger use cases: transfers (single, linked, holds), reversal, expiry, verification.

Every write runs under the chain-head lock (see ``ledger.store``), so balance checks, the
hash chain and idempotency are race-free on both databases. A request refused by a rule of
state (insufficient funds, a resolved hold …) records its id as failed, in a transaction of
its own, so that id stays failed; malformed input is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utc_now
from core.errors import Conflict, DomainError, NotFound
from core.uow import UnitOfWork
from ledger.model import (
    EXPIRED,
    GENESIS_HASH,
    MAX_TOTAL,
    POINTS,
    RESOLUTIONS,
    AccountId,
    AlreadyReversed,
    Asset,
    Balance,
    IdAlreadyFailed,
    InsufficientFunds,
    LedgerRequest,
    LedgerRuleViolation,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    ResolvePending,
    Transfer,
    TransferExists,
    TransferId,
    TransferKind,
    TransferRequest,
    check_request,
    differing_fields,
    effects,
    expirable_points,
    may_go_negative,
    request_digest,
    request_kind,
)
from ledger.store import (
    EngagementRepository,
    FailedTransferRow,
    LedgerHeadRow,
    LedgerRepository,
)


class LedgerUnitOfWork(UnitOfWork):
    ledger: LedgerRepository
    engagement: EngagementRepository

    def _bind(self, session: Session) -> None:
        self.ledger = LedgerRepository(session)
        self.engagement = EngagementRepository(session)


# --- writing ----------------------------------------------------------------------------------


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
        with uow:
            transfers = append(uow.ledger, requests, now=now)
            uow.commit()
            return transfers
    except LedgerRefusal as refusal:
        record_failures(uow, requests, refusal, now=now)
        raise refusal.error from None


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
    head = repo.lock_head()
    now = now or utc_now()
    ids = [r.id for r in requests]
    replayed = _replayed(repo, requests)
    if replayed is not None:
        return replayed
    failed = repo.failures_by_id(ids)
    if failed:
        first = next(iter(failed.values()))
        raise IdAlreadyFailed(
            f"transfer {first.id!r} already failed ({first.code}); use a new id",
            field="id",
            rule="id_already_failed",
            failed_id=first.id,
            original_error=first.code,
        )
    return _chain(repo, head, requests, now=now, reversal_of=reversal_of)


def _replayed(repo: LedgerRepository, requests: Sequence[LedgerRequest]) -> list[Transfer] | None:
    existing = repo.transfers_by_id(r.id for r in requests)
    if not existing:
        return None
    for request in requests:
        if request.id in existing:
            named = differing_fields(existing[request.id], request, request_kind(request))
            if named:
                raise TransferExists(
                    f"transfer {request.id!r} exists with different {', '.join(named)}",
                    transfer_id=request.id,
                    differing=named,
                )
    if len(existing) != len(requests):
        raise Conflict(
            "some transfers of this linked group exist and some do not; resubmit the same group",
            existing=sorted(existing),
        )
    return [existing[r.id] for r in requests]


def _chain(
    repo: LedgerRepository,
    head: LedgerHeadRow,
    requests: Sequence[LedgerRequest],
    *,
    now: datetime,
    reversal_of: Transfer | None,
) -> list[Transfer]:
    pendings = repo.transfers_by_id(r.pending_id for r in requests if isinstance(r, ResolvePending))
    working, stored = repo.balances_for_update(_touched(requests, pendings))
    before = dict(working)
    seq, prev_hash = head.last_seq, head.last_hash
    made: list[Transfer] = []
    for request in requests:
        pending = None
        if isinstance(request, ResolvePending):
            pending = _resolvable(repo, request, pendings, made, now=now)
        made_transfer = _draft(
            request,
            pending,
            now=now,
            seq=seq + 1,
            prev_hash=prev_hash,
            reversal_of=None if reversal_of is None else reversal_of.id,
        )
        # The draft is built with an empty hash and sealed in place, before anyone sees it.
        object.__setattr__(made_transfer, "hash", made_transfer.content_hash())
        for account, asset, delta in effects(made_transfer, pending):
            after = working[(account, asset)] + delta
            if max(abs(after.debits_posted), abs(after.credits_posted)) > MAX_TOTAL:
                raise LedgerRefusal(
                    LedgerRuleViolation(
                        f"{account} would pass the ledger's limit of {MAX_TOTAL} {asset}",
                        field="amount",
                        rule="total_limit",
                    ),
                    request.id,
                )
            if not may_go_negative(account) and after.available < 0:
                raise LedgerRefusal(
                    InsufficientFunds(
                        f"{account} has {working[(account, asset)].available} {asset} available, "
                        f"needs {made_transfer.amount}",
                        field="amount",
                        rule="exceeds_available",
                        account=account,
                        asset=asset,
                    ),
                    request.id,
                )
            working[(account, asset)] = after
        if made_transfer.kind is TransferKind.PENDING:
            pendings[made_transfer.id] = made_transfer
        made.append(made_transfer)
        seq, prev_hash = made_transfer.seq, made_transfer.hash
    repo.write_balances(
        {key: b for key, b in working.items() if key not in stored or b != before[key]},
        stored=stored,
    )
    repo.add_transfers(made)
    head.last_seq, head.last_hash = seq, prev_hash
    repo.session.flush()
    return made


def _touched(
    requests: Sequence[LedgerRequest], pendings: dict[TransferId, Transfer]
) -> set[tuple[AccountId, Asset]]:
    keys: set[tuple[AccountId, Asset]] = set()
    for request in requests:
        if isinstance(request, TransferRequest):
            keys |= {(request.debit, request.asset), (request.credit, request.asset)}
        elif (target := pendings.get(request.pending_id)) is not None:
            keys |= {(target.debit, target.asset), (target.credit, target.asset)}
    return keys


def _resolvable(
    repo: LedgerRepository,
    request: ResolvePending,
    pendings: dict[TransferId, Transfer],
    earlier: list[Transfer],
    *,
    now: datetime,
) -> Transfer:
    """The hold ``request`` resolves, if it exists, is unresolved and (unless expiring) live."""
    pending = pendings.get(request.pending_id)
    if pending is None or pending.kind is not TransferKind.PENDING:
        raise LedgerRefusal(
            PendingNotFound(f"no pending transfer {request.pending_id!r}", field="pending_id"),
            request.id,
        )
    resolution = repo.resolution_of(pending.id) or next(
        (t for t in earlier if t.pending_id == pending.id), None
    )
    if resolution is not None:
        how = {"post_pending": "posted", "void_pending": "voided"}.get(resolution.kind, "expired")
        raise LedgerRefusal(
            PendingAlreadyResolved(
                f"hold {pending.id!r} was already {how} (by {resolution.id!r})",
                field="pending_id",
                resolution=how,
            ),
            request.id,
        )
    lapsed = pending.timeout_at is not None and now >= pending.timeout_at
    if lapsed and not request.expiry:
        raise LedgerRefusal(
            PendingExpired(
                f"hold {pending.id!r} expired at {pending.timeout_at.isoformat()}",  # type: ignore[union-attr]
                field="pending_id",
            ),
            request.id,
        )
    return pending


def _draft(
    request: LedgerRequest,
    pending: Transfer | None,
    *,
    now: datetime,
    seq: int,
    prev_hash: str,
    reversal_of: TransferId | None = None,
) -> Transfer:
    common = {
        "seq": seq,
        "id": request.id,
        "kind": request_kind(request),
        "reason": request.reason,
        "reference": request.reference,
        "metadata": dict(request.metadata),
        "reversal_of": reversal_of,
        "created_at": now,
        "prev_hash": prev_hash,
        "hash": "",
    }
    if isinstance(request, TransferRequest):
        timeout = request.timeout_seconds if request.pending else None
        return Transfer(
            debit=request.debit,
            credit=request.credit,
            asset=request.asset,
            amount=request.amount,
            pending_id=None,
            timeout_seconds=timeout,
            timeout_at=None if timeout is None else now + timedelta(seconds=timeout),
            **common,  # type: ignore[arg-type]
        )
    assert pending is not None
    amount = request.amount if request.post and request.amount is not None else pending.amount
    if amount > pending.amount:
        raise LedgerRefusal(
            LedgerRuleViolation(
                f"cannot post {amount}: hold {pending.id!r} reserves {pending.amount}",
                field="amount",
                rule="exceeds_pending_amount",
            ),
            request.id,
        )
    return Transfer(
        debit=pending.debit,
        credit=pending.credit,
        asset=pending.asset,
        amount=amount,
        pending_id=pending.id,
        timeout_seconds=None,
        timeout_at=None,
        **common,  # type: ignore[arg-type]
    )


def record_failures(
    uow: LedgerUnitOfWork,
    requests: Sequence[LedgerRequest],
    refusal: LedgerRefusal,
    *,
    now: datetime | None = None,
) -> None:
    """Remember a refused group's ids as failed (the refused one with its reason)."""
    moment = now or utc_now()
    rows = [
        FailedTransferRow(
            id=r.id,
            request_digest=request_digest(r),
            code=refusal.error.slug if r.id == refusal.failed_id else "linked-transfer-failed",
            detail=refusal.error.detail[:512],
            created_at=moment,
        )
        for r in requests
    ]
    try:
        with uow:
            uow.ledger.add_failures(rows)
            uow.commit()
    except IntegrityError:  # a concurrent retry recorded them first
        pass


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
            repo.lock_head()
            original = repo.transfers_by_id([transfer_id]).get(transfer_id)
            if original is None:
                raise NotFound(f"no transfer {transfer_id!r}")
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


def expire_holds(
    uow: LedgerUnitOfWork, *, now: datetime | None = None, limit: int = 1000
) -> list[Transfer]:
    """Release holds whose timeout has passed, each with an explicit expiry transfer."""
    moment = now or utc_now()
    with uow:
        uow.ledger.lock_head()
        requests = [
            ResolvePending(
                id=f"expire:{hold.id}",
                pending_id=hold.id,
                post=False,
                reason="expiry",
                expiry=True,
            )
            for hold in uow.ledger.lapsed_holds(moment, limit=limit)
        ]
        if not requests:
            return []
        made = append(uow.ledger, requests, now=moment)
        uow.commit()
        return made


EXPIRY_CHUNK = 500  # accounts judged and expired per transaction


def expire_points(
    uow: LedgerUnitOfWork, *, days: int, now: datetime | None = None
) -> list[Transfer]:
    """Expire points earned more than ``days`` ago that are still unspent (earliest lots first).

    Each member's expiry is an explicit debit to ``system:expired``; it never takes more than
    what is left of the expired lots, so no balance goes negative. Accounts are judged in
    chunks, each chunk one transaction under the chain-head lock (nothing moves meanwhile).
    A rerun finds nothing left to expire: an expiry's id names the lots and debits it saw.
    """
    moment = now or utc_now()
    cutoff = moment - timedelta(days=days)
    with uow.reading():
        accounts = uow.ledger.member_point_accounts()
    made: list[Transfer] = []
    for start in range(0, len(accounts), EXPIRY_CHUNK):
        chunk = accounts[start : start + EXPIRY_CHUNK]
        with uow:
            repo = uow.ledger
            repo.lock_head()
            balances = repo.balances_of((account, POINTS) for account in chunk)
            lots = repo.credits_to_each(chunk, POINTS)
            requests = [
                request
                for account in chunk
                if (
                    request := _expiry(
                        account, balances[(account, POINTS)], lots[account], cutoff, days
                    )
                )
                is not None
            ]
            if requests:
                made += append(repo, requests, now=moment)
                uow.commit()
    return made


def _expiry(
    account: AccountId,
    balance: Balance,
    lots: list[tuple[int, datetime]],
    cutoff: datetime,
    days: int,
) -> TransferRequest | None:
    debited = balance.debits_posted + balance.debits_pending
    amount = expirable_points(lots, debited, cutoff)
    if amount <= 0:
        return None
    expired_lots = sum(1 for _, earned_at in lots if earned_at <= cutoff)
    return TransferRequest(
        id=f"expiry:{account}:{expired_lots}:{debited}",
        debit=account,
        credit=EXPIRED,
        asset=POINTS,
        amount=amount,
        reason="expiry",
        reference=f"points earned on or before {cutoff.date().isoformat()}",
        metadata={"days": days, "cutoff": cutoff.isoformat()},
    )


# --- reading ----------------------------------------------------------------------------------


def balance(uow: LedgerUnitOfWork, account: AccountId, asset: Asset) -> Balance:
    with uow.reading():
        return uow.ledger.balance(account, asset)


def balance_at(uow: LedgerUnitOfWork, account: AccountId, asset: Asset, at: datetime) -> int:
    """The posted balance as it stood at ``at``, replayed from the transfers."""
    with uow.reading():
        return uow.ledger.posted_balance_at(account, asset, at)


def history(
    uow: LedgerUnitOfWork, accounts: Sequence[AccountId], *, before_seq: int | None, limit: int
) -> tuple[list[Transfer], int | None]:
    """Transfers touching ``accounts``, newest first, and the cursor of the next page."""
    with uow.reading():
        page = uow.ledger.history(accounts, before_seq=before_seq, limit=limit + 1)
    if len(page) <= limit:
        return page, None
    return page[:limit], page[limit - 1].seq


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """Posted totals per asset over all accounts; a sound ledger has every total at zero."""

    totals: dict[Asset, int]
    pending_totals: dict[Asset, int]
    accounts: dict[tuple[AccountId, Asset], Balance]

    @property
    def balanced(self) -> bool:
        return not any(self.totals.values()) and not any(self.pending_totals.values())


def trial_balance(uow: LedgerUnitOfWork) -> TrialBalance:
    with uow.reading(snapshot=True):
        balances = uow.ledger.balances()
    return _trial(balances)


def _trial(balances: dict[tuple[AccountId, Asset], Balance]) -> TrialBalance:
    totals: dict[Asset, int] = {}
    pending: dict[Asset, int] = {}
    for (_, asset), bal in balances.items():
        totals[asset] = totals.get(asset, 0) + bal.posted
        pending[asset] = pending.get(asset, 0) + bal.credits_pending - bal.debits_pending
    return TrialBalance(totals, pending, balances)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    transfers: int
    head_seq: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def verify(uow: LedgerUnitOfWork, *, max_errors: int = 100) -> VerifyReport:
    """Recompute the hash chain and every balance from the transfers; report each mismatch."""
    errors: list[str] = []
    replayed: dict[tuple[AccountId, Asset], Balance] = {}
    holds: dict[TransferId, Transfer] = {}
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    with uow.reading(snapshot=True):
        repo = uow.ledger
        for t in repo.all_transfers():
            count += 1
            if t.seq != expected_seq:
                errors.append(f"seq {t.seq}: expected {expected_seq} (a transfer is missing)")
            if t.prev_hash != prev_hash:
                errors.append(f"seq {t.seq} ({t.id}): prev_hash does not link to the chain")
            if t.content_hash() != t.hash:
                errors.append(f"seq {t.seq} ({t.id}): content does not match its hash")
            pending = holds.get(t.pending_id) if t.kind in RESOLUTIONS and t.pending_id else None
            if t.kind in RESOLUTIONS and pending is None:
                errors.append(f"seq {t.seq} ({t.id}): resolves unknown hold {t.pending_id!r}")
            else:
                for account, asset, delta in effects(t, pending):
                    replayed[(account, asset)] = replayed.get((account, asset), Balance()) + delta
            if t.kind is TransferKind.PENDING:
                holds[t.id] = t
            expected_seq, prev_hash = t.seq + 1, t.hash
        head_seq, head_hash = repo.head()
        stored = repo.balances()
    if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
        errors.append(f"chain head is at seq {head_seq}, transfers end at {expected_seq - 1}")
    for key in sorted(set(stored) | set(replayed)):
        have, want = stored.get(key, Balance()), replayed.get(key, Balance())
        if have != want:
            errors.append(f"balance {key[0]} {key[1]}: stored {have}, transfers give {want}")
        if not may_go_negative(key[0]) and want.available < 0:
            errors.append(f"balance {key[0]} {key[1]} is negative: {want.available}")
    trial = _trial(replayed)
    errors += [f"asset {a} sums to {total}, not zero" for a, total in trial.totals.items() if total]
    return VerifyReport(transfers=count, head_seq=head_seq, errors=errors[:max_errors])

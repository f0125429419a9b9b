"""Properties of the pure ledger state machine: floors, double entry, all-or-nothing groups,
batch = one by one, the shard hash chains, and the precedence of refusal codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.model import (
    GENESIS_HASH,
    ISSUANCE,
    MAX_AMOUNT,
    MAX_TOTAL,
    POINTS,
    REDEEMED,
    XP,
    Balance,
    LedgerRequest,
    ResolvePending,
    Transfer,
    TransferKind,
    TransferRequest,
    differing_fields,
    effects,
    may_go_negative,
    request_kind,
)
from ledger.shards import ALL_SHARDS, chain_shard, shard_genesis, stripe_of
from ledger.state_machine import Applied, LedgerState, Refusal, Refused, ShardHead, apply
from ledger.validation import check_request

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MEMBERS = ["member:1:points", "member:2:points", "member:3:points"]
POINT_ACCOUNTS = [*MEMBERS, ISSUANCE, REDEEMED]
XP_ACCOUNTS = ["member:1:xp", "member:2:xp"]
ORDER = list(Refusal)
GENESIS_HEADS = {shard: (0, shard_genesis(GENESIS_HASH, shard)) for shard in ALL_SHARDS}
SEQS = range(1, 10**9)  # as many reserved seqs as any group needs


def _state(**fields: Any) -> LedgerState:
    """A state with every shard's head at its genesis (every shard locked)."""
    return LedgerState(GENESIS_HEADS, SEQS, **fields)


def _striped(balances: dict[tuple[str, str], Balance]) -> dict[tuple[str, str, int], Balance]:
    """Balances per (account, asset) as stored rows: a system account's on every stripe (so
    whichever shard a transfer joins sees it), any other's on stripe 0."""
    return {
        (account, asset, stripe): balance
        for (account, asset), balance in balances.items()
        for stripe in (sorted(ALL_SHARDS) if may_go_negative(account) else [0])
    }


# --- strategies ---------------------------------------------------------------------------------


@st.composite
def transfer_requests(draw: st.DrawFn, transfer_id: str, amounts: st.SearchStrategy[int]) -> Any:
    if draw(st.integers(0, 4)) == 0:  # XP: issued, never debited from a member
        return TransferRequest(
            transfer_id, ISSUANCE, draw(st.sampled_from(XP_ACCOUNTS)), XP, draw(amounts), "grant"
        )
    debit, credit = draw(st.permutations(POINT_ACCOUNTS))[:2]
    pending = draw(st.booleans())
    return TransferRequest(
        transfer_id,
        debit,
        credit,
        POINTS,
        draw(amounts),
        "hold" if pending else "transfer",
        pending=pending,
        timeout_seconds=draw(st.sampled_from([None, 10, 1000])) if pending else None,
    )


@st.composite
def resolutions(draw: st.DrawFn, transfer_id: str, hold_ids: Sequence[str]) -> ResolvePending:
    post = draw(st.booleans())
    return ResolvePending(
        transfer_id,
        draw(st.sampled_from([*hold_ids, "no-such-hold"])),
        post=post,
        amount=draw(st.none() | st.integers(1, 400)) if post else None,
        expiry=not post and draw(st.integers(0, 5)) == 0,
    )


def requests(transfer_id: str, hold_ids: Sequence[str]) -> st.SearchStrategy[LedgerRequest]:
    made = transfer_requests(transfer_id, st.integers(1, 300))
    return made | resolutions(transfer_id, hold_ids) if hold_ids else made


# --- helpers ------------------------------------------------------------------------------------


def _one_by_one(
    state: LedgerState, batch: Sequence[LedgerRequest], now: datetime
) -> tuple[list[Transfer], LedgerState, tuple[int, Refusal] | None]:
    made: list[Transfer] = []
    for index, request in enumerate(batch):
        outcome = apply(state, [request], now=now)
        if isinstance(outcome, Refused):
            return made, state, (index, outcome.code)
        made += outcome.transfers
        state = outcome.state
    return made, state, None


def _assert_sound(state: LedgerState) -> None:
    totals: dict[str, list[int]] = {}
    for (account, asset, _), b in state.balances.items():
        if not may_go_negative(account):
            assert b.available >= 0, (account, b)
        sums = totals.setdefault(asset, [0, 0, 0, 0])
        for i, value in enumerate(
            (b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending)
        ):
            sums[i] += value
    for asset, (debits, credits, debits_pending, credits_pending) in totals.items():
        assert debits == credits, asset
        assert debits_pending == credits_pending, asset


def _assert_chained(
    transfers: Sequence[Transfer], heads: dict[int, ShardHead], seqs: Sequence[int]
) -> None:
    """Each transfer takes the next reserved seq and the next place in its accounts' shard."""
    heads = dict(heads)
    for t, seq in zip(transfers, seqs, strict=False):
        assert t.seq == seq
        assert t.shard == chain_shard(t.debit, t.credit)
        assert (t.shard_seq, t.prev_hash) == (heads[t.shard][0] + 1, heads[t.shard][1])
        assert t.hash == t.content_hash()
        heads[t.shard] = (t.shard_seq, t.hash)


def _frozen(state: LedgerState) -> tuple[object, ...]:
    return (
        dict(state.heads),
        tuple(state.seqs[:5]),
        dict(state.balances),
        dict(state.transfers),
        dict(state.resolutions),
        dict(state.failed),
    )


# --- a season of batches ------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_batches_keep_floors_double_entry_chain_and_equal_their_transfers_one_by_one(
    data: st.DataObject,
) -> None:
    state = _state()
    holds: list[str] = []
    count = 0
    for step in range(data.draw(st.integers(1, 10))):
        now = T0 + timedelta(seconds=20 * step)
        batch: list[LedgerRequest] = []
        for _ in range(data.draw(st.integers(1, 3))):
            count += 1
            batch.append(data.draw(requests(f"t{count}", holds)))
        for request in batch:
            check_request(request)
        before = _frozen(state)
        outcome = apply(state, batch, now=now)
        assert _frozen(state) == before  # the input state is never changed
        made, after, refused_at = _one_by_one(state, batch, now)
        if isinstance(outcome, Refused):
            assert outcome.code.is_rule_of_state  # ids are fresh
            assert refused_at == (outcome.index, outcome.code)
            assert outcome.codes[outcome.index] is outcome.code
            assert {c for i, c in enumerate(outcome.codes) if i != outcome.index} <= {
                Refusal.LINKED_TRANSFER_FAILED
            }
            state = replace(state, failed={**state.failed, **{r.id: "refused" for r in batch}})
        else:
            assert refused_at is None
            assert list(outcome.transfers) == made
            assert dict(outcome.state.balances) == dict(after.balances)
            assert dict(outcome.state.heads) == dict(after.heads)
            assert outcome.state.seqs[:3] == after.seqs[:3]
            _assert_chained(outcome.transfers, dict(state.heads), state.seqs)
            _assert_sound(outcome.state)
            state = outcome.state
        holds += [r.id for r in batch if isinstance(r, TransferRequest) and r.pending]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_replayed_group_returns_the_originals_and_changes_nothing(data: st.DataObject) -> None:
    start = _state(balances=_striped({(m, POINTS): Balance(0, 500) for m in MEMBERS}))
    batch = [data.draw(requests(f"t{i}", [])) for i in range(data.draw(st.integers(1, 3)))]
    first = apply(start, batch, now=T0)
    if not isinstance(first, Applied):
        return
    again = apply(first.state, batch, now=T0 + timedelta(days=1))
    assert isinstance(again, Applied) and again.replayed
    assert again.transfers == first.transfers and again.state is first.state


# --- precedence ---------------------------------------------------------------------------------

_TOTALS = st.integers(0, 2_000) | st.integers(MAX_TOTAL - 2_000, MAX_TOTAL)


@st.composite
def balances(draw: st.DrawFn, account: str) -> Balance:
    credits = draw(_TOTALS)
    if may_go_negative(account):
        return Balance(draw(_TOTALS), credits, draw(st.integers(0, 500)), draw(_TOTALS))
    debits = draw(st.integers(0, credits) | st.integers(max(0, credits - 2_000), credits))
    held = draw(st.integers(0, min(credits - debits, 1_000)))
    if draw(st.integers(0, 9)) == 0:  # an unsound state: more held than posted
        held = credits - debits + draw(st.integers(1, 100))
    return Balance(debits, credits, held, draw(st.integers(0, 1_000)))


def _stored(transfer_id: str, kind: TransferKind, **fields: Any) -> Transfer:
    values: dict[str, Any] = {
        "seq": 1,
        "id": transfer_id,
        "kind": kind,
        "debit": MEMBERS[0],
        "credit": REDEEMED,
        "asset": POINTS,
        "amount": 100,
        "reason": "hold",
        "reference": "",
        "metadata": {},
        "pending_id": None,
        "timeout_seconds": None,
        "timeout_at": None,
        "reversal_of": None,
        "created_at": T0,
        "prev_hash": GENESIS_HASH,
        "hash": "",
    }
    return Transfer(**(values | fields)).sealed()


@st.composite
def states_and_requests(draw: st.DrawFn) -> tuple[LedgerState, LedgerRequest]:
    now = T0 + timedelta(hours=1)
    holds = {
        f"h{i}": _stored(
            f"h{i}",
            TransferKind.PENDING,
            debit=draw(st.sampled_from(MEMBERS)),
            amount=draw(st.integers(1, 500)),
            timeout_at=draw(st.sampled_from([None, now - timedelta(seconds=1), now])),
        )
        for i in range(3)
    }
    resolved = {
        hold_id: _stored(f"{hold_id}:void", TransferKind.VOID_PENDING, pending_id=hold_id)
        for hold_id in draw(st.sets(st.sampled_from(sorted(holds))))
    }
    request_id = draw(st.sampled_from(["x1", "x2", "x3", "x4"]))
    amounts = st.integers(1, 500) | st.integers(MAX_AMOUNT - 10, MAX_AMOUNT)
    transfers = transfer_requests(request_id, amounts)
    request = draw(transfers | transfers | resolutions(request_id, list(holds)))
    stored = {}
    if request_id == "x1":  # stored before: the same request (a replay) or another
        stored["x1"] = _stored("x1", TransferKind.POSTED, amount=draw(st.integers(1, 500)))
    state = LedgerState(
        dict.fromkeys(ALL_SHARDS, (5, "f" * 64)),
        range(6, 100),
        balances=_striped(
            {(a, POINTS): draw(balances(a)) for a in POINT_ACCOUNTS}
            | {(a, XP): draw(balances(a)) for a in [*XP_ACCOUNTS, ISSUANCE]}
        ),
        transfers=holds | stored,
        resolutions=resolved,
        failed={"x2": "insufficient-funds"} if draw(st.booleans()) else {},
    )
    return state, request


def _violations(state: LedgerState, request: LedgerRequest, now: datetime) -> set[Refusal]:
    """Every check ``request`` fails, each judged on its own."""
    found: set[Refusal] = set()
    if request.id in state.transfers:
        if differing_fields(state.transfers[request.id], request, request_kind(request)):
            found.add(Refusal.EXISTS_WITH_DIFFERENT_FIELDS)
    elif request.id in state.failed:
        found.add(Refusal.ID_ALREADY_FAILED)
    pending = None
    if isinstance(request, ResolvePending):
        pending = state.transfers.get(request.pending_id)
        if pending is None or pending.kind is not TransferKind.PENDING:
            return found | {Refusal.PENDING_NOT_FOUND}
        if pending.id in state.resolutions:
            found.add(Refusal.PENDING_ALREADY_RESOLVED)
        if pending.timeout_at is not None and now >= pending.timeout_at and not request.expiry:
            found.add(Refusal.PENDING_EXPIRED)
        amount = request.amount if request.post and request.amount else pending.amount
        if amount > pending.amount:
            return found | {Refusal.EXCEEDS_PENDING_AMOUNT}
        made = replace(pending, id=request.id, kind=request_kind(request), amount=amount)
    else:
        made = _stored(
            request.id,
            request_kind(request),
            debit=request.debit,
            credit=request.credit,
            asset=request.asset,
            amount=request.amount,
        )
    limits = (Refusal.DEBIT_EXCEEDS_LIMIT, Refusal.CREDIT_EXCEEDS_LIMIT)
    floors = (Refusal.DEBIT_EXCEEDS_AVAILABLE, Refusal.CREDIT_EXCEEDS_AVAILABLE)
    shard = chain_shard(made.debit, made.credit)
    for side, (account, asset, delta) in enumerate(effects(made, pending)):
        key = (account, asset, stripe_of(account, shard))
        after = state.balances.get(key, Balance()) + delta
        if max(abs(after.debits_posted), abs(after.credits_posted)) > MAX_TOTAL:
            found.add(limits[side])
        if not may_go_negative(account) and after.available < 0:
            found.add(floors[side])
    return found


@settings(max_examples=400, deadline=None)
@given(states_and_requests())
def test_the_earliest_failing_check_names_the_refusal(
    case: tuple[LedgerState, LedgerRequest],
) -> None:
    state, request = case
    check_request(request)
    now = T0 + timedelta(hours=1)
    found = _violations(state, request, now)
    outcome = apply(state, [request], now=now)
    replay = request.id in state.transfers and Refusal.EXISTS_WITH_DIFFERENT_FIELDS not in found
    if replay:
        assert isinstance(outcome, Applied) and outcome.replayed
    elif not found:
        assert isinstance(outcome, Applied) and not outcome.replayed
    else:
        assert isinstance(outcome, Refused)
        assert outcome.code is min(found, key=ORDER.index), (found, outcome)


def test_precedence_examples() -> None:
    now = T0 + timedelta(hours=1)
    hold = _stored("h", TransferKind.PENDING, amount=50, timeout_at=now - timedelta(seconds=1))
    voided = _stored("h:void", TransferKind.VOID_PENDING, pending_id="h")
    state = _state(
        balances=_striped(
            {(MEMBERS[0], POINTS): Balance(0, 100, 50), (REDEEMED, POINTS): Balance()}
        ),
        transfers={"h": hold},
    )

    def code(request: LedgerRequest, **changes: Any) -> Refusal | None:
        outcome = apply(replace(state, **changes), [request], now=now)
        return outcome.code if isinstance(outcome, Refused) else None

    post_too_much = ResolvePending("p", "h", post=True, amount=80)
    assert code(post_too_much, resolutions={"h": voided}) is Refusal.PENDING_ALREADY_RESOLVED
    assert code(post_too_much) is Refusal.PENDING_EXPIRED
    assert code(ResolvePending("p", "h", post=True, amount=80, expiry=True)) is (
        Refusal.EXCEEDS_PENDING_AMOUNT
    )
    spend = TransferRequest("s", MEMBERS[0], REDEEMED, POINTS, 60, "redemption")
    assert code(spend) is Refusal.DEBIT_EXCEEDS_AVAILABLE  # 100 posted, 50 held
    assert code(spend, failed={"s": "insufficient-funds"}) is Refusal.ID_ALREADY_FAILED
    near_limit = _striped({(MEMBERS[0], POINTS): Balance(MAX_TOTAL - 10, MAX_TOTAL, 0)})
    assert code(spend, balances=near_limit) is Refusal.DEBIT_EXCEEDS_LIMIT
    full = _striped(
        {(MEMBERS[0], POINTS): Balance(0, 10), (REDEEMED, POINTS): Balance(0, MAX_TOTAL)}
    )
    assert code(spend, balances=full) is Refusal.DEBIT_EXCEEDS_AVAILABLE
    assert code(replace(spend, amount=5), balances=full) is Refusal.CREDIT_EXCEEDS_LIMIT


def test_a_refused_group_names_its_other_transfers_linked() -> None:
    state = _state()
    grant = TransferRequest("g", ISSUANCE, MEMBERS[0], POINTS, 10, "grant")
    spend = TransferRequest("s", MEMBERS[0], REDEEMED, POINTS, 11, "redemption")
    outcome = apply(state, [grant, spend, replace(grant, id="g2")], now=T0)
    assert isinstance(outcome, Refused)
    assert outcome.codes == (
        Refusal.LINKED_TRANSFER_FAILED,
        Refusal.DEBIT_EXCEEDS_AVAILABLE,
        Refusal.LINKED_TRANSFER_FAILED,
    )
    assert (outcome.account, outcome.available, outcome.amount) == (MEMBERS[0], 10, 11)

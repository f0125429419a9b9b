"""Shape rules of ledger requests that need no state: ids, amounts, accounts, reasons, timeouts.

Pure code. A request that breaks one is refused before anything is read or written, and its id
is not recorded as failed (rules of state live in ``ledger.state_machine``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from ledger.model import (
    ITEM_KEY_SYNTAX,
    MAX_AMOUNT,
    MAX_TIMEOUT_SECONDS,
    MEMBER_ACCOUNT,
    POINTS,
    REASONS,
    XP,
    AccountId,
    Asset,
    LedgerRequest,
    LedgerRuleViolation,
    ResolvePending,
    member_of,
)

_SYSTEM_ACCOUNT = re.compile(r"^system:(issuance|redeemed|expired)$")
_STOCK_ACCOUNT = re.compile(rf"^stock:({ITEM_KEY_SYNTAX})$")
_ITEM_ASSET = re.compile(rf"^ITEM:({ITEM_KEY_SYNTAX})$")
_TRANSFER_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{1,128}$")


@lru_cache(maxsize=4096)  # a batch names the same accounts again and again; refusals raise
def check_account(account: AccountId, asset: Asset, *, field_name: str) -> None:
    """An account must exist in the chart and may hold only its kind of asset."""
    member = MEMBER_ACCOUNT.fullmatch(account)
    stock = _STOCK_ACCOUNT.fullmatch(account)
    item = _ITEM_ASSET.fullmatch(asset)
    if not (member or stock or _SYSTEM_ACCOUNT.fullmatch(account)):
        raise LedgerRuleViolation(
            f"unknown account {account!r}", field=field_name, rule="known_account"
        )
    if asset not in (POINTS, XP) and not item:
        raise LedgerRuleViolation(f"unknown asset {asset!r}", field="asset", rule="known_asset")
    allowed = True
    if member:
        kind = member.group(2)
        allowed = (
            (kind == "points" and asset == POINTS)
            or (kind == "xp" and asset == XP)
            or (kind == "inventory" and item is not None)
        )
    elif stock:
        allowed = item is not None and item.group(1) == stock.group(1)
    if not allowed:
        raise LedgerRuleViolation(
            f"account {account!r} cannot hold {asset}",
            field=field_name,
            rule="asset_matches_account",
        )


def check_request(request: LedgerRequest) -> None:
    """Shape rules that need no state: ids, amounts, accounts, reasons, timeouts."""
    _check_id(request.id, "id")
    _check_reason(request.reason)
    if len(request.reference) > 256:
        raise LedgerRuleViolation("reference is too long", field="reference", rule="max_length")
    if len(json.dumps(dict(request.metadata), default=str)) > 4096:
        raise LedgerRuleViolation("metadata is too large", field="metadata", rule="max_size")
    if isinstance(request, ResolvePending):
        _check_id(request.pending_id, "pending_id")
        if request.amount is not None:
            _check_amount(request.amount)
        if not request.post and request.amount is not None:
            raise LedgerRuleViolation(
                "a void releases the whole hold; omit amount",
                field="amount",
                rule="void_has_no_amount",
            )
        return
    _check_amount(request.amount)
    if request.debit == request.credit:
        raise LedgerRuleViolation(
            "debit and credit accounts must differ", field="credit", rule="accounts_must_differ"
        )
    check_account(request.debit, request.asset, field_name="debit")
    check_account(request.credit, request.asset, field_name="credit")
    if request.asset == XP and member_of(request.debit) is not None:
        raise LedgerRuleViolation(
            "XP is never spent or moved out of a member (a mistaken grant is reversed)",
            field="debit",
            rule="xp_never_debited",
        )
    if request.pending:
        timeout = request.timeout_seconds
        if timeout is not None and (
            type(timeout) is not int or not 1 <= timeout <= MAX_TIMEOUT_SECONDS
        ):
            raise LedgerRuleViolation(
                f"timeout must be 1-{MAX_TIMEOUT_SECONDS} seconds",
                field="timeout_seconds",
                rule="timeout_range",
            )
    elif request.timeout_seconds is not None:
        raise LedgerRuleViolation(
            "only pending transfers time out", field="timeout_seconds", rule="pending_only"
        )


def _check_id(value: str, field_name: str) -> None:
    if not isinstance(value, str) or not _TRANSFER_ID.fullmatch(value):
        raise LedgerRuleViolation(
            "transfer ids are 1-128 characters of letters, digits and _.:@/-",
            field=field_name,
            rule="id_format",
        )


def _check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise LedgerRuleViolation(
            f"unknown reason {reason!r}; one of {', '.join(sorted(REASONS))}",
            field="reason",
            rule="known_reason",
        )


def _check_amount(amount: int) -> None:
    if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT:
        raise LedgerRuleViolation(
            f"amount must be a whole number from 1 to {MAX_AMOUNT}",
            field="amount",
            rule="amount_range",
        )

"""The trade journal: a member's note (≤ 2,000 characters) on an order, given when placing it or
later. Notes are screened against the compliance terms (``core.compliance.screen``, the same
function the content pipeline uses); the terms are the caller's to pass in (the API reads the
operators' list), since the engine does not import the content package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import utc_now
from core.compliance import screen
from core.errors import NotFound, RuleViolation
from core.rule_codes import Rule
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import require_account

MAX_NOTE_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class OrderNote:
    order_id: int
    note: str
    updated_at: datetime


def check_note(note: str, terms: Sequence[str]) -> str:
    """``note`` if it may be stored: not blank, at most ``MAX_NOTE_LENGTH`` characters, and
    free of prohibited claims (422 ``prohibited_claim`` naming the terms found)."""
    if not note.strip():
        raise RuleViolation("a journal note must not be blank", field="note", rule=Rule.NON_EMPTY)
    if len(note) > MAX_NOTE_LENGTH:
        raise RuleViolation(
            f"a journal note has at most {MAX_NOTE_LENGTH} characters",
            field="note",
            rule=Rule.MAX_LENGTH,
        )
    found = list(dict.fromkeys(hit.term for hit in screen(note, terms)))
    if found:
        raise RuleViolation(
            f"the note makes a prohibited claim: {', '.join(found)}",
            field="note",
            rule=Rule.PROHIBITED_CLAIM,
            terms=found,
        )
    return note


def set_note(
    uow: TradingUnitOfWork,
    contest_id: int,
    *,
    member_id: int,
    order_id: int,
    note: str,
    terms: Sequence[str],
    now: datetime | None = None,
) -> OrderNote:
    """Attach (or replace) the note of one of the member's orders in the contest."""
    checked = check_note(note, terms)
    moment = now or utc_now()
    with uow:
        account = require_account(uow, contest_id, member_id)
        if uow.trading.order(account.id, order_id) is None:
            raise NotFound(f"no order {order_id} in your account", order_id=order_id)
        uow.trading.set_note(order_id, checked, moment)
        uow.commit()
    return OrderNote(order_id, checked, moment)


def notes_of(uow: TradingUnitOfWork, order_ids: Sequence[int]) -> dict[int, str]:
    """order id → note, for those of ``order_ids`` that have one."""
    with uow.reading():
        return uow.trading.notes_of(order_ids)

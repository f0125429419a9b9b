"""Who may know of a contest: everyone, for a public one; for a private one (an invite code),
its entrants, holders of the code and operators. Everyone else gets the very ``NotFound`` of a
contest that does not exist, so a private contest's existence leaks nothing."""

from __future__ import annotations

import secrets
from typing import Protocol

from core.errors import NotFound
from engine.contests.contest_heads import ContestHeads
from engine.uow import EngineUnitOfWork


def check_visible(
    uow: EngineUnitOfWork,
    contest_id: int,
    viewer_id: int | None,
    *,
    operator: bool = False,
    invite_code: str | None = None,
) -> None:
    """Refuse a private contest to anyone but its entrants, holders of its invite code and
    operators, with the very ``NotFound`` of a contest that does not exist."""
    if kept_visible(uow.caches.heads, contest_id, operator=operator, invite_code=invite_code):
        return
    epoch = uow.caches.heads.epoch()
    with uow.reading():
        # a bare trading venue (no season) too; its head only: no JSON column decoded
        row = uow.trading.contest_head(contest_id)
        if row is not None:
            uow.caches.heads.remember(uow.source(), row, epoch=epoch)
        if row is None or not may_see(
            uow, row, viewer_id, operator=operator, invite_code=invite_code
        ):
            raise NotFound(f"no contest {contest_id}", contest_id=contest_id)


def kept_visible(
    heads: ContestHeads,
    contest_id: int,
    *,
    operator: bool = False,
    invite_code: str | None = None,
) -> bool:
    """Whether the contest's head kept in process (trusted now) already lets the caller see it:
    a public contest, an operator, or the invite code. ``False`` means ask ``check_visible``
    (not kept, or a private contest's entrants, which only the database knows). No round trip:
    an event loop may call it."""
    head = heads.get(contest_id)
    return head is not None and (
        head.invite_code is None or operator or holds_code(head, invite_code)
    )


class VisibleContest(Protocol):
    """What deciding visibility reads of a contest (a ``ContestRow``, a ``ContestHead``)."""

    @property
    def id(self) -> int: ...

    @property
    def invite_code(self) -> str | None: ...


def may_see(
    uow: EngineUnitOfWork,
    row: VisibleContest,
    viewer_id: int | None,
    *,
    operator: bool = False,
    invite_code: str | None = None,
) -> bool:
    """Whether ``viewer_id`` may know of the contest (inside the caller's transaction)."""
    if row.invite_code is None or operator or holds_code(row, invite_code):
        return True
    return viewer_id is not None and uow.trading.account(row.id, viewer_id) is not None


def holds_code(row: VisibleContest, invite_code: str | None) -> bool:
    return row.invite_code is not None and secrets.compare_digest(
        (invite_code or "").encode(), row.invite_code.encode()
    )

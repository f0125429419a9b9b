"""The app's group-commit combiners (``core.group_commit``): concurrent check-ins, orders of one
contest and operator grants of this process, each kind joined into one transaction.

Under load a served write's cost is its transaction's lock and shared reads, not its own rows:
a wave of check-ins or orders pays its locks, rules and shared reads one request
at a time. Batched, the services read once and write together, and every request still gets
its own result or its own refusal, raised in its own thread. A batch of one runs the single
call's service, so a request alone (and every retry of a failed batch's items) behaves exactly
as without combining.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.db import Database
from core.group_commit import GroupCommit
from engine.trading import order_desk
from engine.trading.orders import Order, OrderRequest
from engine.uow import EngineCaches, EngineUnitOfWork
from ledger import engagement, services
from ledger.engagement import CheckIn
from ledger.model import LedgerRequest, Transfer
from ledger.services import LedgerUnitOfWork

CHECK_INS = "check-ins"  # one key: a batch locks its members' ledger shards in one statement
GRANTS = "grants"

CheckInRequest = tuple[int, str | None]  # member id, operation id
OrderSubmission = tuple[int, OrderRequest, str | None]  # member id, request, screened note


@dataclass(frozen=True, slots=True)
class GroupCommits:
    check_ins: GroupCommit[str, CheckInRequest, CheckIn]
    orders: GroupCommit[int, OrderSubmission, Order]  # by contest id
    grants: GroupCommit[str, LedgerRequest, Transfer]


def group_commits(database: Database, caches: EngineCaches, *, enabled: bool) -> GroupCommits:
    """The combiners of one app over its database (``enabled``: PAPERLEAGUE_GROUP_COMMIT)."""

    def check_ins(_: str, requests: Sequence[CheckInRequest]) -> Sequence[CheckIn | BaseException]:
        return engagement.check_in_each(LedgerUnitOfWork(database.sessions), requests)

    def orders(
        contest_id: int, batch: Sequence[OrderSubmission]
    ) -> Sequence[Order | BaseException]:
        return order_desk.place_orders(
            EngineUnitOfWork(database.sessions, caches=caches),
            contest_id,
            [(member_id, request) for member_id, request, _ in batch],
            notes=[note for _, _, note in batch],
        )

    def grants(_: str, requests: Sequence[LedgerRequest]) -> Sequence[Transfer | BaseException]:
        uow = LedgerUnitOfWork(database.sessions)
        if len(requests) == 1:  # alone (or a failed batch's retry): exactly ``transfer``
            return [services.transfer(uow, requests[0])]
        outcomes = services.submit_each(uow, [[r] for r in requests])
        return [o if isinstance(o, BaseException) else o[0] for o in outcomes]

    return GroupCommits(
        check_ins=GroupCommit(check_ins, enabled=enabled),
        orders=GroupCommit(orders, enabled=enabled),
        grants=GroupCommit(grants, enabled=enabled),
    )

"""Members: points, level, history, check-ins, tasks, the reward catalog and redemptions."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, status

from api.http.deps import CurrentUser, GroupCommitsDep, LedgerUow, PageParams
from api.http.group_commits import CHECK_INS
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.engagement import (
    CheckInOut,
    HistoryEntry,
    PointsOut,
    RedemptionOut,
    RewardOut,
    TaskCompletionOut,
    TaskOut,
)
from core.pagination import decode_cursor, encode_cursor
from ledger import engagement, services
from ledger.model import inventory_account, points_account, xp_account

router = APIRouter(tags=["points"], responses={401: problem_doc("Not authenticated")})
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)]
TaskKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def operation_id(kind: str, member_id: int, key: str | None) -> str:
    """A domain id for a write: derived from the Idempotency-Key (so a replay after a crash
    is still one operation), else random."""
    suffix = hashlib.sha256(key.encode()).hexdigest()[:32] if key else uuid.uuid4().hex
    return f"{kind}:{member_id}:{suffix}"


@router.get("/me/points", response_model=PointsOut)
def my_points(user: CurrentUser, uow: LedgerUow) -> PointsOut:
    """Balance, available points, lifetime XP, level, next threshold and privileges."""
    return PointsOut.of(engagement.points_summary(uow, user.id))


@router.get("/me/points/history", response_model=Page[HistoryEntry])
def my_history(user: CurrentUser, uow: LedgerUow, page: PageParams) -> Page[HistoryEntry]:
    """Every ledger entry on the caller's points, XP and inventory, newest first."""
    mine = [points_account(user.id), xp_account(user.id), inventory_account(user.id)]
    transfers, next_seq = services.history(
        uow, mine, before_seq=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[HistoryEntry.of(t, set(mine)) for t in transfers],
        next_cursor=None if next_seq is None else encode_cursor(next_seq),
    )


@router.post(
    "/me/check-ins",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckInOut,
    responses={409: problem_doc("Already checked in today (programme time zone)")},
)
async def check_in(
    user: CurrentUser, combiners: GroupCommitsDep, key: IdempotencyKey = None
) -> CheckInOut:
    """Today's check-in: points and XP, with streak bonuses."""
    # Awaited, not in a pool thread: the batch runs in the combiner's worker.
    operation = None if key is None else operation_id("checkin", user.id, key)
    made = await combiners.check_ins.submit_async(CHECK_INS, (user.id, operation))
    return CheckInOut.of(made)


@router.get("/me/tasks", response_model=list[TaskOut])
def my_tasks(user: CurrentUser, uow: LedgerUow) -> list[TaskOut]:
    """The tasks the current earning rules pay the member for, with awards, caps and windows
    (a task targeted at a segment the member is outside of is not listed)."""
    return [TaskOut.of(task.key, task) for task in engagement.offered_tasks(uow, user.id)]


@router.post(
    "/me/tasks/{task_key}/completions",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskCompletionOut,
    responses={404: problem_doc("No such task"), 422: problem_doc("Outside window or over cap")},
)
def complete_task(
    task_key: TaskKey, user: CurrentUser, uow: LedgerUow, key: IdempotencyKey = None
) -> TaskCompletionOut:
    """Record a completed task and pay its reward, within its window and caps."""
    completion_id = operation_id("task", user.id, key)
    return TaskCompletionOut.of(
        engagement.complete_task(uow, user.id, task_key, completion_id=completion_id)
    )


@router.get("/rewards", response_model=Page[RewardOut])
def rewards(_: CurrentUser, uow: LedgerUow, page: PageParams) -> Page[RewardOut]:
    """The reward catalog with stock left."""
    items, last = engagement.list_items(uow, after=decode_cursor(page.cursor), limit=page.limit)
    return Page(
        items=[RewardOut.of(item, left) for item, left in items],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.post(
    "/rewards/{item_id}/redemptions",
    status_code=status.HTTP_201_CREATED,
    response_model=RedemptionOut,
    responses={
        404: problem_doc("No such item"),
        422: problem_doc("Level, limit, window, points or stock refuse it"),
    },
)
def redeem(
    item_id: ItemId, user: CurrentUser, uow: LedgerUow, key: IdempotencyKey = None
) -> RedemptionOut:
    """Redeem points for one item (send an Idempotency-Key to make retries safe)."""
    redemption_id = operation_id("redemption", user.id, key)
    return RedemptionOut.of(engagement.redeem(uow, user.id, item_id, redemption_id=redemption_id))


@router.get("/me/redemptions", response_model=Page[RedemptionOut])
def my_redemptions(user: CurrentUser, uow: LedgerUow, page: PageParams) -> Page[RedemptionOut]:
    """The caller's redemptions and their status."""
    found, last = engagement.redemptions_of(
        uow, user.id, before=decode_cursor(page.cursor, kind=str), limit=page.limit
    )
    return Page(
        items=[RedemptionOut.of(r) for r in found],
        next_cursor=None if last is None else encode_cursor(last),
    )

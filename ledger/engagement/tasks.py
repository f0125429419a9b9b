"""Task completions: rewarded inside the task's window and its per-day and per-week caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.clock import utc_now
from core.errors import NotFound, RuleViolation
from core.segments.services import is_eligible, require_eligible
from ledger.earning import EarningRules, TaskRule, iso_week
from ledger.engagement.awards import award_requests, pay, scaled
from ledger.engagement.configuration import current_levels, current_rules
from ledger.levels import Privileges
from ledger.model import XP, member_accounts, xp_account
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.engagement import TaskCompletionRow


@dataclass(frozen=True, slots=True)
class TaskCompletion:
    id: str
    member_id: int
    task_key: str
    points: int
    xp: int
    created_at: datetime


def complete_task(
    uow: LedgerUnitOfWork,
    member_id: int,
    task_key: str,
    *,
    completion_id: str,
    now: datetime | None = None,
) -> TaskCompletion:
    """Reward a task completion within the task's window and its per-day / per-week caps."""
    moment = now or utc_now()
    with uow:
        # The member's shards: its completions (the caps per day and week) stay serial.
        uow.ledger.lock_accounts(member_accounts(member_id))
        existing = uow.engagement.task_completion(completion_id)
        if existing is not None and existing.member_id == member_id:
            return _completion(existing)
        rules = current_rules(uow)
        task = rules.tasks.get(task_key)
        if task is None:
            raise NotFound(f"no task {task_key!r}", field="task_key")
        require_eligible(uow.session, member_id, task.target_segment, field="task_key")
        _check_task(uow, member_id, task, rules, moment)
        today = rules.local_day(moment)
        reward = scaled(task.award, _multiplier(uow, member_id).points_multiplier)
        requests = award_requests(
            member_id, reward, id_prefix=f"task:{completion_id}", reason="task", reference=task_key
        )
        pay(uow, member_id, requests, now=moment)
        row = TaskCompletionRow(
            id=completion_id,
            member_id=member_id,
            task_key=task_key,
            local_date=today.isoformat(),
            iso_week=iso_week(today),
            points=reward.points,
            xp=reward.xp,
            created_at=moment,
        )
        uow.engagement.add(row)
        uow.commit()
    return _completion(row)


def offered_tasks(uow: LedgerUnitOfWork, member_id: int) -> list[TaskRule]:
    """The tasks the current earning rules pay this member for, by key (a task targeted at a
    segment the member is outside of is not offered)."""
    with uow.reading():
        tasks = current_rules(uow).tasks
        return [
            task
            for _, task in sorted(tasks.items())
            if is_eligible(uow.session, member_id, task.target_segment)
        ]


def _check_task(
    uow: LedgerUnitOfWork, member_id: int, task: TaskRule, rules: EarningRules, moment: datetime
) -> None:
    if not task.open_at(moment):
        raise RuleViolation(
            f"task {task.key!r} is not open now", field="task_key", rule="task_window"
        )
    today = rules.local_day(moment)
    done_today, done_week = uow.engagement.task_counts(
        member_id, task.key, today.isoformat(), iso_week(today)
    )
    if task.per_day_cap is not None and done_today >= task.per_day_cap:
        raise RuleViolation(
            f"task {task.key!r} pays at most {task.per_day_cap} time(s) a day",
            field="task_key",
            rule="per_day_cap",
        )
    if task.per_week_cap is not None and done_week >= task.per_week_cap:
        raise RuleViolation(
            f"task {task.key!r} pays at most {task.per_week_cap} time(s) a week",
            field="task_key",
            rule="per_week_cap",
        )


def _multiplier(uow: LedgerUnitOfWork, member_id: int) -> Privileges:
    xp = uow.ledger.balance(xp_account(member_id), XP).credits_posted
    return current_levels(uow).level_for(xp).privileges


def _completion(row: TaskCompletionRow) -> TaskCompletion:
    return TaskCompletion(row.id, row.member_id, row.task_key, row.points, row.xp, row.created_at)

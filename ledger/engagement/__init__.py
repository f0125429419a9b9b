"""Engagement use cases on top of the ledger: this package's public interface.

Levels, check-ins, tasks, referrals, prizes and the reward catalog. Every award is ledger
transfers with deterministic ids, so a retried request (or a crash and replay) never pays
twice; each use case is one transaction under the locks of its member's shard heads (and the
stock's, for items), which also serialize the per-member rules (one check-in a day, task caps,
limits); members in other shards proceed meanwhile.

Callers outside ``ledger/`` use the names below (``engagement.check_in(uow, …)``); each lives in
the module named for its use case, and code inside ``ledger/`` imports from that module:
``configuration`` (level table, earning rules), ``awards`` (prizes, and the payment every award
goes through), ``check_ins`` (with the streak), ``tasks``, ``referrals``, ``items`` (the catalog
and its stock), ``redemptions`` and ``summaries`` (a member's points, level and items).
``Redemption`` (from ``ledger.catalog``) is listed as the value redemptions return.
"""

from ledger.catalog import Redemption
from ledger.engagement.awards import award, award_many
from ledger.engagement.check_ins import (
    AlreadyCheckedIn,
    CheckIn,
    CheckInOutcome,
    check_in,
    check_in_each,
    check_in_many,
)
from ledger.engagement.configuration import (
    current_levels,
    current_programme,
    current_rules,
    set_earning_rules,
    set_levels,
)
from ledger.engagement.expiry import ExpiryReport, expire_due
from ledger.engagement.items import OutOfStock, create_item, list_items, stock_left
from ledger.engagement.redemptions import (
    get_redemption,
    redeem,
    redemptions_of,
    resolve_redemption,
)
from ledger.engagement.referrals import complete_referral, record_referral
from ledger.engagement.summaries import PointsSummary, points_summary, summary_in
from ledger.engagement.tasks import TaskCompletion, complete_task, offered_tasks

__all__ = [
    "AlreadyCheckedIn",
    "CheckIn",
    "CheckInOutcome",
    "ExpiryReport",
    "OutOfStock",
    "PointsSummary",
    "Redemption",
    "TaskCompletion",
    "award",
    "award_many",
    "check_in",
    "check_in_each",
    "check_in_many",
    "complete_referral",
    "complete_task",
    "create_item",
    "expire_due",
    "current_levels",
    "current_programme",
    "current_rules",
    "get_redemption",
    "list_items",
    "offered_tasks",
    "points_summary",
    "record_referral",
    "redeem",
    "redemptions_of",
    "resolve_redemption",
    "set_earning_rules",
    "set_levels",
    "stock_left",
    "summary_in",
]

"""Refreshing the behavioural tags: derive every active member's tags from their activity
(``core.segments.model.tags_for``) and make ``member_tags`` hold exactly those.

Idempotent: a second refresh at the same moment changes nothing but ``computed_at``; a tag
still held keeps its ``since``; tags of members no longer holding them (or erased) go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.clock import utc_now
from core.config import Settings
from core.segments.model import Tag, TagThresholds, tags_for
from core.segments.store import MemberTagRow, SegmentsRepository
from engine.segments.store import activities, lock_tags
from ledger.engagement.configuration import current_levels
from ledger.services.unit_of_work import LedgerUnitOfWork


@dataclass(frozen=True, slots=True)
class TagRefresh:
    """One refresh: members seen, tags added and removed, and who holds each tag now."""

    members: int
    added: int
    removed: int
    counts: Mapping[str, int]
    computed_at: datetime


def thresholds_from(settings: Settings) -> TagThresholds:
    return TagThresholds(
        active_trader_orders=settings.segment_active_trader_orders,
        dormant_days=settings.segment_dormant_days,
        new_days=settings.segment_new_days,
        high_level=settings.segment_high_level,
    )


def refresh_tags(
    uow: LedgerUnitOfWork,
    *,
    thresholds: TagThresholds | None = None,
    now: datetime | None = None,
) -> TagRefresh:
    """Recompute and store every active member's behavioural tags (one transaction)."""
    moment = now or utc_now()
    limits = thresholds or TagThresholds()
    with uow:
        lock_tags(uow.session)
        levels = current_levels(uow)
        wanted: set[tuple[int, str]] = set()
        found = activities(uow.session, week_ago=moment - timedelta(days=7))
        for user_id, (activity, xp) in found.items():
            leveled = replace(activity, level=levels.level_for(xp).number)
            held_now = tags_for(leveled, now=moment, thresholds=limits)
            wanted |= {(user_id, tag.value) for tag in held_now}
        repo = SegmentsRepository(uow.session)
        held = {(row.user_id, row.tag): row for row in repo.tag_rows()}
        stale = held.keys() - wanted
        repo.drop_tags(stale)
        for pair in held.keys() & wanted:
            held[pair].computed_at = moment
        fresh = wanted - held.keys()
        repo.add_tags(
            MemberTagRow(user_id=u, tag=t, since=moment, computed_at=moment) for u, t in fresh
        )
        counts = {tag.value: sum(1 for _, t in wanted if t == tag.value) for tag in Tag}
        uow.commit()
    return TagRefresh(len(found), len(fresh), len(stale), counts, moment)

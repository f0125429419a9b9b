"""A contest's rules, fixed when trading starts: a canonical JSON snapshot and its SHA-256.

When the clock reveals a contest's first bar (``engine.clock``), the same transaction writes the
snapshot: every field of the contest's draft (``services.draft_of``; a field added to
``ContestDraft`` later is included without a change here) except its secret invite code, plus
the season, the market and the organiser. From then on every snapshot field is locked
(``services.update_contest`` refuses it, 409 ``field-locked``), so the document stays true;
``notary`` anchors its hash on chain.

Canonical JSON: keys sorted, no whitespace, UTF-8 (not ASCII-escaped); dates and instants ISO
8601; Decimals as strings; tuples as lists; enums as their values; parts with a ``to_json`` as
it gives them. Pure functions except ``lock_rules`` and ``rules_of`` (inside a unit of work).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from core.clock import utc_now
from core.errors import Conflict
from core.rule_codes import Rule
from engine.contests.prize_rules import draw_commitment
from engine.contests.rules_model import RulesSnapshot
from engine.contests.services import SNAPSHOT_FIELDS, draft_of
from engine.contests.store import SeasonRow
from engine.trading.store import ContestRow
from engine.trading.venue import require_contest
from engine.uow import EngineUnitOfWork

VERSION = 1


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (see the module for each type's form)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return plain(to_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    raise TypeError(f"no canonical JSON form for {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no whitespace, not ASCII-escaped."""
    return json.dumps(
        plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def rules_document(contest: ContestRow, season: SeasonRow) -> dict[str, Any]:
    """Everything a member relies on about ``contest`` (its draft's fields, its season, market
    and organiser), as JSON-ready data."""
    draft = draft_of(contest)
    return {
        "version": VERSION,
        "contest_id": contest.id,
        "market": contest.market,
        "contest": {name: plain(getattr(draft, name)) for name in sorted(SNAPSHOT_FIELDS)},
        "season": {
            "id": season.id,
            "name": season.name,
            "timezone": season.timezone,
            "starts_on": season.starts_on.isoformat(),
            "ends_on": season.ends_on.isoformat(),
            "market": season.market,
            "data_source": season.data_source,
        },
        "organiser": {"user_id": season.created_by},
        # The draw's seed stays secret until settlement; its hash, anchored here, proves it was
        # fixed before trading began.
        "draw_commitment": None
        if contest.draw_seed is None
        else draw_commitment(contest.draw_seed),
    }


def snapshot_of(
    contest: ContestRow, season: SeasonRow, *, now: datetime | None = None
) -> RulesSnapshot:
    """The rules snapshot of ``contest`` as it stands (not stored)."""
    document = canonical_json(rules_document(contest, season))
    return RulesSnapshot(
        contest_id=contest.id,
        document=document,
        sha256=hashlib.sha256(document.encode("utf-8")).digest(),
        locked_at=now or utc_now(),
    )


def lock_rules(
    uow: EngineUnitOfWork, contest: ContestRow, *, now: datetime | None = None
) -> RulesSnapshot | None:
    """Inside the caller's transaction (the contest row locked): store the contest's rules
    snapshot unless it has one; the stored snapshot, or None for a bare venue (no season)."""
    if contest.season_id is None:
        return None
    found = uow.rules.get(contest.id)
    if found is not None:
        return found
    season = uow.contests.season(contest.season_id)
    if season is None:
        return None
    snapshot = snapshot_of(contest, season, now=now)
    uow.rules.add(snapshot)
    return snapshot


def rules_of(uow: EngineUnitOfWork, contest_id: int) -> RulesSnapshot:
    """The contest's locked rules; ``NotFound`` for no contest, 409 ``rules_not_locked`` before
    trading starts."""
    with uow.reading():
        require_contest(uow, contest_id, seasonal=True)
        found = uow.rules.get(contest_id)
    if found is None:
        raise Conflict(
            f"contest {contest_id}'s rules are fixed when trading starts",
            field="contest_id",
            rule=Rule.RULES_NOT_LOCKED,
        )
    return found

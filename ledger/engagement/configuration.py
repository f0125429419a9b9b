"""The versioned programme configuration: the level table and the earning rules in force,
published as new versions (earlier ones stay on record), and their JSON forms."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import utc_now
from core.errors import RuleViolation
from core.segments.services import check_target
from ledger.earning import Award, EarningRules, TaskRule, check_timezone
from ledger.levels import DEFAULT_LEVELS, Level, LevelTable, Privileges, check_levels
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.checkin_reads import Version, latest_programme
from ledger.store.engagement import EarningRulesRow, LevelTableRow


def current_levels(uow: LedgerUnitOfWork) -> LevelTable:
    row = uow.engagement.latest_levels()
    return _levels_of(None if row is None else Version(row.version, row.levels))


def current_rules(uow: LedgerUnitOfWork) -> EarningRules:
    row = uow.engagement.latest_rules()
    return _rules_of(None if row is None else Version(row.version, row.rules))


def current_programme(uow: LedgerUnitOfWork) -> tuple[EarningRules, LevelTable]:
    """``current_rules`` and ``current_levels`` in one round trip."""
    programme = latest_programme(uow.session)
    return _rules_of(programme.rules), _levels_of(programme.levels)


def _levels_of(published: Version | None) -> LevelTable:
    if published is None:
        return DEFAULT_LEVELS
    return LevelTable(published.version, tuple(_level_from_json(item) for item in published.body))


def _rules_of(published: Version | None) -> EarningRules:
    if published is None:
        return EarningRules()
    return rules_from_json(published.body, version=published.version)


def set_levels(
    uow: LedgerUnitOfWork, levels: list[Level], *, operator_id: int, now: datetime | None = None
) -> LevelTable:
    """Publish a new version of the level table (earlier versions stay on record)."""
    checked = check_levels(levels)
    with uow:
        version = current_levels(uow).version + 1
        uow.engagement.add(
            LevelTableRow(
                version=version,
                levels=[_level_to_json(lv) for lv in checked],
                created_by=operator_id,
                created_at=now or utc_now(),
            )
        )
        uow.commit()
    return LevelTable(version, checked)


def set_earning_rules(
    uow: LedgerUnitOfWork, rules: EarningRules, *, operator_id: int, now: datetime | None = None
) -> EarningRules:
    """Publish a new version of the earning rules."""
    check_timezone(rules.timezone)
    with uow:
        for key, task in sorted(rules.tasks.items()):
            try:
                check_target(uow.session, task.target_segment)
            except RuleViolation as exc:
                raise RuleViolation(
                    exc.detail, field=f"tasks.{key}.target_segment", rule="known_segment"
                ) from exc
        version = current_rules(uow).version + 1
        uow.engagement.add(
            EarningRulesRow(
                version=version,
                rules=rules_to_json(rules),
                created_by=operator_id,
                created_at=now or utc_now(),
            )
        )
        uow.commit()
    return dataclasses.replace(rules, version=version)


def _level_to_json(level: Level) -> dict[str, Any]:
    return {
        "number": level.number,
        "name": level.name,
        "min_xp": level.min_xp,
        "points_multiplier": str(level.privileges.points_multiplier),
        "flags": sorted(level.privileges.flags),
    }


def _level_from_json(data: dict[str, Any]) -> Level:
    return Level(
        data["number"],
        data["name"],
        data["min_xp"],
        Privileges(Decimal(data["points_multiplier"]), frozenset(data["flags"])),
    )


def rules_to_json(rules: EarningRules) -> dict[str, Any]:
    def award_json(a: Award) -> dict[str, int]:
        return {"points": a.points, "xp": a.xp}

    def moment(m: datetime | None) -> str | None:
        return None if m is None else m.isoformat()

    return {
        "timezone": rules.timezone,
        "checkin": award_json(rules.checkin),
        "streak_bonuses": {str(day): award_json(a) for day, a in rules.streak_bonuses.items()},
        "repeat_streak_bonuses": rules.repeat_streak_bonuses,
        "tasks": {
            key: {
                "title": t.title,
                "award": award_json(t.award),
                "per_day_cap": t.per_day_cap,
                "per_week_cap": t.per_week_cap,
                "starts_at": moment(t.starts_at),
                "ends_at": moment(t.ends_at),
                "target_segment": t.target_segment,
            }
            for key, t in rules.tasks.items()
        },
        "referral_inviter": award_json(rules.referral_inviter),
        "referral_invitee": award_json(rules.referral_invitee),
        "points_expiry_days": rules.points_expiry_days,
    }


def rules_from_json(data: dict[str, Any], *, version: int) -> EarningRules:
    def award_of(d: dict[str, int]) -> Award:
        return Award(d["points"], d["xp"])

    def moment(m: str | None) -> datetime | None:
        return None if m is None else datetime.fromisoformat(m)

    return EarningRules(
        version=version,
        timezone=data["timezone"],
        checkin=award_of(data["checkin"]),
        streak_bonuses={int(day): award_of(a) for day, a in data["streak_bonuses"].items()},
        repeat_streak_bonuses=data["repeat_streak_bonuses"],
        tasks={
            key: TaskRule(
                key,
                t["title"],
                award_of(t["award"]),
                t["per_day_cap"],
                t["per_week_cap"],
                moment(t["starts_at"]),
                moment(t["ends_at"]),
                t.get("target_segment"),  # absent from rules published before segments
            )
            for key, t in data["tasks"].items()
        },
        referral_inviter=award_of(data["referral_inviter"]),
        referral_invitee=award_of(data["referral_invitee"]),
        points_expiry_days=data["points_expiry_days"],
    )

"""League use cases: the rules, a member's time zone, opening a week (forming its cohorts), a
member's standings and history, and closing a week. Each is one transaction
(``with uow: … uow.commit()``); ``now`` is the caller's clock (tests and the simulation pass
their own).

Opening is idempotent per week (the unique ``starts_at``): a second opener finds the week the
first made. Every active member takes part; one without a league profile enters the bottom tier
in the default time zone.

Closing mirrors quiz settlement: the first closer freezes the week (week row locked): final
ranks, zones, next tiers, the members' new tiers and one payout row per rewarded member (unique
per week and member). Then the unpaid payouts are paid as one group through
``ledger.engagement.awards.award_many``, each with the deterministic id ``league:<week>:<member>``
(a replay posts nothing), and marked paid; ``closed_at`` is stamped once nothing is unpaid.
Closing twice, or from two processes at once, pays once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import utc_now
from core.errors import Conflict, DomainError, NotFound, RuleViolation
from engine.contests import leaderboard
from engine.leagues import model
from engine.leagues.model import (
    Basis,
    Entrant,
    LeagueConfig,
    RankReward,
    Standing,
    TierRules,
    Zone,
    Zones,
)
from engine.leagues.store import (
    DuplicateWeek,
    LeagueCohortRow,
    LeagueEntryRow,
    LeagueMemberRow,
    LeaguePayoutRow,
    LeagueSettingsRow,
    LeagueWeekRow,
)
from engine.leagues.uow import LeagueUnitOfWork
from ledger.earning import Award
from ledger.engagement.awards import award_many

REWARD_REASON = "league_reward"


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberProfile:
    member_id: int
    tier: int
    time_zone: str

    @property
    def tier_name(self) -> str:
        return model.tier_name(self.tier)


@dataclass(frozen=True, slots=True)
class Week:
    id: int
    starts_at: datetime
    ends_at: datetime
    config: LeagueConfig
    cohorts: int
    members: int
    finalized_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CohortPlace:
    rank: int
    member_id: int
    display_name: str
    score: Decimal | None
    zone: Zone


@dataclass(frozen=True, slots=True)
class MyLeague:
    """A member's cohort this week: live ranks until the week is finalized, final after."""

    week_id: int
    starts_at: datetime
    ends_at: datetime
    days_left: int
    tier: int
    cohort_id: int
    zones: Zones
    basis: Basis
    final: bool
    places: tuple[CohortPlace, ...]
    my_rank: int

    @property
    def tier_name(self) -> str:
        return model.tier_name(self.tier)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    week_id: int
    starts_at: datetime
    tier: int
    rank: int
    cohort_size: int
    score: Decimal | None
    zone: Zone
    next_tier: int
    points: int
    xp: int


@dataclass(frozen=True, slots=True)
class Payout:
    member_id: int
    tier: int
    rank: int
    points: int
    xp: int
    award_id: str
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class Movement:
    """How many of a tier's members were promoted, stayed and were demoted."""

    tier: int
    promoted: int
    stayed: int
    demoted: int


@dataclass(frozen=True, slots=True)
class WeekClosing:
    """One closing run: the frozen payouts, how many this run paid, and what was refused."""

    week_id: int
    payouts: tuple[Payout, ...]
    movements: tuple[Movement, ...]
    paid_now: int
    already_paid: int
    refused: tuple[tuple[str, str], ...]  # (award id, rule)
    closed_at: datetime | None


# --- the rules ----------------------------------------------------------------------------------


def get_config(uow: LeagueUnitOfWork) -> LeagueConfig:
    """The rules in force (the defaults until an operator sets them)."""
    with uow.reading():
        return _config_in_force(uow)


def set_config(
    uow: LeagueUnitOfWork, config: LeagueConfig, *, operator_id: int, now: datetime | None = None
) -> LeagueConfig:
    """Replace the rules; weeks already open keep theirs. ``RuleViolation`` names a broken
    field."""
    model.check_config(config)
    with uow:
        if config.basis is Basis.CONTEST and config.contest_id is not None:
            if uow.trading.contest(config.contest_id) is None:
                raise RuleViolation(
                    f"no contest {config.contest_id}", field="contest_id", rule="known_contest"
                )
        uow.leagues.save_settings(
            LeagueSettingsRow(
                id=1,
                config=config_json(config),
                updated_by=operator_id,
                updated_at=now or utc_now(),
            )
        )
        uow.commit()
        return config


# --- a member's profile -------------------------------------------------------------------------


def profile(uow: LeagueUnitOfWork, member_id: int) -> MemberProfile:
    """The member's tier and time zone (bottom tier, default zone before they have one)."""
    with uow.reading():
        row = uow.leagues.member(member_id)
        if row is None:
            return MemberProfile(member_id, model.BOTTOM_TIER, model.DEFAULT_TIME_ZONE)
        return _profile(row)


def set_time_zone(
    uow: LeagueUnitOfWork, member_id: int, time_zone: str, *, now: datetime | None = None
) -> MemberProfile:
    """Set the member's IANA time zone (it matches cohorts from the next week on)."""
    return set_time_zones(uow, {member_id: time_zone}, now=now)[0]


def set_time_zones(
    uow: LeagueUnitOfWork, zones: Mapping[int, str], *, now: datetime | None = None
) -> list[MemberProfile]:
    """Set several members' time zones in one transaction (members by id)."""
    names = {member_id: model.check_time_zone(zone) for member_id, zone in zones.items()}
    with uow:
        uow.leagues.ensure_members(
            list(names),
            tier=model.BOTTOM_TIER,
            time_zone=model.DEFAULT_TIME_ZONE,
            joined_at=now or utc_now(),
        )
        rows = uow.leagues.members_by_id(list(names), lock=True)
        for row in rows:
            row.time_zone = names[row.member_id]
        made = [_profile(row) for row in rows]
        uow.commit()
        return made


# --- opening a week -----------------------------------------------------------------------------


def open_week(uow: LeagueUnitOfWork, *, now: datetime | None = None) -> Week:
    """Open the week holding ``now`` and form its cohorts (idempotent). 409
    ``previous_week_open`` while an earlier week is not closed yet: next week's tiers come
    from its results."""
    moment = now or utc_now()
    starts = model.week_start(moment)
    with uow:
        found = uow.leagues.week_starting(starts)
        if found is not None:
            return _week(uow, found)
        earlier = uow.leagues.latest_week_before(starts)
        if earlier is not None and earlier.finalized_at is None:
            raise Conflict(
                f"league week {earlier.id} has not been closed",
                field="week_id",
                rule="previous_week_open",
            )
        config = _config_in_force(uow)
        try:
            week = uow.leagues.add_week(
                LeagueWeekRow(
                    starts_at=starts,
                    ends_at=starts + model.WEEK,
                    config=config_json(config),
                    opened_at=moment,
                    finalized_at=None,
                    closed_at=None,
                )
            )
        except DuplicateWeek:  # a concurrent opener committed it: read theirs
            again = uow.leagues.week_starting(starts)
            assert again is not None
            return _week(uow, again)
        _form(uow, week, config, moment)
        opened = _week(uow, week)
        uow.commit()
        return opened


def _form(
    uow: LeagueUnitOfWork, week: LeagueWeekRow, config: LeagueConfig, moment: datetime
) -> None:
    """Enrol active members without a profile, then write the week's cohorts and entries."""
    active = uow.leagues.active_member_ids()
    uow.leagues.ensure_members(
        active, tier=model.BOTTOM_TIER, time_zone=model.DEFAULT_TIME_ZONE, joined_at=moment
    )
    profiles = {row.member_id: row for row in uow.leagues.members()}
    prior = uow.leagues.xp_earned(
        active, week.starts_at - model.WEEK, week.starts_at, excluding=REWARD_REASON
    )
    entrants = [
        Entrant(
            member_id=member_id,
            tier=profiles[member_id].tier,
            prior_xp=prior.get(member_id, 0),
            utc_offset_minutes=model.utc_offset_minutes(
                profiles[member_id].time_zone, week.starts_at
            ),
        )
        for member_id in active
    ]
    for cohort in model.form_cohorts(entrants, cohort_size=config.cohort_size):
        made = uow.leagues.add_cohort(
            LeagueCohortRow(week_id=week.id, tier=cohort.tier, number=cohort.number)
        )
        uow.leagues.add_entries(
            [
                LeagueEntryRow(
                    week_id=week.id,
                    cohort_id=made.id,
                    member_id=e.member_id,
                    tier=e.tier,
                    activity_band=e.band,
                    utc_offset_minutes=e.utc_offset_minutes,
                )
                for e in cohort.members
            ]
        )


def get_week(uow: LeagueUnitOfWork, week_id: int) -> Week:
    with uow.reading():
        return _week(uow, _require_week(uow, week_id))


def get_week_starting(uow: LeagueUnitOfWork, starts_at: datetime) -> Week:
    with uow.reading():
        row = uow.leagues.week_starting(starts_at)
        if row is None:
            raise NotFound(f"no league week starting {starts_at.isoformat()}", field="week_id")
        return _week(uow, row)


def list_weeks(uow: LeagueUnitOfWork) -> list[Week]:
    """Every week, oldest first."""
    with uow.reading():
        return [_week(uow, row) for row in uow.leagues.weeks()]


# --- a member's view ----------------------------------------------------------------------------


def my_league(uow: LeagueUnitOfWork, member_id: int, *, now: datetime | None = None) -> MyLeague:
    """The member's cohort in the week holding ``now``: 404 when no week is open or the member
    joined after it opened."""
    moment = now or utc_now()
    with uow.reading():
        week = uow.leagues.week_starting(model.week_start(moment))
        if week is None:
            raise NotFound("no league week is open", field="week_id")
        entry = uow.leagues.entry(week.id, member_id)
        if entry is None:
            raise NotFound("you joined after this week's cohorts were formed", field="week_id")
        config = config_from(week.config)
        entries = uow.leagues.cohort_entries(entry.cohort_id)
        zone_sizes = _zones(config, entry.tier, len(entries))
        if week.finalized_at is not None:
            placed = _stored(entries)
        else:
            scores = _scores(uow, week, config, [e.member_id for e in entries], until=moment)
            placed = model.rank_cohort(scores, zone_sizes)
        names = uow.standings.display_names([s.member_id for s in placed])
        places = tuple(
            CohortPlace(s.rank, s.member_id, names.get(s.member_id, ""), s.score, s.zone)
            for s in placed
        )
        return MyLeague(
            week_id=week.id,
            starts_at=week.starts_at,
            ends_at=week.ends_at,
            days_left=model.days_left(moment, week.ends_at),
            tier=entry.tier,
            cohort_id=entry.cohort_id,
            zones=zone_sizes,
            basis=config.basis,
            final=week.finalized_at is not None,
            places=places,
            my_rank=next(p.rank for p in places if p.member_id == member_id),
        )


def history(uow: LeagueUnitOfWork, member_id: int) -> list[HistoryEntry]:
    """The member's finalized weeks, newest first, with what each paid."""
    with uow.reading():
        rows: list[HistoryEntry] = []
        for entry, week in uow.leagues.history(member_id):
            paid = uow.leagues.payout(week.id, member_id)
            assert entry.rank is not None and entry.zone is not None and entry.next_tier is not None
            rows.append(
                HistoryEntry(
                    week_id=week.id,
                    starts_at=week.starts_at,
                    tier=entry.tier,
                    rank=entry.rank,
                    cohort_size=len(uow.leagues.cohort_entries(entry.cohort_id)),
                    score=entry.score,
                    zone=Zone(entry.zone),
                    next_tier=entry.next_tier,
                    points=paid.points if paid else 0,
                    xp=paid.xp if paid else 0,
                )
            )
        return rows


# --- closing a week -----------------------------------------------------------------------------


def close_week(uow: LeagueUnitOfWork, week_id: int, *, now: datetime | None = None) -> WeekClosing:
    """Freeze a week that has ended and pay its rewards, each exactly once (see the module).
    409 ``week_not_over`` before ``ends_at``."""
    moment = now or utc_now()
    frozen = _finalize(uow, week_id, moment)
    unpaid = [p for p in frozen if p.paid_at is None]
    paid_now = 0
    refused: list[tuple[str, str]] = []
    if unpaid:
        # One group, frozen membership: a rerun (or a concurrent closer) replays its transfers.
        grants = [(p.member_id, Award(points=p.points, xp=p.xp), p.award_id) for p in unpaid]
        try:
            award_many(
                uow, grants, reason=REWARD_REASON, reference=f"league_week:{week_id}", now=moment
            )
        except DomainError as error:  # refused as a whole: nothing posted, rerun to retry
            rule = str(error.extensions.get("rule") or error.slug)
            refused = [(p.award_id, rule) for p in unpaid]
        else:
            with uow:
                paid_now = uow.leagues.mark_paid([p.award_id for p in unpaid], moment)
                uow.commit()
    already = len(frozen) - paid_now - len(refused)
    with uow:
        week = _require_week(uow, week_id, lock=True)
        if week.closed_at is None and uow.leagues.unpaid_count(week_id) == 0:
            week.closed_at = moment
        closed_at = week.closed_at
        payouts = tuple(_payout(p) for p in uow.leagues.payouts(week_id))
        movements = _movements(uow.leagues.entries(week_id))
        uow.commit()
    return WeekClosing(
        week_id=week_id,
        payouts=payouts,
        movements=movements,
        paid_now=paid_now,
        already_paid=already,
        refused=tuple(refused),
        closed_at=closed_at,
    )


def close_ended_weeks(uow: LeagueUnitOfWork, *, now: datetime | None = None) -> list[WeekClosing]:
    """Close every week that has ended and is not closed yet, oldest first."""
    moment = now or utc_now()
    with uow.reading():
        ids = [row.id for row in uow.leagues.open_weeks_ended_by(moment)]
    return [close_week(uow, week_id, now=moment) for week_id in ids]


def _finalize(uow: LeagueUnitOfWork, week_id: int, moment: datetime) -> list[Payout]:
    """Ranks, movements and payouts, computed and stored by the first closer only (week row
    locked)."""
    with uow:
        week = _require_week(uow, week_id, lock=True)
        if week.finalized_at is None:
            if moment < week.ends_at:
                raise Conflict(
                    f"the week ends at {week.ends_at.isoformat()}",
                    field="week_id",
                    rule="week_not_over",
                )
            config = config_from(week.config)
            entries = uow.leagues.entries(week_id)
            scores = _scores(uow, week, config, [e.member_id for e in entries], until=week.ends_at)
            payouts: list[LeaguePayoutRow] = []
            for cohort in uow.leagues.cohorts(week_id):
                members = [e for e in entries if e.cohort_id == cohort.id]
                payouts += _finalize_cohort(week, config, cohort, members, scores)
            uow.leagues.add_payouts(payouts)
            _apply_tiers(uow, entries)
            week.finalized_at = moment
        frozen = [_payout(row) for row in uow.leagues.payouts(week_id)]
        uow.commit()
    return frozen


def _finalize_cohort(
    week: LeagueWeekRow,
    config: LeagueConfig,
    cohort: LeagueCohortRow,
    members: list[LeagueEntryRow],
    scores: dict[int, Decimal | None],
) -> list[LeaguePayoutRow]:
    """Write one cohort's final ranks and next tiers; its members' payout rows."""
    by_member = {e.member_id: e for e in members}
    zone_sizes = _zones(config, cohort.tier, len(members))
    placed = model.rank_cohort({m: scores.get(m) for m in by_member}, zone_sizes)
    payouts: list[LeaguePayoutRow] = []
    for standing in placed:
        entry = by_member[standing.member_id]
        entry.rank, entry.score, entry.zone = standing.rank, standing.score, standing.zone.value
        entry.next_tier = model.next_tier(entry.tier, standing.zone)
        band = model.reward_for(config.rules(cohort.tier), standing.rank)
        if band is not None:
            payouts.append(
                LeaguePayoutRow(
                    week_id=week.id,
                    member_id=standing.member_id,
                    tier=cohort.tier,
                    rank=standing.rank,
                    points=band.points,
                    xp=band.xp,
                    award_id=model.league_award_id(week.id, standing.member_id),
                    paid_at=None,
                )
            )
    return payouts


def _apply_tiers(uow: LeagueUnitOfWork, entries: Sequence[LeagueEntryRow]) -> None:
    """Each member enters next week at their entry's next tier."""
    profiles = {row.member_id: row for row in uow.leagues.members()}
    for entry in entries:
        if entry.member_id in profiles and entry.next_tier is not None:
            profiles[entry.member_id].tier = entry.next_tier


# --- helpers ------------------------------------------------------------------------------------


def _scores(
    uow: LeagueUnitOfWork,
    week: LeagueWeekRow,
    config: LeagueConfig,
    member_ids: Sequence[int],
    *,
    until: datetime,
) -> dict[int, Decimal | None]:
    """Each member's score: XP earned from the week's start to ``until`` (at most its end),
    or the contest's metric at its last tick (None: no metric)."""
    if config.basis is Basis.CONTEST and config.contest_id is not None:
        board = leaderboard.current(uow, config.contest_id)
        found: dict[int, Decimal | None] = {}
        for member_id in member_ids:
            placing = None if board is None else board.placing_of(member_id)
            found[member_id] = None if placing is None else model.as_score(placing.metric)
        return found
    end = min(until, week.ends_at)
    earned = uow.leagues.xp_earned(member_ids, week.starts_at, end, excluding=REWARD_REASON)
    return {m: model.as_score(earned.get(m, 0)) for m in member_ids}


def _zones(config: LeagueConfig, tier: int, size: int) -> Zones:
    return model.zones(config.rules(tier), size, cohort_size=config.cohort_size)


def _stored(entries: Sequence[LeagueEntryRow]) -> list[Standing]:
    placed = [
        Standing(e.rank, e.member_id, e.score, Zone(e.zone))
        for e in entries
        if e.rank is not None and e.zone is not None
    ]
    return sorted(placed, key=lambda s: s.rank)


def _movements(entries: Sequence[LeagueEntryRow]) -> tuple[Movement, ...]:
    counts: dict[int, list[int]] = {}
    for e in entries:
        if e.zone is None:
            continue
        slot = {Zone.PROMOTION: 0, Zone.STAY: 1, Zone.DEMOTION: 2}[Zone(e.zone)]
        counts.setdefault(e.tier, [0, 0, 0])[slot] += 1
    return tuple(Movement(tier, *counts[tier]) for tier in sorted(counts))


def _require_week(uow: LeagueUnitOfWork, week_id: int, *, lock: bool = False) -> LeagueWeekRow:
    row = uow.leagues.week(week_id, lock=lock)
    if row is None:
        raise NotFound(f"no league week {week_id}", field="week_id")
    return row


def _config_in_force(uow: LeagueUnitOfWork) -> LeagueConfig:
    row = uow.leagues.settings()
    return model.default_config() if row is None else config_from(row.config)


def _week(uow: LeagueUnitOfWork, row: LeagueWeekRow) -> Week:
    return Week(
        id=row.id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        config=config_from(row.config),
        cohorts=len(uow.leagues.cohorts(row.id)),
        members=len(uow.leagues.entries(row.id)),
        finalized_at=row.finalized_at,
        closed_at=row.closed_at,
    )


def _profile(row: LeagueMemberRow) -> MemberProfile:
    return MemberProfile(member_id=row.member_id, tier=row.tier, time_zone=row.time_zone)


def _payout(row: LeaguePayoutRow) -> Payout:
    return Payout(
        member_id=row.member_id,
        tier=row.tier,
        rank=row.rank,
        points=row.points,
        xp=row.xp,
        award_id=row.award_id,
        paid_at=row.paid_at,
    )


def config_json(config: LeagueConfig) -> dict[str, Any]:
    return {
        "cohort_size": config.cohort_size,
        "basis": config.basis.value,
        "contest_id": config.contest_id,
        "tiers": [
            {
                "tier": t.tier,
                "promote": t.promote,
                "demote": t.demote,
                "rewards": [
                    {"low": b.low, "high": b.high, "points": b.points, "xp": b.xp}
                    for b in t.rewards
                ],
            }
            for t in config.tiers
        ],
    }


def config_from(data: dict[str, Any]) -> LeagueConfig:
    return LeagueConfig(
        cohort_size=int(data["cohort_size"]),
        basis=Basis(data["basis"]),
        contest_id=None if data.get("contest_id") is None else int(data["contest_id"]),
        tiers=tuple(
            TierRules(
                tier=int(t["tier"]),
                promote=int(t["promote"]),
                demote=int(t["demote"]),
                rewards=tuple(
                    RankReward(int(b["low"]), int(b["high"]), int(b["points"]), int(b["xp"]))
                    for b in t["rewards"]
                ),
            )
            for t in data["tiers"]
        ),
    )

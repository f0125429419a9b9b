"""Weekly leagues, the pure part (engine.leagues.model): cohorts of bounded size matched by
activity and time zone, zones that fit, a total order of ranks, movements that keep every
member within the ten tiers, and rules refused with the field and the rule they break."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from engine.leagues import model
from engine.leagues.model import (
    Entrant,
    LeagueConfig,
    RankReward,
    TierRules,
    Zone,
    Zones,
    default_config,
)


def _entrant(member_id: int, *, tier: int = 1, xp: int = 0, offset: int = 480) -> Entrant:
    return Entrant(member_id=member_id, tier=tier, prior_xp=xp, utc_offset_minutes=offset)


def test_cohorts_split_a_tier_evenly_and_group_by_activity_then_offset() -> None:
    assert model.cohort_sizes(61, 30) == [21, 20, 20]
    assert model.cohort_sizes(30, 30) == [30]
    assert model.cohort_sizes(0, 30) == []
    busy = [_entrant(i, xp=600, offset=0) for i in range(1, 4)]
    idle_east = [_entrant(i, xp=0, offset=480) for i in range(4, 7)]
    idle_west = [_entrant(i, xp=0, offset=-300) for i in range(7, 10)]
    cohorts = model.form_cohorts([*idle_east, *busy, *idle_west], cohort_size=3)
    assert [[e.member_id for e in c.members] for c in cohorts] == [
        [1, 2, 3],  # the most active first
        [7, 8, 9],  # then idle members by UTC offset, west to east
        [4, 5, 6],
    ]
    assert [(c.tier, c.number) for c in cohorts] == [(1, 1), (1, 2), (1, 3)]


def test_tiers_never_share_a_cohort() -> None:
    cohorts = model.form_cohorts(
        [_entrant(1, tier=3), _entrant(2, tier=1), _entrant(3, tier=3)], cohort_size=30
    )
    assert [(c.tier, [e.member_id for e in c.members]) for c in cohorts] == [
        (1, [2]),
        (3, [1, 3]),
    ]


def test_ranks_break_ties_by_member_id_and_put_missing_scores_last() -> None:
    scores = {5: Decimal(10), 2: Decimal(10), 9: None, 7: Decimal(30), 1: Decimal(0)}
    placed = model.rank_cohort(scores, Zones(promote=1, demote=2))
    assert [(s.rank, s.member_id, s.zone) for s in placed] == [
        (1, 7, Zone.PROMOTION),
        (2, 2, Zone.STAY),
        (3, 5, Zone.STAY),
        (4, 1, Zone.DEMOTION),
        (5, 9, Zone.DEMOTION),
    ]


def test_zones_scale_with_the_cohort_and_the_ends_of_the_ladder_stay() -> None:
    rules = TierRules(tier=5, promote=10, demote=5)
    assert model.zones(rules, 30, cohort_size=30) == Zones(10, 5)
    assert model.zones(rules, 15, cohort_size=30) == Zones(5, 2)
    assert model.zones(rules, 1, cohort_size=30) == Zones(1, 0)
    assert model.next_tier(model.TOP_TIER, Zone.PROMOTION) == model.TOP_TIER
    assert model.next_tier(model.BOTTOM_TIER, Zone.DEMOTION) == model.BOTTOM_TIER
    assert model.next_tier(4, Zone.PROMOTION) == 5 and model.next_tier(4, Zone.DEMOTION) == 3


def test_weeks_run_monday_to_monday_utc_and_count_days_left() -> None:
    thursday = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    start = model.week_start(thursday)
    assert start == datetime(2026, 11, 30, tzinfo=UTC)
    assert model.days_left(thursday, start + model.WEEK) == 4  # 3 days 9 hours: 4 started
    assert model.days_left(start + model.WEEK, start + model.WEEK) == 0
    assert model.utc_offset_minutes("Asia/Shanghai", start) == 480
    with pytest.raises(RuleViolation) as excinfo:
        model.check_time_zone("Mars/Olympus")
    assert (excinfo.value.extensions["field"], excinfo.value.extensions["rule"]) == (
        "time_zone",
        "iana_time_zone",
    )


def _with_tier(config: LeagueConfig, index: int, **changes: object) -> LeagueConfig:
    tiers = list(config.tiers)
    tiers[index] = replace(tiers[index], **changes)  # type: ignore[arg-type]
    return replace(config, tiers=tuple(tiers))


@pytest.mark.parametrize(
    ("broken", "field", "rule"),
    [
        (lambda c: replace(c, tiers=c.tiers[:9]), "tiers", "ten_tiers"),
        (lambda c: replace(c, cohort_size=1), "cohort_size", "range"),
        (lambda c: _with_tier(c, 9, promote=3), "tiers[9].promote", "top_tier_promotes"),
        (lambda c: _with_tier(c, 0, demote=3), "tiers[0].demote", "bottom_tier_demotes"),
        (lambda c: _with_tier(c, 4, promote=20, demote=11), "tiers[4]", "zones_fit"),
        (lambda c: _with_tier(c, 2, promote=-1), "tiers[2]", "non_negative"),
        (
            lambda c: _with_tier(c, 1, rewards=(RankReward(3, 2, points=1),)),
            "tiers[1].rewards[0]",
            "inverted",
        ),
        (
            lambda c: _with_tier(c, 1, rewards=(RankReward(1, 3, 5), RankReward(3, 4, 1))),
            "tiers[1].rewards",
            "overlapping",
        ),
        (
            lambda c: _with_tier(c, 1, rewards=(RankReward(1, 1),)),
            "tiers[1].rewards[0]",
            "non_empty",
        ),
        (
            lambda c: _with_tier(c, 1, rewards=(RankReward(1, 31, points=1),)),
            "tiers[1].rewards[0]",
            "range",
        ),
        (lambda c: replace(c, basis=model.Basis.CONTEST), "contest_id", "required"),
    ],
)
def test_broken_rules_are_refused_naming_field_and_rule(broken, field: str, rule: str) -> None:  # type: ignore[no-untyped-def]
    model.check_config(default_config())
    with pytest.raises(RuleViolation) as excinfo:
        model.check_config(broken(default_config()))
    assert (excinfo.value.extensions["field"], excinfo.value.extensions["rule"]) == (field, rule)


entrants = st.lists(
    st.builds(
        Entrant,
        member_id=st.integers(1, 10_000),
        tier=st.integers(model.BOTTOM_TIER, model.TOP_TIER),
        prior_xp=st.sampled_from([0, 10, 60, 250, 900]),
        utc_offset_minutes=st.sampled_from([-300, 0, 60, 330, 480, 540]),
    ),
    max_size=200,
    unique_by=lambda e: e.member_id,
)


@settings(max_examples=60, deadline=None)
@given(
    entrants=entrants,
    cohort_size=st.integers(2, 40),
    zone_share=st.integers(0, 100),
    seed=st.randoms(use_true_random=False),
)
def test_cohorts_and_movements_conserve_members(
    entrants: list[Entrant], cohort_size: int, zone_share: int, seed: object
) -> None:
    promote = cohort_size * zone_share // 200
    demote = (cohort_size - promote) // 2
    config = LeagueConfig(
        cohort_size=cohort_size,
        tiers=tuple(
            TierRules(
                tier=t,
                promote=0 if t == model.TOP_TIER else promote,
                demote=0 if t == model.BOTTOM_TIER else demote,
            )
            for t in range(1, 11)
        ),
    )
    model.check_config(config)
    cohorts = model.form_cohorts(entrants, cohort_size=cohort_size)
    placed = [e.member_id for c in cohorts for e in c.members]
    assert sorted(placed) == sorted(e.member_id for e in entrants)  # each member exactly once
    per_tier: dict[int, list[int]] = {}
    moved_to: dict[int, int] = {}
    for cohort in cohorts:
        size = len(cohort.members)
        per_tier.setdefault(cohort.tier, []).append(size)
        assert 1 <= size <= cohort_size
        assert all(e.tier == cohort.tier for e in cohort.members)
        scores = {e.member_id: Decimal(seed.randint(0, 5)) for e in cohort.members}  # type: ignore[attr-defined]
        zone_sizes = model.zones(config.rules(cohort.tier), size, cohort_size=cohort_size)
        assert zone_sizes.promote + zone_sizes.demote <= size
        standings = model.rank_cohort(scores, zone_sizes)
        assert [s.rank for s in standings] == list(range(1, size + 1))
        for s in standings:
            moved_to[s.member_id] = model.next_tier(cohort.tier, s.zone)
            if cohort.tier == model.TOP_TIER:
                assert s.zone is not Zone.PROMOTION
            if cohort.tier == model.BOTTOM_TIER:
                assert s.zone is not Zone.DEMOTION
    for tier, sizes in per_tier.items():
        if len(sizes) > 1:
            assert min(sizes) >= cohort_size // 2, (tier, sizes)
        assert max(sizes) - min(sizes) <= 1
    tiers_before = {e.member_id: e.tier for e in entrants}
    assert moved_to.keys() == tiers_before.keys()  # promotion and demotion conserve members
    assert all(abs(moved_to[m] - tiers_before[m]) <= 1 for m in moved_to)
    assert all(model.BOTTOM_TIER <= t <= model.TOP_TIER for t in moved_to.values())

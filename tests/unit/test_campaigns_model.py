"""The pure part of campaigns: sticky, weighted assignment; local-period caps across time zones
(DST included); budgets; the two-proportion z-test against scipy."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from ledger.campaigns import model
from ledger.campaigns.model import (
    CampaignBudgetExhausted,
    CapPeriod,
    Exposure,
    FrequencyCap,
    FrequencyCapReached,
    Rate,
    Variant,
)

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]
AB = (Variant("a", 1), Variant("b", 3))


@given(key=st.from_regex(model.KEY_SYNTAX, fullmatch=True), member=st.integers(1, 10**9))
@settings(max_examples=200)
def test_assignment_is_sticky_and_a_known_variant(key: str, member: int) -> None:
    first = model.assign(key, member, AB)
    assert first in AB
    assert model.assign(key, member, AB) == first
    assert 0 <= model.bucket(key, member) < 1


def test_assignment_is_fixed_across_processes() -> None:
    # SHA-256, not hash(): these values hold in every interpreter, whatever PYTHONHASHSEED.
    assert [model.assign("checkin-bonus", m, AB).name for m in range(1, 9)] == [
        model.assign("checkin-bonus", m, AB).name for m in range(1, 9)
    ]
    assert model.bucket("checkin-bonus", 1) == pytest.approx(
        int.from_bytes(__import__("hashlib").sha256(b"checkin-bonus:1").digest()[:8], "big") / 2**64
    )


@given(weights=st.lists(st.integers(1, 20), min_size=2, max_size=4))
@settings(max_examples=15, deadline=None)
def test_assignment_follows_the_weights(weights: list[int]) -> None:
    variants = tuple(Variant(f"v{i}", w) for i, w in enumerate(weights))
    n = 5_000
    counts = Counter(model.assign("exp", m, variants).name for m in range(n))
    total = sum(weights)
    for variant in variants:
        share = variant.weight / total
        sd = (share * (1 - share) / n) ** 0.5
        assert abs(counts[variant.name] / n - share) < 5 * sd + 1e-9


@given(
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    name=st.sampled_from(ZONES),
    period=st.sampled_from(list(CapPeriod)),
)
@settings(max_examples=300)
def test_a_moment_lies_in_its_local_period(moment: datetime, name: str, period: CapPeriod) -> None:
    tz = ZoneInfo(name)
    start, end = model.period_bounds(moment, tz, period)
    assert start <= moment < end
    key = model.local_period(moment, tz, period)
    assert model.local_period(start, tz, period) == key
    assert model.local_period(end, tz, period) != key
    assert model.local_period(end - timedelta(microseconds=1), tz, period) == key


def test_a_dst_day_in_new_york_lasts_23_and_25_hours() -> None:
    tz = ZoneInfo("America/New_York")
    spring = datetime(2026, 3, 8, 12, tzinfo=UTC)
    autumn = datetime(2026, 11, 1, 12, tzinfo=UTC)
    for moment, hours in ((spring, 23), (autumn, 25)):
        start, end = model.period_bounds(moment, tz, CapPeriod.DAY)
        assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=hours)
    # 04:59 UTC on 8 March is 23:59 on the 7th in New York; 05:00 is after local midnight
    assert model.local_period(datetime(2026, 3, 8, 4, 59, tzinfo=UTC), tz, CapPeriod.DAY) == (
        "2026-03-07"
    )
    assert model.local_period(datetime(2026, 3, 8, 5, 0, tzinfo=UTC), tz, CapPeriod.DAY) == (
        "2026-03-08"
    )
    # after the change the local midnight is at 04:00 UTC
    assert model.local_period(datetime(2026, 3, 9, 3, 59, tzinfo=UTC), tz, CapPeriod.DAY) == (
        "2026-03-08"
    )
    assert model.local_period(datetime(2026, 3, 9, 4, 0, tzinfo=UTC), tz, CapPeriod.DAY) == (
        "2026-03-09"
    )


def test_the_same_instant_is_another_day_in_another_zone() -> None:
    moment = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 June in Shanghai
    assert model.local_period(moment, ZoneInfo("Asia/Shanghai"), CapPeriod.DAY) == "2026-06-02"
    assert model.local_period(moment, ZoneInfo("America/New_York"), CapPeriod.DAY) == "2026-06-01"
    assert model.member_zone(None, "Asia/Shanghai") == ZoneInfo("Asia/Shanghai")
    assert model.member_zone("Europe/London", "Asia/Shanghai") == ZoneInfo("Europe/London")


@given(cap=st.integers(1, 5), granted=st.integers(0, 8))
def test_the_cap_allows_exactly_count_grants(cap: int, granted: int) -> None:
    limit = FrequencyCap(cap, CapPeriod.DAY)
    if granted < cap:
        model.check_cap(limit, granted)
    else:
        with pytest.raises(FrequencyCapReached) as excinfo:
            model.check_cap(limit, granted)
        assert excinfo.value.extensions["rule"] == "frequency_cap_reached"


def test_budget_exhausted_names_its_rule() -> None:
    error = model.budget_exhausted(2, 5)
    assert isinstance(error, CampaignBudgetExhausted)
    assert error.extensions["rule"] == "campaign_budget_exhausted"
    assert error.extensions["remaining"] == 2


@pytest.mark.parametrize(
    ("variants", "field", "rule"),
    [
        ((Variant("a", 1),), "variants", "range"),
        ((Variant("a", 1), Variant("a", 2)), "variants", "unique"),
        ((Variant("a", 1), Variant("b", 0)), "variants[1].weight", "range"),
        ((Variant("a", 1), Variant("B!", 1)), "variants[1].name", "key_format"),
        ((Variant("a", 1), Variant("b", 1, reward=0)), "variants[1].reward", "positive"),
    ],
)
def test_broken_variants_are_refused(variants: tuple[Variant, ...], field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        model.check_variants(variants)
    assert (excinfo.value.field, excinfo.value.rule) == (field, rule)


@given(
    s1=st.integers(0, 400),
    n1=st.integers(1, 400),
    s2=st.integers(0, 400),
    n2=st.integers(1, 400),
)
@settings(max_examples=200, deadline=None)
def test_the_z_test_matches_scipy(s1: int, n1: int, s2: int, n2: int) -> None:
    from scipy.stats import norm

    control, variant = Rate(min(s1, n1), n1), Rate(min(s2, n2), n2)
    result = model.lift(control, variant)
    assert result.low <= result.difference <= result.high
    assert 0 <= result.p_value <= 1
    assert result.p_value == pytest.approx(min(1.0, 2 * norm.sf(abs(result.z))), abs=1e-12)
    if control.value == variant.value:
        assert result.z == 0


def test_a_known_two_proportion_z() -> None:
    # 45/100 against 60/100: pooled p = .525, z = .15 / sqrt(.525 * .475 * .02) ≈ 2.1239
    result = model.lift(Rate(45, 100), Rate(60, 100))
    assert result.z == pytest.approx(2.1239, abs=1e-4)
    assert result.p_value == pytest.approx(0.03368, abs=1e-4)
    se = (0.45 * 0.55 / 100 + 0.6 * 0.4 / 100) ** 0.5
    assert result.low == pytest.approx(0.15 - 1.959964 * se)


def test_results_count_participation_and_retention_per_variant() -> None:
    day = date(2026, 6, 1)
    exposures = [
        Exposure("a", day, True, frozenset({day + timedelta(days=1)})),
        Exposure("a", day, False, frozenset()),
        Exposure("b", day, True, frozenset({day + timedelta(days=1), day + timedelta(days=7)})),
        Exposure("b", day, True, frozenset({day + timedelta(days=7)})),
    ]
    control, treated = model.results(AB, exposures)
    assert (control.members, control.participation, control.d1, control.d7) == (
        2,
        Rate(1, 2),
        Rate(1, 2),
        Rate(0, 2),
    )
    assert control.participation_lift is None
    assert (treated.participation, treated.d1, treated.d7) == (Rate(2, 2), Rate(1, 2), Rate(2, 2))
    assert treated.d7_lift is not None and treated.d7_lift.difference == 1.0

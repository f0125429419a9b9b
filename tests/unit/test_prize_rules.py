"""Prize rules as pure functions: the draw-prize cap, no paid entry beside prizes, the
disclosures a prized contest must publish, the draw itself, and the official-rules document."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from core.rule_codes import Rule
from engine.contests.model import Contest, ContestState
from engine.contests.official_rules import LANGUAGES, official_rules
from engine.contests.prize_rules import (
    DISCLOSURE_TEXTS,
    Disclosures,
    DrawPrize,
    PrizeLimits,
    check_disclosures,
    check_draw_cap,
    check_no_paid_entry,
    draw_commitment,
    draw_ticket,
    draw_winners,
    draws_from_json,
    new_draw_seed,
)
from engine.contests.prize_table import RankRange
from engine.contests.spec import MetricSpec, PrizeLine, Qualification
from tests.contest_builders import DISCLOSURES

TRADING_END = date(2024, 1, 26)
money = st.decimals(min_value=0, max_value=200_000, places=2, allow_nan=False)
points = st.integers(min_value=0, max_value=20_000_000)
draw_prize = st.builds(
    DrawPrize,
    winners=st.integers(1, 5),
    cash_value=money,
    min_trades=st.integers(0, 5),
    points=points,
    xp=st.integers(0, 100),
    item_key=st.none(),
)
limits = st.builds(
    PrizeLimits,
    draw_caps_cny=st.dictionaries(st.sampled_from(["CN", "US"]), money, max_size=2),
    points_cny_rate=st.decimals(min_value=0, max_value=1, places=4, allow_nan=False),
)


# --- the cap -----------------------------------------------------------------------------------


@given(st.lists(draw_prize, max_size=4), st.sampled_from(["CN", "US"]), limits)
def test_a_draw_is_accepted_exactly_when_every_prize_is_within_the_markets_cap(
    draws: list[DrawPrize], market: str, limit: PrizeLimits
) -> None:
    cap = limit.cap_for(market)
    values = [max(d.cash_value, d.points * limit.points_cny_rate) for d in draws]
    within = cap is None or all(v <= cap for v in values)
    try:
        check_draw_cap(draws, market, limit)
    except RuleViolation as refused:
        assert not within
        first = next(i for i, v in enumerate(values) if cap is not None and v > cap)
        assert (refused.field, refused.rule) == (f"draws[{first}].cash_value", "draw_prize_cap")
    else:
        assert within


def test_a_points_prize_cannot_be_understated_and_cn_defaults_to_fifty_thousand() -> None:
    defaults = PrizeLimits()
    assert defaults.cap_for("CN") == Decimal(50_000) and defaults.cap_for("US") is None
    understated = DrawPrize(winners=1, cash_value=Decimal(1), points=6_000_000)  # ¥60,000
    with pytest.raises(RuleViolation) as refused:
        check_draw_cap([understated], "CN", defaults)
    assert refused.value.rule == Rule.DRAW_PRIZE_CAP
    check_draw_cap([replace(understated, points=5_000_000)], "CN", defaults)  # exactly ¥50,000
    check_draw_cap([understated], "US", defaults)


@pytest.mark.parametrize(
    ("line", "field", "rule"),
    [
        ({"winners": 1, "points": 5}, "draws[0].cash_value", "required"),
        ({"winners": 0, "cash_value": "1", "points": 5}, "draws[0].winners", "minimum"),
        ({"winners": 1, "cash_value": "-1", "points": 5}, "draws[0].cash_value", "non_negative"),
        ({"winners": 1, "cash_value": "1"}, "draws[0]", "non_empty"),
    ],
)
def test_bad_draw_lines_are_refused_under_their_path(line: dict, field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        draws_from_json([line])
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_draw_lines_round_trip_through_json() -> None:
    line = DrawPrize(winners=3, cash_value=Decimal("88.00"), min_trades=2, points=500, xp=5)
    assert draws_from_json([line.to_json()]) == [line]


# --- paid entry --------------------------------------------------------------------------------


@given(st.booleans(), st.integers(0, 10**6))
def test_an_entry_fee_is_refused_exactly_beside_prizes(has_prizes: bool, fee: int) -> None:
    try:
        check_no_paid_entry(has_prizes=has_prizes, entry_fee_points=fee)
    except RuleViolation as refused:
        assert has_prizes and fee > 0
        assert (refused.field, refused.rule) == ("entry_fee_points", "paid_entry_with_prizes")
    else:
        assert not (has_prizes and fee > 0)


# --- disclosures -------------------------------------------------------------------------------

OPTIONAL = ("award_date", "draw_date", "terms_url", "terms_text")


@given(
    st.sets(st.sampled_from((*DISCLOSURE_TEXTS, *OPTIONAL))),
    st.booleans(),
)
def test_every_missing_disclosure_is_named(blanked: set[str], has_draws: bool) -> None:
    blank = {name: (None if name.endswith("_date") else "  ") for name in blanked}
    disclosures = replace(DISCLOSURES, **blank)
    expected = [name for name in DISCLOSURE_TEXTS if name in blanked]
    expected += ["award_date"] if "award_date" in blanked else []
    expected += ["draw_date"] if has_draws and "draw_date" in blanked else []
    expected += ["terms"] if "terms_url" in blanked else []  # DISCLOSURES has no terms_text
    expected = [f"disclosures.{name}" for name in expected]
    assert disclosures.missing(has_draws=has_draws) == expected
    try:
        check_disclosures(disclosures, has_draws=has_draws, trading_end=TRADING_END, action="opens")
    except RuleViolation as refused:
        assert expected and refused.rule == "disclosure_required"
        listed = refused.extensions["errors"]
        assert [e["field"] for e in listed] == expected
        assert {e["rule"] for e in listed} == {"disclosure_required"}
    else:
        assert expected == []


def test_award_and_draw_dates_come_after_trading() -> None:
    early = replace(DISCLOSURES, draw_date=date(2024, 1, 25))
    with pytest.raises(RuleViolation) as refused:
        check_disclosures(early, has_draws=True, trading_end=TRADING_END, action="opens")
    assert (refused.value.field, refused.value.rule) == (
        "disclosures.draw_date",
        "after_trading_end",
    )


def test_disclosures_round_trip_and_refuse_bad_dates() -> None:
    assert Disclosures.from_json(DISCLOSURES.to_json()) == DISCLOSURES
    with pytest.raises(RuleViolation) as refused:
        Disclosures.from_json({"award_date": "31/01/2030"})
    assert (refused.value.field, refused.value.rule) == ("disclosures.award_date", "date")


# --- the draw ----------------------------------------------------------------------------------

field_of_entrants = st.dictionaries(st.integers(1, 10_000), st.integers(0, 6), max_size=40)
seeds = st.text("0123456789abcdef", min_size=64, max_size=64)


@given(seeds, field_of_entrants, st.lists(draw_prize, min_size=1, max_size=3))
def test_the_draw_is_deterministic_fair_to_the_rules_and_never_pays_twice(
    seed: str, trades: dict[int, int], draws: list[DrawPrize]
) -> None:
    wins = draw_winners(seed, 7, draws, trades=trades)
    shuffled = dict(reversed(list(trades.items())))
    assert draw_winners(seed, 7, draws, trades=shuffled) == wins  # order of the field is moot
    members = [w.member_id for w in wins]
    assert len(members) == len(set(members))  # nobody wins twice
    taken: set[int] = set()
    for line, prize in enumerate(draws):
        won = [w for w in wins if w.line == line]
        eligible = {m for m, n in trades.items() if n >= prize.min_trades} - taken
        assert {w.member_id for w in won} <= eligible
        assert len(won) == min(prize.winners, len(eligible))
        assert [w.order for w in won] == list(range(1, len(won) + 1))
        losers = eligible - {w.member_id for w in won}
        worst = max((draw_ticket(seed, 7, line, w.member_id) for w in won), default=None)
        assert worst is None or all(draw_ticket(seed, 7, line, m) > worst for m in losers)
        taken |= {w.member_id for w in won}


def test_the_seed_commitment_is_its_sha256_and_seeds_differ() -> None:
    seed = new_draw_seed()
    assert len(seed) == 64 and seed != new_draw_seed()
    assert draw_commitment(seed) == hashlib.sha256(seed.encode()).hexdigest()
    field = dict.fromkeys(range(1, 200), 1)
    prize = [DrawPrize(winners=5, cash_value=Decimal(1), points=1)]
    assert draw_winners("a" * 64, 1, prize, trades=field) != draw_winners(
        "b" * 64, 1, prize, trades=field
    )


# --- the official rules ------------------------------------------------------------------------


def contest(**changes: object) -> Contest:
    base = Contest(
        id=12,
        season_id=1,
        title="新春杯",
        description="",
        market="CN",
        universe=("600000",),
        starting_cash=Decimal(1_000_000),
        rule_overrides={},
        registration_opens_at=datetime(2024, 1, 1, tzinfo=UTC),
        registration_closes_at=None,
        trading_start=date(2024, 1, 2),
        trading_end=TRADING_END,
        capacity=100,
        min_level=2,
        private=False,
        invite_code=None,
        metric=MetricSpec(),
        secondary_metric=None,
        qualification=Qualification(min_trades=3),
        prizes=(PrizeLine(RankRange(1, 3), points=1000),),
        teams=None,
        pk=None,
        clock_day=None,
        clock_ticks=0,
        state=ContestState.REGISTRATION,
        entries=0,
        settled_at=None,
        draws=(DrawPrize(winners=2, cash_value=Decimal(88), min_trades=5, points=800),),
        disclosures=DISCLOSURES,
        draw_commitment="c" * 64,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_official_rules_say_everything_in_both_languages() -> None:
    documents = [official_rules(contest(), language=lang) for lang in LANGUAGES]
    keys = [[s.key for s in d.sections] for d in documents]
    assert (
        keys[0]
        == keys[1]
        == [
            "organiser",
            "eligibility",
            "dates",
            "how_to_win",
            "prizes",
            "draw",
            "notification",
            "terms",
            "compliance",
        ]
    )
    zh, en = (d.to_markdown() for d in documents)
    for text in (zh, en):
        assert DISCLOSURES.organiser in text and DISCLOSURES.winner_notification in text
        assert "c" * 64 in text and "https://example.com/terms" in text and "2030-01-31" in text
    assert "免费参加" in zh and "第 1–3 名" in zh and "¥50,000" in zh
    assert "Free entry" in en and "ranks 1–3" in en and "2 winner(s)" in en
    assert zh.startswith("# 新春杯 官方规则\n") and en.count("\n## ") == 9


def test_the_official_rules_are_a_function_of_the_settings() -> None:
    assert official_rules(contest()) == official_rules(contest())
    plain = official_rules(contest(draws=(), prizes=()), language="en")
    assert "draw" not in [s.key for s in plain.sections]
    assert "This contest has no prizes." in plain.to_markdown()
    revealed = official_rules(contest(draw_seed="d" * 64), language="en").to_markdown()
    assert "Draw seed: " + "d" * 64 in revealed
    with pytest.raises(ValueError):
        official_rules(contest(), language="fr")  # type: ignore[arg-type]

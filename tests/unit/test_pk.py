"""PK core: Swiss pairing, judging, openskill ratings, standings (engine/pk.py)."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openskill.models import PlackettLuce

from engine.contests.pk import (
    BYE_POINTS,
    Outcome,
    Pairing,
    PkResult,
    Rematch,
    TeamRating,
    history_of,
    judge,
    new_rating,
    rating_order,
    standings,
    update_ratings,
)
from engine.contests.pk_pairing import _maximum_matching, swiss_pairings

D = Decimal
BAND = D("0.001")


# ------------------------------------------------------------------------------------ helpers


def edge(a: int, b: int | None) -> Rematch:
    assert b is not None
    return frozenset((a, b))


def rematches(pairings: list[Pairing], history: set[Rematch]) -> int:
    return sum(edge(p.team_a, p.team_b) in history for p in pairings if not p.is_bye)


def check_round(pairings: list[Pairing], teams: list[TeamRating]) -> None:
    """Every team exactly once; a bye exactly when the count is odd."""
    seen = [p.team_a for p in pairings] + [p.team_b for p in pairings if p.team_b is not None]
    assert sorted(seen) == sorted(t.team_id for t in teams)
    assert sum(p.is_bye for p in pairings) == len(teams) % 2
    assert all(p.is_bye for p in pairings[len(teams) // 2 :])  # the bye comes last


def perfect_matchings(vertices: list[int]) -> Iterator[list[tuple[int, int]]]:
    if not vertices:
        yield []
        return
    head, rest = vertices[0], vertices[1:]
    for partner in rest:
        remaining = [v for v in rest if v != partner]
        for tail in perfect_matchings(remaining):
            yield [(head, partner), *tail]


def fewest_rematches(ids: list[int], history: set[Rematch], byes_had: set[int]) -> int:
    """Brute force: the fewest rematches of any pairing that gives the bye to an eligible team."""
    eligible = [t for t in ids if t not in byes_had] or ids
    byes: list[int | None] = list(eligible) if len(ids) % 2 else [None]
    return min(
        sum(edge(a, b) in history for a, b in matching)
        for bye in byes
        for matching in perfect_matchings([t for t in ids if t != bye])
    )


def play(
    n: int,
    rounds: int,
    seed: int,
    *,
    rounds_total: int | None,
    history: set[Rematch] | None = None,
    first_round: int = 1,
) -> tuple[list[list[Pairing]], dict[int, TeamRating], list[PkResult], set[Rematch], int]:
    """Play ``rounds`` rounds with random team returns; the rematch count across them."""
    rng = random.Random(seed)
    ratings = {t: new_rating(t) for t in range(1, n + 1)}
    history = set(history or ())
    byes_had: set[int] = set()
    rounds_played, results, repeat = [], [], 0
    for round_no in range(first_round, first_round + rounds):
        pairings = swiss_pairings(
            round_no, list(ratings.values()), history, byes_had, rounds_total=rounds_total
        )
        check_round(pairings, list(ratings.values()))
        repeat += rematches(pairings, history)
        round_results = []
        for pairing in pairings:
            if pairing.team_b is None:
                byes_had.add(pairing.team_a)
                round_results.append(judge(pairing, None, None, draw_band=BAND))
            else:
                history.add(edge(pairing.team_a, pairing.team_b))
                a, b = (D(rng.randint(-500, 500)) / 10_000 for _ in range(2))
                round_results.append(judge(pairing, a, b, draw_band=BAND))
        ratings = update_ratings(ratings, round_results)
        rounds_played.append(pairings)
        results += round_results
    return rounds_played, ratings, results, history, repeat


ratings_strategy = st.lists(
    st.tuples(st.floats(0, 50), st.floats(0.5, 9)), min_size=0, max_size=9
).map(lambda rows: [TeamRating(i + 1, mu, sigma) for i, (mu, sigma) in enumerate(rows)])


# ------------------------------------------------------------------------------------ pairing


@settings(max_examples=300, deadline=None)
@given(teams=ratings_strategy, data=st.data())
def test_pairing_is_valid_minimal_and_fair_with_byes(
    teams: list[TeamRating], data: st.DataObject
) -> None:
    ids = [t.team_id for t in teams]
    all_pairs = [edge(a, b) for a, b in itertools.combinations(ids, 2)]
    history = set(data.draw(st.lists(st.sampled_from(all_pairs))) if all_pairs else [])
    byes_had = set(data.draw(st.lists(st.sampled_from(ids))) if ids else [])
    pairings = swiss_pairings(3, teams, history, byes_had)

    check_round(pairings, teams)
    assert all(p.round_no == 3 for p in pairings)
    for bye in (p.team_a for p in pairings if p.is_bye):
        # never a second bye while some team has had none
        assert bye not in byes_had or byes_had >= set(ids)
    if teams:
        assert rematches(pairings, history) == fewest_rematches(ids, history, byes_had)
    rank = {t.team_id: position for position, t in enumerate(sorted(teams, key=rating_order))}
    assert all(rank[p.team_a] < rank[p.team_b] for p in pairings if p.team_b is not None)


@settings(max_examples=100, deadline=None)
@given(teams=ratings_strategy, seed=st.integers(0, 10**6), rounds_total=st.none() | st.just(8))
def test_pairing_is_deterministic_whatever_the_input_order(
    teams: list[TeamRating], seed: int, rounds_total: int | None
) -> None:
    rng = random.Random(seed)
    ids = [t.team_id for t in teams]
    history = {edge(a, b) for a, b in itertools.combinations(ids, 2) if rng.random() < 0.3}
    byes_had = {t for t in ids if rng.random() < 0.3}
    first = swiss_pairings(4, teams, history, byes_had, rounds_total=rounds_total)
    shuffled = rng.sample(teams, len(teams))
    again = swiss_pairings(4, shuffled, set(history), set(byes_had), rounds_total=rounds_total)
    assert again == first


def ranked(n: int) -> list[TeamRating]:
    """Teams 1..n with team 1 the best rated."""
    return [TeamRating(t, 40.0 - t, 2.0) for t in range(1, n + 1)]


def boards(pairings: list[Pairing]) -> list[tuple[int, int | None]]:
    return [(p.team_a, p.team_b) for p in pairings]


def test_neighbours_by_rating_are_paired_top_board_first() -> None:
    teams = list(reversed(ranked(6)))
    assert boards(swiss_pairings(1, teams, set(), set())) == [(1, 2), (3, 4), (5, 6)]


def test_order_is_ordinal_then_mu_then_team_id() -> None:
    teams = [
        TeamRating(5, 30.0, 5.0),  # ordinal 15
        TeamRating(9, 21.0, 2.0),  # ordinal 15, lower mu
        TeamRating(2, 21.0, 2.0),  # same rating, lower id first
        TeamRating(7, 25.0, 1.0),  # ordinal 22
    ]
    assert [t.team_id for t in sorted(teams, key=rating_order)] == [7, 5, 2, 9]
    assert boards(swiss_pairings(1, teams, set(), set())) == [(7, 5), (2, 9)]


def test_a_rematch_moves_the_partner_down_one() -> None:
    history = {edge(1, 2)}
    assert boards(swiss_pairings(2, ranked(6), history, set())) == [(1, 3), (2, 4), (5, 6)]


def test_bye_goes_to_the_lowest_rated_team_without_one() -> None:
    assert boards(swiss_pairings(1, ranked(5), set(), set())) == [(1, 2), (3, 4), (5, None)]
    assert boards(swiss_pairings(2, ranked(5), set(), {5})) == [(1, 2), (3, 5), (4, None)]
    # once every team has had a bye the lowest rated gets the next
    everyone = set(range(1, 6))
    assert boards(swiss_pairings(6, ranked(5), set(), everyone))[-1] == (5, None)


def test_avoiding_a_rematch_outranks_giving_the_bye_to_the_lowest() -> None:
    # Bye to 3 would force 1 v 2 again; bye to 2 leaves 1 v 3, a new pair.
    pairings = swiss_pairings(2, ranked(3), {edge(1, 2)}, set())
    assert boards(pairings) == [(1, 3), (2, None)]


def test_when_rematches_are_unavoidable_the_fewest_are_used() -> None:
    # 10 teams whose 5 rounds all crossed the halves {1..5} v {6..10}: 25 pairs played, and the
    # unplayed pairs form two odd groups of 5, so round 6 needs exactly one rematch.
    history = {edge(a, b) for a in range(1, 6) for b in range(6, 11)}
    pairings = swiss_pairings(6, ranked(10), history, set())
    check_round(pairings, ranked(10))
    assert rematches(pairings, history) == 1
    # After a full round robin every pair is a rematch and the pairing still works.
    everything = {edge(a, b) for a, b in itertools.combinations(range(1, 5), 2)}
    assert boards(swiss_pairings(4, ranked(4), everything, set())) == [(1, 2), (3, 4)]


def test_trivial_fields() -> None:
    assert swiss_pairings(1, [], set(), set()) == []
    assert boards(swiss_pairings(1, ranked(1), set(), set())) == [(1, None)]
    assert boards(swiss_pairings(1, ranked(2), set(), set(), rounds_total=1)) == [(1, 2)]


def test_history_outside_the_field_is_ignored() -> None:
    history = {edge(1, 99), frozenset({1}), edge(98, 99)}
    assert boards(swiss_pairings(1, ranked(2), history, {99})) == [(1, 2)]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="round_no"):
        swiss_pairings(0, ranked(2), set(), set())
    with pytest.raises(ValueError, match="twice"):
        swiss_pairings(1, [*ranked(2), TeamRating(1, 1.0, 1.0)], set(), set())


@pytest.mark.parametrize("n", range(2, 17))
def test_a_full_round_robin_has_no_rematch_with_the_look_ahead(n: int) -> None:
    rounds = n if n % 2 else n - 1  # odd: every team sits out once
    for seed in range(3):
        schedule, _, results, history, repeat = play(n, rounds, seed, rounds_total=rounds)
        assert repeat == 0
        assert len(history) == n * (n - 1) // 2  # every pair met, each once
        byes = Counter(p.team_a for pairings in schedule for p in pairings if p.is_bye)
        assert byes == (Counter(range(1, n + 1)) if n % 2 else Counter())


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**9), n=st.sampled_from([7, 8, 9]))
def test_eight_teams_seven_rounds_never_rematch(seed: int, n: int) -> None:
    rounds = n if n % 2 else n - 1
    assert play(n, rounds, seed, rounds_total=rounds)[-1] == 0


# Four rounds after which pairing round 5 by neighbours alone corners rounds 6 and 7.
CORNERING_HISTORY = {
    edge(a, b)
    for a, b in [(1, 3), (1, 6), (1, 7), (1, 8), (2, 3), (2, 4), (2, 5), (2, 8)]
    + [(3, 4), (3, 7), (4, 6), (4, 7), (5, 6), (5, 7), (5, 8), (6, 8)]
}


def test_the_look_ahead_is_what_saves_the_last_rounds() -> None:
    greedy = play(8, 3, 0, rounds_total=None, history=CORNERING_HISTORY, first_round=5)
    assert greedy[-1] > 0
    planned = play(8, 3, 0, rounds_total=7, history=CORNERING_HISTORY, first_round=5)
    assert planned[-1] == 0
    # A season longer than a round robin plans the rematch-free rounds that remain possible.
    longer = play(8, 3, 0, rounds_total=12, history=CORNERING_HISTORY, first_round=5)
    assert longer[-1] == 0


def test_the_look_ahead_gives_way_when_no_schedule_can_avoid_rematches() -> None:
    # The unplayed pairs of 10 teams form a Petersen graph, which has perfect matchings but
    # cannot be split into 3 of them: round 10 is still rematch-free, the rest cannot all be.
    outer = [(i, i % 5 + 1) for i in range(1, 6)]
    spokes = [(i, i + 5) for i in range(1, 6)]
    inner = [(5 + i, 5 + (i + 1) % 5 + 1) for i in range(1, 6)]
    unplayed = {edge(a, b) for a, b in outer + spokes + inner}
    history = {edge(a, b) for a, b in itertools.combinations(range(1, 11), 2)} - unplayed
    pairings = swiss_pairings(7, ranked(10), history, set(), rounds_total=9)
    check_round(pairings, ranked(10))
    assert rematches(pairings, history) == 0
    assert pairings == swiss_pairings(7, ranked(10), history, set())  # plain Swiss order


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**9))
def test_simulated_season_ten_teams_six_rounds_no_rematch(seed: int) -> None:
    schedule, ratings, results, history, repeat = play(10, 6, seed, rounds_total=6)
    assert repeat == 0
    assert len(history) == 30
    table = standings(results, ratings)
    assert sorted(s.team_id for s in table) == list(range(1, 11))
    assert all(s.played == 6 and s.byes == 0 for s in table)
    assert sum(s.wins for s in table) == sum(s.losses for s in table)
    assert sum(s.points for s in table) == sum(
        2 if r.outcome is Outcome.DRAW else 3 for r in results
    )


def test_history_of_past_pairings() -> None:
    past = [Pairing(1, 1, 2), Pairing(1, 3, None), Pairing(2, 3, 1), Pairing(2, 2, None)]
    assert history_of(past) == ({edge(1, 2), edge(1, 3)}, {2, 3})


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(0, 10),
    edges=st.sets(st.tuples(st.integers(0, 9), st.integers(0, 9))),
)
def test_blossom_matching_is_maximum(size: int, edges: set[tuple[int, int]]) -> None:
    pairs = {(a, b) for a, b in edges if a < b < size}
    graph = {
        v: {u for a, b in pairs for u in (a, b) if v in (a, b) and u != v} for v in range(size)
    }
    mate = _maximum_matching(list(range(size)), graph)
    assert all(mate[mate[v]] == v and mate[v] in graph[v] for v in mate)
    best = max(
        len(chosen)
        for k in range(size // 2 + 1)
        for chosen in itertools.combinations(sorted(pairs), k)
        if len({v for pair in chosen for v in pair}) == 2 * k
    )
    assert len(mate) // 2 == best


# ------------------------------------------------------------------------------------ judging


def test_draw_band_is_inclusive_and_decimal_exact() -> None:
    board = Pairing(1, 1, 2)
    assert judge(board, D("0.0110"), D("0.0100"), draw_band=BAND).outcome is Outcome.DRAW
    assert judge(board, D("0.01101"), D("0.0100"), draw_band=BAND).outcome is Outcome.WIN_A
    assert judge(board, D("-0.02"), D("-0.0189"), draw_band=BAND).outcome is Outcome.WIN_B
    assert judge(board, 0.011, 0.010, draw_band=0.001).outcome is Outcome.DRAW  # floats by str
    assert judge(board, D("0.0101"), D("0.01"), draw_band=0).outcome is Outcome.WIN_A
    result = judge(board, 0.05, D("0.01"), draw_band=BAND)
    assert (result.a_return, result.b_return) == (D("0.05"), D("0.01"))


@given(
    a=st.decimals(-1, 1, places=6),
    b=st.decimals(-1, 1, places=6),
    band=st.decimals(0, D("0.01"), places=4),
)
def test_judging_is_symmetric(a: Decimal, b: Decimal, band: Decimal) -> None:
    there = judge(Pairing(1, 1, 2), a, b, draw_band=band).outcome
    back = judge(Pairing(1, 2, 1), b, a, draw_band=band).outcome
    mirrored = {Outcome.WIN_A: Outcome.WIN_B, Outcome.WIN_B: Outcome.WIN_A}
    assert back is mirrored.get(there, there)
    assert (there is Outcome.DRAW) == (abs(a - b) <= band)


def test_a_bye_is_judged_as_a_bye() -> None:
    result = judge(Pairing(2, 7, None), D("0.03"), None, draw_band=BAND)
    assert result.outcome is Outcome.BYE and result.a_return == D("0.03")
    assert judge(Pairing(2, 7, None), None, None, draw_band=BAND).a_return is None


@pytest.mark.parametrize(
    ("pairing", "a", "b", "band", "message"),
    [
        (Pairing(1, 1, 2), D("0.1"), None, BAND, "both"),
        (Pairing(1, 1, 2), None, D("0.1"), BAND, "both"),
        (Pairing(1, 1, None), D("0.1"), D("0.1"), BAND, "bye"),
        (Pairing(1, 1, 2), D("0.1"), D("0.1"), D("-0.001"), "negative"),
        (Pairing(1, 1, 2), float("nan"), D("0.1"), BAND, "finite"),
        (Pairing(1, 1, 2), D("0.1"), D("Infinity"), BAND, "finite"),
    ],
)
def test_judging_refuses_bad_input(
    pairing: Pairing, a: Decimal | None, b: Decimal | None, band: Decimal, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        judge(pairing, a, b, draw_band=band)


# ------------------------------------------------------------------------------------ ratings


def result(a: int, b: int | None, outcome: Outcome, round_no: int = 1) -> PkResult:
    return PkResult(Pairing(round_no, a, b), None, None, outcome)


@settings(max_examples=200, deadline=None)
@given(
    mu_a=st.floats(0, 50),
    sigma_a=st.floats(0.5, 9),
    mu_b=st.floats(0, 50),
    sigma_b=st.floats(0.5, 9),
)
def test_winner_rises_loser_falls(mu_a: float, sigma_a: float, mu_b: float, sigma_b: float) -> None:
    before = {1: TeamRating(1, mu_a, sigma_a), 2: TeamRating(2, mu_b, sigma_b)}
    after = update_ratings(before, [result(1, 2, Outcome.WIN_A)])
    assert after[1].mu > mu_a and after[2].mu < mu_b
    flipped = update_ratings(before, [result(1, 2, Outcome.WIN_B)])
    assert flipped[2].mu > mu_b and flipped[1].mu < mu_a


def test_ratings_equal_a_direct_openskill_call() -> None:
    model = PlackettLuce()
    a, b, c = model.rating(mu=31.0, sigma=4.0), model.rating(mu=22.0, sigma=6.5), model.rating()
    [[a1], [b1]] = model.rate([[a], [b]], ranks=[2, 1])  # b wins
    [[b2], [c2]] = model.rate([[b1], [c]], ranks=[1, 1])  # then b draws c
    before = {1: TeamRating(1, 31.0, 4.0), 2: TeamRating(2, 22.0, 6.5), 3: new_rating(3)}
    after = update_ratings(
        before, [result(1, 2, Outcome.WIN_B), result(2, 3, Outcome.DRAW, round_no=2)]
    )
    assert (after[1].mu, after[1].sigma) == (a1.mu, a1.sigma)
    assert (after[2].mu, after[2].sigma) == (b2.mu, b2.sigma)
    assert (after[3].mu, after[3].sigma) == (c2.mu, c2.sigma)
    assert after[1].ordinal == pytest.approx(a1.ordinal())


def test_a_draw_between_equals_barely_moves_and_a_bye_not_at_all() -> None:
    before = {1: new_rating(1), 2: new_rating(2), 3: TeamRating(3, 27.5, 3.25)}
    after = update_ratings(before, [result(1, 2, Outcome.DRAW), result(3, None, Outcome.BYE)])
    assert after[1].mu == pytest.approx(25.0) and after[2].mu == pytest.approx(25.0)
    assert after[1].sigma < before[1].sigma  # a little more certain
    assert after[3] == before[3]
    assert before[1] == new_rating(1)  # the input is not changed


def test_an_upset_moves_ratings_more_than_the_expected_result() -> None:
    strong, weak = TeamRating(1, 35.0, 3.0), TeamRating(2, 15.0, 3.0)
    expected = update_ratings({1: strong, 2: weak}, [result(1, 2, Outcome.WIN_A)])
    upset = update_ratings({1: strong, 2: weak}, [result(1, 2, Outcome.WIN_B)])
    assert upset[2].mu - weak.mu > expected[1].mu - strong.mu


def test_rating_an_unknown_team_is_refused() -> None:
    with pytest.raises(ValueError, match="no rating"):
        update_ratings({1: new_rating(1)}, [result(1, 2, Outcome.WIN_A)])


# ---------------------------------------------------------------------------------- standings


def test_standings_points_then_ordinal_then_team_id() -> None:
    ratings = {
        1: TeamRating(1, 30.0, 2.0),  # ordinal 24
        2: TeamRating(2, 25.0, 1.0),  # ordinal 22
        3: TeamRating(3, 28.0, 2.0),  # ordinal 22
        4: TeamRating(4, 20.0, 1.0),  # ordinal 17
        5: TeamRating(5, 40.0, 1.0),  # ordinal 37, never played
    }
    results = [
        result(1, 2, Outcome.WIN_B),  # 2 +3
        result(3, 4, Outcome.DRAW),  # 3 +1, 4 +1
        result(1, None, Outcome.BYE, round_no=2),  # 1 +3 (a bye scores as a win)
        result(2, 3, Outcome.DRAW, round_no=2),  # 2 +1, 3 +1
        result(4, None, Outcome.BYE, round_no=3),  # 4 +3
    ]
    table = standings(results, ratings)
    assert [(s.team_id, s.points) for s in table] == [(2, 4), (4, 4), (1, 3), (3, 2), (5, 0)]
    two, four, one, three, five = table
    assert (two.played, two.wins, two.draws, two.losses, two.byes) == (2, 1, 1, 0, 0)
    assert (one.played, one.wins, one.losses, one.byes) == (1, 0, 1, 1)
    assert (four.played, four.draws, four.byes) == (1, 1, 1)
    assert five.played == 0 and five.ordinal == pytest.approx(37.0)
    # with equal points, ordinal decides, then team id
    tied = standings([], {7: TeamRating(7, 25.0, 1.0), 3: TeamRating(3, 25.0, 1.0), **ratings})
    assert [s.team_id for s in tied] == [5, 1, 2, 3, 7, 4]
    assert BYE_POINTS == 3


def test_bye_points_can_be_set_to_nothing() -> None:
    table = standings([result(1, None, Outcome.BYE)], {1: new_rating(1)}, bye_points=0)
    assert table[0].points == 0 and table[0].byes == 1


def test_standings_refuse_an_unrated_team() -> None:
    with pytest.raises(ValueError, match="no rating"):
        standings([result(1, 2, Outcome.WIN_A)], {1: new_rating(1)})

"""PK rounds between teams: Swiss pairing, judging a round, openskill ratings and standings.

Pure domain code (no database). The contest service feeds it team ratings and the history of past
rounds and stores what it returns.

Conventions:

- Ratings come from ``openskill``'s Plackett-Luce model (the model its manual recommends for most
  uses), default prior ``mu = 25``, ``sigma = 25/3``. Each PK team is *one* rated entity (a
  one-player "team" in openskill's terms), so teams of different sizes are rated alike: the team's
  return decides the match, not its members. A team's ``ordinal`` is ``mu - 3 * sigma``, the
  conservative skill estimate openskill ranks by.
- **Pairing** (``pk_pairing.swiss_pairings``): teams are ranked by ordinal, then mu, both
  descending, then team id ascending. The criteria, most important first:

  1. a bye (odd count) goes to a team that has not had one; only when every team has had one may
     any team get a second;
  2. as few rematches as possible (zero whenever a rematch-free pairing exists);
  3. with ``rounds_total`` given, a pairing after which the remaining rounds can still be played
     without rematches (a look-ahead, so e.g. 8 teams complete a 7-round round robin instead of
     being cornered in round 6), as far as the teams' unplayed opponents allow and a bounded
     search can tell;
  4. the bye to the lowest-ranked such team;
  5. neighbours by rank: 1st v 2nd, 3rd v 4th …, the first pairing in that order that meets the
     above (lexicographic by rank, top board first).

  Deterministic: the same inputs give the same pairings.
- **Judging** (``judge``): team returns over the round are fractions (0.012 = 1.2 %), compared as
  ``Decimal``; ``|a - b| <= draw_band`` is a draw (``draw_band = 0.001`` is 0.1 percentage point).
- **Standings**: 3 points a win, 1 a draw, 0 a loss; a bye scores as a win (3 points, as the
  Swiss convention of a full point for a pairing-allocated bye: the team could not play and was
  the lowest ranked, so it is not punished). Byes do not change ratings. Order: points, then
  rating ordinal, both descending, then team id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from openskill.models import PlackettLuce, PlackettLuceRating

TeamId = int
Rematch = frozenset[TeamId]

WIN_POINTS = 3
DRAW_POINTS = 1
LOSS_POINTS = 0
BYE_POINTS = WIN_POINTS
ORDINAL_Z = 3.0  # openskill's default: ordinal = mu - 3 sigma

DEFAULT_MODEL = PlackettLuce()


class Outcome(StrEnum):
    WIN_A = "win_a"
    WIN_B = "win_b"
    DRAW = "draw"
    BYE = "bye"


@dataclass(frozen=True, slots=True)
class TeamRating:
    """A team's openskill rating (Plackett-Luce ``mu`` and ``sigma``)."""

    team_id: TeamId
    mu: float
    sigma: float

    @property
    def ordinal(self) -> float:
        return ordinal(self.mu, self.sigma)


@dataclass(frozen=True, slots=True)
class Pairing:
    """One board of a round; ``team_b is None`` is a bye for ``team_a``."""

    round_no: int
    team_a: TeamId
    team_b: TeamId | None

    @property
    def is_bye(self) -> bool:
        return self.team_b is None


@dataclass(frozen=True, slots=True)
class PkResult:
    """A judged pairing; returns are fractions over the round (``None`` for a bye's absent side)."""

    pairing: Pairing
    a_return: Decimal | None
    b_return: Decimal | None
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Standing:
    team_id: TeamId
    played: int  # matches played, byes not included
    wins: int
    draws: int
    losses: int
    byes: int
    points: int
    mu: float
    sigma: float
    ordinal: float


def ordinal(mu: float, sigma: float) -> float:
    """openskill's conservative skill estimate ``mu - 3 sigma``."""
    return mu - ORDINAL_Z * sigma


def new_rating(team_id: TeamId, *, model: PlackettLuce = DEFAULT_MODEL) -> TeamRating:
    """The model's prior rating for a team that has not played (25, 25/3 by default)."""
    return TeamRating(team_id, model.mu, model.sigma)


def rating_order(rating: TeamRating) -> tuple[float, float, TeamId]:
    """Sort key, best first: ordinal desc, mu desc, team id asc."""
    return (-rating.ordinal, -rating.mu, rating.team_id)


def history_of(pairings: Iterable[Pairing]) -> tuple[set[Rematch], set[TeamId]]:
    """``(history, byes_had)`` for ``swiss_pairings`` from the pairings of past rounds."""
    history: set[Rematch] = set()
    byes_had: set[TeamId] = set()
    for pairing in pairings:
        if pairing.team_b is None:
            byes_had.add(pairing.team_a)
        else:
            history.add(frozenset((pairing.team_a, pairing.team_b)))
    return history, byes_had


# --------------------------------------------------------------------------------------- judging


def _as_decimal(value: Decimal | float | int, name: str) -> Decimal:
    # str() of a float is its shortest round-trip form: 0.1 becomes Decimal("0.1").
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, not {value}")
    return number


def judge(
    pairing: Pairing,
    a_return: Decimal | float | None,
    b_return: Decimal | float | None,
    *,
    draw_band: Decimal | float,
) -> PkResult:
    """Judge a board from the teams' returns over the round (fractions; 0.012 = 1.2 %).

    ``|a_return - b_return| <= draw_band`` is a draw, otherwise the higher return wins. A bye
    (``pairing.team_b is None``) takes no ``b_return``; its ``a_return`` is optional and recorded.
    """
    band = _as_decimal(draw_band, "draw_band")
    if band < 0:
        raise ValueError(f"draw_band must not be negative, not {draw_band}")
    a = None if a_return is None else _as_decimal(a_return, "a_return")
    if pairing.team_b is None:
        if b_return is not None:
            raise ValueError("a bye has no opponent return")
        return PkResult(pairing, a, None, Outcome.BYE)
    if a is None or b_return is None:
        raise ValueError("a match needs both teams' returns")
    b = _as_decimal(b_return, "b_return")
    if abs(a - b) <= band:
        outcome = Outcome.DRAW
    else:
        outcome = Outcome.WIN_A if a > b else Outcome.WIN_B
    return PkResult(pairing, a, b, outcome)


# --------------------------------------------------------------------------------------- ratings

_RANKS = {Outcome.WIN_A: [1.0, 2.0], Outcome.WIN_B: [2.0, 1.0], Outcome.DRAW: [1.0, 1.0]}


def update_ratings(
    ratings: Mapping[TeamId, TeamRating],
    results: Iterable[PkResult],
    *,
    model: PlackettLuce = DEFAULT_MODEL,
) -> dict[TeamId, TeamRating]:
    """Ratings after ``results``, applied in order (round by round); the input is not changed.

    Each match is one openskill ``rate`` of two one-entity teams, a draw as tied ranks; a bye
    changes nothing. Every team in a result must be in ``ratings``.
    """
    updated = dict(ratings)
    for result in results:
        pairing = result.pairing
        if result.outcome is Outcome.BYE or pairing.team_b is None:
            continue
        ids = (pairing.team_a, pairing.team_b)
        missing = [t for t in ids if t not in updated]
        if missing:
            raise ValueError(f"no rating for team(s) {missing}")
        before = [updated[t] for t in ids]
        teams = [[PlackettLuceRating(r.mu, r.sigma)] for r in before]
        after = model.rate(teams, ranks=list(_RANKS[result.outcome]))
        for team_id, (rated,) in zip(ids, after, strict=True):
            updated[team_id] = TeamRating(team_id, rated.mu, rated.sigma)
    return updated


# ------------------------------------------------------------------------------------- standings


def standings(
    results: Iterable[PkResult],
    ratings: Mapping[TeamId, TeamRating],
    *,
    bye_points: int = BYE_POINTS,
) -> list[Standing]:
    """PK table of every rated team: points, then ordinal (both desc), then team id."""
    tally = {team_id: [0, 0, 0, 0] for team_id in ratings}  # wins, draws, losses, byes
    for result in results:
        pairing = result.pairing
        for team_id in (pairing.team_a, pairing.team_b):
            if team_id is not None and team_id not in tally:
                raise ValueError(f"no rating for team {team_id}")
        if result.outcome is Outcome.BYE or pairing.team_b is None:
            tally[pairing.team_a][3] += 1
        elif result.outcome is Outcome.DRAW:
            tally[pairing.team_a][1] += 1
            tally[pairing.team_b][1] += 1
        else:
            winner, loser = (pairing.team_a, pairing.team_b)
            if result.outcome is Outcome.WIN_B:
                winner, loser = loser, winner
            tally[winner][0] += 1
            tally[loser][2] += 1
    table = []
    for team_id, (wins, draws, losses, byes) in tally.items():
        rating = ratings[team_id]
        points = WIN_POINTS * wins + DRAW_POINTS * draws + LOSS_POINTS * losses + bye_points * byes
        table.append(
            Standing(
                team_id=team_id,
                played=wins + draws + losses,
                wins=wins,
                draws=draws,
                losses=losses,
                byes=byes,
                points=points,
                mu=rating.mu,
                sigma=rating.sigma,
                ordinal=rating.ordinal,
            )
        )
    table.sort(key=lambda s: (-s.points, -s.ordinal, s.team_id))
    return table

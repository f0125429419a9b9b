"""Swiss pairing of PK teams: neighbours by rating, the fewest rematches and byes, with a
bounded look-ahead so that later rounds stay pairable (see ``engine.contests.pk``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from engine.contests.pk import Pairing, Rematch, TeamId, TeamRating, rating_order

# Teams are indices 0..n-1 in rank order. A graph maps each index to the indices it may meet
# without a rematch. The search is exact and polynomial: the fewest rematches a pool of teams
# needs is ``len(pool) // 2 - ν`` with ν the size of a maximum matching of its graph (any
# unmatched teams pair up among themselves as rematches), which Edmonds' blossom algorithm finds.
# Pairing neighbours in rank order then only tries, for the top unpaired team, each partner in
# turn and keeps the first whose remaining pool can still be paired within the rematch allowance.

# Matching searches the look-ahead may run per call before it gives up (pairing then falls back
# to criteria 1, 2, 4 and 5).
LOOKAHEAD_BUDGET = 2_000

Board = tuple[int, int]  # two team indices, the higher ranked first
Graph = Mapping[int, AbstractSet[int]]


class _OutOfBudget(Exception):
    pass


class _Budget:
    """Deterministic cap on the look-ahead's work (matching searches, not seconds)."""

    __slots__ = ("left",)

    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _OutOfBudget


def _maximum_matching(
    pool: Sequence[int], graph: Graph, start: Mapping[int, int] | None = None
) -> dict[int, int]:
    """A maximum matching (vertex -> mate, both ways) of ``graph`` within ``pool``.

    Edmonds' blossom algorithm, grown from the part of ``start`` inside ``pool`` plus greedy
    pairs, augmenting from every exposed vertex.
    """
    members = set(pool)
    adjacency = {v: graph[v] & members for v in pool}
    mate: dict[int, int] = {}
    for v, u in (start or {}).items():
        if v in members and u in members and u in adjacency[v]:
            mate[v] = u
    for v in pool:
        if v not in mate:
            for u in adjacency[v]:
                if u not in mate:
                    mate[v], mate[u] = u, v
                    break
    for root in pool:
        if root not in mate:
            _augment(root, adjacency, mate)
    return mate


def _augment(root: int, adjacency: Mapping[int, AbstractSet[int]], mate: dict[int, int]) -> None:
    """Grow an alternating tree from the exposed ``root``; flip the path if one is found."""
    parent: dict[int, int] = {}
    base = {v: v for v in adjacency}
    in_tree = {root}
    queue = deque([root])

    def common_base(a: int, b: int) -> int:
        seen = set()
        while True:
            a = base[a]
            seen.add(a)
            if a not in mate:  # reached the root
                break
            a = parent[mate[a]]
        while base[b] not in seen:
            b = parent[mate[base[b]]]
        return base[b]

    def mark_path(v: int, ancestor: int, child: int, blossom: set[int]) -> None:
        while base[v] != ancestor:
            blossom.update((base[v], base[mate[v]]))
            parent[v] = child
            child = mate[v]
            v = parent[mate[v]]

    while queue:
        v = queue.popleft()
        for to in adjacency[v]:
            if base[v] == base[to] or mate.get(v) == to:
                continue
            if to == root or (to in mate and mate[to] in parent):
                # An odd cycle: contract it into a blossom whose vertices all become outer.
                ancestor = common_base(v, to)
                blossom: set[int] = set()
                mark_path(v, ancestor, to, blossom)
                mark_path(to, ancestor, v, blossom)
                for w in adjacency:
                    if base[w] in blossom:
                        base[w] = ancestor
                        if w not in in_tree:
                            in_tree.add(w)
                            queue.append(w)
            elif to not in parent:
                parent[to] = v
                if to not in mate:
                    _flip(to, parent, mate)
                    return
                in_tree.add(mate[to])
                queue.append(mate[to])


def _flip(end: int, parent: Mapping[int, int], mate: dict[int, int]) -> None:
    """Augment along the alternating path ending at the exposed vertex ``end``."""
    v: int | None = end
    while v is not None:
        above = parent[v]
        further = mate.get(above)
        mate[v], mate[above] = above, v
        v = further


def _shortfall(
    pool: Sequence[int], graph: Graph, start: Mapping[int, int] | None
) -> tuple[int, dict[int, int]]:
    """The fewest rematches that pair all of ``pool``, and a maximum matching witnessing it."""
    mate = _maximum_matching(pool, graph, start)
    return len(pool) // 2 - len(mate) // 2, mate


def _pairings(
    pool: tuple[int, ...],
    graph: Graph,
    rematches: int,
    mate: Mapping[int, int],
    *,
    fewest_first: bool = False,
    budget: _Budget | None = None,
) -> Iterator[list[Board]]:
    """Every pairing of ``pool`` with at most ``rematches`` rematches, neighbours first.

    The head (``pool[0]``, or with ``fewest_first`` the team with the fewest partners, which
    fails fastest) tries its partners in ``pool`` order. Precondition: ``mate`` restricted to
    ``pool`` is a matching of ``graph`` leaving at most ``2 * rematches`` teams unmatched, so a
    pairing exists, and as every partner is checked exactly the first comes without backtracking.
    """
    if not pool:
        yield []
        return
    head = pool[0]
    if fewest_first:
        members = set(pool)
        head = min(pool, key=lambda v: len(graph[v] & members))
    for partner in pool:
        if partner == head:
            continue
        cost = 0 if partner in graph[head] else 1
        if cost > rematches:
            continue
        rest = tuple(v for v in pool if v != head and v != partner)
        rest_mate: Mapping[int, int] = mate
        if mate.get(head) != partner:  # else ``mate`` less this pair still witnesses the rest
            if budget is not None:
                budget.spend()
            shortfall, rest_mate = _shortfall(rest, graph, mate)
            if shortfall > rematches - cost:
                continue
        for tail in _pairings(
            rest, graph, rematches - cost, rest_mate, fewest_first=fewest_first, budget=budget
        ):
            yield [(head, partner) if head < partner else (partner, head), *tail]


def _schedulable(graph: Mapping[int, frozenset[int]], rounds: int, budget: _Budget) -> bool:
    """Can ``rounds`` more rounds each pair every vertex along an unused edge of ``graph``?"""
    if rounds <= 0:
        return True
    if min(len(partners) for partners in graph.values()) < rounds:
        return False
    pool = tuple(sorted(graph))
    budget.spend()
    shortfall, mate = _shortfall(pool, graph, None)
    if shortfall:
        return False
    for boards in _pairings(pool, graph, 0, mate, fewest_first=True, budget=budget):
        partner = dict(boards) | {b: a for a, b in boards}
        rest = {v: partners - {partner[v]} for v, partners in graph.items()}
        if _schedulable(rest, rounds - 1, budget):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Field:
    """The round's teams: ``ids`` in rank order, ``graph`` of the pairs that have not met."""

    ids: tuple[TeamId, ...]
    graph: dict[int, frozenset[int]]
    bye_eligible: frozenset[int]

    def after(self, boards: Sequence[Board], bye: int | None) -> dict[int, frozenset[int]]:
        """The unmet pairs once ``boards`` are played, the bye as one more vertex (odd count)."""
        partner = dict(boards) | {b: a for a, b in boards}
        graph = {v: set(partners) - {partner.get(v)} for v, partners in self.graph.items()}
        if len(self.ids) % 2:
            phantom = len(self.ids)
            takers = self.bye_eligible - {bye}
            graph[phantom] = set(takers)
            for v in takers:
                graph[v].add(phantom)
        return {v: frozenset(partners) for v, partners in graph.items()}


def _field(teams: Sequence[TeamRating], history: set[Rematch], byes_had: set[TeamId]) -> _Field:
    ids = tuple(rating.team_id for rating in sorted(teams, key=rating_order))
    if len(set(ids)) != len(ids):
        raise ValueError("a team appears twice in the pairing field")
    index = {team_id: position for position, team_id in enumerate(ids)}
    everyone = frozenset(range(len(ids)))
    met: dict[int, set[int]] = {v: {v} for v in everyone}
    for pair in history:
        if len(pair) == 2 and pair <= index.keys():
            a, b = (index[t] for t in pair)
            met[a].add(b)
            met[b].add(a)
    # Only once every team has had a bye may one get a second.
    eligible = frozenset(index[t] for t in ids if t not in byes_had) or everyone
    return _Field(ids, {v: everyone - met[v] for v in everyone}, eligible)


Choice = tuple[int | None, int, dict[int, int]]  # bye, fewest rematches, a witness matching


def _bye_choices(field: _Field) -> Iterator[Choice]:
    """Each eligible bye, lowest ranked first, with what pairing the rest needs (``None``: even)."""
    everyone = range(len(field.ids))
    if len(field.ids) % 2 == 0:
        yield (None, *_shortfall(tuple(everyone), field.graph, None))
        return
    mate: Mapping[int, int] | None = None
    for bye in sorted(field.bye_eligible, reverse=True):
        shortfall, mate = _shortfall(tuple(v for v in everyone if v != bye), field.graph, mate)
        yield bye, shortfall, mate


def _fewest_rematches(field: _Field) -> Choice:
    """The lowest ranked eligible bye among those that need the fewest rematches."""
    choices = _bye_choices(field)
    best = next(choices)  # a non-empty field has at least one
    for choice in choices:
        if best[1] == 0:
            break
        if choice[1] < best[1]:
            best = choice
    return best


def _with_lookahead(field: _Field, rounds_after: int) -> tuple[list[Board], int | None] | None:
    """The first rematch-free pairing (criteria 4-5 order) that leaves a rematch-free schedule."""
    before = field.after([], None)
    # A rematch-free round uses one unmet pair of every team (and of the bye), so no more rounds
    # than the scarcest team has unmet opponents after this one can be rematch-free at all.
    horizon = min(rounds_after, min(len(partners) for partners in before.values()) - 1)
    budget = _Budget(LOOKAHEAD_BUDGET)
    for bye, shortfall, mate in _bye_choices(field):
        if shortfall:
            continue
        pool = tuple(v for v in range(len(field.ids)) if v != bye)
        for boards in _pairings(pool, field.graph, 0, mate, budget=budget):
            if _schedulable(field.after(boards, bye), horizon, budget):
                return boards, bye
    return None


def swiss_pairings(
    round_no: int,
    teams: Sequence[TeamRating],
    history: set[Rematch],
    byes_had: set[TeamId],
    *,
    rounds_total: int | None = None,
) -> list[Pairing]:
    """Pair the teams for round ``round_no`` (1-based); see the module docstring for the rules.

    ``history`` holds the pairs of teams that have met (``frozenset({a, b})``), ``byes_had`` the
    teams that have had a bye; ``history_of`` builds both from past pairings. ``rounds_total``
    (the rounds the contest will play) turns on the look-ahead. Boards come top first, the bye
    last; ``team_a`` is the higher ranked of a pair.
    """
    if round_no < 1:
        raise ValueError(f"round_no must be 1 or more, not {round_no}")
    field = _field(teams, history, byes_had)
    if not field.ids:
        return []
    found = None
    if rounds_total is not None and rounds_total > round_no:
        try:
            found = _with_lookahead(field, rounds_total - round_no)
        except _OutOfBudget:
            found = None
    if found is None:
        bye, rematches, mate = _fewest_rematches(field)
        pool = tuple(v for v in range(len(field.ids)) if v != bye)
        found = next(_pairings(pool, field.graph, rematches, mate)), bye
    boards, bye = found
    pairings = [Pairing(round_no, field.ids[a], field.ids[b]) for a, b in sorted(boards)]
    if bye is not None:
        pairings.append(Pairing(round_no, field.ids[bye], None))
    return pairings

"""Route matching by an index of static path prefixes, in front of FastAPI's linear scan.

An included router (``/v1`` and the thirty routers under it) tries every route's regex in order
until one matches, and does so twice a request (once to match, once to handle): with the app's
hundreds of routes that was a fifth of what a deep, cheap route cost (issue 17). A route whose
path begins with literal segments (``/v1/contests/{contest_id}/leaderboard`` begins with
``v1``, ``contests``) can only match a path that begins with the same segments, so a request
need try only the candidates whose routes begin like it does: a route whose first (up to
``PREFIX_SEGMENTS``) literal segments agree with the path's, a router with such a route, and
every route with no literal start (a mount, a host, a path that starts with a parameter), all
kept in the original order. Every route that could match is among them, so the first full
match, and failing that the first partial one (a 405), are the ones the full scan finds; a path
that matches none still gets the full scan's answer (a slash redirect, the 404), since the
routers fall back to it for anything they could not place.

FastAPI keeps an included router as one route (``fastapi.routing._IncludedRouter``) that builds
its candidates per include; ``IndexedIncludedRouter`` is that route with ``_match`` trying only
the candidates of the path, and its own included routers indexed the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute, APIRouter, _EffectiveRouteContext, _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Scope

PREFIX_SEGMENTS = 3  # how many leading literal segments a route is filed under, at most
Key = tuple[str, ...]
Candidate = _EffectiveRouteContext | _IncludedRouter

_MATCHING: ContextVar[Key | None] = ContextVar("paperleague_route_key", default=None)


def path_key(path: str) -> Key:
    """The first ``PREFIX_SEGMENTS`` segments of a request path."""
    return tuple(path.split("/")[1 : PREFIX_SEGMENTS + 1]) if path.startswith("/") else ()


def literal_prefix(template: str) -> Key:
    """The leading segments every path a route template matches begins with."""
    prefix: list[str] = []
    for segment in path_key(template):
        if "{" in segment or "}" in segment:
            break
        prefix.append(segment)
    return tuple(prefix)


def candidate_prefixes(candidate: Candidate) -> frozenset[Key]:
    """The literal starts of the routes ``candidate`` could hand a request to (``()``: any)."""
    if isinstance(candidate, _IncludedRouter):
        return frozenset(
            key for leaf in candidate.effective_route_contexts() for key in _leaf_prefixes(leaf)
        )
    return frozenset(_leaf_prefixes(candidate))


def _leaf_prefixes(leaf: _EffectiveRouteContext) -> Iterable[Key]:
    if isinstance(leaf.original_route, APIRoute) and leaf.path_format:
        yield literal_prefix(leaf.path_format)
    elif isinstance(leaf.starlette_route, Route | WebSocketRoute):
        yield literal_prefix(leaf.starlette_route.path)
    else:
        yield ()  # a mount, a host, a frontend route: always a candidate


def may_match(prefixes: frozenset[Key], key: Key) -> bool:
    """Whether a path beginning with ``key`` could match a route beginning with one of
    ``prefixes``."""
    return any(key[: len(prefix)] == prefix for prefix in prefixes)


class CandidateIndex:
    """The candidates of a path among ``candidates``, in their order, by the path's key."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.candidates = list(candidates)
        self._prefixes = [candidate_prefixes(c) for c in self.candidates]
        # A path's key cut to its longest start some route has filters the same candidates
        # (the routes it may match begin with parts of that start), and there are few of them.
        self._starts = {p[:n] for ps in self._prefixes for p in ps for n in range(len(p) + 1)}
        self._by_start: dict[Key, list[Candidate]] = {}

    def of(self, key: Key) -> list[Candidate]:
        while key not in self._starts:
            key = key[:-1]
        found = self._by_start.get(key)
        if found is None:
            found = self._by_start[key] = [
                c for c, p in zip(self.candidates, self._prefixes, strict=True) if may_match(p, key)
            ]
        return found


@dataclass
class IndexedIncludedRouter(_IncludedRouter):
    """An included router that tries only the candidates that could match the path."""

    _index: CandidateIndex | None = field(default=None, repr=False, compare=False)
    _index_version: tuple[int, int] = field(default=(-1, -1), repr=False, compare=False)

    def effective_candidates(self) -> list[Candidate]:
        key = _MATCHING.get()
        if key is None:  # not matching (OpenAPI, url_path_for): every candidate, as built
            return super().effective_candidates()
        return self._indexed().of(key)

    def _indexed(self) -> CandidateIndex:
        """The index, rebuilt when this router's own routes change. FastAPI's check walks the
        whole tree of included routers on every call (most of what matching cost); routes
        are added when the app is built, before the first request, so the shallow check only
        guards against a route added to this very router later."""
        router = self.original_router
        version = (router._routes_version, len(router.routes))
        index = self._index
        if index is None or self._index_version != version:
            token = _MATCHING.set(None)  # the branches' prefixes are of all their routes
            try:
                everything = super().effective_candidates()
                index = CandidateIndex([_indexed_branch(c) for c in everything])
            finally:
                _MATCHING.reset(token)
            self._index, self._index_version = index, version
        return index

    def _match(self, scope: Scope) -> tuple[Any, Scope, Any, Any]:
        token = _MATCHING.set(path_key(get_route_path(scope)))
        try:
            return super()._match(scope)
        finally:
            _MATCHING.reset(token)


def _indexed_branch(candidate: Candidate) -> Candidate:
    return _indexed_router(candidate) if isinstance(candidate, _IncludedRouter) else candidate


def _indexed_router(included: _IncludedRouter) -> IndexedIncludedRouter:
    if isinstance(included, IndexedIncludedRouter):
        return included
    return IndexedIncludedRouter(
        original_router=included.original_router, include_context=included.include_context
    )


def index_routes(router: APIRouter) -> None:
    """Match the routers ``router`` includes through a prefix index (see the module)."""
    routes: list[BaseRoute] = router.routes
    for position, route in enumerate(routes):
        if isinstance(route, _IncludedRouter):
            routes[position] = _indexed_router(route)
    router._mark_routes_changed()

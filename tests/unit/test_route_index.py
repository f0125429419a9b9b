"""The route index (api.http.routing) hands every request to the route FastAPI's own scan
would: the same full match, the same partial one (a 405), or none (a redirect or a 404, which
the routers then answer as before). Paths come from every route of the app's OpenAPI, with
generated parameter values, and from generated paths built of the app's own segments and
others; each is resolved by the app's indexed routers and by unindexed copies of them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Match

from api.http.app import create_app
from api.http.routing import IndexedIncludedRouter
from tests.conftest import make_settings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")
Resolved = tuple[Match, object, dict[str, Any]] | None


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    url = f"sqlite:///{tmp_path_factory.mktemp('routes') / 'routes.db'}"
    return create_app(make_settings(url, migrate_on_start=False))


@pytest.fixture(scope="module")
def templates(app: FastAPI) -> list[str]:
    return sorted(app.openapi()["paths"])


def _scope(path: str, method: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": []}


def _plain(route: BaseRoute) -> BaseRoute:
    if isinstance(route, _IncludedRouter):
        return _IncludedRouter(
            original_router=route.original_router, include_context=route.include_context
        )
    return route


def _resolve(routes: list[BaseRoute], scope: dict[str, Any]) -> Resolved:
    """The top-level scan (fastapi.routing.APIRouter.app), down to the route that handles."""
    partial: Resolved = None
    for route in routes:
        if isinstance(route, _IncludedRouter):
            match, child_scope, leaf, _ = route._match(dict(scope))
            while isinstance(leaf, _IncludedRouter):  # a router included in the router
                _, child_scope, leaf, _ = leaf._match(dict(scope))
        else:
            match, child_scope = route.matches(dict(scope))
            leaf = route
        if match == Match.FULL:
            return match, leaf, child_scope.get("path_params", {})
        if match == Match.PARTIAL and partial is None:
            partial = (match, leaf, child_scope.get("path_params", {}))
    return partial


_PLAIN: dict[int, list[BaseRoute]] = {}  # the unindexed copies, built once (that is slow)


def _check(app: FastAPI, scope: dict[str, Any]) -> None:
    indexed = list(app.router.routes)
    plain = _PLAIN.setdefault(id(app), [_plain(r) for r in indexed])
    assert _resolve(indexed, scope) == _resolve(plain, scope), scope


def test_the_app_s_included_routers_are_indexed(app: FastAPI) -> None:
    included = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    assert included and all(isinstance(r, IndexedIncludedRouter) for r in included)


def test_every_openapi_route_with_every_method_resolves_as_the_full_scan(
    app: FastAPI, templates: list[str]
) -> None:
    assert len(templates) > 100  # the case the index is for
    for template in templates:
        for method in METHODS:
            _check(app, _scope(PARAM.sub("1", template), method))
    assert _resolve(list(app.router.routes), _scope("/v1/me", "GET")) is not None


segment_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=0, max_size=10
)


def _value(name: str) -> st.SearchStrategy[str]:
    return st.one_of(segment_text.filter(bool), st.integers(-5, 2**40).map(str), st.just(name))


@st.composite
def template_paths(draw: st.DrawFn, templates: list[str]) -> str:
    """A path made from one OpenAPI template, its parameters filled, sometimes altered."""
    template = draw(st.sampled_from([*templates, "/web", "/", "/web/app.js"]))
    path = PARAM.sub(lambda m: draw(_value(m.group(1))), template)
    alteration = draw(st.sampled_from(["none", "slash", "suffix", "cut", "case"]))
    if alteration == "slash":
        path += "/"
    elif alteration == "suffix":
        path += "/" + draw(segment_text)
    elif alteration == "cut":
        path = path[: draw(st.integers(0, len(path)))]
    elif alteration == "case":
        path = path.upper()
    return path


@st.composite
def segment_paths(draw: st.DrawFn, templates: list[str]) -> str:
    """A path of segments the routes use and others, in any order."""
    known = sorted({s for t in templates for s in t.split("/")})
    return "/" + "/".join(
        draw(st.lists(st.one_of(st.sampled_from(known), segment_text), max_size=6))
    )


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_paths_resolve_as_the_full_scan(
    app: FastAPI, templates: list[str], data: st.DataObject
) -> None:
    path = data.draw(st.one_of(template_paths(templates), segment_paths(templates), segment_text))
    method = data.draw(st.sampled_from(METHODS))
    root_path = data.draw(st.sampled_from(["", "", "/api"]))
    _check(app, _scope(root_path + path if root_path else path, method, root_path))

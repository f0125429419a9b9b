"""Every public ``rule`` code is registered in core/rule_codes.py, once, in snake_case.

Statically: the source is scanned (``ast``) for rule codes written down — ``rule=`` keywords,
positional ``rule`` parameters of local helpers, custom pydantic error types, ``{"rule": ...}``
literals. Dynamically: the problem handlers refuse an unregistered code in the test environment.
"""

from __future__ import annotations

import ast
import gc
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator
from pydantic_core import PydanticCustomError

from api.http.problems import UnregisteredRule, check_rule_codes, install_problem_handlers
from core.errors import Conflict, RuleViolation
from core.rule_codes import PYDANTIC_TYPES, SNAKE_CASE, Rule, is_registered
from engine.trading.orders import Reason

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "core", "engine", "ledger", "contracts", "simulation")
ENUMS = {"Rule": Rule, "Reason": Reason}


def test_codes_are_snake_case_unique_and_explained() -> None:
    assert len(Rule.__members__) == len(set(Rule)), "two members share a code"
    assert [code for code in Rule if not SNAKE_CASE.fullmatch(code)] == []
    assert [code for code in PYDANTIC_TYPES if not SNAKE_CASE.fullmatch(code)] == []
    assert set(Rule).isdisjoint(PYDANTIC_TYPES), "a code of ours would shadow pydantic's"
    assert [r.name for r in Rule if not r.meaning.strip() or "\n" in r.meaning] == []


def test_order_reasons_are_registered() -> None:
    """Refusals send an order's ``Reason`` as ``rule``: Reason ⊆ Rule, with the same names."""
    assert {r.value for r in Reason} <= {r.value for r in Rule}
    assert all(Rule[r.name] == r.value for r in Reason)


# --- the static scan ---------------------------------------------------------------------------


def _rule_positions(tree: ast.Module) -> dict[str, int]:
    """Callables defined in a module that take ``rule`` positionally → its argument index."""
    positions: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    names = [a.arg for a in item.args.posonlyargs + item.args.args][1:]
                    if "rule" in names:
                        positions[node.name] = names.index("rule")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if names[:1] in (["self"], ["cls"]):
                names = names[1:]
            if "rule" in names:
                positions.setdefault(node.name, names.index("rule"))
    return positions


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _parse(source: str) -> ast.Module:
    """``ast.parse`` with the garbage collector held off: a finalizer that runs during the
    parse (a pooled connection an earlier test dropped, rolled back as it is collected) breaks
    CPython 3.11's parser ("AST constructor recursion depth mismatch", python/cpython#106905)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        if was_enabled:
            gc.enable()


def rule_expressions(source: str) -> Iterator[tuple[int, ast.expr]]:
    """Each expression in ``source`` that is sent as a rule code, with its line."""
    tree = _parse(source)
    positions = _rule_positions(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "rule":
                    yield node.lineno, keyword.value
            callee = _callee(node)
            if callee == "PydanticCustomError" and node.args:
                yield node.lineno, node.args[0]
            index = positions.get(callee or "")
            if index is not None and len(node.args) > index:
                yield node.lineno, node.args[index]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "rule":
                    yield node.lineno, value


def problems_in(source: str) -> tuple[list[str], int]:
    """(each unregistered or misspelt rule code written in ``source``, how many were checked)."""
    problems: list[str] = []
    checked = 0
    for line, expr in sorted(rule_expressions(source), key=lambda found: found[0]):
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            checked += 1
            code = expr.value
            if not SNAKE_CASE.fullmatch(code) or not is_registered(code):
                problems.append(f"{line}: {code!r}")
        elif (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and expr.value.id in ENUMS
        ):
            checked += 1
            if expr.attr not in ENUMS[expr.value.id].__members__:
                problems.append(f"{line}: {expr.value.id}.{expr.attr}")
        # Anything else (a variable, another error's rule) is left to the dynamic check.
    return problems, checked


def test_every_rule_written_in_the_source_is_registered() -> None:
    problems: list[str] = []
    checked = 0
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found, count = problems_in(path.read_text(encoding="utf-8"))
            problems += [f"{path.relative_to(ROOT)}:{p}" for p in found]
            checked += count
    assert problems == []
    assert checked > 150  # the scan sees the emitters (a broken scan would see none)


def test_the_scan_catches_what_it_should() -> None:
    source = """
class Refused(Exception):
    def __init__(self, detail, rule): ...

def _refuse(at, rule, detail): ...

RuleViolation("x", field="f", rule="team-full")
RuleViolation("x", field="f", rule="no_such_rule")
RuleViolation("x", field="f", rule=Rule.NO_SUCH)
RuleViolation("x", field="f", rule=Reason.NO_SUCH)
_refuse("at", "one-of", "detail")
Refused("detail", "Bad Code")
PydanticCustomError("not a code", "message")
names = {"field": "body", "rule": "broken-body"}
RuleViolation("x", field="f", rule=Rule.TEAM_FULL)
RuleViolation("x", field="f", rule="lot_size")
RuleViolation("x", field="f", rule=error.rule)
"""
    problems, checked = problems_in(source)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "'team-full'",
        "'no_such_rule'",
        "Rule.NO_SUCH",
        "Reason.NO_SUCH",
        "'one-of'",
        "'Bad Code'",
        "'not a code'",
        "'broken-body'",
    ]
    assert checked == 10


# --- the dynamic check -------------------------------------------------------------------------


class _Body(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value == "custom":
            raise PydanticCustomError("made-up-type", "a custom type nobody registered")
        return value


def _app(environment: str) -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(environment=environment)
    install_problem_handlers(app)

    @app.get("/refuse/{rule}")
    def refuse(rule: str) -> None:
        raise RuleViolation("refused", field="thing", rule=rule)

    @app.get("/conflict/{rule}")
    def conflict(rule: str) -> None:
        raise Conflict("clash", rule=rule)

    @app.post("/body")
    def body(payload: _Body) -> None:
        return None

    return app


@pytest.mark.parametrize("path", ["/refuse/made-up", "/conflict/made-up"])
def test_the_test_environment_refuses_an_unregistered_rule(path: str) -> None:
    with pytest.raises(UnregisteredRule, match="made-up"):
        TestClient(_app("test")).get(path)


def test_an_unregistered_pydantic_type_is_refused_too() -> None:
    client = TestClient(_app("test"))
    with pytest.raises(UnregisteredRule, match="made-up-type"):
        client.post("/body", json={"name": "custom"})
    missing = client.post("/body", json={})  # pydantic's own types are registered
    assert (missing.status_code, missing.json()["rule"]) == (422, "missing")


def test_registered_rules_pass_through() -> None:
    client = TestClient(_app("test"))
    refused = client.get(f"/refuse/{Rule.TEAM_FULL}")
    assert (refused.status_code, refused.json()["rule"]) == (422, "team_full")
    assert refused.json()["errors"][0]["rule"] == "team_full"
    assert client.get(f"/conflict/{Reason.LOT_SIZE}").json()["rule"] == "lot_size"


def test_elsewhere_an_unregistered_rule_is_logged_and_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="paperleague.api"):
        response = TestClient(_app("production")).get("/refuse/made-up")
    assert (response.status_code, response.json()["rule"]) == (422, "made-up")
    assert "made-up" in caplog.text


def test_middleware_problems_are_checked() -> None:
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(environment="test")))
    check_rule_codes({"rule": "key_format", "errors": [{"rule": "key_format"}]}, app)
    with pytest.raises(UnregisteredRule, match="key-format"):
        check_rule_codes({"rule": "key_format", "errors": [{"rule": "key-format"}]}, app)

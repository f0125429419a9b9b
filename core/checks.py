"""Invariant checks: derived state that is also stored must equal its derivation.

Each package lists its checks in its own ``checks`` module as ``Check`` values; the composition
root (``api.checks``) gathers them and ``run`` runs them. A check is a plain function from a
context (what it needs to reach the data: the database's sessions, a chain) to the problems it
found, as sentences; no problem means the invariant holds. ``run`` times every check and keeps
the first ``cap`` problems of each, with their count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger("paperleague.checks")

PROBLEMS_KEPT = 20

C = TypeVar("C", contravariant=True)


class DatabaseContext(Protocol):
    """What every check needs: the database's sessions."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...


@dataclass(frozen=True, slots=True)
class Check(Generic[C]):
    """One invariant: ``problems(context)`` lists where it fails (empty when it holds)."""

    name: str  # "<package>.<invariant>", unique in the registry
    package: str
    description: str  # one line: what is stored, and what it must equal
    problems: Callable[[C], list[str]]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    package: str
    description: str
    problems: tuple[str, ...]  # the first ``PROBLEMS_KEPT``
    problem_count: int  # all of them
    seconds: float

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def unlisted(self) -> int:
        """Problems found beyond those kept."""
        return self.problem_count - len(self.problems)


@dataclass(frozen=True, slots=True)
class CheckReport:
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.ok)

    @property
    def seconds(self) -> float:
        return sum(result.seconds for result in self.results)

    def verdict(self) -> str:
        """One line: "all 6 hold", or which failed."""
        if not self.results:
            return "no check ran"
        if self.ok:
            return f"all {len(self.results)} hold"
        names = ", ".join(result.name for result in self.failed)
        return f"{len(self.failed)} of {len(self.results)} FAILED: {names}"


def run(checks: Sequence[Check[C]], context: C, *, cap: int = PROBLEMS_KEPT) -> CheckReport:
    """Run ``checks`` in order over ``context``. A check that raises fails with the exception as
    its one problem (one broken check never hides the others' results)."""
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise ValueError(f"check names must be unique: {sorted(names)}")
    return CheckReport(tuple(_run_one(check, context, cap=cap) for check in checks))


def _run_one(check: Check[C], context: C, *, cap: int) -> CheckResult:
    started = time.perf_counter()
    try:
        problems = list(check.problems(context))
    except Exception as failure:  # reported, never raised: the report is the point
        logger.exception("check %s raised", check.name)
        problems = [f"the check raised {type(failure).__name__}: {failure}"]
    return CheckResult(
        name=check.name,
        package=check.package,
        description=check.description,
        problems=tuple(problems[:cap]),
        problem_count=len(problems),
        seconds=time.perf_counter() - started,
    )

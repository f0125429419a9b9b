"""The invariant checks' report, as ``GET /v1/admin/checks`` and ``paperleague check --json``
show it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.checks import CheckReport, CheckResult


class CheckResultOut(BaseModel):
    name: str = Field(examples=["trading.books"])
    package: str = Field(examples=["engine.trading"])
    description: str
    ok: bool
    problems: list[str] = Field(description="The first problems found (at most 20).")
    problem_count: int = Field(description="All problems found; more than listed when capped.")
    seconds: float = Field(description="Wall-clock time the check took.")

    @classmethod
    def of(cls, result: CheckResult) -> CheckResultOut:
        return cls(
            name=result.name,
            package=result.package,
            description=result.description,
            ok=result.ok,
            problems=list(result.problems),
            problem_count=result.problem_count,
            seconds=round(result.seconds, 6),
        )


class CheckReportOut(BaseModel):
    ok: bool = Field(description="Whether every check holds.")
    checks: list[CheckResultOut] = Field(description="Every registered check, in run order.")

    @classmethod
    def of(cls, report: CheckReport) -> CheckReportOut:
        return cls(ok=report.ok, checks=[CheckResultOut.of(r) for r in report.results])

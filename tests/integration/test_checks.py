"""The invariant checks on SQLite and PostgreSQL: every registered check holds over a world that
gives each something to check, and each reports the corruption of the state it guards (and
only its own), straight in the database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from api.checks import registered_checks, run_checks
from core.checks import Check, CheckReport, run
from core.db import Database
from tests.check_world import CORRUPTIONS, CheckWorld, build_world, failed
from tests.fake_chain import FakeRegistry


@pytest.fixture
def world(database: Database) -> CheckWorld:
    return build_world(database)


def test_every_check_holds_over_a_sound_world_and_has_something_to_check(
    world: CheckWorld,
) -> None:
    report = run_checks(world.context())
    assert [r.name for r in report.results] == [c.name for c in registered_checks()]
    assert report.ok, failed(report)
    assert report.verdict() == f"all {len(report.results)} hold"
    # Not vacuous: the world has what each check reads.
    with world.database.sessions() as session:

        def count(sql: str) -> int:
            return int(session.execute(text(sql)).scalar_one())

        assert count("SELECT count(*) FROM fills") >= 4
        assert count("SELECT count(*) FROM contest_metric_state") == 1
        assert count("SELECT count(*) FROM ledger_checkins") == 7
        assert count("SELECT count(*) FROM quiz_answers") == 3
        assert count("SELECT count(*) FROM league_payouts WHERE paid_at IS NOT NULL") == 4
        assert count("SELECT count(*) FROM anchor_batches WHERE status = 'final'") == 1
        assert count("SELECT count(*) FROM anchor_batches WHERE status = 'anchored'") == 1


def test_each_check_reports_the_corruption_of_its_own_state(world: CheckWorld) -> None:
    broken: list[str] = []
    for name, corrupt in CORRUPTIONS:
        expected = corrupt(world)
        broken.append(name)
        report = run_checks(world.context())
        found = failed(report)
        assert sorted(found) == sorted(broken), (name, found)
        assert any(expected in problem for problem in found[name]), (expected, found[name])


def test_a_chain_without_the_roots_fails_the_anchors_check(world: CheckWorld) -> None:
    elsewhere = FakeRegistry()  # same chain id and address, none of our anchors
    report = run_checks(replace(world.context(), chain=elsewhere.reader))
    problems = failed(report)["contracts.anchors"]
    assert len(problems) == 2  # the final batch and the anchored one
    assert all("is not anchored at" in p for p in problems)
    assert sorted(failed(report)) == ["contracts.anchors"]


def test_no_chain_is_a_problem_only_once_a_batch_is_final(world: CheckWorld) -> None:
    report = run_checks(replace(world.context(), chain=None))
    assert failed(report) == {
        "contracts.anchors": (
            "1 final batches, and no chain to read their roots from: no chain is configured "
            "(set PAPERLEAGUE_CHAIN_RPC_URL)",
        )
    }
    with world.database.engine.begin() as connection:
        connection.execute(text("UPDATE anchor_batches SET status = 'anchored'"))
    assert run_checks(replace(world.context(), chain=None)).ok


def test_the_report_caps_problems_counts_them_and_survives_a_check_that_raises() -> None:
    def many(_: object) -> list[str]:
        return [f"problem {i}" for i in range(25)]

    def broken(_: object) -> list[str]:
        raise RuntimeError("no database")

    checks: list[Check[object]] = [
        Check("a.many", "a", "twenty-five problems", many),
        Check("a.broken", "a", "raises", broken),
        Check("a.fine", "a", "holds", lambda _: []),
    ]
    report: CheckReport = run(checks, object())
    many_result, broken_result, fine = report.results
    assert (many_result.problem_count, len(many_result.problems), many_result.unlisted) == (
        25,
        20,
        5,
    )
    assert broken_result.problems == ("the check raised RuntimeError: no database",)
    assert fine.ok and not report.ok
    assert report.verdict() == "2 of 3 FAILED: a.many, a.broken"
    with pytest.raises(ValueError, match="unique"):
        run([*checks, checks[0]], object())

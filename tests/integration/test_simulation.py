"""The season simulation on both databases: a small season runs clean, its ledger verifies and
balances, every point minted is accounted for, the report has its sections, and the digest
depends on the seed alone."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import cli
from core.users.model import User
from simulation import SimulationConfig, SimulationResult, simulate
from simulation.report import SECTIONS

SMALL = SimulationConfig(members=30, teams=5, days=20, instruments=8, seed=11, progress=False)


@pytest.fixture
def fresh_db_url(request: pytest.FixtureRequest, backend: str) -> Iterator[Callable[[], str]]:
    """Migrated, empty databases of the test's backend, as many as the test asks for."""
    name = "sqlite_databases" if backend == "sqlite" else "postgres_databases"
    databases = request.getfixturevalue(name)
    made: list[str] = []

    def make() -> str:
        made.append(databases.migrated())
        return made[-1]

    yield make
    for url in made:
        databases.drop(url)


def run(url: str, output: Path, **changes: object) -> SimulationResult:
    return simulate(replace(SMALL, database_url=url, output=output, **changes))  # type: ignore[arg-type]


def test_a_small_season_runs_clean(db_url: str, tmp_path: Path) -> None:
    result = run(db_url, tmp_path)
    data = result.data
    assert data.members == SMALL.members
    assert data.ledger.verify_errors == ()
    assert data.ledger.trial_balance and not any(data.ledger.trial_balance.values())
    assert not any(data.ledger.pending_totals.values())  # every fulfilment hold resolved
    assert sum(data.engagement.check_ins) > SMALL.members * 10
    # Every point the ledger minted is one the simulation logged, by reason.
    assert sum(sum(series) for series in data.points.minted.values()) == data.ledger.minted
    assert sum(data.points.redeemed) == data.ledger.redeemed
    assert sum(data.points.expired) == data.ledger.expired
    assert data.content.certificates == data.content.registered > 0
    assert data.content.final == data.content.certificates
    assert len(result.digest) == 64
    page = result.report_path.read_text(encoding="utf-8")
    for key, title in SECTIONS:
        assert f'<h2 id="{key}">{title}</h2>' in page
    assert page.count("data:image/png;base64,") >= 5


def test_the_digest_depends_on_the_seed_alone(
    fresh_db_url: Callable[[], str], tmp_path: Path
) -> None:
    first = run(fresh_db_url(), tmp_path / "a")
    again = run(fresh_db_url(), tmp_path / "b")
    other = run(fresh_db_url(), tmp_path / "c", seed=SMALL.seed + 1)
    assert first.digest == again.digest
    assert other.digest != first.digest
    assert first.data.points == again.data.points


def test_a_database_in_use_is_refused(
    db_url: str, make_user: Callable[..., User], tmp_path: Path
) -> None:
    make_user()
    second = CliRunner().invoke(
        cli,
        ["simulate", "--database-url", db_url, "--output", str(tmp_path), "--no-progress"],
    )
    assert second.exit_code == 1
    assert "needs an empty database" in second.output


def test_the_command_prints_the_summary_and_the_digest(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            *("--members", "12", "--teams", "3", "--days", "10", "--market", "cn"),
            *("--seed", "3", "--output", str(tmp_path), "--no-progress"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "season.db").exists() and (tmp_path / "report.html").exists()
    lines = result.output.splitlines()
    assert any(line.startswith("ledger: trial balance") and "verify ok" in line for line in lines)
    assert lines[-1].startswith("digest: ") and len(lines[-1]) == len("digest: ") + 64

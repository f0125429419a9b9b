"""``paperleague contest verify`` (no database) and ``paperleague content anchor`` anchoring
contest attestations, on the in-process chain with the real ContentRegistry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import cli
from contracts import anchoring, attesting
from contracts.chain import in_process_chain
from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.users.model import Role, User
from engine.contests import settlement
from engine.contests.prize_table import RankRange
from engine.contests.spec import PrizeLine
from engine.uow import EngineUnitOfWork
from notary import contests as notary
from tests.contest_builders import NOW
from tests.integration.test_settlement import finished_contest

runner = CliRunner()


def test_anchor_command_anchors_contests_and_verify_checks_the_chain(
    db_url: str, database: Database, make_user: Callable[..., User], tmp_path: Path
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    field = finished_contest(
        uow, make_user(Role.OPERATOR), make_user, prizes=[PrizeLine(RankRange(1, 1), points=70)]
    )
    settlement.settle_contest(uow, field.contest.id, now=NOW)

    anchored = runner.invoke(cli, ["content", "anchor", "--database-url", db_url])
    assert anchored.exit_code == 0, anchored.output
    assert f"anchored contest-rules of contest {field.contest.id}" in anchored.output
    assert f"anchored contest-results of contest {field.contest.id}: 5 leaves" in anchored.output

    content = ContentUnitOfWork(database.sessions)
    certificate = notary.results_certificate(uow, content, field.contest.id, field.winner.id)
    assert certificate.values[4] == "70"
    path = tmp_path / "result.json"
    path.write_text(certificate.dumps())
    valid = runner.invoke(cli, ["contest", "verify", str(path)])
    assert valid.exit_code == 0, valid.output
    lines = valid.output.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == [
        "kind", "subject", "document", "leaf", "proof", "chain_id", "contract",
        "anchored", "anchor_time", "block_hash", "transaction",
    ]  # fmt: skip
    assert lines[-1].startswith("VALID: contest-results")

    path.write_text(json.dumps(certificate.to_json() | {"subject": field.contest.id + 1}))
    tampered = runner.invoke(cli, ["contest", "verify", str(path)])
    assert tampered.exit_code == 1
    assert tampered.output.splitlines()[-1] == "INVALID: failed subject"
    path.write_text(json.dumps(certificate.to_json() | {"proof": "0x00"}))
    malformed = runner.invoke(cli, ["contest", "verify", str(path)])
    assert malformed.exit_code == 1 and "proof" in malformed.output

    # The same registry, the same roots: a second run anchors nothing.
    registry = anchoring.registry_for(content, in_process_chain())
    assert attesting.anchor_attestations(content, registry) == []
    again = runner.invoke(cli, ["content", "anchor", "--database-url", db_url])
    assert "anchored contest" not in again.output

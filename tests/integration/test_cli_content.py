"""``paperleague verify`` (no database), ``paperleague content anchor`` and ``content review``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from api.cli.main import cli
from contracts import anchoring, services
from contracts.chain import Chain, in_process_chain
from contracts.content import ContentPolicy, ContentStatus, PolicyAction
from contracts.registration import register_content
from contracts.registry import RegistryClient
from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.users.model import Role, User
from tests.chains import AnvilNode

runner = CliRunner()
NOTE = b"Copper demand will outrun supply by 2027.\n"


def _certify(
    database: Database, author: User, registry: anchoring.Registry, tmp_path: Path
) -> Path:
    uow = ContentUnitOfWork(database.sessions)
    piece = register_content(
        uow, author.id, title="Copper", content=NOTE, content_type="text/plain"
    )
    anchoring.anchor_pending(uow, registry)
    path = tmp_path / "cert.json"
    path.write_text(services.certificate(uow, piece.id, author_id=author.id).dumps())
    return path


def test_verify_against_the_in_process_chain(
    database: Database, make_user: Callable[..., User], tmp_path: Path
) -> None:
    registry = anchoring.registry_for(ContentUnitOfWork(database.sessions), in_process_chain())
    certificate = _certify(database, make_user(Role.AUTHOR), registry, tmp_path)
    content = tmp_path / "note.txt"
    content.write_bytes(NOTE.replace(b"\n", b"\r\n"))  # a re-saved copy: normalized text matches

    valid = runner.invoke(cli, ["verify", str(certificate), "--content", str(content)])
    assert valid.exit_code == 0, valid.output
    lines = valid.output.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == [
        "content_hash", "leaf", "proof", "chain_id", "contract",
        "anchored", "anchor_time", "block_hash", "transaction",
    ]  # fmt: skip
    assert all(line.startswith("ok") for line in lines[:-1])
    assert lines[-1].startswith("VALID")

    content.write_bytes(NOTE.replace(b"2027", b"2028"))
    tampered = runner.invoke(cli, ["verify", str(certificate), "--content", str(content)])
    assert tampered.exit_code == 1
    assert "FAIL content_hash" in tampered.output
    assert tampered.output.splitlines()[-1] == "INVALID: failed content_hash"

    document = json.loads(certificate.read_text())
    certificate.write_text(json.dumps(document | {"block_number": "12"}))
    malformed = runner.invoke(cli, ["verify", str(certificate), "--content", str(content)])
    assert malformed.exit_code == 1
    assert "block_number" in malformed.output


def test_verify_with_rpc_against_anvil(
    database: Database,
    make_user: Callable[..., User],
    anvil_chain: Chain,
    anvil_node: AnvilNode,
    tmp_path: Path,
) -> None:
    registry = RegistryClient.deploy(anvil_chain)
    certificate = _certify(database, make_user(Role.AUTHOR), registry, tmp_path)
    content = tmp_path / "note.txt"
    content.write_bytes(NOTE)
    args = ["verify", str(certificate), "--content", str(content)]
    on_anvil = runner.invoke(cli, [*args, "--rpc", anvil_node.url])
    assert on_anvil.exit_code == 0, on_anvil.output
    elsewhere = runner.invoke(cli, args)  # the in-process chain: another chain id
    assert elsewhere.exit_code == 1
    assert "FAIL chain_id" in elsewhere.output
    unreachable = runner.invoke(cli, [*args, "--rpc", "http://127.0.0.1:9"])
    assert unreachable.exit_code == 2


def test_content_anchor_command(
    db_url: str, database: Database, make_user: Callable[..., User]
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    author = make_user(Role.AUTHOR)
    assert runner.invoke(cli, ["content", "anchor", "--database-url", db_url]).output == (
        "nothing pending\n"
    )
    for i in range(3):
        register_content(
            uow, author.id, title="n", content=f"note {i}".encode(), content_type="text/plain"
        )
    result = runner.invoke(cli, ["content", "anchor", "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("anchored batch 1: 3 pieces")
    mine, _ = services.my_content(uow, author.id, before=None, limit=5)
    assert {p.status for p in mine} == {ContentStatus.ANCHORED}


def test_review_list_approve_and_reject(
    db_url: str, database: Database, make_user: Callable[..., User]
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    services.set_content_policy(uow, ContentPolicy(compliance_action=PolicyAction.REVIEW))
    author = make_user(Role.AUTHOR)
    make_user(Role.OPERATOR, username="olga")
    make_user(Role.MEMBER, username="mel")
    held = [
        register_content(uow, author.id, title=t, content=body, content_type="text/plain")
        for t, body in (("One", "稳赚不赔。".encode()), ("Two", b"A guaranteed profit, trust me."))
    ]
    listed = runner.invoke(cli, ["content", "review", "list", "--database-url", db_url])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        f"{held[0].id} pending compliance author {author.id} 'One'",
        f"{held[1].id} pending compliance author {author.id} 'Two'",
        "2 cases",
    ]

    def decide(verb: str, content_id: int, operator: str, *reason: str) -> Result:
        return runner.invoke(
            cli,
            ["content", "review", verb, str(content_id), "--operator", operator,
             *(["--reason", *reason] if reason else []), "--database-url", db_url],
        )  # fmt: skip

    approved = decide("approve", held[0].id, "olga", "Quoted, not promised")
    assert approved.exit_code == 0, approved.output
    assert approved.output == f"content {held[0].id} approved by olga: Quoted, not promised\n"
    assert decide("reject", held[1].id, "mel", "no").exit_code == 1  # not an operator
    assert decide("reject", held[1].id, "olga", " ").exit_code == 1  # a blank reason
    assert decide("reject", held[1].id, "olga").exit_code == 2  # no --reason at all
    assert decide("reject", held[0].id, "olga", "late").exit_code == 1  # already decided
    rejected = decide("reject", held[1].id, "olga", "Promises returns")
    assert rejected.exit_code == 0, rejected.output

    everything = ["content", "review", "list", "--status", "rejected", "--database-url", db_url]
    assert runner.invoke(cli, everything).output.splitlines() == [
        f"{held[1].id} rejected compliance author {author.id} 'Two' — Promises returns",
        "1 cases",
    ]
    assert anchoring.anchor_is_due(uow, batch_size=1, max_wait_seconds=0)

"""``paperleague ledger verify``, ``trial-balance`` and ``seal-root`` on a real database."""

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from ledger import services
from ledger.model import ISSUANCE, POINTS, REDEEMED, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork

runner = CliRunner()
ALICE = points_account(1)


@pytest.fixture
def ledger_db(db_url: str) -> Iterator[Database]:
    database = Database.connect(db_url)
    yield database
    database.dispose()


def _move(database: Database, id: str, debit: str, credit: str, amount: int) -> None:
    request = TransferRequest(
        id=id, debit=debit, credit=credit, asset=POINTS, amount=amount, reason="grant"
    )
    services.transfer(LedgerUnitOfWork(database.sessions), request)


def test_verify_passes_then_catches_a_forged_row(db_url: str, ledger_db: Database) -> None:
    empty = runner.invoke(cli, ["ledger", "verify", "--database-url", db_url])
    assert (empty.exit_code, empty.output) == (0, "ok: 0 transfers, head at seq 0\n")
    _move(ledger_db, "g1", ISSUANCE, ALICE, 100)
    _move(ledger_db, "g2", ALICE, REDEEMED, 40)
    clean = runner.invoke(cli, ["ledger", "verify", "--database-url", db_url])
    assert clean.exit_code == 0, clean.output
    assert clean.output == "ok: 2 transfers, head at seq 2\n"

    with ledger_db.engine.begin() as connection:  # an attacker with the triggers switched off
        if ledger_db.is_sqlite:
            connection.execute(text("DROP TRIGGER ledger_transfers_no_update"))
        else:
            connection.execute(text("ALTER TABLE ledger_transfers DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE ledger_transfers SET amount = 1000 WHERE id = 'g1'"))
    forged = runner.invoke(cli, ["ledger", "verify", "--database-url", db_url])
    assert forged.exit_code == 1
    assert "seq 1 (g1): content does not match its hash" in forged.output
    assert f"balance {ALICE} POINTS" in forged.output
    assert "ok:" not in forged.output


def test_seal_root_seals_only_when_a_shard_head_moved(db_url: str, ledger_db: Database) -> None:
    command = ["ledger", "seal-root", "--database-url", db_url]
    idle = runner.invoke(cli, command)
    assert (idle.exit_code, idle.output) == (
        0,
        "no shard head moved since the last root: nothing sealed\n",
    )
    _move(ledger_db, "g1", ISSUANCE, ALICE, 100)
    sealed = runner.invoke(cli, command)
    assert sealed.exit_code == 0 and sealed.output.startswith("root 1: "), sealed.output
    again = runner.invoke(cli, command)
    assert again.output.startswith("no shard head moved"), again.output
    assert services.verify(LedgerUnitOfWork(ledger_db.sessions)).roots == 1


def test_trial_balance_prints_totals_and_flags_imbalance(db_url: str, ledger_db: Database) -> None:
    _move(ledger_db, "g1", ISSUANCE, ALICE, 100)
    sound = runner.invoke(cli, ["ledger", "trial-balance", "--database-url", db_url])
    assert sound.exit_code == 0, sound.output
    assert sound.output == "POINTS posted 0 pending 0\nbalanced: 1 assets, 2 balances\n"

    with ledger_db.engine.begin() as connection:  # a derived row edited behind the ledger's back
        connection.execute(
            text("UPDATE ledger_balances SET credits_posted = 150 WHERE account = :a"), {"a": ALICE}
        )
    broken = runner.invoke(cli, ["ledger", "trial-balance", "--database-url", db_url])
    assert broken.exit_code == 1
    assert "POINTS posted 50 pending 0" in broken.output and "UNBALANCED" in broken.output


def test_ledger_commands_refuse_a_database_without_the_schema(empty_db_url: str) -> None:
    for command in ("verify", "trial-balance"):
        result = runner.invoke(cli, ["ledger", command, "--database-url", empty_db_url])
        assert result.exit_code == 1, command
        assert "paperleague db upgrade" in result.output, command


def test_expire_releases_lapsed_holds_and_old_points(db_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from api.cli.main import cli
    from core.db import Database
    from ledger import engagement
    from ledger import services as ledger_services
    from ledger.earning import EarningRules
    from ledger.model import ISSUANCE, POINTS, REDEEMED, TransferRequest
    from ledger.services import LedgerUnitOfWork

    database = Database.connect(db_url)
    uow = LedgerUnitOfWork(database.sessions)
    old = datetime.now(UTC) - timedelta(days=40)
    account = "member:1:points"
    ledger_services.transfer(
        uow, TransferRequest("g", ISSUANCE, account, POINTS, 100, "grant"), now=old
    )
    ledger_services.transfer(
        uow,
        TransferRequest(
            "h", account, REDEEMED, POINTS, 30, "hold", pending=True, timeout_seconds=60
        ),
        now=old,
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["ledger", "expire", "--database-url", db_url])
    assert first.exit_code == 0, first.output
    assert "released 1 lapsed holds" in first.output and "never expire" in first.output
    from core.users import services as users
    from core.users.model import Role
    from core.users.services import UsersUnitOfWork

    operator = users.create_user(
        UsersUnitOfWork(database.sessions),
        username="operator1",
        password="operator-pass",
        roles=[Role.OPERATOR],
    )
    engagement.set_earning_rules(uow, EarningRules(points_expiry_days=30), operator_id=operator.id)
    second = runner.invoke(cli, ["ledger", "expire", "--database-url", db_url])
    assert "expired 100 points from 1 members" in second.output, second.output
    assert ledger_services.balance(uow, account, POINTS).available == 0
    assert ledger_services.verify(uow).ok
    database.dispose()

"""The ``paperleague`` command: user creation and migrations go through the same services."""

import pytest
from typer.testing import CliRunner

from api.cli.main import cli
from core import migrations
from core.db import Database
from core.users import services
from core.users.model import Role
from core.users.services import UsersUnitOfWork

runner = CliRunner()


def test_user_create_makes_an_operator_who_can_log_in(db_url: str) -> None:
    result = runner.invoke(
        cli,
        [
            "user",
            "create",
            "--username",
            "Root",
            "--password",
            "operator-pass-1",
            "--role",
            "operator",
            "--role",
            "author",
            "--database-url",
            db_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "roles=author,operator" in result.output
    database = Database.connect(db_url)
    user = services.authenticate(
        UsersUnitOfWork(database.sessions), username="root", password="operator-pass-1"
    )
    database.dispose()
    assert user.roles == {Role.OPERATOR, Role.AUTHOR}


def test_user_create_refuses_duplicates_and_bad_input(db_url: str) -> None:
    args = [
        "user",
        "create",
        "--password",
        "operator-pass-1",
        "--role",
        "operator",
        "--database-url",
        db_url,
    ]
    assert runner.invoke(cli, [*args, "--username", "root"]).exit_code == 0
    duplicate = runner.invoke(cli, [*args, "--username", "root"])
    assert duplicate.exit_code == 1 and "taken" in duplicate.output
    bad_name = runner.invoke(cli, [*args, "--username", "x"])
    assert bad_name.exit_code == 1 and "username" in bad_name.output
    bad_role = runner.invoke(
        cli,
        [
            "user",
            "create",
            "--username",
            "y1",
            "--password",
            "p" * 10,
            "--role",
            "king",
            "--database-url",
            db_url,
        ],
    )
    assert bad_role.exit_code == 2


def test_password_is_prompted_when_omitted(db_url: str) -> None:
    result = runner.invoke(
        cli,
        ["user", "create", "--username", "prompted", "--role", "member", "--database-url", db_url],
        input="prompted-pass-1\nprompted-pass-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "prompted-pass-1" not in result.output


def test_db_upgrade_downgrade_current(empty_db_url: str) -> None:
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", empty_db_url]).exit_code == 0
    current = runner.invoke(cli, ["db", "current", "--database-url", empty_db_url])
    assert f"current {migrations.head_revision()}" in current.output
    assert "behind" not in current.output
    down = runner.invoke(cli, ["db", "downgrade", "base", "--database-url", empty_db_url])
    assert down.exit_code == 0 and "schema at None" in down.output


@pytest.mark.parametrize("url", ["mysql://nope/x"])
def test_unsupported_database_url_is_a_usage_error(url: str) -> None:
    result = runner.invoke(cli, ["db", "current", "--database-url", url])
    assert result.exit_code == 2

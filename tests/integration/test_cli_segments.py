"""``paperleague segments``: refresh-tags stores the tags (and a rerun adds nothing); list
prints each segment with its size."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from core.segments import services as segments
from core.segments.uow import SegmentsUnitOfWork
from core.users.model import User


def test_refresh_tags_then_list(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    member = make_user()
    uow = SegmentsUnitOfWork(database.sessions)
    segments.submit_answers(uow, member.id, {"experience": "none"})
    segments.define_segment(
        uow,
        "newcomers",
        name="Newcomers",
        definition={"all": [{"tag": "new"}, {"answer": "experience", "in": ["none"]}]},
        operator_id=None,
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["segments", "refresh-tags", "--database-url", db_url])
    assert first.exit_code == 0, first.output
    assert "1 members; added 1, removed 0 tags" in first.output and "new: 1" in first.output
    again = runner.invoke(cli, ["segments", "refresh-tags", "--database-url", db_url])
    assert "added 0, removed 0" in again.output
    listed = runner.invoke(cli, ["segments", "list", "--database-url", db_url])
    assert listed.exit_code == 0 and "newcomers\t1\tNewcomers" in listed.output

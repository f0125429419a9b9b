"""``paperleague webhooks deliver`` on SQLite and PostgreSQL: once through, to a real server."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from core.outbox_store import record_event
from core.webhooks import WebhooksUnitOfWork, create_endpoint, list_deliveries
from tests.webhook_receiver import receiver


def test_deliver_once_through(database: Database, db_url: str) -> None:
    uow = WebhooksUnitOfWork(database.sessions)
    runner = CliRunner()
    with receiver(status=500) as server:
        create_endpoint(uow, server.url, kinds=["redemption.created"], secret="x" * 16)
        with uow:
            record_event(uow.session, "redemption.created", {"id": "r"}, "redemption.created:r")
            uow.commit()
        args = ["webhooks", "deliver", "--max-attempts", "1", "--database-url", db_url]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "1 new deliveries; 1 attempted: 0 delivered, 0 to retry, 1 failed" in result.output
        again = runner.invoke(cli, args)
        assert "0 new deliveries; 0 attempted" in again.output
    assert len(server.received) == 1
    [failed], _ = list_deliveries(uow, status="failed")
    assert failed.last_status_code == 500

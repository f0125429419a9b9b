"""The audit log on SQLite and PostgreSQL: the triggers refuse UPDATE and DELETE (raw SQL),
verification flags a forged, edited or deleted entry by its seq, the retention purge deletes
only what is old enough and leaves the chain verifiable, concurrent appends stay one chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from api.cli.main import cli
from core.audit.checks import AUDIT_CHECK, CHECKS
from core.audit.model import AuditDraft
from core.audit.services import (
    AuditFilters,
    AuditUnitOfWork,
    purge,
    record,
    search,
    verify_audit_chain,
)
from core.checks import run
from core.db import Database
from core.errors import RuleViolation
from tests.concurrency import race

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
runner = CliRunner()


def _uow(database: Database) -> AuditUnitOfWork:
    return AuditUnitOfWork(database.sessions)


def _append(database: Database, n: int, *, at: datetime = NOW, actor: int = 7) -> None:
    for i in range(n):
        draft = AuditDraft(
            actor_id=actor,
            action="contest.update",
            subject=f"contest:{i}",
            request={"method": "PATCH", "path": f"/v1/admin/contests/{i}"},
            before={"title": "old", "cash": "1.10"},
            after={"title": "new", "cash": "1.20"},
        )
        record(_uow(database), draft, now=at)


def _sql(database: Database, sql: str, **params: Any) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(sql), params)


def _problems(database: Database) -> list[str]:
    return [str(p) for p in verify_audit_chain(_uow(database)).problems]


def _drop_triggers(database: Database) -> None:
    """An attacker with the table owner's rights switches the guards off."""
    if database.is_sqlite:
        _sql(database, "DROP TRIGGER audit_entries_no_update")
        _sql(database, "DROP TRIGGER audit_entries_no_delete")
    else:
        _sql(database, "ALTER TABLE audit_entries DISABLE TRIGGER USER")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET after = '{}' WHERE seq = 1",
        "UPDATE audit_entries SET seq = seq + 100",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_entries",
        "DELETE FROM audit_retention",
        "UPDATE audit_retention SET kept_from = 0",
    ],
)
def test_the_triggers_refuse_updates_and_deletes(database: Database, sql: str) -> None:
    _append(database, 2)
    with pytest.raises(DBAPIError, match="append-only|only moves forward"):
        _sql(database, sql)
    assert _problems(database) == []
    assert verify_audit_chain(_uow(database)).entries == 2


def test_postgresql_refuses_truncate(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE")
    _append(database, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(database, "TRUNCATE audit_entries")


def test_a_row_inserted_around_the_service_is_flagged(database: Database) -> None:
    _append(database, 2)
    _sql(
        database,
        "INSERT INTO audit_entries (seq, at, actor_id, action, subject, request, before, "
        "after, prev_hash, hash) VALUES (3, :at, 1, 'user.set_roles', 'user:1', 'null', "
        "'null', '{\"roles\":[\"operator\"]}', :prev, :hash)",
        at=NOW,
        prev="0" * 64,
        hash="a" * 64,
    )
    problems = _problems(database)
    assert "audit seq 3: prev_hash does not link to the entry before" in problems
    assert "audit seq 3: content does not match its hash (edited or forged)" in problems
    assert any("head records seq 2 but the chain ends at seq 3" in p for p in problems)
    report = run(CHECKS, database)
    assert [r.name for r in report.failed] == [AUDIT_CHECK]


def test_an_edited_row_is_flagged_when_the_triggers_are_dropped(database: Database) -> None:
    _append(database, 3)
    _drop_triggers(database)
    _sql(database, 'UPDATE audit_entries SET after = \'{"title":"forged"}\' WHERE seq = 2')
    assert _problems(database) == [
        "audit seq 2: content does not match its hash (edited or forged)"
    ]


def test_a_deleted_row_is_flagged_when_the_triggers_are_dropped(database: Database) -> None:
    _append(database, 4)
    _drop_triggers(database)
    _sql(database, "DELETE FROM audit_entries WHERE seq = 2")
    assert _problems(database) == ["audit seq 2: missing (seq 2 deleted)"]
    _sql(database, "DELETE FROM audit_entries WHERE seq = 4")
    assert _problems(database)[-1].endswith("head records seq 4 but the chain ends at seq 3")


def test_purge_deletes_only_entries_older_than_the_retention(database: Database) -> None:
    for age in (400, 300, 200, 100, 0):
        _append(database, 1, at=NOW - timedelta(days=age))
    with pytest.raises(RuleViolation) as short:
        purge(_uow(database), retention_days=182, now=NOW)
    assert short.value.rule == "minimum"

    first = purge(_uow(database), retention_days=250, now=NOW)
    assert (first.deleted, first.kept_from) == (2, 3)
    report = verify_audit_chain(_uow(database))  # the 3 kept and the purge's own entry
    assert (report.ok, report.entries, report.kept_from, report.head_seq) == (True, 4, 3, 6)
    [purged] = search(_uow(database), AuditFilters(action="audit.purge"), before=None, limit=5)[0]
    assert (purged.seq, purged.actor_id, purged.subject) == (6, None, "audit")
    assert purged.before == {"kept_from": 1}
    assert (purged.after["kept_from"], purged.after["deleted"]) == (3, 2)
    with pytest.raises(DBAPIError, match="append-only"):  # the kept ones stay protected
        _sql(database, "DELETE FROM audit_entries WHERE seq = 3")
    assert purge(_uow(database), retention_days=250, now=NOW).deleted == 0

    _append(database, 1)  # appends go on linking to the head
    second = purge(_uow(database), retention_days=183, now=NOW)
    assert (second.deleted, second.kept_from) == (1, 4)
    assert _problems(database) == []
    kept = search(_uow(database), AuditFilters(), before=None, limit=10)[0]
    assert [e.seq for e in kept] == [8, 7, 6, 5, 4]


def test_purging_every_entry_keeps_the_head_as_anchor(database: Database) -> None:
    _append(database, 3, at=NOW - timedelta(days=400))
    result = purge(_uow(database), retention_days=183, now=NOW)
    assert (result.deleted, result.kept_from) == (3, 4)
    assert _problems(database) == []
    _append(database, 2)
    report = verify_audit_chain(_uow(database))  # the purge's entry (seq 4) and the two
    assert (report.ok, report.entries, report.head_seq) == (True, 3, 6)


def test_a_cutoff_moved_by_hand_is_flagged(database: Database) -> None:
    """Advancing the cutoff around the service lets rows be deleted, but not unseen."""
    _append(database, 3)
    _sql(database, "UPDATE audit_retention SET kept_from = 3")
    _sql(database, "DELETE FROM audit_entries WHERE seq < 3")
    assert _problems(database) == ["audit seq 3: prev_hash does not link to the entry before"]


def test_search_filters_by_actor_action_subject_and_time(database: Database) -> None:
    _append(database, 2, at=NOW - timedelta(days=2), actor=1)
    _append(database, 2, at=NOW, actor=2)
    uow = _uow(database)

    def seqs(**filters: Any) -> list[int]:
        return [e.seq for e in search(uow, AuditFilters(**filters), before=None, limit=50)[0]]

    assert seqs() == [4, 3, 2, 1]
    assert seqs(actor_id=1) == [2, 1]
    assert seqs(subject="contest:0") == [3, 1]
    assert seqs(action="contest.") == [4, 3, 2, 1]
    assert seqs(action="contest") == []
    assert seqs(since=NOW - timedelta(days=1)) == [4, 3]
    assert seqs(until=NOW - timedelta(days=1)) == [2, 1]
    page, last = search(uow, AuditFilters(), before=None, limit=3)
    assert ([e.seq for e in page], last) == ([4, 3, 2], 2)
    assert [e.seq for e in search(uow, AuditFilters(), before=last, limit=3)[0]] == [1]
    with pytest.raises(RuleViolation):
        seqs(since=NOW, until=NOW)


@pytest.mark.postgres_only
def test_concurrent_appends_make_one_unbroken_chain(pg_url: str) -> None:
    database = Database.connect(pg_url)
    try:
        results = race(8, lambda i: _append(database, 3, actor=i + 1))
        assert [r for r in results if isinstance(r, Exception)] == []
        report = verify_audit_chain(_uow(database))
        assert (report.ok, report.entries, report.head_seq) == (True, 24, 24)
    finally:
        database.dispose()


def test_the_cli_verifies_and_purges(db_url: str, database: Database) -> None:
    _append(database, 2, at=NOW - timedelta(days=4000))
    _append(database, 1)
    clean = runner.invoke(cli, ["audit", "verify", "--database-url", db_url])
    assert (clean.exit_code, clean.output) == (0, "ok: 3 entries, head at seq 3\n")
    short = runner.invoke(
        cli, ["audit", "purge", "--database-url", db_url, "--retention-days", "90"]
    )
    assert short.exit_code == 1 and "at least 183 days" in short.output
    purged = runner.invoke(cli, ["audit", "purge", "--database-url", db_url])
    assert purged.exit_code == 0, purged.output
    assert "purged 2 entries" in purged.output and "starts at seq 3" in purged.output
    kept = runner.invoke(cli, ["audit", "verify", "--database-url", db_url])
    assert kept.exit_code == 0 and "seq 3 to 4" in kept.output  # 4: the purge itself

    _drop_triggers(database)
    _sql(database, "UPDATE audit_entries SET actor_id = 99 WHERE seq = 3")
    broken = runner.invoke(cli, ["audit", "verify", "--database-url", db_url])
    assert broken.exit_code == 1
    assert "audit seq 3: content does not match its hash" in broken.output


def test_an_operator_action_from_the_shell_is_audited(db_url: str, database: Database) -> None:
    created = runner.invoke(
        cli,
        ["user", "create", "--database-url", db_url, "--username", "root"]
        + ["--role", "operator", "--password", "correct horse battery"],
    )
    assert created.exit_code == 0, created.output
    [entry] = search(_uow(database), AuditFilters(action="user.create"), before=None, limit=5)[0]
    assert (entry.actor_id, entry.subject) == (None, f"user:{entry.after['id']}")
    assert entry.after["roles"] == ["operator"]
    assert entry.request["command"].endswith("user create")
    assert entry.request["params"]["password"] == "[redacted]"
    assert entry.request["params"]["username"] == "[redacted]"  # a name: the log keeps ids
    assert "correct horse" not in str(entry)
    assert entry.request["params"]["database_url"] == "[redacted]"  # it may hold a password
    assert _problems(database) == []

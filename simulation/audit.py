"""The audit at the end of a season: the ledger's, and every registered invariant check.

Verifying the ledger replays every transfer's hash and every balance: seconds of one core. The
report's plots take about as long and do not depend on it, so verification runs in a second
process (forked, so it imports nothing) while this one draws; the two meet before the report's
audited sections are written. A database only this process can see (in-memory SQLite), or a
platform without ``fork``, verifies in line instead.

The invariant checks (``core.checks``; ``paperleague simulate`` passes the registry of
``api.checks``) run here after the plots, the ledger's own from that verification rather than a
second replay.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from sqlalchemy.engine import make_url

from contracts.checks import ChainContext, CheckContext
from contracts.verification import ChainReader
from core.checks import Check, CheckReport, run
from core.db import Database
from ledger import services as ledger_services
from ledger.checks import trial_balance_problems
from ledger.checks_registry import LEDGER_CHECK
from ledger.model import EXPIRED, ISSUANCE, POINTS, REDEEMED
from ledger.services import LedgerUnitOfWork, VerifyReport
from simulation.model import LedgerAudit


class LedgerVerification:
    """``ledger.services.verify`` over the database at ``url``, started now, read later."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._report: VerifyReport | None = None
        self._future: Future[VerifyReport] | None = None
        if _shareable(url) and "fork" in multiprocessing.get_all_start_methods():
            executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self._future = executor.submit(verify_database, url)
            executor.shutdown(wait=False)  # the worker exits once it has answered

    def result(self) -> VerifyReport:
        """The verification (waits for it; verifies once however often asked)."""
        if self._report is None:
            future = self._future
            self._report = verify_database(self._url) if future is None else future.result()
        return self._report


def verify_database(url: str) -> VerifyReport:
    """Verify the ledger at ``url`` over a connection of this process's own."""
    database = Database.connect(url)
    try:
        return ledger_services.verify(LedgerUnitOfWork(database.sessions))
    finally:
        database.dispose()


def ledger_audit(ledger: LedgerUnitOfWork) -> LedgerAudit:
    """The audit the report and the summary show, before verification (``with_verification``
    adds it): the sections that do not show verification can be drawn meanwhile."""
    trial = ledger_services.trial_balance(ledger)

    def posted(account: str) -> int:
        balance = trial.accounts.get((account, POINTS))
        return 0 if balance is None else balance.posted

    return LedgerAudit(
        transfers=0,
        verify_errors=(),
        trial_balance=dict(sorted(trial.totals.items())),
        pending_totals=dict(sorted(trial.pending_totals.items())),
        minted=-posted(ISSUANCE),
        redeemed=posted(REDEEMED),
        expired=posted(EXPIRED),
    )


def with_verification(audit: LedgerAudit, verified: VerifyReport) -> LedgerAudit:
    return replace(audit, transfers=verified.transfers, verify_errors=tuple(verified.errors))


def _shareable(url: str) -> bool:
    """Whether another process reaches the same database through ``url``."""
    parsed = make_url(url)
    return not (parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"))


def audit_checks(
    checks: Sequence[Check[ChainContext]],
    database: Database,
    chain: ChainReader,
    verification: LedgerVerification,
) -> CheckReport:
    """Every check of ``checks`` over the season's database and chain; the ledger's own
    (``LEDGER_CHECK``) takes the errors of ``verification`` instead of replaying again."""
    ledger = LedgerUnitOfWork(database.sessions)

    def verified_ledger(_: ChainContext) -> list[str]:
        trial = ledger_services.trial_balance(ledger)
        return [*verification.result().errors, *trial_balance_problems(trial)]

    audited = [
        replace(check, problems=verified_ledger) if check.name == LEDGER_CHECK else check
        for check in checks
    ]
    return run(audited, CheckContext(database.sessions, chain=lambda: chain))

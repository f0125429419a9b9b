"""Every invariant check of the house, in one list: the composition root of ``core.checks``.

Each package registers its own checks in its ``checks`` module; this module only gathers them.
``paperleague check`` and ``GET /v1/admin/checks`` run them here; ``paperleague simulate``
hands the same list to the season simulation's audit (which may not import ``api``). Every
check takes a ``ChainContext`` (the widest need: sessions and a chain); ``CheckContext`` is one.
"""

from __future__ import annotations

from api.privacy import SECTIONS
from contracts import checks as contracts_checks
from contracts.checks import ChainContext, CheckContext
from core.audit import checks as audit_checks
from core.checks import Check, CheckReport, run
from core.privacy import checks as privacy_checks
from engine.contests import checks as contests_checks
from engine.leagues import checks as leagues_checks
from engine.trading import checks as trading_checks
from ledger import checks_registry as ledger_checks

__all__ = ["ChainContext", "CheckContext", "registered_checks", "run_checks"]


def registered_checks() -> list[Check[ChainContext]]:
    """All checks, in the order they run and are shown."""
    return [
        *trading_checks.CHECKS,
        *contests_checks.CHECKS,
        *leagues_checks.CHECKS,
        *ledger_checks.CHECKS,
        *contracts_checks.CHECKS,
        *privacy_checks.checks(SECTIONS),
        *audit_checks.CHECKS,
    ]


def run_checks(context: ChainContext) -> CheckReport:
    return run(registered_checks(), context)

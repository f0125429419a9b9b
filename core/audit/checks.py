"""The audit log's invariant for the check registry (``core.checks``): its hash chain."""

from __future__ import annotations

from core.audit.services import AuditUnitOfWork, verify_audit_chain
from core.checks import Check, DatabaseContext

AUDIT_CHECK = "core.audit_chain"


def _chain(context: DatabaseContext) -> list[str]:
    return [
        str(problem) for problem in verify_audit_chain(AuditUnitOfWork(context.sessions)).problems
    ]


CHECKS: list[Check[DatabaseContext]] = [
    Check(
        name=AUDIT_CHECK,
        package="core",
        description="every kept audit entry matches its hash and links to the one before, from "
        "the retention anchor to the head; no purge cut younger than 183 days",
        problems=_chain,
    ),
]

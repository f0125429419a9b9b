"""Operators search the audit log of every operator action, and verify its hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import DatabaseDep, OperatorUser, PageParams
from api.http.problems import problem_doc
from api.http.schemas.audit import AuditEntryOut, AuditVerifyOut
from api.http.schemas.common import AwareMoment, Page
from core.audit import services
from core.audit.model import ACTION_SYNTAX, MAX_SUBJECT
from core.audit.services import AuditUnitOfWork
from core.pagination import decode_cursor, encode_cursor

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
    },
)


@router.get(
    "/audit",
    response_model=Page[AuditEntryOut],
    responses={422: problem_doc("A malformed filter, or `until` not after `since`")},
)
def search_audit(
    _: OperatorUser,
    database: DatabaseDep,
    page: PageParams,
    actor: Annotated[int | None, Query(ge=1, le=2_147_483_647, description="Operator id")] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=rf"^{ACTION_SYNTAX}\.?$|^[a-z][a-z0-9_]*\.$",
            description="An action (`contest.update`), or a prefix ending in `.` (`contest.`)",
        ),
    ] = None,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=MAX_SUBJECT, description="`contest:12`")
    ] = None,
    since: Annotated[AwareMoment | None, Query(description="From this instant (inclusive)")] = None,
    until: Annotated[AwareMoment | None, Query(description="Before this instant")] = None,
) -> Page[AuditEntryOut]:
    """Audit entries matching every filter given, newest first."""
    filters = services.AuditFilters(
        actor_id=actor, action=action, subject=subject, since=since, until=until
    )
    entries, last = services.search(
        AuditUnitOfWork(database.sessions),
        filters,
        before=decode_cursor(page.cursor),
        limit=page.limit,
    )
    return Page(
        items=[AuditEntryOut.of(entry) for entry in entries],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get("/audit/verify", response_model=AuditVerifyOut)
def verify_audit(_: OperatorUser, database: DatabaseDep) -> AuditVerifyOut:
    """Recompute the audit log's hash chain; list each forged, edited or missing entry."""
    report = services.verify_audit_chain(AuditUnitOfWork(database.sessions))
    return AuditVerifyOut(
        ok=report.ok,
        entries=report.entries,
        kept_from=report.kept_from,
        head_seq=report.head_seq,
        problems=[str(problem) for problem in report.problems],
    )

"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.http.deps import DatabaseDep
from api.http.problems import problem_doc, problem_response
from api.http.schemas.common import Health, Readiness
from core import migrations
from core.db import Database

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: problem_doc("Database unreachable or schema not at head")},
)
async def readyz(database: DatabaseDep) -> Readiness | JSONResponse:
    """The database answers and its schema is at the latest migration."""
    try:
        revision = await run_in_threadpool(_current_revision, database)
    except SQLAlchemyError as exc:
        return problem_response(
            503, f"database unreachable: {type(exc).__name__}", instance="/readyz"
        )
    head = migrations.head_revision()
    if revision != head:
        return problem_response(
            503,
            f"schema at {revision}, expected {head}",
            instance="/readyz",
            revision=revision,
            head=head,
        )
    return Readiness(
        status="ready", database=database.engine.dialect.name, revision=revision, head=head
    )


def _current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return migrations.current_revision(database.engine)

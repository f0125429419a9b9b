"""Member data rights (PIPL): consents to versioned documents, data export, erasure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from api import privacy
from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import (
    ClientAddress,
    CurrentUser,
    IdPath,
    OperatorUser,
    PageCacheDep,
    PrivacyUow,
)
from api.http.problems import problem_doc
from api.http.schemas.privacy import (
    ConsentDocumentIn,
    ConsentDocumentOut,
    ConsentIn,
    ConsentRecordOut,
    ConsentsOut,
    ConsentStateOut,
    EraseIn,
    ErasureOut,
    ErasureRequestIn,
    ErasureRequestOut,
)
from core.privacy import services
from core.privacy.model import ConsentKind

router = APIRouter(tags=["privacy"], responses={401: problem_doc("Not authenticated")})
admin_router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
public_router = APIRouter(tags=["privacy"])

EXPORT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The member's data as a JSON file (Content-Disposition: attachment)",
        "content": {"application/json": {}},
    },
    404: problem_doc("No such user"),
}


def _file(name_and_body: tuple[str, bytes]) -> Response:
    name, body = name_and_body
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


# --- documents ----------------------------------------------------------------------------------


@public_router.get("/consent-documents", response_model=list[ConsentDocumentOut])
def list_documents(uow: PrivacyUow) -> list[ConsentDocumentOut]:
    """Every published version of the terms, the privacy notice and the questionnaire."""
    return [ConsentDocumentOut.of(d) for d in services.documents(uow)]


@admin_router.post(
    "/consent-documents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentDocumentOut,
    responses={422: problem_doc("Empty or too long title or text")},
)
@audited(
    "consent_document.publish",
    subject="consent_document:{result.kind}:{result.version}",
    state=states.consent_document,
)
def publish_document(
    body: ConsentDocumentIn, operator: OperatorUser, uow: PrivacyUow
) -> ConsentDocumentOut:
    """Publish the next version of a document; a new terms version must be accepted anew."""
    document = services.publish_document(
        uow, body.kind, title=body.title, body=body.body, operator_id=operator.id
    )
    return ConsentDocumentOut.of(document)


# --- the member's consents ----------------------------------------------------------------------


@router.get("/me/consents", response_model=ConsentsOut)
def my_consents(user: CurrentUser, uow: PrivacyUow) -> ConsentsOut:
    """Where you stand with each document, and every acceptance and withdrawal you made."""
    return ConsentsOut(
        states=[ConsentStateOut.of(s) for s in services.consent_states(uow, user.id)],
        history=[ConsentRecordOut.of(r) for r in services.consent_history(uow, user.id)],
    )


@router.post(
    "/me/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentRecordOut,
    responses={
        404: problem_doc("No such document version"),
        422: problem_doc("Not the latest version (latest_version)"),
    },
)
def accept_consent(
    body: ConsentIn, user: CurrentUser, uow: PrivacyUow, address: ClientAddress
) -> ConsentRecordOut:
    """Accept the latest version of a document."""
    record = services.accept(uow, user.id, body.kind, version=body.version, address=address)
    return ConsentRecordOut.of(record)


@router.post(
    "/me/consents/{kind}/withdrawal",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentRecordOut,
    responses={422: problem_doc("No standing consent to withdraw (consent_not_given)")},
)
def withdraw_consent(
    kind: ConsentKind, user: CurrentUser, uow: PrivacyUow, address: ClientAddress
) -> ConsentRecordOut:
    """Withdraw your consent to a document (withdrawing the terms stops your writes)."""
    return ConsentRecordOut.of(services.withdraw(uow, user.id, kind, address=address))


# --- export and erasure -------------------------------------------------------------------------


@router.get("/me/data-export", response_class=Response, responses=EXPORT_DOC)
def my_data_export(user: CurrentUser, uow: PrivacyUow) -> Response:
    """Download everything stored about you, as a JSON file."""
    return _file(privacy.export_file(uow, user.id))


@router.post(
    "/me/erasure-request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasureRequestOut,
)
def request_erasure(
    body: ErasureRequestIn, user: CurrentUser, uow: PrivacyUow
) -> ErasureRequestOut:
    """Ask to be erased; an operator executes the request (asking again answers the same)."""
    return ErasureRequestOut.of(services.request_erasure(uow, user.id, note=body.note))


@admin_router.get("/erasure-requests", response_model=list[ErasureRequestOut])
def list_erasure_requests(
    _: OperatorUser,
    uow: PrivacyUow,
    status_: Annotated[
        Literal["pending", "erased"] | None, Query(alias="status", description="Filter")
    ] = None,
    after: Annotated[int | None, Query(ge=0, le=2_147_483_647)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ErasureRequestOut]:
    """Erasure requests, oldest first (``after``: the last id of the previous page)."""
    found = services.erasure_requests(uow, status=status_, after=after, limit=limit)
    return [ErasureRequestOut.of(r) for r in found]


@admin_router.get("/users/{user_id}/data-export", response_class=Response, responses=EXPORT_DOC)
def member_data_export(user_id: IdPath, _: OperatorUser, uow: PrivacyUow) -> Response:
    """Download everything stored about a member, as a JSON file."""
    return _file(privacy.export_file(uow, user_id))


@admin_router.post(
    "/users/{user_id}/erase",
    response_model=ErasureOut,
    responses={
        404: problem_doc("No such user"),
        409: problem_doc("A live contest entry or an unpaid prize (erasure_blocked)"),
    },
)
@audited("user.erase", subject="user:{user_id}", state=states.user)
def erase_member(
    user_id: IdPath, body: EraseIn, operator: OperatorUser, uow: PrivacyUow, pages: PageCacheDep
) -> ErasureOut:
    """Erase a member: personal data deleted, the account pseudonymised, the ledger kept."""
    outcome = privacy.erase(
        uow, user_id, operator_id=operator.id, reason=body.reason, pages=pages
    )
    return ErasureOut.of(outcome)

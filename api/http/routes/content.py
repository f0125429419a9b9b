"""Authors register content and download certificates; anyone verifies a certificate."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.http.chain_deps import ContentChainDep, ContentUow, anchor_if_due
from api.http.deps import AuthorUser, CurrentUser, IdPath, PageParams
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.content import CertificateOut, ContentIn, ContentOut, VerdictOut, VerifyIn
from contracts import services
from contracts.certificates import parse_certificate
from contracts.normalize import CONTENT_TYPES
from contracts.registration import MAX_CONTENT_BYTES, register_content
from contracts.verification import verify_certificate
from core.errors import RuleViolation
from core.pagination import decode_cursor, encode_cursor
from core.users.model import Role

router = APIRouter(tags=["content"])
logger = logging.getLogger("paperleague.anchoring")
M = TypeVar("M", bound=BaseModel)

_MULTIPART_CONTENT = {
    "type": "object",
    "required": ["title", "file"],
    "properties": {
        "title": {"type": "string", "maxLength": 300},
        "file": {"type": "string", "format": "binary"},
        "content_type": {
            "type": "string",
            "enum": sorted(CONTENT_TYPES),
            "description": "Overrides the file part's own Content-Type",
        },
    },
}


def _body_doc(json_model: type[BaseModel], multipart: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_model.model_json_schema()},
                "multipart/form-data": {"schema": multipart},
            },
        }
    }


@router.post(
    "/content",
    status_code=status.HTTP_201_CREATED,
    response_model=ContentOut,
    openapi_extra=_body_doc(ContentIn, _MULTIPART_CONTENT),
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Authors only"),
        409: problem_doc("Prior art: the same normalized content is already registered"),
        415: problem_doc("Neither JSON nor multipart/form-data"),
        422: problem_doc("Empty, oversized or unsupported content; or blocked by the policy"),
    },
)
async def register(
    request: Request, user: AuthorUser, uow: ContentUow, background: BackgroundTasks
) -> ContentOut:
    """Register a piece (JSON text, or a file upload) as pending; anchoring certifies it."""
    title, content, content_type = await _submission(request)
    registration = await run_in_threadpool(
        register_content,
        uow,
        user.id,
        title=title,
        content=content,
        content_type=content_type,
    )
    background.add_task(_anchor_if_full, request)
    return ContentOut.of(registration)


def _anchor_if_full(request: Request) -> None:
    # A failure here must not reach the client (it already has its 201): the periodic
    # auto-anchoring retries.
    try:
        anchor_if_due(request.app, finality=False)
    except Exception:
        logger.exception("anchoring after a registration failed; the next round retries")


async def _submission(request: Request) -> tuple[str, bytes, str]:
    media_type = _media_type(request.headers.get("content-type"))
    if media_type == "application/json":
        body = _parse_json(ContentIn, await request.body())
        return body.title, body.text.encode(), body.content_type
    if media_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            title = form.get("title")
            if not isinstance(upload, UploadFile):
                raise RuleViolation("a file part is required", field="file", rule="required")
            if not isinstance(title, str):
                raise RuleViolation("a title is required", field="title", rule="required")
            if "\x00" in title:  # JSON and form text are screened app-wide (api.http.input_guard)
                raise RuleViolation("title contains a NUL character", field="title", rule="no_nul")
            declared = form.get("content_type")
            content_type = declared if isinstance(declared, str) else upload.content_type
            content = await upload.read(MAX_CONTENT_BYTES + 1)
        return title, content, _media_type(content_type) or "application/octet-stream"
    raise HTTPException(415, "send application/json or multipart/form-data")


def _media_type(header: str | None) -> str | None:
    return header.split(";", 1)[0].strip().lower() if header else None


def _parse_json(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


@router.get(
    "/me/content",
    response_model=Page[ContentOut],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Authors only")},
)
def my_content(user: AuthorUser, uow: ContentUow, page: PageParams) -> Page[ContentOut]:
    """The caller's registered pieces, newest first, with status and findings."""
    items, last = services.my_content(
        uow, user.id, before=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[ContentOut.of(r) for r in items],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get(
    "/content/{content_id}",
    response_model=ContentOut,
    responses={
        401: problem_doc("Not authenticated"),
        404: problem_doc("No such piece among the caller's (operators see all)"),
    },
)
def get_content(content_id: IdPath, user: CurrentUser, uow: ContentUow) -> ContentOut:
    """One piece with its status, findings and review decision (the author's own, or any)."""
    author_id = None if user.has_any(Role.OPERATOR) else user.id
    return ContentOut.of(services.content(uow, content_id, author_id=author_id))


@router.get(
    "/certificates/{content_id}",
    response_model=CertificateOut,
    responses={
        401: problem_doc("Not authenticated"),
        404: problem_doc("No such piece among the caller's (operators see all)"),
        409: problem_doc(
            "Still pending, held for review or rejected: the certificate exists once anchored"
        ),
    },
)
def get_certificate(content_id: IdPath, user: CurrentUser, uow: ContentUow) -> JSONResponse:
    """The certificate JSON of an anchored piece, as a downloadable file."""
    author_id = None if user.has_any(Role.OPERATOR) else user.id
    certificate = services.certificate(uow, content_id, author_id=author_id)
    filename = f"paperleague-certificate-{content_id}.json"
    return JSONResponse(
        certificate.to_json(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


_MULTIPART_VERIFY = {
    "type": "object",
    "required": ["certificate", "content"],
    "properties": {
        "certificate": {"type": "string", "format": "binary", "description": "CERT.json"},
        "content": {"type": "string", "format": "binary", "description": "The content file"},
    },
}


@router.post(
    "/certificates/verify",
    response_model=VerdictOut,
    openapi_extra=_body_doc(VerifyIn, _MULTIPART_VERIFY),
    responses={
        415: problem_doc("Neither JSON nor multipart/form-data"),
        422: problem_doc("Malformed certificate (names the field) or missing content"),
        503: problem_doc("The chain node does not answer"),
    },
)
async def verify(request: Request, chain: ContentChainDep) -> VerdictOut:
    """Check content against a certificate and the certificate against the chain; public."""
    document, content = await _verify_input(request)
    certificate = parse_certificate(document)
    reader = await run_in_threadpool(chain.reader)
    verdict = await run_in_threadpool(verify_certificate, certificate, content, reader)
    return VerdictOut.of(verdict)


async def _verify_input(request: Request) -> tuple[Any, bytes]:
    media_type = _media_type(request.headers.get("content-type"))
    if media_type == "application/json":
        body = _parse_json(VerifyIn, await request.body())
        return body.certificate, _content_of(body)
    if media_type == "multipart/form-data":
        async with request.form(max_files=2, max_fields=2) as form:
            parts = {}
            for name in ("certificate", "content"):
                part = form.get(name)
                if not isinstance(part, UploadFile):
                    raise RuleViolation(
                        f"a {name} file part is required", field=name, rule="required"
                    )
                parts[name] = await part.read(MAX_CONTENT_BYTES + 1)
        return parts["certificate"], _bounded(parts["content"], "content")
    raise HTTPException(415, "send application/json or multipart/form-data")


def _content_of(body: VerifyIn) -> bytes:
    if (body.content is None) == (body.content_base64 is None):
        raise RuleViolation(
            "give exactly one of content and content_base64", field="content", rule="one_of"
        )
    if body.content is not None:
        return _bounded(body.content.encode(), "content")
    try:
        decoded = base64.b64decode(body.content_base64 or "", validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text
        raise RuleViolation(f"not base64: {exc}", field="content_base64", rule="base64") from exc
    return _bounded(decoded, "content_base64")


def _bounded(content: bytes, field: str) -> bytes:
    if len(content) > MAX_CONTENT_BYTES:
        raise RuleViolation(
            f"content is larger than {MAX_CONTENT_BYTES} bytes", field=field, rule="max_size"
        )
    return content

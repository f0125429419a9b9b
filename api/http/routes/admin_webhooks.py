"""Operators: webhook endpoints (CRUD) and their deliveries (list, retry a failed one)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import IdPath, OperatorUser, PageParams, WebhooksUow
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.webhooks import (
    AttemptOut,
    CreatedEndpointOut,
    DeliveryOut,
    DeliveryStatus,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
)
from core import webhooks
from core.pagination import decode_cursor, encode_cursor

router = APIRouter(
    prefix="/admin/webhooks",
    tags=["admin"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No such endpoint")}


@router.get("", response_model=list[EndpointOut])
def list_endpoints(_: OperatorUser, uow: WebhooksUow) -> list[EndpointOut]:
    """Every webhook endpoint, oldest first."""
    return [EndpointOut.of(e) for e in webhooks.list_endpoints(uow)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CreatedEndpointOut)
@audited("webhook.create", subject="webhook:{result.id}", state=states.webhook_endpoint)
def create_endpoint(body: EndpointIn, _: OperatorUser, uow: WebhooksUow) -> CreatedEndpointOut:
    """Register an endpoint for some event kinds; the response shows its secret, once."""
    created = webhooks.create_endpoint(uow, body.url, kinds=body.kinds, secret=body.secret)
    return CreatedEndpointOut(
        **EndpointOut.of(created.endpoint).model_dump(), secret=created.secret
    )


@router.get("/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    _: OperatorUser,
    uow: WebhooksUow,
    page: PageParams,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
) -> Page[DeliveryOut]:
    """Deliveries, newest first; ``status=failed`` lists those that gave up."""
    found, last = webhooks.list_deliveries(
        uow, status=delivery_status, after=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[DeliveryOut.of(d) for d in found],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get(
    "/deliveries/{delivery_id}/attempts",
    response_model=list[AttemptOut],
    responses={404: problem_doc("No such delivery")},
)
def list_attempts(delivery_id: IdPath, _: OperatorUser, uow: WebhooksUow) -> list[AttemptOut]:
    """Each attempt of a delivery: status code or error, and when the next was due."""
    return [AttemptOut.of(a) for a in webhooks.delivery_attempts(uow, delivery_id)]


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    responses={404: problem_doc("No such delivery"), 409: problem_doc("Not failed")},
)
@audited(
    "webhook_delivery.retry",
    subject="webhook_delivery:{delivery_id}",
    state=states.webhook_delivery,
)
def retry_delivery(delivery_id: IdPath, _: OperatorUser, uow: WebhooksUow) -> DeliveryOut:
    """Send a failed delivery again (due now, with a fresh set of attempts)."""
    return DeliveryOut.of(webhooks.retry_delivery(uow, delivery_id))


@router.get("/{endpoint_id}", response_model=EndpointOut, responses=NOT_FOUND)
def get_endpoint(endpoint_id: IdPath, _: OperatorUser, uow: WebhooksUow) -> EndpointOut:
    """One webhook endpoint."""
    return EndpointOut.of(webhooks.get_endpoint(uow, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointOut, responses=NOT_FOUND)
@audited("webhook.update", subject="webhook:{endpoint_id}", state=states.webhook_endpoint)
def update_endpoint(
    endpoint_id: IdPath, body: EndpointPatch, _: OperatorUser, uow: WebhooksUow
) -> EndpointOut:
    """Change an endpoint's URL, kinds or whether it is active."""
    return EndpointOut.of(
        webhooks.update_endpoint(
            uow, endpoint_id, url=body.url, kinds=body.kinds, active=body.active
        )
    )


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
@audited("webhook.delete", subject="webhook:{endpoint_id}", state=states.webhook_endpoint)
def delete_endpoint(endpoint_id: IdPath, _: OperatorUser, uow: WebhooksUow) -> Response:
    """Remove an endpoint and its deliveries."""
    webhooks.delete_endpoint(uow, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""The HTTP layer's section of a member's data: their Idempotency-Key records.

A stored response body may repeat anything the member sent or was shown (names included), so
erasure deletes the records; an erased member can no longer sign in to replay them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from api.http.store import IdempotencyRow
from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import delete_rows, rows_of
from core.users.model import UserId

# Only what identifies the request: the stored response is the member's own earlier answer.
EXPORTED = ("key", "method", "path", "status", "response_status", "created_at")


def export_idempotency(session: Session, user_id: UserId) -> JsonDict:
    rows = rows_of(session, "idempotency_keys", "user_id", [user_id])
    return {"idempotency_keys": [{k: row[k] for k in EXPORTED} for row in rows]}


def erase_idempotency(session: Session, user_id: UserId) -> Mapping[str, int]:
    return {"idempotency_keys": delete_rows(session, "idempotency_keys", "user_id", [user_id])}


IDEMPOTENCY_SECTION = Section(
    name="requests",
    tables=(
        TableUse(
            "idempotency_keys",
            "user_id",
            Treatment.DELETED,
            "stored request digests and response bodies may hold personal data",
        ),
    ),
    export=export_idempotency,
    erase=erase_idempotency,
)

_MAPPED = (IdempotencyRow,)

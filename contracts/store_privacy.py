"""The content registry's section of a member's data (PIPL export and erasure).

A registration's leaf is anchored on chain and its certificate (author id, title, hashes) is
the proof its author, or anyone they gave it to, verifies against the chain: it stays. It names
the author by id, not by name; the content itself was never stored (only salted hashes).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from contracts.store import ContentRegistrationRow
from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId

# Salts and the near-duplicate hash bands are the proof's secrets, not the member's data.
SECRET_COLUMNS = ("salt",)


def export_content(session: Session, user_id: UserId) -> JsonDict:
    """The member's content registrations (hashes, status, anchor batch, titles)."""
    return {
        "registrations": rows_of(
            session, "content_registrations", "author_id", [user_id], omit=SECRET_COLUMNS
        )
    }


def erase_content(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Nothing to change: see the module docstring."""
    return {}


CONTENT_SECTION = Section(
    name="content",
    tables=(
        TableUse(
            "content_registrations",
            "author_id",
            Treatment.KEPT,
            "anchored on chain; the certificate must keep verifying (author id, no name)",
        ),
        TableUse("content_reviews", "decided_by", Treatment.KEPT, "which operator decided (an id)"),
    ),
    export=export_content,
    erase=erase_content,
)

_MAPPED = (ContentRegistrationRow,)

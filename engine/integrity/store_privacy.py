"""The integrity section of a member's data (PIPL export and erasure).

Sign-up and login signals (address, device id, user-agent hash) are personal data: deleted, and
blanked in the evidence of the review cases that name the member. Person links and case
memberships stay: they decide who may rank (an erased account must not rank twice) and name
accounts by id only.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from core.integrity.store import SignalRepository
from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId
from engine.integrity.services import erase_signals_in
from engine.integrity.store import IntegrityRepository

WHO_MAY_RANK = (
    "decides which account of a person ranks (ids only); erasing it would let one rank twice"
)
DECIDER = "which operator decided (an id)"


def export_integrity(session: Session, user_id: UserId) -> JsonDict:
    """The member's sign-up and login signals, person link and review-case memberships."""
    return {
        "signals": rows_of(session, "member_signals", "user_id", [user_id]),
        "person_links": rows_of(session, "person_links", "user_id", [user_id]),
        "review_cases": rows_of(session, "integrity_case_members", "user_id", [user_id]),
    }


def erase_integrity(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Delete the member's signals and blank them in case evidence."""
    deleted = erase_signals_in(SignalRepository(session), IntegrityRepository(session), user_id)
    return {"member_signals": deleted}


INTEGRITY_SECTION = Section(
    name="integrity",
    tables=(
        TableUse("member_signals", "user_id", Treatment.DELETED, "addresses and devices: personal"),
        TableUse("person_links", "user_id", Treatment.KEPT, WHO_MAY_RANK),
        TableUse("integrity_case_members", "user_id", Treatment.KEPT, WHO_MAY_RANK),
        TableUse("integrity_cases", "decided_by", Treatment.KEPT, DECIDER),
    ),
    export=export_integrity,
    erase=erase_integrity,
)

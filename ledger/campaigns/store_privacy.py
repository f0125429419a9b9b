"""The campaigns' section of a member's data (PIPL export and erasure).

A member's campaign grants explain points or items paid in the ledger (and what a campaign's
budget was charged), and their experiment assignment is a unit of a measured result: both stay
under the pseudonymised id (ids only) and are exported. A member's own time zone is personal
data and is deleted. Campaigns and experiments name their operator by id.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId
from ledger.campaigns.store import MemberTimeZoneRow

GRANT = "a campaign grant: the reason for a ledger transfer and a budget charge; ids only"
ASSIGNMENT = "an experiment's unit of measurement (a variant and a day); ids only"
OPERATOR = "which operator set it up (an id)"


def export_campaigns(session: Session, user_id: UserId) -> JsonDict:
    """The member's campaign grants, experiment assignments and own time zone."""
    return {
        "grants": rows_of(session, "campaign_grants", "member_id", [user_id]),
        "experiment_assignments": rows_of(
            session, "experiment_assignments", "member_id", [user_id]
        ),
        "time_zone": rows_of(session, "member_time_zones", "member_id", [user_id]),
    }


def erase_campaigns(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Delete the member's own time zone; grants and assignments stay (module docstring)."""
    result = session.execute(
        delete(MemberTimeZoneRow).where(MemberTimeZoneRow.member_id == user_id)
    )
    return {"member_time_zones": int(result.rowcount)}  # type: ignore[attr-defined]


CAMPAIGN_SECTION = Section(
    name="campaigns",
    tables=(
        TableUse("campaign_grants", "member_id", Treatment.KEPT, GRANT),
        TableUse("experiment_assignments", "member_id", Treatment.KEPT, ASSIGNMENT),
        TableUse("member_time_zones", "member_id", Treatment.DELETED, "personal data"),
        TableUse("campaigns", "created_by", Treatment.KEPT, OPERATOR),
        TableUse("experiments", "created_by", Treatment.KEPT, OPERATOR),
    ),
    export=export_campaigns,
    erase=erase_campaigns,
)

"""The member event feed's section of a member's data (PIPL export and erasure).

Events are notices of the member's own order fills and statuses (the facts stay in the
trading tables): exported, and deleted on erasure. A contest's broadcasts (rank changes, live
ranks, PK results, feed status: ``user_id`` NULL) name no member; a stream personalizes them
as it reads, so they are no member's data. The minute live rankings hold member ids only, for
a contest's newest few bars.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.member_events_store import MemberEventRow
from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId


def export_member_events(session: Session, user_id: UserId) -> JsonDict:
    return {"events": rows_of(session, "member_events", "user_id", [user_id])}


def erase_member_events(session: Session, user_id: UserId) -> Mapping[str, int]:
    result = session.execute(delete(MemberEventRow).where(MemberEventRow.user_id == user_id))
    return {"member_events": int(getattr(result, "rowcount", 0) or 0)}


MEMBER_EVENTS_SECTION = Section(
    name="member_events",
    tables=(
        TableUse(
            "member_events", "user_id", Treatment.DELETED, "notices of the member's own orders"
        ),
    ),
    export=export_member_events,
    erase=erase_member_events,
)

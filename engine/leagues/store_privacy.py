"""The leagues' section of a member's data (PIPL export and erasure).

A member's league entries and payouts are results others were ranked against and the reasons
for rewards paid in the ledger: they stay under the pseudonymised id (ids only, no names) and
are exported. The league profile holds the member's chosen time zone: exported, and on erasure
reset to the default (it says where the member lives). The rules name their operator by id.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId
from engine.leagues.model import DEFAULT_TIME_ZONE
from engine.leagues.store import LeagueMemberRow

RESULT = "a league result others were ranked against, and a reward's reason; ids only"
PROFILE = "the member's tier stays; the chosen time zone is reset to the default"
OPERATOR = "which operator set the league rules (an id)"


def export_leagues(session: Session, user_id: UserId) -> JsonDict:
    """The member's league profile, weekly entries and payouts."""
    return {
        "profile": rows_of(session, "league_members", "member_id", [user_id]),
        "entries": rows_of(session, "league_entries", "member_id", [user_id]),
        "payouts": rows_of(session, "league_payouts", "member_id", [user_id]),
    }


def erase_leagues(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Reset the member's time zone to the default; results stay (see the module)."""
    result = session.execute(
        update(LeagueMemberRow)
        .where(LeagueMemberRow.member_id == user_id)
        .values(time_zone=DEFAULT_TIME_ZONE)
    )
    return {"league_members": int(result.rowcount)}  # type: ignore[attr-defined]


LEAGUE_SECTION = Section(
    name="leagues",
    tables=(
        TableUse("league_members", "member_id", Treatment.PSEUDONYMISED, PROFILE),
        TableUse("league_entries", "member_id", Treatment.KEPT, RESULT),
        TableUse("league_payouts", "member_id", Treatment.KEPT, RESULT),
        TableUse("league_settings", "updated_by", Treatment.KEPT, OPERATOR),
    ),
    export=export_leagues,
    erase=erase_leagues,
)

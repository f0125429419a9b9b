"""Member data rights, composed: every package's section, the exemptions, the erasure blockers.

A new table with a column that refers to users is declared in its package's section (a
``TableUse`` line) or, when no member's data is in it, in ``EXEMPT`` with the reason; the
table-coverage test (tests/unit/test_privacy_coverage.py) fails until one of them is done.
A new package with member data adds its ``Section`` to ``SECTIONS``.
"""

from __future__ import annotations

import json

from api.http.store_privacy import IDEMPOTENCY_SECTION
from contracts.store_privacy import CONTENT_SECTION
from core.member_events_privacy import MEMBER_EVENTS_SECTION
from core.page_cache import PageCache
from core.privacy import services
from core.privacy.sections import ErasureBlocker, Section
from core.privacy.services import PrivacyUnitOfWork
from core.privacy.store import ACCOUNT_SECTION, CONSENTS_SECTION
from core.segments.store_privacy import SEGMENTS_SECTION
from core.users.model import UserId
from engine.contests import board_pages
from engine.contests import store_privacy as engine_privacy
from engine.integrity.store_privacy import INTEGRITY_SECTION
from engine.leagues.store_privacy import LEAGUE_SECTION
from ledger.campaigns.store_privacy import CAMPAIGN_SECTION
from ledger.quizzes.store_privacy import QUIZ_SECTION
from ledger.store.privacy import LEDGER_SECTION

SECTIONS: tuple[Section, ...] = (
    ACCOUNT_SECTION,
    CONSENTS_SECTION,
    LEDGER_SECTION,
    QUIZ_SECTION,
    SEGMENTS_SECTION,
    CAMPAIGN_SECTION,
    engine_privacy.ENGINE_SECTION,
    LEAGUE_SECTION,
    CONTENT_SECTION,
    INTEGRITY_SECTION,
    IDEMPOTENCY_SECTION,
    MEMBER_EVENTS_SECTION,
)

# (table, column) that refers to users but holds no member's personal data → why.
EXEMPT: dict[tuple[str, str], str] = {
    ("attestations", "subject"): "the attested contest's id, not a member",
    ("audit_entries", "actor_id"): "the operator audit log, kept by law and policy (at least six "
    "months, append-only); it names people by id and redacts names from requests",
    ("audit_entries", "subject"): "the audited subject (e.g. user:12) by id; see actor_id",
}

BLOCKERS: tuple[ErasureBlocker, ...] = (engine_privacy.erasure_blockers,)


def export_file(uow: PrivacyUnitOfWork, user_id: UserId) -> tuple[str, bytes]:
    """The member's export as a file: its name and its JSON bytes (UTF-8, indented)."""
    data = services.export_member(uow, user_id, sections=SECTIONS)
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()
    return f"paperleague-member-{user_id}.json", body


def erase(
    uow: PrivacyUnitOfWork,
    user_id: UserId,
    *,
    operator_id: UserId,
    reason: str,
    pages: PageCache | None = None,
) -> services.ErasureOutcome:
    """Erase the member with every section, unless a blocker refuses (see core.privacy); the
    cached leaderboard pages of ``pages`` (which showed the member's name) are invalidated."""
    outcome = services.erase_member(
        uow, user_id, sections=SECTIONS, blockers=BLOCKERS, operator_id=operator_id, reason=reason
    )
    if pages is not None:
        board_pages.board_changed(pages, uow.sessions)
    return outcome

"""What an audited subject looks like, read for the audit log's ``before`` and ``after``.

Each reader takes the database and the subject's key (``"12"`` of ``"contest:12"``) and
returns the subject as the API shows it to operators (users by id and roles only); a subject
that does not exist raises the domain's ``NotFound`` (recorded as ``null``).
"""

from __future__ import annotations

from dataclasses import asdict

from api.http.schemas.content import PolicyIO, TermsIO
from api.http.schemas.contests import ContestOut, SeasonOut
from api.http.schemas.engagement import EarningRulesIO, LevelIO, LevelsOut, RedemptionOut
from api.http.schemas.settlement import PrizeListOut
from contracts import services as content_services
from contracts.uow import ContentUnitOfWork
from core.audit.model import JsonValue
from core.db import Database
from core.users import services as user_services
from core.users.services import UsersUnitOfWork
from engine.contests import seasons, settlement
from engine.contests import services as contest_services
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger import services as ledger_services
from ledger.model import POINTS, XP, points_account, xp_account
from ledger.services import LedgerUnitOfWork


def user(database: Database, key: str) -> JsonValue:
    """A user's id, roles and whether active; no name (the log outlives a member's erasure,
    so it holds ids, not personal data)."""
    found = user_services.get_user(UsersUnitOfWork(database.sessions), int(key))
    return {"id": found.id, "roles": sorted(found.roles), "is_active": found.is_active}


def member_balances(database: Database, key: str) -> JsonValue:
    """A member's points and XP balances (posted and pending totals)."""
    uow, member = LedgerUnitOfWork(database.sessions), int(key)
    return {
        POINTS: asdict(ledger_services.balance(uow, points_account(member), POINTS)),
        XP: asdict(ledger_services.balance(uow, xp_account(member), XP)),
    }


def levels(database: Database, _: str) -> JsonValue:
    uow = LedgerUnitOfWork(database.sessions)
    with uow.reading():
        table = engagement.current_levels(uow)
    return LevelsOut(version=table.version, levels=[LevelIO.of(lv) for lv in table.levels])


def earning_rules(database: Database, _: str) -> JsonValue:
    uow = LedgerUnitOfWork(database.sessions)
    with uow.reading():
        return EarningRulesIO.of(engagement.current_rules(uow))


def redemption(database: Database, key: str) -> JsonValue:
    return RedemptionOut.of(engagement.get_redemption(LedgerUnitOfWork(database.sessions), key))


def compliance_terms(database: Database, _: str) -> JsonValue:
    return TermsIO(terms=content_services.compliance_terms(ContentUnitOfWork(database.sessions)))


def content_policy(database: Database, _: str) -> JsonValue:
    return PolicyIO.of(content_services.content_policy(ContentUnitOfWork(database.sessions)))


def season(database: Database, key: str) -> JsonValue:
    return SeasonOut.of(seasons.get_season(EngineUnitOfWork(database.sessions), int(key)))


def contest(database: Database, key: str) -> JsonValue:
    return _contest(database, key)


def contest_clock(database: Database, key: str) -> JsonValue:
    """Where a contest's clock stands: its state, last revealed day and tick count."""
    fields = {"state", "clock_day", "clock_ticks"}
    return _contest(database, key).model_dump(mode="json", include=fields)


def _contest(database: Database, key: str) -> ContestOut:
    uow = EngineUnitOfWork(database.sessions)
    return ContestOut.of(contest_services.get_contest(uow, int(key), operator=True))


def prize_list(database: Database, key: str) -> JsonValue:
    uow = EngineUnitOfWork(database.sessions)
    return PrizeListOut.of(settlement.prize_list(uow, int(key), operator=True))

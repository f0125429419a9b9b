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
from api.http.schemas.leagues import LeagueConfigIO, WeekOut
from api.http.schemas.quizzes import QuestionOut, QuizOut
from api.http.schemas.segments import SegmentOut
from api.http.schemas.settlement import PrizeListOut
from api.http.schemas.webhooks import DeliveryOut, EndpointOut
from contracts import services as content_services
from contracts.uow import ContentUnitOfWork
from core import webhooks
from core.audit.model import JsonValue
from core.db import Database
from core.errors import NotFound
from core.privacy import services as privacy_services
from core.privacy.services import PrivacyUnitOfWork
from core.segments import services as segment_services
from core.segments.uow import SegmentsUnitOfWork
from core.users import services as user_services
from core.users.services import UsersUnitOfWork
from core.webhooks import WebhooksUnitOfWork
from engine.contests import seasons, settlement
from engine.contests import services as contest_services
from engine.integrity import services as integrity_services
from engine.integrity.model import CaseStatus
from engine.leagues import services as league_services
from engine.leagues.uow import LeagueUnitOfWork
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger import services as ledger_services
from ledger.model import POINTS, XP, points_account, xp_account
from ledger.quizzes import services as quiz_services
from ledger.quizzes.services import QuizUnitOfWork
from ledger.services import LedgerUnitOfWork

# How many open integrity cases a scan's state lists (newest first); ``more`` says if others wait.
OPEN_CASES_SHOWN = 100


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


def content_review(database: Database, key: str) -> JsonValue:
    """A held piece by ids and hashes: its status, author id and review (status, reasons,
    deciding operator); not its title or the operator's reason (the request holds that)."""
    piece = content_services.content(ContentUnitOfWork(database.sessions), int(key), author_id=None)
    review = piece.review
    if review is None:
        raise NotFound(f"content {key} is not held for review")
    return {
        "id": piece.id,
        "author_id": piece.author_id,
        "status": piece.status.value,
        "content_sha256": piece.content_sha256.hex(),
        "review": {
            "status": review.status.value,
            "reasons": [reason.value for reason in review.reasons],
            "decided_by": review.decided_by,
            "decided_at": review.decided_at,
        },
    }


def integrity_cases(database: Database, _: str) -> JsonValue:
    """The ids of the open integrity cases, newest first (at most ``OPEN_CASES_SHOWN``): what a
    scan opened is the difference. No evidence: it holds addresses and device ids."""
    cases, following = integrity_services.list_cases(
        EngineUnitOfWork(database.sessions),
        status=CaseStatus.OPEN,
        after=None,
        limit=OPEN_CASES_SHOWN,
    )
    return {"open_case_ids": [case.id for case in cases], "more": following is not None}


def integrity_case(database: Database, key: str) -> JsonValue:
    """A case by ids: kind, contest, accounts, score and decision; no evidence (addresses,
    device ids) and no reason."""
    case = integrity_services.get_case(EngineUnitOfWork(database.sessions), int(key))
    return {
        "id": case.id,
        "kind": case.kind.value,
        "contest_id": case.contest_id,
        "member_ids": list(case.member_ids),
        "score": case.score,
        "status": case.status.value,
        "decided_by": case.decided_by,
        "decided_at": case.decided_at,
    }


def consent_document(database: Database, key: str) -> JsonValue:
    """A published document version (key ``"privacy:2"``): kind, version, title and the
    SHA-256 of its text (the request holds the text itself)."""
    kind, _, version = key.partition(":")
    for document in privacy_services.documents(PrivacyUnitOfWork(database.sessions)):
        if document.kind.value == kind and str(document.version) == version:
            return {
                "kind": document.kind.value,
                "version": document.version,
                "title": document.title,
                "sha256": document.sha256,
                "published_at": document.published_at,
            }
    raise NotFound(f"no {kind} document version {version}")


def quiz_question(database: Database, key: str) -> JsonValue:
    """A question of the bank with its answer."""
    return QuestionOut.of(quiz_services.get_question(QuizUnitOfWork(database.sessions), int(key)))


def quiz(database: Database, key: str) -> JsonValue:
    """A quiz (drafts too): window, timing, tiers, publication and settlement, and the ids of
    its questions."""
    found = quiz_services.get_quiz(QuizUnitOfWork(database.sessions), int(key), operator=True)
    shown = QuizOut.of(found).model_dump(mode="json")
    return shown | {"question_ids": [question.id for question in found.questions]}


def league_settings(database: Database, key: str) -> JsonValue:
    """The league rules in force."""
    config = league_services.get_config(LeagueUnitOfWork(database.sessions))
    return LeagueConfigIO.of(config).model_dump(mode="json")


def league_week(database: Database, key: str) -> JsonValue:
    """A league week: window, size, rules and whether it is closed."""
    found = league_services.get_week(LeagueUnitOfWork(database.sessions), int(key))
    return WeekOut.of(found).model_dump(mode="json")


def webhook_endpoint(database: Database, key: str) -> JsonValue:
    """An endpoint without its signing secret."""
    return EndpointOut.of(webhooks.get_endpoint(WebhooksUnitOfWork(database.sessions), int(key)))


def webhook_delivery(database: Database, key: str) -> JsonValue:
    """A delivery: status, attempts, last answer and when it is next due."""
    return DeliveryOut.of(webhooks.get_delivery(WebhooksUnitOfWork(database.sessions), int(key)))


def segment(database: Database, key: str) -> JsonValue:
    """A segment: key, name, definition and its size when read."""
    found = segment_services.get_segment(SegmentsUnitOfWork(database.sessions), key)
    return SegmentOut.of(found).model_dump(mode="json")


def segment_tags(database: Database, key: str) -> JsonValue:
    """How many members hold each behavioural tag."""
    return dict(segment_services.tag_counts(SegmentsUnitOfWork(database.sessions)))

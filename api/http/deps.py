"""FastAPI dependencies as ``Annotated`` aliases: settings, database, units of work, users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from api.http.group_commits import GroupCommits
from api.http.middleware import forwarded_last
from api.http.security import bearer_token, kept_token_user, token_user
from core.config import Settings
from core.db import Database
from core.errors import PermissionDenied, Unauthenticated
from core.integrity.model import ClientSignal
from core.page_cache import PageCache
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from core.privacy.services import PrivacyUnitOfWork, consents_required, require_consents
from core.segments.uow import SegmentsUnitOfWork
from core.users.model import Role, User
from core.users.principals import PrincipalCache
from core.users.services import UsersUnitOfWork
from core.users.sign_in_limits import SignInLimits
from core.webhooks import WebhooksUnitOfWork
from engine.contests import visibility
from engine.contests.prize_rules import PrizeLimits
from engine.leagues.uow import LeagueUnitOfWork
from engine.uow import EngineUnitOfWork
from ledger.campaigns.uow import CampaignUnitOfWork
from ledger.quizzes.uow import QuizUnitOfWork
from ledger.services import LedgerUnitOfWork


# Dependencies that neither block nor touch the database are ``async def``: FastAPI runs a plain
# ``def`` dependency in the thread pool, a hop that costs more than the dependency itself.
async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _database(request: Request) -> Database:
    return request.app.state.database


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]


async def _prize_limits(settings: SettingsDep) -> PrizeLimits:
    return PrizeLimits(settings.draw_prize_caps_cny, settings.points_cny_rate)


PrizeLimitsDep = Annotated[PrizeLimits, Depends(_prize_limits)]


async def _users_uow(database: DatabaseDep) -> UsersUnitOfWork:
    return UsersUnitOfWork(database.sessions)


UsersUow = Annotated[UsersUnitOfWork, Depends(_users_uow)]


async def _ledger_uow(database: DatabaseDep) -> LedgerUnitOfWork:
    return LedgerUnitOfWork(database.sessions)


LedgerUow = Annotated[LedgerUnitOfWork, Depends(_ledger_uow)]


def engine_uow_of(request: Request) -> EngineUnitOfWork:
    """The engine's unit of work on the app's database, with the caches the app owns (kept
    books, standings of committed ticks, pages, contest heads)."""
    state = request.app.state
    return EngineUnitOfWork(state.database.sessions, caches=state.engine_caches)


async def _engine_uow(request: Request) -> EngineUnitOfWork:
    return engine_uow_of(request)


EngineUow = Annotated[EngineUnitOfWork, Depends(_engine_uow)]


async def _group_commits(request: Request) -> GroupCommits:
    return request.app.state.group_commits


GroupCommitsDep = Annotated[GroupCommits, Depends(_group_commits)]


async def _page_cache(request: Request) -> PageCache:
    return request.app.state.engine_caches.pages


PageCacheDep = Annotated[PageCache, Depends(_page_cache)]


async def _privacy_uow(database: DatabaseDep) -> PrivacyUnitOfWork:
    return PrivacyUnitOfWork(database.sessions)


PrivacyUow = Annotated[PrivacyUnitOfWork, Depends(_privacy_uow)]


async def _quiz_uow(database: DatabaseDep) -> QuizUnitOfWork:
    return QuizUnitOfWork(database.sessions)


QuizUow = Annotated[QuizUnitOfWork, Depends(_quiz_uow)]


async def _segments_uow(database: DatabaseDep) -> SegmentsUnitOfWork:
    return SegmentsUnitOfWork(database.sessions)


SegmentsUow = Annotated[SegmentsUnitOfWork, Depends(_segments_uow)]


async def _campaign_uow(database: DatabaseDep) -> CampaignUnitOfWork:
    return CampaignUnitOfWork(database.sessions)


CampaignUow = Annotated[CampaignUnitOfWork, Depends(_campaign_uow)]


async def _league_uow(request: Request, database: DatabaseDep) -> LeagueUnitOfWork:
    return LeagueUnitOfWork(database.sessions, caches=request.app.state.engine_caches)


LeagueUow = Annotated[LeagueUnitOfWork, Depends(_league_uow)]


async def _webhooks_uow(database: DatabaseDep) -> WebhooksUnitOfWork:
    return WebhooksUnitOfWork(database.sessions)


WebhooksUow = Annotated[WebhooksUnitOfWork, Depends(_webhooks_uow)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


# Writes a member may make without the latest terms: accept them, sign out, ask to be erased.
CONSENT_FREE_WRITES = ("/v1/auth/", "/v1/me/consents", "/v1/me/erasure-request", "/v1/me/password")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _current_user(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """The authenticated user. A user the principal cache keeps (and whose consents it knows
    are current, for a write) is answered here on the event loop: a signature check and a
    dictionary lookup, no thread-pool hop. Anything else reads the database in the pool.
    (Settings and database come from the app's state, not as dependencies: every
    authenticated request solves this one, and each sub-dependency costs.)"""
    if token is None:
        raise Unauthenticated("a bearer token is required")
    state = request.app.state
    settings: Settings = state.settings
    database: Database = state.database
    principals: PrincipalCache = state.principals
    needs_consents = request.method not in SAFE_METHODS and not request.url.path.startswith(
        CONSENT_FREE_WRITES
    )
    kept = kept_token_user(token, settings, principals)
    if kept is not None:
        user, consents_current = kept
        if not needs_consents or consents_current or user.has_any(Role.OPERATOR):
            return user
        if principals.consents_required() is False:  # nothing published: nothing to accept
            return user
    return await run_in_threadpool(
        _current_user_read, token, settings, database, principals, needs_consents
    )


def _current_user_read(
    token: str,
    settings: Settings,
    database: Database,
    principals: PrincipalCache,
    needs_consents: bool,
) -> User:
    user = token_user(token, settings, database.sessions, principals)
    if user is None:
        raise Unauthenticated(
            "the bearer token is invalid, expired or revoked, or its user is disabled"
        )
    if needs_consents and not user.has_any(Role.OPERATOR):
        _require_consents(principals, database, user)  # 403 consent_required
    return user


def _require_consents(principals: PrincipalCache, database: Database, user: User) -> None:
    kept = principals.get(user.id)
    if kept is not None and kept.consents_current:
        return
    required = principals.consents_required()
    if required is False:
        return
    epoch = principals.epoch()
    uow = PrivacyUnitOfWork(database.sessions)
    if required is None and principals.usable():
        # Read once per process (until a document is published): with no required document,
        # a member's first write needs no read of their own consents.
        required = consents_required(uow)
        principals.remember_consents_required(required, epoch=epoch)
        if not required:
            principals.with_consents(user.id, True, epoch=epoch)
            return
    require_consents(uow, user)
    principals.with_consents(user.id, True, epoch=epoch)


CurrentUser = Annotated[User, Depends(_current_user)]


def kept_reader(request: Request) -> User | None:
    """The user of a read's bearer token as the principal cache keeps them now, with no
    dependency solved (a route's fast path; ``CurrentUser`` answers the same for a read, since
    a read needs no consents); ``None``: ask ``CurrentUser``."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None or request.method not in SAFE_METHODS:
        return None
    state = request.app.state
    kept = kept_token_user(token, state.settings, state.principals)
    return None if kept is None else kept[0]


async def _optional_user(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User | None:
    # A public route that shows some roles more: no token is anonymous, a bad one still a 401.
    return None if token is None else await _current_user(request, token)


OptionalUser = Annotated[User | None, Depends(_optional_user)]


async def _sign_in_limits(settings: SettingsDep) -> SignInLimits:
    return SignInLimits(
        per_username=settings.sign_in_failures_per_username,
        per_address=settings.sign_in_failures_per_address,
        window=timedelta(seconds=settings.sign_in_window_seconds),
        first_delay=timedelta(seconds=settings.sign_in_first_delay_seconds),
        max_delay=timedelta(seconds=settings.sign_in_max_delay_seconds),
    )


SignInLimitsDep = Annotated[SignInLimits, Depends(_sign_in_limits)]


async def _client_address(request: Request, settings: SettingsDep) -> str:
    if settings.trust_proxy_headers:
        forwarded = forwarded_last(request.headers.get("x-forwarded-for"))
        if forwarded:
            return forwarded[:64]
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(_client_address)]

DEVICE_ID_HEADER = "X-Device-Id"  # the web UI sends a random id it keeps in local storage


async def _client_signal(request: Request, address: ClientAddress) -> ClientSignal:
    # The address as the sign-in limits see it (proxy headers only when trusted).
    return ClientSignal.of(
        ip=None if address == "unknown" else address,
        device_id=request.headers.get(DEVICE_ID_HEADER),
        user_agent=request.headers.get("user-agent"),
    )


ClientSignalDep = Annotated[ClientSignal, Depends(_client_signal)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through users holding any of ``roles``, else 403."""

    async def _check(user: CurrentUser) -> User:
        if not user.has_any(*roles):
            wanted = " or ".join(r.value for r in roles)
            raise PermissionDenied(f"this action needs the {wanted} role")
        return user

    return _check


OperatorUser = Annotated[User, Depends(require_roles(Role.OPERATOR))]
AuthorUser = Annotated[User, Depends(require_roles(Role.AUTHOR))]


# Ids are 32-bit on PostgreSQL; a larger one is a 422, not a database error.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]


# Private contests: one check for every route that names a contest. Entrants and operators see
# them; anyone else gets the 404 of a contest that does not exist.
ContestIdPath = Annotated[int, Path(ge=1, le=2_147_483_647, description="A contest's id")]


async def _visible_contest(contest_id: ContestIdPath, user: CurrentUser, uow: EngineUow) -> int:
    # A public contest whose head this process keeps needs no read, so no thread either.
    operator = user.has_any(Role.OPERATOR)
    if not visibility.kept_visible(uow.caches.heads, contest_id, operator=operator):
        await run_in_threadpool(
            visibility.check_visible, uow, contest_id, user.id, operator=operator
        )
    return contest_id


VisibleContestId = Annotated[int, Depends(_visible_contest)]


def _invited_contest(
    contest_id: ContestIdPath,
    user: CurrentUser,
    uow: EngineUow,
    code: Annotated[
        str | None,
        Query(max_length=64, description="A private contest's invite code (its join page)"),
    ] = None,
) -> int:
    visibility.check_visible(
        uow, contest_id, user.id, operator=user.has_any(Role.OPERATOR), invite_code=code
    )
    return contest_id


InvitedContestId = Annotated[int, Depends(_invited_contest)]


def _visible_contest_query(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    uow: EngineUow,
    contest_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> int | None:
    """For public routes: the caller is whoever a token names, if anyone (read from the header
    itself: the route declares no security, since it needs none)."""
    if contest_id is None:
        return None
    token = bearer_token(request.headers.get("authorization"))
    principals = request.app.state.principals
    user = None if token is None else token_user(token, settings, database.sessions, principals)
    viewer = None if user is None else user.id
    operator = user is not None and user.has_any(Role.OPERATOR)
    visibility.check_visible(uow, contest_id, viewer, operator=operator)
    return contest_id


VisibleContestQuery = Annotated[int | None, Depends(_visible_contest_query)]


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    cursor: str | None


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")]
CursorQuery = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page")
]


async def _page_request(
    limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageParams = Annotated[PageRequest, Depends(_page_request)]

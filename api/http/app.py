"""The application factory: ``create_app(settings)`` wires database, middleware and routes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from api.http.chain_deps import auto_anchor
from api.http.group_commits import group_commits
from api.http.idempotency import IdempotencyMiddleware
from api.http.input_guard import refuse_nul_characters
from api.http.middleware import (
    BodySizeLimitMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from api.http.problems import COMMON_PROBLEMS, install_problem_handlers
from api.http.routes import (
    admin_analytics,
    admin_audit,
    admin_campaigns,
    admin_checks,
    admin_content,
    admin_contests,
    admin_engagement,
    admin_integrity,
    admin_ledger,
    admin_users,
    admin_webhooks,
    auth,
    content,
    contests,
    events,
    health,
    leaderboard,
    leagues,
    points,
    privacy,
    quizzes,
    quotes,
    segments,
    settlement,
    teams,
    trading,
    verifiable,
)
from api.http.routing import index_routes
from api.http.store import IdempotencyStore
from api.http.web import mount_web
from core import migrations, webhooks
from core.config import Settings, get_settings
from core.db import Database
from core.outbox import RetryPolicy
from core.page_cache import (
    close_page_cache,
    listen_for_revisions,
    page_cache_for,
    stop_listening_for_revisions,
)
from core.segments.services import members_of
from core.signing import with_signing_secret
from core.users.principals import PrincipalCache
from engine.uow import EngineCaches

API_PREFIX = "/v1"


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """A configured PaperLeague app. Migrations are applied at start unless disabled."""
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level)
    settings = with_signing_secret(settings)
    database = database or Database.connect(
        settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await run_in_threadpool(migrations.upgrade, database.engine)
        anchoring = asyncio.create_task(auto_anchor(app))
        stop_webhooks = start_webhook_dispatcher(settings, database)
        app.state.principals.attach(database, app)  # trusted once invalidations can arrive
        listen_for_revisions(app.state.engine_caches.pages, database, app)
        app.state.engine_caches.heads.attach(database, app)  # kept boards served on the loop
        yield
        app.state.engine_caches.heads.detach(database, app)
        stop_listening_for_revisions(app.state.engine_caches.pages, database, app)
        app.state.principals.detach(database, app)
        anchoring.cancel()
        stop_webhooks()
        database.dispose()
        close_page_cache(app.state.engine_caches.pages)

    app = FastAPI(
        title="PaperLeague",
        version="0.1.0",
        summary="Contest-grade investment simulator: contests, teams, points, rewards, proofs.",
        docs_url="/docs",
        responses=COMMON_PROBLEMS,
        dependencies=[Depends(refuse_nul_characters)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.engine_caches = EngineCaches(pages=page_cache_for(settings))
    app.state.principals = PrincipalCache(enabled=settings.principal_cache)
    app.state.segment_resolver = members_of  # analytics per segment
    app.state.group_commits = group_commits(
        database, app.state.engine_caches, enabled=settings.group_commit
    )
    install_problem_handlers(app)

    v1 = APIRouter(prefix=API_PREFIX)
    v1.include_router(auth.router)
    v1.include_router(admin_users.router)
    v1.include_router(admin_ledger.router)
    v1.include_router(points.router)
    v1.include_router(events.router)
    v1.include_router(admin_engagement.router)
    v1.include_router(content.router)
    v1.include_router(admin_content.router)
    v1.include_router(trading.router)
    v1.include_router(trading.market_router)
    v1.include_router(quotes.router)
    v1.include_router(teams.router)
    v1.include_router(contests.router)
    v1.include_router(leaderboard.router)
    v1.include_router(leaderboard.follows_router)
    v1.include_router(admin_contests.router)
    v1.include_router(settlement.router)
    v1.include_router(verifiable.router)
    v1.include_router(admin_checks.router)
    v1.include_router(admin_integrity.router)
    v1.include_router(privacy.router)
    v1.include_router(privacy.admin_router)
    v1.include_router(privacy.public_router)
    v1.include_router(quizzes.router)
    v1.include_router(quizzes.admin_router)
    v1.include_router(segments.router)
    v1.include_router(segments.admin_router)
    v1.include_router(admin_campaigns.router)
    v1.include_router(leagues.router)
    v1.include_router(leagues.admin_router)
    v1.include_router(admin_audit.router)
    v1.include_router(admin_webhooks.router)
    v1.include_router(admin_analytics.router)
    app.include_router(health.router)
    app.include_router(v1)
    mount_web(app)  # the web UI: / and /web/…
    index_routes(app.router)  # candidates by path prefix, not every route's regex in turn

    # Last added runs first: security headers, request id, the size limit, idempotency.
    app.add_middleware(
        IdempotencyMiddleware,
        store=IdempotencyStore(database.sessions, group_commit=settings.group_commit),
        settings=settings,
        sessions=database.sessions,
        principals=app.state.principals,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    docs = [app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url]
    app.add_middleware(
        SecurityHeadersMiddleware,
        docs_paths=[path for path in docs if path],
        trust_proxy_headers=settings.trust_proxy_headers,
    )
    return app


def start_webhook_dispatcher(settings: Settings, database: Database) -> Callable[[], None]:
    """Start the webhook dispatcher thread if configured; returns what stops it."""
    if settings.webhook_dispatch_interval_seconds <= 0:
        return lambda: None
    stop = threading.Event()
    thread = threading.Thread(
        target=webhooks.run_dispatcher,
        args=(webhooks.WebhooksUnitOfWork(database.sessions), stop),
        kwargs={
            "interval_seconds": settings.webhook_dispatch_interval_seconds,
            "policy": RetryPolicy(max_attempts=settings.webhook_max_attempts),
        },
        name="webhook-dispatcher",
        daemon=True,
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from ``PAPERLEAGUE_*`` variables."""
    return create_app(get_settings())

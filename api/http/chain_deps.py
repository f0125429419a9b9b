"""The chain behind the content routes: built lazily from the settings, replaceable in tests.

``app.state.content_chain`` holds a ``ContentChain``: the registry to anchor with and a reader
to verify certificates with. By default it is ``SettingsChain``: the chain the settings name
(the in-process eth-tester chain unless ``PAPERLEAGUE_CHAIN_RPC_URL`` is set), with the
ContentRegistry this database remembers for that chain id, deployed on first use. Nothing
touches the chain until a route needs it. Tests assign their own ``ContentChain``.

``auto_anchor`` is the background loop that anchors pending content when a batch is due (N
pieces waiting or the oldest waiting T seconds) and moves anchored batches to final; each round
also attests and anchors contests' locked rules and settled results (``notary``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from contracts import anchoring, attesting
from contracts.anchoring import Registry
from contracts.chain import Chain, chain_for
from contracts.chain_reader import OnChainReader
from contracts.content import AnchorBatch
from contracts.uow import ContentUnitOfWork
from contracts.verification import ChainReader
from core.config import Settings
from core.db import Database
from engine.uow import EngineUnitOfWork
from notary import contests as notary

logger = logging.getLogger("paperleague.anchoring")
MAX_POLL_SECONDS = 30.0


class ContentChain(Protocol):
    def registry(self) -> Registry: ...
    def reader(self) -> ChainReader: ...


class SettingsChain:
    """The chain and registry the settings name, each built once, on first use."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self._settings = settings
        self._database = database
        self._lock = threading.Lock()
        self._chain: Chain | None = None
        self._registry: Registry | None = None

    def chain(self) -> Chain:
        with self._lock:
            if self._chain is None:
                self._chain = chain_for(self._settings)
            return self._chain

    def registry(self) -> Registry:
        chain = self.chain()
        with self._lock:
            if self._registry is None:
                uow = ContentUnitOfWork(self._database.sessions)
                self._registry = anchoring.registry_for(uow, chain)
            return self._registry

    def reader(self) -> ChainReader:
        return OnChainReader(self.chain())


def content_chain(app: FastAPI) -> ContentChain:
    """The app's ``ContentChain``, created from its settings the first time."""
    chain: ContentChain | None = getattr(app.state, "content_chain", None)
    if chain is None:
        chain = app.state.content_chain = SettingsChain(app.state.settings, app.state.database)
    return chain


def _content_chain(request: Request) -> ContentChain:
    return content_chain(request.app)


ContentChainDep = Annotated[ContentChain, Depends(_content_chain)]


def anchor_if_due(app: FastAPI, *, finality: bool = True) -> AnchorBatch | None:
    """Anchor pending content if a batch is due, then (with ``finality``) advance anchored
    batches to final. Touches the chain only when something waits."""
    settings: Settings = app.state.settings
    uow = ContentUnitOfWork(app.state.database.sessions)
    batch = None
    if anchoring.anchor_is_due(
        uow,
        batch_size=settings.anchor_batch_size,
        max_wait_seconds=settings.anchor_max_wait_seconds,
    ):
        batch = anchoring.anchor_pending(uow, content_chain(app).registry())
    if finality and anchoring.has_anchored_batches(uow):
        anchoring.refresh_finality(
            uow, content_chain(app).registry(), confirmations=settings.chain_confirmations
        )
    notarize_if_due(app, uow)
    return batch


def notarize_if_due(app: FastAPI, uow: ContentUnitOfWork) -> None:
    """Attest contests' locked rules and settled results, and anchor them; touches the chain
    only when an attestation waits."""
    engine = EngineUnitOfWork(app.state.database.sessions, caches=app.state.engine_caches)
    notary.attest_due(engine, uow)
    if attesting.has_work(uow):
        settings: Settings = app.state.settings
        notary.notarize(
            engine, uow, content_chain(app).registry(), confirmations=settings.chain_confirmations
        )


async def auto_anchor(app: FastAPI) -> None:
    """Run ``anchor_if_due`` every few seconds until cancelled; failures are logged, and the
    pieces stay pending for the next round."""
    settings: Settings = app.state.settings
    interval = max(1.0, min(MAX_POLL_SECONDS, settings.anchor_max_wait_seconds / 4))
    while True:
        await asyncio.sleep(interval)
        try:
            batch = await run_in_threadpool(anchor_if_due, app)
        except Exception:
            logger.exception("automatic anchoring failed; pending content will be retried")
            continue
        if batch is not None:
            logger.info("anchored batch %s: %s pieces in %s", batch.id, batch.count, batch.tx_hash)


def _content_uow(request: Request) -> ContentUnitOfWork:
    return ContentUnitOfWork(request.app.state.database.sessions)


ContentUow = Annotated[ContentUnitOfWork, Depends(_content_uow)]

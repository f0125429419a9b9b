"""``paperleague serve``: migrate, then serve the HTTP API with uvicorn."""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.database import connect, settings
from contracts import local_node
from contracts.chain import ChainError
from core import migrations
from core.config import Settings
from core.signing import SECRET_FILE, SigningSecretError, with_signing_secret

if TYPE_CHECKING:
    import uvicorn

WORKER_HEALTHCHECK_SECONDS = 60
logger = logging.getLogger("paperleague.serve")


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Apply migrations, then serve the HTTP API with uvicorn."""
    import uvicorn

    found = settings()
    logging.basicConfig(level=found.log_level)
    try:
        # Before the workers start, so that a generated secret is generated (and logged) once.
        with_signing_secret(found)
    except SigningSecretError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    database = connect(found)
    migrations.upgrade(database.engine)
    database.dispose()
    warn_of_host_local_state(found)
    _start_chain(found, workers=workers)
    if workers == 1:
        uvicorn.run(
            "api.http.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            server_header=False,  # no "server: uvicorn" on every response
        )
        return
    from uvicorn.supervisors import Multiprocess

    if found.is_sqlite:  # workers on one SQLite file cannot hear each other's changes to users
        os.environ["PAPERLEAGUE_PRINCIPAL_CACHE"] = "false"

    config = uvicorn.Config(
        "api.http.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        server_header=False,
        # A worker answers the supervisor's health check only once it has imported this CLI
        # (its __main__) and the app: 4-6 s on a busy 2-core machine, past uvicorn's 5 s
        # default, after which the supervisor kills and restarts it, again and again.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    Multiprocess(config, sockets=[listening_socket(config)]).run()


def _start_chain(found: Settings, *, workers: int) -> None:
    """Own the local chain node before the workers start (they join it as guests and anchor on
    one durable chain); refuse several workers that would each have their own in-process chain."""
    if local_node.uses_local_node(found):
        try:
            node = local_node.shared_node(found, own=True)
        except ChainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"chain: local node at {node.url}, state in {node.state_dir}", err=True)
        return
    if found.chain_rpc_url is not None:
        return
    if workers > 1:
        typer.echo(
            "error: --workers > 1 needs one chain every worker shares: install anvil "
            "(npm ci --prefix contracts) for the local node, or set PAPERLEAGUE_CHAIN_RPC_URL; "
            "each worker's in-process chain would anchor where the others cannot see",
            err=True,
        )
        raise typer.Exit(1)
    logger.warning(
        "chain: in-process (PAPERLEAGUE_CHAIN_NODE=%s): anchors and certificates are forgotten "
        "when this process exits",
        found.chain_node,
    )


def warn_of_host_local_state(found: Settings) -> None:
    """On PostgreSQL, which several hosts may share, name what this host keeps to itself.

    Everything else a request touches is in the database (or Redis), so hosts behind one load
    balancer agree; a signing secret generated into this host's data directory and a chain
    node this host starts are the two things another host would have its own of: its tokens
    and idempotency fingerprints would not match, its certificates would be on another chain.
    """
    if found.database_url.startswith("sqlite"):
        return
    if found.jwt_secret is None:
        logger.warning(
            "the token signing secret is this host's own file (%s): every host serving this "
            "database must sign with the same secret: set PAPERLEAGUE_JWT_SECRET on each",
            found.data_directory / SECRET_FILE,
        )
    if local_node.uses_local_node(found):
        logger.warning(
            "chain: the local node serves this host only; every host serving this database "
            "must anchor on one chain: set PAPERLEAGUE_CHAIN_RPC_URL on each"
        )


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket uvicorn's workers share, with Nagle's algorithm off.

    uvicorn binds it without ``IPPROTO_TCP``, so asyncio does not set ``TCP_NODELAY`` on the
    connections the workers accept, and every keep-alive response waits ~40 ms for the client's
    delayed ACK (uvicorn issue #3149). Accepted connections inherit the option from here.
    """
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock

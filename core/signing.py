"""The token signing secret: the configured one, or one generated on first start.

An install that sets no ``PAPERLEAGUE_JWT_SECRET`` gets a random secret, written once to
``<data directory>/paperleague-jwt.secret`` (mode 0600) and read back by every later start and
by every worker of ``paperleague serve --workers N``: the file is created with
``O_CREAT | O_EXCL``, so exactly one process writes it and the others read what it wrote.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import time
from pathlib import Path

from pydantic import SecretStr

from core.config import MIN_SECRET_LENGTH, Settings, weak_secret

SECRET_FILE = "paperleague-jwt.secret"
# A worker that loses the creation race may read the file before the winner has written it.
READ_BACK_SECONDS = 5.0
logger = logging.getLogger("paperleague.security")


class SigningSecretError(RuntimeError):
    """The generated secret's file cannot be used (unsafe mode, damaged, unreadable)."""


def with_signing_secret(settings: Settings) -> Settings:
    """``settings`` with a signing secret: the configured one, else the generated one."""
    if settings.jwt_secret is not None:
        return settings
    secret = load_or_create_secret(settings.data_directory / SECRET_FILE)
    return settings.model_copy(update={"jwt_secret": SecretStr(secret)})


def load_or_create_secret(path: Path) -> str:
    """The secret kept at ``path``, generating it (atomically, mode 0600) when absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        # The newline marks a complete file for readers that raced the creation.
        file.write(secrets.token_urlsafe(48) + "\n")
        file.flush()
        os.fsync(file.fileno())
    logger.warning(
        "generated a new token signing secret in %s (mode 0600); keep it private, or set "
        "PAPERLEAGUE_JWT_SECRET to choose one (tokens signed with another secret stop working)",
        path.resolve(),
    )
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    deadline = time.monotonic() + READ_BACK_SECONDS
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise SigningSecretError(f"cannot read the signing secret {path}: {exc}") from exc
        with os.fdopen(fd, encoding="ascii", errors="replace") as file:
            mode = os.fstat(file.fileno()).st_mode
            text = file.read()
        if not stat.S_ISREG(mode) or mode & 0o077:
            raise SigningSecretError(
                f"the signing secret {path} must be a regular file readable by its owner only "
                f"(chmod 600 {path})"
            )
        if text.endswith("\n"):
            break
        if time.monotonic() > deadline:
            raise SigningSecretError(f"the signing secret {path} is incomplete; delete it")
        time.sleep(0.02)  # another process is writing it
    secret = text.strip()
    if weak_secret(secret):
        raise SigningSecretError(
            f"the signing secret {path} is a placeholder or shorter than {MIN_SECRET_LENGTH} "
            "characters; delete it to have a new one generated"
        )
    return secret

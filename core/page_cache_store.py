"""The tables of ``PostgresPageCache`` (core.page_cache_postgres): cached pages and the
revision counters their keys carry.

Both are UNLOGGED on PostgreSQL (migration 0030): a cache is never needed for correctness, so
its writes skip the WAL and a crash simply empties it. SQLite has the tables (one schema for
both backends) but never uses them: one SQLite file means one host, whose processes keep their
own caches.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime


class PageCacheEntryRow(Base):
    """One cached value under its key, until ``expires_at`` (the database's clock)."""

    __tablename__ = "page_cache_entries"
    __table_args__ = (Index("ix_page_cache_entries_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(timezone=True))


class PageCacheRevisionRow(Base):
    """The counter of one revision scope (``PageCache.bump``); one row per database's boards,
    so they never expire."""

    __tablename__ = "page_cache_revisions"

    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)

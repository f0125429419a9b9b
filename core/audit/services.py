"""Use cases of the audit log: append an entry, search, verify the chain, purge by retention.

``append_entry`` writes inside a transaction the caller already holds (the seam for a use case
that wants its action and its audit entry to commit together); ``record`` is its own
transaction. Appends serialise on the head row (``SELECT … FOR UPDATE``; SQLite's
``BEGIN IMMEDIATE`` already does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.audit.model import (
    AuditDraft,
    AuditEntry,
    AuditProblem,
    AuditSeq,
    JsonValue,
    Retention,
    chain_problems,
    check_retention_days,
    retention_problems,
    seal,
)
from core.audit.store import AuditFilters, AuditRepository
from core.clock import as_utc, utc_now
from core.errors import Conflict, RuleViolation
from core.hashchain import canonical_json
from core.uow import UnitOfWork

__all__ = [
    "AuditFilters",
    "AuditReport",
    "AuditUnitOfWork",
    "PurgeResult",
    "append_entry",
    "purge",
    "record",
    "search",
    "verify_audit_chain",
]


class AuditUnitOfWork(UnitOfWork):
    audit: AuditRepository

    def _bind(self, session: Session) -> None:
        self.audit = AuditRepository(session)


def as_json(value: JsonValue) -> JsonValue:
    """``value`` as it reads back from storage (tuples become lists …), so what is hashed at
    append is what verification later reads; a value JSON cannot hold raises TypeError.
    A lone surrogate (valid JSON escape, not UTF-8) becomes "?": the entry must be storable."""
    text = canonical_json(value).encode("utf-8", errors="replace").decode("utf-8")
    return json.loads(text)


def append_entry(session: Session, draft: AuditDraft, *, now: datetime | None = None) -> AuditEntry:
    """Seal ``draft`` as the next entry inside the caller's open write transaction (not
    committed here)."""
    repo = AuditRepository(session)
    head = repo.lock_head()
    stored = replace(
        draft,
        request=as_json(draft.request),
        before=as_json(draft.before),
        after=as_json(draft.after),
    )
    at = as_utc(now or utc_now())
    entry = seal(stored, seq=head.last_seq + 1, at=at, prev_hash=head.last_hash)
    repo.add(entry)
    head.last_seq, head.last_hash = entry.seq, entry.hash
    session.flush()
    return entry


def record(uow: AuditUnitOfWork, draft: AuditDraft, *, now: datetime | None = None) -> AuditEntry:
    """Append ``draft`` to the log in a transaction of its own."""
    with uow:
        entry = append_entry(uow.session, draft, now=now)
        uow.commit()
    return entry


def search(
    uow: AuditUnitOfWork, filters: AuditFilters, *, before: AuditSeq | None, limit: int
) -> tuple[Sequence[AuditEntry], AuditSeq | None]:
    """Entries matching ``filters``, newest first, one page of ``limit`` before seq ``before``."""
    if filters.since is not None and filters.until is not None and filters.until <= filters.since:
        raise RuleViolation("until must be after since", field="query.until", rule="after_start")
    with uow.reading():
        return uow.audit.search(filters, before=before, limit=limit)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The chain verified: ``entries`` kept, from seq ``kept_from`` to ``head_seq``."""

    entries: int
    kept_from: AuditSeq
    head_seq: AuditSeq
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit_chain(uow: AuditUnitOfWork) -> AuditReport:
    """Recompute every kept entry's hash and link from the retention anchor to the head;
    report each forged, edited or missing entry by its seq."""
    with uow.reading(snapshot=True):
        retention = uow.audit.retention()
        head = uow.audit.head()
        counted = _Counted(uow.audit.all_entries())
        problems = chain_problems(counted, retention=retention, head=head)
    problems += retention_problems(retention)
    return AuditReport(
        entries=counted.count,
        kept_from=retention.kept_from,
        head_seq=head[0],
        problems=tuple(problems),
    )


class _Counted:
    def __init__(self, entries: Iterable[AuditEntry]) -> None:
        self._entries = entries
        self.count = 0

    def __iter__(self) -> Iterator[AuditEntry]:
        for entry in self._entries:
            self.count += 1
            yield entry


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """``deleted`` entries older than ``cutoff``; the chain now starts at ``kept_from``."""

    deleted: int
    kept_from: AuditSeq
    cutoff: datetime


def purge(
    uow: AuditUnitOfWork,
    *,
    retention_days: int,
    now: datetime | None = None,
    actor_id: int | None = None,
) -> PurgeResult:
    """Delete the entries made more than ``retention_days`` (≥ 183) days before ``now``.

    The cutoff row advances first (the trigger allows deleting only below it) and keeps the
    hash of the last deleted entry, so the chain stays verifiable from the first kept entry.
    A purge that deletes something is itself an ``audit.purge`` entry, in the same transaction
    (``actor_id`` None: run from the shell).
    """
    check_retention_days(retention_days)
    now = as_utc(now or utc_now())
    cutoff = now - timedelta(days=retention_days)
    with uow:
        head = uow.audit.lock_head()
        current = uow.audit.retention(lock=True)
        first_kept = uow.audit.first_at_or_after(cutoff)
        kept_from = head.last_seq + 1 if first_kept is None else first_kept.seq
        if kept_from <= current.kept_from:
            return PurgeResult(deleted=0, kept_from=current.kept_from, cutoff=cutoff)
        anchor = uow.audit.hash_of(kept_from - 1)
        if anchor is None:
            raise Conflict(
                f"audit entry {kept_from - 1} is missing: run `paperleague audit verify`"
            )
        uow.audit.set_retention(
            Retention(kept_from=kept_from, anchor_hash=anchor, purged_before=cutoff, purged_at=now)
        )
        deleted = uow.audit.delete_before(kept_from)
        draft = AuditDraft(
            actor_id=actor_id,
            action="audit.purge",
            subject="audit",
            request={"retention_days": retention_days},
            before={"kept_from": current.kept_from},
            after={"kept_from": kept_from, "deleted": deleted, "purged_before": cutoff.isoformat()},
        )
        append_entry(uow.session, draft, now=now)
        uow.commit()
    return PurgeResult(deleted=deleted, kept_from=kept_from, cutoff=cutoff)

"""Audit entries and the pure verification of their hash chain."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.config import MIN_AUDIT_RETENTION_DAYS
from core.errors import RuleViolation
from core.hashchain import GENESIS_HASH, chain_hash

AuditSeq = int
JsonValue = Any  # what ``json.loads`` gives: dict, list, str, int, float, bool or None

# Retention may not be set shorter than six months (issue 19: logs kept ≥ 6 months).
MIN_RETENTION_DAYS = MIN_AUDIT_RETENTION_DAYS
ACTION_SYNTAX = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+"  # "contest.update"
MAX_ACTION = 64
MAX_SUBJECT = 200
_ACTION = re.compile(ACTION_SYNTAX)
# Credentials, and a member's names and contacts: the log outlives a member's erasure (PIPL),
# so it keeps ids (the subject names the user by id), never names.
# A database URL may carry its password (postgresql://user:password@host/db).
_SECRET = re.compile(
    r"password|secret|token|private|database_url|username|display_name|email|phone",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """What an operator did, before it is sealed into the chain.

    ``actor_id`` is the operator's user id (None: the system itself, e.g. a CLI purge);
    ``request`` a summary of the request (method, path, parameters; secrets redacted);
    ``before`` / ``after`` the subject's state as JSON (None where there was none).
    """

    actor_id: int | None
    action: str
    subject: str
    request: JsonValue = None
    before: JsonValue = None
    after: JsonValue = None

    def __post_init__(self) -> None:
        if not _ACTION.fullmatch(self.action) or len(self.action) > MAX_ACTION:
            raise RuleViolation(
                f"action {self.action!r} is not dotted lower-case words (e.g. contest.update)",
                field="action",
                rule="key_format",
            )
        if not self.subject or len(self.subject) > MAX_SUBJECT:
            raise RuleViolation(
                f"a subject is 1-{MAX_SUBJECT} characters", field="subject", rule="max_length"
            )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One sealed entry: ``seq`` counts from 1 without gaps; ``hash`` seals every other field
    and ``prev_hash`` (the hash of entry ``seq - 1``)."""

    seq: AuditSeq
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    request: JsonValue
    before: JsonValue
    after: JsonValue
    prev_hash: str
    hash: str

    def content_hash(self) -> str:
        return chain_hash(self.prev_hash, self._hashed_fields())

    def _hashed_fields(self) -> list[Any]:
        return [
            self.seq,
            self.at.isoformat(timespec="microseconds"),
            self.actor_id,
            self.action,
            self.subject,
            self.request,
            self.before,
            self.after,
        ]


def seal(draft: AuditDraft, *, seq: AuditSeq, at: datetime, prev_hash: str) -> AuditEntry:
    """The entry ``draft`` becomes at ``seq``, linked to ``prev_hash`` and sealed."""
    unsealed = AuditEntry(
        seq=seq,
        at=at,
        actor_id=draft.actor_id,
        action=draft.action,
        subject=draft.subject,
        request=draft.request,
        before=draft.before,
        after=draft.after,
        prev_hash=prev_hash,
        hash="",
    )
    return AuditEntry(**{**_fields(unsealed), "hash": unsealed.content_hash()})


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__slots__}


@dataclass(frozen=True, slots=True)
class Retention:
    """The purge boundary: entries before ``kept_from`` may be (and are) deleted;
    ``anchor_hash`` is the hash of entry ``kept_from - 1``, the first kept entry's prev_hash.
    ``purged_before``: the entries' time the last purge cut at (None: never purged)."""

    kept_from: AuditSeq = 1
    anchor_hash: str = GENESIS_HASH
    purged_before: datetime | None = None
    purged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """Where the chain fails: the entry's seq (or the head's) and why, in one sentence."""

    seq: AuditSeq
    reason: str

    def __str__(self) -> str:
        return f"audit seq {self.seq}: {self.reason}"


def chain_problems(
    entries: Iterable[AuditEntry],
    *,
    retention: Retention,
    head: tuple[AuditSeq, str],
) -> list[AuditProblem]:
    """Every break in the chain of ``entries`` (ascending seq, from ``retention.kept_from``):
    a missing seq, an entry whose content does not match its hash (edited or forged), a link
    to the wrong predecessor, and a ``head`` (last seq, last hash) that is not the chain's end
    (entries deleted at the end, or appended around the service)."""
    problems: list[AuditProblem] = []
    expected_seq, prev_hash = retention.kept_from, retention.anchor_hash
    for entry in entries:
        if entry.seq < expected_seq:
            problems.append(AuditProblem(entry.seq, "is before the retention cutoff, not purged"))
            continue
        if entry.seq > expected_seq:
            missing = (
                f"{expected_seq}"
                if entry.seq == expected_seq + 1
                else (f"{expected_seq}..{entry.seq - 1}")
            )
            problems.append(AuditProblem(expected_seq, f"missing (seq {missing} deleted)"))
        elif entry.prev_hash != prev_hash:
            problems.append(AuditProblem(entry.seq, "prev_hash does not link to the entry before"))
        if entry.content_hash() != entry.hash:
            problems.append(
                AuditProblem(entry.seq, "content does not match its hash (edited or forged)")
            )
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    if head != (expected_seq - 1, prev_hash):
        problems.append(
            AuditProblem(
                head[0],
                f"the head records seq {head[0]} but the chain ends at seq {expected_seq - 1}",
            )
        )
    return problems


def retention_problems(
    retention: Retention, *, min_days: int = MIN_RETENTION_DAYS
) -> list[AuditProblem]:
    """A purge that cut entries younger than the shortest allowed retention."""
    if retention.purged_before is None or retention.purged_at is None:
        return []
    if retention.purged_before > retention.purged_at - timedelta(days=min_days):
        return [
            AuditProblem(
                retention.kept_from,
                f"entries before {retention.purged_before.isoformat()} were purged on "
                f"{retention.purged_at.isoformat()}, under {min_days} days after",
            )
        ]
    return []


def check_retention_days(days: int) -> int:
    """``days`` if it is an allowed retention, else the rule it breaks."""
    if days < MIN_RETENTION_DAYS:
        raise RuleViolation(
            f"audit entries are kept at least {MIN_RETENTION_DAYS} days (six months); {days} asked",
            field="retention_days",
            rule="minimum",
        )
    return days


def redacted(value: JsonValue) -> JsonValue:
    """``value`` with every object field named like a secret (password, secret, token,
    private, database URL …) or like personal data (username, display name, email, phone)
    replaced by ``"[redacted]"``: request summaries keep neither credentials nor names."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET.search(str(key)) else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value

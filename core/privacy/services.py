"""Use cases of member data rights: consents, export, erasure requests and erasure.

Export and erasure walk the sections the caller passes (``api.privacy`` composes every
package's); core itself knows only its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from core.clock import utc_now
from core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from core.privacy.model import (
    BODY_MAX,
    REQUIRED_KINDS,
    TITLE_MAX,
    ConsentAction,
    ConsentDocument,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    ErasureRequest,
    consent_state,
    text_sha256,
)
from core.privacy.sections import ErasureBlocker, JsonDict, Section, Treatment, pseudonym
from core.privacy.store import ConsentRepository
from core.uow import UnitOfWork
from core.users.model import User, UserId

EXPORT_FORMAT = "paperleague-member-export/1"
NOTE_MAX = 500


class PrivacyUnitOfWork(UnitOfWork):
    consents: ConsentRepository

    def _bind(self, session: Session) -> None:
        self.consents = ConsentRepository(session)


class ConsentRequired(PermissionDenied):
    """The member has not accepted the latest version of a required document."""

    title = "Consent required"
    slug = "consent-required"


class ErasureBlocked(Conflict):
    slug = "erasure-blocked"


# --- consents -----------------------------------------------------------------------------------


def publish_document(
    uow: PrivacyUnitOfWork,
    kind: ConsentKind,
    *,
    title: str,
    body: str,
    operator_id: UserId,
    now: datetime | None = None,
) -> ConsentDocument:
    """Publish the next version of ``kind`` (1, 2, …); its text's SHA-256 is recorded."""
    title = " ".join(title.split())
    if not title or len(title) > TITLE_MAX:
        raise RuleViolation(
            f"a title needs 1-{TITLE_MAX} characters", field="title", rule="max_length"
        )
    if not body.strip():
        raise RuleViolation("a document needs text", field="body", rule="non_empty")
    if len(body) > BODY_MAX:
        raise RuleViolation(
            f"a document holds at most {BODY_MAX} characters", field="body", rule="max_length"
        )
    with uow:
        uow.consents.lock_kind(kind)
        latest = uow.consents.latest(kind)
        document = uow.consents.publish(
            ConsentDocument(
                kind=kind,
                version=1 if latest is None else latest.version + 1,
                title=title,
                body=body,
                sha256=text_sha256(body),
                published_at=now or utc_now(),
                published_by=operator_id,
            )
        )
        uow.commit()
    return document


def documents(uow: PrivacyUnitOfWork) -> list[ConsentDocument]:
    """Every published version of every kind, oldest first per kind."""
    with uow.reading():
        return uow.consents.documents()


def latest_document(uow: PrivacyUnitOfWork, kind: ConsentKind) -> ConsentDocument:
    with uow.reading():
        found = uow.consents.latest(kind)
    if found is None:
        raise NotFound(f"no {kind.value} document is published")
    return found


def consent_states(uow: PrivacyUnitOfWork, user_id: UserId) -> list[ConsentState]:
    """The member's standing with every kind of document."""
    with uow.reading():
        return [
            consent_state(kind, uow.consents.latest(kind), uow.consents.last_record(user_id, kind))
            for kind in ConsentKind
        ]


def consent_history(uow: PrivacyUnitOfWork, user_id: UserId) -> list[ConsentRecord]:
    with uow.reading():
        return uow.consents.records(user_id)


def accept(
    uow: PrivacyUnitOfWork,
    user_id: UserId,
    kind: ConsentKind,
    *,
    version: int,
    address: str | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Accept ``version`` of ``kind``, which must be the latest; accepting it again is a no-op
    that answers the standing acceptance."""
    with uow:
        if not uow.consents.lock_user(user_id):
            raise NotFound(f"user {user_id} does not exist")
        latest = uow.consents.latest(kind)
        if latest is None or uow.consents.document(kind, version) is None:
            raise NotFound(f"{kind.value} version {version} is not published")
        if version != latest.version:
            raise RuleViolation(
                f"only the latest {kind.value} version ({latest.version}) can be accepted",
                field="version",
                rule="latest_version",
                latest_version=latest.version,
            )
        last = uow.consents.last_record(user_id, kind)
        if last is not None and last.action is ConsentAction.ACCEPT and last.version == version:
            return last
        record = uow.consents.add_record(
            user_id,
            kind,
            version=version,
            action=ConsentAction.ACCEPT,
            at=now or utc_now(),
            address=address,
        )
        uow.commit()
    return record


def withdraw(
    uow: PrivacyUnitOfWork,
    user_id: UserId,
    kind: ConsentKind,
    *,
    address: str | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Withdraw the standing acceptance of ``kind`` (recorded; the history keeps both)."""
    with uow:
        if not uow.consents.lock_user(user_id):
            raise NotFound(f"user {user_id} does not exist")
        last = uow.consents.last_record(user_id, kind)
        if last is None or last.action is not ConsentAction.ACCEPT:
            raise RuleViolation(
                f"there is no standing {kind.value} consent to withdraw",
                field="kind",
                rule="consent_not_given",
            )
        record = uow.consents.add_record(
            user_id,
            kind,
            version=last.version,
            action=ConsentAction.WITHDRAW,
            at=now or utc_now(),
            address=address,
        )
        uow.commit()
    return record


def consents_required(uow: PrivacyUnitOfWork) -> bool:
    """Whether any required kind has a published document; if none has, ``require_consents``
    lets everyone through, and the principal cache keeps that fact for the process."""
    with uow.reading():
        return uow.consents.published(REQUIRED_KINDS)


def require_consents(uow: PrivacyUnitOfWork, user: User) -> None:
    """``ConsentRequired`` unless ``user`` accepts the latest version of every required kind
    (the terms). Nothing published, nothing required."""
    with uow.reading():
        for kind in REQUIRED_KINDS:
            latest, accepted = uow.consents.standing(user.id, kind)
            state = ConsentState(kind, latest, accepted)
            if not state.current:
                raise ConsentRequired(
                    f"accept {kind.value} version {state.latest_version} first "
                    f"(POST /v1/me/consents)",
                    rule="consent_required",
                    field="consent",
                    kind=kind.value,
                    version=state.latest_version,
                )


# --- export -------------------------------------------------------------------------------------


def export_member(
    uow: PrivacyUnitOfWork,
    user_id: UserId,
    *,
    sections: Sequence[Section],
    now: datetime | None = None,
) -> JsonDict:
    """Everything stored about the member, section by section, read from one snapshot, with
    what an erasure would do to each table (JSON-able)."""
    with uow.reading(snapshot=True):
        if not uow.consents.exists(user_id):
            raise NotFound(f"user {user_id} does not exist")
        data = {section.name: section.export(uow.session, user_id) for section in sections}
    return {
        "format": EXPORT_FORMAT,
        "user_id": user_id,
        "exported_at": (now or utc_now()).isoformat(),
        "sections": data,
        "on_erasure": [
            {
                "section": section.name,
                "table": use.table,
                "column": use.column,
                "treatment": use.treatment.value,
                "reason": use.reason,
            }
            for section in sections
            for use in section.tables
        ],
    }


# --- erasure ------------------------------------------------------------------------------------


def request_erasure(
    uow: PrivacyUnitOfWork, user_id: UserId, *, note: str | None = None, now: datetime | None = None
) -> ErasureRequest:
    """The member asks to be erased; an operator executes it. Asking again answers the
    pending request."""
    if note is not None and len(note) > NOTE_MAX:
        raise RuleViolation(
            f"a note holds at most {NOTE_MAX} characters", field="note", rule="max_length"
        )
    with uow:
        if not uow.consents.lock_user(user_id):
            raise NotFound(f"user {user_id} does not exist")
        existing = uow.consents.pending_request(user_id) or uow.consents.erasure(user_id)
        if existing is not None:
            return existing
        request = uow.consents.add_request(user_id, note=note or None, at=now or utc_now())
        uow.commit()
    return request


def erasure_requests(
    uow: PrivacyUnitOfWork, *, status: str | None = None, after: int | None = None, limit: int = 50
) -> list[ErasureRequest]:
    with uow.reading():
        return uow.consents.requests(status=status, after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    """What an erasure did: rows changed per table, and what it kept and why."""

    user_id: UserId
    pseudonym: str
    erased_at: datetime
    erased_by: UserId
    reason: str
    already_erased: bool
    changed: dict[str, int] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)  # "table.column" → why


def erase_member(
    uow: PrivacyUnitOfWork,
    user_id: UserId,
    *,
    sections: Sequence[Section],
    blockers: Sequence[ErasureBlocker],
    operator_id: UserId,
    reason: str,
    now: datetime | None = None,
) -> ErasureOutcome:
    """Erase the member: every section's treatment in one transaction, all or nothing.

    Refused (``ErasureBlocked``) while any blocker names a reason (a live contest entry, an
    unpaid prize). Erasing an erased member changes nothing and answers the first erasure.
    """
    reason = " ".join(reason.split())
    if not reason or len(reason) > NOTE_MAX:
        raise RuleViolation(
            f"an erasure needs a reason of 1-{NOTE_MAX} characters",
            field="reason",
            rule="non_empty",
        )
    kept = {
        f"{use.table}.{use.column}": use.reason
        for section in sections
        for use in section.tables
        if use.treatment is Treatment.KEPT
    }
    with uow:
        if not uow.consents.lock_user(user_id):
            raise NotFound(f"user {user_id} does not exist")
        done = uow.consents.erasure(user_id)
        if done is not None:
            return _outcome(done, already=True, kept=kept)
        refusals = [r for r in (blocker(uow.session, user_id) for blocker in blockers) if r]
        if refusals:
            raise ErasureBlocked(
                "the member cannot be erased yet: " + "; ".join(refusals),
                rule="erasure_blocked",
                reasons=refusals,
            )
        changed: dict[str, int] = {}
        for section in sections:
            for table, count in section.erase(uow.session, user_id).items():
                changed[table] = changed.get(table, 0) + count
        record = uow.consents.mark_erased(
            user_id, operator_id=operator_id, reason=reason, at=now or utc_now()
        )
        uow.commit()
    return _outcome(record, already=False, kept=kept, changed=changed)


def _outcome(
    record: ErasureRequest,
    *,
    already: bool,
    kept: dict[str, str],
    changed: dict[str, int] | None = None,
) -> ErasureOutcome:
    assert record.erased_at is not None and record.erased_by is not None
    return ErasureOutcome(
        user_id=record.user_id,
        pseudonym=pseudonym(record.user_id),
        erased_at=record.erased_at,
        erased_by=record.erased_by,
        reason=record.reason or "",
        already_erased=already,
        changed=changed or {},
        kept=kept,
    )

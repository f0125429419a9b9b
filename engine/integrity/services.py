"""Use cases of the integrity review: scan for findings, list and read cases, decide them.

A scan runs every detector (``engine.integrity.detectors``) over the stored sign-in signals
and the fills of the contests asked for, and opens a case per finding unless its evidence was
raised before, its group already has an open case, or its accounts are already one person.
Deciding ``same_person`` links the case's accounts into one person (``core.integrity``), which
the ``one_account_per_person`` contest rule reads; ``distinct`` dismisses the case for good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import utc_now
from core.config import Settings
from core.errors import Conflict, NotFound, RuleViolation
from core.integrity.model import SignalRecord
from core.integrity.store import SignalRepository
from core.rule_codes import Rule
from engine.contests import board_pages
from engine.integrity.detectors import DetectorSettings, Finding, FindingKind
from engine.integrity.detectors import scan as detect
from engine.integrity.model import Case, CaseStatus, Decision
from engine.integrity.store import IntegrityRepository
from engine.uow import EngineUnitOfWork

REASON_MAX = 500


class CaseDecided(Conflict):
    slug = "case-decided"
    title = "The case is already decided"


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What a scan found (``findings``) and the cases it opened (``opened``)."""

    contest_ids: tuple[int, ...]
    findings: int
    opened: tuple[Case, ...]


def detector_settings(settings: Settings) -> DetectorSettings:
    """The detectors' thresholds from the ``PAPERLEAGUE_INTEGRITY_*`` settings."""
    return DetectorSettings(
        ignored_ips=frozenset(settings.integrity_ignored_ips),
        window_days=settings.integrity_window_days,
        min_matches=settings.integrity_min_matches,
    )


def scan(
    uow: EngineUnitOfWork,
    *,
    contest_ids: Sequence[int] | None = None,
    settings: DetectorSettings | None = None,
    now: datetime | None = None,
) -> ScanReport:
    """Run the detectors and open cases for new findings (see the module).

    ``contest_ids`` defaults to every contest still trading; ``NotFound`` for an unknown one.
    """
    rules = settings or DetectorSettings()
    moment = now or utc_now()
    with uow:
        uow.integrity.serialize()
        wanted = _contests(uow, contest_ids)
        findings = detect(
            uow.signals.since(moment - rules.signal_window),
            uow.integrity.trade_facts(wanted),
            rules,
            now=moment,
        )
        opened = [uow.integrity.add(f, now=moment) for f in findings if _is_new(uow, f)]
        uow.commit()
    return ScanReport(tuple(wanted), len(findings), tuple(opened))


def _contests(uow: EngineUnitOfWork, contest_ids: Sequence[int] | None) -> list[int]:
    if contest_ids is None:
        return [row.id for row in uow.trading.running_contests()]
    for contest_id in contest_ids:
        if uow.trading.contest(contest_id) is None:
            raise NotFound(f"contest {contest_id} does not exist")
    return sorted(set(contest_ids))


def _is_new(uow: EngineUnitOfWork, finding: Finding) -> bool:
    persons = uow.persons.persons_of(finding.member_ids)
    one_person = len({persons.get(m, m) for m in finding.member_ids}) == 1
    return not one_person and not uow.integrity.known(finding)


def list_cases(
    uow: EngineUnitOfWork, *, status: CaseStatus | None = None, after: int | None, limit: int
) -> tuple[list[Case], int | None]:
    """One page of cases, newest first; the key of the last when more follow."""
    with uow.reading():
        return uow.integrity.page(status=status, after=after, limit=limit)


def get_case(uow: EngineUnitOfWork, case_id: int) -> Case:
    with uow.reading():
        row = uow.integrity.get(case_id)
        if row is None:
            raise NotFound(f"integrity case {case_id} does not exist")
        return row.to_case()


def decide(
    uow: EngineUnitOfWork,
    case_id: int,
    *,
    decision: Decision,
    reason: str,
    operator_id: int,
    now: datetime | None = None,
) -> Case:
    """Decide an open case. The same decision again returns the case as decided (idempotent);
    another decision on a decided case is ``CaseDecided`` (409, rule ``case_decided``).

    ``same_person`` links the accounts into one person in the same transaction."""
    why = " ".join(reason.split())
    if not why:
        raise RuleViolation("a decision needs a reason", field="reason", rule=Rule.NON_EMPTY)
    if len(why) > REASON_MAX:
        raise RuleViolation(
            f"a reason is at most {REASON_MAX} characters", field="reason", rule=Rule.MAX_LENGTH
        )
    moment = now or utc_now()
    with uow:
        row = uow.integrity.get(case_id, lock=True)
        if row is None:
            raise NotFound(f"integrity case {case_id} does not exist")
        if row.status != CaseStatus.OPEN.value:
            if row.status == decision.value:
                return row.to_case()
            raise CaseDecided(
                f"integrity case {case_id} is already decided: {row.status}",
                field="decision",
                rule=Rule.CASE_DECIDED,
                status=row.status,
            )
        row.status = decision.value
        row.reason = why
        row.decided_by = operator_id
        row.decided_at = moment
        case = row.to_case()
        if decision is Decision.SAME_PERSON:
            uow.persons.link(case.member_ids, case_id=case_id, at=moment)
        uow.commit()
    if decision is Decision.SAME_PERSON:  # the boards' unranked reasons follow the links
        board_pages.board_changed(uow.caches.pages, uow.sessions)
    return case


@dataclass(frozen=True, slots=True)
class Person:
    """The accounts one person holds (just ``user_id`` when nobody linked it)."""

    person_id: int
    member_ids: tuple[int, ...]


def person_of(uow: EngineUnitOfWork, user_id: int) -> Person:
    """The person behind ``user_id`` and every account linked to it."""
    with uow.reading():
        person = uow.persons.person_of(user_id)
        members = uow.persons.members(person) or [user_id]
    return Person(person, tuple(members))


def signals_of(uow: EngineUnitOfWork, user_id: int) -> list[SignalRecord]:
    """The user's recorded sign-ups and logins, oldest first."""
    with uow.reading():
        return uow.signals.of_user(user_id)


ERASED = "erased"


def erase_member_signals(uow: EngineUnitOfWork, user_id: int) -> int:
    """The PIPL erase seam: delete the member's signals and blank the addresses and device ids
    in the evidence of the cases naming them; the number of signals deleted.

    Decisions and person links stay: they are about who may rank, not personal data about the
    client, and removing them would let an erased account rank twice."""
    with uow:
        deleted = erase_signals_in(uow.signals, uow.integrity, user_id)
        uow.commit()
    return deleted


def erase_signals_in(
    signals: SignalRepository, integrity: IntegrityRepository, user_id: int
) -> int:
    """``erase_member_signals`` inside the caller's transaction (the PIPL erasure section)."""
    deleted = signals.erase_user(user_id)
    for row in integrity.cases_of(user_id, lock=True):
        if row.kind == FindingKind.SHARED_SIGNAL.value:
            row.evidence = _without_values(row.evidence)
    return deleted


def _without_values(evidence: Mapping[str, Any]) -> dict[str, Any]:
    shared = [{**value, "value": ERASED} for value in evidence.get("shared", [])]
    return {**evidence, "key": [ERASED] * len(evidence.get("key", [])), "shared": shared}

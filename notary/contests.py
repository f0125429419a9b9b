"""Verifiable contests: a contest's rules (locked when trading starts) and its results (at
settlement) attested on chain, and the certificates members download.

The engine writes the rules snapshot in the transaction that reveals the first bar
(``engine.contests.rules``) and freezes the prize list at settlement; it knows nothing of
chains. ``attest_due`` turns each into an attestation (``contracts.attesting``), once:

- ``contest-rules``: one leaf ``[contest_id, rules_sha256]``, the document the rules snapshot;
- ``contest-results``: one leaf per entrant of the final standings, ``[contest_id, user_id,
  rank, metric, prize_points, rules_sha256]`` (rank 0 and metric "" for an unranked entry;
  the metric a decimal string; prize points the sum of the member's contest and PK prizes).

``notarize`` is the job (run wherever content anchoring runs): attest what is due, anchor what
is pending, follow anchored roots to finality. Each step is idempotent and crash-safe.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from contracts import attesting
from contracts.anchoring import Registry
from contracts.attestations import (
    Attestation,
    AttestationCertificate,
    LeafValues,
    verify_attestation,
)
from contracts.certificates import hex32
from contracts.uow import ContentUnitOfWork
from contracts.verification import ChainReader, Verdict
from core.errors import Conflict, NotFound
from core.rule_codes import Rule
from engine.contests import rules, settlement
from engine.contests.rules_model import RulesSnapshot
from engine.trading.venue import require_contest
from engine.uow import EngineUnitOfWork

logger = logging.getLogger("paperleague.notary")

RULES = "contest-rules"
RESULTS = "contest-results"
RULES_ENCODING: tuple[str, ...] = ("uint256", "bytes32")
"""ABI types of a rules leaf: ``[contest_id, rules_sha256]``."""
RESULTS_ENCODING: tuple[str, ...] = (
    "uint256",
    "uint256",
    "uint256",
    "string",
    "uint256",
    "bytes32",
)
"""ABI types of a results leaf: ``[contest_id, user_id, rank, metric, prize_points,
rules_sha256]``."""
ENCODINGS = {RULES: RULES_ENCODING, RESULTS: RESULTS_ENCODING}


@dataclass(frozen=True, slots=True)
class NotaryReport:
    attested: tuple[Attestation, ...]
    anchored: tuple[Attestation, ...]
    finalized: tuple[int, ...]


# --- attesting -----------------------------------------------------------------------------


def attest_due(
    engine: EngineUnitOfWork, content: ContentUnitOfWork, *, now: datetime | None = None
) -> list[Attestation]:
    """Attest every locked contest's rules and every settled contest's results not attested
    yet; returns the new attestations."""
    with content.reading():
        have_rules = content.attestations.subjects(RULES)
        have_results = content.attestations.subjects(RESULTS)
    with engine.reading():
        locked = [c for c in _all(engine.rules.contest_ids) if c not in have_rules]
        settled = [c for c in _all(engine.rules.settled_contest_ids) if c not in have_results]
    attested = [attest_rules(engine, content, contest_id, now=now) for contest_id in locked]
    for contest_id in settled:
        found = attest_results(engine, content, contest_id, now=now)
        if found is not None:
            attested.append(found)
    return attested


def _all(page: Callable[..., Sequence[int]], *, size: int = 1000) -> list[int]:
    """Every id a keyset-paged query gives (``page(after=..., limit=...)``), in order."""
    found: list[int] = []
    while True:
        chunk = page(after=found[-1] if found else 0, limit=size)
        found += chunk
        if len(chunk) < size:
            return found


def attest_rules(
    engine: EngineUnitOfWork,
    content: ContentUnitOfWork,
    contest_id: int,
    *,
    now: datetime | None = None,
) -> Attestation:
    """The attestation of the contest's locked rules (stored by the first call)."""
    snapshot = rules.rules_of(engine, contest_id)
    return attesting.attest(
        content,
        RULES,
        subject=contest_id,
        leaf_encoding=RULES_ENCODING,
        leaves=[(None, (str(contest_id), hex32(snapshot.sha256)))],
        document=snapshot.document,
        now=now,
    )


def attest_results(
    engine: EngineUnitOfWork,
    content: ContentUnitOfWork,
    contest_id: int,
    *,
    now: datetime | None = None,
) -> Attestation | None:
    """The attestation of a settled contest's results (None when it had no entrants)."""
    snapshot, leaves = results_leaves(engine, contest_id)
    if not leaves:
        return None
    return attesting.attest(
        content,
        RESULTS,
        subject=contest_id,
        leaf_encoding=RESULTS_ENCODING,
        leaves=leaves,
        document=snapshot.document,
        now=now,
    )


def results_leaves(
    engine: EngineUnitOfWork, contest_id: int
) -> tuple[RulesSnapshot, list[tuple[int | None, LeafValues]]]:
    """The rules and the ``(member, leaf values)`` of a settled contest, in standings order."""
    snapshot = rules.rules_of(engine, contest_id)
    with engine.reading():
        contest = require_contest(engine, contest_id, seasonal=True)
        if contest.settled_at is None:
            raise Conflict(
                f"contest {contest_id} is not settled",
                field="contest_id",
                rule=Rule.NOT_SETTLED,
            )
        standings = settlement.final_standings(engine, contest)
        points: dict[int, int] = defaultdict(int)
        for prize in engine.prizes.prizes(contest_id):
            points[prize.member_id] += prize.points
    rules_sha = hex32(snapshot.sha256)
    leaves: list[tuple[int | None, LeafValues]] = [
        (
            placing.member_id,
            (
                str(contest_id),
                str(placing.member_id),
                str(placing.rank or 0),
                metric_text(placing.metric),
                str(points.get(placing.member_id, 0)),
                rules_sha,
            ),
        )
        for placing in standings.top(len(standings))
    ]
    return snapshot, leaves


def metric_text(metric: float | None) -> str:
    """A metric as a plain decimal string (the shortest that round-trips); "" when missing."""
    if metric is None or metric != metric:  # NaN
        return ""
    return format(Decimal(repr(metric)).normalize(), "f")


# --- the job -------------------------------------------------------------------------------


def notarize(
    engine: EngineUnitOfWork,
    content: ContentUnitOfWork,
    registry: Registry,
    *,
    confirmations: int,
    now: datetime | None = None,
) -> NotaryReport:
    """Attest what is due, anchor every pending attestation, advance anchored ones to final."""
    attested = attest_due(engine, content, now=now)
    anchored = attesting.anchor_attestations(content, registry, now=now)
    finalized = attesting.refresh_attestation_finality(
        content, registry, confirmations=confirmations, now=now
    )
    return NotaryReport(tuple(attested), tuple(anchored), tuple(finalized))


# --- reading and verifying -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfficialRules:
    """A contest's locked rules, its attestation (None until attested) and, once anchored,
    its certificate."""

    snapshot: RulesSnapshot
    attestation: Attestation | None
    certificate: AttestationCertificate | None


def official_rules(
    engine: EngineUnitOfWork, content: ContentUnitOfWork, contest_id: int
) -> OfficialRules:
    """The contest's locked rules and where their anchoring stands (409 before the lock)."""
    snapshot = rules.rules_of(engine, contest_id)
    attestation = attesting.find_attestation(content, RULES, contest_id)
    certificate = None
    if attestation is not None and attestation.on_chain:
        certificate = attesting.leaf_certificate(content, RULES, contest_id)
    return OfficialRules(snapshot, attestation, certificate)


def results_certificate(
    engine: EngineUnitOfWork, content: ContentUnitOfWork, contest_id: int, member_id: int
) -> AttestationCertificate:
    """The member's rank-and-prize certificate: 409 ``not_settled`` before settlement, 409
    ``not_anchored`` until the results are on chain, 404 for a member with no entry."""
    with engine.reading():
        contest = require_contest(engine, contest_id, seasonal=True)
        settled = contest.settled_at is not None
    if not settled:
        raise Conflict(
            "results certificates exist once the contest is settled",
            field="contest_id",
            rule=Rule.NOT_SETTLED,
        )
    if attesting.find_attestation(content, RESULTS, contest_id) is None:
        raise Conflict(
            f"the results of contest {contest_id} are not anchored yet",
            field="contest_id",
            rule=Rule.NOT_ANCHORED,
        )
    try:
        return attesting.leaf_certificate(content, RESULTS, contest_id, holder=member_id)
    except NotFound as missing:
        raise NotFound(f"member {member_id} has no result in contest {contest_id}") from missing


def verify_contest_certificate(cert: AttestationCertificate, reader: ChainReader) -> Verdict:
    """Check a contest rules or results certificate offline and against the chain."""
    return verify_attestation(cert, reader, encodings=ENCODINGS)

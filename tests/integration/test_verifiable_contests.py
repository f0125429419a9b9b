"""Verifiable contests on SQLite and PostgreSQL: the rules snapshot written with the first bar,
every snapshot field locked after it, and rules and results attested, anchored once and
certified so each member's certificate verifies against the chain."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import pytest
from sqlalchemy import text

from contracts import attesting
from contracts.attestations import AttestationStatus
from contracts.certificates import hex32
from contracts.chain import ChainError
from contracts.checks import CheckContext, attestations_hold
from contracts.registry import AnchorReceipt
from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.errors import Conflict, NotFound, RuleViolation
from core.users import services as users
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from engine import clock
from engine.contests import rules, settlement
from engine.contests import services as contests
from engine.contests.prize_table import RankRange
from engine.contests.services import EDITABLE, SNAPSHOT_FIELDS, ContestDraft, FieldLocked
from engine.contests.spec import PrizeLine
from engine.uow import EngineUnitOfWork
from notary import contests as notary
from tests import contest_builders as build
from tests.concurrency import race
from tests.contest_builders import NOW
from tests.fake_chain import FakeRegistry
from tests.integration.test_settlement import finished_contest

PRIZES = [PrizeLine(RankRange(1, 1), points=500), PrizeLine(RankRange(2, 5), points=20)]


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def content(database: Database) -> ContentUnitOfWork:
    return ContentUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


# --- rules at lock ---------------------------------------------------------------------------


def test_the_first_bar_writes_the_rules_snapshot(uow: EngineUnitOfWork, operator: User) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season, prizes=PRIZES, private=True, capacity=50)
    with pytest.raises(Conflict) as early:
        rules.rules_of(uow, contest.id)
    assert early.value.extensions["rule"] == "rules_not_locked"

    clock.advance_clock(uow, contest.id)
    snapshot = rules.rules_of(uow, contest.id)
    assert snapshot.sha256 == hashlib.sha256(snapshot.document.encode()).digest()
    document = json.loads(snapshot.document)
    assert snapshot.document == json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    # Every draft field but the secret invite code, derived generically from ContestDraft.
    assert set(document["contest"]) == {f.name for f in fields(ContestDraft)} - {"invite_code"}
    assert contest.invite_code is not None and contest.invite_code not in snapshot.document
    assert document["contest"]["starting_cash"] == "1000000.00" or document["contest"][
        "starting_cash"
    ].startswith("1000000")
    assert document["contest"]["prizes"][0] == {
        "ranks": [1, 1],
        "points": 500,
        "xp": 0,
        "item_key": None,
    }
    assert document["season"]["id"] == season.id
    assert document["organiser"] == {"user_id": operator.id}
    clock.advance_clock(uow, contest.id, bars=3)  # later bars keep the first snapshot
    assert rules.rules_of(uow, contest.id) == snapshot


def test_the_snapshot_commits_with_the_first_bar_or_not_at_all(
    uow: EngineUnitOfWork, operator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash while writing the snapshot")

    monkeypatch.setattr(rules, "lock_rules", broken)
    with pytest.raises(RuntimeError):
        clock.advance_clock(uow, contest.id)
    assert contests.get_contest(uow, contest.id, now=NOW).clock_day is None  # the bar too
    monkeypatch.undo()
    clock.advance_clock(uow, contest.id)
    assert rules.rules_of(uow, contest.id).contest_id == contest.id


def test_every_snapshot_field_is_refused_after_the_lock(
    uow: EngineUnitOfWork, operator: User
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season, prizes=PRIZES)
    clock.advance_clock(uow, contest.id)
    locked = rules.rules_of(uow, contest.id)
    with uow.reading():
        draft = contests.draft_of(uow.trading.contest(contest.id))  # type: ignore[arg-type]
    assert SNAPSHOT_FIELDS  # derived from the draft, so never silently empty
    for name in sorted(SNAPSHOT_FIELDS):
        # Even the value it already has: the rules are fixed, not merely unchanged.
        with pytest.raises(RuleViolation if name not in EDITABLE else FieldLocked) as refused:
            contests.update_contest(uow, contest.id, {name: getattr(draft, name)}, now=NOW)
        assert refused.value.extensions["field"] == name
        expected = "locked_after_start" if name in EDITABLE else "immutable"
        assert refused.value.extensions["rule"] == expected
    with uow.reading():
        row = uow.trading.contest(contest.id)
        season_row = uow.contests.season(season.id)
        assert row is not None and season_row is not None
        assert rules.snapshot_of(row, season_row).document == locked.document


# --- results at settlement, anchoring and certificates ----------------------------------------


def _settled(uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]) -> Any:
    field = finished_contest(uow, operator, make_user, prizes=PRIZES)
    assert settlement.settle_contest(uow, field.contest.id, now=NOW).settled
    return field


def test_settled_results_are_anchored_once_and_every_member_verifies(
    uow: EngineUnitOfWork,
    content: ContentUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
) -> None:
    field = _settled(uow, operator, make_user)
    contest_id = field.contest.id
    registry = FakeRegistry()
    first = notary.notarize(uow, content, registry, confirmations=2)
    assert sorted(a.kind for a in first.anchored) == [notary.RESULTS, notary.RULES]
    # Settling and notarizing again anchor nothing new.
    settlement.settle_contest(uow, contest_id, now=NOW)
    again = notary.notarize(uow, content, registry, confirmations=2)
    assert (again.attested, again.anchored) == ((), ())
    assert len(registry.anchors) == 2 and registry.sent == 2

    snapshot = rules.rules_of(uow, contest_id)
    official = notary.official_rules(uow, content, contest_id)
    assert official.certificate is not None
    assert official.certificate.values == (str(contest_id), hex32(snapshot.sha256))
    assert notary.verify_contest_certificate(official.certificate, registry.reader()).valid

    members = [field.winner, field.loser, *field.idle]
    points = {m.id: 0 for m in members}
    for prize in settlement.prize_list(uow, contest_id).prizes:
        points[prize.member_id] += prize.points
    for member in members:
        certificate = notary.results_certificate(uow, content, contest_id, member.id)
        cid, user_id, rank, metric, prize_points, rules_sha = certificate.values
        assert (cid, user_id, prize_points) == (
            str(contest_id),
            str(member.id),
            str(points[member.id]),
        )
        assert rules_sha == hex32(snapshot.sha256) and certificate.document == snapshot.document
        verdict = notary.verify_contest_certificate(certificate, registry.reader())
        assert verdict.valid, verdict.failed
    winner = notary.results_certificate(uow, content, contest_id, field.winner.id)
    assert (winner.values[2], winner.values[4]) == ("1", "500")
    with pytest.raises(NotFound):
        notary.results_certificate(uow, content, contest_id, operator.id)

    registry.mine(2)
    final = notary.notarize(uow, content, registry, confirmations=2)
    assert final.finalized  # the results at least; the rules may have been deep enough before
    for kind in (notary.RULES, notary.RESULTS):
        found = attesting.find_attestation(content, kind, contest_id)
        assert found is not None and found.status is AttestationStatus.FINAL


def test_a_failed_or_lost_anchoring_is_retried_and_anchored_once(
    uow: EngineUnitOfWork,
    content: ContentUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
) -> None:
    field = _settled(uow, operator, make_user)
    registry = FakeRegistry()
    registry.fail_next()
    with pytest.raises(ChainError):
        notary.notarize(uow, content, registry, confirmations=1)
    stuck = attesting.find_attestation(content, notary.RULES, field.contest.id)
    assert stuck is not None and stuck.status is AttestationStatus.SENDING
    assert stuck.last_error is not None and "injected" in stuck.last_error
    with pytest.raises(Conflict) as early:
        notary.results_certificate(uow, content, field.contest.id, field.winner.id)
    assert early.value.extensions["rule"] == "not_anchored"

    registry.lose_next_receipt()  # mined, but the receipt never arrives
    with pytest.raises(ChainError):
        notary.notarize(uow, content, registry, confirmations=1)
    report = notary.notarize(uow, content, registry, confirmations=1)
    assert {a.status for a in report.anchored} == {AttestationStatus.ANCHORED}
    assert len(registry.anchors) == 2  # the lost one was recovered, not anchored again
    certificate = notary.results_certificate(uow, content, field.contest.id, field.winner.id)
    assert notary.verify_contest_certificate(certificate, registry.reader()).valid


def test_a_reorganised_block_sends_the_attestation_again(
    uow: EngineUnitOfWork,
    content: ContentUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
) -> None:
    field = _settled(uow, operator, make_user)
    registry = FakeRegistry()
    notary.notarize(uow, content, registry, confirmations=5)
    anchored = attesting.find_attestation(content, notary.RULES, field.contest.id)
    assert anchored is not None and anchored.block_number is not None
    registry.reorg(anchored.block_number)
    attesting.refresh_attestation_finality(content, registry, confirmations=5)
    resent = attesting.find_attestation(content, notary.RULES, field.contest.id)
    assert resent is not None and resent.status is AttestationStatus.SENDING
    notary.notarize(uow, content, registry, confirmations=5)
    again = attesting.find_attestation(content, notary.RULES, field.contest.id)
    assert again is not None and again.status is AttestationStatus.ANCHORED


def test_an_unsettled_contest_has_no_results_certificate(
    uow: EngineUnitOfWork, content: ContentUnitOfWork, operator: User
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season)
    clock.advance_clock(uow, contest.id)
    report = notary.notarize(uow, content, FakeRegistry(), confirmations=1)
    assert [a.kind for a in report.attested] == [notary.RULES]
    with pytest.raises(Conflict) as refused:
        notary.results_certificate(uow, content, contest.id, operator.id)
    assert refused.value.extensions["rule"] == "not_settled"


class _LockedRegistry(FakeRegistry):
    """The fake chain with one transaction at a time, as a real node orders them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Lock()

    def anchor(self, root: bytes, count: int) -> AnchorReceipt:
        with self._lock:
            return super().anchor(root, count)


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


@pytest.mark.postgres_only
def test_concurrent_notary_runs_attest_and_anchor_each_root_once(pg_database: Database) -> None:
    uow = EngineUnitOfWork(pg_database.sessions)
    numbers = itertools.count(1)

    def make_user(*roles: Role) -> User:
        return users.create_user(
            UsersUnitOfWork(pg_database.sessions),
            username=f"notary{next(numbers)}",
            password="a long password",
            roles=roles or (Role.MEMBER,),
        )

    field = _settled(uow, make_user(Role.OPERATOR), make_user)
    registry = _LockedRegistry()
    outcomes = race(
        3,
        lambda _: notary.notarize(
            EngineUnitOfWork(pg_database.sessions),
            ContentUnitOfWork(pg_database.sessions),
            registry,
            confirmations=1,
        ),
    )
    assert all(isinstance(o, notary.NotaryReport) for o in outcomes), outcomes
    assert (
        sorted(a.root for a in registry.anchors) == sorted({a.root for a in registry.anchors})
        and len(registry.anchors) == 2
    )
    content = ContentUnitOfWork(pg_database.sessions)
    certificate = notary.results_certificate(uow, content, field.contest.id, field.winner.id)
    assert notary.verify_contest_certificate(certificate, registry.reader()).valid


def test_the_attestations_check_finds_a_changed_leaf_and_a_missing_root(
    uow: EngineUnitOfWork,
    content: ContentUnitOfWork,
    database: Database,
    operator: User,
    make_user: Callable[..., User],
) -> None:
    field = _settled(uow, operator, make_user)
    registry = FakeRegistry()
    notary.notarize(uow, content, registry, confirmations=1)
    context = CheckContext(database.sessions, chain=registry.reader)
    assert attestations_hold(context) == []
    elsewhere = CheckContext(database.sessions, chain=FakeRegistry().reader)  # none of our roots
    assert len(attestations_hold(elsewhere)) == 2
    assert all("is not anchored at" in p for p in attestations_hold(elsewhere))

    found = attesting.find_attestation(content, notary.RESULTS, field.contest.id)
    assert found is not None
    with database.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM attestation_leaves WHERE attestation_id = :a AND position = 0"),
            {"a": found.id},
        )
    problems = attestations_hold(context)
    assert problems == [
        f"attestation {found.id} (contest-results of {field.contest.id}): its 4 stored leaves "
        "do not give its root"
    ]

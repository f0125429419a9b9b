"""One person, one entry on SQLite and PostgreSQL: signals recorded at sign-up and login,
scans that open review cases, decisions, and the one_account_per_person rule through the
clock's leaderboards and settlement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from core.db import Database
from core.errors import NotFound, RuleViolation
from core.integrity.model import ClientSignal, SignalKind
from core.users import services as users
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from engine import clock
from engine.contests import entries, settlement
from engine.contests.checks import snapshot_problems
from engine.contests.leaderboard import leaderboard
from engine.contests.metric_state import check_metric_state
from engine.contests.prize_table import RankRange
from engine.contests.spec import PrizeLine, Qualification
from engine.integrity import services as integrity
from engine.integrity.detectors import DetectorSettings, FindingKind
from engine.integrity.model import CaseStatus, Decision
from engine.integrity.services import CaseDecided
from engine.trading import order_desk
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.conftest import PASSWORD
from tests.contest_builders import NOW
from tests.engine_builders import request


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def _member(users_uow: UsersUnitOfWork, name: str, *, device: str, ip: str) -> User:
    return users.sign_up(
        users_uow,
        username=name,
        password=PASSWORD,
        display_name=name,
        signal=ClientSignal(ip=ip, device_id=device, user_agent="test-agent"),
    )


def test_sign_up_and_login_record_signals(users_uow: UsersUnitOfWork, uow: EngineUnitOfWork):
    alice = _member(users_uow, "alice", device="dev-1", ip="10.0.0.1")
    users.authenticate(
        users_uow,
        username="alice",
        password=PASSWORD,
        signal=ClientSignal(ip="10.0.0.2", device_id="dev-1"),
    )
    with pytest.raises(users.InvalidCredentials):  # a failed sign-in records nothing
        users.authenticate(
            users_uow, username="alice", password="wrong-password", signal=ClientSignal(ip="x")
        )
    recorded = integrity.signals_of(uow, alice.id)
    assert [(s.kind, s.ip, s.device_id) for s in recorded] == [
        (SignalKind.SIGN_UP, "10.0.0.1", "dev-1"),
        (SignalKind.LOGIN, "10.0.0.2", "dev-1"),
    ]
    assert recorded[0].user_agent_hash == ClientSignal(user_agent="test-agent").user_agent_hash
    with uow:
        assert uow.signals.erase_user(alice.id) == 2
        uow.commit()
    assert integrity.signals_of(uow, alice.id) == []


def test_scan_opens_cases_once_and_decisions_stick(
    users_uow: UsersUnitOfWork, uow: EngineUnitOfWork, operator: User
) -> None:
    a = _member(users_uow, "anna", device="shared", ip="10.1.0.1")
    b = _member(users_uow, "bert", device="shared", ip="10.1.0.2")
    c = _member(users_uow, "carl", device="own", ip="10.1.0.3")

    first = integrity.scan(uow)
    assert [(k.kind, k.member_ids) for k in first.opened] == [
        (FindingKind.SHARED_SIGNAL, (a.id, b.id))
    ]
    case = first.opened[0]
    assert case.status is CaseStatus.OPEN and case.evidence["devices"] == 1
    assert integrity.scan(uow).opened == ()  # already open

    dismissed = integrity.decide(
        uow, case.id, decision=Decision.DISTINCT, reason=" twins,  checked ID ", operator_id=1
    )
    assert (dismissed.status, dismissed.reason) == (CaseStatus.DISTINCT, "twins, checked ID")
    assert integrity.scan(uow).opened == ()  # same evidence: not again
    # the same decision again is a replay; another decision is a conflict
    again = integrity.decide(
        uow, case.id, decision=Decision.DISTINCT, reason="twins, checked ID", operator_id=1
    )
    assert again == dismissed
    with pytest.raises(CaseDecided) as refused:
        integrity.decide(uow, case.id, decision=Decision.SAME_PERSON, reason="no", operator_id=1)
    assert refused.value.extensions["rule"] == "case_decided"

    # carl signs in on the shared device: new evidence, new cases
    users.authenticate(
        users_uow, username="carl", password=PASSWORD, signal=ClientSignal(device_id="shared")
    )
    opened = integrity.scan(uow).opened
    # (anna, bert) shows nothing new: it stays dismissed
    assert sorted(k.member_ids for k in opened) == [(a.id, c.id), (b.id, c.id)]
    by_pair = {k.member_ids: k for k in opened}
    integrity.decide(
        uow,
        by_pair[(a.id, c.id)].id,
        decision=Decision.SAME_PERSON,
        reason="same ID",
        operator_id=1,
    )
    integrity.decide(
        uow,
        by_pair[(b.id, c.id)].id,
        decision=Decision.SAME_PERSON,
        reason="same ID",
        operator_id=1,
    )
    person = integrity.person_of(uow, c.id)
    assert person.person_id == a.id and person.member_ids == (a.id, b.id, c.id)
    # accounts already one person raise no case, even with new evidence
    users.authenticate(
        users_uow, username="bert", password=PASSWORD, signal=ClientSignal(ip="10.1.0.3")
    )
    assert integrity.scan(uow).opened == ()

    listed, last = integrity.list_cases(uow, after=None, limit=2)
    assert [k.id for k in listed] == sorted((k.id for k in [case, *opened]), reverse=True)[:2]
    assert last == listed[-1].id
    open_ones, _ = integrity.list_cases(uow, status=CaseStatus.OPEN, after=None, limit=50)
    assert open_ones == []


def test_unhappy_decisions(uow: EngineUnitOfWork) -> None:
    with pytest.raises(NotFound):
        integrity.decide(uow, 999, decision=Decision.DISTINCT, reason="x", operator_id=1)
    with pytest.raises(RuleViolation) as blank:
        integrity.decide(uow, 999, decision=Decision.DISTINCT, reason="  ", operator_id=1)
    assert blank.value.field == "reason"
    with pytest.raises(NotFound):
        integrity.get_case(uow, 999)
    with pytest.raises(NotFound):
        integrity.scan(uow, contest_ids=[999])


# --- the contest rule -------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    contest_id: int
    first: User  # the best return
    twin: User  # the second best, the same person as ``first`` once linked
    third: User
    idle: User


def _finished(
    uow: EngineUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    *,
    link_before: bool,
    **changes: Any,
) -> Field:
    season = build.season(uow, operator, days=20)
    prizes = [PrizeLine(RankRange(1, 1), points=100), PrizeLine(RankRange(2, 2), points=50)]
    contest = build.contest(uow, season, prizes=prizes, **changes)
    first, twin, third, idle = (make_user() for _ in range(4))
    for member in (first, twin, third, idle):
        entries.join_contest(uow, contest.id, member.id, now=NOW)
    if link_before:
        _link(uow, first, twin)
    clock.advance_clock(uow, contest.id)
    symbols = list(season.universe)
    days = build.uow_trading_days(uow, symbols)
    with uow.reading():
        opening, closing = (
            uow.market.bars_on(days[1], symbols),
            uow.market.bars_on(days[-1], symbols),
        )
    rising = max(symbols, key=lambda s: closing[s].close / opening[s].open)
    assert closing[rising].close > opening[rising].open
    order_desk.place_order(uow, contest.id, first.id, request(symbol=rising, qty="20000"))
    order_desk.place_order(uow, contest.id, twin.id, request(symbol=rising, qty="10000"))
    order_desk.place_order(uow, contest.id, third.id, request(symbol=rising, qty="5000"))
    assert clock.advance_clock(uow, contest.id, bars=100).finished
    return Field(contest.id, first, twin, third, idle)


def _link(uow: EngineUnitOfWork, *members: User) -> None:
    with uow:
        uow.persons.link([m.id for m in members], case_id=None, at=NOW)
        uow.commit()


def _board(uow: EngineUnitOfWork, field: Field) -> dict[int, tuple[int | None, str | None]]:
    rows = leaderboard(uow, field.contest_id, field.first.id).rows
    return {row.member_id: (row.rank, row.unranked_reason) for row in rows}


def _prized(uow: EngineUnitOfWork, field: Field) -> dict[int, int]:
    settlement.settle_contest(uow, field.contest_id, now=NOW)
    listed = settlement.prize_list(uow, field.contest_id)
    return {p.member_id: p.points for p in listed.prizes}


def test_only_one_account_per_person_ranks_and_wins(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    field = _finished(uow, operator, make_user, link_before=True)
    board = _board(uow, field)
    assert board[field.first.id] == (1, None)
    assert board[field.twin.id] == (None, "one_account_per_person")
    assert board[field.third.id] == (2, None)
    with uow.reading():
        contest = uow.trading.contest(field.contest_id)
        assert contest is not None
        assert snapshot_problems(uow, contest) == []  # the stored snapshot reranks the same
        assert check_metric_state(uow, field.contest_id) == []
    assert _prized(uow, field) == {field.first.id: 100, field.third.id: 50}
    # the fills of both accounts mirror each other: a scan with k = 1 flags the pair in the
    # contest unless they are one person already
    report = integrity.scan(
        uow, contest_ids=[field.contest_id], settings=DetectorSettings(min_matches=1), now=NOW
    )
    assert report.findings >= 1
    assert all(set(k.member_ids) != {field.first.id, field.twin.id} for k in report.opened)


def test_a_link_decided_after_the_last_tick_still_keeps_the_prize_from_the_twin(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    field = _finished(uow, operator, make_user, link_before=False)
    assert _board(uow, field)[field.twin.id] == (2, None)
    report = integrity.scan(
        uow, contest_ids=[field.contest_id], settings=DetectorSettings(min_matches=1), now=NOW
    )
    mirrored = [k for k in report.opened if k.kind is FindingKind.MIRRORED]
    pair = next(k for k in mirrored if set(k.member_ids) == {field.first.id, field.twin.id})
    integrity.decide(uow, pair.id, decision=Decision.SAME_PERSON, reason="one ID", operator_id=1)
    assert _board(uow, field)[field.twin.id] == (2, None)  # the stored board is history
    assert _prized(uow, field) == {field.first.id: 100, field.third.id: 50}
    assert _prized(uow, field) == {field.first.id: 100, field.third.id: 50}  # exactly once


def test_with_the_rule_off_every_account_ranks(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    field = _finished(
        uow,
        operator,
        make_user,
        link_before=True,
        qualification=Qualification(one_account_per_person=False),
    )
    assert _board(uow, field)[field.twin.id] == (2, None)
    assert _prized(uow, field) == {field.first.id: 100, field.twin.id: 50}


def test_erasing_a_members_signals_blanks_the_evidence_and_keeps_the_decisions(
    users_uow: UsersUnitOfWork, uow: EngineUnitOfWork
) -> None:
    a = _member(users_uow, "gina", device="kiosk", ip="10.2.0.1")
    b = _member(users_uow, "gus", device="kiosk", ip="10.2.0.2")
    case = integrity.scan(uow).opened[0]
    integrity.decide(uow, case.id, decision=Decision.SAME_PERSON, reason="same", operator_id=1)
    assert integrity.erase_member_signals(uow, a.id) == 1
    assert integrity.signals_of(uow, a.id) == []
    assert len(integrity.signals_of(uow, b.id)) == 1
    evidence = integrity.get_case(uow, case.id).evidence
    assert [v["value"] for v in evidence["shared"]] == ["erased"]
    assert "kiosk" not in str(evidence)
    assert integrity.person_of(uow, b.id).member_ids == (a.id, b.id)
    assert integrity.scan(uow).opened == ()

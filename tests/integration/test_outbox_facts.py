"""Each fact's outbox event, written by the fact's own transaction on both databases: one
``prize.paid`` per prize however often settlement runs, one ``pk.result`` per judged board, one
``certificate.final`` per batch once it is final (none before)."""

from __future__ import annotations

from collections.abc import Callable

from contracts import anchoring
from contracts.chain import Chain
from contracts.registration import register_content
from contracts.registry import RegistryClient
from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.users.model import Role, User
from core.webhooks import WebhooksUnitOfWork, outbox_events
from engine import clock
from engine.contests import pk_rounds
from engine.contests.prize_table import RankRange
from engine.contests.settlement import settle_contest
from engine.contests.spec import PrizeLine
from engine.uow import EngineUnitOfWork
from tests.chains import mine
from tests.contest_builders import NOW
from tests.integration.test_settlement import finished_contest, operator, uow  # noqa: F401
from tests.integration.test_teams_pk import league


def _events(database: Database, kind: str) -> list[tuple[str, dict[str, object]]]:
    found = outbox_events(WebhooksUnitOfWork(database.sessions))
    return [(e.event_id, e.payload) for e in found if e.kind == kind]


def test_each_prize_paid_is_announced_once(
    uow: EngineUnitOfWork,  # noqa: F811
    operator: User,  # noqa: F811
    make_user: Callable[..., User],
    database: Database,
) -> None:
    field = finished_contest(uow, operator, make_user, prizes=[PrizeLine(RankRange(1, 2), 100, 10)])
    assert _events(database, "prize.paid") == []
    first = settle_contest(uow, field.contest.id, now=NOW)
    settle_contest(uow, field.contest.id)  # a rerun pays nothing, announces nothing
    paid = _events(database, "prize.paid")
    assert first.paid_now == len(paid) == 4  # the winner and the three idle tied second
    assert {payload["member_id"] for _, payload in paid} == {
        field.winner.id,
        *(m.id for m in field.idle),
    }
    assert all(event_id == f"prize.paid:{payload['award_id']}" for event_id, payload in paid)
    assert {payload["points"] for _, payload in paid} == {100}


def test_each_judged_pk_board_is_announced_once(
    uow: EngineUnitOfWork,  # noqa: F811
    operator: User,  # noqa: F811
    make_user: Callable[..., User],
    database: Database,
) -> None:
    game = league(uow, operator, make_user, team_count=4, round_bars=2, bars=8)
    clock.advance_clock(uow, game.contest.id, bars=100)
    boards = [b for r in pk_rounds.pk_overview(uow, game.contest.id).rounds for b in r.boards]
    judged = [b for b in boards if b.outcome is not None]
    results = _events(database, "pk.result")
    assert len(judged) > 0 and len(results) == len(judged)
    assert len({event_id for event_id, _ in results}) == len(results)
    assert {p["outcome"] for _, p in results} <= {"win_a", "win_b", "draw", "bye"}


def test_a_batch_is_announced_when_it_becomes_final(
    database: Database, make_user: Callable[..., User], chain: Chain
) -> None:
    registry = RegistryClient.deploy(chain)
    content = ContentUnitOfWork(database.sessions)
    author = make_user(Role.AUTHOR)
    register_content(
        content, author.id, title="n", content=b"Long the curve", content_type="text/plain"
    )
    batch = anchoring.anchor_pending(content, registry)
    assert batch is not None
    anchoring.refresh_finality(content, registry, confirmations=3)
    assert _events(database, "certificate.final") == []  # anchored, not final yet
    mine(chain, 2)
    anchoring.refresh_finality(content, registry, confirmations=3)
    anchoring.refresh_finality(content, registry, confirmations=3)
    [(event_id, payload)] = _events(database, "certificate.final")
    assert event_id == f"certificate.final:{batch.id}"
    assert payload["batch_id"] == batch.id and payload["leaf_count"] == 1

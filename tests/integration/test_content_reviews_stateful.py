"""A hypothesis state machine interleaves registrations (clean, prohibited claims, near-
duplicates), approvals, rejections, anchoring runs and finality under the review policy. After
every step: no piece pending review or rejected is in a batch, anchored, or has a certificate
for anyone (and others do not even see it); every approved or never-held piece is anchored by
the next run, with a certificate its author gets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from contracts import anchoring, reviews, services
from contracts.checks import CheckContext, held_content_unanchored
from contracts.content import ContentPolicy, PolicyAction, ReviewStatus, Verdict
from contracts.registration import register_content
from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.errors import Conflict, NotFound
from core.users.model import Role
from tests.check_world import add_user
from tests.fake_chain import FakeRegistry

BASE = "Foundry capex is underrated: pricing, share and yield all rise as the cycle turns, {n}"
KINDS = ("clean", "claim", "near")


def _text(kind: str, n: int) -> str:
    if kind == "claim":
        return f"Note {n}: a guaranteed return for every reader, year {n * 7919}."
    if kind == "near":  # one sentence from BASE, a few words changed: a near-duplicate of it
        return BASE.format(n=0) + f" and again {n}"
    return f"Plain note {n}: {n * 104729} shares traded, nothing promised."


def run_machine(databases: object) -> None:
    class ReviewTraffic(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.url = databases.migrated()  # type: ignore[attr-defined]
            self.database = Database.connect(self.url)
            self.uow = ContentUnitOfWork(self.database.sessions)
            self.registry = FakeRegistry()
            self.authors = [add_user(self.database, f"a{i}", Role.AUTHOR).id for i in range(2)]
            self.stranger = add_user(self.database, "stranger", Role.AUTHOR).id
            self.operator = add_user(self.database, "operator", Role.OPERATOR).id
            services.set_content_policy(
                self.uow,
                ContentPolicy(
                    near_duplicate_action=PolicyAction.REVIEW,
                    compliance_action=PolicyAction.REVIEW,
                ),
            )
            register_content(
                self.uow,
                self.authors[0],
                title="base",
                content=BASE.format(n=0).encode(),
                content_type="text/plain",
            )
            self.count = 0
            self.held: dict[int, ReviewStatus] = {}  # content id -> the review status we expect
            self.author_of: dict[int, int] = {}

        def teardown(self) -> None:
            self.database.dispose()
            databases.drop(self.url)  # type: ignore[attr-defined]

        @rule(kind=st.sampled_from(KINDS), author=st.integers(0, 1))
        def register(self, kind: str, author: int) -> None:
            self.count += 1
            piece = register_content(
                self.uow,
                self.authors[author],
                title=f"{kind} {self.count}",
                content=_text(kind, self.count).encode(),
                content_type="text/plain",
            )
            self.author_of[piece.id] = piece.author_id
            if kind != "clean":
                assert piece.review is not None, kind
            if piece.review is not None:
                assert piece.review.status is ReviewStatus.PENDING
                self.held[piece.id] = ReviewStatus.PENDING

        @rule(data=st.data(), verdict=st.sampled_from(Verdict))
        def decide(self, data: st.DataObject, verdict: Verdict) -> None:
            if not self.held:
                return
            content_id = data.draw(st.sampled_from(sorted(self.held)))
            try:
                review = reviews.decide(
                    self.uow, content_id, verdict, operator_id=self.operator, reason="checked"
                )
            except Conflict:
                assert self.held[content_id] not in (ReviewStatus.PENDING, verdict.status)
                return
            assert self.held[content_id] in (ReviewStatus.PENDING, verdict.status)
            assert review.status is verdict.status
            self.held[content_id] = verdict.status

        @rule()
        def anchor(self) -> None:
            anchoring.anchor_pending(self.uow, self.registry)
            # Every cleared piece is anchored now, with a certificate its author gets.
            for content_id, author_id in self.author_of.items():
                if self.held.get(content_id, ReviewStatus.APPROVED) is ReviewStatus.APPROVED:
                    certificate = services.certificate(self.uow, content_id, author_id=author_id)
                    assert certificate.id == content_id

        @rule()
        def finalize(self) -> None:
            self.registry.mine(3)
            anchoring.refresh_finality(self.uow, self.registry, confirmations=2)

        @invariant()
        def nothing_uncleared_is_visible_or_anchored(self) -> None:
            for content_id, expected in self.held.items():
                piece = services.content(self.uow, content_id, author_id=None)
                assert piece.review is not None and piece.review.status is expected
                if expected is ReviewStatus.APPROVED:
                    continue
                assert piece.batch_id is None and piece.status.value == "pending"
                for viewer in (None, self.author_of[content_id]):
                    with pytest.raises(Conflict):
                        services.certificate(self.uow, content_id, author_id=viewer)
                for stranger_call in (services.certificate, services.content):
                    with pytest.raises(NotFound):
                        stranger_call(self.uow, content_id, author_id=self.stranger)
            assert held_content_unanchored(CheckContext(self.database.sessions)) == []
            pending = {r.id for r in reviews.review_queue(self.uow, limit=1000)[0]}
            assert pending == {i for i, s in self.held.items() if s is ReviewStatus.PENDING}

    run_state_machine_as_test(
        ReviewTraffic,
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_review_traffic_never_exposes_uncleared_content(
    request: pytest.FixtureRequest, backend: str
) -> None:
    name = "sqlite_databases" if backend == "sqlite" else "postgres_databases"
    run_machine(request.getfixturevalue(name))

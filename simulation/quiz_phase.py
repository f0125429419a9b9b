"""One quiz competition in the season: the operator writes a small question bank and schedules
a one-hour quiz on an evening early in the season; members who checked in that day take it,
answering each question within its time limit with their own accuracy; then it is settled, paying
its rank tiers through the ledger, as ``POST /v1/admin/quiz/quizzes/{id}/settlement`` does."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from ledger.quizzes import services as quizzes
from ledger.quizzes.model import QuestionKind, RewardTier, TierBasis
from ledger.quizzes.services import QuestionDraft, QuizSpec
from ledger.quizzes.uow import QuizUnitOfWork
from simulation.calendar import SeasonDay
from simulation.context import SimulationContext
from simulation.model import QuizReport

QUIZ_DAY = 7  # trading day index (the second week)
QUIZ_HOUR = 20  # local time
SECONDS_PER_QUESTION = 20
MAX_TAKERS = 12
REWARD_REASON = "quiz"  # the points-flow log's name for quiz prizes
BANK = (
    ("Which index tracks Shanghai-listed A-shares?", ("SSE Composite", "Nikkei 225", "DAX"), (0,)),
    ("A stop order becomes a market order when…", ("the stop price trades", "the day ends"), (0,)),
    ("Which are costs of a trade in China?", ("commission", "stamp duty", "a dividend"), (0, 1)),
    ("T+1 means shares bought today can be sold…", ("today", "the next trading day"), (1,)),
)
TIERS = (
    RewardTier(TierBasis.RANK, 1, 1, points=120, xp=20),
    RewardTier(TierBasis.RANK, 2, 3, points=60, xp=10),
    RewardTier(TierBasis.RANK, 4, 10, points=20),
)


class QuizPhase:
    name = "quiz"

    def setup(self, sim: SimulationContext) -> None:
        self._uow = QuizUnitOfWork(sim.database.sessions)
        self._rng = sim.rng("quiz")
        self._report = QuizReport()

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        if day.index != min(QUIZ_DAY, len(sim.calendar.trading_dates) - 1):
            return
        opens = sim.calendar.at(day.trading_date, QUIZ_HOUR)
        ids = [
            quizzes.create_question(
                self._uow,
                QuestionDraft(
                    kind=QuestionKind.MULTIPLE if len(correct) > 1 else QuestionKind.SINGLE,
                    text=text,
                    options=options,
                    correct=correct,
                ),
                operator_id=sim.operator_id,
                now=opens - timedelta(days=1),
            ).id
            for text, options, correct in BANK
        ]
        spec = QuizSpec(
            title="Market basics quiz",
            opens_at=opens,
            closes_at=opens + timedelta(hours=1),
            seconds_per_question=SECONDS_PER_QUESTION,
            question_ids=tuple(ids),
            reward_tiers=TIERS,
        )
        quiz = quizzes.create_quiz(self._uow, spec, operator_id=sim.operator_id, now=opens)
        quizzes.publish_quiz(self._uow, quiz.id, now=opens)
        column = sim.calendar.calendar_index(day.trading_date)
        active = [m for m in sim.members if sim.activity[m.index, column]]
        takers = [active[int(i)] for i in self._rng.permutation(len(active))[:MAX_TAKERS]]
        for number, member in enumerate(takers):
            self._take(quiz.id, member.user_id, start=opens + timedelta(seconds=30 * number))
        settled = quizzes.settle_quiz(self._uow, quiz.id, now=spec.closes_at)
        sim.points.mint(day.trading_date, REWARD_REASON, sum(p.points for p in settled.prizes))
        board = quizzes.leaderboard(self._uow, quiz.id, now=spec.closes_at)
        self._report = QuizReport(
            title=quiz.title,
            day=day.trading_date,
            questions=len(ids),
            takers=len(board),
            correct_histogram=dict(sorted(Counter(p.score.correct for p in board).items())),
            prizes=len(settled.prizes),
            prize_points=sum(p.points for p in settled.prizes),
            prize_xp=sum(p.xp for p in settled.prizes),
            winners=tuple(
                (p.rank, p.score.member_id, p.score.correct, p.score.time_ms) for p in board[:5]
            ),
        )

    def _take(self, quiz_id: int, member_id: int, *, start: datetime) -> None:
        """One bot's attempt: each question answered after a few seconds, right with its own
        accuracy (a slow one runs past the limit and counts as wrong)."""
        accuracy = 0.3 + 0.6 * self._rng.random()
        moment = start
        quizzes.start_attempt(self._uow, quiz_id, member_id, now=moment)
        for _, options, correct in BANK:
            served = quizzes.current_question(self._uow, quiz_id, member_id, now=moment)
            moment = served.served_at + timedelta(seconds=float(self._rng.uniform(2, 24)))
            right = self._rng.random() < accuracy
            chosen = list(correct) if right else [len(options) - 1 - correct[0]]
            quizzes.answer(
                self._uow, quiz_id, member_id, position=served.position, selected=chosen, now=moment
            )

    def finish(self, sim: SimulationContext) -> None:
        """The quiz is settled on its day."""

    def report(self) -> QuizReport:
        return self._report

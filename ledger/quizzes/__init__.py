"""Quiz competitions (线上问答竞赛): an operators' question bank, scheduled quizzes, one timed
attempt per member, a leaderboard and reward tiers paid through the ledger's award path.

``model`` is pure (rules, timing, scoring, ranking, tiers), ``store`` the mappings and
repository, ``services`` the use cases on a ``QuizUnitOfWork`` (``uow``).
"""

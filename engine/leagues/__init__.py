"""Weekly leagues (Duolingo-style): members of ten tiers meet in weekly cohorts of about 30,
matched by activity and time zone, rank by XP earned that week or by a contest's metric, move a
tier up or down from the zones, and are rewarded through the ledger once per week.

``model`` is pure (tiers, rules, cohorts, ranking, zones), ``store`` the mappings and
repository, ``services`` the use cases on a ``LeagueUnitOfWork`` (``uow``), ``checks`` the
invariants.
"""

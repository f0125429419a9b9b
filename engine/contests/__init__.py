"""Contests: seasons, contests, entries, teams, PK rounds, standings, settlement.

One name per concept:

- **ranking** (``ranking.py``): the pure algorithm, one tick's metrics in, a total order with
  competition ranks out (``Standings``);
- **standings**: what a tick ranked, recorded by the clock (``standings.py``), stored
  (``store_standings.py``) and kept for readers (``standings_cache.py``); the running state
  behind them is the **metric state** (``metric_state.py``);
- **leaderboard** (``leaderboard.py``): what members read of the standings (pages, around me,
  friends, team, history).

Trading (``engine.trading``) never imports this package; the clock (``engine.clock``) joins
the two.
"""

"""Trading: orders, rule packs, matching, portfolios, statistics and the trading services."""

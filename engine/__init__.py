"""Trading simulator: market data, orders, fills, rule packs, portfolios and contests."""

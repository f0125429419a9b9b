# PaperLeague: every target sets up its own virtual environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install test lint serve demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

# lint-imports: the import contracts in pyproject.toml ([tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The whole suite runs on SQLite and on PostgreSQL (PAPERLEAGUE_TEST_POSTGRES_URL,
# default the local server). Without a server the PostgreSQL cases are skipped with the
# reason shown, unless REQUIRE_POSTGRES=1.
# PYTHONDONTWRITEBYTECODE emptied: with it set (as on the CI machine) every worker, server and
# CLI subprocess compiles the project again, and alembic the migrations on every upgrade.
test: lint contracts-npm
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# solcjs, anvil and OpenZeppelin's merkle-tree, pinned by contracts/package-lock.json, for the
# contract, anvil and OpenZeppelin tests (skipped without them): `npm ci` once, and again only
# when the lock file is newer than the stamp (npm ci empties node_modules, stamp included).
# Without npm, one line says so and the tests say what they skip.
CONTRACTS_NPM_STAMP := contracts/node_modules/.npm-ci-stamp

.PHONY: contracts-npm
contracts-npm:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(CONTRACTS_NPM_STAMP); \
	else \
		echo "npm not found: not installing contracts/node_modules (its tests will be skipped)"; \
	fi

$(CONTRACTS_NPM_STAMP): contracts/package-lock.json
	npm ci --prefix contracts
	@touch $@

# Every benchmark, then one table: bench/results/latest.md and latest.json (bench/suite.py).
# `make bench BENCH_ARGS=--quick` for a short run. One target per area too; see bench/README.md.
# Its own .PHONY line: the bench/ directory would otherwise count as the target, up to date.
.PHONY: bench bench-ledger bench-engine bench-leaderboard bench-api bench-intraday bench-push
bench: $(STAMP) contracts-npm
	$(BIN)/python -m bench.suite $(BENCH_ARGS)

# Ledger throughput on SQLite and PostgreSQL next to pgbench.
bench-ledger: $(STAMP)
	$(BIN)/python -m bench.ledger $(BENCH_ARGS)

# Replay vs backtrader, SMA cross vs backtesting.py, and mark-to-market of 100,000 portfolios.
bench-engine: $(STAMP)
	$(BIN)/python -m bench.engine $(BENCH_ARGS)

bench-leaderboard: $(STAMP)
	$(BIN)/python -m bench.leaderboard $(BENCH_ARGS)

# Batched anchoring on eth-tester: Merkle build, gas per certificate by batch size, verification.
.PHONY: bench-anchoring
bench-anchoring: $(STAMP)
	$(BIN)/python -m bench.anchoring $(BENCH_ARGS) $(ANCHORING_ARGS)

# The HTTP API under load: uvicorn workers on PostgreSQL, orders, leaderboards and check-ins
# next to a no-op endpoint of the same server. `API_ARGS="--profile DIR"` samples it with py-spy.
bench-api: $(STAMP) contracts-npm
	$(BIN)/python -m bench.api $(BENCH_ARGS) $(API_ARGS)

# One minute tick of 100,000 accounts × 50 symbols against the daily tick of the same venue.
bench-intraday: $(STAMP)
	$(BIN)/python -m bench.intraday $(BENCH_ARGS)

# Quote-to-push latency of the live event stream on PostgreSQL: wake-up on commit vs poll only.
bench-push: $(STAMP) contracts-npm
	$(BIN)/python -m bench.push_latency $(BENCH_ARGS)

# Rebuilds contracts/build/ContentRegistry.json with the solcjs pinned in contracts/package-lock.json
# (also installs anvil for the integration tests). Only after editing ContentRegistry.sol; the build
# is committed, so running the project needs no Node. Own .PHONY: contracts/ is a directory.
.PHONY: contracts
contracts: $(CONTRACTS_NPM_STAMP)
	node contracts/compile.mjs

# Refreshes web/vendor/chart.umd.min.js from the Chart.js pinned in web/package-lock.json. Only
# after changing the pin: the vendored file is committed, so running the UI needs no Node.
# Own .PHONY: web/ is a directory.
.PHONY: web
web:
	npm ci --prefix web
	cp web/node_modules/chart.js/dist/chart.umd.min.js web/vendor/chart.umd.min.js

serve: $(STAMP) contracts-npm
	$(BIN)/paperleague serve

# The season simulation on embedded defaults (SQLite, in-process chain, synthetic market):
# prints the season's results and writes demo/report.html. `make demo DEMO_ARGS="--members 2000"`.
demo: $(STAMP)
	$(BIN)/paperleague simulate --output demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache paperleague.db paperleague.db-* demo

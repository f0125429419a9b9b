"""The benchmark suite's shaping: each benchmark's JSON into rows, rows into the table and
latest.json. No benchmark runs here; payloads come from the benchmarks' own payload builders
where they have one, else in the shape their ``main`` writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import api, leaderboard, ledger, push_latency, suite


def test_ledger_rows_put_transfers_per_second_next_to_pgbench_tps() -> None:
    measurements = [
        ledger.Measurement("postgresql", "single", 300, 300, 1.5),
        ledger.Measurement("postgresql", "batch", 3, 3000, 0.5),
    ]
    peer = ledger.Peer(tps=400.0, latency_ms=2.5, command="pgbench -N")
    payload = ledger.results_payload(
        measurements,
        peer,
        plan=ledger.QUICK,
        quick=True,
        postgres="skipped",
        cpu_busy_before=None,
        wall_seconds=1.0,
    )
    single, batch = suite.ledger_rows(json.loads(json.dumps(payload)))
    assert single.workload == "postgresql, 1 per txn"
    assert batch.workload == "postgresql, 1,000/submit"
    assert single.ours == pytest.approx(200) and single.peer == 400.0
    assert single.ratio == pytest.approx(0.5) and batch.ratio == pytest.approx(15)
    assert (single.units, single.peer_units) == ("transfers/s", "TPS")


def test_ledger_rows_without_pgbench_have_no_ratio_and_say_why() -> None:
    peer = ledger.Peer(None, None, "pgbench -N", ledger.PGBENCH_MISSING)
    payload = ledger.results_payload(
        [ledger.Measurement("sqlite", "single", 10, 10, 1.0)],
        peer,
        plan=ledger.QUICK,
        quick=True,
        postgres="skipped",
        cpu_busy_before=None,
        wall_seconds=1.0,
    )
    (row,) = suite.ledger_rows(payload)
    assert row.peer is None and row.ratio is None and "pgbench not found" in row.note
    assert "| n/a (pgbench -N, 1 client) | n/a |" in suite.markdown_table([row])


def test_leaderboard_rows_keep_milliseconds_lower_is_better_and_lookups_higher() -> None:
    measurements = [
        leaderboard.Measurement("tick", "ms", 10, ours_seconds=0.5, redis_seconds=2.0),
        leaderboard.Measurement("rank lookup", "ops/s", 1000, ours_seconds=0.01, redis_seconds=0.5),
        leaderboard.Measurement("re-rank", "ms", 2, ours_seconds=1.0, redis_seconds=None),
    ]
    payload = leaderboard.results_payload(
        measurements,
        {},
        plan=leaderboard.QUICK,
        quick=True,
        redis_server="7.0",
        cpu_busy_before=None,
        wall_seconds=1.0,
    )
    tick, lookup, rerank = suite.leaderboard_rows(payload)
    assert (tick.ours, tick.peer, tick.units) == (pytest.approx(50), pytest.approx(200), "ms")
    assert not tick.higher_is_better and tick.ratio == pytest.approx(4)
    assert lookup.ours == pytest.approx(100_000) and lookup.ratio == pytest.approx(50)
    # The suite's ratio is the leaderboard bench's own "Redis time ÷ our time".
    for row, r in zip((tick, lookup), payload["results"], strict=False):  # type: ignore[call-overload]
        assert row.ratio == pytest.approx(r["ratio_redis_time_over_ours"])
    assert rerank.ratio is None and rerank.note == "Redis not reachable"


def _api_result(workload: str, requests: int, seconds: float) -> api.Result:
    return api.Result(
        workload=workload,
        request=f"GET /{workload}",
        requests=requests,
        seconds=seconds,
        p50_ms=4.0,
        p99_ms=12.5,
        statuses={"200": requests},
        transport_errors={},
        cpu_seconds={"server": 1.0},
        connections=[8, 8],
    )


def test_api_rows_compare_each_workload_with_the_no_op_of_the_same_run() -> None:
    results = [_api_result("no-op", 4000, 2.0), _api_result("orders", 500, 2.0)]
    payload = api.results_payload(
        results,
        plan=api.QUICK,
        quick=True,
        server="serve",
        postgres="postgresql://localhost/test",
        cpu_busy_before=0.1,
        wall_seconds=10.0,
    )
    (orders,) = suite.api_rows(json.loads(json.dumps(payload)))
    assert orders.workload == "orders: GET /orders" and orders.units == "req/s"
    assert (orders.ours, orders.peer) == (250.0, 2000.0)
    assert orders.ratio == pytest.approx(0.125) == payload["results"][1]["ratio_to_noop"]  # type: ignore[index]
    assert orders.note == "p50 4.0 ms, p99 12.5 ms, server CPU 2.0 ms/req"


def test_api_rows_add_the_scaling_pass_against_one_worker() -> None:
    many = [_api_result("no-op", 4000, 2.0), _api_result("orders", 600, 2.0)]
    one = [_api_result("no-op", 2500, 2.0), _api_result("orders", 400, 2.0)]
    payload = api.results_payload(
        many,
        plan=api.QUICK,
        quick=True,
        server="serve",
        postgres="postgresql://localhost/test",
        cpu_busy_before=0.1,
        wall_seconds=10.0,
    ) | {"scaling": api.scaling_payload(one, many)}
    rows = suite.api_rows(json.loads(json.dumps(payload)))
    scaling = [r for r in rows if "vs 1" in r.workload]
    assert [(r.workload, r.ours, r.peer) for r in scaling] == [
        ("no-op: 2 workers vs 1", 2000.0, 1250.0),
        ("orders: 2 workers vs 1", 300.0, 200.0),
    ]
    assert scaling[1].ratio == pytest.approx(1.5)
    assert "| orders | 200 | 300 | 1.50× |" in api.scaling_table(one, many, workers=2)


def test_api_rows_of_a_skipped_run_are_none() -> None:
    assert suite.api_rows({"skipped": "PostgreSQL not reachable", "results": []}) == []


def test_engine_rows_take_replay_goog_and_mark_to_market() -> None:
    engine = {
        "replay": {
            "ours": [{"label": "stock venue", "members": 100, "bars": 120,
                      "member_bars_per_second": 3000.0}],
            "backtrader": {"label": "backtrader", "members_run": 10, "members": 100, "bars": 120,
                           "member_bars_per_second": 1000.0},
        },
        "goog": [
            {"label": "backtesting.py SmaCross", "bars_per_second": 50_000.0},
            {"label": "backtesting.py long only", "bars_per_second": 48_000.0},
            {"label": "ours", "bars_per_second": 25_000.0},
        ],
    }  # fmt: skip
    replay, goog = suite.engine_rows(engine)
    assert replay.ratio == pytest.approx(3) and "scaled" in replay.note
    assert goog.ours == 25_000.0 and goog.peer == 50_000.0 and goog.ratio == pytest.approx(0.5)
    mtm = {"results": [{"workload": "mtm + update", "portfolios": 100_000,
                        "numpy_portfolio_ticks_per_second": 5e6,
                        "peer_portfolio_ticks_per_second": 1e5}]}  # fmt: skip
    (row,) = suite.engine_mtm_rows(mtm)
    assert row.ratio == pytest.approx(50) and "100,000 portfolios" in row.workload


def test_anchoring_rows_compare_batches_with_anchoring_alone() -> None:
    payload = {
        "gas": [
            {"batch_size": 1, "gas_per_certificate": 50_000.0},
            {"batch_size": 100, "gas_per_certificate": 500.0},
            {"batch_size": 1000, "gas_per_certificate": 50.0},
        ]
    }
    rows = suite.anchoring_rows(payload)
    assert [r.workload for r in rows] == [
        "gas per certificate, batches of 100",
        "gas per certificate, batches of 1,000",
    ]
    assert [r.ratio for r in rows] == [pytest.approx(100), pytest.approx(1000)]
    assert suite.markdown_table(rows).splitlines()[-1].split(" | ")[4] == "1,000×"


def test_intraday_rows_put_the_minute_tick_next_to_the_daily_tick() -> None:
    payload = {
        "plan": {"accounts": 100_000, "symbols": 50},
        "results": {
            "daily_tick_seconds": 2.0,
            "minute_tick_seconds": 1.0,
            "ratio_minute_to_daily": 0.5,
        },
    }
    (row,) = suite.intraday_rows(payload)
    assert (row.ours, row.peer, row.units) == (1000.0, 2000.0, "ms")
    assert row.ratio == pytest.approx(2) and "100,000 accounts × 50 symbols" in row.workload
    assert row.note == "minute ÷ daily = 0.50"
    assert suite.intraday_rows({"skipped": "x", "results": {}}) == []


def _push_figures(p50: float, p99: float) -> dict[str, float]:
    return {
        "samples": 100,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": p99 + 1,
        "push_p50_ms": p50 - 100,
        "push_p99_ms": p99 - 100,
        "store_ms_median": 10.0,
        "tick_ms_median": 90.0,
    }


def test_push_latency_rows_compare_the_wake_up_with_the_poll_of_the_same_run() -> None:
    payload = push_latency.results_payload(
        {
            ("postgresql", "wake-up"): _push_figures(120.0, 200.0),
            ("postgresql", "poll only"): _push_figures(480.0, 700.0),
            ("sqlite", "wake-up"): _push_figures(150.0, 250.0),
        },
        plan=push_latency.QUICK,
        quick=True,
        cpu_busy_before=None,
        wall_seconds=1.0,
    )
    assert payload["ratio_poll_p50_to_wake_p50"] == {"postgresql": 4.0, "sqlite": None}
    p50, p99, lone_p50, _ = suite.push_latency_rows(json.loads(json.dumps(payload)))
    assert (p50.ours, p50.peer, p50.units, p50.higher_is_better) == (120.0, 480.0, "ms", False)
    assert p50.ratio == pytest.approx(payload["ratio_poll_p50_to_wake_p50"]["postgresql"])
    assert p99.ratio == pytest.approx(3.5) and "p99" in p99.workload
    assert p50.workload.endswith(", postgresql") and lone_p50.workload.endswith(", sqlite")
    assert lone_p50.peer is None and lone_p50.ratio is None  # its poll-only side is missing
    assert p50.peer_name == "poll only, every 0.5 s"
    assert "tick 90 ms" in p50.note and "push alone p50 20 ms" in p50.note
    assert suite.push_latency_rows({"skipped": "no PostgreSQL", "results": []}) == []


def test_push_latency_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert push_latency.percentile(values, 0.5) == 50.0
    assert push_latency.percentile(values, 0.99) == 99.0
    assert push_latency.percentile([7.0], 0.99) == 7.0


def test_every_bench_of_the_suite_is_a_module_of_bench() -> None:
    here = Path(suite.__file__).parent
    assert [b.name for b in suite.BENCHES if not (here / f"{b.name}.py").exists()] == []
    assert {"intraday", "push_latency"} <= {b.name for b in suite.BENCHES}


def test_the_table_has_a_line_per_row_and_the_json_carries_ratios() -> None:
    rows = [
        suite.Row("api", "orders", 250.0, 2000.0, "req/s", "no-op"),
        suite.Row("anchoring", "batches of 10", 5.0, None, "gas", "alone", higher_is_better=False),
    ]
    outcomes = [
        suite.Outcome("api", "python -m bench.api --quick", 0, 12.0),
        suite.Outcome("anchoring", "python -m bench.anchoring --quick", 1, 3.0, "not written"),
    ]
    table = suite.markdown_table(rows).splitlines()
    assert table[0].startswith("| bench | workload | ours |") and len(table) == 2 + len(rows)
    assert table[2] == "| api | orders | 250 req/s | 2,000 req/s (no-op) | 0.12× |  |"
    report = suite.markdown_report(rows, outcomes, quick=True, date="2026-01-01T00:00:00+00:00")
    assert "FAILED (exit status 1)" in report and "make bench BENCH_ARGS=--quick" in report
    payload = json.loads(json.dumps(suite.results_payload(rows, outcomes, quick=True, date="d")))
    assert [r["ratio"] for r in payload["rows"]] == [0.125, None]
    assert payload["benches"][1]["exit_status"] == 1


def test_collect_leaves_out_results_an_earlier_run_left(tmp_path: Path) -> None:
    bench = next(b for b in suite.BENCHES if b.name == "engine")
    (tmp_path / "engine.json").write_text(json.dumps({"goog": []}))
    old = tmp_path / "engine_mtm.json"
    old.write_text(json.dumps({"results": []}))
    os.utime(old, (1_000_000, 1_000_000))
    rows, note = suite.collect(bench, tmp_path, since=2_000_000)
    assert rows == [] and note == "not written by this run: engine_mtm.json"


@given(
    ours=st.floats(min_value=1e-6, max_value=1e9),
    peer=st.floats(min_value=1e-6, max_value=1e9),
    higher=st.booleans(),
)
def test_a_ratio_above_one_means_ours_is_ahead(ours: float, peer: float, higher: bool) -> None:
    row = suite.Row("b", "w", ours, peer, "u", "p", higher_is_better=higher)
    ahead = ours > peer if higher else ours < peer
    assert row.ratio is not None
    assert (row.ratio > 1) == ahead or ours == peer
    flipped = suite.Row("b", "w", peer, ours, "u", "p", higher_is_better=higher)
    assert flipped.ratio == pytest.approx(1 / row.ratio)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "n/a"), (1234.5, "1,234 u"), (12.345, "12.3 u"), (0.1234, "0.12 u")],
)
def test_figures_show_about_three_significant_digits(value: float | None, shown: str) -> None:
    assert suite.format_figure(value, "u") == shown

"""Window enumeration of scheduled jobs: catch-up covers every missed window once, in order,
and running at several moments gives the same windows as running once at the last."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.jobs.model import Window, daily_windows, in_order, periodic_windows

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")  # has DST
START = datetime(2026, 1, 1, tzinfo=UTC)

moments = st.integers(min_value=0, max_value=60 * 24 * 6).map(
    lambda minutes: START + timedelta(minutes=minutes)
)
periods = st.sampled_from([timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1)])
zones = st.sampled_from([SHANGHAI, NEW_YORK, ZoneInfo("UTC")])
run_times = st.sampled_from([time(0, 0), time(0, 30), time(2, 30), time(15, 5), time(23, 59)])


def _periodic_runs(marks: list[datetime], every: timedelta, limit: int) -> list[Window]:
    """What a worker that ticked at each of ``marks`` (ascending) ran, each tick from the
    last window done."""
    done: list[Window] = []
    for mark in marks:
        last = done[-1].due_at if done else None
        done += periodic_windows(last, mark, every=every, series="s", limit=limit)
    return done


@settings(deadline=None, max_examples=60)
@given(st.lists(moments, min_size=1, max_size=8), periods)
def test_periodic_catch_up_runs_every_window_once_in_order(
    marks: list[datetime], every: timedelta
) -> None:
    marks.sort()
    done = _periodic_runs(marks, every, 10**6)
    # with the catch-up cap, a worker is behind but never skips or repeats: a prefix
    capped = _periodic_runs(marks, every, 7)
    assert capped == done[: len(capped)]
    bars = [w.bar for w in done]
    assert bars == sorted(set(bars))  # no duplicates, in order
    first = done[0].due_at
    # every aligned bar between the first and the last tick ran, none after the last tick
    expected = (marks[-1] - first) // every + 1
    assert len(done) == expected
    assert all(w.due_at <= marks[-1] for w in done)
    assert all((w.due_at - START) % every == timedelta(0) for w in done)


@settings(deadline=None, max_examples=60)
@given(moments, moments, periods)
def test_periodic_windows_are_those_after_the_last_done_up_to_now(
    a: datetime, b: datetime, every: timedelta
) -> None:
    after, now = min(a, b), max(a, b)
    windows = periodic_windows(after, now, every=every, series="s", limit=10**6)
    assert all(after < w.due_at <= now for w in windows)
    assert len(windows) == (now - START) // every - (after - START) // every


def test_a_first_start_runs_only_the_latest_window_and_caps_catch_up() -> None:
    now = datetime(2026, 3, 1, 10, 7, 30, tzinfo=UTC)
    (only,) = periodic_windows(None, now, every=timedelta(minutes=5), series="s")
    assert only.bar == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    capped = periodic_windows(
        now - timedelta(days=30), now, every=timedelta(minutes=1), series="s", limit=10
    )
    assert len(capped) == 10 and capped[0].due_at == now - timedelta(days=30) + timedelta(
        seconds=30
    )


@settings(deadline=None, max_examples=60)
@given(st.lists(moments, min_size=1, max_size=8), zones, run_times)
def test_daily_catch_up_runs_each_local_day_once_in_order(
    marks: list[datetime], tz: ZoneInfo, at: time
) -> None:
    marks.sort()
    done: list[Window] = []
    for mark in marks:
        last = done[-1].due_at if done else None
        done += daily_windows(last, mark, at=at, tz=tz, series="ledger")
    days = [w.bar for w in done]
    assert days == sorted(set(days))
    assert all(isinstance(d, date) for d in days)
    if days:  # consecutive local days, each due at its run time, none after the last tick
        assert all((b - a).days == 1 for a, b in zip(days, days[1:], strict=False))  # type: ignore[operator]
        assert all(w.due_at <= marks[-1] for w in done)
        last_day = marks[-1].astimezone(tz).date()
        if datetime.combine(last_day, at, tzinfo=tz) > marks[-1]:
            last_day -= timedelta(days=1)
        assert days[-1] == last_day


def test_daily_windows_in_the_zone_of_the_run_time() -> None:
    # 00:30 Beijing on 3 Dec is 16:30 UTC on 2 Dec
    after = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 1 Dec's run
    now = datetime(2026, 12, 2, 16, 31, tzinfo=UTC)
    windows = daily_windows(after, now, at=time(0, 30), tz=SHANGHAI, series="ledger")
    assert [w.bar for w in windows] == [date(2026, 12, 2), date(2026, 12, 3)]
    assert windows[-1].due_at == datetime(2026, 12, 2, 16, 30, tzinfo=UTC)
    assert windows[0].key == "ledger@2026-12-02"


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 20)), max_size=40))
def test_in_order_drops_duplicates_and_orders_by_due_time(pairs: list[tuple[str, int]]) -> None:
    windows = [Window(s, START + timedelta(days=d), START + timedelta(days=d)) for s, d in pairs]
    ordered = in_order(windows)
    assert len(ordered) == len(set(pairs))
    keys = [(w.due_at, w.series) for w in ordered]
    assert keys == sorted(keys)


@settings(deadline=None, max_examples=60)
@given(moments, moments, periods)
def test_without_catch_up_only_the_latest_missed_window_runs(
    a: datetime, b: datetime, every: timedelta
) -> None:
    after, now = min(a, b), max(a, b)
    windows = periodic_windows(after, now, every=every, series="s", catch_up=False)
    full = periodic_windows(after, now, every=every, series="s", limit=10**6)
    assert windows == full[-1:]

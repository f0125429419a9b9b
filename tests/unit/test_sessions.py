"""Exchange sessions: the A-share lunch break, XNYS holidays and half days, next_open."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Market
from engine.market.sessions import sessions_for

CN = sessions_for(Market.CN)
US = sessions_for(Market.US)

instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)


def test_a_share_session_has_the_lunch_break_in_beijing_time() -> None:
    session = CN.session(date(2024, 10, 8))
    assert session is not None
    local = [
        t.astimezone(CN.tz).strftime("%H:%M")
        for t in (session.open, session.break_start, session.break_end, session.close)
        if t
    ]
    assert local == ["09:30", "11:30", "13:00", "15:00"]
    assert len(session.minutes()) == 240
    assert not CN.is_open(datetime(2024, 10, 8, 4, 0, tzinfo=UTC))  # 12:00 in Shanghai
    assert CN.is_open(datetime(2024, 10, 8, 5, 0, tzinfo=UTC))  # 13:00, the afternoon opens


def test_chinese_holidays_and_weekends_have_no_session() -> None:
    assert CN.session(date(2024, 10, 1)) is None  # National Day
    assert CN.session(date(2024, 10, 5)) is None  # Saturday
    assert CN.next_open(datetime(2024, 9, 30, 8, 0, tzinfo=UTC)) == datetime(
        2024, 10, 8, 1, 30, tzinfo=UTC
    )


def test_xnys_thanksgiving_and_its_half_day() -> None:
    assert US.session(date(2024, 11, 28)) is None
    assert US.session_close(date(2024, 11, 29)) == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    assert US.session_close(date(2024, 11, 27)) == datetime(2024, 11, 27, 21, 0, tzinfo=UTC)
    assert US.trading_days(date(2024, 11, 25), date(2024, 12, 2)) == [
        date(2024, 11, 25),
        date(2024, 11, 26),
        date(2024, 11, 27),
        date(2024, 11, 29),
        date(2024, 12, 2),
    ]


def test_beyond_the_recorded_years_weekdays_keep_regular_hours() -> None:
    session = CN.session(date(2027, 3, 2))
    assert session is not None and session.break_start is not None
    assert session.open.astimezone(CN.tz).strftime("%H:%M") == "09:30"
    assert CN.session(date(2027, 3, 6)) is None  # Saturday


def test_last_trading_day_steps_back_over_a_weekend() -> None:
    assert CN.last_trading_day(date(2024, 10, 6), not_before=date(2024, 9, 1)) == date(2024, 9, 30)
    assert CN.last_trading_day(date(2024, 10, 6), not_before=date(2024, 10, 1)) is None


@settings(max_examples=150, deadline=None)
@given(at=instants)
def test_no_instant_inside_the_lunch_break_is_open(at: datetime) -> None:
    session = CN.session(CN.local_day(at))
    if session is not None and session.in_break(at):
        assert not CN.is_open(at)
    local = at.astimezone(CN.tz)
    if (11, 30) <= (local.hour, local.minute) < (13, 0):
        assert not CN.is_open(at)


@settings(max_examples=150, deadline=None)
@given(at=instants, market=st.sampled_from([Market.CN, Market.US]))
def test_next_open_is_open_and_after_at(at: datetime, market: Market) -> None:
    calendar = sessions_for(market)
    opening = calendar.next_open(at)
    assert opening > at
    assert calendar.is_open(opening)
    assert not calendar.is_open(opening - timedelta(minutes=1))


@settings(max_examples=80, deadline=None)
@given(
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)),
    market=st.sampled_from([Market.CN, Market.US]),
)
def test_closes_are_after_opens(day: date, market: Market) -> None:
    session = sessions_for(market).session(day)
    if session is None:
        return
    assert session.open < session.close
    if session.break_start is not None and session.break_end is not None:
        assert session.open < session.break_start < session.break_end < session.close
    assert session.close == sessions_for(market).session_close(day)

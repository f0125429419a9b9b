"""``core.db.Amount``: exact decimals on both databases (SQLite has no decimal type)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, insert, select

from core.db import Amount

AMOUNTS = st.decimals(
    min_value=Decimal("-99999999999999.99"),
    max_value=Decimal("99999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@pytest.fixture
def table(db_url: str):  # type: ignore[no-untyped-def]
    metadata = MetaData()
    t = Table(
        "amounts", metadata, Column("id", Integer, primary_key=True), Column("v", Amount(20, 2))
    )
    engine = create_engine(db_url)
    metadata.create_all(engine)
    yield engine, t
    metadata.drop_all(engine)
    engine.dispose()


def test_values_round_trip_exactly_and_sum_exactly(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table

    @settings(max_examples=25, deadline=None)
    @given(values=st.lists(AMOUNTS, min_size=1, max_size=20))
    def check(values: list[Decimal]) -> None:
        with engine.begin() as conn:
            conn.execute(t.delete())
            conn.execute(insert(t), [{"v": v} for v in values])
            stored = [row.v for row in conn.execute(select(t.c.v).order_by(t.c.id))]
            total = conn.execute(select(func.sum(t.c.v))).scalar_one()
        assert stored == values
        assert total == sum(values)

    check()


def test_more_places_than_the_scale_are_refused(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with pytest.raises(Exception, match="decimal places"), engine.begin() as conn:
        conn.execute(insert(t), [{"v": Decimal("0.001")}])

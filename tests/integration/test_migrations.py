"""Alembic owns the schema: upgrade, autogenerate parity and downgrade on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from api.http.metadata import metadata
from core import migrations
from core.db import make_engine


def test_upgrade_from_empty_to_head_matches_models_and_downgrades(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert migrations.current_revision(engine) is None
        assert not migrations.is_at_head(engine)

        migrations.upgrade(engine)
        assert migrations.is_at_head(engine)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())

        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []

        migrations.downgrade(engine, "base")
        assert migrations.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        migrations.upgrade(engine)  # and back up again, cleanly
        assert migrations.is_at_head(engine)
    finally:
        engine.dispose()


def test_upgrade_at_head_is_a_no_op(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        assert migrations.current_revision(engine) == before == migrations.head_revision()
    finally:
        engine.dispose()


def test_autogenerate_notices_a_model_without_migration(db_url: str) -> None:
    """The parity check above can fail: a table only in the models is reported."""
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, extra)
        assert [d[0] for d in diff] == ["add_table"]
    finally:
        engine.dispose()

"""Every column that refers to a user is covered by a privacy section (export and erase) or
exempted with a reason: a new table that stores something about members fails here until its
package declares what erasure does to it (one ``TableUse`` line, or one ``EXEMPT`` entry)."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from api.http.metadata import metadata
from api.privacy import EXEMPT, SECTIONS
from core.privacy.sections import Treatment

# Column names that refer to a person even without a foreign key (actor, *_by, ledger accounts).
PERSON = re.compile(
    r"(^|_)(user|member|author|actor|operator|captain|follower|followee|inviter|invitee|"
    r"owner|subject|reviewer|requester)(_id)?$|_by$|(^|_)account$"
)


def user_columns(schema: MetaData) -> set[tuple[str, str]]:
    """(table, column) of every column that refers to a user: a foreign key to ``users``, a
    person-like name, or the users table's own id."""
    found = {("users", "id")} if "users" in schema.tables else set()
    for table in schema.tables.values():
        for column in table.columns:
            to_users = any(fk.column.table.name == "users" for fk in column.foreign_keys)
            if to_users or PERSON.search(column.name):
                found.add((table.name, column.name))
    return found


def declared() -> Counter[tuple[str, str]]:
    return Counter((use.table, use.column) for s in SECTIONS for use in s.tables)


def uncovered(schema: MetaData) -> set[tuple[str, str]]:
    return user_columns(schema) - set(declared()) - set(EXEMPT)


def test_every_user_column_is_covered_by_a_section_or_exempt() -> None:
    assert uncovered(metadata) == set()


def test_declarations_name_real_columns_once_with_reasons() -> None:
    columns = {(t.name, c.name) for t in metadata.tables.values() for c in t.columns}
    uses = declared()
    assert [key for key, n in uses.items() if n > 1] == []
    assert set(uses) - columns == set(), "a section declares a column the schema lacks"
    assert set(EXEMPT) - columns == set()
    assert set(EXEMPT).isdisjoint(uses)
    reasons = [use.reason for s in SECTIONS for use in s.tables] + list(EXEMPT.values())
    assert all(reason.strip() for reason in reasons)
    assert len({s.name for s in SECTIONS}) == len(SECTIONS)


def test_personal_tables_are_not_simply_kept() -> None:
    """The users row is pseudonymised, follows and stored request bodies are deleted."""
    treatment = {(u.table, u.column): u.treatment for s in SECTIONS for u in s.tables}
    assert treatment[("users", "id")] is Treatment.PSEUDONYMISED
    assert treatment[("follows", "follower_id")] is Treatment.DELETED
    assert treatment[("idempotency_keys", "user_id")] is Treatment.DELETED


def test_a_new_table_about_users_is_noticed() -> None:
    """The coverage check can fail: a table with a user column nobody declared is reported."""
    extra = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extra)
    Table(
        "sign_in_devices",
        extra,
        Column("id", Integer, primary_key=True),
        Column("user_id", ForeignKey("users.id")),
        Column("reviewed_by", Integer),
        Column("fingerprint", String(64)),
    )
    assert uncovered(extra) == {("sign_in_devices", "user_id"), ("sign_in_devices", "reviewed_by")}

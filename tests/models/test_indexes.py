"""Indexes by construction: every foreign key of a tenant table has an index that leads with
(practice_id, that column), and no index merely repeats the start of another.

Every query carries `practice_id = ?` (the tenancy guard). An index on practice_id alone, or
none at all, lets a planner without statistics loop over the whole practice for each row of
a join; an index on (practice_id, column) answers the same lookup in a few steps. These tests
read the models' metadata, so a new table follows the rule before it has a migration.
"""

from __future__ import annotations

from sqlalchemy import Index, PrimaryKeyConstraint, Table, UniqueConstraint

import practice.models  # noqa: F401 - every table in the metadata
from practice.extensions import db

# PostgreSQL's longest identifier: a longer name would be cut there and not on SQLite.
MAX_NAME = 63


def _tenant_tables() -> list[Table]:
    return [table for table in db.metadata.sorted_tables if "practice_id" in table.c]


def _column_lists(table: Table) -> dict[str, tuple[str, ...]]:
    """Every index, unique constraint and primary key of `table`, by name: its columns."""
    lists = {}
    for index in table.indexes:
        lists[str(index.name)] = tuple(column.name for column in index.columns)
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
            lists[str(constraint.name)] = tuple(column.name for column in constraint.columns)
    return lists


def test_every_tenant_table_is_seen():
    # A guard on the guard: the rule below is checked on the tables that need it.
    names = {table.name for table in _tenant_tables()}
    assert {"couples", "partners", "partner_invites", "homework_responses", "notices"} <= names
    assert "practices" not in names


def test_every_foreign_key_of_a_tenant_table_has_an_index_leading_with_practice_id():
    missing = []
    for table in _tenant_tables():
        lists = _column_lists(table).values()
        for foreign_key in table.foreign_key_constraints:
            columns = tuple(column.name for column in foreign_key.columns)
            wanted = columns if columns[0] == "practice_id" else ("practice_id", *columns)
            if not any(found[: len(wanted)] == wanted for found in lists):
                missing.append(f"{table.name}{wanted} -> {foreign_key.referred_table.name}")
    assert missing == [], (
        "Add an index that leads with these columns (practice_id first), e.g. "
        "Index('ix_<table>_practice_id_<column>', 'practice_id', '<column>'): " + ", ".join(missing)
    )


# The audit trail outlives the couple it tells of: its references to the couple and to a
# partner are set to NULL when those are deleted, which a key that includes the non-null
# practice_id cannot do. Row-level security keeps its rows in their practice.
OUTLIVES_ITS_PARENT = {("audit_events", "couple_id"), ("audit_events", "actor_partner_id")}


def test_every_foreign_key_of_a_tenant_table_names_the_practice_first():
    # Children point at (practice_id, id) of their parent: a row cannot name another
    # practice's, and the index above serves both the check and the lookup.
    stray = [
        f"{table.name}{tuple(column.name for column in foreign_key.columns)}"
        for table in _tenant_tables()
        for foreign_key in table.foreign_key_constraints
        if foreign_key.columns[0].name != "practice_id"
        and (table.name, foreign_key.columns[0].name) not in OUTLIVES_ITS_PARENT
    ]
    assert stray == []


def test_the_audit_trail_s_references_to_a_couple_and_a_partner_are_set_null():
    audit = db.metadata.tables["audit_events"]
    actions = {
        foreign_key.columns[0].name: foreign_key.ondelete
        for foreign_key in audit.foreign_key_constraints
        if (audit.name, foreign_key.columns[0].name) in OUTLIVES_ITS_PARENT
    }
    assert actions == {"couple_id": "SET NULL", "actor_partner_id": "SET NULL"}


def test_no_index_repeats_the_start_of_another_index_of_its_table():
    # An index whose columns begin another index (or unique constraint, or primary key) of
    # the same table does no lookup the longer one cannot: it only costs every write. This
    # is also what keeps an index on practice_id alone out of every table that has another
    # index leading with practice_id: the index the planners looped over.
    repeated = []
    for table in db.metadata.sorted_tables:
        lists = _column_lists(table)
        for index in table.indexes:
            if index.unique:
                continue  # a rule, not only a lookup
            columns = tuple(column.name for column in index.columns)
            for name, other in lists.items():
                if name != index.name and other[: len(columns)] == columns:
                    repeated.append(f"{index.name} {columns} starts {name} {other}")
    assert repeated == []


def test_index_and_constraint_names_fit_postgresql():
    too_long = [
        name
        for table in db.metadata.sorted_tables
        for name in _column_lists(table)
        if len(name) > MAX_NAME
    ]
    assert too_long == []


def test_indexes_are_named_after_their_columns():
    # Migrations name indexes explicitly; the name says what it covers, like the convention.
    misnamed = []
    for table in db.metadata.sorted_tables:
        for index in table.indexes:
            assert isinstance(index, Index)
            expected = "_".join(["ix", table.name, *(column.name for column in index.columns)])
            if index.name != expected and index.name != "ix_audit_events_target":
                misnamed.append(f"{index.name} (expected {expected})")
    assert misnamed == []

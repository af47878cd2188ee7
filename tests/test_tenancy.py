"""The ORM guard: with two practices in one database, code acting in one never sees,
changes or writes the other's rows, and code acting in none is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import (
    PrimaryKeyConstraint,
    UniqueConstraint,
    delete,
    event,
    exists,
    func,
    inspect,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import aliased

from practice.extensions import db
from practice.models import AuditEvent, PasswordReset, Practice, TherapistInvitation, User
from practice.models.base import utcnow
from practice.services import audit
from practice.tenancy import (
    PracticeScoped,
    TenancyError,
    practice_context,
    set_current_practice,
    unscoped,
)
from tests.factories import OwnerFactory, PracticeFactory, TherapistInvitationFactory, UserFactory

SCOPED_MODELS = [User, AuditEvent, PasswordReset, TherapistInvitation]


@dataclass
class Tenant:
    """The ids of one practice's rows (objects would outlive the session that loaded them)."""

    id: int
    owner_id: int
    therapist_id: int
    user_ids: set[int]
    audit_ids: set[int]
    reset_ids: set[int]
    invitation_ids: set[int]


def _make_tenant(label: str) -> Tenant:
    practice = PracticeFactory()
    owner = OwnerFactory(practice=practice)
    therapist = UserFactory(practice=practice)
    invitation = TherapistInvitationFactory(inviter=owner)
    with practice_context(practice.id):
        events = [
            audit.record(f"{label}.one", actor=owner, target=therapist),
            audit.record(f"{label}.two", actor=therapist, target=therapist),
            audit.record(f"{label}.system", actor_label="system"),
        ]
        resets = [
            PasswordReset(
                user_id=user.id,
                token_hash=f"{label}-{user.id}".ljust(64, "0"),
                expires_at=utcnow() + timedelta(hours=1),
            )
            for user in (owner, therapist)
        ]
        db.session.add_all(resets)
        db.session.flush()
    return Tenant(
        id=practice.id,
        owner_id=owner.id,
        therapist_id=therapist.id,
        user_ids={owner.id, therapist.id},
        audit_ids={e.id for e in events},
        reset_ids={r.id for r in resets},
        invitation_ids={invitation.id},
    )


@pytest.fixture
def tenants(app) -> tuple[Tenant, Tenant]:
    a, b = _make_tenant("a"), _make_tenant("b")
    db.session.commit()
    db.session.expunge_all()  # nothing in the identity map: every read below hits the database
    return a, b


def _ids(statement) -> set[int]:
    return set(db.session.scalars(statement).all())


def _all_ids(model) -> set[int]:
    with unscoped():
        return _ids(select(model.id))


_PLACEHOLDER = re.compile(r"%\(\w+\)s(::\w+)?|\$\d+(::\w+)?")


@contextmanager
def captured_sql() -> Iterator[list[tuple[str, list]]]:
    """Every statement sent inside the block, with `?` placeholders, and its values."""
    statements: list[tuple[str, list]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        values = parameters.values() if isinstance(parameters, dict) else parameters
        statements.append((_PLACEHOLDER.sub("?", statement), list(values)))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


# --- Reads -----------------------------------------------------------------------------------


def test_unfiltered_selects_return_only_the_current_practice(tenants):
    a, b = tenants
    with practice_context(a.id):
        assert _ids(select(User.id)) == a.user_ids
        assert {u.id for u in db.session.scalars(select(User))} == a.user_ids
        assert _ids(select(AuditEvent.id)) == a.audit_ids
        assert _ids(select(PasswordReset.id)) == a.reset_ids
        assert _ids(select(TherapistInvitation.id)) == a.invitation_ids
        assert [p.id for p in db.session.scalars(select(Practice))] == [a.id]
        assert db.session.scalar(select(func.count()).select_from(User)) == len(a.user_ids)
    with practice_context(b.id):
        assert _ids(select(User.id)) == b.user_ids
        assert [p.id for p in db.session.scalars(select(Practice))] == [b.id]
    # The rows are all there: it is the guard that hides them.
    assert _all_ids(User) == a.user_ids | b.user_ids
    assert _all_ids(Practice) == {a.id, b.id}


def test_a_where_clause_naming_the_other_practice_finds_nothing(tenants):
    a, b = tenants
    with practice_context(a.id):
        assert _ids(select(User.id).where(User.practice_id == b.id)) == set()
        assert _ids(select(User.id).where(User.id == b.owner_id)) == set()
        assert db.session.scalar(select(User).where(User.email.like("%"))).practice_id == a.id


def test_session_get_of_another_practices_row_is_none(tenants):
    a, b = tenants
    with practice_context(a.id):
        assert db.session.get(User, b.owner_id) is None
        assert db.session.get(PasswordReset, min(b.reset_ids)) is None
        assert db.session.get(Practice, b.id) is None
        assert db.session.get(User, a.owner_id).id == a.owner_id
        assert db.session.get(Practice, a.id).id == a.id


def test_joined_entities_are_filtered_too(tenants):
    a, b = tenants
    with practice_context(a.id):
        events = db.session.scalars(
            select(AuditEvent).join(User, AuditEvent.actor_user_id == User.id)
        ).all()
        assert {e.id for e in events} <= a.audit_ids
        assert {e.actor_user_id for e in events} == a.user_ids

        # A cross join would pair every event with every user: only A's pairs come back.
        pairs = db.session.execute(select(AuditEvent, User).join(User, true())).all()
        assert len(pairs) == len(a.audit_ids) * len(a.user_ids)
        assert {(e.practice_id, u.practice_id) for e, u in pairs} == {(a.id, a.id)}

        # Joining the tenant itself, from either side.
        rows = db.session.execute(select(User.id, Practice.id).join(Practice, true())).all()
        assert {practice_id for _, practice_id in rows} == {a.id}
        assert {user_id for user_id, _ in rows} == a.user_ids


def test_aliases_subqueries_and_exists_are_filtered(tenants):
    a, b = tenants
    with practice_context(a.id):
        other = aliased(User)
        assert _ids(select(other.id)) == a.user_ids
        pairs = db.session.execute(select(User.id, other.id).join(other, true())).all()
        assert {o for _, o in pairs} == a.user_ids

        subquery = select(User).where(User.role == "owner").subquery()
        owner = aliased(User, subquery)
        assert _ids(select(owner.id)) == {a.owner_id}

        count = select(func.count()).select_from(select(User.id).subquery())
        assert db.session.scalar(count) == len(a.user_ids)

        assert db.session.scalar(select(exists().where(User.id == b.owner_id))) is False
        assert db.session.scalar(select(exists().where(User.id == a.owner_id))) is True

        users_with_resets = select(User.id).where(User.id.in_(select(PasswordReset.user_id)))
        assert _ids(users_with_resets) == a.user_ids

        per_practice = select(Practice.id, select(func.count(User.id)).scalar_subquery())
        assert db.session.execute(per_practice).all() == [(a.id, len(a.user_ids))]
    with unscoped():
        assert db.session.scalar(select(exists().where(User.id == b.owner_id))) is True


def test_a_relationship_reloaded_in_another_practice_returns_nothing(tenants):
    a, b = tenants
    with practice_context(a.id):
        reset = db.session.get(PasswordReset, min(a.reset_ids))
        assert reset.user.practice_id == a.id
        db.session.expire(reset, ["user"])
    with practice_context(b.id), captured_sql() as statements:
        assert reset.user is None
    [(sql, parameters)] = statements
    assert "FROM users" in sql
    assert "users.practice_id" in sql.split("WHERE", 1)[1]
    # B's id can only come from the guard: the relationship itself joins on A's.
    assert b.id in parameters


def test_a_lazy_load_is_filtered_by_the_current_practice(tenants):
    a, b = tenants
    with practice_context(a.id):
        invitation = db.session.get(TherapistInvitation, min(a.invitation_ids))
        with captured_sql() as statements:
            inviter = invitation.invited_by
        assert inviter.id == a.owner_id
        [(sql, parameters)] = statements
        where = sql.split("WHERE", 1)[1]
        # The relationship's own term is `? = users.practice_id`; the guard adds its own.
        assert "? = users.practice_id" in where
        assert "users.practice_id = ?" in where
        assert set(parameters) == {a.id, a.owner_id}

        user = db.session.get(User, a.owner_id)
        with captured_sql() as statements:
            assert user.practice.id == a.id
        [(sql, parameters)] = statements
        assert "practices.id" in sql.split("WHERE", 1)[1]


def test_lazy_loads_need_a_practice(tenants):
    a, _ = tenants
    with practice_context(a.id):
        reset = db.session.get(PasswordReset, min(a.reset_ids))
        db.session.expire(reset, ["user"])
    with pytest.raises(TenancyError):
        _ = reset.user
    with unscoped():
        assert reset.user.id in a.user_ids


# --- Bulk writes -----------------------------------------------------------------------------


def _names() -> dict[int, str]:
    with unscoped():
        return dict(db.session.execute(select(User.id, User.name)).all())


def test_bulk_update_touches_only_the_current_practice(tenants):
    a, b = tenants
    before = _names()
    with practice_context(a.id):
        result = db.session.execute(update(User).values(name="Renamed"))
        assert result.rowcount == len(a.user_ids)
        aimed = db.session.execute(update(User).where(User.id == b.owner_id).values(name="Stolen"))
        assert aimed.rowcount == 0
    db.session.commit()
    after = _names()
    assert {after[i] for i in a.user_ids} == {"Renamed"}
    assert {i: after[i] for i in b.user_ids} == {i: before[i] for i in b.user_ids}


def test_bulk_delete_touches_only_the_current_practice(tenants):
    a, b = tenants
    with practice_context(a.id):
        assert db.session.execute(delete(PasswordReset)).rowcount == len(a.reset_ids)
        assert db.session.execute(delete(TherapistInvitation)).rowcount == 1
        aimed = delete(PasswordReset).where(PasswordReset.id.in_(b.reset_ids))
        assert db.session.execute(aimed).rowcount == 0
    db.session.commit()
    assert _all_ids(PasswordReset) == b.reset_ids
    assert _all_ids(TherapistInvitation) == b.invitation_ids


# --- No practice set --------------------------------------------------------------------------


NO_PRACTICE_OPERATIONS = {
    "select": lambda t: db.session.scalars(select(User)).all(),
    "select-column": lambda t: db.session.scalars(select(AuditEvent.id)).all(),
    "select-practice": lambda t: db.session.scalars(select(Practice)).all(),
    "update": lambda t: db.session.execute(update(User).values(name="x")),
    "delete": lambda t: db.session.execute(delete(PasswordReset)),
    "get": lambda t: db.session.get(User, t.owner_id),
    "get-practice": lambda t: db.session.get(Practice, t.id),
}


@pytest.mark.parametrize("operation", NO_PRACTICE_OPERATIONS)
def test_with_no_practice_set_orm_statements_raise(tenants, operation):
    a, _ = tenants
    set_current_practice(None)
    with pytest.raises(TenancyError, match="No practice is set"):
        NO_PRACTICE_OPERATIONS[operation](a)


def test_inside_unscoped_the_same_statements_work(tenants):
    a, b = tenants
    everyone = a.user_ids | b.user_ids
    with unscoped():
        assert {u.id for u in db.session.scalars(select(User))} == everyone
        assert db.session.get(User, b.owner_id).id == b.owner_id
        assert db.session.get(Practice, b.id).id == b.id
        assert db.session.execute(update(User).values(name="x")).rowcount == len(everyone)
        assert db.session.execute(delete(PasswordReset)).rowcount == 4
    db.session.rollback()
    # And leaving the block turns the guard back on.
    with pytest.raises(TenancyError):
        db.session.scalars(select(User)).all()


def test_refreshing_an_expired_column_without_a_practice_is_allowed(tenants):
    a, _ = tenants
    with practice_context(a.id):
        user = db.session.get(User, a.owner_id)
        email = user.email
    db.session.expire(user, ["email"])
    assert user.email == email


# --- Writes through the unit of work ------------------------------------------------------


def _new_user(**kwargs) -> User:
    return User(name="New", email="new@example.com", password_hash="x", **kwargs)


def test_adding_a_row_for_another_practice_raises_at_flush(tenants):
    a, b = tenants
    with practice_context(a.id):
        db.session.add(_new_user(practice_id=b.id))
        with pytest.raises(TenancyError, match="another practice"):
            db.session.flush()
    db.session.rollback()
    assert _count_new_users() == 0


def test_adding_a_row_whose_practice_relationship_is_another_practice_raises(tenants):
    a, b = tenants
    with unscoped():
        practice_b = db.session.get(Practice, b.id)
    with practice_context(a.id):
        db.session.add(_new_user(practice=practice_b))
        with pytest.raises(TenancyError, match="another practice"):
            db.session.flush()
    db.session.rollback()
    with practice_context(a.id):
        # Both agreeing with the current practice is fine; disagreeing with it is not.
        db.session.add(_new_user(practice_id=a.id, practice=practice_b))
        with pytest.raises(TenancyError, match="another practice"):
            db.session.flush()
    db.session.rollback()
    assert _count_new_users() == 0


def _count_new_users() -> int:
    with unscoped():
        new = select(func.count()).select_from(User).where(User.email == "new@example.com")
        return db.session.scalar(new)


@pytest.mark.parametrize("how", ["loaded", "expired", "relationship"])
def test_moving_an_existing_row_to_another_practice_raises(tenants, how):
    a, b = tenants
    with practice_context(a.id):
        user = db.session.get(User, a.therapist_id)
        if how == "loaded":
            user.practice_id = b.id
        elif how == "expired":
            db.session.expire(user)  # as after a commit: the old value is not in memory
            user.practice_id = b.id
        else:
            with unscoped():
                user.practice = db.session.get(Practice, b.id)
        with pytest.raises(TenancyError, match="cannot move"):
            db.session.flush()
    db.session.rollback()
    with unscoped():
        assert db.session.get(User, a.therapist_id).practice_id == a.id


def test_a_new_row_with_no_practice_and_none_set_raises(tenants):
    a, _ = tenants
    db.session.add(AuditEvent(action="orphan", actor_label="system"))
    with pytest.raises(TenancyError, match="no practice"):
        db.session.flush()
    db.session.rollback()
    db.session.add(_new_user())
    with pytest.raises(TenancyError, match="no practice"):
        db.session.flush()
    db.session.rollback()


def test_a_new_row_is_stamped_with_the_current_practice(tenants):
    a, b = tenants
    with practice_context(b.id):
        event_ = audit.record("stamped", actor_label="system")
        invitation = TherapistInvitation(email="x@example.com", name="X", invited_by_id=b.owner_id)
        reset = PasswordReset(user_id=b.therapist_id, token_hash="f" * 64)
        db.session.add_all([invitation, reset])
        db.session.flush()
        assert (event_.practice_id, invitation.practice_id, reset.practice_id) == (b.id,) * 3
    db.session.commit()
    with unscoped():
        assert (
            db.session.scalar(select(AuditEvent.practice_id).where(AuditEvent.action == "stamped"))
            == b.id
        )


def test_unscoped_may_write_for_any_practice(tenants):
    a, b = tenants
    with practice_context(a.id), unscoped():
        user = _new_user(practice_id=b.id)
        db.session.add(user)
        db.session.flush()
    assert user.practice_id == b.id


# --- The load check ---------------------------------------------------------------------------


def test_a_textual_query_that_returns_another_practices_rows_raises(tenants):
    a, b = tenants
    everyone = select(User).from_statement(text("SELECT * FROM users"))
    with practice_context(a.id):
        if db.engine.dialect.name == "postgresql":
            # Row-level security stops them first: the database returns this practice's only.
            assert {u.id for u in db.session.scalars(everyone)} == a.user_ids
        else:
            with pytest.raises(TenancyError, match="another practice"):
                db.session.scalars(everyone).all()
        db.session.rollback()
        own = select(User).from_statement(
            text("SELECT * FROM users WHERE practice_id = :p").bindparams(p=a.id)
        )
        assert {u.id for u in db.session.scalars(own)} == a.user_ids


# --- The audit log is append-only --------------------------------------------------------------


def test_audit_events_cannot_be_changed(tenants):
    a, _ = tenants
    with practice_context(a.id):
        event_ = db.session.get(AuditEvent, min(a.audit_ids))
        event_.action = "rewritten"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
    db.session.rollback()
    with unscoped():
        assert db.session.get(AuditEvent, min(a.audit_ids)).action != "rewritten"


def test_audit_events_cannot_be_deleted(tenants):
    a, _ = tenants
    with practice_context(a.id):
        db.session.delete(db.session.get(AuditEvent, min(a.audit_ids)))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
    db.session.rollback()
    assert _all_ids(AuditEvent) >= a.audit_ids


def test_audit_events_can_still_be_added(tenants):
    a, _ = tenants
    with practice_context(a.id):
        audit.record("another", actor_label="system")
        db.session.flush()
        assert len(_ids(select(AuditEvent.id))) == len(a.audit_ids) + 1


# --- Schema: the first wall --------------------------------------------------------------------

UNSCOPED_TABLES = {"practices", "alembic_version"}


def test_every_tenant_table_has_a_non_null_indexed_practice_id_in_the_models():
    tables = [t for name, t in db.metadata.tables.items() if name not in UNSCOPED_TABLES]
    assert tables
    for table in tables:
        column = table.columns.get("practice_id")
        assert column is not None, f"{table.name} has no practice_id"
        assert not column.nullable, f"{table.name}.practice_id is nullable"
        # An index or a unique constraint (an index on both databases) that leads with it.
        leading = [list(index.columns)[0] for index in table.indexes] + [
            list(constraint.columns)[0]
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint)
            and constraint.columns
        ]
        indexed = column.index or any(col is column for col in leading)
        assert indexed, f"{table.name}.practice_id has no index"
        assert "practices.id" in {fk.target_fullname for fk in column.foreign_keys}, table.name


def test_every_tenant_model_is_guarded():
    for mapper in db.Model.registry.mappers:
        if mapper.local_table.name in UNSCOPED_TABLES:
            continue
        assert issubclass(mapper.class_, PracticeScoped), f"{mapper.class_} is not PracticeScoped"


def test_every_tenant_table_has_a_non_null_indexed_practice_id_in_the_database(app):
    inspector = inspect(db.engine)
    names = set(inspector.get_table_names()) - UNSCOPED_TABLES
    assert names == set(db.metadata.tables) - UNSCOPED_TABLES
    for name in names:
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        assert "practice_id" in columns, name
        assert columns["practice_id"]["nullable"] is False, name
        leading = {index["column_names"][0] for index in inspector.get_indexes(name)} | {
            unique["column_names"][0] for unique in inspector.get_unique_constraints(name)
        }
        assert "practice_id" in leading, f"{name}.practice_id has no index in the database"

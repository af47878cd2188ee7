"""The current practice, and the ORM guard that keeps every query inside it.

Walls 1-3 of DESIGN.md's tenancy: every tenant-owned table carries `practice_id`
(`PracticeScoped`); each request or job sets the current practice; every ORM statement gets
`practice_id = current` added, and with no practice set it raises instead of returning
everything. Code that must cross practices (log-in lookup, sign-up, maintenance) says so in
an `unscoped()` block, so that each such place can be found with grep.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import ForeignKey, event, inspect
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

_current_practice_id: ContextVar[int | None] = ContextVar("current_practice_id", default=None)
_unscoped_depth: ContextVar[int] = ContextVar("unscoped_depth", default=0)
# The one practice whose rows a flush writes when none is set (row_security tells PostgreSQL),
# or CREATING while a flush creates a practice.
CREATING = 0
_flush_practice_id: ContextVar[int | None] = ContextVar("flush_practice_id", default=None)
# The tenant's own model (Practice), given by install_guard: the models build on this module,
# so it does not import them.
_tenant_model: type | None = None


# The execution option that marks a refresh by primary key of an object already loaded,
# made with no practice set: the one statement outside `unscoped()` that needs no practice.
REFRESH = "tenancy_refresh"


class TenancyError(RuntimeError):
    """A query or write was attempted with no practice set, or across practices."""


class PracticeScoped:
    """Mixin for every table a practice owns: a non-null `practice_id`.

    It has no index of its own: every index of a tenant table leads with `practice_id`
    (tests/models/test_indexes.py), and the first of them serves this foreign key too. An
    index on `practice_id` alone would lure the planner into looping over the practice.
    """

    @declared_attr
    def practice_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(
            ForeignKey("practices.id", ondelete="CASCADE"),
            nullable=False,
            # Load the old value when it is overwritten (even after a commit expired it),
            # so that before_flush can always tell a row is being moved to another practice.
            active_history=True,
        )


def current_practice_id() -> int | None:
    """The practice this request or job acts in, or None."""
    return _current_practice_id.get()


def set_current_practice(practice_id: int | None) -> None:
    """Set the practice for the rest of this request or job."""
    _current_practice_id.set(practice_id)


@contextmanager
def practice_context(practice_id: int) -> Iterator[None]:
    """Act in one practice for the duration of the block (jobs, CLI, tests)."""
    token = _current_practice_id.set(practice_id)
    try:
        yield
    finally:
        _current_practice_id.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Turn the guard off for the block: only for log-in lookups, sign-up and maintenance."""
    token = _unscoped_depth.set(_unscoped_depth.get() + 1)
    try:
        yield
    finally:
        _unscoped_depth.reset(token)


def is_unscoped() -> bool:
    return _unscoped_depth.get() > 0


def flush_practice_id() -> int | None:
    """While a flush runs with no practice set: the one practice all its rows belong to."""
    return _flush_practice_id.get()


def _scope_statement(state: ORMExecuteState) -> None:
    if is_unscoped():
        return
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    practice_id = _current_practice_id.get()
    if practice_id is None and state.is_column_load:
        # Refreshing an expired attribute of an object already in the session reveals
        # nothing new; with a practice set, the criteria below still apply to it. Row-level
        # security is told the same (row_security.REFRESH).
        state.update_execution_options(**{REFRESH: True})
        return
    if practice_id is None:
        raise TenancyError(
            "No practice is set for this query. Set one (request, job or practice_context) "
            "or wrap a deliberate cross-practice lookup in tenancy.unscoped()."
        )
    if state.is_insert:
        return  # new rows are stamped and checked in before_flush
    if _carries_criteria(state.statement, practice_id):
        # A relationship load (lazy or selectin) of objects loaded in this practice: SQLAlchemy
        # gives it the criteria of the statement that loaded them. Added again, they would
        # pile up, once more at every level of loading.
        return
    state.statement = state.statement.options(
        # Propagated to the loads of the objects a statement returns (see above), and applied
        # to joined eager loads too.
        with_loader_criteria(PracticeScoped, _criteria(practice_id), include_aliases=True),
        # The tenant itself: only the current one.
        with_loader_criteria(
            _tenant_model, lambda cls: cls.id == practice_id, include_aliases=True
        ),
    )


def _criteria(practice_id: int):
    def in_practice(cls):
        return cls.practice_id == practice_id

    in_practice.practice_id = practice_id  # which practice these criteria keep to
    return in_practice


def _carries_criteria(statement, practice_id: int) -> bool:
    """Whether the statement has the guard's criteria for this practice already."""
    return any(
        getattr(option, "root_entity", None) is PracticeScoped
        and getattr(getattr(option, "_where_crit_orig", None), "practice_id", None) == practice_id
        for option in getattr(statement, "_with_options", ())
    )


def _stamp_new_rows(session: Session, flush_context, instances) -> None:
    practice_id = _current_practice_id.get()
    for obj in session.new:
        if not isinstance(obj, PracticeScoped):
            continue
        # A `practice` relationship, when set, overwrites practice_id during the flush.
        parent = getattr(obj, "practice", None)
        target = _identity_id(parent) if parent is not None else obj.practice_id
        if parent is None and target is None:
            if practice_id is None:
                raise TenancyError(f"New {type(obj).__name__} has no practice and none is set.")
            obj.practice_id = practice_id
        elif practice_id is not None and target != practice_id and not is_unscoped():
            raise TenancyError(f"Refusing to write a {type(obj).__name__} for another practice.")
    for obj in session.dirty:
        if isinstance(obj, PracticeScoped):
            state = inspect(obj)
            history = state.attrs.practice_id.history
            if history.deleted and history.deleted[0] is not None:
                raise TenancyError(f"A {type(obj).__name__} cannot move to another practice.")
            if "practice" in state.mapper.relationships:
                added = [p for p in state.attrs.practice.history.added if p is not None]
                if added and _identity_id(added[0]) != obj.practice_id:
                    raise TenancyError(f"A {type(obj).__name__} cannot move to another practice.")
    if practice_id is None and not is_unscoped():
        # A sign-in, a link or a sweep found its rows in an unscoped block and writes them
        # after it: the rows name their practice, checked above. With one practice among
        # them, the flush acts in it (row-level security holds it to that practice).
        # A flush that creates a practice (sign-up, the demo, a test's factory) writes rows of
        # a tenant that has no id yet: it is its own narrow bypass, CREATING.
        if any(isinstance(obj, _tenant_model) for obj in session.new):
            _flush_practice_id.set(CREATING)
            return
        owners = {_owner(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
        owners.discard(None)
        _flush_practice_id.set(owners.pop() if len(owners) == 1 else None)


def _owner(obj) -> int | None:
    if isinstance(obj, PracticeScoped):
        if obj.practice_id is not None:
            return obj.practice_id
        parent = getattr(obj, "practice", None)
        return _identity_id(parent) if parent is not None else None
    if _tenant_model is not None and isinstance(obj, _tenant_model):
        return _identity_id(obj)
    return None


def _flush_ended(session: Session, *args) -> None:
    _flush_practice_id.set(None)


def _identity_id(obj) -> int | None:
    """The primary key of a persistent object without loading it (None while pending)."""
    identity = inspect(obj).identity
    return identity[0] if identity else None


def _check_loaded_row(target, context) -> None:
    # A fifth, cheap wall: even a statement that escaped the criteria (a textual query
    # mapped to a model, say) cannot hand back a row of another practice.
    if not isinstance(target, PracticeScoped):
        return
    practice_id = _current_practice_id.get()
    if practice_id is not None and not is_unscoped() and target.practice_id != practice_id:
        raise TenancyError(f"Loaded a {type(target).__name__} of another practice.")


def install_guard(tenant_model: type, session_class: type[Session] = Session) -> None:
    """Attach the guard to every session (idempotent); `tenant_model` is Practice."""
    global _tenant_model
    _tenant_model = tenant_model
    if not event.contains(session_class, "do_orm_execute", _scope_statement):
        event.listen(session_class, "do_orm_execute", _scope_statement)
        event.listen(session_class, "before_flush", _stamp_new_rows)
        event.listen(session_class, "after_flush_postexec", _flush_ended)
        event.listen(session_class, "after_soft_rollback", _flush_ended)


def install_load_check(base: type) -> None:
    """Check every loaded PracticeScoped row against the current practice (idempotent)."""
    if not event.contains(base, "load", _check_loaded_row):
        event.listen(base, "load", _check_loaded_row, propagate=True)

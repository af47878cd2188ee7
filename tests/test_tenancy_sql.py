"""The SQL the tenancy guard leaves: one `practice_id` condition per table reference.

Every statement of the main pages is captured and read scope by scope (each subquery on its
own). For each table reference (a table or an alias of it) the conditions on its
`practice_id` after FROM are counted: the guard's `practice_id = <the practice>` and any join
condition that matches it with another reference's `practice_id`. A reference with two is
filtered twice for the same thing (or more: criteria once added again at each level of
loading); a reference with none would be a hole in the tenancy, which tests/test_tenancy.py
and tests/blueprints/test_access_sweep.py guard against.

Relationships join on the id alone: the composite foreign keys `(practice_id, x_id) ->
x(practice_id, id)` keep both ends in one practice, and the guard filters each entity. The one
table the guard cannot reach is a many-to-many relationship's `secondary` (a table, not an
entity: `couple_therapists` behind `Couple.therapists`); its match with the other side's
`practice_id` is its only filter, so it counts for it and not again for the other side.
"""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import event

from practice.extensions import db
from practice.models import Practice
from practice.tenancy import is_unscoped
from tests.blueprints.test_statement_budget import demo, enter_portal  # noqa: F401 - fixture

PARAMETER = re.compile(r"%\(\w+\)s(?:::[\w\[\]]+)?|\?")
REFERENCE = re.compile(r"(?:\bFROM|\bJOIN|,)\s+(\w+)(?:\s+AS\s+(\w+))?", re.IGNORECASE)
CLAUSE_END = re.compile(r"\b(?:WHERE|GROUP BY|ORDER BY|LIMIT|HAVING|UNION)\b")


def scopes(sql: str) -> list[str]:
    """Each SELECT of a statement with its own subqueries cut out (read on their own)."""
    found: list[str] = []

    def walk(text: str) -> None:
        kept, i = [], 0
        while i < len(text):
            if text.startswith("(SELECT", i):
                depth, j = 0, i
                while True:
                    depth += {"(": 1, ")": -1}.get(text[j], 0)
                    if depth == 0:
                        break
                    j += 1
                walk(text[i + 1 : j])
                kept.append("(subquery)")
                i = j + 1
            else:
                kept.append(text[i])
                i += 1
        found.append("".join(kept))

    walk(" ".join(PARAMETER.sub("?", sql).split()))
    return found


def references(scope: str) -> list[str]:
    """The table references of one SELECT: each table's alias, or its name."""
    _, _, after = scope.partition(" FROM ")
    if not after:
        return []
    tables = CLAUSE_END.split(after, maxsplit=1)[0]
    return [
        alias or table
        for table, alias in REFERENCE.findall(" FROM " + tables)
        if table.lower() not in {"subquery", "select"}
    ]


def practice_conditions(scope: str, *, joins: bool) -> Counter:
    """Per reference: its `practice_id` compared with a parameter (and, with `joins`, with
    another reference's `practice_id`), after FROM (the selected columns are not conditions)."""
    _, _, after = scope.partition(" FROM ")
    names = references(scope)
    bound = {
        name: len(
            re.findall(rf"\b{name}\.practice_id\s*=\s*\?|\?\s*=\s*\b{name}\.practice_id\b", after)
        )
        for name in names
    }
    counts: Counter = Counter(bound)
    if joins:
        for left, right in re.findall(r"\b(\w+)\.practice_id\s*=\s*(\w+)\.practice_id\b", after):
            # A match with a reference the guard does not filter (the `secondary` table of a
            # many-to-many relationship: a table, not an entity) is that reference's only
            # filter, not a second one for the other side.
            both_filtered = bound.get(left) and bound.get(right)
            for side in (left, right):
                if both_filtered or not bound.get(side):
                    counts[side] += 1
    return counts


def statements_of(client, url: str) -> list[str]:
    """The statements a GET sends inside the practice (not the deliberate cross-practice
    lookups of an `unscoped()` block: the sign-in behind a cookie, say)."""
    captured: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if not is_unscoped():
            captured.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert response.status_code == 200, url
    return captured


def main_pages(app, demo) -> dict[str, list[str]]:  # noqa: F811
    """The SQL of the main pages, as the owner, the therapist and a partner see them."""
    owner, therapist, sam = demo[0], demo[1], next(c for c in demo if c.name.startswith("Sam"))
    from practice.models import Couple, HomeworkResponse
    from practice.tenancy import unscoped

    with unscoped():
        couple_id = db.session.scalar(db.select(Couple.id).where(Couple.label == "Alex & Sam"))
        contract = db.session.scalar(
            db.select(HomeworkResponse).where(
                HomeworkResponse.couple_id == couple_id,
                HomeworkResponse.kind == "repair_contract",
            )
        )
        contract_id, contract_key = contract.id, contract.public_id
    pages = {}
    for who, client in (("owner", owner.client), ("therapist", therapist.client)):
        for url in (
            "/couples",
            "/dashboard",
            "/review",
            f"/couples/{couple_id}",
            f"/couples/{couple_id}/homework/{contract_id}",
            f"/couples/{couple_id}/agreements",
        ):
            pages[f"{who} {url}"] = statements_of(client, url)
    for url in ("/portal", f"/portal/homework/{contract_key}"):
        pages[f"partner {url}"] = statements_of(sam.client, url)
    return pages


def problems(pages: dict[str, list[str]], *, joins: bool) -> list[str]:
    found = []
    for page, statements in pages.items():
        for statement in statements:
            for scope in scopes(statement):
                for reference, count in practice_conditions(scope, joins=joins).items():
                    if count > 1:
                        found.append(f"{page}: {reference} has {count} in: {scope[:160]}…")
    return found


def test_the_guard_filters_each_table_reference_by_the_practice_once(app, demo):  # noqa: F811
    pages = main_pages(app, demo)
    assert sum(len(statements) for statements in pages.values()) > 30
    found = problems(pages, joins=False)
    assert not found, "\n".join(found)


def test_no_table_reference_is_matched_on_practice_id_twice(app, demo):  # noqa: F811
    found = problems(main_pages(app, demo), joins=True)
    assert not found, "\n".join(found[:20])


def unfiltered(scope: str) -> list[str]:
    """The references of one SELECT not kept to the practice: neither compared with it nor
    matched on `practice_id` with a reference that is (the practices table is the tenant)."""
    _, _, after = scope.partition(" FROM ")
    names = references(scope)
    kept = {
        name
        for name in names
        if name.startswith(Practice.__tablename__)
        or re.search(rf"\b{name}\.practice_id\s*=\s*\?|\?\s*=\s*\b{name}\.practice_id\b", after)
    }
    pairs = re.findall(r"\b(\w+)\.practice_id\s*=\s*(\w+)\.practice_id\b", after)
    grew = True
    while grew:
        grew = False
        for left, right in pairs:
            for a, b in ((left, right), (right, left)):
                if a in kept and b not in kept:
                    kept.add(b)
                    grew = True
    return [name for name in names if name not in kept]


def test_every_table_reference_of_the_main_pages_is_kept_to_the_practice(app, demo):  # noqa: F811
    """No hole: the conditions are not only never doubled, they are never missing."""
    found = [
        f"{page}: {reference} in: {scope[:160]}…"
        for page, statements in main_pages(app, demo).items()
        for statement in statements
        for scope in scopes(statement)
        for reference in unfiltered(scope)
    ]
    assert not found, "\n".join(found)

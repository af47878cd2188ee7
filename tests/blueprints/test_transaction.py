"""One transaction per request: a success answer commits, an error answer rolls back, and
the two explicit exits do what they say. Against the real database: whether a row exists
is read back through a separate connection, after the request's session is gone."""

from __future__ import annotations

import pytest
from flask import Response, redirect
from sqlalchemy import select

from practice.blueprints import transaction
from practice.extensions import db
from practice.models import Practice
from practice.services import DomainError, NotFound
from practice.tenancy import unscoped


def _stored(name: str) -> bool:
    db.session.remove()
    with unscoped():
        return db.session.scalar(select(Practice.id).where(Practice.name == name)) is not None


def _write(name: str) -> None:
    with unscoped():
        db.session.add(
            Practice(
                name=name,
                slug=name.lower().replace(" ", "-"),
                time_zone="Europe/London",
                secrets_policy="limited_secrets",
                secrets_policy_text="Private.",
            )
        )
        db.session.flush()


@pytest.mark.parametrize(
    ("answer", "exit_", "kept"),
    [
        (lambda: Response("ok", 200), None, True),
        (lambda: redirect("/dashboard"), None, True),
        (lambda: Response("refused", 422), None, False),
        (lambda: Response("gone", 404), None, False),
        (lambda: Response("refused", 422), transaction.keep_writes, True),
        (lambda: redirect("/dashboard"), transaction.discard_writes, False),
    ],
    ids=["200", "302", "422", "404", "422-keep", "302-discard"],
)
def test_the_request_commits_on_success_and_rolls_back_on_error(app, answer, exit_, kept):
    name = f"Boundary {answer().status_code} {exit_.__name__ if exit_ else 'plain'}"
    with app.test_request_context("/"):
        _write(name)
        if exit_ is not None:
            exit_()
        transaction.finish(answer())
    with app.app_context():
        assert _stored(name) is kept


def test_an_uncaught_domain_error_rolls_back_and_shows_its_message(app):
    with app.test_request_context("/"):
        _write("Boundary domain error")
        response = app.make_response(app.handle_user_exception(DomainError("Choose a date.")))
        assert response.status_code == 409
        assert "Choose a date." in response.get_data(as_text=True)
        transaction.finish(response)
    with app.app_context():
        assert not _stored("Boundary domain error")


def test_a_record_out_of_reach_in_any_service_is_the_same_404_as_an_unknown_url(app):
    with app.test_request_context("/"):
        _write("Boundary not found")
        response = app.make_response(app.handle_user_exception(NotFound()))
        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)
        transaction.finish(response)
    with app.app_context():
        assert not _stored("Boundary not found")

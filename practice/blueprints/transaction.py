"""One transaction per request: committed when the view succeeds, rolled back when it fails.

Views do not commit. A request that answers below 400 commits what its services wrote; an
error answer (a refused form, a 404, a domain error) rolls it all back, so that half of an
action never lands. Two explicit exits:

- `keep_writes()`: the few places that keep a write although they answer with an error (a
  draft is saved while its hand-in is refused; a wrong PIN is counted).
- `discard_writes()`: a view that catches a domain error and answers with a redirect (the
  message travels as a flash) drops what was written before the error.

Flash messages live in the cookie session, not the database, so a rollback keeps them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g

from practice.extensions import db
from practice.services import DomainError, NotFound

log = logging.getLogger(__name__)


def keep_writes() -> None:
    """Commit this request's writes even though it answers with an error status."""
    g.keep_writes = True


def discard_writes() -> None:
    """Roll this request's writes back even though it answers with a success status."""
    db.session.rollback()
    g.discard_writes = True


def after_the_answer(
    response: Response, work: Callable[[str], None], argument: str, *, what: str
) -> Response:
    """Run `work(argument)` once `response` has been sent, in an app context (and so a
    database session) of its own, committed at its end: for work whose cost would tell
    something (whether an address is known) if the answer waited for it."""
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                work(argument)
                db.session.commit()
            except Exception as error:  # the answer is gone: log the kind, never the input
                db.session.rollback()
                log.error("a %s request failed after the answer: %s", what, type(error).__name__)

    response.call_on_close(run)
    return response


def finish(response):
    """After the view: commit on success (or when told to keep), roll back otherwise."""
    keep = g.pop("keep_writes", False)
    discard = g.pop("discard_writes", False)
    if keep or (response.status_code < 400 and not discard):
        db.session.commit()
    else:
        db.session.rollback()
    return response


def on_teardown(error: BaseException | None = None) -> None:
    if error is not None:
        db.session.rollback()


def register(app: Flask) -> None:
    app.after_request(finish)
    app.teardown_request(on_teardown)

    @app.errorhandler(NotFound)
    def not_found(error: NotFound):
        """A record out of reach, from any service: the same 404 as an unknown URL."""
        from practice.blueprints.errors import render_error

        db.session.rollback()
        return render_error(404)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        """A domain error no view caught: nothing it began is kept; its message is shown."""
        from practice.blueprints.errors import render_error

        db.session.rollback()
        return render_error(409, "That could not be done", error.message)

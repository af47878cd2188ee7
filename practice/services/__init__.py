"""Business rules. Plain functions with explicit arguments; they raise DomainError and never
commit: the caller (a view, a job, the CLI) commits once."""

import re
from collections.abc import Callable
from typing import TypeVar

# A number past MAX_ID, typed into a form, names nothing: services check it before it reaches
# a driver that cannot even bind it (SQLite). Defined with the models, which routes check too.
from practice.models.base import MAX_ID as MAX_ID

T = TypeVar("T")


class DomainError(Exception):
    """A rule said no. `message` is safe to show to the person; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing does not exist or is out of reach; views answer 404 either way."""

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


# Control characters (Unicode Cc) and the line and paragraph separators: no one-line value
# holds them. Stored, they break what is built from the value: a practice name with a line
# break in it made every email subject naming it invalid, and every email of the practice failed.
SINGLE_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SINGLE_LINE_MESSAGE = "Keep this to one line, without line breaks, tabs or invisible characters."
# A text of several lines keeps its line breaks and tabs; the other control characters go.
MULTI_LINE_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MULTI_LINE_MESSAGE = "Remove the invisible control character from this text."


def check_single_line(value: str, field: str) -> str:
    """Raise DomainError (naming `field`) if `value` is not a single line of visible text."""
    if SINGLE_LINE_REFUSED.search(value):
        raise DomainError(SINGLE_LINE_MESSAGE, field)
    return value


class Conflict(DomainError):
    """Another transaction committed the same unique value first (two sign-ups with one email
    at one moment). Roll back and call the service again: the second call sees that row."""

    def __init__(self) -> None:
        super().__init__("Someone else saved the same details at this very moment. Try again.")


def retry_on_conflict(work: Callable[[], T], *, attempts: int = 3) -> T:
    """Run `work`, the whole of the caller's transaction, again after a Conflict (rolled back
    first, so nothing else may be pending); the last Conflict reaches the caller."""
    from practice.extensions import db

    for _ in range(attempts - 1):
        try:
            return work()
        except Conflict:
            db.session.rollback()
    return work()

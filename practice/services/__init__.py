"""Business rules. Plain functions with explicit arguments; they raise DomainError and never
commit: the caller (a view, a job, the CLI) commits once."""


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


# The largest id a row can have (PostgreSQL's integer). A number past it, typed into a form,
# names nothing: checked before it reaches a driver that cannot even bind it (SQLite).
MAX_ID = 2**31 - 1

"""One exception family for problems the user can fix; the CLI edge turns each into one line and its exit status.

Every class has a ``code`` (stable, printed in ``--output json`` error documents) and an ``exit_code``; the table
"Exit codes" in README.md lists them. ``hint`` (optional) says what to do next, for the service that failed.
"""


class CruddurError(Exception):
    """A problem the user can fix; the message says what and where."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str = "", *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class InputError(CruddurError):
    """A bad file or value: ``seeds/x.yaml:12: conversations[0].between: unknown handle 'zed'``."""

    code = "input"
    exit_code = 3

    def __init__(self, message: str, *, path=None, line: int | None = None, hint: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line


class SchemaError(InputError):
    """A table schema that DynamoDB would reject (or that cruddur cannot read)."""


class SeedError(InputError):
    """A seed file that cannot be seeded as written."""


class NotFoundError(CruddurError):
    """A table, database, user pool, instance, user or group that does not exist."""

    code = "not_found"
    exit_code = 4


class ConflictError(CruddurError):
    """What exists conflicts with what was asked: a table that differs, a resource in use or already there,
    a failed condition."""

    code = "conflict"
    exit_code = 5


class TableDiffersError(ConflictError):
    """schema-load found a table that exists with other keys or indexes."""


class ProdGuardError(CruddurError):
    """A write aimed at a production (non-loopback) target without --prod, or a destructive action there
    confirmed by --yes alone instead of the typed resource name."""

    code = "production"
    exit_code = 6


class ConfirmationError(CruddurError):
    """A destructive command that could not be confirmed: no terminal to ask on, and no --yes."""

    code = "unconfirmed"
    exit_code = 7


class Declined(ConfirmationError):
    """The user answered no (or typed another name). Not an error: one plain line, its own status."""

    code = "declined"
    exit_code = 10


class EngineError(CruddurError):
    """An engine or service endpoint (DynamoDB Local, PostgreSQL, an AWS endpoint) could not be installed,
    started or reached."""

    code = "unreachable"
    exit_code = 8


class ServiceError(CruddurError):
    """The service answered with an error not covered by a more precise class (throttling, limits, internal)."""

    code = "service"
    exit_code = 9


class AuthError(CruddurError):
    """Missing, invalid or insufficient credentials: the service (or driver) refused who we are."""

    code = "auth"
    exit_code = 11


class Interrupted(CruddurError):
    """Stopped by SIGINT (exit 130) or SIGTERM (exit 143); the message says what was done and that a rerun
    completes it."""

    code = "interrupted"
    exit_code = 130

    def __init__(self, message: str, *, signum: int = 2, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.signum = signum
        self.exit_code = 128 + signum

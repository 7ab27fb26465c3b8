"""One exception family for problems the user can fix; the CLI edge turns them into a red line and exit 1."""


class CruddurError(Exception):
    """A problem the user can fix; the message says what and where."""

    exit_code = 1


class InputError(CruddurError):
    """A bad file or value: ``seeds/x.yaml:12: conversations[0].between: unknown handle 'zed'``."""

    def __init__(self, message: str, *, path=None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class SchemaError(InputError):
    """A table schema that DynamoDB would reject (or that cruddur cannot read)."""


class SeedError(InputError):
    """A seed file that cannot be seeded as written."""


class ProdGuardError(CruddurError):
    """A write aimed at a production (non-loopback) endpoint without --prod."""


class ConfirmationError(CruddurError):
    """A destructive command that was not confirmed."""


class TableDiffersError(CruddurError):
    """schema-load found a table that exists with other keys or indexes."""


class NotFoundError(CruddurError):
    """A table, database, user or group that does not exist."""


class EngineError(CruddurError):
    """A local engine (DynamoDB Local, PostgreSQL) could not be installed, started or reached."""

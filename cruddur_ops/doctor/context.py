"""What doctor's checks share: the Check row, NotApplicable, the settings, lazily made clients and connections,
one bounded scan of the table, and the users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from cruddur_ops.checks import FAIL, NA, OK, STATUSES, WARN  # noqa: F401  (re-exported for the checks)
from cruddur_ops.ddb.model import GROUP_PREFIX, MESSAGE_PREFIX, TABLE
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import Settings

DEFAULT_MAX_ITEMS = 100_000
MAX_DETAILS = 20  # offending rows kept per check


class CheckDoc(TypedDict):
    name: str
    title: str
    status: str
    found: str
    fix: str
    fixable: bool
    details: list[dict[str, Any]]


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | n/a
    found: str
    fix: str = ""
    details: list[dict] = field(default_factory=list)
    fixable: bool = False  # `--fix` can repair what was found
    title: str = ""

    def to_dict(self) -> CheckDoc:
        return {"name": self.name, "title": self.title, "status": self.status, "found": self.found, "fix": self.fix,
                "fixable": self.fixable, "details": self.details}


class NotApplicable(Exception):
    """Raised inside a check whose engine is out of reach; the check reports ``n/a`` with this message."""


def _short(exc: BaseException) -> str:
    from cruddur_ops.pg.database import mask_text

    text = " ".join(str(exc).split()) or type(exc).__name__
    return mask_text(text if len(text) < 300 else text[:299] + "…")


def _capped(rows: list[dict]) -> list[dict]:
    return rows[:MAX_DETAILS]


@dataclass
class Scan:
    items: list[dict]
    truncated: bool
    max_items: int
    entities: dict = field(default_factory=dict)  # the app's declared entities (schemas/): they classify the items
    _kinds: list | None = field(default=None, init=False, repr=False)

    def kinds(self) -> list[str | None]:
        """Each item's entity: the first declared entity whose key templates it follows (``GroupRow``,
        ``Message``); without declarations, the app's key prefixes."""
        if self._kinds is None:
            if self.entities:
                self._kinds = [next((e.name for e in self.entities.values() if e.key_values(i) is not None), None)
                               for i in self.items]
            else:
                self._kinds = ["Message" if str(i.get("pk", "")).startswith(MESSAGE_PREFIX) else
                               "GroupRow" if str(i.get("pk", "")).startswith(GROUP_PREFIX) else None for i in self.items]
        return self._kinds

    def of(self, entity: str) -> list[dict]:
        return [i for i, kind in zip(self.items, self.kinds(), strict=True) if kind == entity]

    @property
    def messages(self) -> list[dict]:
        return self.of("Message")

    @property
    def group_rows(self) -> list[dict]:
        return self.of("GroupRow")

    def caveat(self) -> str:
        return f" (only the first {self.max_items:,} items were scanned: raise --max-items to see all)" if self.truncated else ""


class Context:
    """What the checks share: the settings, lazily made clients and connections, one bounded scan, the users."""

    def __init__(self, settings: Settings, *, table: str = TABLE, seed_path: Path | None = None,
                 max_items: int = DEFAULT_MAX_ITEMS, now: datetime | None = None, client=None):
        self.settings = settings
        self.table = table
        self.seed_path = Path(seed_path) if seed_path else None
        self.max_items = max_items
        self.now = now or datetime.now(UTC)
        self._client = client  # a DynamoDB client already made from these settings (`cruddur web` shares its own)
        self._ddb_problem: str | None = None
        self._ddb_probed = False
        self._description: dict | None = None
        self._described = False
        self._scan: Scan | None = None
        self._conn = None
        self._pg_problem: str | None = None
        self._pg_probed = False
        self._users: list[dict] | None = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- DynamoDB ---------------------------------------------------------------------------------------------
    def dynamodb(self):
        if self._client is None:
            self._client = self.settings.dynamodb()
        return self._client

    def dynamodb_problem(self) -> str | None:
        """None when the endpoint answers ListTables, else why not (asked once)."""
        if not self._ddb_probed:
            self._ddb_probed = True
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self.dynamodb().list_tables(Limit=1)
            # CruddurError: no region; BotoCoreError: no connection or credentials; ClientError: refused;
            # ValueError: botocore's "Invalid endpoint" for a malformed URL
            except (CruddurError, BotoCoreError, ClientError, ValueError) as exc:
                self._ddb_problem = _short(exc)
        return self._ddb_problem

    def write_dynamodb(self, action):
        """A write client for a fix: the production guard runs first (Settings.dynamodb(write=...))."""
        return self.settings.dynamodb(write=action)

    def require_dynamodb(self):
        if self.dynamodb_problem():
            raise NotApplicable("DynamoDB does not answer (see dynamodb-endpoint)")
        return self.dynamodb()

    def description(self) -> dict | None:
        if not self._described:
            from cruddur_ops.ddb import schema

            self._description = schema.existing(self.require_dynamodb(), self.table)
            self._described = True
        return self._description

    def require_table(self) -> dict:
        description = self.description()
        if description is None:
            raise NotApplicable(f"no table {self.table} (see dynamodb-table)")
        return description

    def scan(self) -> Scan:
        """The table's items (plain values), at most ``max_items`` of them; scanned once."""
        if self._scan is None:
            from cruddur_ops.ddb.scan import iter_scan
            from cruddur_ops.doctor.ddb import expected_spec

            self.require_table()
            items = list(iter_scan(self.dynamodb(), self.table, limit=self.max_items + 1))
            spec = expected_spec(self.table)
            self._scan = Scan(items[: self.max_items], len(items) > self.max_items, self.max_items,
                              entities=spec.entities if spec is not None else {})
        return self._scan

    @property
    def scanned(self) -> Scan | None:
        """The scan, when a check made one."""
        return self._scan

    # --- PostgreSQL -------------------------------------------------------------------------------------------
    def database(self):
        from cruddur_ops.pg.database import Database

        return Database.from_settings(self.settings)

    def pg_problem(self) -> str | None:
        if not self._pg_probed:
            self._pg_probed = True
            try:
                self._conn = self.database().connect(autocommit=True)
            except CruddurError as exc:
                self._pg_problem = str(exc)
        return self._pg_problem

    def write_pg(self, action):
        """An autocommit connection for a fix, made after the guard (Settings.writable); the caller closes it."""
        self.require_pg()
        return self.settings.writable(self.database(), action).connect(autocommit=True)

    def require_pg(self):
        if self.pg_problem():
            raise NotApplicable("PostgreSQL does not answer (see postgres)")
        return self._conn

    def has_users_table(self) -> bool:
        row = self.require_pg().execute("SELECT to_regclass('public.users') IS NOT NULL").fetchone()
        return bool(row[0])

    def users(self) -> list[dict]:
        if self._users is None:
            from cruddur_ops.pg.users import list_users

            if not self.has_users_table():
                raise NotApplicable("no users table (see postgres)")
            self._users = list_users(self.require_pg())
        return self._users

    # --- the seed file ----------------------------------------------------------------------------------------
    def seed_file(self) -> Path:
        from cruddur_ops import defaults

        return self.seed_path or defaults.seed_file()

"""`cruddur doctor`: the traps that cost the original developers days, found across both engines, explained, and —
where that is safe — repaired.

Each check is a small function ``check_…(ctx) -> Check`` with a status (``ok``, ``warn``, ``fail`` or ``n/a``),
what it found, and the command that fixes it; a few have a fixer (``--fix``) that applies the same library code
the matching command runs. A check that needs an engine the earlier checks could not reach is ``n/a``, never a
failure of its own. The checks, in order:

1. ``dynamodb-endpoint``  the endpoint in use (local or production) answers; region and credentials are present
2. ``dynamodb-table``     the table exists with the app's keys and GSI, and its stream is on (fix: create / enable)
3. ``postgres``           the database answers and has a ``users`` table (fix: ``db setup``, local only)
4. ``seed-handles``       every handle of the seed file is in ``users`` (fix: insert the seed file's users)
5. ``cognito-user-ids``   users whose ``cognito_user_id`` is empty or a placeholder such as ``MOCK``
6. ``message-timestamps`` messages and group rows whose time is naive (no UTC offset) or in the future
7. ``group-rows-current`` group rows that do not show their conversation's last message (fix: the stream
   processor's own row move, :func:`cruddur_ops.ddb.stream.apply_message`)
8. ``group-row-users``    group rows naming a user uuid that is not in ``users``
9. ``duplicate-conversations`` two users with more than one conversation
10. ``blocking-sessions`` other sessions on the database, which make a plain ``DROP DATABASE`` fail (fix: end them)

The DynamoDB checks share one scan of the table, bounded by ``max_items`` (default 100,000); a check that saw
only part of the table says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from cruddur_ops.ddb.model import GROUP_INDEX, GROUP_PREFIX, MESSAGE_PREFIX, TABLE
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import LOCAL_REGION, Settings

OK, WARN, FAIL, NA = "ok", "warn", "fail", "n/a"
STATUSES = (OK, WARN, FAIL, NA)
DEFAULT_MAX_ITEMS = 100_000
MAX_DETAILS = 20  # offending rows kept per check
FUTURE_SLACK = timedelta(minutes=1)  # clocks differ a little
PLACEHOLDERS = {"mock", "placeholder", "todo", "tbd", "none", "null", "nil", "changeme", "fake", "dummy", "test",
                "xxx", "cognito_user_id", "-", "0"}
STREAM_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")  # the processor reads NewImage


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | n/a
    found: str
    fix: str = ""
    details: list[dict] = field(default_factory=list)
    fixable: bool = False  # `--fix` can repair what was found
    title: str = ""

    def to_dict(self) -> dict:
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

    @property
    def messages(self) -> list[dict]:
        return [i for i in self.items if str(i.get("pk", "")).startswith(MESSAGE_PREFIX)]

    @property
    def group_rows(self) -> list[dict]:
        return [i for i in self.items if str(i.get("pk", "")).startswith(GROUP_PREFIX)]

    def caveat(self) -> str:
        return f" (only the first {self.max_items:,} items were scanned: raise --max-items to see all)" if self.truncated else ""


class Context:
    """What the checks share: the settings, lazily made clients and connections, one bounded scan, the users."""

    def __init__(self, settings: Settings, *, table: str = TABLE, seed_path: Path | None = None,
                 max_items: int = DEFAULT_MAX_ITEMS, now: datetime | None = None):
        self.settings = settings
        self.table = table
        self.seed_path = Path(seed_path) if seed_path else None
        self.max_items = max_items
        self.now = now or datetime.now(timezone.utc)
        self._client = None
        self._ddb_problem: str | None = None
        self._ddb_probed = False
        self._description: dict | None = None
        self._described = False
        self._scan: Scan | None = None
        self._conn = None
        self._pg_problem: str | None = None
        self._pg_probed = False
        self._users: list[dict] | None = None

    def __enter__(self) -> "Context":
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
            try:
                self.dynamodb().list_tables(Limit=1)
            except Exception as exc:  # CruddurError (no region), botocore connection and client errors
                self._ddb_problem = _short(exc)
        return self._ddb_problem

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

            self.require_table()
            items = list(iter_scan(self.dynamodb(), self.table, limit=self.max_items + 1))
            self._scan = Scan(items[: self.max_items], len(items) > self.max_items, self.max_items)
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


# --- 1. the endpoint ------------------------------------------------------------------------------------------------
def _aws_identity(s: Settings) -> tuple[str | None, str | None]:
    """(region, where the credentials come from) as a client of these settings would see them."""
    import boto3

    local = s.is_local("dynamodb")
    session = boto3.session.Session(profile_name=s.profile) if s.profile else boto3.session.Session()
    region = s.region or (LOCAL_REGION if local else session.region_name)
    if local and not s.profile and not s.env.get("AWS_ACCESS_KEY_ID"):
        return region, "dummy local credentials"
    credentials = session.get_credentials()
    return region, (credentials.method if credentials else None)


def _local_engine_hint(s: Settings) -> str:
    from cruddur_ops.local import dynamodb_local

    engine = dynamodb_local.running(s.data_dir)
    if engine and engine.endpoint != s.endpoint_for("dynamodb"):
        return f'DynamoDB Local from `cruddur local up` runs on {engine.endpoint}: eval "$(cruddur local env)"'
    return 'start DynamoDB Local with `cruddur local up`, then eval "$(cruddur local env)"'


def check_dynamodb_endpoint(ctx: Context) -> Check:
    s = ctx.settings
    local = s.is_local("dynamodb")
    where = s.describe_endpoint("dynamodb")
    kind = "local" if local else "production"
    try:
        region, credentials = _aws_identity(s)
    except Exception as exc:  # botocore ProfileNotFound
        return Check("dynamodb-endpoint", FAIL, f"{where} ({kind}): {_short(exc)}", "check AWS_PROFILE / --profile")
    if not region:
        return Check("dynamodb-endpoint", FAIL, f"{where} ({kind}): no AWS region", "pass --region or set AWS_REGION")
    if not credentials:
        return Check("dynamodb-endpoint", FAIL, f"{where} ({kind}), region {region}: no AWS credentials",
                     "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for local engines: "
                     'eval "$(cruddur local env)"')
    problem = ctx.dynamodb_problem()
    if problem:
        fix = _local_engine_hint(s) if local else \
            "check the network, region and credentials; for local engines: " + _local_engine_hint(s)
        return Check("dynamodb-endpoint", FAIL, f"cannot reach {where} ({kind}): {problem}", fix)
    return Check("dynamodb-endpoint", OK, f"{where} ({kind}) answers; region {region}, credentials: {credentials}")


# --- 2. the table ---------------------------------------------------------------------------------------------------
def expected_spec(table: str):
    """The app's table as the schemas describe it, renamed to ``table`` when only cruddur-messages is described."""
    import dataclasses

    from cruddur_ops import defaults
    from cruddur_ops.ddb import schema

    try:
        specs = schema.read(defaults.schema_files()).tables
    except CruddurError:
        return None
    by_name = {spec.name: spec for spec in specs}
    spec = by_name.get(table) or by_name.get(TABLE)
    if spec is not None and spec.name != table:
        spec = dataclasses.replace(spec, request={**spec.request, "TableName": table})
    return spec


def _stream_problem(description: dict) -> str | None:
    stream = description.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        return "the stream is off, so nothing moves the group rows to new messages"
    if stream.get("StreamViewType") not in STREAM_VIEWS:
        return f"the stream's view type is {stream.get('StreamViewType')}; the processor needs NEW_IMAGE"
    return None


def check_dynamodb_table(ctx: Context) -> Check:
    from cruddur_ops.ddb import schema

    description = ctx.description()
    spec = expected_spec(ctx.table)
    where = ctx.settings.describe_endpoint("dynamodb")
    if description is None:
        return Check("dynamodb-table", FAIL, f"no table {ctx.table} on {where}",
                     "create it: `cruddur ddb schema-load`", fixable=spec is not None)
    if spec is not None:
        diffs = schema.differences(spec, description)
    else:  # no schema file at hand: the model's keys
        keys = [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]]
        indexes = {i["IndexName"] for i in description.get("GlobalSecondaryIndexes") or []}
        diffs = [] if keys == [("pk", "HASH"), ("sk", "RANGE")] else [f"keys: {keys}, the app needs pk HASH, sk RANGE"]
        diffs += [] if GROUP_INDEX in indexes else [f"GSI {GROUP_INDEX}: missing from the table"]
    stream = _stream_problem(description)
    if diffs:
        return Check("dynamodb-table", FAIL, f"{ctx.table} differs from the app's schema: " + "; ".join(diffs)
                     + (f"; and {stream}" if stream else ""),
                     "recreate it (its items are lost): `cruddur ddb schema-load --recreate`",
                     details=[{"difference": d} for d in diffs])
    if stream:
        stream_spec = description.get("StreamSpecification") or {}
        return Check("dynamodb-table", WARN, f"{ctx.table}: {stream}",
                     "enable it with StreamViewType NEW_IMAGE (as schemas/ declares), then run "
                     "`cruddur ddb stream process --follow`", fixable=not stream_spec.get("StreamEnabled"))
    view = description["StreamSpecification"]["StreamViewType"]
    return Check("dynamodb-table", OK, f"{ctx.table}: keys pk/sk, GSI {GROUP_INDEX}, stream {view}; "
                 f"{description.get('ItemCount', 0):,} items")


def fix_dynamodb_table(ctx: Context) -> str:
    from cruddur_ops.ddb import schema

    ctx.settings.guard_write("dynamodb", f"change table {ctx.table}")
    client = ctx.require_dynamodb()
    if ctx.description() is None:
        spec = expected_spec(ctx.table)
        result = schema.load(client, [spec])[0]
        return f"table {result.name} {result.status}"
    client.update_table(TableName=ctx.table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return f"stream of {ctx.table} enabled (NEW_IMAGE)"


# --- 3. PostgreSQL --------------------------------------------------------------------------------------------------
def _pg_start_hint(ctx: Context) -> str:
    from cruddur_ops.local import pgcluster

    cluster = pgcluster.running(ctx.settings.data_dir)
    if cluster and cluster.url != ctx.database().url:
        return f'a PostgreSQL from `cruddur local up` runs on port {cluster.port}: eval "$(cruddur local env)"'
    return 'start one with `cruddur local up` (then eval "$(cruddur local env)"), or set CONNECTION_URL'


def check_postgres(ctx: Context) -> Check:
    try:
        db = ctx.database()
    except CruddurError as exc:
        return Check("postgres", FAIL, str(exc), "set PROD_CONNECTION_URL, or drop --prod")
    problem = ctx.pg_problem()
    if problem:
        if "does not exist" in problem:
            return Check("postgres", FAIL, problem, "create and set it up: `cruddur db setup`", fixable=db.is_local)
        return Check("postgres", FAIL, problem, _pg_start_hint(ctx))
    conn = ctx.require_pg()
    version = conn.info.parameter_status("server_version")
    if not ctx.has_users_table():
        return Check("postgres", FAIL, f"{db.masked} ({db.source}), PostgreSQL {version}: no users table",
                     "load the schema and seed: `cruddur db setup`", fixable=db.is_local)
    count = conn.execute("SELECT count(*) FROM public.users").fetchone()[0]
    return Check("postgres", OK, f"{db.masked} ({db.source}), PostgreSQL {version}: users has {count:,} rows")


def fix_postgres(ctx: Context) -> str:
    from cruddur_ops.pg.setup import setup_database

    db = ctx.database()
    db.guard_write(prod=ctx.settings.prod, action="set up the database")
    done = setup_database(db, seed_path=ctx.seed_path)
    return (f"database {done['database']} " + ("created, " if done["created"] else "")
            + f"schema loaded, {done['seed']['users']['inserted']} users seeded")


# --- 4. the seed file's handles ---------------------------------------------------------------------------------------
def check_seed_handles(ctx: Context) -> Check:
    from cruddur_ops.seeds import seedfile

    users = ctx.users()
    path = ctx.seed_file()
    try:
        seed = seedfile.read(path)
    except CruddurError as exc:
        return Check("seed-handles", FAIL, str(exc), "correct the seed file")
    by_handle = {u["handle"]: u for u in users}
    handles = list(dict.fromkeys([u.handle for u in seed.users] + [h for c in seed.conversations for h in c.between]))
    missing = [h for h in handles if h not in by_handle]
    if missing:
        return Check("seed-handles", FAIL,
                     f"{len(missing)} of the {len(handles)} handles of {path} are not in users: {', '.join(missing)}",
                     f"insert the seed file's users: `cruddur db seed {path}` (or use handles that exist)",
                     details=_capped([{"handle": h} for h in missing]), fixable=True)
    mismatched = [{"handle": u.handle, "seed_uuid": u.uuid, "users_uuid": by_handle[u.handle]["uuid"]}
                  for u in seed.users if by_handle[u.handle]["uuid"] != u.uuid]
    if mismatched:
        return Check("seed-handles", WARN,
                     f"{len(mismatched)} handle(s) of {path} have another uuid in users: "
                     + ", ".join(m["handle"] for m in mismatched),
                     "seed DynamoDB with PostgreSQL's uuids: `cruddur ddb seed --users-from db`",
                     details=_capped(mismatched))
    return Check("seed-handles", OK, f"all {len(handles)} handles of {path} are in users")


def fix_seed_handles(ctx: Context) -> str:
    from cruddur_ops.seeds import seedfile
    from cruddur_ops.pg import seed as pgseed

    db = ctx.database()
    db.guard_write(prod=ctx.settings.prod, action="insert the seed file's users")
    known = {u["handle"] for u in ctx.users()}
    users = [u for u in seedfile.read(ctx.seed_file()).users if u.handle not in known]
    report = pgseed.seed(ctx.require_pg(), users, [])
    return f"inserted {report['users']['inserted']} user(s): {', '.join(u.handle for u in users)}"


# --- 5. Cognito ids ---------------------------------------------------------------------------------------------------
def is_placeholder(value: str | None) -> bool:
    """Empty, or a stand-in such as ``MOCK`` that no Cognito user has (a real one is the user's sub, a UUID)."""
    text = (value or "").strip().lower()
    return not text or text in PLACEHOLDERS or text.startswith("mock")


def check_cognito_user_ids(ctx: Context) -> Check:
    users = ctx.users()
    bad = [{"handle": u["handle"], "cognito_user_id": u["cognito_user_id"]} for u in users
           if is_placeholder(u["cognito_user_id"])]
    if bad:
        return Check("cognito-user-ids", WARN,
                     f"{len(bad)} of {len(users)} users have an empty or placeholder cognito_user_id: "
                     + ", ".join(f"{b['handle']} ({b['cognito_user_id'] or 'empty'})" for b in bad[:8])
                     + (" …" if len(bad) > 8 else "") + "; signing in will not find them",
                     "copy the pool's subs into users: `cruddur cognito update-user-ids`", details=_capped(bad))
    return Check("cognito-user-ids", OK, f"all {len(users)} users have a cognito_user_id")


# --- 6. timestamps ------------------------------------------------------------------------------------------------------
def check_message_timestamps(ctx: Context) -> Check:
    scan = ctx.scan()
    horizon = ctx.now + FUTURE_SLACK
    problems = []
    for item in scan.items:
        pk, sk = str(item.get("pk", "")), item.get("sk")
        kind = "message" if pk.startswith(MESSAGE_PREFIX) else "group row" if pk.startswith(GROUP_PREFIX) else None
        if kind is None:
            continue
        try:
            moment = datetime.fromisoformat(str(sk))
        except ValueError:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "not an ISO 8601 time"})
            continue
        if moment.tzinfo is None or moment.utcoffset() is None:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "naive (no UTC offset)"})
        elif moment > horizon:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "in the future"})
    if problems:
        counts = defaultdict(int)
        for p in problems:
            counts[p["problem"]] += 1
        return Check("message-timestamps", FAIL,
                     f"{len(problems)} item(s) with a bad time: " + ", ".join(f"{n} {k}" for k, n in counts.items())
                     + "; new messages sort before them" + scan.caveat(),
                     "times are UTC with an offset (2024-02-28T23:50:00+00:00): reseed with `cruddur ddb seed` "
                     "(a seed `start` in the future: move it back); write new ones with "
                     "datetime.now(timezone.utc).isoformat()", details=_capped(problems))
    return Check("message-timestamps", OK,
                 f"{len(scan.messages):,} messages and {len(scan.group_rows):,} group rows have past UTC times"
                 + scan.caveat())


# --- 7. group rows on the last message ---------------------------------------------------------------------------------
def _last_messages(scan: Scan) -> dict[str, tuple[str, str]]:
    last: dict[str, tuple[str, str]] = {}
    for item in scan.messages:
        group, sk = str(item["pk"])[len(MESSAGE_PREFIX):], str(item.get("sk", ""))
        if group not in last or sk > last[group][0]:
            last[group] = (sk, str(item.get("message", "")))
    return last


def _stale_rows(scan: Scan) -> tuple[list[dict], list[dict]]:
    """(rows not on their conversation's last message, rows of conversations without messages)."""
    last = _last_messages(scan)
    stale, orphans = [], []
    for row in scan.group_rows:
        group = row.get("message_group_uuid")
        if group not in last:
            orphans.append({"pk": row["pk"], "sk": row.get("sk"), "message_group_uuid": group})
            continue
        sk, text = last[group]
        if row.get("sk") != sk or row.get("message") != text:
            stale.append({"pk": row["pk"], "sk": row.get("sk"), "message_group_uuid": group, "last_message_at": sk,
                          "behind": str(row.get("sk", "")) < sk})
    return stale, orphans


def check_group_rows_current(ctx: Context) -> Check:
    scan = ctx.scan()
    stale, orphans = _stale_rows(scan)
    if stale:
        groups = {s["message_group_uuid"] for s in stale}
        return Check("group-rows-current", FAIL,
                     f"{len(stale)} group row(s) of {len(groups)} conversation(s) do not show the conversation's last "
                     "message: the stream processor is not running" + scan.caveat(),
                     "run `cruddur ddb stream process` (and keep `--follow` running beside the app), or "
                     "`cruddur doctor --fix`", details=_capped(stale), fixable=any(s["behind"] for s in stale))
    if orphans:
        return Check("group-rows-current", WARN,
                     f"{len(orphans)} group row(s) belong to conversations without messages" + scan.caveat(),
                     "delete them, or reseed: `cruddur ddb seed`", details=_capped(orphans))
    return Check("group-rows-current", OK,
                 f"all {len(scan.group_rows):,} group rows show their conversation's last message" + scan.caveat())


def fix_group_rows_current(ctx: Context) -> str:
    from cruddur_ops.ddb import stream

    ctx.settings.guard_write("dynamodb", f"move group rows in {ctx.table}")
    scan = ctx.scan()
    last = _last_messages(scan)
    stale, _ = _stale_rows(scan)
    moved = unmoved = 0
    for group in dict.fromkeys(s["message_group_uuid"] for s in stale if s["behind"]):
        sk, text = last[group]
        for move in stream.apply_message(ctx.dynamodb(), ctx.table, group, sk, text):
            if move.outcome == "moved":
                moved += 1
            else:
                unmoved += 1
    return f"moved {moved} group row(s) to their last message" + (f"; {unmoved} left as they were" if unmoved else "")


# --- 8. group rows and users ----------------------------------------------------------------------------------------------
def check_group_row_users(ctx: Context) -> Check:
    users = ctx.users()
    scan = ctx.scan()
    known = {u["uuid"] for u in users}
    unknown = []
    for row in scan.group_rows:
        owner = str(row["pk"])[len(GROUP_PREFIX):]
        for role, uuid in (("owner (pk)", owner), ("user_uuid", row.get("user_uuid"))):
            if uuid not in known:
                unknown.append({"pk": row["pk"], "sk": row.get("sk"), "field": role, "uuid": uuid,
                                "user_handle": row.get("user_handle") if role == "user_uuid" else None})
    if unknown:
        uuids = {u["uuid"] for u in unknown}
        return Check("group-row-users", FAIL,
                     f"{len(unknown)} group row field(s) name {len(uuids)} user uuid(s) that are not in users: "
                     "DynamoDB was seeded from another database" + scan.caveat(),
                     "reseed DynamoDB with this database's users: `cruddur ddb schema-load --recreate` then "
                     "`cruddur ddb seed --users-from db`", details=_capped(unknown))
    return Check("group-row-users", OK,
                 f"the users of all {len(scan.group_rows):,} group rows are in users" + scan.caveat())


# --- 9. duplicate conversations ----------------------------------------------------------------------------------------------
def check_duplicate_conversations(ctx: Context) -> Check:
    scan = ctx.scan()
    groups: dict[frozenset, set] = defaultdict(set)
    names: dict[str, str] = {}
    for row in scan.group_rows:
        owner, other = str(row["pk"])[len(GROUP_PREFIX):], row.get("user_uuid")
        names[str(other)] = row.get("user_handle") or str(other)
        if row.get("message_group_uuid"):
            groups[frozenset((owner, other))].add(row["message_group_uuid"])
    duplicates = [{"users": sorted(names.get(str(u), str(u)) for u in pair), "message_group_uuids": sorted(g)}
                  for pair, g in groups.items() if len(g) > 1]
    if duplicates:
        return Check("duplicate-conversations", WARN,
                     f"{len(duplicates)} pair(s) of users have more than one conversation: "
                     + ", ".join(" & ".join(d["users"]) + f" ({len(d['message_group_uuids'])})" for d in duplicates[:5])
                     + scan.caveat(),
                     "keep one conversation per pair: delete the others' messages (pk MSG#<uuid>) and group rows; "
                     "add messages with `cruddur ddb pattern create-message --group <uuid>`",
                     details=_capped(duplicates))
    return Check("duplicate-conversations", OK,
                 f"{len(groups):,} conversation(s), at most one per pair of users" + scan.caveat())


# --- 10. sessions ----------------------------------------------------------------------------------------------------------
def check_blocking_sessions(ctx: Context) -> Check:
    from cruddur_ops.pg import sessions

    conn = ctx.require_pg()
    name = conn.info.dbname
    others = sessions.list_sessions(conn)
    if others:
        described = ", ".join(f"pid {s['pid']} ({s['application'] or s['user']}, {s['state']})" for s in others[:5])
        return Check("blocking-sessions", WARN,
                     f"{len(others)} other session(s) on {name}: {described}; a plain DROP DATABASE fails while "
                     "they are connected",
                     "end them: `cruddur db kill-all` (`cruddur db drop` ends them itself)",
                     details=_capped(others), fixable=True)
    return Check("blocking-sessions", OK, f"no other sessions on {name}")


def fix_blocking_sessions(ctx: Context) -> str:
    from cruddur_ops.pg import sessions

    ctx.database().guard_write(prod=ctx.settings.prod, action="end sessions")
    result = sessions.end_sessions(ctx.require_pg())
    text = f"ended {len(result['ended'])} session(s)"
    if result["not_ended"]:
        text += f"; {len(result['not_ended'])} could not be ended (not allowed for this user)"
    return text


# --- running them ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckSpec:
    name: str
    title: str
    run: Callable[[Context], Check]
    fixer: Callable[[Context], str] | None = None


CHECKS = [
    CheckSpec("dynamodb-endpoint", "DynamoDB endpoint, region, credentials", check_dynamodb_endpoint),
    CheckSpec("dynamodb-table", "Table, keys, GSI, stream", check_dynamodb_table, fix_dynamodb_table),
    CheckSpec("postgres", "PostgreSQL and users table", check_postgres, fix_postgres),
    CheckSpec("seed-handles", "Seed file handles in users", check_seed_handles, fix_seed_handles),
    CheckSpec("cognito-user-ids", "Cognito user ids", check_cognito_user_ids),
    CheckSpec("message-timestamps", "Message timestamps (UTC, not future)", check_message_timestamps),
    CheckSpec("group-rows-current", "Group rows on the last message", check_group_rows_current, fix_group_rows_current),
    CheckSpec("group-row-users", "Group row users in users", check_group_row_users),
    CheckSpec("duplicate-conversations", "Duplicate conversations", check_duplicate_conversations),
    CheckSpec("blocking-sessions", "Sessions blocking db drop", check_blocking_sessions, fix_blocking_sessions),
]
NAMES = [spec.name for spec in CHECKS]


def run_checks(ctx: Context, names: list[str] | None = None) -> list[Check]:
    """Every check (or the named ones), in order; an engine error inside a check is that check's failure."""
    results = []
    for spec in CHECKS:
        if names and spec.name not in names:
            continue
        try:
            check = spec.run(ctx)
        except NotApplicable as exc:
            check = Check(spec.name, NA, str(exc))
        except Exception as exc:  # an engine error mid-check (botocore, psycopg, CruddurError)
            check = Check(spec.name, FAIL, f"the check itself failed: {type(exc).__name__}: {_short(exc)}",
                          "rerun with --debug")
        check.title = spec.title
        check.fixable = bool(check.fixable and spec.fixer and check.status in (WARN, FAIL))
        results.append(check)
    return results


def apply_fixes(ctx: Context, checks: list[Check], on_note: Callable[[str], None] | None = None) -> list[dict]:
    """Run the fixer of every fixable check; ``[{"name", "applied", "result"}]``. A refused fix does not stop the rest."""
    note = on_note or (lambda message: None)
    fixers = {spec.name: spec.fixer for spec in CHECKS if spec.fixer}
    done = []
    for check in checks:
        if not check.fixable:
            continue
        try:
            result, applied = fixers[check.name](ctx), True
        except Exception as exc:  # ProdGuardError, engine errors
            result, applied = _short(exc), False
        note(f"{check.name}: {result}" if applied else f"{check.name}: not fixed: {result}")
        done.append({"name": check.name, "applied": applied, "result": result})
    return done


def report(ctx: Context, checks: list[Check], fixes: list[dict] | None = None) -> dict:
    """The one document `cruddur doctor --output json` prints."""
    summary = {status: sum(1 for c in checks if c.status == status) for status in STATUSES}
    try:
        database = ctx.database().masked
    except CruddurError:
        database = None
    scan = ctx.scanned
    return {
        "ok": summary[FAIL] == 0,
        "summary": summary,
        "endpoint": ctx.settings.describe_endpoint("dynamodb"),
        "table": ctx.table,
        "database": database,
        "seed_file": str(ctx.seed_file()),
        "scan": {"items": len(scan.items), "max_items": scan.max_items, "truncated": scan.truncated} if scan else None,
        "checks": [c.to_dict() for c in checks],
        "fixes": fixes or [],
    }

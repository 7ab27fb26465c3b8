"""`cruddur local snapshot`: save the whole local stack under a name, and load it back exactly.

One archive per snapshot, ``<data_dir>/snapshots/NAME.tar``::

    manifest.json            name, created_at, the tables (definition, stream, TTL, items) and the database (rows)
    dynamodb/0000.jsonl.gz   one table's items, one DynamoDB-JSON item a line (binary values base64)
    postgres.dump            pg_dump -Fc of the PostgreSQL database in use

The stack is the DynamoDB endpoint of the settings (else the DynamoDB Local that `local up` started) and the
PostgreSQL that `local up` would use (its private cluster when it runs, else the server at ``CONNECTION_URL``).
Both must be loopback: snapshots are for local stacks, and a non-loopback endpoint or database is refused.

``load`` reads and checks the whole archive, and restores the database into a new database beside the one in
use, before it touches anything; then it swaps the databases (drop, rename) and replaces every DynamoDB table:
the tables that are there now are deleted, the snapshot's are created without their stream, filled with parallel
``batch_write_item``, and get their stream (and TTL) back as they were — a stream does not replay the load.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cruddur_ops.errors import CruddurError, EngineError, InputError, NotFoundError, ProdGuardError

if TYPE_CHECKING:
    from cruddur_ops.pg.database import Database

FORMAT = 1
FOLDER = "snapshots"
SUFFIX = ".tar"
MANIFEST = "manifest.json"
DUMP = "postgres.dump"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCAN_SEGMENTS = 4
WRITE_WORKERS = 16
BATCH = 25


def _noop(*args) -> None:
    pass


# --- where the snapshots are, and what they act on ---------------------------------------------------------------
def folder(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def check_name(name: str) -> str:
    if not _NAME_RE.match(name or "") or name.endswith(SUFFIX):
        raise InputError(f"snapshot name {name!r}: use letters, digits, '.', '_' and '-' (up to 64), e.g. before-demo")
    return name


def path_of(data_dir: Path, name: str) -> Path:
    return folder(data_dir) / f"{check_name(name)}{SUFFIX}"


@dataclass
class Stack:
    """The local engines a snapshot saves or loads; ``None`` where an engine is not there."""

    endpoint: str | None
    db: Database  # resolve() always names one
    pg_source: str | None = None  # "private cluster", "CONNECTION_URL", …
    skipped: list[str] = field(default_factory=list)  # why an engine is not part of it


def resolve(settings) -> Stack:
    """The stack in use, refusing anything that is not loopback (before any request)."""
    from cruddur_ops.local import dynamodb_local, postgres
    from cruddur_ops.pg.database import Database
    from cruddur_ops.settings import is_local_url

    if settings.prod:
        raise ProdGuardError("snapshots are for local stacks: --prod is refused")
    endpoint = settings.endpoint_for("dynamodb")
    skipped = []
    if endpoint:
        if not is_local_url(endpoint):
            raise ProdGuardError(f"refusing to snapshot {endpoint}: it is not a local endpoint (snapshots are for local stacks)")
    else:
        engine = dynamodb_local.running(settings.data_dir)
        endpoint = engine.endpoint if engine else None
        if endpoint is None:
            skipped.append("DynamoDB: no endpoint set and DynamoDB Local is not running (`cruddur local up`)")
    service = postgres.current(settings)
    db = Database.from_url(service.connect_url, service.source)  # a private cluster: with its passfile
    if not db.is_local:
        raise ProdGuardError(f"refusing to snapshot {db.masked}: {db.host} is not a local host (snapshots are for local stacks)")
    db.require_name()
    return Stack(endpoint, db, service.source, skipped)


def _pg_answers(db) -> str | None:
    """None when the database answers, else why not."""
    try:
        db.connect(autocommit=True).close()
    except CruddurError as exc:
        return str(exc)
    return None


# --- DynamoDB: definitions and items ------------------------------------------------------------------------------
def _client(endpoint: str, settings):
    import dataclasses

    return dataclasses.replace(settings, endpoint_url=endpoint).client("dynamodb", validate=False)


def definition(table: dict) -> dict:
    """The CreateTable request that makes ``table`` (a DescribeTable ``Table``) again, without its stream."""
    billing = (table.get("BillingModeSummary") or {}).get("BillingMode")
    throughput = table.get("ProvisionedThroughput") or {}
    provisioned = billing != "PAY_PER_REQUEST" and bool(throughput.get("ReadCapacityUnits"))

    def units(t: dict) -> dict:
        return {"ReadCapacityUnits": max(1, t.get("ReadCapacityUnits") or 1),
                "WriteCapacityUnits": max(1, t.get("WriteCapacityUnits") or 1)}

    request: dict = {"TableName": table["TableName"], "AttributeDefinitions": table["AttributeDefinitions"],
                     "KeySchema": table["KeySchema"], "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST"}
    if provisioned:
        request["ProvisionedThroughput"] = units(throughput)
    gsis = []
    for index in table.get("GlobalSecondaryIndexes") or []:
        gsi = {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
        if provisioned:
            gsi["ProvisionedThroughput"] = units(index.get("ProvisionedThroughput") or {})
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in table.get("LocalSecondaryIndexes") or []]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    return request


def _b64(value):
    """json's fallback for botocore's binary values (B, BS): base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not an attribute value")


def encode_item(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=_b64)


def _decode_av(av: dict) -> dict:
    (kind, value), = av.items()
    if kind == "B":
        return {"B": base64.b64decode(value)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) for v in value]}
    if kind == "M":
        return {"M": {k: _decode_av(v) for k, v in value.items()}}
    if kind == "L":
        return {"L": [_decode_av(v) for v in value]}
    return av


def _has_binary(text: str) -> bool:
    return '"B"' in text or '"BS"' in text


def decode_item(line: str) -> dict:
    item = json.loads(line)
    return {k: _decode_av(v) for k, v in item.items()} if _has_binary(line) else item


def scan_lines(client, table: str, segments: int = SCAN_SEGMENTS,
               on_progress: Callable[[int], None] = _noop) -> tuple[int, list[str]]:
    """Every item of ``table`` as DynamoDB-JSON lines, by a parallel scan: ``(items, chunks of lines)``.

    Each segment's thread encodes its own pages, so the encoding overlaps the engine's work on the others.
    """
    out: list[list[str]] = [[] for _ in range(segments)]
    counts = [0] * segments

    def segment(i: int) -> None:
        for page in client.get_paginator("scan").paginate(TableName=table, Segment=i, TotalSegments=segments):
            items = page.get("Items", [])
            out[i].append("".join(encode_item(item) + "\n" for item in items))
            counts[i] += len(items)
            on_progress(len(items))

    with ThreadPoolExecutor(segments, thread_name_prefix="snapshot-scan") as pool:
        for future in [pool.submit(segment, i) for i in range(segments)]:
            future.result()
    return sum(counts), [chunk for part in out for chunk in part]


def _send(client, table: str, batch: list[dict], on_progress: Callable[[int], None]) -> None:
    pending = [{"PutRequest": {"Item": item}} for item in batch]
    for attempt in range(12):
        try:
            response = client.batch_write_item(RequestItems={table: pending})
        except Exception as exc:  # botocore ClientError: throttled
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code not in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
                raise
            time.sleep(min(2.0, 0.05 * 2 ** attempt))
            continue
        left = (response.get("UnprocessedItems") or {}).get(table, [])
        on_progress(len(pending) - len(left))
        if not left:
            return
        pending = left
        time.sleep(min(2.0, 0.05 * 2 ** attempt))
    raise EngineError(f"DynamoDB kept refusing writes to {table}: {len(pending)} item(s) unwritten; load the snapshot again")


def write_items(client, table: str, items: list[dict], *, workers: int = WRITE_WORKERS,
                on_progress: Callable[[int], None] = _noop) -> None:
    """``batch_write_item`` 25 at a time, ``workers`` calls in flight."""
    with ThreadPoolExecutor(workers, thread_name_prefix="snapshot-write") as pool:
        in_flight: set = set()
        for start in range(0, len(items), BATCH):
            if len(in_flight) >= 2 * workers:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            in_flight.add(pool.submit(_send, client, table, items[start:start + BATCH], on_progress))
        for future in in_flight:
            future.result()


def _list_tables(client) -> list[str]:
    return [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]


def _ttl(client, table: str) -> str | None:
    try:
        desc = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    except Exception:  # an engine without TTL support
        return None
    return desc.get("AttributeName") if desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None


# --- results ------------------------------------------------------------------------------------------------------
@dataclass
class TableEntry:
    name: str
    items: int
    stream: str | None  # the StreamViewType, None without a stream
    ttl: str | None = None
    definition: dict = field(default_factory=dict)
    member: str = ""


@dataclass
class SnapshotInfo:
    """One snapshot: what ``list`` shows, and what ``save`` and ``load`` report."""

    name: str
    file: str
    created_at: str
    size_bytes: int
    tables: int
    items: int
    rows: int | None
    endpoint: str | None = None
    database: str | None = None
    url: str | None = None
    pg_source: str | None = None
    table_items: list[dict] = field(default_factory=list)  # [{"name", "items", "stream"}]
    table_rows: list[dict] = field(default_factory=list)  # [{"name", "rows"}]
    seconds: float | None = None
    dropped_tables: list[str] | None = None  # load: the tables that were there before

    def to_dict(self) -> dict:
        return asdict(self)


def _info(manifest: dict, path: Path) -> SnapshotInfo:
    ddb, pg = manifest.get("dynamodb"), manifest.get("postgres")
    tables = (ddb or {}).get("tables", [])
    rows = sum(t["rows"] for t in pg["tables"]) if pg else None
    return SnapshotInfo(
        manifest["name"], str(path), manifest["created_at"], path.stat().st_size, len(tables),
        sum(t["items"] for t in tables), rows, endpoint=(ddb or {}).get("endpoint"),
        database=(pg or {}).get("database"), url=(pg or {}).get("url"), pg_source=(pg or {}).get("source"),
        table_items=[{"name": t["name"], "items": t["items"], "stream": t["stream"]} for t in tables],
        table_rows=list((pg or {}).get("tables", [])))


# --- save -----------------------------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def save(settings, name: str, *, force: bool = False, on_note: Callable[[str], None] = _noop,
         on_progress: Callable[[int], None] = _noop) -> SnapshotInfo:
    """Write ``<data_dir>/snapshots/NAME.tar`` from the local stack; an existing one is replaced only with ``force``
    (and only once the new archive is complete)."""
    from cruddur_ops.pg import admin
    from cruddur_ops.pg import dump as pgdump

    started = time.perf_counter()
    stack = resolve(settings)
    target = path_of(settings.data_dir, name)
    if target.exists() and not force:
        raise InputError(f"snapshot {name!r} exists ({target}); pass --force to replace it, or `local snapshot rm {name}`")
    for why in stack.skipped:
        on_note(f"not in the snapshot: {why}")
    problem = _pg_answers(stack.db)
    if problem:
        on_note(f"not in the snapshot: PostgreSQL ({problem})")
    if stack.endpoint is None and problem:
        raise EngineError("nothing to snapshot: neither DynamoDB Local nor PostgreSQL answers; start them with `cruddur local up`")
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"format": FORMAT, "name": name, "created_at": _now(), "dynamodb": None, "postgres": None}
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}.") as tmp:
        work = Path(tmp)
        if stack.endpoint is not None:
            client = _client(stack.endpoint, settings)
            (work / "dynamodb").mkdir()
            tables = []
            for i, table_name in enumerate(_list_tables(client)):
                table = client.describe_table(TableName=table_name)["Table"]
                stream = table.get("StreamSpecification") or {}
                count, chunks = scan_lines(client, table_name, on_progress=on_progress)
                member: str | Path  # a Path in the archive loop below
                member = f"dynamodb/{i:04d}.jsonl.gz"
                with gzip.open(work / member, "wt", encoding="utf-8", compresslevel=1) as fh:
                    for chunk in chunks:
                        fh.write(chunk)
                tables.append(TableEntry(table_name, count, stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
                                         _ttl(client, table_name), definition(table), member))
                on_note(f"saved {table_name}: {count} item(s)")
            manifest["dynamodb"] = {"endpoint": stack.endpoint, "tables": [asdict(t) for t in tables]}
        if not problem:
            db = stack.db
            tool = pgdump.dump_database(db, work / DUMP, settings.child_env())
            status = admin.status(db)
            manifest["postgres"] = {"url": db.masked, "database": db.name, "source": stack.pg_source,
                                    "server_version": status["server_version"], "pg_dump": tool.path,
                                    "tables": status["tables"]}
            on_note(f"saved PostgreSQL {db.masked}: {sum(t['rows'] for t in status['tables'])} row(s) "
                    f"in {len(status['tables'])} table(s)")
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        partial = work / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            tar.add(work / MANIFEST, MANIFEST)  # first, so `list` reads it without walking the archive
            for member in sorted(p for p in work.rglob("*") if p.is_file() and p.name not in (MANIFEST, "archive.tar")):
                tar.add(member, str(member.relative_to(work)))
        partial.replace(target)
    info = _info(manifest, target)
    info.seconds = round(time.perf_counter() - started, 3)
    return info


# --- reading archives ---------------------------------------------------------------------------------------------
def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path) as tar:
            member = tar.next()
            if member is None or member.name != MANIFEST:
                member = tar.getmember(MANIFEST)
            stream = tar.extractfile(member)
            if stream is None:
                raise ValueError(f"{MANIFEST} is not a regular file")
            manifest = json.load(stream)
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise InputError(f"not a cruddur snapshot: {exc}", path=path) from None
    if manifest.get("format") != FORMAT:
        raise InputError(f"snapshot format {manifest.get('format')!r} is not {FORMAT}", path=path)
    return manifest


def list_snapshots(data_dir: Path) -> list[SnapshotInfo]:
    """Every snapshot in the data dir, oldest first; an unreadable archive is skipped."""
    out = []
    where = folder(data_dir)
    for path in sorted(where.glob(f"*{SUFFIX}")) if where.is_dir() else []:
        try:
            out.append(_info(read_manifest(path), path))
        except InputError:
            continue
    return sorted(out, key=lambda s: s.created_at)


def remove(data_dir: Path, name: str) -> SnapshotInfo:
    path = path_of(data_dir, name)
    if not path.exists():
        raise NotFoundError(f"no snapshot {name!r} in {folder(data_dir)} (see `cruddur local snapshot list`)")
    try:
        info = _info(read_manifest(path), path)
    except InputError:
        info = SnapshotInfo(name, str(path), "", path.stat().st_size, 0, 0, None)
    path.unlink()
    return info


def _read_tables(tar: tarfile.TarFile, manifest: dict, path: Path) -> list[tuple[dict, list[dict]]]:
    """Each table's entry and items, all read and checked (counts match) before anything is written."""
    out = []
    for entry in (manifest.get("dynamodb") or {}).get("tables", []):
        try:
            raw = tar.extractfile(entry["member"]).read()  # type: ignore[union-attr]  # None: AttributeError, caught below
            lines = gzip.decompress(raw).decode("utf-8").splitlines()
            items = [decode_item(line) for line in lines if line]
        except (KeyError, AttributeError, OSError, EOFError, ValueError) as exc:
            raise InputError(f"table {entry.get('name')}: its items cannot be read ({exc})", path=path) from None
        if len(items) != entry["items"]:
            raise InputError(f"table {entry['name']}: {len(items)} item(s) in the archive, the manifest says {entry['items']}",
                             path=path)
        out.append((entry, items))
    return out


# --- load -----------------------------------------------------------------------------------------------------
def _restore_postgres(db, dump: Path, env, on_note: Callable[[str], None]) -> None:
    """Restore into a new database beside the one in use; only when that worked, drop the old one and rename."""
    from psycopg import sql

    from cruddur_ops.pg import dump as pgdump
    from cruddur_ops.pg.database import Database, to_url

    name = db.require_name()
    if name in ("postgres", "template0", "template1"):
        raise InputError(f"refusing to replace '{name}': it is one of the server's own databases; point CONNECTION_URL "
                         "at the app's database")
    scratch = f"{name[:40]}__snapshot_{secrets.token_hex(4)}"
    with db.connect_maintenance() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch)))
    try:
        pgdump.restore_database(Database.from_url(to_url({**db.params, "dbname": scratch}), db.source), dump, env)
    except BaseException:
        with db.connect_maintenance() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
        raise
    with db.connect_maintenance() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(scratch), sql.Identifier(name)))
    on_note(f"restored PostgreSQL {db.masked}")


def _replace_tables(client, tables: list[tuple[dict, list[dict]]], on_note, on_progress) -> list[str]:
    """Delete every table there is, create the snapshot's, fill them, then give them back stream and TTL."""
    before = _list_tables(client)
    for name in before:
        try:
            if client.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
                client.update_table(TableName=name, DeletionProtectionEnabled=False)
        except Exception:  # an engine without deletion protection
            pass
        client.delete_table(TableName=name)
    for name in before:
        client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    for entry, _ in tables:
        client.create_table(**entry["definition"])
    for entry, _ in tables:
        client.get_waiter("table_exists").wait(TableName=entry["name"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    for entry, items in tables:
        write_items(client, entry["name"], items, on_progress=on_progress)
        if entry.get("stream"):
            client.update_table(TableName=entry["name"],
                                StreamSpecification={"StreamEnabled": True, "StreamViewType": entry["stream"]})
        if entry.get("ttl"):
            try:
                client.update_time_to_live(TableName=entry["name"],
                                           TimeToLiveSpecification={"Enabled": True, "AttributeName": entry["ttl"]})
            except Exception as exc:  # botocore: an engine without TTL
                on_note(f"{entry['name']}: TTL on {entry['ttl']} not restored ({exc})")
        on_note(f"loaded {entry['name']}: {len(items)} item(s)" + (f", stream {entry['stream']}" if entry.get("stream") else ""))
    return before


def plan_load(settings, name: str) -> tuple[SnapshotInfo, Stack]:
    """What ``load`` would replace (for the question asked first): the snapshot and the stack it lands on."""
    stack = resolve(settings)
    path = path_of(settings.data_dir, name)
    if not path.exists():
        raise NotFoundError(f"no snapshot {name!r} in {folder(settings.data_dir)} (see `cruddur local snapshot list`)")
    return _info(read_manifest(path), path), stack


def load(settings, name: str, *, on_note: Callable[[str], None] = _noop,
         on_progress: Callable[[int], None] = _noop) -> SnapshotInfo:
    """Replace the local stack's data with the snapshot's, exactly (see the module docstring for the order)."""
    started = time.perf_counter()
    stack = resolve(settings)
    path = path_of(settings.data_dir, name)
    if not path.exists():
        raise NotFoundError(f"no snapshot {name!r} in {folder(settings.data_dir)} (see `cruddur local snapshot list`)")
    manifest = read_manifest(path)
    if manifest.get("dynamodb") is not None and stack.endpoint is None:
        raise EngineError("the snapshot holds DynamoDB tables, but DynamoDB Local is not running: `cruddur local up`")
    if manifest.get("postgres") is not None:
        problem = _pg_answers_server(stack.db)
        if problem:
            raise EngineError(f"the snapshot holds a PostgreSQL database, but {problem}")
    with tarfile.open(path) as tar, tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{name}.load.") as tmp:
        tables = _read_tables(tar, manifest, path)
        dump = None
        if manifest.get("postgres") is not None:
            try:
                member = tar.getmember(DUMP)
            except KeyError:
                raise InputError(f"the manifest names a PostgreSQL database but {DUMP} is missing", path=path) from None
            source = tar.extractfile(member)
            if source is None:
                raise InputError(f"{DUMP} in the snapshot is not a regular file", path=path)
            dump = Path(tmp) / DUMP
            with source as src, dump.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        if dump is not None:
            _restore_postgres(stack.db, dump, settings.child_env(), on_note)
    info = _info(manifest, path)
    if tables or manifest.get("dynamodb") is not None:
        assert stack.endpoint is not None  # checked above when the snapshot holds DynamoDB tables
        client = _client(stack.endpoint, settings)
        info.dropped_tables = _replace_tables(client, tables, on_note, on_progress)
    info.endpoint = stack.endpoint if manifest.get("dynamodb") is not None else None
    if manifest.get("postgres") is not None:
        info.url, info.database, info.pg_source = stack.db.masked, stack.db.name, stack.pg_source
    info.seconds = round(time.perf_counter() - started, 3)
    return info


def _pg_answers_server(db) -> str | None:
    """None when the server answers (the database itself may be missing: load creates it)."""
    try:
        db.connect_maintenance().close()
    except CruddurError as exc:
        return str(exc)
    return None

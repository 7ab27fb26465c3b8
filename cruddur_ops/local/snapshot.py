"""`cruddur local snapshot`: save the whole local stack under a name, and load it back exactly.

One archive per snapshot, ``<data_dir>/snapshots/NAME.tar``::

    manifest.json            name, created_at, the tables (definition, stream, TTL, items) and the database (rows)
    dynamodb/0000.jsonl.gz   one table's items, one ``{"Item": {…}}`` a line: DynamoDB JSON as ``ddb export --format
                             dynamodb-json`` writes it (ddb/typed.py; format 1 archives: the bare item)
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

import gzip
import json
import re
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cruddur_ops.errors import CruddurError, EngineError, InputError, NotFoundError, ProdGuardError

if TYPE_CHECKING:
    from cruddur_ops.pg.database import Database

FORMAT = 2  # 1: items as bare DynamoDB JSON lines; 2: as {"Item": …} lines (`ddb export --format dynamodb-json`)
FORMATS = (1, 2)  # what load reads
FOLDER = "snapshots"
SUFFIX = ".tar"
MANIFEST = "manifest.json"
DUMP = "postgres.dump"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCAN_SEGMENTS = 4
WRITE_WORKERS = 16


def _noop(*args) -> None:
    pass


# --- where the snapshots are, and what they act on ---------------------------------------------------------------
def folder(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def private_folder(data_dir: Path, *, create: bool = True) -> Path:
    """``<data_dir>/snapshots`` after ``local up``'s checks of the data dir (this user's, no one else may write;
    tightened to 0700) and of the folder itself (made 0700)."""
    from cruddur_ops.local import _proc

    if not create and not Path(data_dir).is_dir():
        return folder(data_dir)
    _proc.private_dir(Path(data_dir), create=create)
    where = folder(data_dir)
    if not create and not where.exists():
        return where
    return _proc.private_dir(where, create=create, what="snapshot folder")


KEY_FILE = "snapshot.key"
SIGNATURE = "signature"
MAX_LINE = 4 << 20  # an item is at most 400 KB; its DynamoDB JSON (base64 binaries) stays well under this
MAX_RATIO = 50  # decompressed/compressed: DynamoDB JSON at level 1 compresses 4-10×; a bomb, 1000×
MIN_BUDGET = 1 << 20  # a small member may expand more than MAX_RATIO: this much is allowed whatever the ratio


def _key(data_dir: Path, *, create: bool) -> bytes | None:
    """The data dir's signing key (``snapshot.key``, 32 random bytes as hex, 0600, this user's): made on the
    first save. None when there is none (or it is not a private regular file of this user)."""
    import os

    from cruddur_ops.io.files import create_new
    from cruddur_ops.local import _proc

    path = Path(data_dir) / KEY_FILE
    if not os.path.lexists(path):
        if not create:
            return None
        key = secrets.token_hex(32)
        with os.fdopen(create_new(path, 0o600), "w") as out:
            out.write(key + "\n")
        return bytes.fromhex(key)
    text = _proc.read_own(path, secret=True)
    try:
        return bytes.fromhex(text.strip()) if text is not None else None
    except ValueError:
        return None


def _sign(key: bytes, manifest: bytes) -> str:
    import hmac

    return hmac.new(key, manifest, "sha256").hexdigest()


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    db = Database.from_url(service.connect_url, service.source, settings.libpq_env)  # a private cluster: its passfile
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


def item_of(line: bytes, fmt: int = FORMAT) -> dict:
    """One archive line -> the client's typed item, checked (ddb/typed.py's DynamoDB JSON reader). Format 1
    archives hold the bare item (``{"pk": {"S": …}}``), later ones ``{"Item": {…}}``."""
    from cruddur_ops.ddb.typed import from_dynamodb_json, loads

    doc = loads(line.decode("utf-8"))
    return from_dynamodb_json({"Item": doc} if fmt == 1 and isinstance(doc, dict) else doc)


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


BUSY = ".busy.lock"


@contextmanager
def exclusive(data_dir: Path, *, required: bool = True) -> Iterator[bool]:
    """Hold the snapshot folder's lock (``snapshots/.busy.lock``, flock) for a save, a load or a clean-up: what
    one of them is doing (its work folder, journal, scratch databases and tables) is never taken for what a killed
    one left. Yields False when another holds it and not ``required``; EngineError when ``required``."""
    import fcntl
    import os

    where = private_folder(data_dir)
    fd = os.open(where / BUSY, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if required:
                raise EngineError(f"another `cruddur local snapshot save` or `load` is running on {data_dir}; "
                                  "wait for it to finish") from None
            yield False
            return
        yield True
    finally:
        os.close(fd)


def save(settings, name: str, **kw) -> SnapshotInfo:
    """Write ``<data_dir>/snapshots/NAME.tar`` from the local stack (see :func:`_save`), one save or load at a time."""
    check_name(name)
    with exclusive(settings.data_dir):
        return _save(settings, name, **kw)


def _save(settings, name: str, *, force: bool = False, on_note: Callable[[str], None] = _noop,
         on_progress: Callable[[int], None] = _noop) -> SnapshotInfo:
    """Write ``<data_dir>/snapshots/NAME.tar`` from the local stack; an existing one is replaced only with ``force``
    (and only once the new archive is complete)."""
    from cruddur_ops.ddb.tables import table_names
    from cruddur_ops.ddb.transfer import create_request_from, export_table, stream_view, ttl_attribute
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
    private_folder(settings.data_dir)
    clean_leftovers(settings.data_dir)
    key = _key(settings.data_dir, create=True)
    assert key is not None
    manifest: dict = {"format": FORMAT, "name": name, "created_at": _now(), "dynamodb": None, "postgres": None}
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}.") as tmp:
        work = Path(tmp)
        if stack.endpoint is not None:
            client = _client(stack.endpoint, settings)
            (work / "dynamodb").mkdir()
            tables = []
            for i, table_name in enumerate(table_names(client)):
                table = client.describe_table(TableName=table_name)["Table"]
                member: str | Path  # a Path in the archive loop below
                member = f"dynamodb/{i:04d}.jsonl.gz"
                with gzip.open(work / member, "wt", encoding="utf-8", compresslevel=1) as fh:
                    count = export_table(client, table_name, fh, "dynamodb-json", segments=SCAN_SEGMENTS,
                                         on_progress=on_progress).items
                tables.append(TableEntry(table_name, count, stream_view(table), ttl_attribute(client, table_name),
                                         create_request_from(table, table_name, stream=False), member))
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
        members = sorted(p for p in work.rglob("*") if p.is_file())
        manifest["members"] = {str(p.relative_to(work)): _sha256(p) for p in members}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        (work / SIGNATURE).write_text(_sign(key, (work / MANIFEST).read_bytes()))
        from cruddur_ops.io.files import atomic_write

        with atomic_write(target, "wb", perm=0o600) as out, tarfile.open(fileobj=out, mode="w") as tar:
            tar.add(work / MANIFEST, MANIFEST)  # first, so `list` reads it without walking the archive
            tar.add(work / SIGNATURE, SIGNATURE)
            for member in members:
                tar.add(member, str(member.relative_to(work)))
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
    if manifest.get("format") not in FORMATS:
        raise InputError(f"snapshot format {manifest.get('format')!r} is not one of {', '.join(map(str, FORMATS))}",
                         path=path)
    return manifest


def list_snapshots(data_dir: Path) -> list[SnapshotInfo]:
    """Every snapshot in the data dir, oldest first; an unreadable archive is skipped."""
    out = []
    where = private_folder(data_dir, create=False)
    for path in sorted(where.glob(f"*{SUFFIX}")) if where.is_dir() else []:
        try:
            out.append(_info(read_manifest(path), path))
        except InputError:
            continue
    return sorted(out, key=lambda s: s.created_at)


def remove(data_dir: Path, name: str) -> SnapshotInfo:
    private_folder(data_dir, create=False)
    path = path_of(data_dir, name)
    if not path.exists():
        raise NotFoundError(f"no snapshot {name!r} in {folder(data_dir)} (see `cruddur local snapshot list`)")
    try:
        info = _info(read_manifest(path), path)
    except InputError:
        info = SnapshotInfo(name, str(path), "", path.stat().st_size, 0, 0, None)
    path.unlink()
    return info


def _signed_hashes(tar: tarfile.TarFile, data_dir: Path) -> dict | None:
    """The members' SHA-256 when the archive is signed with this data dir's key (saved here), else None."""
    import hmac

    key = _key(data_dir, create=False)
    if key is None:
        return None
    try:
        sig = tar.extractfile(SIGNATURE).read(200).decode("ascii").strip()  # type: ignore[union-attr]
        raw = tar.extractfile(MANIFEST).read(16 << 20)  # type: ignore[union-attr]
    except (KeyError, AttributeError, UnicodeDecodeError, tarfile.TarError, OSError):
        return None
    if not hmac.compare_digest(_sign(key, raw), sig):
        return None
    try:
        members = json.loads(raw).get("members")
    except ValueError:
        return None
    return members if isinstance(members, dict) else None


def _check_member(tar: tarfile.TarFile, name: str, hashes: dict | None, path: Path) -> None:
    """A signed archive's member must be what was saved (a changed one is damaged, or someone's)."""
    import hashlib

    if hashes is None:
        return
    source = tar.extractfile(name)
    if source is None or hashes.get(name) is None:
        raise InputError(f"{name} is not part of what this data dir signed", path=path)
    digest = hashlib.sha256()
    for block in iter(lambda: source.read(1 << 20), b""):
        digest.update(block)
    if digest.hexdigest() != hashes[name]:
        raise InputError(f"{name} differs from what was saved (the archive is damaged or was changed)", path=path)


class _SmallReads:
    """A file whose reads return at most 16 kB, counting them: the ratio is judged as the stream goes."""

    def __init__(self, raw):
        self.raw, self.consumed = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(16384 if size is None or size < 0 else min(size, 16384))
        self.consumed += len(data)
        return data


def _check_ratio(raw, name: str, member: str, size: int, path: Path) -> None:
    """Decompress the member once without parsing (zlib, in C), 4 kB of input at a time: refused as soon as what
    came out is more than MAX_RATIO times what went in (after the first MB) — before any line is parsed."""
    import zlib

    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    consumed = produced = 0
    while True:
        data = raw.read(4096)
        if not data:
            return
        consumed += len(data)
        while data:
            produced += len(inflate.decompress(data, 1 << 22))
            while inflate.unconsumed_tail:
                produced += len(inflate.decompress(inflate.unconsumed_tail, 1 << 22))
                if produced > MIN_BUDGET + MAX_RATIO * consumed:
                    break
            if produced > MIN_BUDGET + MAX_RATIO * consumed:
                raise InputError(f"table {name}: {member} expands more than {MAX_RATIO}× its {size:,} bytes; "
                                 "refusing it (a decompression bomb?)", path=path)
            data = inflate.unused_data  # the next gzip member of a multi-member stream
            if data:
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)


def _lines(tar: tarfile.TarFile, entry: dict, path: Path):
    """``(line number, bytes)`` of a table's member, decompressed as a stream: a line over MAX_LINE or a member
    that expands more than MAX_RATIO times is refused (a decompression bomb costs neither time nor memory)."""
    import zlib

    name = entry.get("name")
    try:
        member = tar.getmember(entry["member"])
        raw = tar.extractfile(member)
        if raw is None:
            raise InputError(f"table {name}: {entry['member']} is not a regular file", path=path)
        _check_ratio(raw, str(name), entry["member"], member.size, path)
        raw = tar.extractfile(member)
        total = number = 0
        small = _SmallReads(raw)
        with gzip.GzipFile(fileobj=small) as gz:  # type: ignore[call-overload]
            while True:
                line = gz.readline(MAX_LINE + 1)
                if not line:
                    return
                number += 1
                total += len(line)
                if total > MIN_BUDGET + MAX_RATIO * small.consumed:  # the ratio so far, not only at the end
                    raise InputError(f"table {name}: {entry['member']} expands more than {MAX_RATIO}× its "
                                     f"{member.size:,} bytes; refusing it (a decompression bomb?)", path=path)
                if len(line) > MAX_LINE:
                    raise InputError(f"table {name}: line {number} is longer than {MAX_LINE:,} bytes", path=path)
                if line.strip():
                    yield number, line
    except (KeyError, TypeError, OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise InputError(f"table {name}: its items cannot be read ({type(exc).__name__}: {exc})", path=path) from None


def _decoded(tar: tarfile.TarFile, entry: dict, path: Path, fmt: int = FORMAT):
    """The table's items, each checked: DynamoDB JSON (ddb/typed.py's reader, see :func:`item_of`) with the
    table's keys, typed as its definition says (ddb/transfer.py's check_item)."""
    from cruddur_ops.ddb.query import TableKeys, _key
    from cruddur_ops.ddb.transfer import check_item
    from cruddur_ops.ddb.typed import TypeMappingError

    definition = entry.get("definition") or {}
    name = str(entry.get("name"))
    if not isinstance(definition, dict) or definition.get("TableName") != name:
        raise InputError(f"table {name}: its definition names {definition.get('TableName')!r}, not {name!r}"
                         if isinstance(definition, dict) else f"table {name}: its definition is not an object", path=path)
    try:
        types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
        indexes = {i["IndexName"]: _key(i["KeySchema"], types)
                   for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in definition.get(group) or []}
        keys = TableKeys(name, _key(definition["KeySchema"], types), indexes, types, definition)
    except (KeyError, TypeError, StopIteration):
        raise InputError(f"table {name}: its definition has no valid KeySchema/AttributeDefinitions", path=path) from None
    member = Path(str(entry.get("member")))
    for number, line in _lines(tar, entry, path):
        try:
            item = item_of(line, fmt)
        except TypeMappingError as exc:  # a value that is not one typed attribute: its field and why
            raise InputError(f"table {name}: not an item ({str(exc)[:200]})", path=member, line=number) from None
        except (ValueError, RecursionError) as exc:  # JSON, UTF-8
            raise InputError(f"table {name}: not an item ({type(exc).__name__})", path=member, line=number) from None
        check_item(item, keys, member, number)
        yield item


def _check_tables(tar: tarfile.TarFile, manifest: dict, path: Path, hashes: dict | None) -> list[dict]:
    """Every table's items read and checked (counts match the manifest) before anything is written; nothing is
    kept in memory: ``load`` reads them again to write them."""
    entries = list((manifest.get("dynamodb") or {}).get("tables", []))
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("items"), int):
            raise InputError("a table entry of the manifest is not an object with an item count", path=path)
        _check_member(tar, str(entry.get("member")), hashes, path)
        count = sum(1 for _ in _decoded(tar, entry, path, manifest["format"]))
        if count != entry["items"]:
            raise InputError(f"table {entry['name']}: {count} item(s) in the archive, the manifest says {entry['items']}",
                             path=path)
    return entries


# --- load -----------------------------------------------------------------------------------------------------
# what a foreign dump may hold without --trust-code: tables and their data, keys, indexes, sequences, comments
_DATA_ONLY = frozenset(("ENCODING", "STDSTRINGS", "SEARCHPATH", "SCHEMA", "TABLE", "TABLE DATA", "SEQUENCE",
                        "SEQUENCE SET", "SEQUENCE OWNED BY", "DEFAULT", "CONSTRAINT", "FK CONSTRAINT",
                        "CHECK CONSTRAINT", "INDEX", "COMMENT", "DATABASE PROPERTIES"))
_TOC_RE = re.compile(r"^\d+; \d+ \d+ (?P<kind>[A-Z][A-Z ]*?) (?P<rest>.*)$")
SCRATCH_DB = "__snapshot_"
RESTORE_ROLE = "cruddur_restore_"


def code_in_dump(dump: Path, env) -> list[str]:
    """The dump's entries that are code or run code (functions, views, materialized views, triggers, rules,
    languages, extensions, …): everything ``pg_restore -l`` lists beyond tables, their data, keys and indexes."""
    import subprocess

    from cruddur_ops.pg import dump as pgdump

    tool = pgdump.find_tool("pg_restore", 0, env)  # -l reads any archive its version wrote
    done = subprocess.run([tool.path, "-l", str(dump)], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={k: v for k, v in env.items() if not k.startswith("PG")}, timeout=120)
    if done.returncode != 0:
        raise InputError(f"{DUMP}: pg_restore cannot read it: {done.stderr.strip()[-300:]}")
    found = []
    for line in done.stdout.splitlines():
        if not line or line.startswith(";"):
            continue
        match = _TOC_RE.match(line)
        kind = match["kind"].strip() if match else line[:40]
        if kind in ("TABLE", "COMMENT") and match and match["rest"].startswith(("-", "EXTENSION")):
            continue
        if kind not in _DATA_ONLY:
            found.append(f"{kind} {match['rest'].rsplit(' ', 1)[0] if match else ''}".strip())
    return found


def _restore_postgres(db, dump: Path, env, on_note: Callable[[str], None]) -> list[dict]:
    """Restore into a new database beside the one in use, as a new role that is not a superuser and may neither
    run programs nor read files (made for this restore, dropped after it); only when that worked, hand the
    objects to the server's own user, drop the old database and rename the new one. Returns the rows restored,
    counted in the new database."""
    from psycopg import sql

    from cruddur_ops.pg import admin
    from cruddur_ops.pg import dump as pgdump
    from cruddur_ops.pg.database import Database, remember_secret, to_url

    name = db.require_name()
    if name in ("postgres", "template0", "template1"):
        raise InputError(f"refusing to replace '{name}': it is one of the server's own databases; point CONNECTION_URL "
                         "at the app's database")
    token = secrets.token_hex(4)
    scratch, role, password = f"{name[:40]}{SCRATCH_DB}{token}", f"{RESTORE_ROLE}{token}", secrets.token_urlsafe(24)
    remember_secret(password)
    with db.connect_maintenance() as conn:
        verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                             "PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(sql.Identifier(scratch),
                                                                                       sql.Identifier(role)))
    params = {k: v for k, v in db.params.items() if k not in ("passfile", "require_auth")}
    target = Database.from_url(to_url({**params, "dbname": scratch, "user": role, "password": password}), db.source)
    try:
        pgdump.restore_database(target, dump, env)
        with db.connect(dbname=scratch, autocommit=True) as conn:
            me = conn.execute("SELECT current_user").fetchone()[0]
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(sql.Identifier(role), sql.Identifier(me)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        rows = admin.status(Database.from_url(to_url({**db.params, "dbname": scratch}), db.source))["tables"]
    except BaseException:
        with db.connect_maintenance() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        raise
    with db.connect_maintenance() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(scratch), sql.Identifier(name)))
    on_note(f"restored PostgreSQL {db.masked}")
    return [{"name": t["name"], "rows": t["rows"]} for t in rows]


def clean_leftovers(data_dir: Path, db=None) -> list[str]:
    """What an interrupted (``kill -9``) load or save left: ``.NAME.load.*`` / ``.NAME.*`` work folders in the
    snapshot folder, scratch databases ``*__snapshot_*`` and restore roles ``cruddur_restore_*``. Returns what
    was removed; a server that does not answer is left alone."""
    removed = []
    where = folder(data_dir)
    if where.is_dir() and not where.is_symlink():
        for entry in where.iterdir():
            if entry.name.startswith(".") and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(str(entry))
            elif entry.name.startswith(".") and entry.name.endswith(".partial") and not entry.is_symlink():
                entry.unlink(missing_ok=True)
                removed.append(str(entry))
    if db is not None:
        from psycopg import sql

        try:
            with db.connect_maintenance() as conn:
                names = [r[0] for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"%{SCRATCH_DB}%"]).fetchall()]
                for scratch in names:
                    if re.fullmatch(rf".+{SCRATCH_DB}[0-9a-f]{{8}}", scratch):
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
                        removed.append(f"database {scratch}")
                for (role,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                            [f"{RESTORE_ROLE}%"]).fetchall():
                    if re.fullmatch(rf"{RESTORE_ROLE}[0-9a-f]{{8}}", role):
                        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
                        removed.append(f"role {role}")
        except CruddurError:
            pass
    return removed


SCRATCH_TABLE = "cruddur.load."  # scratch tables: cruddur.load.<hex>.new.<i> (the snapshot's), .old.<i> (backups)
JOURNAL = ".load-journal-"


def _wait(client, names: list[str], waiter: str) -> None:
    for name in names:
        client.get_waiter(waiter).wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


def _drop(client, names: list[str]) -> None:
    gone = []
    for name in names:
        try:
            if client.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
                client.update_table(TableName=name, DeletionProtectionEnabled=False)
        except Exception:  # not there, or an engine without deletion protection
            pass
        try:
            client.delete_table(TableName=name)
            gone.append(name)
        except client.exceptions.ResourceNotFoundException:
            pass
    _wait(client, gone, "table_not_exists")


def _fill(client, table: str, keys: list[str], items, on_progress=_noop) -> int:
    """Write ``items`` (typed) into ``table`` through ddb/batch.py's engine; returns the items the table holds."""
    from cruddur_ops.ddb.batch import BatchWriter
    from cruddur_ops.ddb.scan import count_items

    writer = BatchWriter(client, table, workers=WRITE_WORKERS, capacity=False, key_names=keys, on_progress=on_progress)
    writer.write({"PutRequest": {"Item": item}} for item in items)
    return count_items(client, table)


def _items_of(client, table: str):
    from cruddur_ops.ddb.scan import iter_pages

    for page in iter_pages(client, table, segments=SCAN_SEGMENTS):
        yield from page


def _copy(client, source: str, target: dict, want: int, on_progress=_noop) -> None:
    """Create ``target`` (a CreateTable request) and copy ``source``'s items into it; EngineError unless it then
    holds ``want`` items."""
    client.create_table(**target)
    _wait(client, [target["TableName"]], "table_exists")
    keys = [k["AttributeName"] for k in target["KeySchema"]]
    got = _fill(client, target["TableName"], keys, _items_of(client, source), on_progress)
    if got != want:
        raise EngineError(f"{target['TableName']}: {got} item(s) after the copy, {want} expected")


def _finish(client, entry: dict, on_note) -> None:
    """Give a table its stream and TTL back."""
    if entry.get("stream"):
        client.update_table(TableName=entry["name"],
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": entry["stream"]})
    if entry.get("ttl"):
        try:
            client.update_time_to_live(TableName=entry["name"],
                                       TimeToLiveSpecification={"Enabled": True, "AttributeName": entry["ttl"]})
        except Exception as exc:  # botocore: an engine without TTL
            on_note(f"{entry['name']}: TTL on {entry['ttl']} not restored ({exc})")


def _journal_write(path: Path, doc: dict) -> None:
    from cruddur_ops.io.files import write_text

    write_text(path, json.dumps(doc), perm=0o600)


def roll_back(client, journal: Path, on_note=_noop) -> None:
    """Put back the tables an interrupted load had begun to replace (from the backups its journal names), then
    drop its scratch tables and the journal."""
    doc = json.loads(journal.read_text())
    if doc.get("phase") == "swap":
        _drop(client, [e["name"] for e in doc["new"]] + [e["name"] for e in doc["old"]])
        for entry in doc["old"]:
            _copy(client, entry["backup"], entry["definition"], entry["items"])
            _finish(client, entry, on_note)
        on_note(f"put back {len(doc['old'])} table(s) an interrupted `snapshot load` had begun to replace")
    _drop(client, [e["scratch"] for e in doc["new"]] + [e["backup"] for e in doc["old"]])
    journal.unlink(missing_ok=True)


def clean_tables(client, data_dir: Path, on_note=_noop) -> None:
    """What a killed load left in DynamoDB: roll back by its journal, drop stray scratch tables."""
    from cruddur_ops.ddb.tables import table_names

    where = folder(data_dir)
    for journal in sorted(where.glob(f"{JOURNAL}*.json")) if where.is_dir() else []:
        if not journal.is_symlink():
            roll_back(client, journal, on_note)
    stray = [n for n in table_names(client) if n.startswith(SCRATCH_TABLE)]
    if stray:
        _drop(client, stray)
        on_note(f"dropped {len(stray)} scratch table(s) an interrupted `snapshot load` left")


def _replace_tables(client, tar: tarfile.TarFile, entries: list[dict], path: Path, on_note,
                    on_progress, fmt: int = FORMAT) -> tuple[list[str], list[dict]]:
    """Replace every table with the snapshot's, all or nothing (DynamoDB has no rename):

    1. the snapshot's tables are loaded into scratch tables and counted; a failure drops them, nothing else moved;
    2. every existing table is copied into a backup scratch table and counted;
    3. a journal (``snapshots/.load-journal-<hex>.json``) names them; the tables are replaced from the scratch
       copies; any failure — or, after a kill, the next load or ``local status`` — puts the old ones back;
    4. the scratch tables, backups and journal are dropped.
    """
    from cruddur_ops.ddb.scan import count_items
    from cruddur_ops.ddb.tables import table_names
    from cruddur_ops.ddb.transfer import create_request_from, stream_view, ttl_attribute

    token = secrets.token_hex(4)
    journal = path.parent / f"{JOURNAL}{token}.json"
    before = [n for n in table_names(client) if not n.startswith(SCRATCH_TABLE)]
    new = [{**{k: entry[k] for k in ("name", "items", "stream", "ttl")}, "scratch": f"{SCRATCH_TABLE}{token}.new.{i}",
            "definition": entry["definition"]} for i, entry in enumerate(entries)]
    old: list[dict[str, Any]] = []
    doc: dict[str, Any] = {"phase": "stage", "new": new, "old": old}
    _journal_write(journal, doc)
    try:
        for entry, staged in zip(entries, new, strict=True):
            client.create_table(**{**entry["definition"], "TableName": staged["scratch"]})
            _wait(client, [staged["scratch"]], "table_exists")
            keys = [k["AttributeName"] for k in entry["definition"]["KeySchema"]]
            got = _fill(client, staged["scratch"], keys, _decoded(tar, entry, path, fmt), on_progress)
            if got != entry["items"]:
                raise EngineError(f"{entry['name']}: {got} item(s) loaded, the snapshot holds {entry['items']}")
        for i, name in enumerate(before):
            table = client.describe_table(TableName=name)["Table"]
            saved: dict[str, Any] = {"name": name, "backup": f"{SCRATCH_TABLE}{token}.old.{i}",
                                     "definition": create_request_from(table, name, stream=False),
                                     "items": count_items(client, name), "ttl": ttl_attribute(client, name),
                                     "stream": stream_view(table)}
            old.append(saved)
            _journal_write(journal, doc)
            _copy(client, name, {**saved["definition"], "TableName": saved["backup"]}, saved["items"])
        doc["phase"] = "swap"
        _journal_write(journal, doc)
        _drop(client, before)
        counted = []
        for staged in new:
            _copy(client, staged["scratch"], staged["definition"], staged["items"], on_progress)
            _finish(client, staged, on_note)
            counted.append({"name": staged["name"], "items": staged["items"], "stream": staged.get("stream")})
            on_note(f"loaded {staged['name']}: {staged['items']} item(s)"
                    + (f", stream {staged['stream']}" if staged.get("stream") else ""))
        doc["phase"] = "done"
        _journal_write(journal, doc)
    except BaseException:
        roll_back(client, journal, on_note)
        raise
    roll_back(client, journal, on_note)  # phase "done": only drops the scratch tables and backups
    return before, counted


def plan_load(settings, name: str) -> tuple[SnapshotInfo, Stack]:
    """What ``load`` would replace (for the question asked first): the snapshot and the stack it lands on."""
    stack = resolve(settings)
    private_folder(settings.data_dir, create=False)
    path = path_of(settings.data_dir, name)
    if not path.exists():
        raise NotFoundError(f"no snapshot {name!r} in {folder(settings.data_dir)} (see `cruddur local snapshot list`)")
    return _info(read_manifest(path), path), stack


def load(settings, name: str, **kw) -> SnapshotInfo:
    """Replace the local stack's data with the snapshot's (see :func:`_load`), one save or load at a time."""
    check_name(name)
    resolve(settings)  # refuse a non-local target before anything, the lock folder included
    with exclusive(settings.data_dir):
        return _load(settings, name, **kw)


def _load(settings, name: str, *, trust_code: bool = False, on_note: Callable[[str], None] = _noop,
         on_progress: Callable[[int], None] = _noop) -> SnapshotInfo:
    """Replace the local stack's data with the snapshot's, exactly (see the module docstring for the order).

    Everything is read and checked before anything is touched. An archive this data dir did not sign (saved
    elsewhere, or changed) whose dump holds code (functions, views, triggers, rules, …) is refused unless
    ``trust_code``; the dump is restored by a role that is not a superuser in any case."""
    started = time.perf_counter()
    stack = resolve(settings)
    path = path_of(settings.data_dir, name)
    private_folder(settings.data_dir, create=False)
    if not path.exists():
        raise NotFoundError(f"no snapshot {name!r} in {folder(settings.data_dir)} (see `cruddur local snapshot list`)")
    manifest = read_manifest(path)
    if manifest.get("dynamodb") is not None and stack.endpoint is None:
        raise EngineError("the snapshot holds DynamoDB tables, but DynamoDB Local is not running: `cruddur local up`")
    if manifest.get("postgres") is not None:
        problem = _pg_answers_server(stack.db)
        if problem:
            raise EngineError(f"the snapshot holds a PostgreSQL database, but {problem}")
    for gone in clean_leftovers(settings.data_dir, stack.db if manifest.get("postgres") is not None else None):
        on_note(f"removed what an interrupted snapshot command left: {gone}")
    if stack.endpoint is not None:
        clean_tables(_client(stack.endpoint, settings), settings.data_dir, on_note)
    info = _info(manifest, path)
    with tarfile.open(path) as tar, tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{name}.load.") as tmp:
        hashes = _signed_hashes(tar, settings.data_dir)
        if hashes is None:
            on_note(f"snapshot {name} was not saved in this data dir (or was changed since): its data is checked "
                    "as a stranger's")
        entries = _check_tables(tar, manifest, path, hashes)
        dump = None
        if manifest.get("postgres") is not None:
            try:
                member = tar.getmember(DUMP)
            except KeyError:
                raise InputError(f"the manifest names a PostgreSQL database but {DUMP} is missing", path=path) from None
            _check_member(tar, DUMP, hashes, path)
            source = tar.extractfile(member)
            if source is None:
                raise InputError(f"{DUMP} in the snapshot is not a regular file", path=path)
            dump = Path(tmp) / DUMP
            with source as src, dump.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            if hashes is None and not trust_code:
                code = code_in_dump(dump, settings.child_env())
                if code:
                    shown = ", ".join(code[:3]) + (f" and {len(code) - 3} more" if len(code) > 3 else "")
                    raise InputError(f"snapshot {name} was not saved in this data dir and its dump holds code that "
                                     f"would run on load ({shown}); pass --trust-code only if you trust who made it",
                                     path=path)
        if dump is not None:
            info.table_rows = _restore_postgres(stack.db, dump, settings.child_env(), on_note)
            info.rows = sum(t["rows"] for t in info.table_rows)
        if entries or manifest.get("dynamodb") is not None:
            assert stack.endpoint is not None  # checked above when the snapshot holds DynamoDB tables
            client = _client(stack.endpoint, settings)
            info.dropped_tables, info.table_items = _replace_tables(client, tar, entries, path, on_note, on_progress,
                                                                      manifest["format"])
            info.tables, info.items = len(info.table_items), sum(t["items"] for t in info.table_items)
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

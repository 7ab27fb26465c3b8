"""`cruddur db migrate`: dbmate-format SQL migrations, each in one transaction with its version row.

Files are dbmate's, so a team can switch either way::

    migrations/20230415120000_add_bio_to_users.sql

    -- migrate:up
    ALTER TABLE public.users ADD COLUMN IF NOT EXISTS bio text;

    -- migrate:down
    ALTER TABLE public.users DROP COLUMN IF EXISTS bio;

The version is the file name's leading digits; ``-- migrate:up transaction:false`` runs that section outside a
transaction (for ``CREATE INDEX CONCURRENTLY`` and the like). Applied versions live in dbmate's own
``schema_migrations (version varchar(128) PRIMARY KEY)``; the SHA-256 of each file as it was applied lives beside it
in ``cruddur_migrations``, so ``status`` can tell a file edited after it was applied. A database dbmate migrated
has no checksums: its versions count as applied, and the first ``up`` records the files' checksums.

Every run holds a PostgreSQL advisory lock (session level, per database) from before it reads the applied versions
until it ends, so two ``up``s at the same time apply each migration once: the second waits, then finds nothing
left to do. Each migration runs statement by statement inside one transaction together with its version row;
an error rolls the migration back whole and names the file and the line of the failing statement (the splitting
and line arithmetic of ``pg.sqlparse``, which ``db schema-load`` uses).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cruddur_ops.errors import InputError, NotFoundError
from cruddur_ops.pg.sqlparse import Statement, execute, pin_session, refuse_unsafe, split_statements

VERSIONS_TABLE = "schema_migrations"  # dbmate's
CHECKSUMS_TABLE = "cruddur_migrations"  # ours, beside it
SCHEMA = "public"
LOCK_KEY = 0x6372756464757200  # "cruddur\0": one advisory lock per database for every migration run

_FILE_RE = re.compile(r"^(\d+)(?:_(.*))?\.sql$")
_DIRECTIVE_RE = re.compile(r"^--\s*migrate:(\w+)(.*)$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

TEMPLATE = "-- migrate:up\n\n\n-- migrate:down\n\n"


# --- the files ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    """The up or down part of a migration file; ``statements`` carry the file's own line numbers."""

    statements: list[Statement]
    transaction: bool = True
    line: int = 0  # the directive's line (0: the file has no such section)

    @property
    def present(self) -> bool:
        return self.line > 0


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    checksum: str  # sha256 of the file's bytes
    up: Section
    down: Section
    kind: str = "dbmate"  # or "app": the app's own Python file (pg/appmigrations.py), tracked in schema_information

    @property
    def file(self) -> str:
        return self.path.name


def _options(rest: str, path: Path, line: int) -> bool:
    """The directive's options (dbmate knows one: ``transaction:false``); returns whether to use a transaction."""
    transaction = True
    for option in rest.split():
        key, _, value = option.partition(":")
        if key != "transaction" or value not in ("true", "false"):
            raise InputError(f"unknown migration option {option!r} (dbmate knows transaction:true|false)",
                             path=path, line=line)
        transaction = value == "true"
    return transaction


def read_file(path: Path) -> tuple[bytes, str]:
    """A migration file's bytes (its checksum) and UTF-8 text; one InputError naming the file otherwise."""
    try:
        raw = path.read_bytes()
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", path=path) from None


def parse(path: Path) -> Migration:
    """Read one dbmate migration file; a problem is an InputError naming the file and line."""
    path = Path(path)
    m = _FILE_RE.match(path.name)
    if not m:
        raise InputError("not a migration file name: expected YYYYMMDDHHMMSS_name.sql", path=path)
    raw, text = read_file(path)
    parts = text.split("\n")  # only "\n" ends a line, as for the statement splitter's line numbers
    lines = [line + "\n" for line in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    marks: list[tuple[str, int, bool]] = []  # (up|down, 1-based line, transaction)
    for number, line in enumerate(lines, 1):
        d = _DIRECTIVE_RE.match(line.strip())
        if not d:
            continue
        kind = d.group(1)
        if kind not in ("up", "down"):
            raise InputError(f"unknown directive 'migrate:{kind}' (dbmate knows migrate:up and migrate:down)",
                             path=path, line=number)
        if any(k == kind for k, _, _ in marks):
            raise InputError(f"a second '-- migrate:{kind}' section", path=path, line=number)
        marks.append((kind, number, _options(d.group(2), path, number)))
    if not any(k == "up" for k, _, _ in marks):
        raise InputError("no '-- migrate:up' line: a dbmate migration starts with it", path=path)
    before = split_statements("".join(lines[: marks[0][1] - 1]), path=path)
    if before:
        first = before[0]
        raise InputError("SQL before the first '-- migrate:' line: it belongs to neither up nor down",
                         path=path, line=first.line)
    sections: dict[str, Section] = {}
    for i, (kind, number, transaction) in enumerate(marks):
        end = marks[i + 1][1] - 1 if i + 1 < len(marks) else len(lines)
        # blank the rest of the file, so the statements keep the file's own line numbers
        body = "\n" * number + "".join(lines[number:end])
        statements = split_statements(body, path=path)
        refuse_unsafe(statements, path=path, in_transaction=transaction,
                      what="a migration",
                      hint=f" (a section that runs its own transactions needs '-- migrate:{kind} transaction:false')")
        sections[kind] = Section(statements, transaction, number)
    return Migration(m.group(1), m.group(2) or "", path, hashlib.sha256(raw).hexdigest(),
                     sections["up"], sections.get("down", Section([], True, 0)))


def read_dir(folder: Path) -> list[Migration]:
    """Every migration in ``folder``, oldest first, all validated before anything runs."""
    folder = Path(folder)
    if not folder.exists():
        raise InputError("migrations folder not found (create it with `cruddur db migrate new NAME --migrations-dir …`)",
                         path=folder)
    if not folder.is_dir():
        raise InputError("not a folder of migrations", path=folder)
    from cruddur_ops.pg import appmigrations

    migrations = [parse(p) for p in sorted(folder.iterdir()) if p.suffix == ".sql" and _FILE_RE.match(p.name)]
    migrations += appmigrations.read_dir(folder)
    seen: dict[str, Migration] = {}
    for mig in migrations:
        if mig.version in seen:
            raise InputError(f"version {mig.version} is also {seen[mig.version].file}", path=mig.path)
        seen[mig.version] = mig
    return sorted(migrations, key=lambda mig: _order(mig.version))


def _order(version: str) -> tuple:
    """Versions in time order, dbmate's YYYYMMDDHHMMSS and the app's epoch timestamps together."""
    from cruddur_ops.pg.appmigrations import order_key

    return order_key(version)


def new(folder: Path, name: str, *, now: datetime | None = None) -> Path:
    """Write ``YYYYMMDDHHMMSS_name.sql`` with both sections into ``folder`` (created when missing)."""
    slug = re.sub(r"\s+", "_", name.strip())
    if not _NAME_RE.match(slug):
        raise InputError(f"migration name {name!r}: use letters, digits, '_' and '-' (e.g. add_bio_to_users)")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    version = moment.strftime("%Y%m%d%H%M%S")
    folder = Path(folder)
    clash = [p.name for p in folder.glob(f"{version}_*.sql")] if folder.is_dir() else []
    if clash:
        raise InputError(f"version {version} is taken by {clash[0]}; wait a second and try again", path=folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}_{slug}.sql"
    with path.open("x", encoding="utf-8") as fh:
        fh.write(TEMPLATE)
    return path


# --- the database's side -----------------------------------------------------------------------------------------
@dataclass
class Applied:
    version: str
    checksum: str | None = None  # None: applied by dbmate (or before cruddur recorded checksums)
    file: str | None = None
    applied_at: str | None = None


def _exists(conn, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{SCHEMA}.{table}"]).fetchone()[0]


def ensure_tables(conn) -> None:
    """dbmate's version table and cruddur's checksum table, when missing (autocommit connection)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{VERSIONS_TABLE} (version varchar(128) PRIMARY KEY)")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{CHECKSUMS_TABLE} ("
        " version varchar(128) PRIMARY KEY, file text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )


def applied_versions(conn, migrations: Sequence[Migration] = ()) -> dict[str, Applied]:
    """The versions in ``schema_migrations`` (and the app migrations among ``migrations`` that ``schema_information``
    counts as applied) with their recorded checksums; empty when neither table is there."""
    from cruddur_ops.pg import appmigrations

    out: dict[str, Applied] = {}
    if _exists(conn, VERSIONS_TABLE):
        out = {v: Applied(v) for (v,) in conn.execute(f"SELECT version FROM {SCHEMA}.{VERSIONS_TABLE}")}
    out.update({v: Applied(v) for v in appmigrations.applied(conn, migrations)})
    if not out:
        return {}
    if _exists(conn, CHECKSUMS_TABLE):
        rows = conn.execute(f"SELECT version, checksum, file, applied_at FROM {SCHEMA}.{CHECKSUMS_TABLE}")
        for version, checksum, file, applied_at in rows:
            if version in out:
                out[version] = Applied(version, checksum, file, applied_at.isoformat(timespec="microseconds"))
    return out


class _Lock:
    """The session-level advisory lock of a migration run; the second run waits (and says so)."""

    def __init__(self, conn, on_note: Callable[[str], None]):
        self.conn, self.on_note = conn, on_note

    def __enter__(self):
        if not self.conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
            self.on_note("another migration run holds the lock on this database; waiting for it to finish")
            self.conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        return self

    def __exit__(self, *exc):
        if not self.conn.closed and not self.conn.broken:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _run_section(conn, mig: Migration, section: Section, direction: str, record: Callable[[object], None],
                 done_before: int) -> None:
    """Run ``section``'s statements and ``record`` (the version row change), in one transaction unless
    ``transaction:false``; an error is an InputError naming the file and line."""
    import psycopg

    def fail(exc: psycopg.Error, statement: Statement):
        diag = exc.diag
        position = diag.statement_position
        line = statement.line_at(int(position)) if position else statement.line
        message = diag.message_primary or str(exc).strip().splitlines()[0]
        sqlstate = f" [{exc.sqlstate}]" if exc.sqlstate else ""
        if section.transaction:
            kept = "rolled back, nothing of it was kept"
        else:
            kept = "ran without a transaction (transaction:false): the statements before this one stay applied, its version is not recorded"
        earlier = f" ({done_before} earlier migration(s) of this run stay applied)" if done_before else ""
        hint = ""
        if exc.sqlstate == "42P01" and not done_before:  # undefined table: usually the schema was never loaded
            hint = "; the migrations build on schema.sql: load it first (`cruddur db schema-load`, or `cruddur db setup`)"
        raise InputError(f"{message}{sqlstate}; migration {mig.version} {direction} {kept}{earlier}{hint}",
                         path=mig.path, line=line) from None

    pin_session(conn)
    if section.transaction:
        with conn.transaction():
            with conn.cursor() as cur:
                for statement in section.statements:
                    try:
                        execute(cur, statement)
                    except psycopg.Error as exc:
                        fail(exc, statement)
                record(cur)
    else:
        with conn.cursor() as cur:
            for statement in section.statements:
                try:
                    execute(cur, statement)
                except psycopg.Error as exc:
                    fail(exc, statement)
        with conn.transaction(), conn.cursor() as cur:
            record(cur)


def _apply(conn, mig: Migration, done_before: int) -> None:
    def record(cur) -> None:
        if mig.kind == "app":
            from cruddur_ops.pg import appmigrations

            appmigrations.record_applied(cur, mig)
        else:
            cur.execute(f"INSERT INTO {SCHEMA}.{VERSIONS_TABLE} (version) VALUES (%s)", [mig.version])
        cur.execute(
            f"INSERT INTO {SCHEMA}.{CHECKSUMS_TABLE} (version, file, checksum) VALUES (%s, %s, %s) "
            "ON CONFLICT (version) DO UPDATE SET file = EXCLUDED.file, checksum = EXCLUDED.checksum, applied_at = now()",
            [mig.version, mig.file, mig.checksum])

    _run_section(conn, mig, mig.up, "up", record, done_before)


def _revert(conn, mig: Migration, done_before: int) -> None:
    def record(cur) -> None:
        if mig.kind == "app":
            from cruddur_ops.pg import appmigrations

            appmigrations.record_reverted(cur, mig)
        else:
            cur.execute(f"DELETE FROM {SCHEMA}.{VERSIONS_TABLE} WHERE version = %s", [mig.version])
        cur.execute(f"DELETE FROM {SCHEMA}.{CHECKSUMS_TABLE} WHERE version = %s", [mig.version])

    _run_section(conn, mig, mig.down, "down", record, done_before)


def _record_missing_checksums(conn, migrations: list[Migration], applied: dict[str, Applied]) -> None:
    """Versions dbmate applied have no checksum yet: take the files' current ones."""
    missing = [m for m in migrations if m.version in applied and applied[m.version].checksum is None]
    with conn.transaction(), conn.cursor() as cur:
        for mig in missing:
            cur.execute(f"INSERT INTO {SCHEMA}.{CHECKSUMS_TABLE} (version, file, checksum) VALUES (%s, %s, %s) "
                        "ON CONFLICT (version) DO NOTHING", [mig.version, mig.file, mig.checksum])


# --- results ------------------------------------------------------------------------------------------------------
@dataclass
class MigrationRow:
    """One line of ``status`` and of what ``up``/``down`` did."""

    version: str
    name: str
    file: str | None
    state: str  # applied | pending | edited | missing (a version applied whose file is gone)
    applied_at: str | None = None
    statements: int | None = None
    seconds: float | None = None


@dataclass
class RunResult:
    """What ``up``, ``down`` and ``redo`` did; ``files`` are the migration files this run used."""

    database: str
    url: str
    dir: str
    action: str  # up | down | redo
    done: list[MigrationRow] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    pending: int = 0  # still pending after the run
    applied: int = 0  # applied after the run

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StatusResult:
    database: str
    url: str
    dir: str
    migrations: list[MigrationRow]
    files: list[str]

    def count(self, state: str) -> int:
        return sum(1 for row in self.migrations if row.state == state)

    def to_dict(self) -> dict:
        return {"database": self.database, "url": self.url, "dir": self.dir, "files": self.files,
                "applied": self.count("applied"), "pending": self.count("pending"), "edited": self.count("edited"),
                "missing": self.count("missing"), "migrations": [asdict(row) for row in self.migrations]}


def _rows(migrations: list[Migration], applied: dict[str, Applied]) -> list[MigrationRow]:
    rows = []
    for mig in migrations:
        record = applied.get(mig.version)
        if record is None:
            state = "pending"
        elif record.checksum is not None and record.checksum != mig.checksum:
            state = "edited"
        else:
            state = "applied"
        rows.append(MigrationRow(mig.version, mig.name, str(mig.path), state, record.applied_at if record else None,
                                 len(mig.up.statements)))
    known = {m.version for m in migrations}
    for version, record in applied.items():
        if version not in known:
            rows.append(MigrationRow(version, "", record.file, "missing", record.applied_at))
    return sorted(rows, key=lambda r: _order(r.version))


# --- the operations -----------------------------------------------------------------------------------------------
def _noop(message: str) -> None:
    pass


def status(db, folder: Path) -> StatusResult:
    """Applied, pending, edited after it was applied, or missing its file: one row per version. Writes nothing."""
    migrations = read_dir(folder)
    with db.connect(autocommit=True) as conn:
        applied = applied_versions(conn, migrations)
        name = conn.info.dbname
    return StatusResult(name, db.masked, str(folder), _rows(migrations, applied), [str(m.path) for m in migrations])


def up(db, folder: Path, *, to: str | None = None, on_note: Callable[[str], None] = _noop) -> RunResult:
    """Apply every pending migration (up to and including ``to``), oldest first, under the advisory lock."""

    migrations = read_dir(folder)
    if to is not None and to not in {m.version for m in migrations}:
        raise NotFoundError(f"no migration with version {to} in {folder}")
    with db.connect(autocommit=True) as conn:
        with _Lock(conn, on_note):
            ensure_tables(conn)
            applied = applied_versions(conn, migrations)
            _record_missing_checksums(conn, migrations, applied)
            pending = [m for m in migrations if m.version not in applied]
            if to is not None:
                pending = [m for m in pending if _order(m.version) <= _order(to)]
            result = RunResult(conn.info.dbname, db.masked, str(folder), "up",
                               files=[str(m.path) for m in migrations])
            for mig in pending:
                _apply_recorded(conn, mig, result)
                on_note(f"applied {mig.file}")
            return _counted(conn, result, migrations)


def _apply_recorded(conn, mig: Migration, result: RunResult) -> None:
    """Apply ``mig`` (its own transaction with its version row) and add its row to ``result``."""
    import time

    started = time.perf_counter()
    _apply(conn, mig, len(result.done))
    result.done.append(MigrationRow(mig.version, mig.name, str(mig.path), "applied",
                                    statements=len(mig.up.statements),
                                    seconds=round(time.perf_counter() - started, 4)))


def _counted(conn, result: RunResult, migrations: list[Migration]) -> RunResult:
    """``result`` with the applied and pending counts as the database now has them."""
    after = applied_versions(conn, migrations)
    result.applied = len(after)
    result.pending = sum(1 for m in migrations if m.version not in after)
    return result


def plan_down(db, folder: Path, steps: int = 1) -> list[Migration]:
    """The migrations ``down --steps`` would revert, newest first (for the question asked before it runs)."""
    migrations = read_dir(folder)
    with db.connect(autocommit=True) as conn:
        applied = applied_versions(conn, migrations)
    return _to_revert(migrations, applied, steps, folder)


def _to_revert(migrations: list[Migration], applied: dict[str, Applied], steps: int, folder: Path) -> list[Migration]:
    if steps < 1:
        raise InputError("--steps must be 1 or more")
    by_version = {m.version: m for m in migrations}
    newest = sorted(applied, key=_order, reverse=True)[:steps]
    out = []
    for version in newest:
        mig = by_version.get(version)
        if mig is None:
            raise NotFoundError(f"version {version} is applied but its file is not in {folder}: cannot revert it")
        if not mig.down.present:
            raise InputError("no '-- migrate:down' section: this migration cannot be reverted", path=mig.path)
        out.append(mig)
    return out


def down(db, folder: Path, *, steps: int = 1, on_note: Callable[[str], None] = _noop,
         redo: bool = False) -> RunResult:
    """Revert the ``steps`` newest applied migrations, newest first (``redo``: revert the newest, apply it again)."""
    import time

    migrations = read_dir(folder)
    with db.connect(autocommit=True) as conn:
        with _Lock(conn, on_note):
            ensure_tables(conn)
            applied = applied_versions(conn, migrations)
            targets = _to_revert(migrations, applied, 1 if redo else steps, folder)
            result = RunResult(conn.info.dbname, db.masked, str(folder), "redo" if redo else "down",
                               files=[str(m.path) for m in targets])
            if not targets:
                on_note("no migration is applied; nothing to revert")
            for mig in targets:
                started = time.perf_counter()
                if not mig.down.statements:
                    on_note(f"{mig.file}: its down section is empty; only its version row is removed")
                _revert(conn, mig, len(result.done))
                result.done.append(MigrationRow(mig.version, mig.name, str(mig.path), "reverted",
                                                statements=len(mig.down.statements),
                                                seconds=round(time.perf_counter() - started, 4)))
                on_note(f"reverted {mig.file}")
                if redo:
                    _apply_recorded(conn, mig, result)
                    on_note(f"applied {mig.file} again")
            return _counted(conn, result, migrations)


def forget(db, on_note: Callable[[str], None] = _noop) -> int:
    """Clear the version and checksum rows (after the schema's tables were dropped and recreated, so that the
    migrations apply again). Returns how many versions were forgotten."""
    with db.connect(autocommit=True) as conn:
        with _Lock(conn, on_note):
            if not _exists(conn, VERSIONS_TABLE):
                return 0
            with conn.transaction():
                count = conn.execute(f"DELETE FROM {SCHEMA}.{VERSIONS_TABLE}").rowcount
                if _exists(conn, CHECKSUMS_TABLE):
                    conn.execute(f"DELETE FROM {SCHEMA}.{CHECKSUMS_TABLE}")
                if _exists(conn, "schema_information"):  # the app's own migrations run again too
                    conn.execute(f"UPDATE {SCHEMA}.schema_information SET last_successful_run = '0'")
            return count

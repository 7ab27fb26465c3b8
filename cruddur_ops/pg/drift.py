"""Drift between the live database and its migrations: `db schema diff`, the cheap check of `db migrate status`,
and the repairs `db migrate reapply VERSION` and `db migrate baseline VERSION`.

``schema_diff`` builds what the migrations the live database has applied produce, in a scratch database
(:mod:`cruddur_ops.pg.scratch`, on the base schema as `verify` does), and compares the two catalogs
(:mod:`cruddur_ops.pg.catalog`): each difference names the migration that should have made the expected state.

``missing_effects`` is the cheap part, for ``status``: no scratch database. It reads what each applied migration's
up creates — ``CREATE TABLE`` (with its columns), ``ALTER TABLE … ADD [COLUMN]``, ``CREATE INDEX``, ``CREATE VIEW``,
``CREATE SEQUENCE`` — follows the later applied migrations' ``DROP``s and ``RENAME``s, and looks each object that
should still exist up in the live catalog. Statements inside ``DO`` blocks and functions are not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cruddur_ops.errors import InputError, NotFoundError
from cruddur_ops.pg import catalog

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QNAME = rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)"
_CREATE_TABLE = re.compile(
    r"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    + _QNAME + r"\s*\(", re.IGNORECASE)
_ALTER_TABLE = re.compile(r"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?" + _QNAME + r"\s+(.*)$",
                          re.IGNORECASE | re.DOTALL)
_CREATE_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
                           + _QNAME + r"\s+ON\s+(?:ONLY\s+)?" + _QNAME, re.IGNORECASE)
_CREATE_OTHER = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:MATERIALIZED\s+)?"
                           r"(VIEW|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _QNAME, re.IGNORECASE)
_DROP = re.compile(r"DROP\s+(TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW|SEQUENCE)\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?"
                   r"(.*?)(?:\s+(?:CASCADE|RESTRICT))?\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_ALTER_RENAME = re.compile(r"ALTER\s+(INDEX|VIEW|MATERIALIZED\s+VIEW|SEQUENCE)\s+(?:IF\s+EXISTS\s+)?" + _QNAME
                           + rf"\s+RENAME\s+TO\s+({_IDENT})", re.IGNORECASE)
_SEARCH_PATH = re.compile(r"SET\s+(?:(?:LOCAL|SESSION)\s+)?search_path\s*(?:TO|=)\s*(.*?)\s*;?\s*$",
                          re.IGNORECASE | re.DOTALL)
_CONSTRAINT_WORDS = {"constraint", "primary", "unique", "check", "foreign", "exclude", "like"}


def _ident(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _qualified(name: str, schema: str = "public") -> str:
    parts = [_ident(p) for p in re.findall(_IDENT, name)]
    return ".".join(parts) if len(parts) > 1 else f"{schema}.{parts[0]}"


def _top_level(text: str, sep: str = ",") -> list[str]:
    """``text`` split at ``sep`` outside parentheses and quotes."""
    out, depth, start, quote = [], 0, 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [part.strip() for part in out if part.strip()]


def _body(text: str, open_at: int) -> str:
    """The text inside the parenthesis that opens at ``open_at``."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i]
    return text[open_at + 1:]


def _strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return "\n".join(line.split("--", 1)[0] if "'" not in line else line for line in sql.splitlines()).strip()


def effects(statements) -> list[tuple[str, str, str | None]]:
    """What the statements do to named objects, in order: ``(op, kind, name[, new name])`` as
    ``("create"|"drop"|"rename", "table"|"column"|"index"|"view"|"sequence", "public.users.bio", new)``."""
    out: list[tuple[str, str, str | None]] = []
    schema = "public"  # where an unqualified name goes: the first schema of the search_path the migration sets
    for statement in statements:
        text = _strip_comments(statement.text)
        if m := _SEARCH_PATH.match(text):
            first = _top_level(m.group(1))[0] if m.group(1).strip() else "public"
            schema = "public" if first.strip("'\"").lower() in ("$user", "public", "default") else _ident(first)
        elif m := _CREATE_TABLE.match(text):
            table = _qualified(m.group(1), schema)
            out.append(("create", "table", table))
            for item in _top_level(_body(text, m.end() - 1)):
                word = re.match(_IDENT, item)
                if word and word.group(0).lower() not in _CONSTRAINT_WORDS:
                    out.append(("create", "column", f"{table}.{_ident(word.group(0))}"))
        elif m := _ALTER_TABLE.match(text):
            table = _qualified(m.group(1), schema)
            rest = m.group(2)
            rename = re.match(rf"RENAME\s+TO\s+({_IDENT})", rest, re.IGNORECASE)
            if rename:
                out.append(("rename", "table", f"{table}\0{table.rsplit('.', 1)[0]}.{_ident(rename.group(1))}"))
                continue
            moved = re.match(rf"SET\s+SCHEMA\s+({_IDENT})", rest, re.IGNORECASE)
            if moved:
                new = f"{_ident(moved.group(1))}.{table.rsplit('.', 1)[1]}"
                out.append(("rename", "table", f"{table}\0{new}"))
                continue
            rename = re.match(rf"RENAME\s+(?:COLUMN\s+)?({_IDENT})\s+TO\s+({_IDENT})", rest, re.IGNORECASE)
            if rename:
                out.append(("rename", "column", f"{table}.{_ident(rename.group(1))}\0{table}.{_ident(rename.group(2))}"))
                continue
            for action in _top_level(rest):
                add = re.match(rf"ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?({_IDENT})", action, re.IGNORECASE)
                if add and add.group(1).lower() not in _CONSTRAINT_WORDS:
                    out.append(("create", "column", f"{table}.{_ident(add.group(1))}"))
                drop = re.match(rf"DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_IDENT})", action, re.IGNORECASE)
                if drop and drop.group(1).lower() not in ("constraint",):
                    out.append(("drop", "column", f"{table}.{_ident(drop.group(1))}"))
        elif m := _ALTER_RENAME.match(text):
            kind = "view" if "VIEW" in m.group(1).upper() else m.group(1).lower()
            old = _qualified(m.group(2), schema)
            out.append(("rename", kind, f"{old}\0{old.rsplit('.', 1)[0]}.{_ident(m.group(3))}"))
        elif m := _CREATE_INDEX.match(text):
            table = _qualified(m.group(2), schema)
            out.append(("create", "index", f"{table.rsplit('.', 1)[0]}.{_ident(m.group(1))}\0{table}"))
        elif m := _CREATE_OTHER.match(text):
            out.append(("create", m.group(1).lower(), _qualified(m.group(2), schema)))
        elif m := _DROP.match(text):
            kind = "view" if "VIEW" in m.group(1).upper() else m.group(1).lower()
            for name in _top_level(m.group(2)):
                out.append(("drop", kind, _qualified(name, schema)))
    return out


@dataclass
class Missing:
    version: str
    file: str
    objects: list[str]
    repair: str

    def to_dict(self) -> dict:
        return asdict(self)


def expected_objects(migrations: list) -> dict[tuple[str, str], str]:
    """The objects the migrations (in order) leave behind, each with the file that created it."""
    alive: dict[tuple[str, str], str] = {}
    index_table: dict[str, str] = {}  # index -> its table

    def children(table: str) -> list[tuple[str, str]]:
        return ([k for k in alive if k[0] == "column" and k[1].rsplit(".", 1)[0] == table]
                + [k for k in alive if k[0] == "index" and index_table.get(k[1]) == table])

    for mig in migrations:
        for op, kind, name in effects(mig.up.statements):
            assert name is not None
            if op == "create":
                if kind == "index":
                    name, table = name.split("\0")
                    index_table[name] = table
                alive[(kind, name)] = mig.file
            elif op == "drop":
                if kind == "table":
                    for key in children(name):
                        alive.pop(key)
                alive.pop((kind, name), None)
            elif op == "rename":
                old, new = name.split("\0")
                if kind == "table":
                    new_schema = new.rsplit(".", 1)[0]
                    for key in children(old):
                        if key[0] == "column":
                            alive[("column", new + key[1][len(old):])] = alive.pop(key)
                        else:
                            moved = f"{new_schema}.{key[1].rsplit('.', 1)[1]}"
                            index_table.pop(key[1], None)
                            index_table[moved] = new
                            alive[("index", moved)] = alive.pop(key)
                if kind == "index" and old in index_table:
                    index_table[new] = index_table.pop(old)
                if (kind, old) in alive:
                    alive[(kind, new)] = alive.pop((kind, old))
    return alive


def missing_effects(conn, migrations: list, applied: set[str]) -> list[Missing]:
    """The applied migrations whose objects are gone from the live database, with how to repair each."""
    done = [m for m in migrations if m.version in applied]
    alive = expected_objects(done)
    if not alive:
        return []
    live = catalog.snapshot(conn)
    live_names = {(kind, name) for kind, name in live}
    by_file: dict[str, list[str]] = {}
    for (kind, name), file in alive.items():
        if (kind, name) not in live_names:
            by_file.setdefault(file, []).append(f"{kind} {name}")
    out = []
    for mig in done:
        if mig.file in by_file:
            out.append(Missing(mig.version, mig.file, sorted(by_file[mig.file]),
                               f"cruddur db migrate reapply {mig.version}"))
    return out


def check_status(db, folder: Path, applied_states: dict[str, str]) -> list[Missing]:
    """`migrate status`'s check: the applied migrations (``{version: state}`` of its rows) with effects gone."""
    from cruddur_ops.pg import migrate

    migrations = migrate.read_dir(folder)
    applied = {v for v, state in applied_states.items() if state in ("applied", "edited")}
    with db.connect(autocommit=True) as conn:
        return missing_effects(conn, migrations, applied)


# --- schema diff -----------------------------------------------------------------------------------------------
@dataclass
class DiffResult:
    database: str
    url: str
    dir: str
    base: str | None
    scratch: str
    compared: list[str]  # the migrations the expected schema is built from (those the live database applied)
    pending: list[str]
    differences: list[catalog.Difference] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"database": self.database, "url": self.url, "dir": self.dir, "base": self.base,
                "scratch": self.scratch, "scratch_dropped": True, "drift": bool(self.differences),
                "compared": self.compared, "pending": self.pending,
                "differences": [d.to_dict() for d in self.differences]}


def schema_diff(target, folder: Path, env: Mapping[str, str], *, scratch_url: str | None = None,
                base: Path | str | None = "auto", on_note: Callable[[str], None] = lambda m: None) -> DiffResult:
    """The live database compared with what its applied migrations produce in a scratch database."""
    from cruddur_ops.pg import migrate, scratch
    from cruddur_ops.pg.verify import build

    migrations = migrate.read_dir(folder)
    server = scratch.server_for(target, scratch_url, action="db schema diff")
    with target.connect(autocommit=True) as conn:
        applied = migrate.applied_versions(conn, migrations)
        live = catalog.snapshot(conn)
        name = conn.info.dbname
    if applied:
        newest = max((m for m in migrations if m.version in applied), key=lambda m: migrate._order(m.version),
                     default=None)
        upto = [m for m in migrations if newest is not None and migrate._order(m.version) <= migrate._order(newest.version)]
    else:
        upto = list(migrations)
        on_note("the live database records no applied migration: comparing with every migration")
    pending = [m.file for m in migrations if m.version not in applied]
    with scratch.scratch_database(server, on_note) as sdb:
        history: list[tuple[str | None, catalog.Snapshot]] = []

        def step(mig) -> None:
            with sdb.connect(autocommit=True) as conn:
                history.append((mig.file if mig else None, catalog.snapshot(conn)))

        used = build(sdb, folder, upto, base, step, on_note)
        history = history[-(len(upto) + 1):]
        expected = history[-1][1]
        differences = catalog.compare(live, expected, history)
        return DiffResult(name, target.masked, str(folder), str(used) if used else None, str(sdb.name),
                          [m.file for m in upto], pending, differences)


# --- repairs ------------------------------------------------------------------------------------------------------
def _find(migrations: list, version: str, folder: Path):
    for mig in migrations:
        if mig.version == version:
            return mig
    raise NotFoundError(f"no migration with version {version} in {folder}")


def reapply(db, folder: Path, version: str, on_note: Callable[[str], None] = lambda m: None) -> dict:
    """Run an applied migration's up section again (its effects were lost), in one transaction, under the lock;
    its version row stays. A failing statement rolls it back and names the file and line."""
    from cruddur_ops.pg import migrate

    migrations = migrate.read_dir(folder)
    mig = _find(migrations, version, folder)
    with db.connect(autocommit=True) as conn:
        with migrate._Lock(conn, on_note):
            applied = migrate.applied_versions(conn, migrations)
            if version not in applied:
                raise InputError(f"{mig.file} is not applied: apply it with `cruddur db migrate up --to {version}`")

            def record(cur) -> None:
                pass

            migrate._run_section(conn, mig, mig.up, "up (reapplied)", record, 0)
            missing = missing_effects(conn, migrations, set(applied))
    return {"database": db.name, "url": db.masked, "version": version, "file": str(mig.path),
            "statements": len(mig.up.statements), "still_missing": [m.to_dict() for m in missing]}


def baseline(db, folder: Path, version: str, on_note: Callable[[str], None] = lambda m: None) -> dict:
    """Record every migration up to and including ``version`` as applied without running it (a database that
    already has their effects, adopting migrations late). Versions already recorded are left as they are."""
    from cruddur_ops.pg import appmigrations, migrate

    migrations = migrate.read_dir(folder)
    target = _find(migrations, version, folder)
    upto = [m for m in migrations if migrate._order(m.version) <= migrate._order(target.version)]
    with db.connect(autocommit=True) as conn:
        with migrate._Lock(conn, on_note):
            migrate.ensure_tables(conn)
            applied = migrate.applied_versions(conn, migrations)
            marked = [m for m in upto if m.version not in applied]
            with conn.transaction(), conn.cursor() as cur:
                for mig in marked:
                    if mig.kind != "app":
                        cur.execute(f"INSERT INTO {migrate.SCHEMA}.{migrate.VERSIONS_TABLE} (version) VALUES (%s) "
                                    "ON CONFLICT DO NOTHING", [mig.version])
                    cur.execute(f"INSERT INTO {migrate.SCHEMA}.{migrate.CHECKSUMS_TABLE} (version, file, checksum) "
                                "VALUES (%s, %s, %s) ON CONFLICT (version) DO NOTHING",
                                [mig.version, mig.file, mig.checksum])
                app = [m for m in marked if m.kind == "app"]
                if app:
                    appmigrations.store(cur, max(app, key=lambda m: migrate._order(m.version)).version)
            later = [m.file for m in migrations if m.version in applied and m not in upto]
            missing = missing_effects(conn, migrations, set(applied) | {m.version for m in marked})
    for mig in marked:
        on_note(f"recorded {mig.file} as applied (not run)")
    return {"database": db.name, "url": db.masked, "version": version,
            "recorded": [{"version": m.version, "name": m.name, "file": str(m.path)} for m in marked],
            "already_applied": [m.file for m in upto if m.version in applied],
            "applied_later": later, "missing_effects": [m.to_dict() for m in missing]}

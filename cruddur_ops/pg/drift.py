"""Drift between the live database and its migrations: `db schema diff`, the cheap check of `db migrate status`,
and the repairs `db migrate reapply VERSION` and `db migrate baseline VERSION`.

``schema_diff`` builds what the migrations the live database has applied produce, in a scratch database
(:mod:`cruddur_ops.pg.scratch`, on the base schema as `verify` does), and compares the two catalogs
(:mod:`cruddur_ops.pg.catalog`): each difference names the migration that should have made the expected state.

``missing_effects`` is the cheap part, for ``status``: no scratch database. It parses each applied migration's up
with PostgreSQL's own grammar (pglast, as ``pg.lint`` does) and reads what it creates — ``CREATE TABLE`` (with its
columns), ``CREATE TABLE … AS``/``SELECT … INTO``, ``ALTER TABLE … ADD [COLUMN]`` (every subcommand), ``CREATE
INDEX``, ``CREATE [MATERIALIZED] VIEW``, ``CREATE SEQUENCE`` — follows the later applied migrations' ``DROP``s,
renames and ``SET SCHEMA``s, and looks each object that should still exist up in the live catalog. Statements inside
``DO`` blocks and function bodies are one opaque string to the parser: not read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cruddur_ops.errors import InputError, NotFoundError
from cruddur_ops.pg import catalog

_RELATIONS = ("table", "view", "index", "sequence")  # one namespace: ALTER TABLE … RENAME TO renames any of them


def _search_path_schema(node, schema: str) -> str:
    """Where unqualified names go after a ``SET search_path`` (or ``RESET``): its first schema that is not
    ``$user`` (a role's schema rarely exists), ``public`` when there is none."""
    from pglast.enums.parsenodes import VariableSetKind

    if node.kind == VariableSetKind.VAR_SET_VALUE:
        values = [a.val.sval for a in node.args or () if getattr(getattr(a, "val", None), "sval", None) is not None]
        named = [v for v in values if v != "$user"]
        return named[0] if named else "public"
    if node.kind in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET):
        return "public"
    return schema


def _qualified(key: tuple[str, str]) -> str:
    return f"{key[0]}.{key[1]}"


def _select_columns(query, names) -> list[str]:
    """The columns a ``CREATE TABLE … AS`` / ``SELECT … INTO`` gets: the names it lists, then those of its select
    list that PostgreSQL would name after a column or an ``AS`` (a ``*`` or an unnamed expression is not known)."""
    from pglast import ast

    columns = [n.sval for n in names or ()]
    if isinstance(query, ast.SelectStmt) and query.targetList:
        for target in query.targetList[len(columns):]:
            if target.name:
                columns.append(target.name)
            elif isinstance(target.val, ast.ColumnRef):
                last = (target.val.fields or (None,))[-1]
                if isinstance(last, ast.String):
                    columns.append(last.sval)
    return columns


def _statement_effects(node, schema: str) -> list[tuple[str, str, str | None]]:
    """What one parsed statement does to named objects (see :func:`effects`); unqualified names go to ``schema``."""
    from pglast import ast
    from pglast.enums.parsenodes import AlterTableType, ObjectType

    from cruddur_ops.pg.lint import _key, _name_key

    kinds = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_FOREIGN_TABLE: "table",
             ObjectType.OBJECT_VIEW: "view", ObjectType.OBJECT_MATVIEW: "view",
             ObjectType.OBJECT_INDEX: "index", ObjectType.OBJECT_SEQUENCE: "sequence"}
    out: list[tuple[str, str, str | None]] = []

    def temporary(rangevar) -> bool:  # lives in pg_temp, gone with the session: nothing to look for later
        return rangevar.relpersistence == "t"

    def table_with(rangevar, columns) -> None:
        table = _qualified(_key(rangevar, schema))
        out.append(("create", "table", table))
        out.extend(("create", "column", f"{table}.{column}") for column in columns)

    if isinstance(node, ast.CreateStmt):
        if not temporary(node.relation):
            table_with(node.relation, [e.colname for e in node.tableElts or () if isinstance(e, ast.ColumnDef)])
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        if not temporary(node.into.rel):
            if node.objtype == ObjectType.OBJECT_MATVIEW:
                out.append(("create", "view", _qualified(_key(node.into.rel, schema))))
            else:
                table_with(node.into.rel, _select_columns(node.query, node.into.colNames))
    elif isinstance(node, ast.SelectStmt) and node.intoClause is not None:  # SELECT … INTO new_table
        if not temporary(node.intoClause.rel):
            table_with(node.intoClause.rel, _select_columns(node, node.intoClause.colNames))
    elif isinstance(node, ast.ViewStmt):
        if not temporary(node.view):
            out.append(("create", "view", _qualified(_key(node.view, schema))))
    elif isinstance(node, ast.CreateSeqStmt):
        if not temporary(node.sequence):
            out.append(("create", "sequence", _qualified(_key(node.sequence, schema))))
    elif isinstance(node, ast.IndexStmt):
        if node.idxname:  # an unnamed index gets a name only the server knows
            on = _key(node.relation, schema)
            out.append(("create", "index", f"{on[0]}.{node.idxname}\0{_qualified(on)}"))
    elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
        table = _qualified(_key(node.relation, schema))
        for cmd in node.cmds or ():
            if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                out.append(("create", "column", f"{table}.{cmd.def_.colname}"))
            elif cmd.subtype == AlterTableType.AT_DropColumn and cmd.name:
                out.append(("drop", "column", f"{table}.{cmd.name}"))
    elif isinstance(node, ast.RenameStmt) and node.relation is not None:
        old = _key(node.relation, schema)
        if node.renameType == ObjectType.OBJECT_COLUMN:
            out.append(("rename", "column", f"{_qualified(old)}.{node.subname}\0{_qualified(old)}.{node.newname}"))
        elif node.renameType in kinds:
            out.append(("rename", kinds[node.renameType], f"{_qualified(old)}\0{old[0]}.{node.newname}"))
    elif isinstance(node, ast.AlterObjectSchemaStmt) and node.relation is not None and node.objectType in kinds:
        old = _key(node.relation, schema)
        out.append(("rename", kinds[node.objectType], f"{_qualified(old)}\0{node.newschema}.{old[1]}"))
    elif isinstance(node, ast.DropStmt):
        if node.removeType == ObjectType.OBJECT_SCHEMA:
            out.extend(("drop", "schema", name.sval) for name in node.objects or ())
        elif node.removeType in kinds:
            out.extend(("drop", kinds[node.removeType], _qualified(_name_key(names, schema)))
                       for names in node.objects or ())
    return out


def effects(statements) -> list[tuple[str, str, str | None]]:
    """What the statements do to named objects, in order: ``(op, kind, name)`` as
    ``("create"|"drop"|"rename", "table"|"column"|"index"|"view"|"sequence"|"schema", "public.users.bio")``.
    A rename's name is ``old\0new``; an index's is ``index\0its table``. Each statement is parsed by PostgreSQL's
    own grammar (pglast), one walk of the top-level statements: what a ``DO`` block or a function body runs is not
    seen. A materialized view counts as a view (the catalog lists both as views)."""
    from pglast import ast

    from cruddur_ops.pg.sqlparse import parse

    out: list[tuple[str, str, str | None]] = []
    schema = "public"  # where an unqualified name goes: the first schema of the search_path the migration sets
    for statement in statements:
        node = parse(statement)
        if isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() == "search_path":
            schema = _search_path_schema(node, schema)
        else:
            out.extend(_statement_effects(node, schema))
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
    index_table: dict[str, str] = {}  # index -> its table (or materialized view)

    def children(relation: str) -> list[tuple[str, str]]:
        return ([k for k in alive if k[0] == "column" and k[1].rsplit(".", 1)[0] == relation]
                + [k for k in alive if k[0] == "index" and index_table.get(k[1]) == relation])

    def which(kind: str, name: str) -> str:
        """The kind of relation ``name`` really is (ALTER TABLE … RENAME TO also renames a view or a sequence)."""
        if kind in _RELATIONS and (kind, name) not in alive:
            return next((k for k in _RELATIONS if (k, name) in alive), kind)
        return kind

    for mig in migrations:
        for op, kind, name in effects(mig.up.statements):
            assert name is not None
            if op == "create":
                if kind == "index":
                    name, table = name.split("\0")
                    index_table[name] = table
                alive[(kind, name)] = mig.file
            elif op == "drop":
                if kind == "schema":
                    for key in [k for k in alive if k[1].startswith(f"{name}.")]:
                        alive.pop(key)
                    continue
                if kind in ("table", "view"):
                    for key in children(name):
                        alive.pop(key)
                alive.pop((kind, name), None)
            elif op == "rename":
                old, new = name.split("\0")
                kind = which(kind, old)
                if kind in ("table", "view"):
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

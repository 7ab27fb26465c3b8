"""Run a PostgreSQL schema file (``schemas/schema.sql``) without ever destroying data silently.

The file is split and parsed by PostgreSQL's own grammar (``pg.sqlparse``, libpg_query through pglast), so every
statement is known by kind and target before anything runs, and an error names the file's line.

Two ways to run it, both in one transaction:

* ``load(conn, path)`` — what ``db setup``, ``local up`` and ``doctor --fix`` do: on a database that already holds
  the file's tables, apply **only what is missing**. A DROP, TRUNCATE or DELETE of a table that exists is never
  run (not even with ``--yes``); a CREATE of a table, index, extension, schema, view, sequence or type that exists is
  skipped; a statement that changes an existing table (ALTER, INSERT, UPDATE, COMMENT…) is skipped. What is missing is
  created. Afterwards every table the file names is measured again: if one that existed lost rows or was replaced,
  the transaction is rolled back and the run is an error.
* ``load(conn, path, whole=True)`` — ``db schema-load``: every statement as written (``plan`` says beforehand which
  ones drop or empty tables that exist, so the command can ask). ``reset=True`` also drops the tables the file creates
  first, so they come back empty.

Every report is measured, not assumed: each table's OID and row count before and after, so ``recreated`` (a new
OID), ``dropped``, ``kept`` and ``created`` are what happened; ``rows_lost`` counts the rows that are gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.errors import InputError
from cruddur_ops.pg.sqlparse import Statement, refuse_unsafe, split_statements

__all__ = ["Statement", "split_statements", "created_tables", "read", "plan", "load"]

Parts = tuple[str, ...]
# SQLSTATEs of "it exists already": table, object, function, schema, column, database, extension (duplicate_object)
_EXISTS = {"42P07", "42710", "42723", "42P06", "42701", "42P04", "42P05"}


def _parts(rangevar) -> Parts:
    return (rangevar.schemaname, rangevar.relname) if rangevar.schemaname else (rangevar.relname,)


def _key(parts: Parts) -> Parts:
    """Unqualified names are the app's (public) tables."""
    return parts if len(parts) > 1 else ("public", *parts)


def _display(parts: tuple[str, ...]) -> str:
    return parts[-1] if parts[:-1] in ((), ("public",)) else ".".join(parts)


def _short(statement: Statement) -> str:
    first = " ".join(statement.text.split())
    return first if len(first) <= 80 else first[:77] + "..."


@dataclass
class Step:
    """One statement of the file, with what it does to which tables."""

    statement: Statement
    node: Any
    kind: str  # create-table | drop | truncate | delete | create-index | create | change | other
    tables: list[Parts] = field(default_factory=list)  # the tables it creates, drops, empties or changes

    @property
    def destructive(self) -> bool:
        return self.kind in ("drop", "truncate", "delete")


def _classify(statement: Statement, path: Path) -> Step:
    from pglast import ast
    from pglast.enums.parsenodes import ObjectType

    from cruddur_ops.pg.sqlparse import parse

    node = parse(statement, path=path)
    if isinstance(node, ast.CreateStmt):
        return Step(statement, node, "create-table", [_parts(node.relation)])
    if isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        return Step(statement, node, "create-table", [_parts(node.into.rel)])
    if isinstance(node, ast.DropStmt):
        tables = []
        if node.removeType in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_FOREIGN_TABLE, ObjectType.OBJECT_MATVIEW):
            tables = [tuple(s.sval for s in obj) for obj in node.objects or ()]
        return Step(statement, node, "drop", tables)
    if isinstance(node, ast.TruncateStmt):
        return Step(statement, node, "truncate", [_parts(r) for r in node.relations or ()])
    if isinstance(node, ast.DeleteStmt):
        return Step(statement, node, "delete", [_parts(node.relation)])
    if isinstance(node, ast.IndexStmt):
        return Step(statement, node, "create-index", [_parts(node.relation)])
    if type(node).__name__.startswith(("Create", "Define", "Composite")) or isinstance(node, ast.ViewStmt):
        return Step(statement, node, "create")
    relation = getattr(node, "relation", None)
    if isinstance(relation, ast.RangeVar):  # ALTER TABLE, INSERT, UPDATE, RENAME, CREATE TRIGGER's table…
        return Step(statement, node, "change", [_parts(relation)])
    return Step(statement, node, "other")


def created_tables(statements: list[Statement], path: Path | str = "") -> list[Parts]:
    """The tables the statements create, as (schema, name) or (name,), in file order."""
    tables: list[Parts] = []
    for statement in statements:
        step = _classify(statement, Path(path))
        if step.kind == "create-table" and step.tables[0] not in tables:
            tables.append(step.tables[0])
    return tables


def read(path: Path) -> tuple[str, list[Statement]]:
    """The file's text and statements; syntax errors, transaction control and standard_conforming_strings changes
    are InputErrors naming the file and line, before anything runs."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("schema file not found (pass a path, or run from the project folder)", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path) from None
    statements = split_statements(text, path=path)
    if not statements:
        raise InputError("no SQL statements in the file", path=path)
    refuse_unsafe(statements, path=path, in_transaction=True, what="a schema file")
    return text, statements


def _steps(path: Path) -> list[Step]:
    _, statements = read(path)
    return [_classify(s, path) for s in statements]


def _file_tables(steps: list[Step]) -> list[Parts]:
    """Every table the file creates, drops, empties or changes, in file order, each once."""
    seen: dict[Parts, Parts] = {}
    for step in steps:
        for parts in step.tables:
            seen.setdefault(_key(parts), parts)
    return list(seen.values())


def _measure(cur, tables: list[Parts]) -> dict[Parts, tuple[int, int] | None]:
    """(oid, rows) of each table that exists, None for the others."""
    from psycopg import sql

    out: dict[Parts, tuple[int, int] | None] = {}
    for parts in tables:
        cur.execute("SELECT to_regclass(%s)::oid", [sql.Identifier(*parts).as_string(cur.connection)])
        oid = cur.fetchone()[0]
        if oid is None:
            out[parts] = None
            continue
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*parts)))
        out[parts] = (oid, cur.fetchone()[0])
    return out


def _exists(cur, kind: str, node) -> bool | None:
    """Whether the object ``node`` creates exists already (None: cannot tell from here)."""
    from pglast import ast
    from psycopg import sql

    def regclass(*parts: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [sql.Identifier(*parts).as_string(cur.connection)])
        return cur.fetchone()[0]

    if isinstance(node, ast.CreateExtensionStmt):
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = %s)", [node.extname])
        return cur.fetchone()[0]
    if isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", [node.schemaname])
        return cur.fetchone()[0]
    if isinstance(node, ast.ViewStmt):
        return None if node.replace else regclass(*_parts(node.view))
    if isinstance(node, ast.CreateSeqStmt):
        return regclass(*_parts(node.sequence))
    if isinstance(node, ast.IndexStmt) and node.idxname and node.relation is not None:
        schema = node.relation.schemaname
        return regclass(schema, node.idxname) if schema else regclass(node.idxname)
    return None


@dataclass
class _Run:
    ran: int = 0
    skipped: list[dict] = field(default_factory=list)

    def skip(self, step: Step, reason: str) -> None:
        self.skipped.append({"line": step.statement.line, "statement": _short(step.statement), "reason": reason})


def _fail(exc, statement: Statement, path: Path):
    diag = exc.diag
    position = diag.statement_position
    line = statement.line_at(int(position)) if position else statement.line
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    sqlstate = f" [{exc.sqlstate}]" if exc.sqlstate else ""
    return InputError(f"{message}{sqlstate}; nothing was changed", path=path, line=line)


def _run_missing(cur, step: Step, before: dict, created: set[Parts], run: _Run, path: Path) -> None:
    """Run ``step`` only if it makes something that is missing, or acts on tables this run created."""
    import psycopg

    from cruddur_ops.pg.sqlparse import execute

    existed = [p for p in step.tables if before.get(_key(p)) is not None and _key(p) not in created]
    if step.kind == "drop":
        what = ", ".join(f"{_display(p)} ({before[_key(p)][1]} rows)" for p in existed)
        run.skip(step, f"setup never drops: kept {what}" if what else "setup never drops: skipped")
        return
    if step.destructive and existed:
        rows = ", ".join(f"{_display(p)} ({before[_key(p)][1]} rows)" for p in existed)
        run.skip(step, f"setup never empties a table that exists: kept {rows}")
        return
    if step.kind == "create-table":
        if existed or (_key(step.tables[0]) not in created and _exists_table(cur, step.tables[0])):
            run.skip(step, f"table {_display(step.tables[0])} exists: kept as it is")
            return
    elif step.kind == "change" and existed:
        run.skip(step, f"changes {_display(existed[0])}, which exists: left as it is (change it with a migration)")
        return
    elif step.kind == "create-index":
        exists = _exists(cur, step.kind, step.node)
        if exists:
            run.skip(step, f"index {step.node.idxname} exists")
            return
        if exists is None and existed:
            run.skip(step, f"an unnamed index on {_display(existed[0])}, which exists: cannot tell if it is there")
            return
    elif step.kind == "create" and _exists(cur, step.kind, step.node):
        run.skip(step, "exists already")
        return
    # a CREATE of a kind not checked above may find its object there: a savepoint turns that into a skip
    try:
        with cur.connection.transaction():
            execute(cur, step.statement)
    except psycopg.Error as exc:
        if step.kind in ("create", "create-index") and exc.sqlstate in _EXISTS:
            run.skip(step, f"exists already ({exc.diag.message_primary})")
            return
        raise _fail(exc, step.statement, path) from None
    run.ran += 1
    if step.kind == "create-table":
        created.add(_key(step.tables[0]))


def _exists_table(cur, parts: Parts) -> bool:
    from psycopg import sql

    cur.execute("SELECT to_regclass(%s) IS NOT NULL", [sql.Identifier(*parts).as_string(cur.connection)])
    return cur.fetchone()[0]


def _missing_columns(cur, step: Step) -> list[str]:
    """Columns the file's CREATE TABLE declares that the live table lacks (reported, never added here)."""
    from pglast import ast

    node = step.node
    if not isinstance(node, ast.CreateStmt):
        return []
    wanted = [e.colname for e in node.tableElts or () if isinstance(e, ast.ColumnDef) and e.colname]
    schema, name = _key(step.tables[0])
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                [schema, name])
    have = {r[0] for r in cur.fetchall()}
    return [c for c in wanted if c not in have]


def plan(conn, path: Path) -> dict:
    """What running ``path`` whole would destroy, read-only: the statements that drop, truncate or delete from
    tables that exist, with their rows now. ``{"file", "destructive": [{"line", "statement", "tables": [{"name",
    "rows"}]}], "rows_at_risk"}``."""
    path = Path(path)
    steps = _steps(path)
    with conn.transaction(), conn.cursor() as cur:
        before: dict[Parts, Any] = {_key(p): m for p, m in _measure(cur, _file_tables(steps)).items()}
    destructive: list[dict[str, Any]] = []
    for step in steps:
        hit = [p for p in step.tables if before.get(_key(p)) is not None]
        if step.destructive and hit:
            destructive.append({"line": step.statement.line, "statement": _short(step.statement),
                                "tables": [{"name": _display(p), "rows": before[_key(p)][1]} for p in hit]})
    at_risk = sum(t["rows"] for d in destructive for t in d["tables"])
    return {"file": str(path), "destructive": destructive, "rows_at_risk": at_risk}


def load(conn, path: Path, *, whole: bool = False, reset: bool = False) -> dict:
    """Run the schema file on ``conn`` in one transaction and report, measured, what happened to each table.

    Default (``db setup``): only what is missing (see the module docstring); ``whole``: every statement as written;
    ``reset``: drop the tables the file creates first (CASCADE), then every statement. Any error rolls everything
    back and is an InputError naming the file and line.
    Returns ``{"file", "mode", "reset", "statements", "ran", "skipped": [{"line", "statement", "reason"}],
    "tables": [{"name", "action", "rows_before", "rows_after", "rows_lost", "dropped_rows", "missing_columns"}]}``.
    """
    import psycopg
    from psycopg import sql

    from cruddur_ops.pg.sqlparse import execute, pin_session

    path = Path(path)
    steps = _steps(path)
    tables = _file_tables(steps)
    creates = [s.tables[0] for s in steps if s.kind == "create-table"]
    run = _Run()
    missing_columns: dict[Parts, list[str]] = {}
    with conn.transaction():
        with conn.cursor() as cur:
            pin_session(cur)
            before: dict[Parts, Any] = {_key(p): m for p, m in _measure(cur, tables).items()}
            if reset:
                for parts in reversed(creates):
                    cur.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(*parts)))
            if whole or reset:
                for step in steps:
                    try:
                        execute(cur, step.statement)
                    except psycopg.Error as exc:
                        raise _fail(exc, step.statement, path) from None
                    run.ran += 1
            else:
                created: set[Parts] = set()
                for step in steps:
                    _run_missing(cur, step, before, created, run, path)
                    if step.kind == "create-table" and _key(step.tables[0]) not in created:
                        missing_columns[_key(step.tables[0])] = _missing_columns(cur, step)
            after: dict[Parts, Any] = {_key(p): m for p, m in _measure(cur, tables).items()}
            if not (whole or reset):
                lost = [(p, before[_key(p)], after[_key(p)]) for p in tables if before[_key(p)] is not None
                        and (after[_key(p)] is None or after[_key(p)][0] != before[_key(p)][0]
                             or after[_key(p)][1] < before[_key(p)][1])]
                if lost:
                    what = ", ".join(f"{_display(p)} ({b[1]} rows before, {a[1] if a else 'gone'} after)"
                                     for p, b, a in lost)
                    raise InputError(f"running it would have removed rows or tables that exist: {what}; rolled back, "
                                     "nothing was changed (`cruddur db schema-load` runs a file whole, and asks)",
                                     path=path)
    report = []
    for parts in tables:
        b, a = before[_key(parts)], after[_key(parts)]
        if b is None:
            action = "created" if a is not None else "absent"
        elif a is None:
            action = "dropped"
        else:
            action = "kept" if a[0] == b[0] else "recreated"
        rows_before, rows_after = (b[1] if b else None), (a[1] if a else None)
        if action in ("dropped", "recreated"):
            lost_rows: int | None = rows_before
        elif action == "kept":
            lost_rows = max(0, (rows_before or 0) - (rows_after or 0))
        else:
            lost_rows = None
        report.append({"name": _display(parts), "action": action, "rows_before": rows_before,
                       "rows_after": rows_after, "rows_lost": lost_rows, "dropped_rows": lost_rows,
                       "missing_columns": missing_columns.get(_key(parts), [])})
    return {"file": str(path), "mode": "reset" if reset else ("whole" if whole else "missing"), "reset": reset,
            "statements": len(steps), "ran": run.ran, "skipped": run.skipped, "tables": report}

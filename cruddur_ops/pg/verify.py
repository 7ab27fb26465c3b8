"""`cruddur db migrate verify`: prove in a scratch database that each down restores and each up repeats.

In a scratch database on a local server (:mod:`cruddur_ops.pg.scratch`) every migration is applied, oldest first,
and the schema is recorded after each (``pg_dump --schema-only``, normalized, and the catalog snapshot of
:mod:`cruddur_ops.pg.catalog` that explains a difference). Then, newest first, each migration is reverted — the
schema must equal the one recorded before it — applied again — it must equal the one recorded after it — and
reverted again to go on to the next older one. A migration whose down fails, is missing, or leaves another schema,
or whose up fails or differs after its down, is named with what differs. The scratch database is always dropped.

The migrations may build on a schema file (the app's migrations alter ``users``, which ``schema.sql`` creates):
``base="auto"`` applies them to an empty database and, when the first one fails for want of a table, column or
schema, starts over on the schema file loaded first; a path loads that file first; None never loads one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.errors import CruddurError, InputError
from cruddur_ops.pg import catalog

_MISSING_OBJECT = ("[42P01]", "[42703]", "[3F000]", "[42704]")  # undefined table, column, schema, object
_NOISE = ("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict")
_PUBLIC = re.compile(r"^(CREATE SCHEMA public;|COMMENT ON SCHEMA public IS |ALTER SCHEMA public OWNER TO )")
BOOKKEEPING = ["public.schema_migrations", "public.cruddur_migrations", "public.schema_information"]


def _noop(message: str) -> None:
    pass


def normalize(sql: str) -> list[str]:
    """``pg_dump --schema-only`` text without comments, settings and blank lines; the column lines of each
    ``CREATE TABLE`` sorted (a column dropped and added back lands last: the same schema)."""
    lines = [line.rstrip() for line in sql.splitlines()]
    lines = [line for line in lines if line and not line.startswith(_NOISE) and not _PUBLIC.match(line)]
    out: list[str] = []
    block: list[str] | None = None
    for line in lines:
        if block is None:
            out.append(line)
            if line.startswith("CREATE TABLE") and line.endswith("("):
                block = []
        elif line.startswith(")"):
            out.extend(sorted(item.rstrip(",") for item in block))
            out.append(line)
            block = None
        else:
            block.append(line)
    return out


@dataclass
class State:
    dump: list[str]
    snapshot: catalog.Snapshot


class Recorder:
    """Takes a database's schema: the normalized dump and the catalog snapshot."""

    def __init__(self, db, env: Mapping[str, str]):
        from cruddur_ops.pg import dump

        self.db, self.child_env = db, env
        with db.connect(autocommit=True) as conn:
            self.tool = dump.find_tool("pg_dump", dump.server_major(conn), env)

    def state(self, *, with_dump: bool = True) -> State:
        from cruddur_ops.pg import dump

        text = ""
        if with_dump:
            args = ["--schema-only", "--no-owner", "--no-privileges"]
            args += [f"--exclude-table={t}" for t in BOOKKEEPING]
            text = dump._run(self.tool, args, self.db, self.child_env).stdout.decode("utf-8", errors="replace")
        with self.db.connect(autocommit=True) as conn:
            snap = catalog.snapshot(conn)
        return State(normalize(text), snap)


def load_base(db, path: Path) -> None:
    """Run a schema file into the (scratch) database in one transaction; an error names the file and line."""
    import psycopg

    from cruddur_ops.pg.schema import read

    _, statements = read(path)
    with db.connect() as conn, conn.transaction(), conn.cursor() as cur:
        for statement in statements:
            try:
                cur.execute(statement.text)
            except psycopg.Error as exc:
                position = exc.diag.statement_position
                line = statement.line_at(int(position)) if position else statement.line
                raise InputError(f"{exc.diag.message_primary or exc}; the base schema did not load in the scratch "
                                 "database", path=path, line=line) from None


def _reset(db) -> None:
    """Empty the scratch database: every user schema dropped, ``public`` made again."""
    from psycopg import sql

    with db.connect(autocommit=True) as conn:
        schemas = [s for (s,) in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND nspname NOT LIKE 'pg\\_%'")]
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.execute("CREATE SCHEMA public")


def build(db, folder: Path, migrations: list, base: Path | str | None, step: Callable[[Any], None],
          on_note: Callable[[str], None] = _noop) -> Path | None:
    """Apply ``migrations`` (in order, each on its own) to the empty database ``db`` after the base schema;
    ``step(None)`` after the base and ``step(migration)`` after each. Returns the base file used (or None)."""
    from cruddur_ops import defaults
    from cruddur_ops.pg import migrate

    def run(base_file: Path | None) -> None:
        if base_file is not None:
            load_base(db, base_file)
        step(None)
        for mig in migrations:
            migrate.up(db, folder, to=mig.version)
            step(mig)

    if base != "auto":
        run(Path(base) if base is not None else None)
        return Path(base) if base is not None else None
    try:
        run(None)
        return None
    except InputError as exc:
        first = migrations[0].path if migrations else None
        if exc.path != first or not any(code in str(exc) for code in _MISSING_OBJECT):
            raise
        schema_file = Path(defaults.sql_schema_file())
        on_note(f"{Path(first).name} needs an object no migration creates ({str(exc).split(': ', 1)[-1][:80]}…); "
                f"starting over on the schema file {schema_file}")
        _reset(db)
        run(schema_file)
        return schema_file


@dataclass
class VerifyRow:
    version: str
    name: str
    file: str
    down: str = "not checked"  # restores | differs | error | no down section | not checked
    up_again: str = "not checked"  # repeatable | differs | error | not checked
    problems: list[str] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    server: str
    scratch: str
    dir: str
    base: str | None
    migrations: list[VerifyRow]

    @property
    def problems(self) -> int:
        return sum(1 for row in self.migrations if row.problems)

    def to_dict(self) -> dict:
        return {"server": self.server, "scratch": self.scratch, "scratch_dropped": True, "dir": self.dir,
                "base": self.base, "checked": sum(1 for r in self.migrations if r.down != "not checked"),
                "problems": self.problems, "ok": self.problems == 0,
                "migrations": [asdict(row) for row in self.migrations]}


def _explain(row: VerifyRow, now: State, want: State, what: str) -> None:
    differences = catalog.compare(now.snapshot, want.snapshot)
    row.differences += [dict(d.to_dict(), step=what) for d in differences]
    row.diff += [f"{what}:"] + list(difflib.unified_diff(want.dump, now.dump, "expected", "got", n=1, lineterm=""))[2:40]
    detail = "; ".join(d.describe() for d in differences[:5]) or "pg_dump differs (see diff)"
    row.problems.append(f"{what}: {detail}")


def _check(sdb, folder: Path, mig, row: VerifyRow, recorder: Recorder, before: State, after: State) -> bool:
    """Revert ``mig``, apply it again, revert it again; fill ``row``. True when the database is left as it was
    before ``mig`` (else the caller builds that state again)."""
    from cruddur_ops.pg import migrate

    if not mig.down.present:
        row.down = "no down section"
        row.problems.append("no '-- migrate:down' section (or rollback_sql): it cannot be reverted")
        return False
    try:
        migrate.down(sdb, folder, steps=1)
    except CruddurError as exc:
        row.down = "error"
        row.problems.append(f"down failed: {exc}")
        return False
    now = recorder.state()
    row.down = "restores" if now.dump == before.dump else "differs"
    if row.down == "differs":
        _explain(row, now, before, "after its down")
    try:
        migrate.up(sdb, folder, to=mig.version)
    except CruddurError as exc:
        row.up_again = "error"
        after_what = "its down" if row.down == "restores" else "its down (which did not restore the schema)"
        row.problems.append(f"up after {after_what} failed: {exc}")
        return False
    again = recorder.state()
    row.up_again = "repeatable" if again.dump == after.dump else "differs"
    if row.up_again == "differs":
        _explain(row, again, after, "after its up again")
    if row.down != "restores" or row.up_again != "repeatable":
        return False
    try:
        migrate.down(sdb, folder, steps=1)
    except CruddurError as exc:
        row.problems.append(f"down after the up again failed: {exc}")
        return False
    return True


def verify(target, folder: Path, env: Mapping[str, str], *, scratch_url: str | None = None,
           base: Path | str | None = "auto", on_note: Callable[[str], None] = _noop) -> VerifyResult:
    """Apply, revert and re-apply every migration of ``folder`` in a scratch database; report each one."""
    from cruddur_ops.pg import migrate, scratch

    migrations = migrate.read_dir(folder)
    server = scratch.server_for(target, scratch_url, action="db migrate verify")
    with scratch.scratch_database(server, on_note) as sdb:
        on_note(f"scratch database {sdb.name} on {server.describe(sdb.name)}")
        recorder = Recorder(sdb, env)
        states: list[State] = []
        used = build(sdb, folder, migrations, base, lambda mig: states.append(recorder.state()), on_note)
        if used is not None and len(states) > len(migrations) + 1:
            states = states[-(len(migrations) + 1):]  # the states of the run that started over on the schema file
        rows = [VerifyRow(m.version, m.name, str(m.path)) for m in migrations]
        for i in reversed(range(len(migrations))):
            if not _check(sdb, folder, migrations[i], rows[i], recorder, states[i], states[i + 1]):
                # the database is not where the older migrations expect it: build it again up to migration i
                _reset(sdb)
                if used is not None:
                    load_base(sdb, used)
                if i > 0:
                    migrate.up(sdb, folder, to=migrations[i - 1].version)
            on_note(f"checked {migrations[i].file}: down {rows[i].down}, up again {rows[i].up_again}")
        return VerifyResult(server.masked, str(sdb.name), str(folder), str(used) if used else None, rows)

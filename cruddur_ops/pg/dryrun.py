"""`db migrate up/down --dry-run`: the SQL a run would send and the version rows it would write, sending none of it.

The database is only read, on a session the server itself keeps read-only (``default_transaction_read_only``), to
learn which migrations are applied; no advisory lock is taken and no table is created. The plan is the same
selection ``up`` and ``down`` make (``migrate``'s own helpers), so what is printed is what would run.
"""

from __future__ import annotations

from pathlib import Path

from cruddur_ops.errors import NotFoundError
from cruddur_ops.pg import migrate
from cruddur_ops.pg.migrate import CHECKSUMS_TABLE, SCHEMA, VERSIONS_TABLE, Migration


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _terminated(text: str) -> str:
    """``text;`` — on a line of its own when the statement ends in a line comment."""
    last = text.rsplit("\n", 1)[-1]
    return f"{text}\n;" if "--" in last else f"{text};"


def _version_rows(mig: Migration, direction: str) -> list[str]:
    v = _literal(mig.version)
    if direction == "up":
        return [f"INSERT INTO {SCHEMA}.{VERSIONS_TABLE} (version) VALUES ({v});",
                f"INSERT INTO {SCHEMA}.{CHECKSUMS_TABLE} (version, file, checksum) VALUES ({v}, {_literal(mig.file)}, "
                f"{_literal(mig.checksum)}) ON CONFLICT (version) DO UPDATE SET file = EXCLUDED.file, "
                "checksum = EXCLUDED.checksum, applied_at = now();"]
    return [f"DELETE FROM {SCHEMA}.{VERSIONS_TABLE} WHERE version = {v};",
            f"DELETE FROM {SCHEMA}.{CHECKSUMS_TABLE} WHERE version = {v};"]


def _entry(mig: Migration, direction: str) -> dict:
    section = mig.up if direction == "up" else mig.down
    return {"version": mig.version, "name": mig.name, "file": str(mig.path), "direction": direction,
            "transaction": section.transaction,
            "statements": [{"line": s.line, "sql": _terminated(s.text)} for s in section.statements],
            "version_rows": _version_rows(mig, direction)}


def script(doc: dict) -> str:
    """The plan as one SQL script, for people (and `psql -f` on a copy of the database)."""
    out = [f"-- cruddur db migrate {doc['action']} --dry-run on {doc['database']}: "
           f"{len(doc['migrations'])} migration(s); nothing was sent"]
    if doc.get("setup"):
        out += ["-- the version tables do not exist yet; the run would create them:", *doc["setup"]]
    for entry in doc["migrations"]:
        mode = "in one transaction with its version rows" if entry["transaction"] else "transaction:false"
        out.append(f"\n-- {Path(entry['file']).name} ({entry['direction']}, {mode})")
        if entry["transaction"]:
            out.append("BEGIN;")
        for statement in entry["statements"]:
            out += [f"-- line {statement['line']}", statement["sql"]]
        out += entry["version_rows"]
        if entry["transaction"]:
            out.append("COMMIT;")
    return "\n".join(out) + "\n"


def _read_only(db):
    conn = db.connect(autocommit=True)
    conn.execute("SET default_transaction_read_only = on")
    return conn


def plan(db, folder: Path, *, action: str, to: str | None = None, steps: int = 1) -> dict:
    """What ``up`` (``action="up"``) or ``down`` would run now, read from the database without changing it."""
    migrations = migrate.read_dir(folder)
    if action == "up" and to is not None and to not in {m.version for m in migrations}:
        raise NotFoundError(f"no migration with version {to} in {folder}")
    with _read_only(db) as conn:
        applied = migrate.applied_versions(conn)
        tables_missing = not conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                                          [f"{SCHEMA}.{CHECKSUMS_TABLE}"]).fetchone()[0]
        name = conn.info.dbname
    if action == "up":
        chosen = [m for m in migrations if m.version not in applied]
        if to is not None:
            chosen = [m for m in chosen if int(m.version) <= int(to)]
        entries = [_entry(m, "up") for m in chosen]
    else:
        entries = [_entry(m, "down") for m in migrate._to_revert(migrations, applied, steps, folder)]
    setup = []
    if action == "up" and tables_missing:
        setup = [f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{VERSIONS_TABLE} (version varchar(128) PRIMARY KEY);",
                 f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{CHECKSUMS_TABLE} (version varchar(128) PRIMARY KEY, "
                 "file text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"]
    return {"database": name, "url": db.masked, "dir": str(folder), "action": action, "dry_run": True,
            "setup": setup, "migrations": entries}

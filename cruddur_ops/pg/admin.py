"""Create, drop and look at the URL's database from the server's maintenance database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cruddur_ops.errors import CruddurError, EngineError
from cruddur_ops.pg.database import MAINTENANCE_DATABASES, Database, reason
from cruddur_ops.pg.sessions import count_sessions


def _exists(conn, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cur.fetchone() is not None


def create_database(db: Database) -> dict:
    """Create the URL's database unless it exists. ``{"database", "created"}``."""
    import psycopg
    from psycopg import sql

    name = db.require_name()
    with db.connect_maintenance() as conn:
        if _exists(conn, name):
            return {"database": name, "created": False}
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:  # created by someone else meanwhile
            return {"database": name, "created": False}
    return {"database": name, "created": True}


def drop_database(db: Database) -> dict:
    """Drop the URL's database, ending its sessions (``WITH (FORCE)``). ``{"database", "dropped", "sessions_ended"}``."""
    from psycopg import sql

    name = db.require_name()
    if name in MAINTENANCE_DATABASES or name == "template0":
        raise CruddurError(f"refusing to drop '{name}': it is one of the server's own databases")
    with db.connect_maintenance() as conn:
        if not _exists(conn, name):
            return {"database": name, "dropped": False, "sessions_ended": 0}
        sessions = count_sessions(conn, name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return {"database": name, "dropped": True, "sessions_ended": sessions}


def _table_rows(conn) -> list[dict]:
    from psycopg import sql

    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
            ORDER BY table_schema <> 'public', table_schema, table_name
            """
        )
        tables = cur.fetchall()
        rows = []
        for schema, table in tables:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))
            name = table if schema == "public" else f"{schema}.{table}"
            rows.append({"name": name, "rows": cur.fetchone()[0]})
        return rows


def status(db: Database) -> dict:
    """Reachable or not, server version, the database's size and row counts; never raises for an unreachable server.

    ``{"url", "source", "database", "reachable", "exists", "server_version", "size_bytes", "tables", "error"}``
    """
    doc: dict[str, Any] = {
        "url": db.masked, "source": db.source, "database": db.name, "reachable": False, "exists": None,
        "server_version": None, "size_bytes": None, "tables": [], "error": None,
    }
    try:
        conn = db.connect()
    except EngineError as exc:
        doc["error"] = str(exc)
        # the server may answer while the database is missing: ask the maintenance database
        try:
            maintenance = db.connect_maintenance()
        except EngineError:
            return doc
        with maintenance:
            doc.update(reachable=True, server_version=maintenance.info.parameter_status("server_version"))
            if db.name:
                doc["exists"] = _exists(maintenance, db.name)
                if not doc["exists"]:
                    doc["error"] = None
        return doc
    with conn:
        doc.update(
            reachable=True, exists=True, database=conn.info.dbname,
            server_version=conn.info.parameter_status("server_version"),
        )
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            doc["size_bytes"] = cur.fetchone()[0]
        doc["tables"] = _table_rows(conn)
    return doc


def wait_until_up(
    db: Database,
    seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 0.5,
) -> float:
    """Wait until the server answers (the database itself may still be missing); return the seconds waited."""
    import psycopg

    started = clock()
    deadline = started + seconds
    last = "no attempt made"
    while True:
        for name in (db.name, db.maintenance_name):
            try:
                psycopg.connect(db.conninfo(name), connect_timeout=max(1, min(3, int(deadline - clock()) or 1))).close()
                return clock() - started
            except psycopg.OperationalError as exc:
                last = reason(exc)
        if clock() + interval > deadline:
            raise EngineError(f"no answer from {db.masked} within {seconds:g} s: {last}")
        sleep(interval)

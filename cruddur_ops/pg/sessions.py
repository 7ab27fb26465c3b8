"""The sessions connected to a database (``pg_stat_activity``), and ending them."""

from __future__ import annotations

# Longest query text shown per session (after masking); longer ones end in "…".
MAX_QUERY_CHARS = 200

# Client backends of the current database, except the session asking.
_OTHERS = """
    FROM pg_stat_activity
    WHERE datname = current_database()
      AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()
"""

# Whether the current user may terminate a backend; asking pg_terminate_backend otherwise raises an error.
_MAY_SIGNAL = """(
    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    OR pg_has_role(usesysid, 'MEMBER')
    OR (pg_has_role('pg_signal_backend', 'MEMBER') AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = usesysid))
)"""


def shown_query(query: str | None) -> str | None:
    """A session's query as ``db sessions`` shows it: password literals masked, cut to ``MAX_QUERY_CHARS``."""
    from cruddur_ops.pg.database import mask_sql

    if not query:
        return None
    query = mask_sql(query)
    return query if len(query) <= MAX_QUERY_CHARS else query[: MAX_QUERY_CHARS - 1] + "…"


def list_sessions(conn) -> list[dict]:
    """Every other session on ``conn``'s database: pid, user, application, client, state, since, and the query
    (password literals masked, long ones cut short; see :func:`shown_query`)."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT pid, usename, application_name,
                   CASE WHEN client_addr IS NULL THEN 'local socket'
                        ELSE host(client_addr) || ':' || client_port END,
                   state, coalesce(state_change, backend_start), query
            """ + _OTHERS + " ORDER BY backend_start, pid"
        )
        return [
            {
                "pid": pid,
                "user": user,
                "application": application or None,
                "client": client,
                "state": state,
                "since": since.isoformat() if since else None,
                "query": shown_query(query),
            }
            for pid, user, application, client, state, since, query in cur.fetchall()
        ]


def end_sessions(conn, pids: list[int] | None = None) -> dict:
    """Terminate every other session on ``conn``'s database (only those of ``pids`` when given: the sessions a
    user was shown and agreed to end); report which ended and which could not be."""
    only = " AND pid = ANY(%s)" if pids is not None else ""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pid, usename, application_name, CASE WHEN " + _MAY_SIGNAL + " THEN pg_terminate_backend(pid) END"
            + _OTHERS + only + " ORDER BY pid", [list(pids)] if pids is not None else None
        )
        rows = cur.fetchall()
    ended = [{"pid": pid, "user": user, "application": app or None} for pid, user, app, ok in rows if ok]
    refused = [{"pid": pid, "user": user, "application": app or None} for pid, user, app, ok in rows if not ok]
    return {"ended": ended, "not_ended": refused}


def count_sessions(conn, dbname: str) -> int:
    """How many sessions are connected to ``dbname`` (asked from another database)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [dbname]
        )
        return cur.fetchone()[0]

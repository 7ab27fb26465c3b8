"""cruddur_ops.pg.sessions: listing and ending the other sessions of the database."""

from __future__ import annotations

import psycopg
import pytest

from cruddur_ops.pg import sessions
from cruddur_ops.pg.database import Database

pytestmark = pytest.mark.integration


def test_list_shows_other_sessions_and_not_its_own(pg_url):
    other = psycopg.connect(pg_url, application_name="someone-else", connect_timeout=3)
    try:
        with Database.from_url(pg_url).connect(autocommit=True) as conn:
            rows = sessions.list_sessions(conn)
            own = conn.info.backend_pid
        assert other.info.backend_pid in [r["pid"] for r in rows]
        assert own not in [r["pid"] for r in rows]
        row = next(r for r in rows if r["pid"] == other.info.backend_pid)
        assert row["application"] == "someone-else" and row["user"] == "postgres"
        assert row["client"].startswith("127.0.0.1:") and row["state"] == "idle" and "T" in row["since"]
    finally:
        other.close()


def test_end_sessions_ends_the_others_and_keeps_its_own(pg_url):
    others = [psycopg.connect(pg_url, connect_timeout=3) for _ in range(2)]
    try:
        with Database.from_url(pg_url).connect(autocommit=True) as conn:
            result = sessions.end_sessions(conn)
            assert sorted(r["pid"] for r in result["ended"]) == sorted(o.info.backend_pid for o in others)
            assert result["not_ended"] == []
            assert conn.execute("SELECT 1").fetchone() == (1,)
        for other in others:
            with pytest.raises(psycopg.OperationalError):
                other.execute("SELECT 1")
    finally:
        for other in others:
            other.close()


def test_other_sessions_queries_are_masked_and_cut_short(pg_url):
    other = psycopg.connect(pg_url, application_name="rotating-passwords", connect_timeout=3)
    long_one = psycopg.connect(pg_url, application_name="long-query", connect_timeout=3)
    try:
        other.execute("SELECT 1 -- ALTER ROLE mira PASSWORD 'Hunter2 secret', postgresql://app:Hunter2url@h.invalid/db")
        long_one.execute("SELECT " + ", ".join(f"{i} AS column_{i}" for i in range(200)))
        with Database.from_url(pg_url).connect(autocommit=True) as conn:
            rows = {r["application"]: r for r in sessions.list_sessions(conn)}
        query = rows["rotating-passwords"]["query"]
        assert "Hunter2" not in query
        assert query == "SELECT 1 -- ALTER ROLE mira PASSWORD '***', postgresql://app:***@h.invalid/db"
        shown = rows["long-query"]["query"]
        assert len(shown) == sessions.MAX_QUERY_CHARS and shown.endswith("…") and shown.startswith("SELECT 0 AS column_0")
    finally:
        other.close()
        long_one.close()

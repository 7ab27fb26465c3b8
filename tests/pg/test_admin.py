"""cruddur_ops.pg.admin: create, drop (with open sessions), status and waiting for the server."""

from __future__ import annotations

import psycopg
import pytest

from cruddur_ops.errors import CruddurError, EngineError
from cruddur_ops.pg import admin, schema
from cruddur_ops.pg.database import Database
from tests.pg.fixtures import PASSWORD, database_exists, url_for

pytestmark = pytest.mark.integration


def test_create_is_idempotent_and_drop_ends_open_sessions(new_db):
    db = Database.from_url(url_for(new_db))
    assert admin.create_database(db) == {"database": new_db, "created": True}
    assert admin.create_database(db) == {"database": new_db, "created": False}
    held = psycopg.connect(url_for(new_db), connect_timeout=3)
    try:
        assert admin.drop_database(db) == {"database": new_db, "dropped": True, "sessions_ended": 1}
    finally:
        held.close()
    assert not database_exists(new_db)
    assert admin.drop_database(db) == {"database": new_db, "dropped": False, "sessions_ended": 0}


def test_the_servers_own_databases_are_never_dropped():
    with pytest.raises(CruddurError, match="server's own"):
        admin.drop_database(Database.from_url("postgresql://postgres@127.0.0.1:5432/postgres"))


def test_status_reports_version_size_and_rows(pg_url, schema_sql):
    db = Database.from_url(pg_url)
    with db.connect() as conn:
        schema.load(conn, schema_sql)
        conn.execute("INSERT INTO users (display_name, handle) VALUES ('A', 'a')")
    doc = admin.status(db)
    assert doc["reachable"] is True and doc["exists"] is True and doc["error"] is None
    assert doc["server_version"].split(".")[0].isdigit() and doc["size_bytes"] > 0
    assert doc["tables"] == [{"name": "activities", "rows": 0}, {"name": "users", "rows": 1}]
    assert PASSWORD not in doc["url"]


def test_status_of_a_missing_database_is_reachable_but_not_existing(scratch_db):
    doc = admin.status(Database.from_url(url_for(scratch_db + "_missing")))
    assert (doc["reachable"], doc["exists"], doc["error"]) == (True, False, None)


def test_status_of_an_unreachable_server_says_why_without_the_password():
    doc = admin.status(Database.from_url(f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/cruddur"))
    assert doc["reachable"] is False and "refused" in doc["error"] and PASSWORD not in str(doc)


def test_wait_returns_at_once_when_the_server_answers(scratch_db):
    assert admin.wait_until_up(Database.from_url(url_for(scratch_db + "_missing")), 5) < 3


def test_wait_gives_up_after_the_deadline():
    now = [0.0]
    with pytest.raises(EngineError, match=r"no answer from postgresql://postgres:\*\*\*@127.0.0.1:1/x within 2 s"):
        admin.wait_until_up(Database.from_url(f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"), 2,
                            clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert now[0] >= 1.5

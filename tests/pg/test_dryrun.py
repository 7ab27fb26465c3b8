"""`db migrate up/down --dry-run` (issue 23): the SQL and version rows are printed; nothing is written."""

from __future__ import annotations

import json

import psycopg
import pytest

from cruddur_ops.pg import admin, migrate
from cruddur_ops.pg.database import Database
from tests.pg.fixtures import url_for
from tests.pg.test_migrate import TEAM_COLOUR, TEAMS

pytestmark = pytest.mark.integration


@pytest.fixture
def db(new_db):
    database = Database.from_url(url_for(new_db))
    admin.create_database(database)
    return database


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20260101000000_teams.sql").write_text(TEAMS)
    (folder / "20260102000000_team_colour.sql").write_text(TEAM_COLOUR)
    return folder


def _catalog(db: Database):
    """Everything a write could change: the tables with their columns, and the version rows."""
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        columns = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                               "WHERE table_schema = 'public' ORDER BY 1, 2").fetchall()
        versions = (conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
                    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] else None)
    return columns, versions


def test_up_dry_run_prints_sql_and_version_rows_and_writes_nothing(cli, db, folder):
    before = _catalog(db)
    assert before == ([], None)
    result = cli("db", "migrate", "up", "--dry-run", "--migrations-dir", folder, "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is True and doc["action"] == "up"
    assert [m["version"] for m in doc["migrations"]] == ["20260101000000", "20260102000000"]
    first = doc["migrations"][0]
    assert first["statements"][0] == {"line": 2, "sql": "CREATE TABLE teams (\n  id serial PRIMARY KEY,\n  name text NOT NULL\n);"}
    assert first["version_rows"][0] == "INSERT INTO public.schema_migrations (version) VALUES ('20260101000000');"
    assert doc["setup"][0].startswith("CREATE TABLE IF NOT EXISTS public.schema_migrations")
    assert "nothing was sent" in result.stderr
    assert _catalog(db) == before  # no version table, no teams

    script = cli("db", "migrate", "up", "--dry-run", "--migrations-dir", folder, "-o", "table").stdout
    assert "BEGIN;\n-- line 2\nCREATE TABLE teams" in script
    assert "INSERT INTO public.schema_migrations (version) VALUES ('20260102000000');\nINSERT INTO public.cruddur_migrations" in script
    assert script.endswith("applied_at = now();\nCOMMIT;\n")
    assert _catalog(db) == before


def test_dry_runs_after_a_real_up_name_only_what_is_pending_or_would_be_reverted(cli, db, folder):
    migrate.up(db, folder, to="20260101000000")
    before = _catalog(db)
    up = cli.json("db", "migrate", "up", "--dry-run", "--migrations-dir", folder)
    assert [m["file"].rsplit("/", 1)[-1] for m in up["migrations"]] == ["20260102000000_team_colour.sql"]
    assert up["setup"] == []
    down = cli.json("db", "migrate", "down", "--dry-run", "--migrations-dir", folder)  # no --yes: nothing is asked
    (entry,) = down["migrations"]
    assert entry["direction"] == "down" and entry["statements"] == [{"line": 9, "sql": "DROP TABLE teams;"}]
    assert entry["version_rows"][0] == "DELETE FROM public.schema_migrations WHERE version = '20260101000000';"
    assert _catalog(db) == before
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        assert conn.execute("SELECT count(*) FROM teams").fetchone()[0] == 1

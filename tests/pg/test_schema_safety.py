"""Issue 20: a schema file that begins with DROP TABLE IF EXISTS (as the app's own does) never destroys data
through `db setup`; only `db schema-load` runs it whole, asks first, and reports the rows it lost (measured)."""

from __future__ import annotations

import json

import psycopg
import pytest

from cruddur_ops.errors import InputError
from cruddur_ops.pg import admin, schema
from cruddur_ops.pg.database import Database
from cruddur_ops.pg.setup import SeedInput, setup_database
from tests.pg.fixtures import url_for

pytestmark = pytest.mark.integration

# shaped like the app's own backend-flask/db/schema.sql (week 4)
APP_SCHEMA = """\
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

DROP TABLE IF EXISTS public.users;
DROP TABLE IF EXISTS public.activities;

CREATE TABLE public.users (
  uuid UUID DEFAULT uuid_generate_v4() PRIMARY KEY,
  display_name text NOT NULL,
  handle text NOT NULL,
  email text NOT NULL,
  cognito_user_id text NOT NULL,
  created_at TIMESTAMP default current_timestamp NOT NULL
);

CREATE TABLE public.activities (
  uuid UUID DEFAULT uuid_generate_v4() PRIMARY KEY,
  user_uuid UUID NOT NULL,
  message text NOT NULL,
  replies_count integer DEFAULT 0,
  reposts_count integer DEFAULT 0,
  likes_count integer DEFAULT 0,
  reply_to_activity_uuid integer,
  expires_at TIMESTAMP,
  created_at TIMESTAMP default current_timestamp NOT NULL
);
"""

BIO = """\
-- migrate:up
ALTER TABLE users ADD COLUMN bio text;

-- migrate:down
ALTER TABLE users DROP COLUMN bio;
"""


@pytest.fixture
def files(tmp_path):
    schema_path = tmp_path / "schema.sql"
    schema_path.write_text(APP_SCHEMA)
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20230501000000_add_bio_column.sql").write_text(BIO)
    return schema_path, migrations


@pytest.fixture
def db(new_db):
    database = Database.from_url(url_for(new_db))
    admin.create_database(database)
    return database


def _q(db: Database, query: str):
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        return conn.execute(query).fetchall()


def _app_writes(db: Database) -> None:
    """What the app does between two setups: a user signs up, posts, fills in the bio of the migration."""
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        uuid = conn.execute("INSERT INTO users (display_name, handle, email, cognito_user_id) "
                            "VALUES ('Ada', 'ada', 'ada@cruddur.test', 'sub-ada') RETURNING uuid").fetchone()[0]
        conn.execute("INSERT INTO activities (user_uuid, message) VALUES (%s, 'one'), (%s, 'two')", [uuid, uuid])
        conn.execute("UPDATE users SET bio = 'writes SQL' WHERE handle = 'ada'")


def test_setup_twice_keeps_rows_and_the_migrated_column(db, files, tmp_path):
    schema_path, migrations = files
    no_seed = SeedInput(tmp_path / "none.yaml", [], [], None)
    first = setup_database(db, seed=no_seed, schema_path=schema_path, migrations_dir=migrations)
    assert [(t["name"], t["action"]) for t in first["schema"]["tables"]] == [("users", "created"), ("activities", "created")]
    assert [m["name"] for m in first["migrations"]["done"]] == ["add_bio_column"]
    _app_writes(db)

    for _ in range(2):
        again = setup_database(db, seed=no_seed, schema_path=schema_path, migrations_dir=migrations)
        tables = {t["name"]: t for t in again["schema"]["tables"]}
        assert {n: (t["action"], t["rows_before"], t["rows_after"], t["rows_lost"]) for n, t in tables.items()} == {
            "users": ("kept", 1, 1, 0), "activities": ("kept", 2, 2, 0)}
        skipped = {s["line"]: s["reason"] for s in again["schema"]["skipped"]}
        assert skipped[3] == "setup never drops: kept users (1 rows)"
        assert skipped[4] == "setup never drops: kept activities (2 rows)"
        assert "table users exists" in skipped[6]
        assert again["changed"] is False and again["migrations"]["done"] == []
    assert _q(db, "SELECT handle, bio, cognito_user_id FROM users") == [("ada", "writes SQL", "sub-ada")]
    assert _q(db, "SELECT count(*) FROM activities") == [(2,)]


def test_a_fresh_database_gets_everything_and_the_extension(db, files):
    schema_path, _ = files
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        report = schema.load(conn, schema_path)
    assert report["mode"] == "missing" and report["ran"] == 3  # extension and the two tables; the DROPs skipped
    assert _q(db, "SELECT count(*) FROM pg_extension WHERE extname = 'uuid-ossp'") == [(1,)]


def test_missing_mode_creates_only_what_is_missing(db, files):
    schema_path, _ = files
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE users (uuid uuid PRIMARY KEY, handle text NOT NULL)")
        conn.execute("INSERT INTO users VALUES (gen_random_uuid(), 'bo')")
        conn.commit()
        report = schema.load(conn, schema_path)
    tables = {t["name"]: t for t in report["tables"]}
    assert tables["users"]["action"] == "kept" and tables["activities"]["action"] == "created"
    # the file's columns the kept table lacks are reported, not added
    assert tables["users"]["missing_columns"] == ["display_name", "email", "cognito_user_id", "created_at"]
    assert _q(db, "SELECT handle FROM users") == [("bo",)]


def test_a_statement_that_would_remove_rows_anyway_rolls_everything_back(db, tmp_path):
    path = tmp_path / "sneaky.sql"
    path.write_text("CREATE TABLE IF NOT EXISTS keep (id int);\nCREATE TABLE fresh (id int);\n"
                    "DO $$ BEGIN EXECUTE 'DELETE FROM keep'; END $$;\n")
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE keep (id int)")
        conn.execute("INSERT INTO keep VALUES (1), (2)")
        conn.commit()
        with pytest.raises(InputError, match=r"would have removed rows or tables that exist: keep \(2 rows before, 0 after\)"):
            schema.load(conn, path)
    assert _q(db, "SELECT count(*) FROM keep") == [(2,)]
    assert _q(db, "SELECT to_regclass('fresh') IS NULL") == [(True,)]


def test_schema_load_asks_then_reports_the_rows_it_lost(cli, db, files):
    schema_path, migrations = files
    cli("db", "schema-load", schema_path)  # a fresh database: nothing exists, nothing to ask
    cli("db", "migrate", "up", "--migrations-dir", migrations)
    _app_writes(db)

    refused = cli("db", "schema-load", schema_path, ok=False)
    assert refused.exit_code == 7 and "pass --yes" in refused.stderr
    assert _q(db, "SELECT count(*) FROM users") == [(1,)]

    done = cli("db", "schema-load", schema_path, "--yes", "-o", "json")
    doc = json.loads(done.stdout)
    tables = {t["name"]: (t["action"], t["rows_before"], t["rows_after"], t["rows_lost"]) for t in doc["tables"]}
    assert tables == {"users": ("recreated", 1, 0, 1), "activities": ("recreated", 2, 0, 2)}
    assert "table users recreated: 1 row(s) lost" in done.stderr
    assert "migrate status" in done.stderr
    assert _q(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'bio'") == [(0,)]


SEED = """\
users:
  - {handle: ada, display_name: Ada Quist, email: ada@cruddur.test, cognito_user_id: MOCK}
  - {handle: bo, display_name: Bo Ström, email: bo@cruddur.test, cognito_user_id: MOCK}
conversations:
  - between: [ada, bo]
    messages:
      - ada: ping
"""


def test_cli_setup_twice_with_the_apps_schema_keeps_what_the_app_wrote(cli, db, files, tmp_path):
    schema_path, _ = files
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    first = json.loads(cli("db", "setup", seed, "--schema", schema_path, "-o", "json").stdout)
    assert [t["action"] for t in first["schema"]["tables"]] == ["created", "created"]
    with psycopg.connect(db.url, connect_timeout=3) as conn:  # the app: a post, a bio (the shipped bio migration)
        conn.execute("INSERT INTO activities (user_uuid, message) SELECT uuid, 'from the app' FROM users WHERE handle = 'ada'")
        conn.execute("UPDATE users SET bio = 'writes SQL', cognito_user_id = 'sub-ada' WHERE handle = 'ada'")
    for _ in range(2):
        again = cli("db", "setup", seed, "--schema", schema_path, "-o", "json")
        doc = json.loads(again.stdout)
        assert [(t["name"], t["action"], t["rows_before"], t["rows_after"]) for t in doc["schema"]["tables"]] == [
            ("users", "kept", 2, 2), ("activities", "kept", 1, 1)]
        assert "schema.sql:3: skipped DROP TABLE IF EXISTS public.users: setup never drops: kept users (2 rows)" in again.stderr
        assert doc["changed"] is False
    assert _q(db, "SELECT bio, cognito_user_id FROM users WHERE handle = 'ada'") == [("writes SQL", "sub-ada")]
    assert _q(db, "SELECT message FROM activities") == [("from the app",)]

"""pg/migrate.py on the real PostgreSQL: dbmate files, one transaction per migration, checksums, the lock."""

from __future__ import annotations

import threading
import time
from datetime import UTC
from pathlib import Path

import psycopg
import pytest

from cruddur_ops import defaults
from cruddur_ops.errors import InputError, NotFoundError
from cruddur_ops.pg import migrate
from cruddur_ops.pg.database import Database
from tests.pg.fixtures import PASSWORD, new_db, url_for  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

TEAMS = """\
-- migrate:up
CREATE TABLE teams (
  id serial PRIMARY KEY,
  name text NOT NULL
);
INSERT INTO teams (name) VALUES ('blue');

-- migrate:down
DROP TABLE teams;
"""

TEAM_COLOUR = """\
-- migrate:up
ALTER TABLE teams ADD COLUMN colour text;

-- migrate:down
ALTER TABLE teams DROP COLUMN colour;
"""

# the second statement fails on line 5 of the file: the first must not be kept
BROKEN = """\
-- migrate:up
CREATE TABLE players (id serial PRIMARY KEY);
INSERT INTO players DEFAULT VALUES;
INSERT INTO players (id)
VALUES (nope);

-- migrate:down
DROP TABLE players;
"""


@pytest.fixture
def db(new_db):
    from cruddur_ops.pg import admin

    database = Database.from_url(url_for(new_db))
    admin.create_database(database)
    return database


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20260101000000_teams.sql").write_text(TEAMS)
    (folder / "20260102000000_team_colour.sql").write_text(TEAM_COLOUR)
    return folder


def _query(db: Database, sql: str):
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        return conn.execute(sql).fetchall()


def _states(db, folder) -> dict[str, str]:
    return {row.version: row.state for row in migrate.status(db, folder).migrations}


def test_up_down_redo_and_status(db, folder):
    assert _states(db, folder) == {"20260101000000": "pending", "20260102000000": "pending"}
    result = migrate.up(db, folder)
    assert [r.version for r in result.done] == ["20260101000000", "20260102000000"]
    assert (result.applied, result.pending) == (2, 0)
    assert result.files == [str(folder / "20260101000000_teams.sql"), str(folder / "20260102000000_team_colour.sql")]
    assert _query(db, "SELECT name, colour FROM teams") == [("blue", None)]
    # dbmate's table, exactly as dbmate makes it, holds the versions
    assert _query(db, "SELECT data_type FROM information_schema.columns WHERE table_name = 'schema_migrations'") == [
        ("character varying",)]
    assert _query(db, "SELECT version FROM schema_migrations ORDER BY 1") == [("20260101000000",), ("20260102000000",)]
    assert migrate.up(db, folder).done == []  # nothing left

    reverted = migrate.down(db, folder, steps=1)
    assert [(r.version, r.state) for r in reverted.done] == [("20260102000000", "reverted")]
    assert _query(db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'teams' ORDER BY 1") == [
        ("id",), ("name",)]
    assert _states(db, folder)["20260102000000"] == "pending"

    migrate.up(db, folder)
    redone = migrate.down(db, folder, redo=True)
    assert [(r.version, r.state) for r in redone.done] == [("20260102000000", "reverted"), ("20260102000000", "applied")]
    assert _states(db, folder) == {"20260101000000": "applied", "20260102000000": "applied"}

    migrate.down(db, folder, steps=2)
    assert _query(db, "SELECT to_regclass('teams') IS NULL") == [(True,)]
    assert _query(db, "SELECT count(*) FROM schema_migrations") == [(0,)]


def test_up_to_a_version_stops_there(db, folder):
    result = migrate.up(db, folder, to="20260101000000")
    assert [r.version for r in result.done] == ["20260101000000"] and result.pending == 1
    with pytest.raises(NotFoundError, match="no migration with version 20991231000000"):
        migrate.up(db, folder, to="20991231000000")


def test_a_failing_migration_keeps_nothing_of_itself_and_names_file_and_line(db, folder):
    migrate.up(db, folder)
    broken = folder / "20260103000000_players.sql"
    broken.write_text(BROKEN)
    with pytest.raises(InputError) as err:
        migrate.up(db, folder)
    message = str(err.value)
    assert message.startswith(f"{broken}:5: column \"nope\" does not exist")
    assert "rolled back, nothing of it was kept" in message
    assert _query(db, "SELECT to_regclass('players') IS NULL") == [(True,)]  # the CREATE TABLE was rolled back too
    assert _states(db, folder)["20260103000000"] == "pending"
    assert PASSWORD not in message


def test_an_edited_applied_file_and_a_missing_file_are_reported(db, folder):
    migrate.up(db, folder)
    (folder / "20260102000000_team_colour.sql").write_text(TEAM_COLOUR.replace("colour text", "colour varchar(20)"))
    (folder / "20260101000000_teams.sql").rename(folder.parent / "elsewhere.sql")
    rows = {r.version: r for r in migrate.status(db, folder).migrations}
    assert rows["20260102000000"].state == "edited"
    assert rows["20260101000000"].state == "missing" and rows["20260101000000"].file == "20260101000000_teams.sql"
    with pytest.raises(NotFoundError, match="20260101000000 is applied but its file is not in"):
        migrate.down(db, folder, steps=2)


GATE = 727_001  # an advisory lock the test holds: the slow migration waits on it, so the two runs overlap for sure


def _wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_two_concurrent_ups_apply_each_migration_once(db, folder):
    slow = folder / "20260101500000_slow.sql"
    slow.write_text("-- migrate:up\nCREATE TABLE slow_log (at timestamptz DEFAULT now());\n"
                    f"INSERT INTO slow_log DEFAULT VALUES;\nSELECT pg_advisory_xact_lock({GATE});\n\n"
                    "-- migrate:down\nDROP TABLE slow_log;\n")
    results, errors, notes = [], [], []

    def run():
        try:
            results.append(migrate.up(db, folder, on_note=notes.append))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    def gate_waiters() -> int:
        return _query(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                          f"AND objid = {GATE}")[0][0]

    threads = [threading.Thread(target=run) for _ in range(2)]
    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", [GATE])
        threads[0].start()
        _wait_for(lambda: gate_waiters() == 1, "the first run reached the slow migration")
        threads[1].start()
        _wait_for(lambda: any("waiting for it to finish" in n for n in notes) or errors,
                  "the second run found the first one's lock")
        gate.execute("SELECT pg_advisory_unlock(%s)", [GATE])
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(len(r.done) for r in results) == [0, 3]  # one run applied all three, the other none
    assert any("waiting for it to finish" in n for n in notes)
    assert _query(db, "SELECT count(*) FROM slow_log") == [(1,)]
    assert _query(db, "SELECT count(*) FROM teams") == [(1,)]


def test_transaction_false_runs_outside_a_transaction(db, folder):
    migrate.up(db, folder)
    (folder / "20260104000000_concurrent_index.sql").write_text(
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY teams_name_idx ON teams (name);\n\n"
        "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY teams_name_idx;\n")
    assert [r.version for r in migrate.up(db, folder).done] == ["20260104000000"]
    assert _query(db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'teams_name_idx'") == [(1,)]
    migrate.down(db, folder)
    assert _query(db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'teams_name_idx'") == [(0,)]


@pytest.mark.parametrize("text, message", [
    ("CREATE TABLE x (id int);\n", "no '-- migrate:up' line"),
    ("CREATE TABLE x (id int);\n-- migrate:up\nSELECT 1;\n", ":1: SQL before the first '-- migrate:' line"),
    ("-- migrate:up transaction:maybe\nSELECT 1;\n", ":1: unknown migration option 'transaction:maybe'"),
    ("-- migrate:up\nBEGIN;\nSELECT 1;\nCOMMIT;\n", ":2: transaction control"),
    ("-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n", ":3: a second '-- migrate:up' section"),
])
def test_bad_files_are_refused_before_anything_runs(db, folder, text, message):
    bad = folder / "20260109000000_bad.sql"
    bad.write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")) as err:
        migrate.up(db, folder)
    assert str(bad) in str(err.value)
    assert _query(db, "SELECT to_regclass('teams') IS NULL") == [(True,)]  # the good files did not run either


def test_new_writes_both_sections(tmp_path):
    from datetime import datetime

    path = migrate.new(tmp_path / "m", "add bio", now=datetime(2026, 12, 1, 5, 6, 7, tzinfo=UTC))
    assert path.name == "20261201050607_add_bio.sql"
    parsed = migrate.parse(path)
    assert parsed.up.present and parsed.down.present and parsed.version == "20261201050607"
    with pytest.raises(InputError, match="is taken by"):
        migrate.new(tmp_path / "m", "again", now=datetime(2026, 12, 1, 5, 6, 7, tzinfo=UTC))


def test_the_shipped_migrations_give_the_apps_later_schema(db):
    from cruddur_ops.pg.setup import setup_database

    first = setup_database(db)
    assert [m["name"] for m in first["migrations"]["done"]] == ["add_bio_to_users", "reply_to_activity_uuid_as_uuid"]
    assert first["migrations"]["dir"] == str(defaults.shipped_dir("migrations"))
    with psycopg.connect(db.url, connect_timeout=3) as conn:
        # the app's later profile query and update
        handle = conn.execute("SELECT handle FROM users ORDER BY handle LIMIT 1").fetchone()[0]
        conn.execute("UPDATE users SET bio = %s WHERE handle = %s", ["Writes SQL for fun.", handle])
        profile = conn.execute(
            "SELECT users.uuid, users.handle, users.display_name, users.bio, "
            "(SELECT count(true) FROM public.activities WHERE activities.user_uuid = users.uuid) AS cruds_count "
            "FROM public.users WHERE users.handle = %s", [handle]).fetchone()
        assert profile[3] == "Writes SQL for fun."
        parent = conn.execute("SELECT uuid, user_uuid FROM activities LIMIT 1").fetchone()
        conn.execute("INSERT INTO activities (user_uuid, message, reply_to_activity_uuid) VALUES (%s, 'a reply', %s)",
                     [parent[1], parent[0]])
    second = setup_database(db)
    assert second["changed"] is False and second["migrations"]["done"] == []


def test_a_database_dbmate_migrated_counts_as_applied_and_gets_checksums(db, folder):
    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        # what `dbmate up` leaves: its table, its version rows, no checksums of ours
        conn.execute("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)")
        conn.execute("CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO schema_migrations VALUES ('20260101000000')")
    assert _states(db, folder) == {"20260101000000": "applied", "20260102000000": "pending"}
    assert [r.version for r in migrate.up(db, folder).done] == ["20260102000000"]
    assert _query(db, "SELECT count(*) FROM cruddur_migrations") == [(2,)]
    (folder / "20260101000000_teams.sql").write_text(TEAMS + "\n-- edited\n")
    assert _states(db, folder)["20260101000000"] == "edited"


def test_a_missing_folder_is_an_error_not_nothing_to_do(db, tmp_path):
    with pytest.raises(InputError, match="migrations folder not found"):
        migrate.up(db, tmp_path / "typo")

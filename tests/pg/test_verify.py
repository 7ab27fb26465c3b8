"""pg/verify.py, pg/drift.py, pg/scratch.py and pg/catalog.py on the session's private PostgreSQL cluster."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from cruddur_ops import defaults
from cruddur_ops.errors import InputError, NotFoundError, ProdGuardError
from cruddur_ops.pg import drift, migrate, scratch, verify
from cruddur_ops.pg.database import Database
from tests.pg.fixtures import PASSWORD, database_exists, new_db, url_for  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

TEAMS = """\
-- migrate:up
CREATE TABLE teams (
  id serial PRIMARY KEY,
  name text NOT NULL
);
CREATE INDEX teams_name_idx ON teams (name);

-- migrate:down
DROP TABLE teams;
"""

# the down forgets one of the two columns its up adds
TEAM_DETAILS_FORGETFUL = """\
-- migrate:up
ALTER TABLE teams ADD COLUMN colour text NOT NULL DEFAULT 'blue', ADD COLUMN motto text;

-- migrate:down
ALTER TABLE teams DROP COLUMN motto;
"""

PLAYERS = """\
-- migrate:up
CREATE TABLE players (id serial PRIMARY KEY, team_id int REFERENCES teams (id), handle text UNIQUE);

-- migrate:down
DROP TABLE players;
"""


@pytest.fixture
def db(new_db):
    from cruddur_ops.pg import admin

    database = Database.from_url(url_for(new_db))
    admin.create_database(database)
    return database


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def forgetful(tmp_path) -> Path:
    return _folder(tmp_path, {"20260101000000_teams.sql": TEAMS,
                              "20260102000000_team_details.sql": TEAM_DETAILS_FORGETFUL,
                              "20260103000000_players.sql": PLAYERS})


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "")}


def _leftovers(db: Database) -> list[str]:
    return scratch.leftovers(db)


def test_verify_names_the_down_that_forgets_a_column_and_leaves_nothing(db, forgetful):
    notes: list[str] = []
    result = verify.verify(db, forgetful, _env(), base=None, on_note=notes.append)
    rows = {row.version: row for row in result.migrations}
    assert (rows["20260103000000"].down, rows["20260103000000"].up_again) == ("restores", "repeatable")
    bad = rows["20260102000000"]
    assert bad.down == "differs"
    assert any("column public.teams.colour should not be there" in p for p in bad.problems)
    assert [d["kind"] for d in bad.differences] == ["extra_column"]
    assert any("colour" in line for line in bad.diff)
    assert bad.up_again == "error" and "already exists" in bad.problems[-1]
    assert rows["20260101000000"].down == "restores", rows["20260101000000"]  # checked on a database built again
    assert result.problems == 1 and result.to_dict()["ok"] is False
    assert not database_exists(result.scratch)
    assert _leftovers(db) == []
    assert PASSWORD not in " ".join(notes)


def test_verify_passes_a_sound_folder_and_the_shipped_migrations_on_schema_sql(db, tmp_path):
    sound = _folder(tmp_path, {"20260101000000_teams.sql": TEAMS, "20260103000000_players.sql": PLAYERS})
    result = verify.verify(db, sound, _env(), base=None)
    assert result.problems == 0 and [r.down for r in result.migrations] == ["restores", "restores"]
    notes: list[str] = []
    shipped = verify.verify(db, defaults.shipped_dir("migrations"), _env(), on_note=notes.append)
    # the app's migrations alter users: "auto" starts over on schema.sql
    assert shipped.base == str(defaults.sql_schema_file())
    assert any("starting over on the schema file" in n for n in notes)
    assert shipped.problems == 0 and all(r.up_again == "repeatable" for r in shipped.migrations)
    assert _leftovers(db) == []


def test_a_leftover_of_a_killed_run_is_dropped_by_the_next_run(db, forgetful):
    from psycopg import sql

    leftover = scratch.PREFIX + "deadbeef0000"
    with psycopg.connect(url_for("postgres"), autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(leftover)))
    notes: list[str] = []
    verify.verify(db, forgetful, _env(), base=None, on_note=notes.append)
    assert not database_exists(leftover)
    assert any(f"dropped {leftover}" in n for n in notes)


def test_an_interrupted_verify_drops_its_scratch_database(db, forgetful):
    seen: list[str] = []

    def interrupt(message: str) -> None:
        seen.append(message)
        if message.startswith("checked "):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        verify.verify(db, forgetful, _env(), base=None, on_note=interrupt)
    assert any(m.startswith("scratch database cruddur__verify_") for m in seen)
    assert _leftovers(db) == []


def test_a_production_target_is_refused_before_any_connection(forgetful):
    prod = Database.from_url("postgresql://app:secret@db.example.invalid/cruddur")
    with pytest.raises(ProdGuardError, match="--scratch-url"):
        verify.verify(prod, forgetful, _env())
    with pytest.raises(ProdGuardError, match="not a local server"):
        verify.verify(Database.from_url("postgresql://postgres@127.0.0.1:1/x"), forgetful, _env(),
                      scratch_url="postgresql://u@other.invalid/postgres")


def test_a_column_dropped_by_hand_is_drift_in_diff_and_status(db, tmp_path):
    folder = _folder(tmp_path, {"20260101000000_teams.sql": TEAMS,
                                "20260102000000_team_details.sql": TEAM_DETAILS_FORGETFUL.replace(
                                    "DROP COLUMN motto;", "DROP COLUMN motto, DROP COLUMN colour;"),
                                "20260103000000_players.sql": PLAYERS})
    migrate.up(db, folder)
    clean = drift.schema_diff(db, folder, _env(), base=None)
    assert clean.differences == [] and clean.pending == []
    rows = migrate.status(db, folder).migrations
    assert drift.check_status(db, folder, {r.version: r.state for r in rows}) == []

    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE teams DROP COLUMN colour")
        conn.execute("ALTER TABLE players ALTER COLUMN handle SET NOT NULL")
        conn.execute("CREATE TABLE scribbles (id int)")
    result = drift.schema_diff(db, folder, _env(), base=None)
    found = {(d.kind, d.object): d for d in result.differences}
    colour = found[("missing_column", "column public.teams.colour")]
    assert colour.migration == "20260102000000_team_details.sql"
    assert colour.expected == {"type": "text", "nullable": False, "default": "'blue'::text"} and colour.live is None
    nullable = found[("column_nullable", "column public.players.handle")]
    assert (nullable.live, nullable.expected, nullable.migration) == (False, True, "20260103000000_players.sql")
    assert found[("extra_table", "table public.scribbles")].migration is None
    assert len(result.differences) == 3
    assert _leftovers(db) == []

    rows = migrate.status(db, folder).migrations
    broken = drift.check_status(db, folder, {r.version: r.state for r in rows})
    assert [(b.version, b.objects, b.repair) for b in broken] == [
        ("20260102000000", ["column public.teams.colour"], "cruddur db migrate reapply 20260102000000")]

    # the repair the status names: its up again (ADD COLUMN motto fails: motto is there) is rolled back whole …
    with pytest.raises(InputError, match="already exists"):
        drift.reapply(db, folder, "20260102000000")
    # … so a migration written to be re-runnable is what reapply is for
    (folder / "20260102000000_team_details.sql").write_text(
        "-- migrate:up\nALTER TABLE teams ADD COLUMN IF NOT EXISTS colour text NOT NULL DEFAULT 'blue', "
        "ADD COLUMN IF NOT EXISTS motto text;\n\n-- migrate:down\nALTER TABLE teams DROP COLUMN motto, DROP COLUMN colour;\n")
    doc = drift.reapply(db, folder, "20260102000000")
    assert doc["still_missing"] == []
    assert [d.kind for d in drift.schema_diff(db, folder, _env(), base=None).differences] == [
        "column_nullable", "extra_table"]


def test_diff_compares_with_the_applied_migrations_only(db, forgetful):
    migrate.up(db, forgetful, to="20260101000000")
    result = drift.schema_diff(db, forgetful, _env(), base=None)
    assert result.differences == []
    assert result.compared == ["20260101000000_teams.sql"]
    assert result.pending == ["20260102000000_team_details.sql", "20260103000000_players.sql"]


def test_baseline_records_without_running(db, forgetful):
    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL)")
    doc = drift.baseline(db, forgetful, "20260102000000")
    assert [r["version"] for r in doc["recorded"]] == ["20260101000000", "20260102000000"]
    states = {r.version: r.state for r in migrate.status(db, forgetful).migrations}
    assert states == {"20260101000000": "applied", "20260102000000": "applied", "20260103000000": "pending"}
    # the team_details columns were never made: baseline says so, and so does status
    missing = {m["version"]: m["objects"] for m in doc["missing_effects"]}
    assert missing == {"20260101000000": ["index public.teams_name_idx"],
                       "20260102000000": ["column public.teams.colour", "column public.teams.motto"]}
    assert drift.baseline(db, forgetful, "20260102000000")["recorded"] == []
    with pytest.raises(NotFoundError, match="no migration with version 1999"):
        drift.baseline(db, forgetful, "19990101000000")


def test_effects_follow_drops_and_renames():
    from cruddur_ops.pg.schema import split_statements

    sql = """
    CREATE TABLE IF NOT EXISTS public."Teams" (id int PRIMARY KEY, "Name" text, CONSTRAINT c CHECK (id > 0));
    ALTER TABLE ONLY public."Teams" ADD COLUMN IF NOT EXISTS bio text, ADD CONSTRAINT u UNIQUE (bio);
    ALTER TABLE "Teams" RENAME COLUMN bio TO about;
    CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS teams_about ON "Teams" (about);
    CREATE TABLE gone (id int);
    DROP TABLE IF EXISTS gone CASCADE;
    CREATE INDEX old_name ON "Teams" (id);
    ALTER INDEX IF EXISTS public.old_name RENAME TO new_name;
    CREATE TABLE temp_t (id int);
    CREATE INDEX temp_t_idx ON temp_t (id);
    DROP TABLE temp_t;
    SET search_path TO app, public;
    CREATE TABLE moved (id int);
    CREATE INDEX moved_idx ON moved (id);
    ALTER TABLE moved SET SCHEMA archive;
    """

    class Mig:
        file = "x.sql"
        up = type("S", (), {"statements": split_statements(sql)})

    assert sorted(drift.expected_objects([Mig])) == [
        ("column", "archive.moved.id"), ("column", "public.Teams.Name"), ("column", "public.Teams.about"), ("column", "public.Teams.id"),
        ("index", "archive.moved_idx"), ("index", "public.new_name"), ("index", "public.teams_about"),
        ("table", "archive.moved"), ("table", "public.Teams")]


def test_normalize_ignores_settings_comments_and_column_order():
    one = ("--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET statement_timeout = 0;\n"
           "CREATE TABLE public.t (\n    id integer NOT NULL,\n    b text\n);\n\nCREATE SCHEMA public;\n")
    two = "\\restrict xyz\nCREATE TABLE public.t (\n    b text,\n    id integer NOT NULL\n);\n"
    assert verify.normalize(one) == verify.normalize(two) == [
        "CREATE TABLE public.t (", "    b text", "    id integer NOT NULL", ");"]
    assert verify.normalize(two) != verify.normalize(two.replace("b text", "b varchar"))


def test_status_reads_what_the_parser_sees_and_agrees_with_the_catalog(db, tmp_path):
    folder = _folder(tmp_path, {
        "20260101000000_teams.sql": TEAMS,
        "20260102000000_reports.sql": """\
-- migrate:up
CREATE SCHEMA reports;
CREATE TABLE reports."Team Sizes" AS SELECT t.name, 0 AS members FROM teams t;
CREATE MATERIALIZED VIEW reports.team_names AS SELECT name FROM teams;
CREATE UNIQUE INDEX team_names_name ON reports.team_names (name);
ALTER TABLE teams ADD COLUMN colour text, ADD COLUMN motto text, ADD COLUMN legacy text;
ALTER TABLE teams RENAME COLUMN motto TO slogan;
ALTER TABLE teams DROP COLUMN legacy;
DO $$ BEGIN EXECUTE 'CREATE TABLE made_in_do (id int)'; END $$;

-- migrate:down
DROP SCHEMA reports CASCADE;
ALTER TABLE teams DROP COLUMN colour, DROP COLUMN slogan;
""",
        "20260103000000_rename.sql": """\
-- migrate:up
ALTER TABLE reports."Team Sizes" RENAME TO team_sizes;
ALTER MATERIALIZED VIEW reports.team_names RENAME TO names_of_teams;

-- migrate:down
ALTER MATERIALIZED VIEW reports.names_of_teams RENAME TO team_names;
ALTER TABLE reports.team_sizes RENAME TO "Team Sizes";
"""})
    migrate.up(db, folder)
    rows = migrate.status(db, folder).migrations
    states = {r.version: r.state for r in rows}
    assert drift.check_status(db, folder, states) == []  # every name it expects is the catalog's own spelling

    with psycopg.connect(db.url, autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE reports.team_sizes DROP COLUMN members")
        conn.execute("DROP MATERIALIZED VIEW reports.names_of_teams")
        conn.execute("ALTER TABLE teams DROP COLUMN slogan")
        conn.execute("DROP TABLE made_in_do")  # made inside a DO block: not expected, so not missed
    broken = drift.check_status(db, folder, states)
    assert [(b.version, b.objects) for b in broken] == [
        ("20260102000000", ["column public.teams.slogan", "column reports.team_sizes.members",
                            "index reports.team_names_name", "view reports.names_of_teams"])]

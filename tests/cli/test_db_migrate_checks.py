"""`cruddur db migrate verify|baseline|reapply|status` and `cruddur db schema diff` through the CLI, on the private
cluster; a SIGTERM in the middle of verify leaves no scratch database behind (a real subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from cruddur_ops.pg import scratch
from cruddur_ops.pg.database import Database
from tests.pg.fixtures import PASSWORD, new_db, url_for  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

CRUDDUR = Path(sys.executable).with_name("cruddur")

TEAMS = "-- migrate:up\nCREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL);\n\n-- migrate:down\nDROP TABLE teams;\n"
BIO = ("-- migrate:up\nALTER TABLE teams ADD COLUMN IF NOT EXISTS bio text, ADD COLUMN IF NOT EXISTS motto text;\n\n"
       "-- migrate:down\nALTER TABLE teams DROP COLUMN motto;\n")  # forgets bio


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20260301000000_teams.sql").write_text(TEAMS)
    (folder / "20260302000000_team_bio.sql").write_text(BIO)
    return folder


@pytest.fixture
def created(cli, new_db):
    cli("db", "create")
    return new_db


def _clean(result) -> None:
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr


def _no_leftovers(name: str) -> None:
    assert scratch.leftovers(Database.from_url(url_for(name))) == []


def test_verify_exits_1_and_names_the_forgetful_down(cli, created, folder):
    result = cli("db", "migrate", "verify", "--migrations-dir", folder, "--no-schema", "-o", "json", ok=False)
    _clean(result)
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["problems"] == 1 and doc["ok"] is False and doc["scratch_dropped"] is True
    rows = {row["version"]: row for row in doc["migrations"]}
    assert rows["20260302000000"]["down"] == "differs"
    assert rows["20260302000000"]["differences"][0]["object"] == "column public.teams.bio"
    assert rows["20260301000000"]["down"] == "restores"
    assert "20260302000000_team_bio.sql: after its down: column public.teams.bio should not be there" in result.stderr
    _no_leftovers(created)


def test_schema_diff_and_status_report_a_column_dropped_by_hand(cli, created, folder):
    cli("db", "migrate", "up", "--migrations-dir", folder)
    clean = cli("db", "schema", "diff", "--migrations-dir", folder, "--no-schema", "-o", "json")
    assert json.loads(clean.stdout)["differences"] == []
    with psycopg.connect(url_for(created), autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE teams DROP COLUMN bio")

    diff = cli("db", "schema", "diff", "--migrations-dir", folder, "--no-schema", "-o", "json", ok=False)
    _clean(diff)
    assert diff.exit_code == 1
    doc = json.loads(diff.stdout)
    assert doc["drift"] is True and doc["compared"] == ["20260301000000_teams.sql", "20260302000000_team_bio.sql"]
    assert doc["differences"] == [{"kind": "missing_column", "object": "column public.teams.bio", "live": None,
                                   "expected": {"type": "text", "nullable": True, "default": None},
                                   "migration": "20260302000000_team_bio.sql"}]
    table = cli("db", "schema", "diff", "--migrations-dir", folder, "--no-schema", ok=False)
    assert "missing_column" in table.stdout and "20260302000000_team_bio.sql" in table.stdout

    status = cli("db", "migrate", "status", "--migrations-dir", folder, "--exit-code", "-o", "json", ok=False)
    assert status.exit_code == 1
    doc = json.loads(status.stdout)
    assert doc["broken"] == 1
    row = next(r for r in doc["migrations"] if r["version"] == "20260302000000")
    assert (row["state"], row["missing_objects"], row["repair"]) == (
        "broken", ["column public.teams.bio"], "cruddur db migrate reapply 20260302000000")
    assert "`cruddur db migrate reapply 20260302000000`" in status.stderr

    cli("db", "migrate", "reapply", "20260302000000", "--migrations-dir", folder)
    assert cli("db", "migrate", "status", "--migrations-dir", folder, "--exit-code").exit_code == 0
    assert cli("db", "schema", "diff", "--migrations-dir", folder, "--no-schema").exit_code == 0
    _no_leftovers(created)


def test_baseline_marks_and_status_agrees(cli, created, folder):
    with psycopg.connect(url_for(created), autocommit=True, connect_timeout=3) as conn:
        conn.execute("CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL)")
    doc = cli.json("db", "migrate", "baseline", "20260301000000", "--migrations-dir", folder)
    assert [r["version"] for r in doc["recorded"]] == ["20260301000000"]
    status = cli.json("db", "migrate", "status", "--migrations-dir", folder)
    assert [r["state"] for r in status["migrations"]] == ["applied", "pending"] and status["broken"] == 0
    up = cli.json("db", "migrate", "up", "--migrations-dir", folder)
    assert [r["version"] for r in up["done"]] == ["20260302000000"]


@pytest.mark.parametrize("command", [["baseline", "20260301000000"], ["reapply", "20260301000000"]])
def test_writes_are_refused_on_production_without_prod(cli, aws_env, folder, command):
    aws_env.setenv("CONNECTION_URL", "postgresql://app:secret@db.example.invalid/cruddur")
    result = cli("db", "migrate", *command, "--migrations-dir", folder, ok=False)
    assert result.exit_code == 6
    assert "pass --prod" in result.stderr


def test_verify_and_diff_refuse_to_build_a_scratch_database_on_production(cli, aws_env, folder):
    aws_env.setenv("CONNECTION_URL", "postgresql://app:secret@db.example.invalid/cruddur")
    for args in (["db", "migrate", "verify"], ["db", "schema", "diff"]):
        result = cli(*args, "--migrations-dir", folder, ok=False)
        assert result.exit_code == 6
        assert "--scratch-url" in result.stderr and "secret" not in result.stderr


def test_sigterm_during_verify_drops_the_scratch_database(created, folder):
    """The migration reads a shared catalog the test holds locked: verify waits there until the test has sent
    SIGTERM (no timing), then the scratch database is dropped on the way out."""
    (folder / "20260303000000_reads_a_shared_catalog.sql").write_text(
        "-- migrate:up\nSELECT count(*) FROM pg_catalog.pg_shdescription;\n\n-- migrate:down\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PROD_CONNECTION_URL")}
    env["CONNECTION_URL"] = url_for(created)
    holder = psycopg.connect(url_for("postgres"), connect_timeout=3)
    holder.execute("LOCK TABLE pg_catalog.pg_shdescription IN ACCESS EXCLUSIVE MODE")
    watcher = psycopg.connect(url_for("postgres"), autocommit=True, connect_timeout=3)
    proc = subprocess.Popen([str(CRUDDUR), "db", "migrate", "verify", "--migrations-dir", str(folder), "--no-schema"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted "
                "AND relation = 'pg_catalog.pg_shdescription'::regclass").fetchone()[0]
            if waiting:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("verify never reached the locked catalog")
        assert len(scratch.leftovers(Database.from_url(url_for(created)))) == 1
        proc.send_signal(signal.SIGTERM)
        holder.rollback()  # the drop on the way out needs the catalog too
        out, err = proc.communicate(timeout=60)
    finally:
        watcher.close()
        holder.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "scratch database was dropped" in err and out == ""
    _no_leftovers(created)


def test_the_apps_lost_bio_column_after_db_setup(cli, new_db):
    """The trial's case with the shipped files: `db setup`, then the bio column of the applied migration is dropped
    (as a re-run schema.sql did): diff and status both name it, and reapply repairs it."""
    cli("db", "setup", "--yes")
    assert cli("db", "schema", "diff").exit_code == 0
    with psycopg.connect(url_for(new_db), autocommit=True, connect_timeout=3) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN bio")
    diff = cli("db", "schema", "diff", "-o", "json", ok=False)
    assert diff.exit_code == 1
    doc = json.loads(diff.stdout)
    assert doc["base"].endswith("schema.sql")
    assert [(d["kind"], d["object"], d["migration"]) for d in doc["differences"]] == [
        ("missing_column", "column public.users.bio", "20230415120000_add_bio_to_users.sql")]
    status = cli.json("db", "migrate", "status")
    assert [(r["version"], r["state"]) for r in status["migrations"]] == [
        ("20230415120000", "broken"), ("20230420090000", "applied")]
    cli("db", "migrate", "reapply", "20230415120000")
    assert cli.json("db", "migrate", "status")["broken"] == 0
    assert cli("db", "schema", "diff").exit_code == 0
    _no_leftovers(new_db)

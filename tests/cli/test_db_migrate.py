"""`cruddur db migrate …` and `cruddur db schema dump` through the CLI runner, on the real PostgreSQL."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import no_result
from tests.pg.fixtures import PASSWORD, new_db, url_for  # noqa: F401  (fixtures)
from tests.pg.fixtures import port as pg_port

pytestmark = pytest.mark.integration

UP_DOWN = "-- migrate:up\nCREATE TABLE {t} (id int);\n\n-- migrate:down\nDROP TABLE {t};\n"


def _clean(result) -> None:
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr


def _error(result) -> str:
    assert result.exit_code != 0, (result.stdout, result.stderr)
    return " ".join(line for line in result.stderr.splitlines() if line.strip())


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for version, table in (("20260201000000", "alpha"), ("20260202000000", "beta")):
        (folder / f"{version}_{table}.sql").write_text(UP_DOWN.format(t=table))
    return folder


@pytest.fixture
def created(cli, new_db):
    cli("db", "create")
    return new_db


def _tables(name: str) -> set[str]:
    with psycopg.connect(url_for(name), connect_timeout=3) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_status_exit_code_up_and_the_folder_in_use(cli, created, folder):
    pending = cli("db", "migrate", "status", "--exit-code", "--migrations-dir", folder, "-o", "json", ok=False)
    _clean(pending)
    assert pending.exit_code == 1
    doc = json.loads(pending.stdout)
    assert doc["pending"] == 2 and doc["dir"] == str(folder) and len(doc["files"]) == 2
    assert doc["url"] == f"postgresql://postgres:***@127.0.0.1:{pg_port()}/{created}"
    assert f"migrations: {folder} (from --migrations-dir)" in pending.stderr

    up = cli("db", "migrate", "up", "--migrations-dir", folder, "-o", "json")
    _clean(up)
    assert [m["version"] for m in json.loads(up.stdout)["done"]] == ["20260201000000", "20260202000000"]
    assert {"alpha", "beta", "schema_migrations"} <= _tables(created)
    assert cli("db", "migrate", "status", "--exit-code", "--migrations-dir", folder).exit_code == 0


def test_the_project_file_names_the_folder(cli, created, folder, monkeypatch):
    (folder.parent.parent / "cruddur.toml").write_text('migrations = "db/migrations"\n')
    monkeypatch.chdir(folder.parent.parent)
    result = cli("db", "migrate", "up", "-o", "json")
    assert json.loads(result.stdout)["dir"] == str(folder.resolve())
    assert "cruddur.toml" in result.stderr


def test_down_and_redo_ask_first(cli, created, folder):
    cli("db", "migrate", "up", "--migrations-dir", folder)
    for command in ("down", "redo"):
        refused = cli("db", "migrate", command, "--migrations-dir", folder, ok=False)
        assert "no terminal to ask on; pass --yes" in _error(refused)
    assert {"alpha", "beta"} <= _tables(created)
    doc = cli.json("db", "migrate", "down", "--steps", "2", "--yes", "--migrations-dir", folder)
    assert [m["state"] for m in doc["done"]] == ["reverted", "reverted"] and doc["pending"] == 2
    assert not {"alpha", "beta"} & _tables(created)


def test_a_failing_migration_is_one_line_with_file_and_line(cli, created, folder):
    bad = folder / "20260203000000_bad.sql"
    bad.write_text("-- migrate:up\nCREATE TABLE gamma (id int);\n\nSELECT * FROM no_such_table;\n")
    result = cli("db", "migrate", "up", "--migrations-dir", folder, ok=False)
    _clean(result)
    assert result.exit_code != 0 and no_result(result.stdout)
    assert f"{bad}:4: relation \"no_such_table\" does not exist" in _error(result)
    assert "gamma" not in _tables(created) and {"alpha", "beta"} <= _tables(created)


def test_production_needs_prod_and_the_typed_name(cli, aws_env, created, folder):
    aws_env.setenv("CONNECTION_URL", f"postgresql://app:{PASSWORD}@db.prod.invalid:5432/cruddur")
    for args in (["up"], ["down", "--yes"], ["redo", "--yes"]):
        result = cli("db", "migrate", *args, "--migrations-dir", folder, ok=False)
        _clean(result)
        assert "not a local host; pass --prod" in _error(result), args
    aws_env.setenv("PROD_CONNECTION_URL", url_for(created))
    cli("db", "migrate", "up", "--prod", "--yes", "--migrations-dir", folder)
    for command in ("down", "redo"):
        result = cli("db", "migrate", command, "--prod", "--yes", "--migrations-dir", folder, ok=False)
        assert result.exit_code == 6 and f"type the name '{created}' at a terminal" in _error(result)  # --yes alone is not enough there
    assert {"alpha", "beta"} <= _tables(created)


def test_new_refuses_the_shipped_folder_and_writes_into_a_named_one(cli, aws_env, tmp_path):
    refused = cli("db", "migrate", "new", "add_bio", ok=False)
    assert "pass --migrations-dir" in _error(refused)
    doc = cli.json("db", "migrate", "new", "add_bio", "--migrations-dir", tmp_path / "m")
    text = (tmp_path / "m" / f"{doc['version']}_add_bio.sql").read_text()
    assert "-- migrate:up" in text and "-- migrate:down" in text and len(doc["version"]) == 14


def test_setup_twice_gives_the_later_schema_and_changes_nothing_the_second_time(cli, new_db):
    first = cli.json("db", "setup")
    assert first["changed"] is True and len(first["migrations"]["done"]) == 2
    second = cli("db", "setup", "-o", "json")
    assert json.loads(second.stdout)["changed"] is False and "nothing changed" in second.stderr
    with psycopg.connect(url_for(new_db), connect_timeout=3) as conn:
        assert conn.execute("SELECT count(users.bio) FROM users").fetchone() == (0,)


def test_schema_dump_to_stdout_and_to_a_file(cli, created, folder, tmp_path):
    cli("db", "migrate", "up", "--migrations-dir", folder)
    dumped = cli("db", "schema", "dump")
    _clean(dumped)
    assert "CREATE TABLE public.alpha" in dumped.stdout and "pg_dump" in dumped.stderr
    out = tmp_path / "schema.sql"
    doc = cli.json("db", "schema", "dump", "--out", out)
    assert doc["file"] == str(out) and doc["bytes"] == out.stat().st_size
    assert "CREATE TABLE public.beta" in out.read_text()
    assert doc["url"] == f"postgresql://postgres:***@127.0.0.1:{pg_port()}/{created}"


def test_schema_load_reset_forgets_the_applied_migrations(cli, new_db):
    cli("db", "setup")
    reset = cli("db", "schema-load", "--reset", "--yes")
    assert "forgot 2 applied migration(s)" in reset.stderr
    assert cli.json("db", "migrate", "status")["pending"] == 2
    cli("db", "migrate", "up")
    with psycopg.connect(url_for(new_db), connect_timeout=3) as conn:
        assert conn.execute("SELECT count(bio) FROM users").fetchone() == (0,)


def test_errors_of_a_missing_database_are_masked(cli, aws_env, folder):
    aws_env.setenv("CONNECTION_URL", url_for("cruddur_no_such_db_x1"))
    for args in (["migrate", "status", "--migrations-dir", folder], ["migrate", "up", "--migrations-dir", folder],
                 ["schema", "dump"]):
        result = cli("db", *args, ok=False)
        _clean(result)
        assert "does not exist; create it with `cruddur db create`" in _error(result), args

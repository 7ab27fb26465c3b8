"""`cruddur db …` end to end on the real PostgreSQL server, through the CLI runner (no terminal)."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from tests.conftest import no_result
from tests.pg.fixtures import PASSWORD, database_exists, url_for
from tests.pg.fixtures import port as pg_port

pytestmark = pytest.mark.integration


def _clean(result) -> None:
    """The password appears nowhere the user can see."""
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr


def _error_line(result, status: int) -> str:
    """The error line; ``status`` is the kind's exit status (README "Exit codes")."""
    assert result.exit_code == status, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Error: "), result.stderr
    return " ".join(lines[lines.index(next(line for line in lines if line.startswith("Error: "))):])


def test_setup_twice_changes_nothing_the_second_time(cli, new_db, seed_file):
    first = cli("db", "setup", seed_file, "-o", "json")
    _clean(first)
    doc = json.loads(first.stdout)
    assert set(doc) == {"database", "url", "created", "schema", "migrations", "seed", "changed"}
    assert doc["database"] == new_db and doc["url"] == f"postgresql://postgres:***@127.0.0.1:{pg_port()}/{new_db}"
    assert doc["created"] is True and doc["changed"] is True
    assert [(t["name"], t["action"]) for t in doc["schema"]["tables"]] == [("users", "created"), ("activities", "created")]
    assert doc["seed"]["users"] == {"inserted": 3, "existing": 0}
    assert doc["seed"]["activities"] == {"inserted": 3, "existing": 0}

    second = cli("db", "setup", seed_file, "-o", "json")
    _clean(second)
    again = json.loads(second.stdout)
    assert again["created"] is False and again["changed"] is False
    assert [t["action"] for t in again["schema"]["tables"]] == ["kept", "kept"]
    assert again["seed"]["users"] == {"inserted": 0, "existing": 3}
    assert again["seed"]["activities"] == {"inserted": 0, "existing": 3}
    assert "nothing changed" in second.stderr


def test_create_and_drop_with_an_open_session(cli, new_db):
    assert cli.json("db", "create") == {"database": new_db, "created": True, "url": f"postgresql://postgres:***@127.0.0.1:{pg_port()}/{new_db}"}
    assert cli.json("db", "create")["created"] is False
    held = psycopg.connect(url_for(new_db), connect_timeout=3)
    try:
        refused = cli("db", "drop", ok=False)
        assert "no terminal to ask on; pass --yes" in _error_line(refused, 7)
        assert database_exists(new_db)
        dropped = cli("db", "drop", "--yes", "-o", "json")
    finally:
        held.close()
    _clean(dropped)
    assert json.loads(dropped.stdout) == {
        "database": new_db, "dropped": True, "sessions_ended": 1, "url": f"postgresql://postgres:***@127.0.0.1:{pg_port()}/{new_db}"}
    assert "ending 1 open session(s)" in dropped.stderr
    assert not database_exists(new_db)
    assert cli.json("db", "drop", "--yes")["dropped"] is False


def test_schema_load_keeps_then_resets(cli, pg_env, pg_conn):
    doc = cli.json("db", "schema-load")
    assert set(doc) == {"database", "url", "file", "mode", "reset", "statements", "ran", "skipped", "tables"}
    assert doc["file"].endswith("schema.sql") and doc["reset"] is False
    assert [t["action"] for t in doc["tables"]] == ["created", "created"]
    pg_conn.execute("INSERT INTO users (display_name, handle) VALUES ('A', 'a')")
    assert [t["action"] for t in cli.json("db", "schema-load")["tables"]] == ["kept", "kept"]

    refused = cli("db", "schema-load", "--reset", ok=False)
    assert "pass --yes" in _error_line(refused, 7)
    assert pg_conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1

    reset = cli.json("db", "schema-load", "--reset", "--yes")
    assert [(t["name"], t["action"], t["dropped_rows"]) for t in reset["tables"]] == [
        ("users", "recreated", 1), ("activities", "recreated", 0)]
    assert pg_conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_schema_load_error_is_one_line_with_file_and_line(cli, pg_env, tmp_path):
    path = tmp_path / "schema.sql"
    path.write_text("CREATE TABLE ok (id int);\nSELECT nonsense FROM nowhere;\n")
    result = cli("db", "schema-load", path, ok=False)
    assert f"Error: {path}:2: relation \"nowhere\" does not exist" in _error_line(result, 3)
    assert no_result(result.stdout)


def test_seed_reports_counts_and_a_rerun_adds_nothing(cli, pg_env, seed_file):
    cli("db", "schema-load")
    doc = cli.json("db", "seed", seed_file)
    assert set(doc) == {"database", "url", "seed_file", "activities_file", "users", "activities", "mismatched"}
    assert doc["users"] == {"inserted": 3, "existing": 0} and doc["activities"] == {"inserted": 3, "existing": 0}
    assert doc["activities_file"].endswith("activities.yaml") and doc["mismatched"] == []
    again = cli.json("db", "seed", seed_file)
    assert again["users"]["inserted"] == 0 and again["activities"]["inserted"] == 0


def test_seed_without_the_schema_says_to_load_it(cli, pg_env, seed_file):
    result = cli("db", "seed", seed_file, ok=False)
    assert "load the schema first with `cruddur db schema-load`" in _error_line(result, 4)


def test_sessions_and_kill_all(cli, pg_env, pg_url):
    others = [psycopg.connect(pg_url, application_name="held-by-test", connect_timeout=3) for _ in range(2)]
    try:
        doc = cli.json("db", "sessions")
        assert set(doc) == {"database", "count", "sessions"} and doc["count"] == 2
        assert set(doc["sessions"][0]) == {"pid", "user", "application", "client", "state", "since", "query"}
        assert {s["application"] for s in doc["sessions"]} == {"held-by-test"}

        refused = cli("db", "kill-all", ok=False)
        assert "pass --yes" in _error_line(refused, 7)
        assert cli.json("db", "sessions")["count"] == 2

        killed = cli("db", "kill-all", "--yes", "-o", "json")
        _clean(killed)
        result = json.loads(killed.stdout)
        assert set(result) == {"database", "count", "ended", "not_ended"}
        assert result["count"] == 2 and sorted(r["pid"] for r in result["ended"]) == sorted(o.info.backend_pid for o in others)
        assert cli.json("db", "sessions")["count"] == 0
        assert cli.json("db", "kill-all")["count"] == 0  # nothing to end: no question asked
    finally:
        for other in others:
            other.close()


def test_status_json_and_table(cli, pg_env):
    cli("db", "schema-load")
    doc = cli.json("db", "status")
    assert set(doc) == {"url", "source", "database", "reachable", "exists", "server_version", "size_bytes", "tables", "error"}
    assert doc["reachable"] is True and doc["source"] == "CONNECTION_URL" and doc["url"].startswith("postgresql://postgres:***@")
    assert doc["tables"] == [{"name": "activities", "rows": 0}, {"name": "users", "rows": 0}]
    table = cli("db", "status", "-o", "table")
    _clean(table)
    assert "Tables" in table.stdout and "activities" in table.stdout and "***" in table.stdout


def test_status_of_an_unreachable_server_exits_1_without_the_password(cli, aws_env):
    aws_env.setenv("CONNECTION_URL", f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/cruddur")
    result = cli("db", "status", "-o", "json", ok=False)
    _clean(result)
    assert json.loads(result.stdout)["reachable"] is False
    assert "cannot connect to postgresql://postgres:***@127.0.0.1:1/cruddur" in _error_line(result, 8)

    started = time.monotonic()
    waited = cli("db", "status", "--wait", "1", ok=False)
    _clean(waited)
    assert "no answer from" in _error_line(waited, 8) and time.monotonic() - started < 5


def test_status_wait_returns_when_the_server_answers(cli, pg_env):
    result = cli("db", "status", "--wait", "10", "-o", "json")
    assert json.loads(result.stdout)["reachable"] is True and "server answered after" in result.stderr


def test_connect_runs_psql_or_says_it_is_missing(cli, pg_env, aws_env, tmp_path):
    cli("db", "connect", "--", "-q", "-c", "select 1")
    aws_env.setenv("PATH", str(tmp_path))
    result = cli("db", "connect", ok=False)
    assert "psql not found on PATH" in _error_line(result, 8)


def test_a_remote_host_needs_prod_and_nothing_is_contacted(cli, aws_env):
    aws_env.setenv("CONNECTION_URL", f"postgresql://app:{PASSWORD}@db.prod.invalid:5432/cruddur")
    for args in (["db", "drop", "--yes"], ["db", "create"], ["db", "schema-load", "--reset", "--yes"],
                 ["db", "kill-all", "--yes"], ["db", "seed"]):
        started = time.monotonic()
        result = cli(*args, ok=False)
        _clean(result)
        assert "not a local host; pass --prod" in _error_line(result, 6), args
        assert time.monotonic() - started < 2


def test_prod_needs_its_url_and_a_typed_name(cli, aws_env, scratch_db):
    assert "PROD_CONNECTION_URL, which is not set" in _error_line(cli("db", "drop", "--yes", "--prod", ok=False), 3)
    aws_env.setenv("PROD_CONNECTION_URL", url_for(scratch_db))
    result = cli("db", "drop", "--yes", "--prod", ok=False)
    assert f"--yes alone: on production, type the name '{scratch_db}' at a terminal" in _error_line(result, 6)
    assert database_exists(scratch_db)


def test_a_missing_database_error_is_masked_with_a_hint(cli, aws_env, scratch_db):
    aws_env.setenv("DATABASE_URL", url_for(scratch_db + "_nope"))
    result = cli("db", "sessions", ok=False)
    _clean(result)
    assert "does not exist; create it with `cruddur db create`" in _error_line(result, 4)


def test_help_names_the_default_url(cli):
    result = cli("db", "--help")
    assert "postgresql://postgres@127.0.0.1:5432/cruddur" in " ".join(result.stdout.split())

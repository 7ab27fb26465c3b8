"""One environment for the app and the tool: `local env` exports what both read, and cruddur reads the app's
DDB_MESSAGE_TABLE as its default table; a missing table's hint names the tables that exist (issue 20)."""

from __future__ import annotations

import subprocess

import pytest

from cruddur_ops.cli.local import _env_lines
from tests.conftest import SCHEMA, SEED


def test_local_env_exports_what_the_app_and_the_tool_read():
    lines = _env_lines("http://127.0.0.1:8123")
    script = "\n".join(lines) + "\nprintf '%s\\n' \"$AWS_ENDPOINT_URL\" \"$AWS_ENDPOINT_URL_DYNAMODB\" \"$DDB_MESSAGE_TABLE\""
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout.split()
    assert out == ["http://127.0.0.1:8123", "http://127.0.0.1:8123", "cruddur-messages"]
    kept = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "DDB_MESSAGE_TABLE": "cruddur-message"}).stdout.split()
    assert kept[2] == "cruddur-message"  # the app's own choice is kept


def test_ddb_message_table_is_the_default_table_and_the_hint_names_the_tables(ddb, ddb_env, aws_env, cli, tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(SCHEMA.read_text().replace("cruddur-messages", "cruddur-message"))
    cli("ddb", "schema-load", template)
    missed = cli("ddb", "seed", SEED, "--users-from", "yaml", ok=False)
    assert missed.exit_code == 4
    assert "no table cruddur-messages" in missed.stderr
    assert "tables there: cruddur-message; choose one with --table NAME or DDB_MESSAGE_TABLE=NAME" in missed.stderr
    assert "schema-load" not in missed.stderr  # never back to the command that just ran
    aws_env.setenv("DDB_MESSAGE_TABLE", "cruddur-message")
    seeded = cli.json("ddb", "seed", SEED, "--users-from", "yaml")
    assert seeded["items_written"] > 0
    assert "cruddur-message" in cli("ddb", "describe", "--output", "json").stdout


def test_the_private_cluster_keeps_its_port_and_the_default_url_is_never_adopted(home, cli, monkeypatch):
    import os

    from cruddur_ops.local import pgcluster, postgres
    from cruddur_ops.local._proc import free_port

    if pgcluster.find_binaries(os.environ) is None:
        pytest.skip("PostgreSQL binaries are not installed")
    probed: list[str] = []
    monkeypatch.setattr(postgres, "probe", lambda db: probed.append(db.masked))  # whatever answers on 5432
    monkeypatch.delenv("CONNECTION_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        port = free_port(5750)
        cli("local", "up", "--no-dynamodb", "--pg-port", port)
        assert probed == []  # no CONNECTION_URL / DATABASE_URL: the private cluster, never 127.0.0.1:5432
        cli("local", "down")
        again = cli("local", "up", "--no-dynamodb")
        assert f"on port {port}" in again.stderr and pgcluster.running(home).port == port
        assert f"CONNECTION_URL=postgresql://postgres@127.0.0.1:{port}/cruddur" in cli("local", "env").stdout
    finally:
        pgcluster.wipe(home)

"""`cruddur local up` against an engine that already runs, the port a data dir keeps, and `local env` for boto3."""

import os
import subprocess
import sys
import textwrap

import pytest

from cruddur_ops.local import dynamodb_local
from tests.conftest import no_result

pytestmark = pytest.mark.integration


def test_up_with_another_port_or_in_memory_says_so_and_how_to_restart(home, cli):
    port = dynamodb_local.free_port(8870)
    cli("local", "up", "--port", str(port), "--postgres", "off")
    try:
        other = dynamodb_local.free_port(port + 1)
        moved = cli("local", "up", "--port", str(other), "--postgres", "off", ok=False)
        assert moved.exit_code != 0 and no_result(moved.stdout)
        assert "already running (pid" in moved.stderr and f"its port is {port}, not {other} as asked" in moved.stderr
        assert f"cruddur local down && cruddur local up --port {other}" in moved.stderr
        in_memory = cli("local", "up", "--in-memory", "--postgres", "off", ok=False)
        assert f"it keeps its data in {home / 'dynamodb-data'}, not in memory" in in_memory.stderr
        assert "cruddur local up --in-memory`" in in_memory.stderr
        same = cli("local", "up", "--port", str(port), "--postgres", "off")
        assert "already running" in same.stderr and same.stdout.strip().endswith(f":{port}")
    finally:
        cli("local", "down")


def test_a_data_dir_keeps_its_port_after_down_unless_it_is_taken(home, cli):
    port = dynamodb_local.free_port(8890)
    cli("local", "up", "--port", str(port), "--in-memory", "--postgres", "off")
    cli("local", "down")
    again = cli("local", "up", "--in-memory", "--postgres", "off")
    try:
        assert again.stdout.strip() == f"export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{port}"
    finally:
        cli("local", "down")
    assert (home / "dynamodb-local.port").read_text().strip() == str(port)
    import socket

    taken_port = dynamodb_local.free_port(port + 20)  # the remembered port is taken meanwhile: the next free one
    (home / "dynamodb-local.port").write_text(f"{taken_port}\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", taken_port))
        taken.listen()
        moved = cli("local", "up", "--in-memory", "--postgres", "off")
        try:
            assert moved.stdout.strip().startswith("export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:")
            assert not moved.stdout.strip().endswith(f":{taken_port}")
        finally:
            cli("local", "down")


def test_eval_local_env_then_plain_boto3_reaches_dynamodb_local(home, cli, ddb_local):
    port = dynamodb_local.free_port(8910)
    cli("local", "up", "--port", str(port), "--in-memory", "--postgres", "off")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["CRUDDUR_HOME"] = str(home)
        cruddur = os.path.join(os.path.dirname(sys.executable), "cruddur")
        script = textwrap.dedent(f"""
            set -e
            eval "$('{cruddur}' local env)"
            '{sys.executable}' -c 'import boto3; c = boto3.client("dynamodb"); c.list_tables(); print(c.meta.region_name, c.meta.endpoint_url)'
        """)
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["us-east-1", f"http://127.0.0.1:{port}"]
    finally:
        cli("local", "down")

"""Connection loss: an engine that is not running (a closed loopback port) gives one line naming the endpoint
(password masked) and how to start it, exit 1, no traceback, within a few seconds (connect timeouts are set).

One command per engine runs as a real subprocess (``python -m cruddur_ops``: the process's own exit status, stderr
and start-up); the others run in-process, which shows the same exit status and lines for a fraction of the CPU.
The time is measured and only bounded generously (no tight timing in tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from cruddur_ops.local.dynamodb_local import free_port, port_open
from tests.conftest import SCHEMA, SEED, no_result

GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"
PASSWORD = "lost-7f2e"
DDB_COMMANDS = [
    ["ddb", "list-tables"],
    ["ddb", "scan"],
    ["ddb", "schema-load", str(SCHEMA)],
    ["ddb", "seed", str(SEED), "--users-from", "yaml"],
    ["ddb", "pattern", "get-conversation", "--group", GROUP],
]
PG_COMMANDS = [["db", "schema-load"], ["db", "seed", str(SEED), "--yes"], ["ddb", "seed", str(SEED), "--users-from", "db"]]


@pytest.fixture(scope="module")
def closed_port() -> int:
    port = free_port(8690)
    assert not port_open(port)
    return port


SUBPROCESS = ({"ddb", "list-tables"}, {"db", "schema-load"})  # the commands that also prove the real process


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def cruddur(args: list[str], **env: str) -> tuple[Done, float]:
    dropped = [k for k in os.environ
               if k.startswith("AWS_") or k in ("CONNECTION_URL", "DATABASE_URL", "PROD_CONNECTION_URL")]
    started = time.monotonic()
    if set(args[:2]) in SUBPROCESS and len(args) == 2:
        environ = {k: v for k, v in os.environ.items() if k not in dropped}
        environ.update(AWS_REGION="us-east-1", **env)
        run = subprocess.run([sys.executable, "-m", "cruddur_ops", *args], env=environ, capture_output=True,
                             text=True, timeout=60)
        done = Done(run.returncode, run.stdout, run.stderr)
    else:
        from cruddur_ops.cli.app import app

        result = CliRunner().invoke(app, args, env={**dict.fromkeys(dropped), "AWS_REGION": "us-east-1", **env})
        assert not isinstance(result.exception, AssertionError), result.exception
        done = Done(result.exit_code, result.stdout, result.stderr)
    return done, time.monotonic() - started


@pytest.mark.parametrize("argv", DDB_COMMANDS, ids=[" ".join(a[:3]) for a in DDB_COMMANDS])
def test_dynamodb_local_not_running(argv, closed_port, tmp_path):
    endpoint = f"http://127.0.0.1:{closed_port}"
    done, seconds = cruddur(argv, AWS_ENDPOINT_URL_DYNAMODB=endpoint, CRUDDUR_HOME=str(tmp_path))
    assert done.returncode == 8
    assert no_result(done.stdout)
    # a note naming the default files in use may come first; the error is then the one other line
    errors = [line for line in done.stderr.splitlines() if not line.startswith(("schema files: ", "seed file: "))]
    assert errors == [f"Error: cannot reach {endpoint}/: EndpointConnectionError; is DynamoDB Local running? "
                      "start it with `cruddur local up`"]
    assert seconds < 15, f"took {seconds:.1f}s"


@pytest.mark.parametrize("argv", PG_COMMANDS, ids=[" ".join(a[:2]) + (" --users-from db" if "db" in a[2:] else "")
                                                    for a in PG_COMMANDS])
def test_postgres_not_running(argv, closed_port, tmp_path):
    url = f"postgresql://cruddur:{PASSWORD}@127.0.0.1:{closed_port}/cruddur"
    done, seconds = cruddur(argv, CONNECTION_URL=url, CRUDDUR_HOME=str(tmp_path),
                            AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{closed_port}")
    assert done.returncode == 8
    assert no_result(done.stdout)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith(f"Error: cannot connect to postgresql://cruddur:***@127.0.0.1:{closed_port}/cruddur: ")
    assert "Connection refused" in lines[0] and "is PostgreSQL running there?" in lines[0]
    assert PASSWORD not in done.stderr
    assert seconds < 15, f"took {seconds:.1f}s"


def test_postgres_not_running_says_how_to_start_it(closed_port, tmp_path):
    url = f"postgresql://cruddur:{PASSWORD}@127.0.0.1:{closed_port}/cruddur"
    done, _ = cruddur(["db", "schema-load"], CONNECTION_URL=url, CRUDDUR_HOME=str(tmp_path))
    assert "cruddur local up" in done.stderr

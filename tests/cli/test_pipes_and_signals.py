"""At the edge, as a shell sees it (real subprocesses of .venv/bin/cruddur): a reader that closes the pipe ends the
command quietly with status 0; SIGINT gives 130 and SIGTERM 143, with one line of what was done and that a rerun
completes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.pg.fixtures import pg_conn, pg_env, pg_url, scratch_db, seed_file  # noqa: F401  (fixtures)
from tests.pg.fixtures import port as pg_port

pytestmark = pytest.mark.integration

CRUDDUR = Path(sys.executable).with_name("cruddur")


def _fill(client, table: str, n: int) -> None:
    from cruddur_ops.ddb import schema
    from tests.conftest import SCHEMA

    spec = schema.read([SCHEMA]).tables[0]
    schema.load(client, [spec])
    filler = "a message long enough to fill the pipe quickly " * 4
    for start in range(0, n, 25):
        client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": f"MSG#pipe-{i // 50}"}, "sk": {"S": f"2024-01-01T00:00:{i:06d}"},
                                     "message": {"S": filler}}}} for i in range(start, min(start + 25, n))]})


@pytest.mark.parametrize("output", ["jsonl", "json"])
def test_a_closed_pipe_ends_quietly_with_status_0(ddb, output):
    _fill(ddb, "cruddur-messages", 1500)  # ~400 kB of output: far more than a pipe holds
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{CRUDDUR}' ddb scan cruddur-messages -o {output} | head -1"],
        capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr and "Error" not in result.stderr and "Broken pipe" not in result.stderr


def _blocked_seed(pg_url, pg_conn, seed_file, sig: int):
    """Start `db seed` while a lock holds the users table, wait until it waits on that lock, then send ``sig``."""
    from cruddur_ops import defaults

    pg_conn.execute(defaults.sql_schema_file().read_text())
    pg_conn.execute("BEGIN")
    pg_conn.execute("LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE")
    proc = subprocess.Popen([str(CRUDDUR), "db", "seed", str(seed_file), "--yes"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    watcher = psycopg.connect(pg_url, autocommit=True, connect_timeout=3)  # outside the lock's transaction
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cruddur' AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("db seed never reached the locked table")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        watcher.close()
        if proc.poll() is None:
            proc.kill()
        pg_conn.execute("ROLLBACK")
    return proc.returncode, out, err


@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_db_seed_says_what_it_left_and_how_to_finish(pg_env, pg_conn, seed_file, sig, status):
    code, out, err = _blocked_seed(pg_env, pg_conn, seed_file, sig)
    assert code == status, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"interrupted: db seed wrote nothing to postgresql://postgres:***@127.0.0.1:{pg_port()}/"
                     f"{pg_conn.info.dbname} (its one transaction was rolled back); rerun `cruddur db seed` to seed it"]
    assert out == ""
    assert pg_conn.execute("SELECT count(*) FROM public.users").fetchone()[0] == 0
    # the rerun completes it
    rerun = subprocess.run([str(CRUDDUR), "db", "seed", str(seed_file), "--yes", "-o", "json"], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ))
    assert rerun.returncode == 0, rerun.stderr
    assert pg_conn.execute("SELECT count(*) FROM public.users").fetchone()[0] == 3

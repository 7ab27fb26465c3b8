"""PostgreSQL seed interrupted mid-way: `cruddur db seed` is one transaction, so a seed killed (SIGKILL) while it
inserts leaves nothing behind, and running it again inserts everything exactly once.

(The DynamoDB counterparts are tests/ddb/test_crash_rerun.py and tests/ddb/test_throttling.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from cruddur_ops.cli.app import app

pytestmark = pytest.mark.integration

USERS = 500


def write_users(path, count: int):
    lines = ["users:"] + [f"  - {{handle: u{i:05d}, display_name: User {i:05d}}}" for i in range(count)]
    lines += ["conversations: []", "activities:", "  - {handle: u00001, message: the only activity}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url, connect_timeout=3) as conn:
        users = conn.execute("SELECT count(*) FROM public.users").fetchone()[0]
        activities = conn.execute("SELECT count(*) FROM public.activities").fetchone()[0]
    return users, activities


def blocked_seeding_backend(url: str) -> int | None:
    """The pid of a cruddur session inside a transaction that has written something and now waits on a lock."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = 'cruddur' AND backend_xid IS NOT NULL AND wait_event_type = 'Lock'").fetchone()
    return row[0] if row else None


def backend_alive(url: str, pid: int) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is not None


def test_db_seed_killed_mid_transaction_leaves_nothing_and_a_rerun_completes(pg_env, tmp_path):
    import psycopg

    url = pg_env
    load = CliRunner().invoke(app, ["db", "schema-load"])
    assert load.exit_code == 0, load.output
    path = write_users(tmp_path / "users.yaml", USERS)
    cmd = [sys.executable, "-m", "cruddur_ops", "db", "seed", str(path), "--yes", "--output", "json"]
    env = {**os.environ, "CONNECTION_URL": url}

    # The seed inserts every user, then waits for the activities table, which the test holds: it is killed
    # mid-transaction, with its users written and uncommitted, however fast it runs.
    holder = psycopg.connect(url, connect_timeout=3)
    holder.execute("LOCK TABLE public.activities IN ACCESS EXCLUSIVE MODE")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (backend := blocked_seeding_backend(url)) is None:
            assert proc.poll() is None, f"the seed ended before it reached the locked table: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the seed never reached the locked table"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        holder.rollback()  # the seed's backend goes on, finds its client gone and rolls back
        holder.close()
    while backend_alive(url, backend):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    assert counts(url) == (0, 0)  # all or nothing

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert counts(url) == (USERS, 1)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and counts(url) == (USERS, 1)  # a rerun adds nothing

"""SIGTERM during `db migrate up` exits 143 (SIGINT 130) with one line of what was done, through the edge like
every other interrupted command (issue 19: it exited 130 for both). The migration waits on a lock the test holds,
so the signal lands while it runs: no sleeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.pg.fixtures import new_db, url_for  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration
CRUDDUR = Path(sys.executable).with_name("cruddur")


@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_migration_exits_with_its_own_status_and_says_what_was_done(signum, status, cli, new_db,
                                                                                 tmp_path):
    cli("db", "create")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20260101000000_first.sql").write_text("-- migrate:up\nCREATE TABLE first (id int);\n"
                                                      "-- migrate:down\nDROP TABLE first;\n")
    (folder / "20260102000000_waits.sql").write_text("-- migrate:up\nSELECT pg_advisory_lock(4242);\n"
                                                      "-- migrate:down\nSELECT 1;\n")
    with psycopg.connect(url_for(new_db), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(4242)")
        proc = subprocess.Popen([str(CRUDDUR), "db", "migrate", "up", "--migrations-dir", str(folder)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the second migration waits on the lock the test holds
            waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                                     "AND objid = 4242").fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the migration never reached the lock"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert out == "" or '"interrupted"' in out
    assert "interrupted: 1 migration(s) applied (20260101000000_first.sql)" in err
    assert "Traceback" not in err

"""The private cluster of `cruddur local up` on a shared machine: a password, no shell, private files."""

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from cruddur_ops.local import pgcluster
from cruddur_ops.local._proc import free_port
from tests.pg.fixtures import unavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_home(home):
    if pgcluster.find_binaries(os.environ) is None:
        unavailable("PostgreSQL binaries (initdb, postgres) are not installed: apt-get install -y postgresql")
    yield home
    pgcluster.wipe(home)


def _psql() -> str:
    binaries = pgcluster.find_binaries(os.environ)
    found = shutil.which("psql") or (binaries and str(binaries.bindir / "psql"))
    if not found or not os.access(found, os.X_OK):
        unavailable("psql is not installed")
    return found


def _as_nobody(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], capture_output=True, text=True, timeout=60,
                          cwd="/", env={"PATH": os.environ.get("PATH", os.defpath), **(env or {})})


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a command as the `nobody` user: needs root")
def test_another_user_can_neither_connect_nor_run_copy_to_program(pg_home, cli, tmp_path):
    port = free_port(5610)
    up = cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", port)
    passfile = pg_home / "postgres.pgpass"
    assert f"export PGPASSFILE={passfile}" in up.stdout
    url = f"postgresql://postgres@127.0.0.1:{port}/cruddur"
    assert f"export CONNECTION_URL={url}" in up.stdout
    password = passfile.read_text().strip().rsplit(":", 1)[1]
    assert password not in up.stdout + up.stderr + cli("local", "status", "--output", "json").stdout

    hba = (Path(pgcluster.running(pg_home).pgdata) / "pg_hba.conf").read_text()
    assert not [line for line in hba.splitlines() if line.split()[-1:] == ["trust"]]

    marker = Path(tempfile.gettempdir()) / f"cruddur-copy-{os.getpid()}"
    copy = f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'"
    psql = _psql()
    try:
        without = _as_nobody(psql, "-w", url, "-c", copy)
        borrowed = _as_nobody(psql, "-w", url, "-c", copy, env={"PGPASSFILE": str(passfile)})
        assert without.returncode != 0 and "no password supplied" in without.stderr
        assert borrowed.returncode != 0  # the password file is root's, 0600: nobody cannot read it
        assert not marker.exists()
    finally:
        marker.unlink(missing_ok=True)
        cli("local", "down")
    # the owner (root here) connects with nothing but the exported lines, as psql, psycopg and the app do
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600


def test_eval_local_env_gives_psql_and_psycopg_a_connection(pg_home, cli):
    import psycopg

    cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", free_port(5620))
    try:
        env = cli("local", "env").stdout
        script = f'{env}\n"{_psql()}" -w -tA "$CONNECTION_URL" -c "SELECT current_user"'
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                              env={"PATH": os.environ.get("PATH", os.defpath)})
        assert done.returncode == 0 and done.stdout.strip() == "postgres", done.stderr
        lines = dict(line.removeprefix("export ").split("=", 1) for line in env.splitlines()
                     if line.startswith("export PGPASSFILE") or line.startswith("export CONNECTION_URL"))
        with psycopg.connect(lines["CONNECTION_URL"], passfile=lines["PGPASSFILE"]) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] > 0
        assert ":" not in lines["CONNECTION_URL"].split("@")[0].removeprefix("postgresql://")  # no password in it
    finally:
        cli("local", "down")


def test_the_data_dir_and_every_file_in_it_are_private(pg_home, cli):
    cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", free_port(5630))
    cluster = pgcluster.running(pg_home)
    try:
        assert stat.S_IMODE(pg_home.stat().st_mode) == 0o700
        roots = [pg_home, Path(cluster.pgdata).parent]
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames:
                    path = Path(dirpath) / name
                    if not path.is_symlink():
                        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
                for name in filenames:
                    path = Path(dirpath) / name
                    if not path.is_symlink():
                        assert stat.S_IMODE(path.lstat().st_mode) == 0o600, path
    finally:
        cli("local", "down")


def test_a_data_dir_named_with_a_command_substitution_is_taken_literally(aws_env, cli):
    if pgcluster.find_binaries(os.environ) is None:
        unavailable("PostgreSQL binaries (initdb, postgres) are not installed: apt-get install -y postgresql")
    base = Path(tempfile.mkdtemp(prefix="cruddur-subst-"))
    base.chmod(0o755)  # reachable by the `postgres` user, as a home folder often is
    data = base / "d$(id>pwned)x"
    data.mkdir()
    data.chmod(0o755)
    aws_env.setenv("CRUDDUR_HOME", str(data))
    try:
        up = cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", free_port(5640))
        cluster = pgcluster.running(data)
        assert cluster is not None and "$(id>pwned)" in up.stdout  # the export line names the folder as it is
        home = Path(cluster.pgdata).parent
        assert not [p for root in (base, home) for p in root.rglob("pwned")]
        assert not (Path("/") / "pwned").exists()
    finally:
        cli("local", "down")
        pgcluster.wipe(data)
        shutil.rmtree(base, ignore_errors=True)


def test_a_forged_postgres_state_file_is_refused(home, pg_server, cli):
    import json

    from tests.pg import fixtures

    real = fixtures._server["cluster"]  # a live postmaster (the session's cluster), running on its own folder
    forged = {"pid": real.pid, "port": 5432, "url": "postgresql://postgres@db.example.invalid:5432/cruddur",
              "pgdata": real.pgdata, "log": "/dev/null", "user": real.user, "started_at": 0.0}

    (home / "postgres.json").write_text(json.dumps(forged))
    (home / "postgres.json").chmod(0o600)
    assert pgcluster.running(home) is None
    pg = cli.json("local", "status")["services"][1]
    assert pg["source"] != "private cluster" and "db.example.invalid" not in json.dumps(pg)
    assert "db.example.invalid" not in cli("local", "env", ok=False).stdout

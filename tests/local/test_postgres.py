"""`cruddur local up | status | env | down` with PostgreSQL: a private cluster, or the clear install hint."""

import os

import pytest

from cruddur_ops.local import pgcluster
from cruddur_ops.local._proc import free_port, pid_alive
from cruddur_ops.seeds import seedfile
from tests.conftest import SEED, no_result
from tests.pg.fixtures import unavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_home(home):
    """The private data dir, with the cluster that a test starts in it stopped and deleted afterwards."""
    if pgcluster.find_binaries(os.environ) is None:
        unavailable("PostgreSQL binaries (initdb, postgres) are not installed: apt-get install -y postgresql")
    yield home
    pgcluster.wipe(home)


def _count(home, sql: str) -> int:
    """Run ``sql`` on the private cluster of ``home``, with its password file (its URL has no password)."""
    import psycopg

    with psycopg.connect(pgcluster.running(home).url, passfile=str(pgcluster.passfile(home)), connect_timeout=3) as conn:
        return conn.execute(sql).fetchone()[0]


def test_private_cluster_up_setup_status_env_down(pg_home, cli):
    port = free_port(5600)
    url = f"postgresql://postgres@127.0.0.1:{port}/cruddur"
    up = cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", port)
    assert up.stdout.splitlines() == [f"export PGPASSFILE={pg_home / 'postgres.pgpass'}", f"export CONNECTION_URL={url}"]
    assert "initialised a PostgreSQL cluster" in up.stderr and f"on port {port}" in up.stderr
    assert _count(pg_home, "SELECT count(*) FROM users") == len(seedfile.read(SEED).users)  # `db setup` ran

    again = cli("local", "up", "--no-dynamodb", "--postgres", "private", "--output", "json")
    assert "already running: PostgreSQL" in again.stderr
    assert '"started": false' in again.stdout

    ddb, pg = cli.json("local", "status")["services"]
    assert ddb["state"] == "down"
    assert pg["state"] == "up" and pg["source"] == "private cluster" and pg["endpoint"] == url
    assert pg["os_user"] == ("postgres" if os.geteuid() == 0 else pgcluster._whoami())
    assert pid_alive(pg["pid"]) and pgcluster.is_postmaster(pg["pid"], pg["data"])
    assert {t["name"]: t["rows"] for t in pg["tables"]}["users"] == len(seedfile.read(SEED).users)

    env = cli("local", "env").stdout
    assert f"export CONNECTION_URL={url}" in env and "DynamoDB Local is not running" in env

    cli("local", "down")
    assert not pid_alive(pg["pid"])
    assert "no private PostgreSQL cluster was running" in cli("local", "down").stderr
    after = cli.json("local", "status")["services"][1]
    assert after["source"] == "default" and after["pid"] is None  # the cluster's data stays, its server is gone


def test_up_after_down_keeps_the_data_and_reset_wipes_it(pg_home, cli):
    cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", free_port(5650))
    _count(pg_home, "INSERT INTO users (handle, display_name) VALUES ('zed', 'Zed') RETURNING 1")
    cli("local", "down")

    restarted = cli("local", "up", "--no-dynamodb")  # auto: the stopped cluster wins over the default URL's server
    assert "initialised" not in restarted.stderr and "started PostgreSQL" in restarted.stderr
    assert _count(pg_home, "SELECT count(*) FROM users WHERE handle = 'zed'") == 1

    refused = cli("local", "up", "--no-dynamodb", "--postgres", "private", "--reset", ok=False)
    assert refused.exit_code == 7 and "pass --yes" in refused.stderr  # no terminal to ask on
    cli("local", "up", "--no-dynamodb", "--postgres", "private", "--reset", "--yes")
    assert _count(pg_home, "SELECT count(*) FROM users WHERE handle = 'zed'") == 0
    cli("local", "down")


def test_neither_a_server_nor_binaries_is_one_line_with_the_install_hint(home, cli, monkeypatch):
    monkeypatch.setattr(pgcluster, "find_binaries", lambda env: None)
    monkeypatch.setenv("CONNECTION_URL", f"postgresql://postgres@127.0.0.1:{free_port(5700)}/cruddur")
    result = cli("local", "up", "--no-dynamodb", ok=False)
    assert result.exit_code == 8 and no_result(result.stdout)
    assert "no PostgreSQL server answers" in result.stderr and "apt-get install -y postgresql" in result.stderr
    assert "Traceback" not in result.stderr

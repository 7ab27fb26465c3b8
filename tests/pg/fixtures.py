"""PostgreSQL fixtures: the session's own private cluster, and one scratch database in it (random name).

``pg_server`` starts a private cluster with the project's own code (:mod:`cruddur_ops.local.pgcluster`, as
``ddb_local`` starts DynamoDB Local) in a temporary data dir on a free port — as the ``postgres`` OS user when the
tests run as root — so no system PostgreSQL is needed. Its superuser's password is ``PASSWORD``, and the cluster
checks it (scram-sha-256): every URL handed to a test carries it, and tests assert it never appears in any
output. With ``CI=true`` a cluster that cannot start fails the tests instead of skipping them. Registered once for
every test as a plugin (``pytest_plugins`` in tests/conftest.py).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

PASSWORD = "Pa55-w0rd-NEVER-shown"
HOST = "127.0.0.1"
_server: dict = {}  # {"port": …, "cluster": pgcluster.Cluster} once pg_server has started the cluster


def port() -> int:
    """The port of the session's private cluster (started by ``pg_server``)."""
    if "port" not in _server:
        raise RuntimeError("the pg_server fixture has not started the session's PostgreSQL cluster")
    return _server["port"]


def host_url(password: str = PASSWORD) -> str:
    return f"postgresql://postgres:{password}@{HOST}:{port()}"


def url_for(name: str, password: str = PASSWORD) -> str:
    return f"{host_url(password)}/{name}"


def unavailable(message: str):
    """Skip — or, with CI=true, fail: CI must never pass by skipping every PostgreSQL test."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: PostgreSQL tests fail instead of skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """The session's private PostgreSQL cluster (password ``PASSWORD``); yields its port, wiped at the end."""
    from cruddur_ops.errors import EngineError
    from cruddur_ops.local import pgcluster
    from cruddur_ops.local._proc import free_port

    binaries = pgcluster.find_binaries(os.environ)
    if binaries is None:
        unavailable("PostgreSQL binaries (initdb, postgres) are not installed: apt-get install -y postgresql")
    data_dir = tmp_path_factory.mktemp("pg-cluster")
    try:
        pgcluster.initialise(data_dir, binaries, os.environ, password=PASSWORD)
        cluster = pgcluster.start(data_dir, binaries, os.environ, port=free_port(5500))
    except EngineError as exc:
        pgcluster.wipe(data_dir)
        unavailable(f"the session's PostgreSQL cluster did not start: {exc}")
    _server.update(port=cluster.port, cluster=cluster)
    try:
        yield cluster.port
    finally:
        _server.clear()
        pgcluster.stop_cluster(cluster)
        pgcluster.wipe(data_dir)


def _admin():
    import psycopg

    return psycopg.connect(url_for("postgres"), autocommit=True, connect_timeout=3)


def drop_if_exists(name: str) -> None:
    from psycopg import sql

    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_exists(name: str) -> bool:
    with _admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def random_name(prefix: str = "cruddur_test") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def scratch_db(pg_server):
    """The session's scratch database (empty), in the session's cluster; yields its name and drops it at the end."""
    import psycopg
    from psycopg import sql

    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        unavailable(f"no PostgreSQL on {HOST}:{pg_server}: {exc}")
    name = random_name()
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        drop_if_exists(name)


@pytest.fixture
def pg_url(scratch_db):
    """The scratch database's URL (with a password), with no tables in it: each test starts from nothing."""
    import psycopg

    with psycopg.connect(url_for(scratch_db), autocommit=True, connect_timeout=3) as conn:
        conn.execute("DROP TABLE IF EXISTS public.activities, public.users, public.schema_migrations, "
                     "public.cruddur_migrations CASCADE")
    return url_for(scratch_db)


@pytest.fixture
def pg_conn(pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True, connect_timeout=3) as conn:
        yield conn


@pytest.fixture
def pg_env(aws_env, pg_url):
    """The environment pointed at the scratch database through CONNECTION_URL."""
    aws_env.setenv("CONNECTION_URL", pg_url)
    return pg_url


@pytest.fixture
def new_db(aws_env, pg_server):
    """A database name that does not exist yet (CONNECTION_URL points at it); dropped after the test."""
    try:
        _admin().close()
    except Exception as exc:  # psycopg.OperationalError
        unavailable(f"no PostgreSQL on {HOST}:{pg_server}: {exc}")
    name = random_name("cruddur_new")
    aws_env.setenv("CONNECTION_URL", url_for(name))
    try:
        yield name
    finally:
        drop_if_exists(name)


SEED_YAML = """\
users:
  - {handle: ada, display_name: Ada Quist, uuid: 0a0a0a0a-1111-4222-8333-444444444401, email: ada@cruddur.test}
  - {handle: bo, display_name: Bo Ström, uuid: 0a0a0a0a-1111-4222-8333-444444444402}
  - {handle: cy, display_name: Cy Nakamura, email: cy@cruddur.test}
conversations:
  - between: [ada, bo]
    messages:
      - ada: ping
      - bo: pong
activities:
  - {handle: ada, message: "First post from the seed file itself.", created_at: "2024-01-02T03:04:05+00:00"}
"""

ACTIVITIES_YAML = """\
activities:
  - handle: bo
    message: Two tables walk into a JOIN.
    created_at: 2024-01-03T10:00:00+00:00
  - handle: cy
    message: No timestamp here, so it is now.
"""


@pytest.fixture
def seed_file(tmp_path) -> Path:
    """A seed file (3 users, one activity) with an activities.yaml beside it (2 more activities)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "activities.yaml").write_text(ACTIVITIES_YAML, encoding="utf-8")
    path = folder / "conversations.yaml"
    path.write_text(SEED_YAML, encoding="utf-8")
    return path


@pytest.fixture
def schema_sql() -> Path:
    return Path(__file__).resolve().parents[2] / "cruddur_ops" / "data" / "schemas" / "schema.sql"

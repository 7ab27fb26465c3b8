"""PostgreSQL fixtures: one scratch database per test session (random name, dropped at the end).

Every URL handed to a test carries a password (``PASSWORD``): the server trusts loopback connections and
ignores it, and tests assert it never appears in any output. Registered once for every test as a plugin
(``pytest_plugins`` in tests/conftest.py).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

HOST_URL = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "Pa55-w0rd-NEVER-shown"
MAINTENANCE = f"{HOST_URL}/postgres"


def url_for(name: str, password: str = PASSWORD) -> str:
    return f"postgresql://postgres:{password}@127.0.0.1:5432/{name}"


def _admin():
    import psycopg

    return psycopg.connect(MAINTENANCE, autocommit=True, connect_timeout=3)


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
def scratch_db():
    """The session's scratch database (empty); yields its name and drops it at the end."""
    import psycopg
    from psycopg import sql

    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
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
def new_db(aws_env):
    """A database name that does not exist yet (CONNECTION_URL points at it); dropped after the test."""
    try:
        _admin().close()
    except Exception as exc:  # psycopg.OperationalError
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
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

"""Shared fixtures: a real DynamoDB Local (started by the tool's own code) and a CLI runner.

Every test that uses an engine fixture (DynamoDB Local, PostgreSQL) is marked ``integration`` by
:func:`pytest_collection_modifyitems`. Two tiers: a plain ``pytest`` runs the fast tests only (no engine, no
Java, npm or PostgreSQL needed; under two minutes); ``pytest --full`` (what README and ``.ci/run`` give) adds the
``integration`` and ``heavy`` tests (engines, faults, hostile inputs). An explicit ``-m`` expression wins over
both. The fixture modules of PostgreSQL and moto are registered once, as plugins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cruddur_ops.settings import Settings, default_data_dir

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "cruddur_ops" / "data" / "schemas" / "cruddur-messages.yaml"
SEED = ROOT / "cruddur_ops" / "data" / "seeds" / "conversations.yaml"
# Where this machine keeps the installed DynamoDB Local, read before any test changes CRUDDUR_HOME.
ENGINE_HOME = default_data_dir(os.environ)

pytest_plugins = ["tests.pg.fixtures", "tests.aws.fixtures"]

# The fixtures that start or reach a real engine; a test using any of them (directly or through another
# fixture) is an integration test.
ENGINE_FIXTURES = frozenset({"ddb_local", "pg_server", "scratch_db", "new_db"})


SLOW_MARKERS = ("integration", "heavy")


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="also run the integration and heavy tests (real engines, faults, hostile inputs)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if ENGINE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    if config.getoption("--full") or config.option.markexpr:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if any(item.get_closest_marker(m) for m in SLOW_MARKERS) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


class _PathList(list):
    """A loader's search paths: boto3 appends its data folder once per Session; a shared loader keeps one copy."""

    def append(self, path):
        if path not in self:
            super().append(path)


@pytest.fixture(scope="session", autouse=True)
def shared_botocore_loader():
    """Every boto3/botocore session of the test run shares one botocore data loader (and so its cache).

    The service models and endpoints.json are read-only data; reparsing them for every ``Settings`` (each makes
    its own boto3 Session) was most of the CPU time of the fast tier. What the code under test does with its
    sessions and clients is unchanged: each test still gets its own Session, credentials and clients.
    """
    import botocore.loaders
    import botocore.session

    original = botocore.session.create_loader
    loaders: dict = {}

    def create_loader(search_path_string=None):
        if search_path_string not in loaders:
            loader = original(search_path_string)
            loader._search_paths = _PathList(loader.search_paths)
            loaders[search_path_string] = loader
        return loaders[search_path_string]

    patch = pytest.MonkeyPatch()
    patch.setattr(botocore.session, "create_loader", create_loader)
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def click_tree_built_once():
    """``CliRunner.invoke(app)`` turns the Typer app into its Click command tree once per app, not per call.

    Building the tree inspects every command's signature and type hints (~0.1 s of CPU each time), which was most
    of the in-process CLI tests' time; a real ``cruddur`` builds it once per process too. The tree is stateless
    between invocations (options are parsed into a new context each time), so what each test proves is unchanged.
    """
    import typer.testing

    built: dict[int, tuple[object, object]] = {}
    original = typer.testing._get_command

    def get_command(app):
        if id(app) not in built or built[id(app)][0] is not app:
            built[id(app)] = (app, original(app))
        return built[id(app)][1]

    patch = pytest.MonkeyPatch()
    patch.setattr(typer.testing, "_get_command", get_command)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def ddb_local():
    """One in-memory DynamoDB Local for the test session; yields its endpoint URL."""
    from cruddur_ops.local import dynamodb_local

    engine = dynamodb_local.start(ENGINE_HOME, port=dynamodb_local.free_port(8700), in_memory=True)
    try:
        yield engine.endpoint
    finally:
        dynamodb_local.stop_pid(engine.pid)


def no_result(stdout: str) -> bool:
    """An error leaves no result on stdout: nothing, or (stdout piped and no -o, as under a test runner) only
    the JSON error document, resolved at the edge like any result."""
    if stdout == "":
        return True
    try:
        doc = json.loads(stdout)
    except ValueError:
        return False
    return isinstance(doc, dict) and set(doc) == {"error"}


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """An environment with no real AWS: dummy credentials, a region, no profile, an isolated data dir."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in ("CONNECTION_URL", "DATABASE_URL", "PROD_CONNECTION_URL"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("CRUDDUR_HOME", str(tmp_path / "cruddur-home"))
    return monkeypatch


@pytest.fixture
def ddb_env(aws_env, ddb_local):
    """The environment pointed at the session's DynamoDB Local."""
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_local)
    return ddb_local


@pytest.fixture
def ddb(ddb_env):
    """A boto3 DynamoDB client on DynamoDB Local, with every table dropped before the test."""
    client = Settings.from_env().dynamodb()
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
    return client


@pytest.fixture
def messages_table(ddb):
    """An empty ``cruddur-messages`` created from the project's schema."""
    from cruddur_ops.ddb import schema

    schema.load(ddb, schema.read([SCHEMA]).tables)
    return ddb


class Cli:
    """Runs ``cruddur`` in-process; ``json`` parses stdout, which must hold one document."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool = True):
        from cruddur_ops.cli.app import app

        result = self.runner.invoke(app, [str(a) for a in args], input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"cruddur {' '.join(map(str, args))} exited {result.exit_code}\nstdout: {result.stdout}\n"
                f"stderr: {result.stderr}\nexception: {result.exception!r}")
        return result

    def json(self, *args: str, **kw):
        result = self(*args, "--output", "json", **kw)
        return json.loads(result.stdout)


@pytest.fixture
def cli():
    return Cli()

"""Production guards: every command that writes or deletes refuses a non-loopback endpoint (or AWS itself, or a
PostgreSQL host that is not local) without --prod, before a single request; and no secret ever reaches the output,
the error line or a --debug traceback.

No request can leave: every boto3 call and every psycopg connection goes through a spy that records it and fails as
an unresolvable host would. The hosts are ``.invalid`` names, which never resolve (RFC 6761), so even a request
that escaped the spy would reach nobody.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cruddur_ops.cli.app import app
from tests.conftest import SCHEMA, SEED, no_result

DDB = "http://dynamodb.example.invalid"
AWS_SECRET = "wJalrXUtnFEMI-K7MDENG-not-a-real-secret-3c1f"
AWS_TOKEN = "FwoGZXIvYXdzEBYaD-session-token-9a7e"
PG_PASSWORD = "pg-S3cret-5d1c9e"
PG_URL = f"postgresql://cruddur:{PG_PASSWORD}@db.example.invalid:5432/cruddur"
PROD_PG_URL = f"postgresql://cruddur:{PG_PASSWORD}-prod@prod-db.example.invalid:5432/cruddur"
SECRETS = (AWS_SECRET, AWS_TOKEN, PG_PASSWORD)
GROUP = "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611"

# Which commands write is not listed here: tests/test_command_tree_guard.py walks the command tree and proves that
# every command asking for a write client refuses without --prod. These samples check the refusal's exact words.
DDB_WRITES = [
    (["ddb", "schema-load", str(SCHEMA)], "create tables"),
    (["ddb", "drop", "cruddur-messages", "--yes"], "drop table cruddur-messages"),
    (["ddb", "seed", str(SEED), "--users-from", "yaml"], "seed cruddur-messages"),
]
PG_WRITES = [(["db", "drop", "--yes"], "drop database cruddur")]


class Spy:
    """Records every boto3 API call and psycopg connection, and fails each as an unresolvable host would."""

    def __init__(self):
        self.aws: list[str] = []
        self.pg: list[str] = []


@pytest.fixture
def spy(monkeypatch):
    import botocore.client
    import psycopg
    from botocore.exceptions import EndpointConnectionError

    calls = Spy()

    def make_api_call(client, operation, params):
        calls.aws.append(operation)
        raise EndpointConnectionError(endpoint_url=client.meta.endpoint_url)

    def connect(*args, **kwargs):
        calls.pg.append("connect")
        raise psycopg.OperationalError("connection is bad: could not translate host name to address")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    monkeypatch.setattr(psycopg, "connect", connect)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(lambda cls, *a, **k: connect()))
    return calls


@pytest.fixture
def prod_env(aws_env):
    """Secrets in the environment, as a user's shell would have them; no endpoint yet."""
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    aws_env.setenv("AWS_SESSION_TOKEN", AWS_TOKEN)
    aws_env.setenv("CONNECTION_URL", PG_URL)
    aws_env.setenv("PROD_CONNECTION_URL", PROD_PG_URL)
    aws_env.setenv("AWS_COGNITO_USER_POOL_ID", "us-east-1_Example")
    aws_env.setenv("DB_INSTANCE_ID", "cruddur-db")
    return aws_env


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_one_line_refusal(result, expected: str):
    assert result.exit_code == 6, (result.output, result.exception)  # refused by the production guard
    assert no_result(result.stdout)
    assert result.stderr == f"Error: {expected}\n"
    assert_no_secret(result)


def assert_no_secret(result):
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr


@pytest.mark.parametrize("where", ["flag first", "flag last", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS"])
@pytest.mark.parametrize("argv,action", DDB_WRITES, ids=[" ".join(a[:3]) for a, _ in DDB_WRITES])
def test_dynamodb_writes_refuse_production_without_prod(argv, action, where, prod_env, spy):
    described = DDB
    if where == "flag first":
        argv = ["--endpoint-url", DDB, *argv]
    elif where == "flag last":  # global flags may follow the command
        argv = [*argv, "--endpoint-url", DDB]
    elif where == "AWS":  # no endpoint at all: the real AWS, which counts as production too
        described = "AWS dynamodb (us-east-1)"
    else:
        prod_env.setenv(where, DDB)
    result = run(*argv)
    assert_one_line_refusal(
        result, f"refusing to {action} on {described}: it is not a local endpoint; pass --prod to act on production")
    assert spy.aws == [] and spy.pg == []  # refused before any request


@pytest.mark.parametrize("argv,action", PG_WRITES, ids=[" ".join(a[:2]) for a, _ in PG_WRITES])
def test_postgres_writes_refuse_a_remote_host_without_prod(argv, action, prod_env, spy):
    result = run(*argv)
    assert_one_line_refusal(
        result, f"refusing to {action} on postgresql://cruddur:***@db.example.invalid:5432/cruddur: "
                "db.example.invalid is not a local host; pass --prod to act on production")
    assert spy.pg == [] and spy.aws == []


@pytest.mark.parametrize("argv,action", [DDB_WRITES[0], DDB_WRITES[2]], ids=["schema-load", "seed"])
def test_with_prod_the_request_goes_out_and_fails_in_one_line(argv, action, prod_env, spy):
    """The control: with --prod the same command does send its request (here: to a host that does not resolve)."""
    result = run("--endpoint-url", DDB, *argv, "--prod")
    assert spy.aws, "with --prod the command should have tried"
    assert result.exit_code == 8 and no_result(result.stdout)  # engine unreachable
    assert result.stderr == f'Error: cannot reach {DDB}: EndpointConnectionError\n'
    assert_no_secret(result)


@pytest.mark.parametrize("argv", [
    ["ddb", "drop", "cruddur-messages", "--yes"],  # refused: a CruddurError's traceback
    ["ddb", "drop", "cruddur-messages", "--yes", "--prod"],  # sent: botocore's traceback
    ["ddb", "list-tables"],  # a read, sent
    ["db", "drop", "--yes"],  # refused on PostgreSQL
    ["db", "status", "--prod"],  # PROD_CONNECTION_URL: psycopg's error, with its traceback
    ["cognito", "update-user-ids", "--prod"],
])
def test_debug_tracebacks_carry_no_secret(argv, prod_env, spy):
    result = run("--debug", "--endpoint-url", DDB, *argv)
    assert result.exit_code in (6, 8), (result.output, result.exception)  # refused, or unreachable
    assert "Traceback" in result.stderr  # --debug shows it…
    assert_no_secret(result)  # …without a password, key or token
    assert "***" in result.stderr or "example.invalid" in result.stderr


def test_the_masked_url_is_what_errors_show(prod_env, spy):
    result = run("db", "status", "--prod")
    assert result.exit_code == 8
    assert PG_PASSWORD not in result.stderr and "prod-db.example.invalid" in result.stderr


def test_the_real_driver_error_carries_no_password(prod_env):
    """psycopg itself (no spy) on a host that never resolves: the error names the host, masks the password."""
    result = run("--debug", "db", "status", "--prod")
    assert result.exit_code == 8
    assert "prod-db.example.invalid" in result.stderr and "cruddur:***@" in result.stderr
    assert_no_secret(result)

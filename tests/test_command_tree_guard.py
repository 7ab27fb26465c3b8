"""Fail closed, proved over the whole command tree: every command of ``cruddur`` (found by walking
``typer.main.get_command(app)``, not a hand-kept list) runs against ``.invalid`` targets without ``--prod``. A
command that asks Settings for a write client or connection is refused there with exit 6 and never opens a
socket, sends an AWS request or connects to PostgreSQL. Which commands write is learnt from the factory
(``settings.WRITE_REQUESTS``); a command whose code asks for a write client but that was not seen asking fails
the test (its arguments did not reach the write).

A read client made for production refuses every write operation before sending it, so a command that forgot to
ask for a write client cannot write there either (the last tests).
"""

from __future__ import annotations

import inspect
import socket

import pytest
import typer
from typer.testing import CliRunner

from cruddur_ops import settings as settings_module
from cruddur_ops.cli.app import app
from cruddur_ops.errors import ProdGuardError
from cruddur_ops.settings import Action, Settings

INVALID_AWS = "http://aws.example.invalid"
INVALID_PG = "postgresql://cruddur:pw@db.example.invalid:5432/cruddur"
# groups whose commands act only on the data dir's private engines (never a --prod target); tests/local covers them
PRIVATE_ENGINE_GROUPS = {"local"}
# a server that runs until stopped and never asks for a write client (read-only by construction; tests/web proves
# its refusals: 405 for every method that would write)
SERVERS = {"web"}
WRITES_IN_CODE = ("write=", ".writable(", ".authorize(")


def leaves(command, path: tuple[str, ...] = ()):
    if hasattr(command, "commands"):  # a group (typer's own click, or click's)
        for name, sub in sorted(command.commands.items()):
            yield from leaves(sub, (*path, name))
    else:
        yield path, command


COMMANDS = [(p, c) for p, c in leaves(typer.main.get_command(app))
            if p[0] not in PRIVATE_ENGINE_GROUPS and p[0] not in SERVERS]


# Options without which a command only reads (its write is a mode): how to reach that write.
WRITE_MODES = {("ddb", "export"): ["--s3", "s3://exports.invalid/p"],
               ("ddb", "import"): ["cruddur-messages", "{input}"],  # TABLE FILE (optional: --s3 is its other mode)
               ("ddb", "update"): ["--set", "views=1"],
               ("doctor",): ["--end-sessions"]}


def argv_for(path: tuple[str, ...], command, tmp_path) -> list[str]:
    """The command with a value for every required parameter (and its TABLE/FILE arguments, optional where the
    command has another mode), and --yes / --fix where it takes them: the way to its write, found from its
    parameters."""
    empty = tmp_path / "input.txt"
    empty.write_text("{}\n")
    argv = list(path) + [a.replace("{input}", str(empty)) for a in WRITE_MODES.get(path, [])]
    names = iter(["cruddur-messages", "cruddur-copy", "pk-1", "sk-1"])  # table names first, then keys
    for param in command.params:
        if param.param_type_name == "argument" and (param.required or param.name == "item"):
            if param.name == "item":
                value = '{"pk": "a", "sk": "b"}'
            else:
                value = str(empty) if param.type.name == "path" else next(names)
            argv += [value] * (param.nargs if param.nargs > 0 else 1)
        elif param.param_type_name == "option":
            if param.required:
                value = ("5" if "int" in param.type.name else
                         "4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611" if "group" in param.name else "mira")
                argv += [param.opts[0], value]
            elif param.opts[0] in ("--yes", "--fix"):
                argv.append(param.opts[0])
    return argv


@pytest.fixture
def no_network(aws_env, monkeypatch):
    """Every way out recorded and failed: sockets, DNS, boto3 calls and psycopg connections."""
    import botocore.client
    import psycopg
    from botocore.exceptions import EndpointConnectionError

    attempts: list[str] = []

    def refuse(kind):
        def fail(*args, **kwargs):
            attempts.append(kind)
            raise OSError(f"test: no {kind} allowed")
        return fail

    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))

    def api_call(client, operation, params):
        attempts.append(f"aws {operation}")
        raise EndpointConnectionError(endpoint_url=client.meta.endpoint_url)

    def pg_connect(*args, **kwargs):
        attempts.append("psycopg.connect")
        raise psycopg.OperationalError("could not translate host name to address")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)
    monkeypatch.setattr(psycopg, "connect", pg_connect)
    for name in ("CONNECTION_URL", "PROD_CONNECTION_URL"):
        aws_env.setenv(name, INVALID_PG)
    aws_env.setenv("AWS_ENDPOINT_URL", INVALID_AWS)
    for name, value in {"AWS_COGNITO_USER_POOL_ID": "us-east-1_Example", "DB_INSTANCE_ID": "cruddur-db",
                        "DB_SG_ID": "sg-0abc", "DB_SG_RULE_ID": "sgr-0def", "CRUDDUR_CLIENT_IP": "127.0.0.1"}.items():
        aws_env.setenv(name, value)
    return attempts


def test_the_walk_finds_the_writing_commands():
    """The tree is walked, not listed: the groups and the commands that write are all there."""
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"ddb drop", "ddb seed", "db migrate down", "rds stop", "cognito update-user-ids"} <= names
    writers = [p for p, c in COMMANDS if any(w in inspect.getsource(c.callback) for w in WRITES_IN_CODE)]
    assert len(writers) >= 20


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_writing_command_refuses_an_invalid_target_before_any_connection(path, command, no_network, tmp_path):
    settings_module.WRITE_REQUESTS.clear()
    result = CliRunner().invoke(app, argv_for(path, command, tmp_path), input="")
    asked = list(settings_module.WRITE_REQUESTS)
    code = inspect.getsource(command.callback)
    if any(w in code for w in WRITES_IN_CODE):
        assert asked, f"{' '.join(path)} writes but its arguments never reached the write: {result.stderr}"
    if asked:
        assert result.exit_code == 6, (path, result.stdout, result.stderr, result.exception)
        assert "refusing to" in result.stderr and "pass --prod" in result.stderr
        assert no_network == [], f"{' '.join(path)} reached the network before refusing: {no_network}"


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_a_destructive_command_with_prod_and_yes_alone_is_refused_before_any_connection(path, command, no_network,
                                                                                        tmp_path):
    """On production --yes alone does not confirm a destructive action (the name is typed at a terminal): refused
    before anything is read, e.g. `db migrate down --prod --yes` never connects (issue 25)."""
    settings_module.WRITE_REQUESTS.clear()
    result = CliRunner().invoke(app, ["--prod", *argv_for(path, command, tmp_path)], input="")
    if any(destructive for _, _, destructive in settings_module.WRITE_REQUESTS):
        assert result.exit_code == 6, (path, result.stdout, result.stderr, result.exception)
        assert "--yes alone" in result.stderr or "no terminal" in result.stderr
        assert no_network == [], f"{' '.join(path)} reached the network before refusing: {no_network}"


def test_the_destructive_commands_are_among_them():
    destructive = [p for p, c in COMMANDS if "destructive=True" in inspect.getsource(c.callback)]
    assert {("ddb", "drop"), ("ddb", "truncate"), ("db", "drop"), ("rds", "stop")} <= set(destructive)


def test_a_read_client_for_production_cannot_write(aws_env):
    """The fail-closed half: a command that forgot to ask for a write client still cannot write to production."""
    s = Settings.from_env(endpoint_url=INVALID_AWS, prod=True)
    client = s.dynamodb()
    with pytest.raises(ProdGuardError, match="made for reading"):
        client.delete_table(TableName="cruddur-messages")
    assert s.dynamodb(write=Action("create tables")).meta.endpoint_url == INVALID_AWS  # asked for: allowed


def test_a_destructive_write_client_on_production_needs_the_typed_name(aws_env):
    s = Settings.from_env(endpoint_url=INVALID_AWS, prod=True)
    with pytest.raises(ProdGuardError, match="no terminal to type 'cruddur-messages'"):
        s.dynamodb(write=Action("drop table", "cruddur-messages", destructive=True, yes=True))


def test_a_read_connection_to_production_is_read_only(aws_env):
    s = Settings.from_env(env={"PROD_CONNECTION_URL": INVALID_PG}, prod=True)
    assert "default_transaction_read_only=on" in s.database().conninfo()
    assert "default_transaction_read_only" not in s.database(write=Action("apply migrations")).conninfo()

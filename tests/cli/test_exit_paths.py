"""One exit path: a prompt left with n, Ctrl-C or Ctrl-D is declined (exit 10, one plain line); every KEY=VALUE
option is read by one parser (exit 3 naming the option); with stdout piped and no -o an error is a JSON document
on stdout as well as a line on stderr."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cruddur_ops.cli.app import app

CRUDDUR = Path(sys.executable).with_name("cruddur")


def at_the_prompt(argv: list[str], key: bytes | None, env: dict) -> tuple[int, str]:
    """cruddur with a pty as stdin; once its question is on stderr, type ``key`` (None: send SIGINT, Ctrl-C)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(CRUDDUR), *argv], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    os.close(slave)
    try:
        err = b""
        while b"?" not in err:  # the question itself is on stderr: the key lands at the prompt, not before
            chunk = os.read(proc.stderr.fileno(), 1024)
            assert chunk, err
            err += chunk
        if key is None:
            proc.send_signal(signal.SIGINT)
        else:
            os.write(master, key)
        _, rest = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, (err + rest).decode()


@pytest.mark.parametrize("key", [b"n\n", b"\x04", None], ids=["n", "ctrl-d", "ctrl-c"])
def test_a_declined_or_abandoned_prompt_is_exit_10_with_one_plain_line(key, aws_env):
    env = dict(os.environ, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # a local target: the question comes first
    code, err = at_the_prompt(["ddb", "drop", "cruddur-messages"], key, env)
    assert code == 10, err
    assert err.strip().endswith("not done: drop table cruddur-messages (declined)")
    assert "Aborted" not in err and "Error" not in err


@pytest.mark.parametrize("argv,option", [
    (["ddb", "schema-load", "--plan", "--parameter-overrides", "Env"], "--parameter-overrides"),
    (["ddb", "import", "t", "x.csv", "--types", "views"], "--types"),
    (["ddb", "query", "t", "a", "--name", "#n"], "--name"),
    (["ddb", "query", "t", "a", "--value", "v"], "--value"),
    (["ddb", "pattern", "run", "messages", "-p", "group"], "--param"),
])
def test_every_key_value_option_says_which_and_exits_3(argv, option, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 3, (result.stdout, result.stderr, result.exception)
    assert f"{option} takes" in result.stderr


def test_a_piped_error_is_a_json_document_on_stdout_too(aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL", "http://db.example.invalid")
    result = CliRunner().invoke(app, ["ddb", "drop", "cruddur-messages", "--yes"])  # CliRunner's stdout is a pipe
    assert result.exit_code == 6
    assert json.loads(result.stdout)["error"]["code"] == "production"
    assert result.stderr.startswith("Error: refusing to drop table cruddur-messages")


@pytest.mark.integration
def test_a_query_with_no_match_is_an_empty_result_document(messages_table, cli):
    doc = cli.json("ddb", "query", "cruddur-messages", "MSG#nobody")
    assert doc["items"] == [] and doc["count"] == 0 and doc["table"] == "cruddur-messages"

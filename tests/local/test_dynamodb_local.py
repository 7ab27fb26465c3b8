"""`cruddur local up | status | env | down` start and stop a real DynamoDB Local."""

import pytest

from cruddur_ops.local import _proc

pytestmark = pytest.mark.integration


def test_up_status_env_down(home, cli):
    port = _proc.free_port(8800)
    up = cli("local", "up", "--port", str(port), "--in-memory", "--postgres", "off")
    assert up.stdout.strip() == f"export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{port}"
    try:
        status = cli.json("local", "status")["services"][0]
        assert status["state"] == "up" and status["endpoint"] == f"http://127.0.0.1:{port}"
        again = cli("local", "up", "--postgres", "off")
        assert "already running" in again.stderr
        env = cli("local", "env").stdout
        assert f"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{port}" in env
        pid = status["pid"]
    finally:
        cli("local", "down")
    assert not _proc.pid_alive(pid)
    assert cli.json("local", "status")["services"][0]["state"] == "down"
    assert "not running" in cli("local", "down").stderr


def test_up_persists_to_the_data_dir(home, cli):
    port = _proc.free_port(8850)
    cli("local", "up", "--port", str(port), "--postgres", "off")
    try:
        assert (home / "dynamodb-data").is_dir()
        assert cli.json("local", "status")["services"][0]["data"] == str(home / "dynamodb-data")
    finally:
        cli("local", "down")


def test_env_without_an_engine_is_a_clear_error(home, cli):
    result = cli("local", "env", ok=False)
    assert result.exit_code == 8 and "cruddur local up" in result.stderr

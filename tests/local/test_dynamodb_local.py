"""`cruddur local up | status | env | down` start and stop a real DynamoDB Local: checked, loopback only, private."""

import json
import stat
from pathlib import Path

import pytest

from cruddur_ops.local import _proc, dynamodb_local

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
        cli("--endpoint-url", f"http://127.0.0.1:{port}", "ddb", "schema-load")  # it writes its database file
        assert _listening(port) and all(_loopback(a) for a in _listening(port))
    finally:
        cli("local", "down")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if not p.is_symlink() and "dynamodb-local/" not in str(p.relative_to(home))
             and p.name != "dynamodb-local"]
    assert any(p.name == "shared-local-instance.db" for p in files)
    modes = {str(p.relative_to(home)): stat.S_IMODE(p.lstat().st_mode) for p in files}
    assert all(mode == (0o700 if (home / name).is_dir() else 0o600) for name, mode in modes.items()), modes


def test_env_without_an_engine_is_a_clear_error(home, cli):
    result = cli("local", "env", ok=False)
    assert result.exit_code == 8 and "cruddur local up" in result.stderr


def _listening(port: int) -> list[str]:
    """The local addresses of every listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    import ipaddress

    found = []
    for table, family in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # the kernel prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            ip = ipaddress.ip_address(raw)
            found.append(str(ip.ipv4_mapped or ip) if family == 6 else str(ip))
    return found


def _loopback(address: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(address).is_loopback


def test_dynamodb_local_listens_on_loopback_only(ddb_local):
    port = int(ddb_local.rsplit(":", 1)[1])
    addresses = _listening(port)
    assert addresses and all(_loopback(a) for a in addresses), addresses


def test_a_planted_jar_is_refused(aws_env, tmp_path, cli):
    data = tmp_path / "planted"
    jar = dynamodb_local.install_dir(data) / "DynamoDBLocal.jar"
    jar.parent.mkdir(parents=True)
    data.chmod(0o700)
    jar.write_bytes(b"PK\x03\x04 not the jar the package holds")
    aws_env.setenv("CRUDDUR_HOME", str(data))
    result = cli("local", "up", "--postgres", "off", "--port", _proc.free_port(8870), ok=False)
    assert result.exit_code != 0 and "refusing DynamoDB Local" in result.stderr and "checksums" in result.stderr
    assert not list(data.glob("dynamodb-local-*.log"))  # java never ran


def test_a_jar_in_a_data_dir_others_may_write_is_refused(aws_env, tmp_path, cli):
    data = tmp_path / "open"
    data.mkdir()
    data.chmod(0o775)
    aws_env.setenv("CRUDDUR_HOME", str(data))
    result = cli("local", "up", "--postgres", "off", ok=False)
    assert result.exit_code != 0 and "its group may write" in result.stderr and "chmod 700" in result.stderr


def _pid_listening_on(port: int) -> int:
    for proc in Path("/proc").iterdir():
        args = _proc.cmdline(int(proc.name)) if proc.name.isdigit() else []
        if (b"-port", str(port).encode()) in zip(args, args[1:], strict=False):
            return int(proc.name)
    raise AssertionError(f"no process runs with -port {port}")


def test_a_forged_state_file_is_refused(home, ddb_local, cli):
    real_pid = _pid_listening_on(int(ddb_local.rsplit(":", 1)[1]))  # the session's engine: DynamoDBLocal.jar in argv
    forged = {"pid": real_pid, "port": 8000, "endpoint": "http://remote.invalid:8000", "in_memory": True,
              "db_path": None, "log": "/dev/null", "started_at": 0.0}
    state = dynamodb_local.state_file(home)
    state.write_text(json.dumps(forged))
    state.chmod(0o600)
    assert dynamodb_local.running(home) is None
    env = cli("local", "env", ok=False)
    assert env.exit_code != 0 and "remote.invalid" not in env.stdout + env.stderr
    status = cli.json("local", "status")["services"][0]
    assert status["state"] == "down" and status["endpoint"] is None
    forged["endpoint"] = f"http://127.0.0.1:{forged['port']}"  # loopback, but the pid runs another data dir's engine
    state.write_text(json.dumps(forged))
    assert dynamodb_local.running(home) is None


def test_up_with_ttl_sweep_starts_a_sweeper_that_down_stops(home, cli):
    port = _proc.free_port(8870)
    up = cli.json("local", "up", "--port", str(port), "--in-memory", "--postgres", "off", "--ttl-sweep",
                  "--ttl-sweep-every", "5")
    try:
        sweeper = up["ttl_sweep"]
        assert sweeper["every"] == 5 and _proc.pid_alive(sweeper["pid"])
        assert (home / "ttl-sweep.pid").read_text() == str(sweeper["pid"])
    finally:
        down = cli("local", "down")
    assert "stopped the TTL sweeper" in down.stderr
    assert not _proc.pid_alive(sweeper["pid"]) and not (home / "ttl-sweep.pid").exists()

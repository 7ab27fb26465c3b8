"""cruddur_ops.local._proc: the data dir, ports, pids and state files, written once for both local engines (no
engine needed) — and against another user's tricks."""

from __future__ import annotations

import json
import os
import random
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cruddur_ops.errors import EngineError
from cruddur_ops.local import _proc


def test_a_new_data_dir_is_private(tmp_path):
    data = _proc.private_dir(tmp_path / "a" / "cruddur")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode, why", [(0o770, "its group may write"), (0o777, "every user may write")])
def test_a_data_dir_others_may_write_is_refused(tmp_path, mode, why):
    data = tmp_path / "shared"
    data.mkdir()
    data.chmod(mode)
    with pytest.raises(EngineError, match=why):
        _proc.private_dir(data)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_data_dir_of_another_user_is_refused(tmp_path):
    data = tmp_path / "theirs"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    with pytest.raises(EngineError, match="belongs to uid 65534"):
        _proc.private_dir(data)


def test_a_symlinked_lock_file_is_not_followed(tmp_path):
    data = _proc.private_dir(tmp_path / "data")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    start = random.randrange(40000, 60000, 100)
    planted = [data / "locks" / f"port-{start}.lock", Path("/tmp") / f"cruddur-port-{start}.lock"]
    (data / "locks").mkdir(mode=0o700, exist_ok=True)
    try:
        for link in planted:
            link.unlink(missing_ok=True)
            link.symlink_to(victim)
        port = _proc.free_port(start, data)
    finally:
        for link in planted:
            link.unlink(missing_ok=True)
    assert victim.read_text() == "precious\n" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert port != start  # the port behind the planted link is skipped
    lock = data / "locks" / f"port-{port}.lock"
    assert lock.is_file() and not lock.is_symlink() and stat.S_IMODE(lock.stat().st_mode) == 0o600


@dataclass
class Record:
    pid: int
    port: int


def test_state_files_are_written_0600_and_replace_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    path = tmp_path / "engine.json"
    path.symlink_to(victim)
    _proc.write_state(path, Record(1, 2))
    assert victim.read_text() == "precious" and not path.is_symlink()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and _proc.read_state(path, Record) == Record(1, 2)


def test_a_state_file_another_user_may_write_or_owns_is_ignored(tmp_path):
    path = tmp_path / "engine.json"
    path.write_text(json.dumps({"pid": os.getpid(), "port": 8000}))
    path.chmod(0o666)
    assert _proc.read_state(path, Record) is None
    path.chmod(0o600)
    assert _proc.read_state(path, Record) == Record(os.getpid(), 8000)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        assert _proc.read_state(path, Record) is None
    link = tmp_path / "link.json"
    link.symlink_to(path)
    assert _proc.read_state(link, Record) is None


def test_a_state_file_round_trips_and_a_missing_or_broken_one_is_none(tmp_path):
    path = tmp_path / "engine.json"
    assert _proc.read_state(path, Record) is None
    _proc.write_state(path, Record(123, 8000))
    assert _proc.read_state(path, Record) == Record(123, 8000)
    path.write_text("{not json")
    assert _proc.read_state(path, Record) is None
    path.write_text('{"pid": 1, "other": 2}')  # another tool's file, or an older shape
    assert _proc.read_state(path, Record) is None


def test_free_ports_are_never_handed_out_twice_and_skip_ports_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        first = _proc.free_port(taken)
        second = _proc.free_port(taken)
    assert taken not in (first, second) and first != second
    assert not _proc.port_open(first)


def test_a_stopped_process_is_no_longer_alive():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    assert _proc.pid_alive(child.pid)
    deadline = time.monotonic() + 10  # on a loaded machine /proc may show the new argv a moment late
    while not any(b"time.sleep(30)" in arg for arg in _proc.cmdline(child.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(b"time.sleep(30)" in arg for arg in _proc.cmdline(child.pid))
    assert _proc.stop_pid(child.pid, timeout=5) is True
    child.wait(timeout=5)
    assert not _proc.pid_alive(child.pid) and _proc.stop_pid(child.pid) is False
    assert _proc.cmdline(child.pid) == [] or not os.path.exists(f"/proc/{child.pid}")

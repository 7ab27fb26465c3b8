"""cruddur_ops.local._proc: ports, pids and state files, written once for both local engines (no engine needed)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass

from cruddur_ops.local import _proc


@dataclass
class Record:
    pid: int
    port: int


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
    assert any(b"time.sleep(30)" in arg for arg in _proc.cmdline(child.pid))
    assert _proc.stop_pid(child.pid, timeout=5) is True
    child.wait(timeout=5)
    assert not _proc.pid_alive(child.pid) and _proc.stop_pid(child.pid) is False
    assert _proc.cmdline(child.pid) == [] or not os.path.exists(f"/proc/{child.pid}")

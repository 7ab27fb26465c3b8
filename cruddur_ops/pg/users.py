"""The app's ``users`` table: read the users, set their Cognito ids."""

from __future__ import annotations

from typing import Iterable


def list_users(conn) -> list[dict]:
    """Every user: uuid, handle, display_name, email, cognito_user_id, ordered by handle."""
    from cruddur_ops.pg.database import schema_required

    with schema_required(conn.info.dbname), conn.cursor() as cur:
        cur.execute(
            "SELECT uuid::text, handle, display_name, email, cognito_user_id FROM public.users ORDER BY handle"
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def set_cognito_user_ids(conn, updates: Iterable[tuple[str, str]]) -> int:
    """Set ``cognito_user_id`` for each (user uuid, sub) in one transaction; return the rows changed."""
    changed = 0
    with conn.transaction(), conn.cursor() as cur:
        for user_uuid, sub in updates:
            cur.execute(
                "UPDATE public.users SET cognito_user_id = %s WHERE uuid = %s AND cognito_user_id IS DISTINCT FROM %s",
                [sub, user_uuid, sub],
            )
            changed += cur.rowcount
    return changed


def fetch_users(settings) -> list:
    """The app's users as ``cruddur_ops.model.User`` (uuid, handle, display_name), for seeding DynamoDB from PostgreSQL."""
    from cruddur_ops.model import User
    from cruddur_ops.pg.database import Database

    with Database.from_settings(settings).connect() as conn:
        return [User(str(u["uuid"]), u["handle"], u["display_name"]) for u in list_users(conn)]


def uuid_for_handle(settings, handle: str) -> str:
    """The uuid of the user with this handle in PostgreSQL ``users``; NotFoundError when there is none."""
    from cruddur_ops.errors import NotFoundError
    from cruddur_ops.pg.database import Database

    database = Database.from_settings(settings)
    with database.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT uuid::text FROM public.users WHERE handle = %s", [handle])
        row = cur.fetchone()
    if row is None:
        raise NotFoundError(f"no user with handle '{handle}' in {database.masked}")
    return row[0]

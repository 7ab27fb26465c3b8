"""Seed PostgreSQL: the seed file's users (same uuids as in DynamoDB) and a few activities, idempotently.

The activities arrive parsed (:mod:`cruddur_ops.seeds.activities` reads and validates the activities file).

A rerun adds nothing: users conflict on uuid or handle, activities on their (derived) uuid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cruddur_ops.seeds.activities import SeedActivity


def seed(conn, users: Sequence, activities: Sequence[SeedActivity], *, placeholder: str | None = None) -> dict:
    """Insert the users (SeedUser-like: uuid, handle, display_name, email, cognito_user_id) and activities.

    A user without a ``cognito_user_id`` gets ``placeholder`` (default: the project's ``cognito_placeholder``,
    ``MOCK``), as the app's own seed does: its schema declares the column NOT NULL, and its message SQL tells
    sender from receiver only for users whose id is set.

    One transaction. Returns counts, plus the seed users whose handle or uuid belongs to another row
    (``mismatched``): those rows are left alone, and DynamoDB items seeded from the file would not match them.
    """
    report: dict[str, Any] = {
        "users": {"inserted": 0, "existing": 0},
        "activities": {"inserted": 0, "existing": 0},
        "mismatched": [],
    }
    from cruddur_ops import defaults
    from cruddur_ops.pg.database import schema_required

    if placeholder is None:
        placeholder = defaults.cognito_placeholder()

    with schema_required(conn.info.dbname), conn.transaction(), conn.cursor() as cur:
        for user in users:
            cur.execute(
                """
                INSERT INTO public.users (uuid, handle, display_name, email, cognito_user_id)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT DO NOTHING
                """,
                [user.uuid, user.handle, user.display_name, user.email or None,
                 getattr(user, "cognito_user_id", None) or placeholder],
            )
            report["users"]["inserted" if cur.rowcount == 1 else "existing"] += 1
        if users:
            cur.execute(
                "SELECT uuid::text, handle FROM public.users WHERE uuid = ANY(%s::uuid[]) OR handle = ANY(%s)",
                [[u.uuid for u in users], [u.handle for u in users]],
            )
            by_uuid, by_handle = {}, {}
            for row_uuid, handle in cur.fetchall():
                by_uuid[row_uuid], by_handle[handle] = handle, row_uuid
            for user in users:
                if by_handle.get(user.handle) != user.uuid:
                    report["mismatched"].append({
                        "handle": user.handle, "seed_uuid": user.uuid,
                        "database_uuid": by_handle.get(user.handle),
                        "database_handle_of_seed_uuid": by_uuid.get(user.uuid),
                    })
        for activity in activities:
            cur.execute(
                """
                INSERT INTO public.activities (uuid, user_uuid, message, created_at, expires_at)
                SELECT %s, u.uuid, %s, coalesce(%s::timestamptz, now()), %s::timestamptz
                FROM public.users u WHERE u.handle = %s
                ON CONFLICT (uuid) DO NOTHING
                """,
                [activity.uuid, activity.message, activity.created_at, activity.expires_at, activity.handle],
            )
            report["activities"]["inserted" if cur.rowcount == 1 else "existing"] += 1
    return report

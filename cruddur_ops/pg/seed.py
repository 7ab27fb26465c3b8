"""Seed PostgreSQL: the seed file's users (same uuids as in DynamoDB) and a few activities, idempotently.

Activities live in ``seeds/activities.yaml`` (and, if it has any, the seed file's own ``activities`` list)::

    activities:
      - handle: alice                           # required: a user of the seed file
        message: Planted tomatoes today.        # required: at most 280 characters, as in the app
        created_at: 2024-02-20T09:15:00+00:00   # optional (default: now), ISO 8601 with an offset
        expires_at: 2024-03-20T09:15:00+00:00   # optional
        uuid: 0b5c…                             # optional (default: derived from handle and message)

A rerun adds nothing: users conflict on uuid or handle, activities on their (derived) uuid.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from cruddur_ops import yamlfile
from cruddur_ops.ddb.model import NAMESPACE
from cruddur_ops.errors import SeedError

MAX_MESSAGE_CHARS = 280  # the app's CreateActivity limit
ACTIVITY_FIELDS = {"uuid", "handle", "message", "created_at", "expires_at"}


@dataclass(frozen=True)
class SeedActivity:
    uuid: str
    handle: str
    message: str
    created_at: datetime | None = None
    expires_at: datetime | None = None


def activity_uuid_for(handle: str, message: str) -> str:
    return str(uuidlib.uuid5(NAMESPACE, f"activity:{handle}:{message}"))


def _fail(path: Path | None, keypath: list, message: str):
    line = yamlfile.line_of(path, keypath) if path is not None else None
    raise SeedError(f"{yamlfile.dotted(keypath)}: {message}", path=path, line=line)


def _timestamp(path, value: Any, keypath: list) -> datetime:
    from cruddur_ops.seedfile import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError as exc:
        _fail(path, keypath, str(exc))


def parse_activities(raw: Any, handles: set[str], path: Path | None, key: str = "activities") -> list[SeedActivity]:
    """Validate a list of activity mappings; every error names the file, line and field."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail(path, [key], f"expected a list of activities, got {type(raw).__name__}")
    activities = []
    for i, item in enumerate(raw):
        kp = [key, i]
        if not isinstance(item, dict):
            _fail(path, kp, "expected a mapping with handle and message")
        for name in item:
            if name not in ACTIVITY_FIELDS:
                _fail(path, kp + [name], f"unknown field '{name}' (expected one of: {', '.join(sorted(ACTIVITY_FIELDS))})")
        for name in ("handle", "message"):
            if item.get(name) in (None, ""):
                _fail(path, kp, f"missing required field '{name}'")
        handle, message = str(item["handle"]), str(item["message"])
        if handle not in handles:
            _fail(path, kp + ["handle"], f"unknown handle '{handle}': not among the seed file's users")
        if len(message) > MAX_MESSAGE_CHARS:
            _fail(path, kp + ["message"], f"message of {len(message)} characters is over the app's {MAX_MESSAGE_CHARS}")
        if item.get("uuid"):
            try:
                activity_uuid = str(uuidlib.UUID(str(item["uuid"])))
            except ValueError:
                _fail(path, kp + ["uuid"], f"'{item['uuid']}' is not a UUID")
        else:
            activity_uuid = activity_uuid_for(handle, message)
        created = _timestamp(path, item["created_at"], kp + ["created_at"]) if item.get("created_at") else None
        expires = _timestamp(path, item["expires_at"], kp + ["expires_at"]) if item.get("expires_at") else None
        activities.append(SeedActivity(activity_uuid, handle, message, created, expires))
    return activities


def read_activities(path: Path, handles: set[str]) -> list[SeedActivity]:
    """The ``activities`` list of an activities YAML file."""
    path = Path(path)
    doc = yamlfile.load(path, error=SeedError)
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise SeedError("expected a mapping with an 'activities' list", path=path, line=1)
    for name in doc:
        if name != "activities":
            _fail(path, [name], f"unknown field '{name}' (expected: activities)")
    return parse_activities(doc.get("activities"), handles, path)


def seed(conn, users: Sequence, activities: Sequence[SeedActivity]) -> dict:
    """Insert the users (SeedUser-like: uuid, handle, display_name, email, cognito_user_id) and activities.

    One transaction. Returns counts, plus the seed users whose handle or uuid belongs to another row
    (``mismatched``): those rows are left alone, and DynamoDB items seeded from the file would not match them.
    """
    report = {
        "users": {"inserted": 0, "existing": 0},
        "activities": {"inserted": 0, "existing": 0},
        "mismatched": [],
    }
    from cruddur_ops.pg.database import schema_required

    with schema_required(conn.info.dbname), conn.transaction(), conn.cursor() as cur:
        for user in users:
            cur.execute(
                """
                INSERT INTO public.users (uuid, handle, display_name, email, cognito_user_id)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT DO NOTHING
                """,
                [user.uuid, user.handle, user.display_name, user.email or None, user.cognito_user_id],
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

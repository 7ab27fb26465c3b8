"""The activities file: the app's posts to seed into PostgreSQL, validated before anything is written.

Activities live in ``seeds/activities.yaml`` (and, if it has any, the seed file's own ``activities`` list)::

    activities:
      - handle: alice                           # required: a user of the seed file
        message: Planted tomatoes today.        # required: at most 280 characters, as in the app
        created_at: 2024-02-20T09:15:00+00:00   # optional (default: now), ISO 8601 with an offset
        expires_at: 2024-03-20T09:15:00+00:00   # optional
        uuid: 0b5c…                             # optional (default: derived from handle and message)
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from cruddur_ops.errors import SeedError
from cruddur_ops.io import yamlfile
from cruddur_ops.io.timestamps import parse as parse_timestamp
from cruddur_ops.model import NAMESPACE

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


def _fail(path: Path | None, keypath: list, message: str) -> NoReturn:
    line = yamlfile.line_of(path, keypath) if path is not None else None
    raise SeedError(f"{yamlfile.dotted(keypath)}: {message}", path=path, line=line)


def _timestamp(path, value: Any, keypath: list) -> datetime:
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

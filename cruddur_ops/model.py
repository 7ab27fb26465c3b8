"""The contract between the engines: the app's users, the uuid5 scheme every derived id follows, and item size limits.

PostgreSQL's ``users`` and DynamoDB's items name the same people with the same uuids; the seed file derives the
ids it does not give from this one namespace, so changing :data:`NAMESPACE` orphans every item seeded before
(tests/test_model.py pins literal values).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# DynamoDB's hard item limit, attribute names and values in UTF-8 together.
MAX_ITEM_BYTES = 400 * 1024

# uuid5 namespace for everything cruddur derives (users from handles, groups from pairs, messages, activities).
NAMESPACE = uuid.UUID("6f1d4c1e-3b9a-5c6e-9a57-0c7a1d2e4b10")


@dataclass(frozen=True)
class User:
    uuid: str
    handle: str
    display_name: str


def user_uuid_for(handle: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"user:{handle}"))


def group_uuid_for(handle_a: str, handle_b: str) -> str:
    a, b = sorted((handle_a, handle_b))
    return str(uuid.uuid5(NAMESPACE, f"group:{a}:{b}"))


def message_uuid_for(group_uuid: str, index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"message:{group_uuid}:{index}"))


def item_size(item: dict) -> int:
    """DynamoDB's size of an item of string attributes: names plus values in UTF-8 bytes."""
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in item.items())

"""The Cruddur app's single-table contract for ``cruddur-messages``; the app reads these shapes, keep them.

A message group row, one per participant, describing the *other* user::

    {"pk": "GRP#<my_user_uuid>", "sk": "2024-02-28T23:59:00+00:00",      # sk = last_message_at
     "message_group_uuid": "…", "message": "<the last message>",
     "user_uuid": "<other>", "user_display_name": "…", "user_handle": "…"}

A message, with its sender::

    {"pk": "MSG#<message_group_uuid>", "sk": "2024-02-28T23:59:00+00:00",  # sk = created_at
     "message_uuid": "…", "message": "…",
     "user_uuid": "<sender>", "user_display_name": "…", "user_handle": "…"}

Message items carry no ``message_group_uuid``, so the GSI ``message-group-sk-index`` holds group rows only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

TABLE = "cruddur-messages"
GROUP_INDEX = "message-group-sk-index"
GROUP_PREFIX = "GRP#"
MESSAGE_PREFIX = "MSG#"

# DynamoDB's hard item limit, attribute names and values in UTF-8 together.
MAX_ITEM_BYTES = 400 * 1024

# uuid5 namespace for everything cruddur derives (users from handles, groups from pairs, messages).
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


def message_item(group_uuid: str, created_at: str, message_uuid: str, text: str, sender: User) -> dict:
    return {
        "pk": MESSAGE_PREFIX + group_uuid,
        "sk": created_at,
        "message_uuid": message_uuid,
        "message": text,
        "user_uuid": sender.uuid,
        "user_display_name": sender.display_name,
        "user_handle": sender.handle,
    }


def group_item(owner: User, other: User, group_uuid: str, last_message_at: str, last_message: str) -> dict:
    return {
        "pk": GROUP_PREFIX + owner.uuid,
        "sk": last_message_at,
        "message_group_uuid": group_uuid,
        "message": last_message,
        "user_uuid": other.uuid,
        "user_display_name": other.display_name,
        "user_handle": other.handle,
    }


def item_size(item: dict) -> int:
    """DynamoDB's size of an item of string attributes: names plus values in UTF-8 bytes."""
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in item.items())

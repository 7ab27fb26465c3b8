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

from cruddur_ops.model import User

TABLE = "cruddur-messages"
GROUP_INDEX = "message-group-sk-index"
GROUP_PREFIX = "GRP#"
MESSAGE_PREFIX = "MSG#"


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

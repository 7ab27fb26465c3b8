"""The app's two writes to ``cruddur-messages``: start a conversation (pattern C) and add a message (pattern D).

Pattern C writes one message item and the two group rows (one per participant, each describing the other) in
one ``transact_write_items``; every put requires its key to be free, so nothing existing is overwritten.
Pattern D puts the message, then moves both group rows to it with the stream processor's own code
(:func:`cruddur_ops.ddb.stream.apply_message`), so running D while a stream processor also handles the new
message is safe: whichever gets there first moves a row, the other finds it already there.

Identifiers and time, as the app makes them:

* ``message_group_uuid`` and ``message_uuid`` are random (uuid4), as the app's own ``create_message_group``
  does. A deterministic group uuid (as the seed derives from the two handles) would not make a conversation
  unique anyway — group rows are keyed by time — so uniqueness is checked by reading both users' group rows
  before writing; two ``create-message-group`` calls racing each other can still both succeed
  (``cruddur doctor`` reports duplicate conversations).
* ``created_at`` is ISO 8601 in UTC with an explicit ``+00:00`` offset and microseconds
  (``2024-03-01T12:00:00.123456+00:00``). Against the seed's whole-second times (``…12:00:00+00:00``) string
  order stays time order: ``+`` sorts before ``.``, so a whole second sorts before any fraction of it.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime

from cruddur_ops.ddb import stream
from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.ddb.model import GROUP_PREFIX, TABLE, group_item, message_item
from cruddur_ops.ddb.typed import to_attrs
from cruddur_ops.errors import ConflictError, InputError, NotFoundError
from cruddur_ops.io import timestamps
from cruddur_ops.model import MAX_ITEM_BYTES, User, item_size


class ConversationExistsError(ConflictError):
    """Pattern C for two users who already have a conversation: use pattern D with its group."""

    def __init__(self, sender: User, other: User, group: str):
        super().__init__(
            f"{sender.handle} and {other.handle} already have a conversation (message_group_uuid {group}); "
            f"add to it with `cruddur ddb pattern create-message --group {group} --handle {sender.handle} "
            "--message …`")
        self.group = group


def timestamp(now: datetime | None = None) -> str:
    """``created_at`` for a new message: UTC, explicit offset, microseconds."""
    return timestamps.format_utc(now)


def resolve_user(users: list[User], handle: str, source: str) -> User:
    """The user with ``handle`` among ``users``; ``source`` names where they came from, for the error."""
    for user in users:
        if user.handle == handle:
            return user
    raise NotFoundError(f"unknown handle '{handle}': not among the users of {source}")


def _check_text(text: str) -> None:
    if not text.strip():
        raise InputError("the message is empty")
    size = len(text.encode("utf-8"))
    if size > MAX_ITEM_BYTES - 1024:
        raise InputError(f"a message of {size:,} bytes is over DynamoDB's 400 KB item limit")


def group_exists(client, table: str, group: str) -> bool:
    """True when the conversation ``group`` has a group row (index ``message-group-sk-index``) or a message."""
    from botocore.exceptions import ClientError

    from cruddur_ops.ddb.model import GROUP_INDEX, MESSAGE_PREFIX

    try:
        rows = client.query(TableName=table, IndexName=GROUP_INDEX, Limit=1, Select="COUNT",
                            KeyConditionExpression="message_group_uuid = :g",
                            ExpressionAttributeValues={":g": {"S": group}})
        if rows.get("Count"):
            return True
    except ClientError as exc:  # another table without the app's index: its messages alone decide
        if exc.response.get("Error", {}).get("Code") != "ValidationException":
            raise
    messages = client.query(TableName=table, Limit=1, Select="COUNT", KeyConditionExpression="pk = :pk",
                            ExpressionAttributeValues={":pk": {"S": MESSAGE_PREFIX + group}})
    return bool(messages.get("Count"))


def find_conversation(client, table: str, user: User, other: User) -> str | None:
    """The ``message_group_uuid`` of a conversation between the two users, from either one's group rows."""
    for owner, partner in ((user, other), (other, user)):
        pages = client.get_paginator("query").paginate(
            TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
            FilterExpression="user_uuid = :other", ProjectionExpression="message_group_uuid",
            ExpressionAttributeValues={":pk": {"S": GROUP_PREFIX + owner.uuid}, ":other": {"S": partner.uuid}},
            ScanIndexForward=False)
        for page in pages:
            for item in page["Items"]:
                if "message_group_uuid" in item:
                    return item["message_group_uuid"]["S"]
    return None


@dataclass
class NewConversation:
    """What pattern C wrote."""

    table: str
    group: str
    created_at: str
    message: dict
    group_rows: list[dict]
    capacity: Capacity = field(default_factory=lambda: Capacity("write"))

    def to_dict(self, prices=None) -> dict:
        return {"pattern": "create-message-group", "table": self.table, "message_group_uuid": self.group,
                "created_at": self.created_at, "message": self.message, "group_rows": self.group_rows,
                "items_written": 1 + len(self.group_rows), "consumed_capacity": self.capacity.to_dict(prices)}


def create_message_group(client, sender: User, other: User, text: str, *, table: str = TABLE,
                         now: datetime | None = None) -> NewConversation:
    """Pattern C: a new conversation from ``sender`` to ``other`` — one message and two group rows, one transaction."""
    if sender.uuid == other.uuid:
        raise InputError(f"a conversation needs two different people, got '{sender.handle}' twice")
    _check_text(text)
    existing = find_conversation(client, table, sender, other)
    if existing:
        raise ConversationExistsError(sender, other, existing)
    group = str(uuidlib.uuid4())
    created_at = timestamp(now)
    message = message_item(group, created_at, str(uuidlib.uuid4()), text, sender)
    rows = [group_item(sender, other, group, created_at, text), group_item(other, sender, group, created_at, text)]
    if max(item_size(i) for i in (message, *rows)) > MAX_ITEM_BYTES:
        raise InputError("the message makes an item larger than DynamoDB's 400 KB limit")
    response = client.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": to_attrs(item), "ConditionExpression": "attribute_not_exists(pk)"}}
        for item in (message, *rows)
    ], ReturnConsumedCapacity="INDEXES")
    written = NewConversation(table, group, created_at, message, rows)
    written.capacity.add(response.get("ConsumedCapacity"))
    return written


@dataclass
class NewMessage:
    """What pattern D wrote: the message, and what became of each group row."""

    table: str
    group: str
    created_at: str
    message: dict
    moves: list[stream.Move] = field(default_factory=list)
    capacity: Capacity = field(default_factory=lambda: Capacity("write"))

    @property
    def rows_moved(self) -> int:
        return sum(1 for m in self.moves if m.outcome == "moved")

    def to_dict(self, prices=None) -> dict:
        return {"pattern": "create-message", "table": self.table, "message_group_uuid": self.group,
                "created_at": self.created_at, "message": self.message,
                "group_rows": [m.to_dict() for m in self.moves], "rows_moved": self.rows_moved,
                "consumed_capacity": self.capacity.to_dict(prices)}


def participants(rows: list[dict]) -> dict[str, str]:
    """{user uuid: handle} of a conversation's participants, from its group rows.

    Each row belongs to one participant (``pk = GRP#<uuid>``) and describes the other (``user_uuid``,
    ``user_handle``), so the two rows name both people either way.
    """
    people: dict[str, str] = {}
    for row in rows:
        if "user_uuid" in row:
            people[row["user_uuid"]["S"]] = row.get("user_handle", {}).get("S", "")
    for row in rows:
        people.setdefault(row["pk"]["S"][len(GROUP_PREFIX):], "")
    return people


def create_message(client, group: str, sender: User, text: str, *, table: str = TABLE,
                   now: datetime | None = None) -> NewMessage:
    """Pattern D: a message from ``sender`` in conversation ``group``; both group rows move to it."""
    _check_text(text)
    rows = stream.group_rows(client, table, group)
    if not rows:
        raise NotFoundError(
            f"no conversation with message_group_uuid {group} in {table} (it has no group rows); "
            "start one with `cruddur ddb pattern create-message-group`")
    people = participants(rows)
    if sender.uuid not in people:
        names = ", ".join(sorted(h or u for u, h in people.items()))
        raise InputError(f"'{sender.handle}' is not a participant of conversation {group} (participants: {names})")
    created_at = timestamp(now)
    message = message_item(group, created_at, str(uuidlib.uuid4()), text, sender)
    capacity = Capacity("write")
    response = client.put_item(TableName=table, Item=to_attrs(message), ConditionExpression="attribute_not_exists(pk)",
                               ReturnConsumedCapacity="INDEXES")
    capacity.add(response.get("ConsumedCapacity"))
    moves = stream.apply_message(client, table, group, created_at, text, rows=rows, capacity=capacity)
    return NewMessage(table, group, created_at, message, moves, capacity)

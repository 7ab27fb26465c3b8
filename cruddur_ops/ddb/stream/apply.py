"""Applying stream records (the processor): move both group rows of a conversation to its newest message.

In the app a DynamoDB stream on ``cruddur-messages`` sends every write to a function. For each INSERT of a
message item (``pk = MSG#<group>``) the two group rows of that conversation (``pk = GRP#<user>``, ``sk`` = the
time of the last message) must move to the new message. ``sk`` is part of the key, so a move is a delete and a
put; it is done by :func:`cruddur_ops.ddb.grouprows.place`, the write every writer of group rows shares:

* each participant keeps exactly one row of the conversation: older copies (left by writers at different
  times, e.g. a reseed) are deleted in the same ``transact_write_items`` as the move;
* a row is moved only when its ``sk`` is older than the message's ``created_at`` (rows never move backwards);
* every delete requires the row to be still what was read; the put may only replace a row of this
  conversation, never another conversation's row at the same instant (that is a ``collision``: two messages
  at the same instant, the only collision there is).

When another writer changed the rows first, the transaction is cancelled as a whole and the decision is made
again from a fresh read. Rows only ever move forward, so the result does not depend on the order in which
processors finish.

The same code serves the Lambda handler (``cruddur_ops.stream``), ``cruddur ddb stream process`` (which reads
the stream with GetRecords, :func:`process_stream`) and pattern D (``cruddur ddb pattern create-message``).
Records come in either shape — Lambda's ``event["Records"]`` or GetRecords' ``Records`` — both carry
``eventName`` and ``dynamodb.NewImage`` in typed attribute values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cruddur_ops.ddb import grouprows
from cruddur_ops.ddb.model import GROUP_INDEX, GROUP_PREFIX, MESSAGE_PREFIX, TABLE

# Why a record changed nothing; every key is always present in a summary, so JSON consumers see stable keys.
SKIP_REASONS = (
    "remove",         # a REMOVE record (a deleted item)
    "modify",         # a MODIFY record (an item overwritten with the same key)
    "not_message",    # an INSERT of anything but a MSG# item (group rows, other items)
    "no_new_image",   # the stream's view type carries no NewImage (KEYS_ONLY / OLD_IMAGE)
    "malformed",      # a MSG# item without the sk / message attributes of a message
    "no_group_rows",  # a message of a group that has no group rows
    "not_newer",      # both rows already show this message or a newer one
    "sk_collision",   # a row could not move: its user has another conversation's row at exactly that instant
)
MAX_KEPT_CHANGES = 1000  # changes listed in a summary; the rest are counted
MAX_ATTEMPTS = grouprows.MAX_ATTEMPTS  # fresh reads after losing a race with another writer


@dataclass(frozen=True)
class Change:
    """One group row moved to a newer message."""

    group: str
    pk: str
    from_sk: str
    to_sk: str
    message: str
    user_handle: str  # the other participant, whom this row describes

    def to_dict(self) -> dict:
        return {"message_group_uuid": self.group, "pk": self.pk, "from_sk": self.from_sk, "to_sk": self.to_sk,
                "message": self.message, "user_handle": self.user_handle}


@dataclass
class Summary:
    """What a batch (or a whole stream run) did: records read, messages applied, and why the rest were skipped."""

    records: int = 0
    applied: int = 0  # message records that moved at least one group row
    rows_moved: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    changes: list[Change] = field(default_factory=list)
    changes_omitted: int = 0  # beyond MAX_KEPT_CHANGES (a long --follow run); each was reported as it happened
    collisions: list[dict] = field(default_factory=list)  # two messages at the same instant, nothing else
    duplicates_removed: int = 0  # older copies of a user's row of a conversation, removed with the move

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def add_changes(self, changes: list[Change]) -> None:
        room = max(0, MAX_KEPT_CHANGES - len(self.changes))
        self.changes.extend(changes[:room])
        self.changes_omitted += len(changes) - len(changes[:room])

    def merge(self, other: Summary) -> None:
        self.records += other.records
        self.applied += other.applied
        self.rows_moved += other.rows_moved
        self.duplicates_removed += other.duplicates_removed
        for reason, n in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n
        self.add_changes(other.changes)
        self.changes_omitted += other.changes_omitted
        self.collisions.extend(other.collisions[: max(0, MAX_KEPT_CHANGES - len(self.collisions))])

    def to_dict(self) -> dict:
        return {"records": self.records, "applied": self.applied, "rows_moved": self.rows_moved,
                "skipped": self.skipped_total, "skipped_by_reason": dict(self.skipped),
                "changes": [c.to_dict() for c in self.changes], "changes_omitted": self.changes_omitted,
                "collisions": list(self.collisions)}


# --- one message ---------------------------------------------------------------------------------------------
def _s(item: dict, name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, dict) else None


def group_rows(client, table: str, group: str) -> list[dict]:
    """Both group rows of a conversation (typed attribute values), through the GSI ``message-group-sk-index``."""
    rows: list[dict] = []
    pages = client.get_paginator("query").paginate(
        TableName=table, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": group}})
    for page in pages:
        rows.extend(i for i in page["Items"] if (_s(i, "pk") or "").startswith(GROUP_PREFIX))
    return rows


def _cancellation_codes(exc: Exception) -> list[str] | None:
    return grouprows._cancellation_codes(exc)


@dataclass(frozen=True)
class Move:
    """What became of one group row: ``moved`` (with its change), ``not_newer``, ``gone`` or ``sk_collision``.

    ``deleted``: the owner's other rows of the conversation removed with it (copies left by earlier writers).
    """

    outcome: str
    pk: str
    sk: str  # where the row is now (or was last seen)
    user_handle: str = ""  # the other participant, whom the row describes
    change: Change | None = None
    deleted: int = 0

    def to_dict(self) -> dict:
        return {"pk": self.pk, "sk": self.sk, "user_handle": self.user_handle, "outcome": self.outcome,
                "from_sk": self.change.from_sk if self.change else None}


def _move(placed: grouprows.Placed, group: str, created_at: str, text: str) -> Move:
    if placed.outcome in ("moved", "refreshed", "written"):
        change = Change(group=group, pk=placed.pk, from_sk=placed.from_sk or placed.sk, to_sk=created_at,
                        message=text, user_handle=placed.user_handle)
        return Move("moved", placed.pk, placed.sk, placed.user_handle, change, placed.deleted)
    outcome = "sk_collision" if placed.outcome == "sk_collision" else "not_newer"
    return Move(outcome, placed.pk, placed.sk, placed.user_handle, None, placed.deleted)


def move_row(client, table: str, row: dict, created_at: str, text: str, *, capacity=None) -> Move:
    """Move one group row's owner to the message at ``created_at`` unless it already shows it or a newer one.

    The owner's other rows of the conversation go in the same transaction (:mod:`cruddur_ops.ddb.grouprows`).
    """
    pk, group = row["pk"]["S"], row["message_group_uuid"]["S"]
    placed = grouprows.place(client, table, group, created_at, text, capacity=capacity)
    for p in placed:
        if p.pk == pk:
            return _move(p, group, created_at, text)
    return Move("gone", pk, row["sk"]["S"], _s(row, "user_handle") or "")  # the conversation was deleted meanwhile


def apply_message(client, table: str, group: str, created_at: str, text: str, *,
                  rows: list[dict] | None = None, capacity=None) -> list[Move]:
    """Put every participant's group row of ``group`` at ``created_at`` unless it shows a newer message; one Move
    per participant (none: no rows). Each participant keeps exactly one row: older copies are removed with it.

    ``rows`` are the group rows when the caller has just read them (pattern D), else they are read here.
    """
    first: dict[str, list[dict]] | None = None
    if rows is not None:
        first = {}
        for row in rows:
            first.setdefault(row["pk"]["S"], []).append(row)
        for owner_rows in first.values():
            owner_rows.sort(key=lambda r: r["sk"]["S"])
    placed = grouprows.place(client, table, group, created_at, text, capacity=capacity, first_read=first)
    return [_move(p, group, created_at, text) for p in placed]


# --- a batch of records ---------------------------------------------------------------------------------------
def classify(record: dict) -> tuple[str | None, dict | None]:
    """(skip reason, None) for a record that changes nothing, else (None, the message's NewImage)."""
    event = record.get("eventName")
    if event == "REMOVE":
        return "remove", None
    if event == "MODIFY":
        return "modify", None
    if event != "INSERT":
        return "malformed", None
    data = record.get("dynamodb") or {}
    image = data.get("NewImage")
    pk = _s(image or data.get("Keys") or {}, "pk") or ""
    if not pk.startswith(MESSAGE_PREFIX):
        return "not_message", None
    if image is None:
        return "no_new_image", None
    if not _s(image, "sk") or _s(image, "message") is None or len(pk) == len(MESSAGE_PREFIX):
        return "malformed", None
    return None, image


def apply_records(client, records: Iterable[dict], *, table: str = TABLE,
                  on_change: Callable[[Change], None] | None = None,
                  on_record: Callable[[dict], None] | None = None, summary: Summary | None = None) -> Summary:
    """Apply a batch of stream records in order; returns what was applied and why the rest was skipped.

    ``on_change`` hears of every moved row as it happens; ``on_record`` is called after each record is fully
    handled (the stream reader checkpoints there). An error other than a lost race propagates: the batch can be
    retried as a whole, because applying a record twice changes nothing the second time. Pass ``summary`` to
    add to a running one (it then counts the records handled before an interruption too).
    """
    summary = Summary() if summary is None else summary
    for record in records:
        summary.records += 1
        reason, image = classify(record)
        if reason is None and image is not None:
            group = image["pk"]["S"][len(MESSAGE_PREFIX):]
            created_at = image["sk"]["S"]
            moves = apply_message(client, table, group, created_at, image["message"]["S"])
            changes = [m.change for m in moves if m.change is not None]
            summary.duplicates_removed += sum(m.deleted for m in moves)
            for move in moves:
                if move.outcome == "sk_collision":
                    summary.collisions.append({"message_group_uuid": group, "pk": move.pk, "sk": move.sk,
                                               "message_sk": created_at})
            for change in changes:
                if on_change:
                    on_change(change)
            if changes:
                summary.applied += 1
                summary.rows_moved += len(changes)
                summary.add_changes(changes)
            elif not moves:
                reason = "no_group_rows"
            elif any(m.outcome == "sk_collision" for m in moves):
                reason = "sk_collision"
            else:
                reason = "not_newer"
        if reason is not None:
            summary.skip(reason)
        if on_record:
            on_record(record)
    return summary

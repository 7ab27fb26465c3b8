"""Applying stream records (the processor): move both group rows of a conversation to its newest message.

In the app a DynamoDB stream on ``cruddur-messages`` sends every write to a function. For each INSERT of a
message item (``pk = MSG#<group>``) the two group rows of that conversation (``pk = GRP#<user>``, ``sk`` = the
time of the last message) must move to the new message. ``sk`` is part of the key, so a move is a delete and a
put; here both happen in one ``transact_write_items``, conditioned so that an older message never moves a row
backwards, even with several processors at once:

* a row is moved only when its ``sk`` is older than the message's ``created_at``;
* the delete of the old row requires it to still be there, as the row of this group
  (``attribute_exists(pk) AND message_group_uuid = :group``, on the key ``pk``/``sk = old sk``);
* the put of the new row requires its key to be free (``attribute_not_exists(pk)``), so it never overwrites
  another conversation's row that happens to share the timestamp.

When another processor moved the row first, the delete's condition fails and the whole transaction is cancelled
— nothing is written. The row is then read again (a consistent read of the user's rows from the old ``sk`` on)
and the comparison is repeated: a row that is already at this message or a newer one is left where it is.
Rows only ever move forward, so the result does not depend on the order in which processors finish.

The same code serves the Lambda handler (``cruddur_ops.stream``), ``cruddur ddb stream process`` (which reads
the stream with GetRecords, :func:`process_stream`) and pattern D (``cruddur ddb pattern create-message``).
Records come in either shape — Lambda's ``event["Records"]`` or GetRecords' ``Records`` — both carry
``eventName`` and ``dynamodb.NewImage`` in typed attribute values.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cruddur_ops.ddb.model import GROUP_INDEX, GROUP_PREFIX, MESSAGE_PREFIX, TABLE
from cruddur_ops.errors import CruddurError

# Why a record changed nothing; every key is always present in a summary, so JSON consumers see stable keys.
SKIP_REASONS = (
    "remove",         # a REMOVE record (a deleted item)
    "modify",         # a MODIFY record (an item overwritten with the same key)
    "not_message",    # an INSERT of anything but a MSG# item (group rows, other items)
    "no_new_image",   # the stream's view type carries no NewImage (KEYS_ONLY / OLD_IMAGE)
    "malformed",      # a MSG# item without the sk / message attributes of a message
    "no_group_rows",  # a message of a group that has no group rows
    "not_newer",      # both rows already show this message or a newer one
    "sk_collision",   # a row could not move: its user has another conversation's row at exactly that sk
)
MAX_KEPT_CHANGES = 1000  # changes listed in a summary; the rest are counted
MAX_ATTEMPTS = 8  # re-reads after losing a race; each lost race means another processor moved the row forward


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
    collisions: list[dict] = field(default_factory=list)

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


def _current_row(client, table: str, pk: str, group: str, since_sk: str) -> dict | None:
    """The user's row of ``group`` as it is now (consistent read), looking only at ``sk >= since_sk``.

    Rows only move forward, so after losing a race the row is at its old ``sk`` or later. The GSI is not used
    here: on AWS it is eventually consistent and may still show the row where it was.
    """
    pages = client.get_paginator("query").paginate(
        TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk AND sk >= :since",
        FilterExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":pk": {"S": pk}, ":since": {"S": since_sk}, ":g": {"S": group}})
    found = [item for page in pages for item in page["Items"]]
    return max(found, key=lambda i: i["sk"]["S"]) if found else None


def _cancellation_codes(exc: Exception) -> list[str] | None:
    response = getattr(exc, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [r.get("Code", "None") for r in response.get("CancellationReasons") or []]


@dataclass(frozen=True)
class Move:
    """What became of one group row: ``moved`` (with its change), ``not_newer``, ``gone`` or ``sk_collision``."""

    outcome: str
    pk: str
    sk: str  # where the row is now (or was last seen)
    user_handle: str = ""  # the other participant, whom the row describes
    change: Change | None = None

    def to_dict(self) -> dict:
        return {"pk": self.pk, "sk": self.sk, "user_handle": self.user_handle, "outcome": self.outcome,
                "from_sk": self.change.from_sk if self.change else None}


def move_row(client, table: str, row: dict, created_at: str, text: str, *, capacity=None) -> Move:
    """Move one group row to the message at ``created_at`` unless it already shows that message or a newer one.

    Delete and put happen in one transaction; see the module docstring for the conditions. With a
    ``capacity`` (ddb.capacity.Capacity) the transaction's consumed write capacity is added to it.
    """
    pk, group = row["pk"]["S"], row["message_group_uuid"]["S"]
    handle = _s(row, "user_handle") or ""
    for _ in range(MAX_ATTEMPTS):
        old_sk = row["sk"]["S"]
        if old_sk >= created_at:
            return Move("not_newer", pk, old_sk, handle)
        new_row = {**row, "sk": {"S": created_at}, "message": {"S": text}}
        try:
            response = client.transact_write_items(**({"ReturnConsumedCapacity": "INDEXES"} if capacity else {}), TransactItems=[
                {"Delete": {
                    "TableName": table, "Key": {"pk": row["pk"], "sk": row["sk"]},
                    "ConditionExpression": "attribute_exists(pk) AND message_group_uuid = :g",
                    "ExpressionAttributeValues": {":g": {"S": group}}}},
                {"Put": {"TableName": table, "Item": new_row, "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        except Exception as exc:  # botocore ClientError
            codes = _cancellation_codes(exc)
            if not codes or not {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
                raise
            if "ConditionalCheckFailed" not in codes:
                # Another transaction was writing the same row at that moment: wait a little, look again.
                time.sleep(random.uniform(0.005, 0.05))
            elif codes[0] != "ConditionalCheckFailed":
                # The old row is still there but the new key is taken: the user has another conversation's row
                # at exactly this sk. Moving would overwrite it; leave this row where it is and report it.
                return Move("sk_collision", pk, old_sk, handle)
            current = _current_row(client, table, pk, group, old_sk)
            if current is None:
                return Move("gone", pk, old_sk, handle)  # the conversation was deleted meanwhile
            row = current
            continue
        if capacity is not None:
            capacity.add(response.get("ConsumedCapacity"))
        change = Change(group=group, pk=pk, from_sk=old_sk, to_sk=created_at, message=text, user_handle=handle)
        return Move("moved", pk, created_at, handle, change)
    raise CruddurError(f"gave up moving the row {pk} of group {group} to {created_at} after {MAX_ATTEMPTS} "
                       "lost races with other writers")


def apply_message(client, table: str, group: str, created_at: str, text: str, *,
                  rows: list[dict] | None = None, capacity=None) -> list[Move]:
    """Move every group row of ``group`` that is older than ``created_at``; one Move per row (none: no rows).

    ``rows`` are the group rows when the caller has just read them (pattern D), else they are read here.
    """
    rows = sorted(group_rows(client, table, group) if rows is None else rows, key=lambda r: r["pk"]["S"])
    return [move_row(client, table, row, created_at, text, capacity=capacity) for row in rows]


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

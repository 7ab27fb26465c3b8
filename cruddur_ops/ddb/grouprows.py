"""One group row per (user, conversation), at the conversation's newest message: the write every writer shares.

A group row is identified by its owner (``pk = GRP#<user>``) and its ``message_group_uuid``, not by its ``sk``
(the time of the last message, which changes). ``ddb seed``, patterns C/D, ``stream process``, the Lambda handler
and ``doctor --fix`` all place group rows with :func:`place`, which keeps exactly one row per user per
conversation:

1. it reads the conversation's group rows through ``message-group-sk-index`` (both users' rows, with copies
   that writers at different times left behind);
2. for each owner it decides where the row belongs — at the given message, or at the owner's newest existing
   row when that one is newer (a row never moves behind the conversation's newest message) — and which other
   rows of the same owner and conversation go;
3. the owner's put and deletes go in one ``transact_write_items``. Each delete requires the row to be still what
   was read (``message_group_uuid`` and ``message`` unchanged); the put may only replace a row of this
   conversation (``attribute_not_exists(pk) OR message_group_uuid = :g``), never another conversation's row
   that happens to share the instant;
4. when a condition fails because another writer got there first, the transaction is cancelled as a whole
   and the decision is made again from a fresh read. A put refused because another conversation holds the key
   is a ``sk_collision``: two messages at the same instant, the only collision there is.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from cruddur_ops.ddb.model import GROUP_INDEX, GROUP_PREFIX, MESSAGE_PREFIX
from cruddur_ops.errors import CruddurError

MAX_ATTEMPTS = 8  # fresh reads after losing a race; each lost race means another writer changed the rows
MAX_TRANSACTION = 100  # TransactWriteItems' limit

PUT_CONDITION = "attribute_not_exists(pk) OR message_group_uuid = :g"
DELETE_CONDITION = "message_group_uuid = :g AND #m = :m"


@dataclass(frozen=True)
class Placed:
    """What became of one owner's group row of a conversation.

    ``outcome``: ``written`` (the owner had no row), ``moved`` (from ``from_sk``), ``refreshed`` (same ``sk``,
    attributes rewritten), ``unchanged``, ``not_newer`` (the owner's row already shows a newer message and
    stays), ``sk_collision`` (another conversation's row holds that instant). ``deleted``: the owner's other
    rows of the conversation that were removed.
    """

    outcome: str
    pk: str
    sk: str  # where the owner's row is now
    user_handle: str = ""
    from_sk: str | None = None
    deleted: int = 0


def _s(item: dict | None, name: str) -> str:
    value = (item or {}).get(name)
    return value.get("S", "") if isinstance(value, dict) else ""


def rows_by_owner(client, table: str, group: str) -> dict[str, list[dict]]:
    """The conversation's group rows (typed attribute values) through the GSI, by owner ``pk``, oldest first."""
    owners: dict[str, list[dict]] = {}
    pages = client.get_paginator("query").paginate(
        TableName=table, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": group}})
    for page in pages:
        for item in page["Items"]:
            pk = _s(item, "pk")
            if pk.startswith(GROUP_PREFIX):
                owners.setdefault(pk, []).append(item)
    for rows in owners.values():
        rows.sort(key=lambda r: _s(r, "sk"))
    return owners


def _message_exists(client, table: str, group: str, sk: str) -> bool:
    response = client.get_item(TableName=table, Key={"pk": {"S": MESSAGE_PREFIX + group}, "sk": {"S": sk}},
                               ConsistentRead=True, ProjectionExpression="pk")
    return "Item" in response


def _cancellation_codes(exc: Exception) -> list[str] | None:
    response = getattr(exc, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [r.get("Code", "None") or "None" for r in response.get("CancellationReasons") or []]


@dataclass
class _Decision:
    pk: str
    put: dict | None
    deletes: list[dict]
    placed: Placed


def _decide(client, table: str, group: str, pk: str, rows: list[dict], sk: str | None, text: str | None,
            template: dict | None, *, verify_newer: bool, collided: bool) -> _Decision:
    newest = rows[-1] if rows else None
    handle = _s(template or newest or {}, "user_handle")
    keep_newest = newest is not None and (sk is None or collided or _s(newest, "sk") > sk)
    if keep_newest and sk is not None and not collided and verify_newer \
            and not _message_exists(client, table, group, _s(newest, "sk")):
        keep_newest = False  # the newer row points at no message (its copy was removed): it may move back
    if newest is None and (sk is None or collided):
        return _Decision(pk, None, [], Placed("sk_collision" if collided else "unchanged", pk, sk or "", handle))
    if keep_newest:
        outcome = "sk_collision" if collided else ("unchanged" if sk is None or _s(newest, "sk") == sk else "not_newer")
        deletes = rows[:-1]
        return _Decision(pk, None, deletes, Placed(outcome, pk, _s(newest, "sk"), handle, None, len(deletes)))
    base = template if template is not None else (newest or {})
    at = sk or ""
    new_row = {**base, "sk": {"S": at}, "message": {"S": text or ""}, "message_group_uuid": {"S": group}}
    same = [r for r in rows if _s(r, "sk") == sk]
    deletes = [r for r in rows if _s(r, "sk") != sk]
    if same and same[0] == new_row:
        return _Decision(pk, None, deletes, Placed("unchanged", pk, at, handle, None, len(deletes)))
    if same:
        outcome, from_sk = "refreshed", None
    elif newest is None:
        outcome, from_sk = "written", None
    else:
        outcome, from_sk = "moved", _s(newest, "sk")
    return _Decision(pk, new_row, deletes, Placed(outcome, pk, at, handle, from_sk, len(deletes)))


def _transaction(table: str, group: str, decisions: list[_Decision]) -> list[tuple[str, dict]]:
    items: list[tuple[str, dict]] = []  # (owner pk, transact item); the put first, so a cap keeps it
    for d in decisions:
        if d.put is not None:
            items.append((d.pk, {"Put": {"TableName": table, "Item": d.put, "ConditionExpression": PUT_CONDITION,
                                         "ExpressionAttributeValues": {":g": {"S": group}}}}))
        for row in d.deletes:
            items.append((d.pk, {"Delete": {
                "TableName": table, "Key": {"pk": row["pk"], "sk": row["sk"]},
                "ConditionExpression": DELETE_CONDITION, "ExpressionAttributeNames": {"#m": "message"},
                "ExpressionAttributeValues": {":g": {"S": group}, ":m": row.get("message", {"S": ""})}}}))
    return items


def place(client, table: str, group: str, sk: str | None, text: str | None, *,
          templates: dict[str, dict] | None = None, verify_newer: bool = False, capacity=None,
          first_read: dict[str, list[dict]] | None = None) -> list[Placed]:
    """Put each owner's group row of ``group`` at the message (``sk``, ``text``) and remove the owner's other rows.

    ``templates`` ({owner pk: typed item}) are the rows to write (the seed, pattern C); without them the owners
    are those that have rows, each row keeping its other attributes (the stream processor, pattern D). ``sk=None``
    only removes duplicates, keeping each owner's newest row (doctor's fix). An owner's row newer than ``sk``
    stays (``not_newer``); with ``verify_newer`` it stays only when a message exists at its ``sk``.
    ``first_read`` saves the first GSI read when the caller has just made it. One Placed per owner, by ``pk``.
    """
    collided: set[str] = set()
    done: dict[str, Placed] = {}
    owners: list[str] | None = sorted(templates) if templates else None
    for attempt in range(MAX_ATTEMPTS):
        existing = first_read if (attempt == 0 and first_read is not None) else rows_by_owner(client, table, group)
        if owners is None:
            owners = sorted(existing)
        lost = False
        for pk in owners:
            if pk in done:
                continue
            decision = _decide(client, table, group, pk, existing.get(pk, []), sk, text, (templates or {}).get(pk),
                               verify_newer=verify_newer, collided=pk in collided)
            items = _transaction(table, group, [decision])[:MAX_TRANSACTION]
            if not items:
                done[pk] = decision.placed
                continue
            try:
                extra = {"ReturnConsumedCapacity": "INDEXES"} if capacity is not None else {}
                response = client.transact_write_items(TransactItems=[i for _, i in items], **extra)
            except Exception as exc:  # botocore ClientError
                codes = _cancellation_codes(exc)
                if not codes or not {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
                    raise
                lost = True
                failed = [i for (_, i), code in zip(items, codes, strict=False) if code == "ConditionalCheckFailed"]
                for item in failed:
                    if "Put" in item:
                        key = {"pk": item["Put"]["Item"]["pk"], "sk": item["Put"]["Item"]["sk"]}
                        held = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
                        if held is not None and _s(held, "message_group_uuid") != group:
                            collided.add(pk)  # two messages at the same instant: another conversation's row is there
                if not failed:
                    time.sleep(random.uniform(0.005, 0.05))  # a concurrent transaction on the same rows
                continue
            if capacity is not None:
                capacity.add(response.get("ConsumedCapacity"))
            if len(items) < len(decision.deletes) + (decision.put is not None):
                lost = True  # more duplicates than one transaction holds: look again
                continue
            done[pk] = decision.placed
        if not lost and all(pk in done for pk in owners):
            return [done[pk] for pk in owners]
    raise CruddurError(f"gave up placing the group rows of conversation {group} after {MAX_ATTEMPTS} lost races "
                       "with other writers; run the same command again")

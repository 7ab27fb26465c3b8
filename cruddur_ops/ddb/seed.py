"""Seed ``cruddur-messages`` from a seed file: one message item per message, two group rows per conversation.

Writes go through ``batch_write_item`` in parallel workers; ``UnprocessedItems`` and throttling are retried with
capped, jittered exponential backoff. Keys are deterministic, so a rerun overwrites instead of adding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cruddur_ops.ddb import batch
from cruddur_ops.ddb.capacity import Capacity, WriteEstimate
from cruddur_ops.ddb.model import GROUP_INDEX, MESSAGE_PREFIX, TABLE, group_item, message_item
from cruddur_ops.errors import SeedError
from cruddur_ops.io import yamlfile
from cruddur_ops.model import User, item_size, message_uuid_for
from cruddur_ops.seeds.seedfile import Conversation, SeedFile


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with an explicit offset, to the second: ``2024-02-28T23:50:00+00:00``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass
class PlannedConversation:
    conversation: Conversation
    timestamps: list[str]
    group_uuid: str
    moves: bool  # no fixed start: timestamps follow "now", so older copies must be cleaned up

    @property
    def last_at(self) -> str:
        return self.timestamps[-1]


def plan(seed: SeedFile, users: dict[str, User], now: datetime | None = None) -> list[PlannedConversation]:
    """Give every message its timestamp and check that no two group rows of one user collide."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    anchor = now - timedelta(minutes=1)
    floating = [c for c in seed.conversations if c.start is None]
    ends = {c.index: anchor - timedelta(seconds=len(floating) - 1 - k) for k, c in enumerate(floating)}
    planned: list[PlannedConversation] = []
    row_keys: dict[tuple[str, str], int] = {}
    for conv in seed.conversations:
        n = len(conv.messages)
        if conv.start is not None:
            times = [iso(conv.start + timedelta(minutes=i)) for i in range(n)]
        else:
            end = ends[conv.index]
            times = [iso(end - timedelta(minutes=n - 1 - i)) for i in range(n)]
        pc = PlannedConversation(conv, times, conv.group_uuid, conv.start is None)
        for handle in conv.between:
            key = (users[handle].uuid, pc.last_at)
            if key in row_keys:
                other = row_keys[key]
                keypath: list[str | int] = ["conversations", conv.index, "start"]
                raise SeedError(
                    f"{yamlfile.dotted(keypath)}: conversations {other + 1} and {conv.index + 1} both end at {pc.last_at} "
                    f"for '{handle}', so their group rows (pk GRP#…, sk = last message time) would overwrite each other; "
                    "move one start",
                    path=seed.path, line=yamlfile.line_of(seed.path, keypath),
                )
            row_keys[key] = conv.index
        planned.append(pc)
    return planned


def items_for(pc: PlannedConversation, users: dict[str, User]) -> Iterator[dict]:
    """The conversation's message items, then one group row per participant (describing the other one)."""
    conv = pc.conversation
    for i, ((sender, text), created_at) in enumerate(zip(conv.messages, pc.timestamps, strict=True)):
        yield message_item(pc.group_uuid, created_at, message_uuid_for(pc.group_uuid, i), text, users[sender])
    a, b = (users[h] for h in conv.between)
    last_text = conv.messages[-1][1]
    yield group_item(a, b, pc.group_uuid, pc.last_at, last_text)
    yield group_item(b, a, pc.group_uuid, pc.last_at, last_text)


def plan_items(planned: list[PlannedConversation], users: dict[str, User]) -> Iterator[dict]:
    for pc in planned:
        yield from items_for(pc, users)


def _attrs(item: dict) -> dict:
    # Seed items are all strings; the general serializer is in items.to_attrs.
    return {k: {"S": v} for k, v in item.items()}


# --- writing: the engine is ddb/batch.py (shared with import, copy, truncate) ----------------------------------
BatchWriter, IncompleteWrite, WriteStats, Interrupted = batch.BatchWriter, batch.IncompleteWrite, batch.WriteStats, batch.Interrupted
BATCH, RETRYABLE = batch.BATCH, batch.RETRYABLE


# --- cleaning up conversations whose timestamps move --------------------------------------------------------
def stale_keys(client, table: str, pc: PlannedConversation, planned_items: list[dict]) -> list[dict]:
    """Earlier seeds' copies of this conversation: our message_uuids or group rows at another ``sk``."""
    wanted = {(i["pk"], i["sk"]) for i in planned_items}
    ours = {i["message_uuid"] for i in planned_items if "message_uuid" in i}
    stale = []
    pages = client.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ProjectionExpression="pk, sk, message_uuid",
        ExpressionAttributeValues={":pk": {"S": MESSAGE_PREFIX + pc.group_uuid}},
    )
    for page in pages:
        for item in page["Items"]:
            key = (item["pk"]["S"], item["sk"]["S"])
            if key not in wanted and item.get("message_uuid", {}).get("S") in ours:
                stale.append({"pk": item["pk"], "sk": item["sk"]})
    pages = client.get_paginator("query").paginate(
        TableName=table, IndexName=GROUP_INDEX, KeyConditionExpression="message_group_uuid = :g",
        ProjectionExpression="pk, sk", ExpressionAttributeValues={":g": {"S": pc.group_uuid}},
    )
    for page in pages:
        for item in page["Items"]:
            if (item["pk"]["S"], item["sk"]["S"]) not in wanted:
                stale.append({"pk": item["pk"], "sk": item["sk"]})
    return stale


@dataclass
class SeedResult:
    table: str
    conversations: int
    messages: int
    group_rows: int
    items_written: int
    stale_deleted: int
    seconds: float
    retries: int
    workers: int
    capacity: Capacity | None  # None when it was not asked for

    def to_dict(self, prices=None) -> dict:
        return {
            "table": self.table, "conversations": self.conversations, "messages": self.messages,
            "group_rows": self.group_rows, "items_written": self.items_written,
            "stale_deleted": self.stale_deleted, "seconds": round(self.seconds, 3),
            "items_per_second": round(self.items_written / self.seconds, 1) if self.seconds else None,
            "retries": self.retries, "workers": self.workers,
            "consumed_capacity": (self.capacity.to_dict(prices, items=self.items_written)
                                  if self.capacity is not None else None),
        }


def seed(client, seed_file: SeedFile, users: list[User], *, table: str = TABLE, workers: int = 16,
         on_progress: Callable[[int], None] | None = None, now: datetime | None = None,
         writer: batch.BatchWriter | None = None, capacity: str | bool = "reported",
         give_up_after: float = batch.GIVE_UP_AFTER, on_pace: Callable[[str], None] | None = None) -> SeedResult:
    """Write the seed file's conversations. ``users`` come from the file or from PostgreSQL (as data).

    ``capacity``: ``"reported"`` asks DynamoDB for the consumed capacity of every batch; ``"computed"``
    works it out from the item sizes and the table's indexes (one DescribeTable, no load on the engine);
    ``False`` skips it (the result's ``capacity`` is None).
    """
    if capacity is True:
        capacity = "reported"
    by_handle = {u.handle: u for u in users}
    missing = sorted(seed_file.handles() - set(by_handle))
    if missing:
        raise SeedError(f"unknown handle '{missing[0]}': not among the users", path=seed_file.path)
    planned = plan(seed_file, by_handle, now)
    started = time.perf_counter()
    estimate = WriteEstimate(client.describe_table(TableName=table)["Table"]) if capacity == "computed" else None
    writer = writer or BatchWriter(client, table, workers=workers, on_progress=on_progress,
                                   capacity=capacity == "reported", give_up_after=give_up_after, on_pace=on_pace)

    def requests() -> Iterator[dict]:
        for pc in planned:
            items = list(items_for(pc, by_handle))
            for item in items:
                if estimate:
                    estimate.put(item, item_size)
                yield {"PutRequest": {"Item": _attrs(item)}}
            if pc.moves:
                for key in stale_keys(client, table, pc, items):
                    if estimate:
                        estimate.delete()
                    yield {"DeleteRequest": {"Key": key}}

    total = seed_file.message_count + 2 * len(planned)
    try:
        stats = writer.write(requests())
    except IncompleteWrite as exc:
        raise exc.with_total(total, rerun="run the same seed again") from None
    except Interrupted as exc:
        raise Interrupted(exc.signum, done=exc.done, total=total) from None
    used = estimate.capacity if estimate else (stats.capacity if writer.capacity else None)
    if used is not None:
        used.requests = stats.capacity.requests
    return SeedResult(
        table=table, conversations=len(planned), messages=seed_file.message_count, group_rows=2 * len(planned),
        items_written=stats.written, stale_deleted=stats.deleted, seconds=time.perf_counter() - started,
        retries=stats.retries, workers=writer.workers, capacity=used,
    )


def dry_run(seed_file: SeedFile, users: list[User], *, table: str = TABLE, now: datetime | None = None) -> dict:
    """What ``seed`` would write, without a single request."""
    by_handle = {u.handle: u for u in users}
    planned = plan(seed_file, by_handle, now)
    return {
        "table": table, "dry_run": True, "conversations": len(planned), "messages": seed_file.message_count,
        "group_rows": 2 * len(planned), "items": seed_file.message_count + 2 * len(planned),
        "plan": [
            {"message_group_uuid": pc.group_uuid, "between": list(pc.conversation.between),
             "messages": len(pc.conversation.messages), "first_at": pc.timestamps[0], "last_at": pc.last_at,
             "fixed_start": not pc.moves}
            for pc in planned
        ],
    }

"""Seed ``cruddur-messages`` from a seed file: one message item per message, one group row per participant.

1. :func:`plan` gives every message its time (aware UTC with microseconds, as the app writes them) and checks
   every item against DynamoDB's 400 KB limit, before anything is written. Conversations without ``start`` are
   placed relative to now: spread over the last days, the last one ending just before now, never before
   1 January, so the app's ``begins_with(sk, year)`` inbox shows them all.
2. The messages go through the batch engine (ddb/batch.py: its own client, one HTTP attempt a call, its own
   backoff for ``UnprocessedItems`` and throttling). Every other request of the seed (DescribeTable, the
   consistent Query of :func:`settle`, the group rows' TransactWriteItems) goes through the client handed in,
   with botocore's normal retries, so one throttled read does not end a seed.
3. :func:`settle` reads each conversation back: this seed's own older copies of its messages (same
   ``message_uuid``, another time) are deleted — of concurrent seeds the newest copy wins, so nothing is lost
   or doubled — and never a message the app wrote.
4. The group rows go to the conversation's newest message (the seed's last, or a newer one the app wrote)
   through :func:`cruddur_ops.ddb.grouprows.place`: one row per user per conversation, other copies removed
   in the same conditional transaction.

A reseed respects the app's messages (:func:`pin`): a conversation without ``start`` into which the app wrote a
message (one whose ``message_uuid`` is not the seed's) no longer follows "now". Its seed lines keep the times they
have — or, when some are missing, are placed just before the app's first message — so they never move after a
reply the app wrote, and the inbox's last message stays the app's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cruddur_ops.ddb import batch, grouprows, limits
from cruddur_ops.ddb.capacity import Capacity, WriteEstimate
from cruddur_ops.ddb.model import MESSAGE_PREFIX, TABLE, group_item, message_item
from cruddur_ops.errors import SeedError
from cruddur_ops.io import yamlfile
from cruddur_ops.io.timestamps import format_utc
from cruddur_ops.model import MAX_ITEM_BYTES, User, item_size, message_uuid_for
from cruddur_ops.seeds.seedfile import Conversation, SeedFile

BATCH = 25  # BatchWriteItem's limit
RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
             "InternalServerError", "ServiceUnavailable"}


SPREAD = timedelta(days=3)  # floating conversations are spread over the last days…
LEAD = timedelta(minutes=1)  # …and end just before now
STEP = timedelta(minutes=1)  # between the messages of a conversation, at most


def iso(moment: datetime) -> str:
    """The app's form: aware UTC with microseconds, ``2026-12-01T05:50:31.000000+00:00``."""
    return format_utc(moment)


@dataclass
class PlannedConversation:
    conversation: Conversation
    timestamps: list[str]
    group_uuid: str
    moves: bool  # no fixed start: timestamps follow "now", so older copies must be cleaned up
    pinned: bool = False  # the app wrote into it: the seed lines stay before the app's first message

    @property
    def last_at(self) -> str:
        return self.timestamps[-1]


def floating_times(counts: list[int], now: datetime) -> list[list[datetime]]:
    """Times for conversations without a ``start``: in order, each in its own slot of the last days, the last
    one ending just before ``now``; never before 1 January of ``now``'s year (UTC), so the app's
    ``begins_with(sk, year)`` filter shows every message of every conversation, on 2 January too."""
    if not counts:
        return []
    now = now.astimezone(UTC)
    year_start = datetime(now.year, 1, 1, tzinfo=UTC)
    end = now - LEAD if now - LEAD > year_start else now - (now - year_start) / 10  # the first minute of a year
    begin = max(now - SPREAD, year_start)
    slot = max((end - begin) / len(counts), timedelta(microseconds=1))
    out = []
    for k, n in enumerate(counts):
        conv_end = end - slot * (len(counts) - 1 - k)
        step = max(min(STEP, slot / (n + 1)), timedelta(microseconds=1))
        out.append([conv_end - step * (n - 1 - i) for i in range(n)])
    return out


def plan(seed: SeedFile, users: dict[str, User], now: datetime | None = None) -> list[PlannedConversation]:
    """Give every message its timestamp, check every item against DynamoDB's 400 KB limit, and check that no two
    group rows of one user collide — all before anything is written."""
    now = now or datetime.now(UTC)
    floating = [c for c in seed.conversations if c.start is None]
    placed = dict(zip((c.index for c in floating), floating_times([len(c.messages) for c in floating], now), strict=True))
    planned: list[PlannedConversation] = []
    row_keys: dict[tuple[str, str], int] = {}
    for conv in seed.conversations:
        n = len(conv.messages)
        if conv.start is not None:
            times = [iso(conv.start + timedelta(minutes=i)) for i in range(n)]
        else:
            times = [iso(t) for t in placed[conv.index]]
        pc = PlannedConversation(conv, times, conv.group_uuid, conv.start is None)
        _check_sizes(seed, pc, users)
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


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pin(client, table: str, planned: list[PlannedConversation], *, workers: int = 16) -> list[PlannedConversation]:
    """Floating conversations the app wrote into keep their seed lines before the app's first message.

    One consistent query per floating conversation (in parallel). When it holds a message that is not the seed's
    own (``message_uuid`` not derived from the group and position), the conversation is pinned: if every seed line
    is already there before the app's first message, those times are kept (nothing moves); otherwise the seed's
    lines are re-timed to end just before that message. Pinned conversations then settle like a fixed ``start``:
    copies at other times (an older seed's, even ones after the app's message) are removed.
    """
    floating = [pc for pc in planned if pc.moves]
    if not floating:
        return planned
    with ThreadPoolExecutor(max(1, min(workers, len(floating))), thread_name_prefix="pin") as pool:
        pinned = dict(zip((pc.group_uuid for pc in floating),
                          pool.map(lambda pc: _pin_one(client, table, pc), floating), strict=True))
    return [pinned.get(pc.group_uuid, pc) if pc.moves else pc for pc in planned]


def _pin_one(client, table: str, pc: PlannedConversation) -> PlannedConversation:
    n = len(pc.conversation.messages)
    ours = {message_uuid_for(pc.group_uuid, i): i for i in range(n)}
    found = []
    pages = client.get_paginator("query").paginate(
        TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
        ProjectionExpression="sk, message_uuid",
        ExpressionAttributeValues={":pk": {"S": MESSAGE_PREFIX + pc.group_uuid}})
    for page in pages:
        found.extend(page["Items"])
    app_times = sorted(i["sk"]["S"] for i in found if i.get("message_uuid", {}).get("S") not in ours)
    if not app_times:
        return pc
    first_app = app_times[0]
    kept: dict[int, str] = {}
    for item in found:
        index = ours.get(item.get("message_uuid", {}).get("S", ""))
        sk = item["sk"]["S"]
        if index is not None and sk < first_app and sk > kept.get(index, ""):
            kept[index] = sk
    times = [kept.get(i) for i in range(n)]
    if all(times) and all(a < b for a, b in zip(times, times[1:], strict=False)):  # type: ignore[operator]
        new_times = [t for t in times if t]
    else:
        anchor = _parse_time(first_app)
        if anchor is None:  # not a time the seed can reason about: leave the conversation as planned
            return pc
        step = STEP if n == 1 else min(STEP, timedelta(seconds=1))
        new_times = [iso(anchor - step * (n - i)) for i in range(n)]
    return PlannedConversation(pc.conversation, new_times, pc.group_uuid, moves=False, pinned=True)


def _check_sizes(seed: SeedFile, pc: PlannedConversation, users: dict[str, User]) -> None:
    """Every item of the conversation — names and values, as DynamoDB counts them — under 400 KB."""
    conv = pc.conversation
    last = len(conv.messages) - 1
    for j, (item, what) in enumerate(_sized_items(pc, users)):
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            index = min(j, last)
            sender = conv.messages[index][0]
            keypath: list[str | int] = ["conversations", conv.index, "messages", index, sender]
            raise SeedError(
                f"{yamlfile.dotted(keypath)}: the {what} would be {size:,} bytes (attribute names and values, "
                f"display names included), over DynamoDB's 400 KB item limit of {MAX_ITEM_BYTES:,} bytes; "
                "shorten the message", path=seed.path, line=yamlfile.line_of(seed.path, keypath))


def _sized_items(pc: PlannedConversation, users: dict[str, User]) -> Iterator[tuple[dict, str]]:
    for item in items_for(pc, users):
        yield item, ("message item" if item["pk"].startswith(MESSAGE_PREFIX) else
                     f"group row of {item['pk']} (the last message, with {item['user_handle']}'s display name)")


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
    # Seed items are all strings; the general serializer is typed.to_attrs.
    return {k: {"S": v} for k, v in item.items()}


# --- writing: the engine is ddb/batch.py (shared with import, copy, truncate) ----------------------------------
BatchWriter, IncompleteWrite, WriteStats, Interrupted = batch.BatchWriter, batch.IncompleteWrite, batch.WriteStats, batch.Interrupted
BATCH, RETRYABLE = batch.BATCH, batch.RETRYABLE


# --- after the messages: older copies, then the group rows --------------------------------------------------
@dataclass
class Settled:
    """One conversation after its messages were written: what to delete, and where its group rows belong."""

    stale: list[dict]  # keys of this seed's older copies of its own messages
    last_at: str  # the conversation's newest message in the table (the seed's, or a newer one the app wrote)
    last_text: str


def settle(client, table: str, pc: PlannedConversation, planned_items: list[dict]) -> Settled:
    """Read the conversation's messages (a consistent read, after this seed's writes) and decide.

    Only messages with this seed's own ``message_uuid`` (derived from the group and the position) are ever
    deleted — never one the app wrote. A fixed-``start`` conversation drops its copies at other times (the start
    changed); a floating one keeps, of each message, the newest copy only: the copy this seed just wrote, or a
    newer one that a concurrent seed wrote, so two seeds at once leave one copy and lose none.
    """
    wanted = {i["sk"] for i in planned_items if "message_uuid" in i}
    ours = {i["message_uuid"] for i in planned_items if "message_uuid" in i}
    found = []
    pages = client.get_paginator("query").paginate(
        TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
        ProjectionExpression="pk, sk, message_uuid, message",
        ExpressionAttributeValues={":pk": {"S": MESSAGE_PREFIX + pc.group_uuid}})
    for page in pages:
        found.extend(page["Items"])
    newest_copy: dict[str, str] = {}
    for item in found:
        uuid = item.get("message_uuid", {}).get("S")
        if uuid in ours and item["sk"]["S"] > newest_copy.get(uuid, ""):
            newest_copy[uuid] = item["sk"]["S"]
    stale, kept = [], []
    for item in found:
        uuid, sk = item.get("message_uuid", {}).get("S"), item["sk"]["S"]
        if uuid in ours and (sk != newest_copy[uuid] if pc.moves else sk not in wanted):
            stale.append({"pk": item["pk"], "sk": item["sk"]})
        else:
            kept.append(item)
    if kept:
        last = max(kept, key=lambda i: i["sk"]["S"])
        return Settled(stale, last["sk"]["S"], last.get("message", {}).get("S", ""))
    return Settled(stale, pc.last_at, pc.conversation.messages[-1][1])


def place_group_rows(client, table: str, pc: PlannedConversation, users: dict[str, User], settled: Settled, *,
                     capacity: Capacity | None = None) -> list[grouprows.Placed]:
    """Both participants' rows at the conversation's newest message, each user's other copies removed."""
    a, b = (users[h] for h in pc.conversation.between)
    templates = {}
    for owner, other in ((a, b), (b, a)):
        row = group_item(owner, other, pc.group_uuid, settled.last_at, settled.last_text)
        templates[row["pk"]] = _attrs(row)
    return grouprows.place(client, table, pc.group_uuid, settled.last_at, settled.last_text, templates=templates,
                           verify_newer=True, capacity=capacity)


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
    pinned: int = 0  # conversations kept before the messages the app wrote into them

    def to_dict(self, prices=None) -> dict:
        return {
            "table": self.table, "conversations": self.conversations, "messages": self.messages,
            "group_rows": self.group_rows, "items_written": self.items_written,
            "stale_deleted": self.stale_deleted, "seconds": round(self.seconds, 3),
            "items_per_second": round(self.items_written / self.seconds, 1) if self.seconds else None,
            "retries": self.retries, "workers": self.workers, "pinned_by_app_messages": self.pinned,
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
    planned = pin(client, table, plan(seed_file, by_handle, now), workers=workers)
    described = client.describe_table(TableName=table)["Table"]
    checker = limits.Checker(limits.KeyRules.from_description(described), path=seed_file.path)
    for pc in planned:  # what DynamoDB would refuse (a key schema of another shape), before the first write
        for item in items_for(pc, by_handle):
            checker.check(_attrs(item), where=f"conversations[{pc.conversation.index}]")
    checker.finish()
    started = time.perf_counter()
    estimate = WriteEstimate(described) if capacity == "computed" else None
    writer = writer or BatchWriter(client, table, workers=workers, on_progress=on_progress,
                                   capacity=capacity == "reported", give_up_after=give_up_after, on_pace=on_pace)

    items_of = {pc.group_uuid: list(items_for(pc, by_handle)) for pc in planned}

    def message_requests() -> Iterator[dict]:
        for pc in planned:
            for item in items_of[pc.group_uuid]:
                if "message_uuid" not in item:
                    continue
                if estimate:
                    estimate.put(item, item_size)
                yield {"PutRequest": {"Item": _attrs(item)}}

    total = seed_file.message_count + 2 * len(planned)
    try:
        stats = writer.write(message_requests())
        with ThreadPoolExecutor(writer.workers, thread_name_prefix="settle") as pool:
            settled = list(pool.map(lambda pc: settle(client, table, pc, items_of[pc.group_uuid]), planned))

        def stale_requests() -> Iterator[dict]:
            for done in settled:
                for key in done.stale:
                    if estimate:
                        estimate.delete()
                    yield {"DeleteRequest": {"Key": key}}

        stats = writer.write(stale_requests())
    except IncompleteWrite as exc:
        raise exc.with_total(total, rerun="run the same seed again") from None
    except Interrupted as exc:
        raise Interrupted(exc.signum, done=exc.done, total=total) from None

    row_capacity = Capacity("write") if writer.capacity else None
    estimate_lock = threading.Lock()

    def rows(pair: tuple[PlannedConversation, Settled]) -> list[grouprows.Placed]:
        pc, done = pair
        used = Capacity("write") if row_capacity is not None else None
        placed = place_group_rows(client, table, pc, by_handle, done, capacity=used)
        writer.on_progress(len(placed))
        if used is not None and row_capacity is not None:
            with estimate_lock:
                row_capacity.merge(used)
        if estimate:
            planned_rows = {i["pk"]: i for i in items_of[pc.group_uuid] if "message_uuid" not in i}
            with estimate_lock:
                for p in placed:  # a transactional write costs twice a plain one
                    if p.outcome in ("written", "moved", "refreshed"):
                        estimate.put(planned_rows[p.pk], item_size)
                        estimate.put(planned_rows[p.pk], item_size)
                    for _ in range(2 * p.deleted):
                        estimate.delete()
        return placed

    with ThreadPoolExecutor(writer.workers, thread_name_prefix="rows") as pool:
        outcomes = [p for placed in pool.map(rows, zip(planned, settled, strict=True)) for p in placed]
    # a row already holding exactly what the seed would write counts as written, as a rewrite would
    rows_written = sum(1 for p in outcomes if p.outcome in ("written", "moved", "refreshed", "unchanged"))
    if row_capacity is not None:
        stats.capacity.merge(row_capacity)
    stats.written += rows_written
    stats.deleted += sum(p.deleted for p in outcomes)
    used = estimate.capacity if estimate else (stats.capacity if writer.capacity else None)
    if used is not None:
        used.requests = stats.capacity.requests
    return SeedResult(
        table=table, conversations=len(planned), messages=seed_file.message_count, group_rows=2 * len(planned),
        items_written=stats.written, stale_deleted=stats.deleted, seconds=time.perf_counter() - started,
        retries=stats.retries, workers=writer.workers, capacity=used, pinned=sum(pc.pinned for pc in planned),
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

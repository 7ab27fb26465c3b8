"""Scan a table: every page, optionally in parallel segments, streamed so memory stays flat.

``limit`` is sent as ``Limit`` (with segments, split across them), so ``--limit 1`` reads one item, not a 1 MB
page. A failing segment stops the others at once: the error surfaces as soon as it happens.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Generator, Iterator

from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.ddb.typed import to_plain

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _segment_pages(client, args: dict, segment: int | None, segments: int, capacity: Capacity, lock,
                   page_limit: Callable[[], int | None]) -> Iterator[list]:
    args = {**args, "ReturnConsumedCapacity": "INDEXES"}
    if segments > 1:
        args.update(Segment=segment, TotalSegments=segments)
    while True:
        wanted = page_limit()
        if wanted:
            args["Limit"] = wanted
        page = client.scan(**args)
        with lock:
            capacity.requests += 1
            capacity.add(page.get("ConsumedCapacity"))
            capacity.scanned += page.get("ScannedCount", 0)
        yield page["WireItems"] if "WireItems" in page else page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class WireItems:
    """While registered on a client, its Scan responses keep their ``Items`` as DynamoDB's wire JSON (binary as
    base64 strings) under ``WireItems``, parsed by ``json.loads`` alone: botocore's shape walk over every attribute
    is most of a scan's CPU. Everything else in the response (LastEvaluatedKey, ConsumedCapacity, errors) is
    parsed by botocore as usual. Used by export, which writes JSON anyway."""

    EVENT = "before-parse.dynamodb.Scan"

    def __init__(self, client):
        self.client = client

    @staticmethod
    def _keep_items(response_dict, customized_response_dict, **kwargs) -> None:
        if response_dict.get("status_code", 500) >= 300:
            return
        import json

        doc = json.loads(response_dict["body"])
        customized_response_dict["WireItems"] = doc.pop("Items", [])
        response_dict["body"] = json.dumps(doc).encode()

    def __enter__(self):
        self.client.meta.events.register(self.EVENT, self._keep_items, unique_id="cruddur-wire-items")
        return self

    def __exit__(self, *exc) -> None:
        self.client.meta.events.unregister(self.EVENT, unique_id="cruddur-wire-items")


def iter_pages(client, table: str, *, limit: int | None = None, segments: int = 1,
               capacity: Capacity | None = None, key_names: tuple[str, ...] | None = None,
               consistent: bool = False, page_size: int | None = None) -> Generator[list[dict], None, None]:
    """Yield pages of typed items (``{"sk": {"S": "…"}}``) until ``limit`` items or the end of the table.

    ``key_names`` projects the items to those attributes (truncate reads keys only). With ``segments > 1`` each
    segment is scanned by its own thread and pages arrive in no particular order; at most about 2 × segments
    pages are held in memory, whatever the table's size.
    """
    capacity = capacity if capacity is not None else Capacity("read")
    lock = threading.Lock()
    args: dict = {"TableName": table}
    if key_names:
        args["ExpressionAttributeNames"] = {f"#k{i}": n for i, n in enumerate(key_names)}
        args["ProjectionExpression"] = ", ".join(f"#k{i}" for i in range(len(key_names)))
    if consistent:
        args["ConsistentRead"] = True
    yielded = 0
    if segments <= 1:
        got = [0]  # items so far, read by wanted() before each page

        def wanted() -> int | None:
            return min(filter(None, (limit and limit - got[0], page_size)), default=None)

        for items in _segment_pages(client, args, None, 1, capacity, lock, wanted):
            if limit and got[0] + len(items) >= limit:
                yield items[: limit - got[0]]
                return
            got[0] += len(items)
            yield items
        return

    pages: queue.Queue = queue.Queue(maxsize=segments)
    stop = threading.Event()
    share = math.ceil(limit / segments) if limit else None  # each segment asks for its share per page
    share = min(filter(None, (share, page_size)), default=None)

    def put(value) -> bool:
        while not stop.is_set():
            try:
                pages.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def worker(segment: int) -> None:
        try:
            for items in _segment_pages(client, args, segment, segments, capacity, lock, lambda: share):
                if stop.is_set() or not put(items):
                    return
        except BaseException as exc:  # handed to the consumer at once
            put(_Failed(exc))
            return
        put(_DONE)

    threads = [threading.Thread(target=worker, args=(s,), daemon=True, name=f"scan-{s}") for s in range(segments)]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < segments:
            try:
                items = pages.get(timeout=0.1)
            except queue.Empty:
                continue
            if items is _DONE:
                finished += 1
                continue
            if isinstance(items, _Failed):
                raise items.exc
            if limit and yielded + len(items) >= limit:
                yield items[: limit - yielded]
                return
            yielded += len(items)
            yield items
    finally:
        stop.set()  # the other segments stop at their next page


def iter_scan(client, table: str, *, limit: int | None = None, segments: int = 1,
              capacity: Capacity | None = None, convert: Callable[[dict], dict] = to_plain) -> Iterator[dict]:
    """Yield plain items (``{"sk": "2024-…"}``, see ddb/typed.py) until ``limit`` or the end of the table."""
    for items in iter_pages(client, table, limit=limit, segments=segments, capacity=capacity):
        for item in items:
            yield convert(item)


def count_items(client, table: str) -> int:
    """The exact number of items (a ``Select=COUNT`` scan of every page)."""
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += page["Count"]
    return total

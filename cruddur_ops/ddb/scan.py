"""Scan a table: every page, optionally in parallel segments, streamed so memory stays flat."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.ddb.items import to_plain

_DONE = object()


def _segment_pages(client, table: str, segment: int | None, segments: int, capacity: Capacity, lock) -> Iterator[list]:
    args: dict[str, Any] = {"TableName": table, "ReturnConsumedCapacity": "INDEXES"}
    if segments > 1:
        args.update(Segment=segment, TotalSegments=segments)
    for page in client.get_paginator("scan").paginate(**args):
        with lock:
            capacity.requests += 1
            capacity.add(page.get("ConsumedCapacity"))
            capacity.scanned += page.get("ScannedCount", 0)
        yield page.get("Items", [])


def iter_scan(client, table: str, *, limit: int | None = None, segments: int = 1,
              capacity: Capacity | None = None) -> Iterator[dict]:
    """Yield plain items (``{"sk": "2024-…"}``) until ``limit`` or the end of the table.

    With ``segments > 1`` each segment is scanned by its own thread (DynamoDB's parallel scan) and items
    arrive in no particular order; at most a few pages per segment are held in memory.
    """
    capacity = capacity if capacity is not None else Capacity("read")
    lock = threading.Lock()
    yielded = 0
    if segments <= 1:
        for items in _segment_pages(client, table, None, 1, capacity, lock):
            for item in items:
                yield to_plain(item)
                yielded += 1
                if limit and yielded >= limit:
                    return
        return

    # One page ready per segment is enough to keep the consumer busy; each worker also holds the page it waits
    # to hand over, so memory is about 2 × segments pages (~10 MB each), whatever the table's size.
    pages: queue.Queue = queue.Queue(maxsize=segments)
    stop = threading.Event()
    errors: list[BaseException] = []

    def worker(segment: int) -> None:
        try:
            for items in _segment_pages(client, table, segment, segments, capacity, lock):
                if stop.is_set():
                    return
                pages.put(items)
        except BaseException as exc:  # surfaced in the consumer
            errors.append(exc)
        finally:
            pages.put(_DONE)

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in range(segments)]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < segments:
            items = pages.get()
            if items is _DONE:
                finished += 1
                continue
            for item in items:
                yield to_plain(item)
                yielded += 1
                if limit and yielded >= limit:
                    return
        if errors:
            raise errors[0]
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):  # drain so blocked workers can finish
            try:
                pages.get(timeout=0.05)
            except queue.Empty:
                pass

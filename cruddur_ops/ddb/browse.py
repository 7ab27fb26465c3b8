"""A table as its designer thinks of it: item collections (partitions), item kinds, one collection's items with
their exact types, and pages that follow DynamoDB's own pagination.

Nothing here reads a whole table for one page. The partition list is a Scan projected to the key attributes,
started at a cursor (the key of the last item the previous page read, as DynamoDB's ``LastEvaluatedKey``): it
reads items until it has seen ``limit`` partitions (and the first key of the next one), or ``max_keys`` keys,
whichever comes first. A partition cut by ``max_keys`` is counted "at least" and continues on the next page. A
collection's items are a Query with ``Limit`` and ``ExclusiveStartKey``. Cursors travel as URL-safe tokens
(:func:`encode_cursor`): base64 of the key in DynamoDB's wire JSON.

Item kinds are inferred from key prefixes, the single-table convention (``GRP#…``, ``MSG#…``, ``ORDER#…``): the sort
key's prefix when it has one, else the partition key's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cruddur_ops.ddb import typed
from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.ddb.query import TableKeys, key_value
from cruddur_ops.errors import InputError

PARTITIONS_PER_PAGE = 25
MAX_KEYS_PER_PAGE = 2_500  # keys one partition page reads at most, whatever the partitions' sizes
ITEMS_PER_PAGE = 100
_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]{0,63})#")


# --- cursors ------------------------------------------------------------------------------------------------
def encode_cursor(key: dict | None) -> str | None:
    """A key (the client's shapes) -> a URL-safe token; None stays None."""
    if not key:
        return None
    wire = {k: typed.wire_value(v) for k, v in sorted(key.items())}
    text = json.dumps(wire, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(token: str | None, key_names: tuple[str, ...] = ()) -> dict | None:
    """The key a token carries; a token that is not one of ours is an InputError naming it."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or not doc:
            raise ValueError("not a key")
        key = {k: typed.fromwire_value(v, k) for k, v in doc.items()}
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"page token '{token[:40]}' is not a key: {exc}") from None
    missing = [n for n in key_names if n not in key]
    if missing:
        raise InputError(f"page token '{token[:40]}' lacks the key attribute '{missing[0]}'")
    return key


# --- item kinds ---------------------------------------------------------------------------------------------
def kind_of(partition: Any, sort: Any = None) -> str:
    """``GRP#…`` -> ``GRP``; ``CUSTOMER#1`` / ``ORDER#7`` -> ``ORDER``; no prefix -> ``item``."""
    for value in (sort, partition):
        if isinstance(value, str):
            m = _PREFIX.match(value)
            if m:
                return m.group(1)
    return "item"


def shown(av: dict) -> str:
    """A key's value as text: S as it is, N with every digit, B in base64."""
    ((kind, value),) = av.items()
    if kind == "B":
        return typed.b64(value)
    return str(value)


# --- the partition list -------------------------------------------------------------------------------------
@dataclass
class Partition:
    value: dict  # the partition key's attribute value
    items: int = 0
    complete: bool = True  # False: the page stopped inside it (it continues on the next page)
    continued: bool = False  # it began on an earlier page
    kinds: Counter = field(default_factory=Counter)

    def to_dict(self, key_name: str) -> dict:
        return {"partition": typed.plain_value(self.value), "key": key_name, "type": next(iter(self.value)),
                "items": self.items, "complete": self.complete, "continued": self.continued,
                "kinds": dict(self.kinds.most_common())}


@dataclass
class PartitionPage:
    table: str
    index: str | None
    key_name: str
    prefix: str | None
    partitions: list[Partition]
    keys_read: int
    capacity: Capacity
    seconds: float
    next: str | None  # the cursor of the next page, or None at the end
    start: str | None

    def to_dict(self, prices=None) -> dict:
        kinds: Counter = Counter()
        for p in self.partitions:
            kinds.update(p.kinds)
        return {"table": self.table, "index": self.index, "partition_key": self.key_name, "prefix": self.prefix,
                "partitions": [p.to_dict(self.key_name) for p in self.partitions], "count": len(self.partitions),
                "kinds": dict(kinds.most_common()), "keys_read": self.keys_read, "start": self.start, "next": self.next,
                "latency_ms": round(self.seconds * 1000, 2), "consumed_capacity": self.capacity.to_dict(prices)}


def partitions(client, keys: TableKeys, *, index: str | None = None, prefix: str | None = None,
               start: str | None = None, limit: int = PARTITIONS_PER_PAGE, max_keys: int = MAX_KEYS_PER_PAGE,
               segment: tuple[int, int] | None = None) -> PartitionPage:
    """One page of the table's (or index's) partitions, with each one's item count and kinds.

    ``client`` may carry :class:`cruddur_ops.ddb.scan.WireItems` (`cruddur web` keeps one such client for these
    scans): the keys then skip botocore's parsing, a third of a page's time. ``prefix`` keeps partition keys that
    begin with it (a ``begins_with`` filter: the scan still reads the keys
    it skips, and the page stops at ``max_keys`` keys read either way). ``start`` is the token of the previous
    page's ``next``.
    """
    key = keys.for_index(index)
    names = list(dict.fromkeys(key.names + keys.key.names))  # an index's scan position needs the table's keys too
    args: dict[str, Any] = {"TableName": keys.table, "ReturnConsumedCapacity": "TOTAL",
                            "ExpressionAttributeNames": {f"#k{i}": n for i, n in enumerate(names)},
                            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(names)))}
    if index:
        args["IndexName"] = index
    if segment:
        args.update(Segment=segment[0], TotalSegments=segment[1])
    if prefix:
        if key.hash_type == "N":
            raise InputError(f"partition key {key.hash} is a number: search by prefix works on strings and binary")
        args["FilterExpression"] = "begins_with(#k0, :prefix)"
        args["ExpressionAttributeValues"] = {":prefix": key_value(prefix, key.hash_type, key.hash)}
    position = decode_cursor(start, tuple(names))
    capacity = Capacity("read")
    found: dict[str, Partition] = {}
    order: list[Partition] = []
    keys_read = 0
    last_key: dict | None = position
    cursor: dict | None = None
    started = time.perf_counter()
    first = True
    while True:
        call = dict(args)
        if position:
            call["ExclusiveStartKey"] = position
        call["Limit"] = max(1, min(1000, max_keys - keys_read))
        page = client.scan(**call)
        capacity.requests += 1
        capacity.add(page.get("ConsumedCapacity"))
        capacity.scanned += page.get("ScannedCount", 0)
        stop = False
        wire = "WireItems" in page  # a client with scan.WireItems: DynamoDB JSON, parsed by json alone (binary in base64)
        for item in page["WireItems"] if wire else page.get("Items", []):
            if wire:
                item = {n: typed.fromwire_value(v, n) for n, v in item.items()}
            ident = json.dumps(typed.wire_value(item[key.hash]), sort_keys=True)
            part = found.get(ident)
            if part is None:
                if len(order) >= limit:  # the first key of the next page's first partition
                    cursor, stop = last_key, True
                    break
                part = Partition(item[key.hash])
                if first and start:
                    part.continued = _same_partition(position, key.hash, item[key.hash])
                found[ident] = part
                order.append(part)
            first = False
            part.items += 1
            part.kinds[kind_of(typed.plain_value(item[key.hash]),
                               typed.plain_value(item[key.range]) if key.range and key.range in item else None)] += 1
            last_key = {n: item[n] for n in names if n in item}
        keys_read += page.get("ScannedCount", len(page.get("Items", [])))
        if stop:
            break
        position = page.get("LastEvaluatedKey")
        if not position:
            cursor = None
            break
        if keys_read >= max_keys:
            # stop here: the page's last partition may go on, and the next page starts after what was read
            cursor = position
            if order:
                order[-1].complete = False
            break
    return PartitionPage(keys.table, index, key.hash, prefix, order, keys_read, capacity,
                         time.perf_counter() - started, encode_cursor(cursor), start)


def _same_partition(position: dict | None, name: str, value: dict) -> bool:
    return bool(position) and position.get(name) == value  # type: ignore[union-attr]


def count(client, request: dict) -> int:
    """How many items a Query request selects (``Select=COUNT``, every page; its Limit is not applied)."""
    call = {k: v for k, v in request.items()
            if k not in ("Limit", "ProjectionExpression", "ReturnConsumedCapacity", "ScanIndexForward")}
    call["Select"] = "COUNT"
    if "ProjectionExpression" in request:  # its names are no longer used
        used = " ".join(str(call.get(k, "")) for k in ("KeyConditionExpression", "FilterExpression"))
        call["ExpressionAttributeNames"] = {k: v for k, v in call.get("ExpressionAttributeNames", {}).items() if k in used}
    total = 0
    for page in client.get_paginator("query").paginate(**call):
        total += page.get("Count", 0)
    return total


# --- one item collection ------------------------------------------------------------------------------------
@dataclass
class CollectionPage:
    table: str
    index: str | None
    partition: dict
    items: list[dict]  # as DynamoDB returned them (typed attribute values)
    capacity: Capacity
    seconds: float
    request: dict
    next: str | None
    start: str | None

    def plain_items(self) -> list[dict]:
        return [typed.to_plain(i) for i in self.items]

    def to_dict(self, prices=None) -> dict:
        return {"table": self.table, "index": self.index, "partition": typed.plain_value(self.partition),
                "items": self.plain_items(), "count": len(self.items), "start": self.start, "next": self.next,
                "latency_ms": round(self.seconds * 1000, 2), "consumed_capacity": self.capacity.to_dict(prices)}


def collection(client, keys: TableKeys, partition: str, *, index: str | None = None, start: str | None = None,
               limit: int = ITEMS_PER_PAGE, desc: bool = False) -> CollectionPage:
    """One page of the items under partition key value ``partition`` (typed from the key schema), by sort key."""
    key = keys.for_index(index)
    value = key_value(partition, key.hash_type, key.hash)
    request: dict[str, Any] = {"TableName": keys.table, "KeyConditionExpression": "#pk = :pk",
                               "ExpressionAttributeNames": {"#pk": key.hash},
                               "ExpressionAttributeValues": {":pk": value}, "Limit": limit}
    if index:
        request["IndexName"] = index
    if desc:
        request["ScanIndexForward"] = False
    position = decode_cursor(start, key.names)
    call = {**request, "ReturnConsumedCapacity": "INDEXES"}
    if position:
        call["ExclusiveStartKey"] = position
    started = time.perf_counter()
    page = client.query(**call)
    capacity = Capacity("read")
    capacity.requests = 1
    capacity.add(page.get("ConsumedCapacity"))
    capacity.scanned = page.get("ScannedCount", 0)
    return CollectionPage(keys.table, index, value, page.get("Items", []), capacity, time.perf_counter() - started,
                          request, encode_cursor(page.get("LastEvaluatedKey")), start)


# --- exact values, for people ---------------------------------------------------------------------------------
def columns(items: list[dict]) -> list[str]:
    """Every attribute name of the items, keys first (``pk``, ``sk``), then the rest alphabetically."""
    names: dict[str, None] = {}
    for item in items:
        for name in item:
            names.setdefault(name, None)
    return typed.key_order(names)


def exact(av: dict) -> tuple[str, str]:
    """(DynamoDB type, the value as text with nothing lost): N with every digit it stores, B and BS in base64,
    sets sorted, L and M as JSON of their plain form (ddb/typed.py)."""
    ((kind, value),) = av.items()
    if kind == "S":
        return kind, value
    if kind == "N":
        return kind, value
    if kind == "B":
        return kind, typed.b64(value)
    if kind == "BOOL":
        return kind, "true" if value else "false"
    if kind == "NULL":
        return kind, "null"
    if kind == "SS":
        return kind, typed.dumps(sorted(value))
    if kind == "NS":
        return kind, "[" + ", ".join(sorted(value, key=_decimal)) + "]"
    if kind == "BS":
        return kind, typed.dumps(sorted(typed.b64(v) for v in value))
    return kind, typed.dumps(typed.plain_value(av))


def _decimal(text: str):
    from decimal import Decimal

    return Decimal(text)

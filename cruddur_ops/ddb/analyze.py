"""Where a table's items really sit (``cruddur ddb analyze``): hot partitions, item collections, unused indexes.

One parallel scan counts items and bytes per partition-key value of the table and of every index (an item is in
a GSI only when it has the index's keys), so the hottest keys show with their share of the table. With a local
secondary index, DynamoDB caps an item collection (the table's and the LSIs' items of one partition key) at 10 GB:
the largest collections are listed with their share of that cap. Indexes that no declared access pattern reads are
named: each one costs a write on every put that lands in it.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from typing import Any

ITEM_COLLECTION_CAP = 10 * 1024 ** 3
OVERHEAD = 100


def _top(counts: dict[Any, list[int]], n: int, total_items: int, total_bytes: int) -> list[dict]:
    rows = heapq.nlargest(n, counts.items(), key=lambda kv: (kv[1][0], kv[1][1]))
    return [{"key": k, "items": v[0], "bytes": v[1],
             "share_of_items": round(v[0] / total_items, 4) if total_items else 0.0,
             "share_of_bytes": round(v[1] / total_bytes, 4) if total_bytes else 0.0} for k, v in rows]


def analyze(client, table: str, *, patterns: list | None = None, top: int = 10, segments: int = 4,
            on_progress: Callable[[int], None] | None = None) -> dict:
    """The analysis document of ``table``; ``patterns`` (declared for it) tell which indexes are read."""
    from cruddur_ops.ddb.scan import iter_pages
    from cruddur_ops.ddb.typed import item_size, plain_value

    description = client.describe_table(TableName=table)["Table"]
    hash_key = next(k["AttributeName"] for k in description["KeySchema"] if k["KeyType"] == "HASH")
    table_keys = {k["AttributeName"] for k in description["KeySchema"]}
    indexes = []
    for group, kind in (("GlobalSecondaryIndexes", "GSI"), ("LocalSecondaryIndexes", "LSI")):
        for index in description.get(group) or []:
            keys = [k["AttributeName"] for k in index["KeySchema"]]
            projection = index.get("Projection") or {}
            projected = table_keys | set(keys) | set(projection.get("NonKeyAttributes") or ())
            indexes.append({"name": index["IndexName"], "kind": kind, "keys": keys,
                            "projection": projection.get("ProjectionType", "ALL"), "projected": projected})
    partitions: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    per_index: dict[str, dict[Any, list[int]]] = {i["name"]: defaultdict(lambda: [0, 0]) for i in indexes}
    index_totals = {i["name"]: [0, 0] for i in indexes}
    collections: dict[Any, int] = defaultdict(int)
    has_lsi = any(i["kind"] == "LSI" for i in indexes)
    items = size_total = 0
    for page in iter_pages(client, table, segments=segments):
        for typed in page:
            size = item_size(typed) + OVERHEAD
            key = plain_value(typed[hash_key])
            key = key if isinstance(key, (str, int, float)) else str(key)
            cell = partitions[key]
            cell[0] += 1
            cell[1] += size
            items += 1
            size_total += size
            if has_lsi:
                collections[key] += size
            for i in indexes:
                if not all(k in typed for k in i["keys"]):
                    continue
                isize = size if i["projection"] == "ALL" else \
                    item_size({k: v for k, v in typed.items() if k in i["projected"]}) + OVERHEAD
                ikey = plain_value(typed[i["keys"][0]])
                ikey = ikey if isinstance(ikey, (str, int, float)) else str(ikey)
                c = per_index[i["name"]][ikey]
                c[0] += 1
                c[1] += isize
                index_totals[i["name"]][0] += 1
                index_totals[i["name"]][1] += isize
                if i["kind"] == "LSI":
                    collections[key] += isize
        if on_progress:
            on_progress(len(page))
    used = {p.index for p in patterns or [] if p.index}
    doc = {
        "table": table, "items": items, "bytes": size_total, "partitions": len(partitions),
        "hot_keys": _top(partitions, top, items, size_total),
        "indexes": [{"name": i["name"], "kind": i["kind"], "items": index_totals[i["name"]][0],
                     "bytes": index_totals[i["name"]][1], "partitions": len(per_index[i["name"]]),
                     "hot_keys": _top(per_index[i["name"]], top, index_totals[i["name"]][0], index_totals[i["name"]][1]),
                     "used_by_patterns": sorted(p.name for p in patterns or [] if p.index == i["name"])}
                    for i in indexes],
        "item_collections": [{"key": k, "bytes": v, "share_of_10_gb": round(v / ITEM_COLLECTION_CAP, 12)}
                             for k, v in heapq.nlargest(top, collections.items(), key=lambda kv: kv[1])] if has_lsi else None,
        "unused_indexes": [i["name"] for i in indexes if i["name"] not in used] if patterns is not None else None,
    }
    return doc

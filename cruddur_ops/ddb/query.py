"""Any table by key: its key schema, Query with the key condition written for you, and get/put/delete/update.

Key values are typed from the table's (or index's) key schema, so ``ddb get orders 1042`` sends
``{"N": "1042"}`` when the partition key is a number; binary keys are given in base64.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from cruddur_ops.ddb import typed
from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.errors import CruddurError, InputError, NotFoundError


@dataclass(frozen=True)
class Key:
    hash: str
    hash_type: str
    range: str | None = None
    range_type: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash,) + ((self.range,) if self.range else ())


@dataclass(frozen=True)
class TableKeys:
    """A table's key, its indexes' keys and its declared attribute types, from one DescribeTable."""

    table: str
    key: Key
    indexes: dict[str, Key]
    types: dict[str, str]  # AttributeDefinitions: every key attribute of the table and its indexes
    description: dict = field(repr=False, compare=False, default_factory=dict)

    def for_index(self, index: str | None) -> Key:
        if index is None:
            return self.key
        if index not in self.indexes:
            known = ", ".join(sorted(self.indexes)) or "none"
            raise NotFoundError(f"table {self.table} has no index '{index}' (its indexes: {known})")
        return self.indexes[index]


def _key(schema: list[dict], types: dict[str, str]) -> Key:
    hash_name = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_name = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return Key(hash_name, types[hash_name], range_name, types.get(range_name) if range_name else None)


def table_keys(client, table: str) -> TableKeys:
    d = client.describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in d.get("AttributeDefinitions", [])}
    indexes = {i["IndexName"]: _key(i["KeySchema"], types)
               for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in d.get(group) or []}
    return TableKeys(table, _key(d["KeySchema"], types), indexes, types, d)


def key_value(text: str, kind: str, name: str) -> dict:
    """A key given on the command line -> its attribute value of the declared type (S, N or B)."""
    try:
        if kind == "N":
            return {"N": typed.number_text(text, name)}
        if kind == "B":
            return {"B": typed.from_base64(text, name)}
    except typed.TypeMappingError as exc:
        raise InputError(f"key {name} is of type {kind}: {exc.reason}") from None
    return {"S": text}


def item_key(keys: TableKeys, partition: str, sort: str | None) -> dict:
    k = keys.key
    key = {k.hash: key_value(partition, k.hash_type, k.hash)}
    if k.range:
        if sort is None:
            raise InputError(f"table {keys.table} has a sort key ({k.range}): give it after the partition key")
        key[k.range] = key_value(sort, k.range_type or "S", k.range)
    elif sort is not None:
        raise InputError(f"table {keys.table} has no sort key; give the partition key ({k.hash}) only")
    return key


# --- Query -------------------------------------------------------------------------------------------------
SORT_OPS = ("=", "<", "<=", ">", ">=", "between", "begins_with")
_SORT = [
    (re.compile(r"^\s*between\s+(.+?)\s+and\s+(.+?)\s*$", re.I | re.S), "between"),
    (re.compile(r"^\s*begins_with\s+(.+?)\s*$", re.I | re.S), "begins_with"),
    (re.compile(r"^\s*(<=|>=|=|<|>)\s*(.+?)\s*$", re.S), None),
]


def parse_sort(text: str) -> tuple[str, list[str]]:
    """``"between A and B"`` -> ``("between", ["A", "B"])``; ``"> 2024"`` -> ``(">", ["2024"])``."""
    for pattern, op in _SORT:
        m = pattern.match(text)
        if m:
            if op is None:
                return m.group(1), [m.group(2)]
            return op, list(m.groups())
    raise InputError(f"--sort '{text}': expected OP VALUE with OP one of =, <, <=, >, >=, "
                     "'between A and B', 'begins_with P'")


def parse_assignments(pairs: list[str], what: str) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON is taken as JSON (typed forms too), else as a string."""
    from cruddur_ops.io.pairs import parse_pairs

    out: dict[str, Any] = {}
    for name, value in parse_pairs(pairs, what, form="name=value").items():
        try:
            out[name] = typed.loads(value)
        except ValueError:
            out[name] = value
    return out


def _typed(values: dict[str, Any], what: str) -> dict[str, dict]:
    try:
        return {k: typed.attr_value(v, k) for k, v in values.items()}
    except typed.TypeMappingError as exc:
        raise InputError(f"{what} {exc}") from None


def build_query(keys: TableKeys, partition: str, *, sort: str | None = None, index: str | None = None,
                filter: str | None = None, values: dict[str, Any] | None = None, names: dict[str, str] | None = None,
                projection: list[str] | None = None, desc: bool = False, limit: int | None = None,
                consistent: bool = False) -> dict:
    """The exact Query request: the key condition from the key schema, placeholders for every name."""
    key = keys.for_index(index)
    request: dict[str, Any] = {"TableName": keys.table}
    if index:
        request["IndexName"] = index
    attr_names = {"#pk": key.hash}
    attr_values = {":pk": key_value(partition, key.hash_type, key.hash)}
    condition = "#pk = :pk"
    if sort:
        if not key.range:
            where = f"index {index}" if index else f"table {keys.table}"
            raise InputError(f"--sort: {where} has no sort key")
        op, operands = parse_sort(sort)
        attr_names["#sk"] = key.range
        kind = key.range_type or "S"
        if op == "between":
            attr_values[":sk1"] = key_value(operands[0], kind, key.range)
            attr_values[":sk2"] = key_value(operands[1], kind, key.range)
            condition += " AND #sk BETWEEN :sk1 AND :sk2"
        elif op == "begins_with":
            attr_values[":sk"] = key_value(operands[0], kind, key.range)
            condition += " AND begins_with(#sk, :sk)"
        else:
            attr_values[":sk"] = key_value(operands[0], kind, key.range)
            condition += f" AND #sk {op} :sk"
    request["KeyConditionExpression"] = condition
    if filter:
        request["FilterExpression"] = filter
    for placeholder, name in (names or {}).items():
        attr_names[placeholder if placeholder.startswith("#") else "#" + placeholder] = name
    for placeholder, value in _typed(values or {}, "--value").items():
        attr_values[placeholder if placeholder.startswith(":") else ":" + placeholder] = value
    if projection:
        slots = []
        for i, name in enumerate(projection):
            attr_names[f"#p{i}"] = name
            slots.append(f"#p{i}")
        request["ProjectionExpression"] = ", ".join(slots)
    request["ExpressionAttributeNames"] = attr_names
    request["ExpressionAttributeValues"] = attr_values
    if desc:
        request["ScanIndexForward"] = False
    if limit:
        request["Limit"] = limit
    if consistent:
        request["ConsistentRead"] = True
    return request


def wire_request(request: dict) -> dict:
    """The request as JSON (binary as base64), what ``aws dynamodb query --cli-input-json`` reads."""
    out = dict(request)
    if "ExpressionAttributeValues" in out:
        out["ExpressionAttributeValues"] = {k: typed.wire_value(v) for k, v in out["ExpressionAttributeValues"].items()}
    return out


def aws_cli(request: dict, operation: str = "query") -> str:
    return f"aws dynamodb {operation} --cli-input-json '{json.dumps(wire_request(request), ensure_ascii=False)}'"


@dataclass
class QueryResult:
    items: list[dict]
    count: int
    scanned: int
    pages: int
    seconds: float
    capacity: Capacity


def run_query(client, request: dict, *, limit: int | None = None) -> QueryResult:
    """Every page up to ``limit`` items (sent as ``Limit`` too, shrinking as items arrive)."""
    capacity = Capacity("read")
    items: list[dict] = []
    scanned = pages = 0
    args = {**request, "ReturnConsumedCapacity": "INDEXES"}
    started = time.perf_counter()
    while True:
        if limit:
            args["Limit"] = limit - len(items)
        page = client.query(**args)
        pages += 1
        capacity.requests += 1
        capacity.add(page.get("ConsumedCapacity"))
        scanned += page.get("ScannedCount", 0)
        items += [typed.to_plain(i) for i in page.get("Items", [])]
        if (limit and len(items) >= limit) or "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    capacity.scanned = scanned
    return QueryResult(items[:limit] if limit else items, min(len(items), limit or len(items)), scanned, pages,
                       time.perf_counter() - started, capacity)


def query_keys(client, request: dict, key_names: tuple[str, ...]):
    """Yield the table keys (typed) of what a Query selects, every page."""
    args = {k: v for k, v in request.items() if k not in ("ProjectionExpression", "Limit")}
    names = dict(args.get("ExpressionAttributeNames") or {})
    slots = []
    for i, name in enumerate(key_names):
        names[f"#k{i}"] = name
        slots.append(f"#k{i}")
    args.update(ExpressionAttributeNames=names, ProjectionExpression=", ".join(slots))
    for page in client.get_paginator("query").paginate(**args):
        for item in page.get("Items", []):
            yield {n: item[n] for n in key_names if n in item}


# --- items by key ------------------------------------------------------------------------------------------
@dataclass
class ItemResult:
    table: str
    key: dict
    item: dict | None
    capacity: Capacity
    action: str

    def to_dict(self, prices=None) -> dict:
        return {"table": self.table, "action": self.action, "key": typed.to_plain(self.key),
                "item": self.item, "consumed_capacity": self.capacity.to_dict(prices)}


def _capacity(kind: str, response: dict) -> Capacity:
    c = Capacity(kind)
    c.requests = 1
    c.add(response.get("ConsumedCapacity"))
    return c


def get_item(client, keys: TableKeys, partition: str, sort: str | None, *, consistent: bool = False,
             projection: list[str] | None = None) -> ItemResult:
    key = item_key(keys, partition, sort)
    args: dict[str, Any] = {"TableName": keys.table, "Key": key, "ReturnConsumedCapacity": "INDEXES"}
    if consistent:
        args["ConsistentRead"] = True
    if projection:
        args["ExpressionAttributeNames"] = {f"#p{i}": n for i, n in enumerate(projection)}
        args["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(projection)))
    response = client.get_item(**args)
    if "Item" not in response:
        shown = ", ".join(f"{k}={v}" for k, v in typed.to_plain(key).items())
        raise NotFoundError(f"no item with {shown} in {keys.table}")
    return ItemResult(keys.table, key, typed.to_plain(response["Item"]), _capacity("read", response), "get")


def _conditional(exc: Exception) -> bool:
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def parse_item(text: str, where: str) -> dict:
    try:
        return typed.to_attrs(typed.loads(text))
    except typed.TypeMappingError as exc:
        raise InputError(str(exc), path=where) from None
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", path=where) from None


def check_key(keys: TableKeys, item: dict, where: str = "item") -> None:
    for name in keys.key.names:
        if name not in item:
            raise InputError(f"{where}: missing key attribute '{name}' of {keys.table}")
    for name, kind in keys.types.items():
        if name in item and next(iter(item[name])) != kind:
            raise InputError(f"{where}: {name} must be of type {kind} (a key of {keys.table} or of one of its "
                             f"indexes), not {next(iter(item[name]))}")


def put_item(client, keys: TableKeys, item: dict, *, condition: str | None = None,
             values: dict[str, Any] | None = None, names: dict[str, str] | None = None) -> ItemResult:
    check_key(keys, item)
    args: dict[str, Any] = {"TableName": keys.table, "Item": item, "ReturnConsumedCapacity": "INDEXES"}
    if condition:
        args["ConditionExpression"] = condition
        if names:
            args["ExpressionAttributeNames"] = {(p if p.startswith("#") else "#" + p): n for p, n in names.items()}
        if values:
            args["ExpressionAttributeValues"] = {(p if p.startswith(":") else ":" + p): v
                                                 for p, v in _typed(values, "--value").items()}
    try:
        response = client.put_item(**args)
    except Exception as exc:
        if _conditional(exc):
            raise CruddurError(f"not written: the condition '{condition}' is false for this item in {keys.table}") from None
        raise
    key = {n: item[n] for n in keys.key.names}
    return ItemResult(keys.table, key, typed.to_plain(item), _capacity("write", response), "put")


def delete_item(client, keys: TableKeys, partition: str, sort: str | None) -> ItemResult:
    key = item_key(keys, partition, sort)
    response = client.delete_item(TableName=keys.table, Key=key, ReturnValues="ALL_OLD",
                                  ReturnConsumedCapacity="INDEXES")
    old = response.get("Attributes")
    if old is None:
        shown = ", ".join(f"{k}={v}" for k, v in typed.to_plain(key).items())
        raise NotFoundError(f"no item with {shown} in {keys.table}: nothing deleted")
    return ItemResult(keys.table, key, typed.to_plain(old), _capacity("write", response), "delete")


def update_item(client, keys: TableKeys, partition: str, sort: str | None, *, set_: dict[str, Any],
                remove: list[str], add: dict[str, Any]) -> ItemResult:
    """SET a=1, REMOVE b, ADD n 1 (numbers and sets); names as placeholders, values typed as plain JSON."""
    key = item_key(keys, partition, sort)
    if not (set_ or remove or add):
        raise InputError("nothing to update: give --set, --remove or --add")
    for name in list(set_) + list(remove) + list(add):
        if name in keys.key.names:
            raise InputError(f"{name} is part of the key of {keys.table}; a key cannot be updated")
    names: dict[str, str] = {}
    values: dict[str, dict] = {}
    clauses = []
    n = 0

    def slot(name: str) -> str:
        nonlocal n
        n += 1
        names[f"#a{n}"] = name
        return f"#a{n}"

    if set_:
        parts = []
        for name, value in _typed(set_, "--set").items():
            placeholder = slot(name)
            values[f":v{n}"] = value
            parts.append(f"{placeholder} = :v{n}")
        clauses.append("SET " + ", ".join(parts))
    if remove:
        clauses.append("REMOVE " + ", ".join(slot(name) for name in remove))
    if add:
        parts = []
        for name, value in _typed(add, "--add").items():
            if next(iter(value)) not in ("N", "SS", "NS", "BS"):
                raise InputError(f"--add {name}: ADD takes a number or a set, not {next(iter(value))}")
            placeholder = slot(name)
            values[f":v{n}"] = value
            parts.append(f"{placeholder} :v{n}")
        clauses.append("ADD " + ", ".join(parts))
    args: dict[str, Any] = {"TableName": keys.table, "Key": key, "UpdateExpression": " ".join(clauses),
                            "ExpressionAttributeNames": names, "ReturnValues": "ALL_NEW",
                            "ReturnConsumedCapacity": "INDEXES"}
    if values:
        args["ExpressionAttributeValues"] = values
    response = client.update_item(**args)
    return ItemResult(keys.table, key, typed.to_plain(response.get("Attributes") or {}), _capacity("write", response),
                      "update")

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
    (re.compile(r"^\s*between\s+(.+?)\s*$", re.I | re.S), "between"),
    (re.compile(r"^\s*begins_with\s+(.+?)\s*$", re.I | re.S), "begins_with"),
    (re.compile(r"^\s*(<=|>=|=|<|>)\s*(.+?)\s*$", re.S), None),
]


_QUOTED = r"""(?:'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)")"""
_BETWEEN_QUOTED = re.compile(rf"^{_QUOTED}\s+and\s+{_QUOTED}$", re.I | re.S)
_AND = re.compile(r"\s+and\s+", re.I)


def _unquote(single: str | None, double: str | None) -> str:
    if single is not None:
        return single.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", double or "")


def _valid_bound(text: str, kind: str) -> bool:
    try:
        key_value(text, kind, "sort key")
    except InputError:
        return False
    return bool(text) or kind == "S"


def _ordered(low: str, high: str, kind: str) -> bool:
    """DynamoDB's BETWEEN needs low <= high (numbers by value, strings and binary by bytes)."""
    from decimal import Decimal, InvalidOperation

    if kind == "N":
        try:
            return Decimal(low) <= Decimal(high)
        except InvalidOperation:
            return False
    return low.encode("utf-8") <= high.encode("utf-8")


def split_between(rest: str, kind: str = "S") -> list[str]:
    """The two bounds of ``between A and B``, by the sort key's type.

    Bounds may be quoted (``between 'R and D' and 'S'``, SQL's doubled ``''`` or ``"…"`` with backslash escapes).
    Unquoted, every " and " is a candidate split; the one where both halves are valid for the key's type (numbers
    as numbers, base64 for binary) and in order (low <= high, as DynamoDB requires) is taken. More than one
    such split is ambiguous: an error that asks for quotes, never a guess.
    """
    m = _BETWEEN_QUOTED.match(rest.strip())
    if m:
        return [_unquote(m.group(1), m.group(2)), _unquote(m.group(3), m.group(4))]
    splits = [(rest[:a.start()].strip(), rest[a.end():].strip()) for a in _AND.finditer(rest)]
    if not splits:
        raise InputError(f"--sort 'between {rest}': expected 'between A and B'")
    valid = [(lo, hi) for lo, hi in splits if _valid_bound(lo, kind) and _valid_bound(hi, kind)]
    ordered = [(lo, hi) for lo, hi in valid if _ordered(lo, hi, kind)]
    choice = ordered or valid
    if len(choice) == 1:
        return list(choice[0])
    if not choice:
        what = {"N": "numbers", "B": "base64"}.get(kind, "text")
        raise InputError(f"--sort 'between {rest}': the sort key is of type {kind}; both bounds must be {what}")
    options = " or ".join(f"between '{lo}' and '{hi}'" for lo, hi in choice[:3])
    raise InputError(f"--sort 'between {rest}': ambiguous, \" and \" splits it {len(choice)} ways; "
                     f"quote the bounds, e.g. {options}")


def parse_sort(text: str, kind: str = "S") -> tuple[str, list[str]]:
    """``"between A and B"`` -> ``("between", ["A", "B"])``; ``"> 2024"`` -> ``(">", ["2024"])``. ``kind`` (the
    sort key's type, S, N or B) decides where a ``between`` splits (see :func:`split_between`)."""
    for pattern, op in _SORT:
        m = pattern.match(text)
        if m:
            if op is None:
                return m.group(1), [m.group(2)]
            if op == "between":
                return op, split_between(m.group(1), kind)
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
        kind = key.range_type or "S"
        op, operands = parse_sort(sort, kind)
        attr_names["#sk"] = key.range
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


# --- update: document paths ----------------------------------------------------------------------------------
PathPart = str | int  # an attribute name, or a list index
_PATH_TOKEN = re.compile(r"`((?:[^`]|``)+)`|([^.\[\]`]+)|\[(\d+)\]|(\.)", re.S)


def parse_path(text: str, what: str) -> tuple[PathPart, ...]:
    """A document path as the AWS CLI's update expressions take it: ``a.b[0].c`` is the attribute ``a``, its
    map key ``b``, list element 0, map key ``c``. A name holding a dot or bracket is quoted in backticks
    (`` `meta.x` ``, a backtick doubled inside)."""
    parts: list[PathPart] = []
    pos, expect_name = 0, True
    text = text.strip()
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if not m:
            raise InputError(f"{what} '{text}': not a document path (at character {pos + 1})")
        quoted, name, index, dot = m.groups()
        if dot:
            if expect_name:
                raise InputError(f"{what} '{text}': an attribute name is missing before '.' (character {pos + 1})")
            expect_name = True
        elif index is not None:
            if expect_name:
                raise InputError(f"{what} '{text}': '[{index}]' must follow an attribute name")
            parts.append(int(index))
        else:
            if not expect_name:
                raise InputError(f"{what} '{text}': expected '.' or '[n]' at character {pos + 1}")
            parts.append(quoted.replace("``", "`") if quoted is not None else name.strip())
            expect_name = False
        pos = m.end()
    if not parts or expect_name:
        raise InputError(f"{what} '{text}': an attribute name is missing at the end" if parts
                         else f"{what}: an empty attribute name")
    return tuple(parts)


def _shown(path: tuple[PathPart, ...]) -> str:
    """The AWS CLI's rendering of a path in its errors: ``[a, b, [0]]``."""
    return "[" + ", ".join(f"[{p}]" if isinstance(p, int) else p for p in path) + "]"


def check_paths(paths: list[tuple[PathPart, ...]]) -> None:
    """DynamoDB's own refusals, found before any request: two paths where one is the other or lies inside it
    overlap; two that treat one attribute as a map and a list conflict."""
    for i, one in enumerate(paths):
        for two in paths[i + 1:]:
            common = 0
            while common < min(len(one), len(two)) and one[common] == two[common]:
                common += 1
            if common == min(len(one), len(two)):
                raise InputError("Invalid UpdateExpression: Two document paths overlap with each other; must remove "
                                 f"or rewrite one of these paths; path one: {_shown(one)}, path two: {_shown(two)}")
            if isinstance(one[common], int) != isinstance(two[common], int):
                raise InputError("Invalid UpdateExpression: Two document paths conflict with each other; must remove "
                                 f"or rewrite one of these paths; path one: {_shown(one)}, path two: {_shown(two)}")


@dataclass(frozen=True)
class UpdatePlan:
    """``--set/--remove/--add`` as document paths with typed values, checked as DynamoDB would check them."""

    set_: list[tuple[tuple[PathPart, ...], dict]]
    remove: list[tuple[PathPart, ...]]
    add: list[tuple[tuple[PathPart, ...], dict]]


def _pairs(pairs: list[str], what: str) -> list[tuple[str, Any]]:
    out = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"{what} takes name=value, got '{pair}'")
        try:
            out.append((name.strip(), typed.loads(value)))
        except ValueError:
            out.append((name.strip(), value))
    return out


def plan_update(set_: list[str] | dict[str, Any], remove: list[str], add: list[str] | dict[str, Any]) -> UpdatePlan:
    """Parse and check an update before any request: document paths, typed values, ADD's types, overlaps."""
    set_pairs = list(set_.items()) if isinstance(set_, dict) else _pairs(set_, "--set")
    add_pairs = list(add.items()) if isinstance(add, dict) else _pairs(add, "--add")
    if not (set_pairs or remove or add_pairs):
        raise InputError("nothing to update: give --set, --remove or --add")
    planned_set = [(parse_path(n, "--set"), _typed({n: v}, "--set")[n]) for n, v in set_pairs]
    planned_remove = [parse_path(n, "--remove") for n in remove]
    planned_add = []
    for name, value in add_pairs:
        path = parse_path(name, "--add")
        if len(path) > 1:
            raise InputError(f"--add {name}: ADD works on top-level attributes only (DynamoDB's rule); "
                             "use --set 'path=…' for a nested one")
        attr = _typed({name: value}, "--add")[name]
        if next(iter(attr)) not in ("N", "SS", "NS", "BS"):
            raise InputError(f"--add {name}: ADD takes a number or a set, not {next(iter(attr))}")
        planned_add.append((path, attr))
    check_paths([p for p, _ in planned_set] + planned_remove + [p for p, _ in planned_add])
    return UpdatePlan(planned_set, planned_remove, planned_add)


def update_item(client, keys: TableKeys, partition: str, sort: str | None, *,
                set_: list[str] | dict[str, Any] | None = None, remove: list[str] | None = None,
                add: list[str] | dict[str, Any] | None = None, plan: UpdatePlan | None = None) -> ItemResult:
    """SET a.b[0]=1, REMOVE c, ADD n 1 (numbers and sets): every path's names as placeholders, values typed as
    plain JSON. ``plan`` (from :func:`plan_update`, checked before any request) or the raw options."""
    key = item_key(keys, partition, sort)
    plan = plan or plan_update(set_ or [], list(remove or []), add or [])
    for path in [p for p, _ in plan.set_] + plan.remove + [p for p, _ in plan.add]:
        if len(path) == 1 and path[0] in keys.key.names:
            raise InputError(f"{path[0]} is part of the key of {keys.table}; a key cannot be updated")
    names: dict[str, str] = {}
    slots: dict[str, str] = {}
    values: dict[str, dict] = {}
    clauses = []

    def expression(path: tuple[PathPart, ...]) -> str:
        out = ""
        for part in path:
            if isinstance(part, int):
                out += f"[{part}]"
                continue
            if part not in slots:
                slots[part] = f"#a{len(slots) + 1}"
                names[slots[part]] = part
            out += ("." if out else "") + slots[part]
        return out

    def value(attr: dict) -> str:
        placeholder = f":v{len(values) + 1}"
        values[placeholder] = attr
        return placeholder

    if plan.set_:
        clauses.append("SET " + ", ".join(f"{expression(p)} = {value(v)}" for p, v in plan.set_))
    if plan.remove:
        clauses.append("REMOVE " + ", ".join(expression(p) for p in plan.remove))
    if plan.add:
        clauses.append("ADD " + ", ".join(f"{expression(p)} {value(v)}" for p, v in plan.add))
    args: dict[str, Any] = {"TableName": keys.table, "Key": key, "UpdateExpression": " ".join(clauses),
                            "ExpressionAttributeNames": names, "ReturnValues": "ALL_NEW",
                            "ReturnConsumedCapacity": "INDEXES"}
    if values:
        args["ExpressionAttributeValues"] = values
    response = client.update_item(**args)
    return ItemResult(keys.table, key, typed.to_plain(response.get("Attributes") or {}), _capacity("write", response),
                      "update")

"""Table schemas from YAML (CreateTable requests, lists of them, CloudFormation/SAM templates) and loading them.

Every file is read and validated before anything is created, so one bad file creates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.errors import SchemaError
from cruddur_ops.io import cloudformation, yamlfile

CREATE_TABLE_FIELDS = {
    "TableName", "AttributeDefinitions", "KeySchema", "LocalSecondaryIndexes", "GlobalSecondaryIndexes",
    "BillingMode", "ProvisionedThroughput", "StreamSpecification", "SSESpecification", "Tags", "TableClass",
    "DeletionProtectionEnabled", "ResourcePolicy", "OnDemandThroughput", "WarmThroughput",
}
PATTERNS_FIELD = "AccessPatterns"
ATTRIBUTE_TYPES = {"S", "N", "B"}
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
STREAM_VIEWS = {"NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"}
PROJECTIONS = {"ALL", "KEYS_ONLY", "INCLUDE"}


@dataclass
class TableSpec:
    """One table: the CreateTable request boto3 takes, where it came from, and its declared access patterns."""

    request: dict
    path: Path
    keypath: list = field(default_factory=list)  # where the table sits in its file
    patterns_keypath: list | None = None  # where its AccessPatterns sit (CloudFormation: the resource's Metadata)
    patterns: dict = field(default_factory=dict)  # name -> patterns.Pattern

    @property
    def name(self) -> str:
        return self.request["TableName"]

    def key_names(self, index: str | None = None) -> tuple[str, str | None]:
        """(partition key, sort key or None) of the table or one of its indexes."""
        schema = self.request["KeySchema"]
        if index is not None:
            for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                for idx in self.request.get(group) or []:
                    if idx["IndexName"] == index:
                        schema = idx["KeySchema"]
                        break
        hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
        range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
        return hash_key, range_key

    def index_names(self) -> list[str]:
        return [i["IndexName"] for g in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in self.request.get(g) or []]

    def attribute_type(self, name: str) -> str:
        return next((a["AttributeType"] for a in self.request["AttributeDefinitions"] if a["AttributeName"] == name), "S")


@dataclass
class ReadResult:
    tables: list[TableSpec]
    ignored_resources: int = 0


# --- reading ---------------------------------------------------------------------------------------------
def read(files: list[Path]) -> ReadResult:
    """Read and validate every file; raise SchemaError naming file, line and field on the first problem."""
    from cruddur_ops.ddb import patterns as patterns_mod

    result = ReadResult([])
    seen: dict[str, TableSpec] = {}
    for path in files:
        path = Path(path)
        doc = yamlfile.load(path, error=SchemaError, cloudformation_tags=True) if path.suffix != ".json" else _load_json(path)
        tables, ignored = _tables_in(doc, path)
        result.ignored_resources += ignored
        for raw, keypath, patterns_keypath in tables:
            spec = _validate(raw, path, keypath)
            spec.patterns_keypath = patterns_keypath
            if spec.name in seen:
                other = seen[spec.name]
                where = yamlfile.line_of(other.path, other.keypath + ["TableName"]) if other.path.suffix != ".json" else None
                also = f"{'line ' if other.path == path else f'{other.path}:'}{where}" if where else str(other.path)
                _fail(path, keypath + ["TableName"], f"duplicate table name '{spec.name}' (also at {also})")
            spec.patterns = patterns_mod.parse(raw.get(PATTERNS_FIELD), spec)
            seen[spec.name] = spec
            result.tables.append(spec)
    return result


def _load_json(path: Path) -> Any:
    import json

    try:
        return json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SchemaError(f"JSON error: {exc}", path=path, line=getattr(exc, "lineno", None)) from None
    except FileNotFoundError:
        raise SchemaError("file not found", path=path) from None


def _fail(path: Path, keypath: list, message: str):
    where = yamlfile.dotted(keypath)
    raise SchemaError(f"{where}: {message}" if where else message, path=path, line=yamlfile.line_of(path, keypath))


def _tables_in(doc: Any, path: Path) -> tuple[list[tuple[dict, list, list]], int]:
    """The raw table mappings in a document, with the key paths of the table and of its patterns, and how many
    other resources it held."""
    if isinstance(doc, list):
        return [(t, [i], [i, PATTERNS_FIELD]) for i, t in enumerate(doc)], 0
    if not isinstance(doc, dict):
        empty = "the file is empty; " if doc is None else ""
        _fail(path, [], f"{empty}expected a CreateTable mapping, a list of them, or a CloudFormation template")
    if "Resources" in doc:
        return _cloudformation_tables(doc, path)
    return [(doc, [], [PATTERNS_FIELD])], 0


def _cloudformation_tables(doc: dict, path: Path) -> tuple[list[tuple[dict, list, list]], int]:
    resources = doc["Resources"]
    if not isinstance(resources, dict):
        _fail(path, ["Resources"], "expected a mapping of resources")
    tables, ignored = [], 0
    for logical_id, resource in resources.items():
        kp = ["Resources", logical_id]
        kind = resource.get("Type") if isinstance(resource, dict) else None
        props = (resource.get("Properties") or {}) if isinstance(resource, dict) else {}
        if kind == "AWS::DynamoDB::Table":
            table = cloudformation.table_request(props, logical_id)
            declared = (resource.get("Metadata") or {}).get(PATTERNS_FIELD)
            if declared is not None:  # what `cruddur ddb model export` writes; read back so patterns round-trip
                table[PATTERNS_FIELD] = declared
            tables.append((table, kp + ["Properties"], kp + ["Metadata", PATTERNS_FIELD]))
        elif kind == "AWS::Serverless::SimpleTable":
            tables.append((cloudformation.simple_table_request(props, logical_id), kp + ["Properties"], kp + ["Metadata", PATTERNS_FIELD]))
        else:
            ignored += 1
    return tables, ignored


def _validate(raw: Any, path: Path, kp: list) -> TableSpec:
    if not isinstance(raw, dict):
        _fail(path, kp, "expected a table (a CreateTable mapping)")
    for key in raw:
        if key not in CREATE_TABLE_FIELDS and key != PATTERNS_FIELD:
            _fail(path, kp + [key], f"unknown field '{key}' (not a CreateTable parameter)")
    name = raw.get("TableName")
    if not isinstance(name, str):
        _fail(path, kp + ["TableName"], "TableName is required and must be plain text (no !Ref/!Sub)")
    if not TABLE_NAME.match(name):
        _fail(path, kp + ["TableName"], f"'{name}' is not a valid table name (3-255 of A-Z a-z 0-9 _ . -)")
    attrs = raw.get("AttributeDefinitions")
    if not isinstance(attrs, list) or not attrs:
        _fail(path, kp + ["AttributeDefinitions"], "AttributeDefinitions is required: a list of {AttributeName, AttributeType}")
    defined: dict[str, str] = {}
    for i, attr in enumerate(attrs):
        akp = kp + ["AttributeDefinitions", i]
        if not isinstance(attr, dict) or set(attr) != {"AttributeName", "AttributeType"}:
            _fail(path, akp, "each attribute needs exactly AttributeName and AttributeType")
        if attr["AttributeType"] not in ATTRIBUTE_TYPES:
            _fail(path, akp + ["AttributeType"],
                  f"AttributeType must be S, N or B, not {attr['AttributeType']!r} (attribute {attr['AttributeName']})")
        if attr["AttributeName"] in defined:
            _fail(path, akp, f"attribute '{attr['AttributeName']}' is defined twice")
        defined[attr["AttributeName"]] = attr["AttributeType"]

    used: set[str] = set()
    table_hash = _key_schema(raw.get("KeySchema"), defined, path, kp + ["KeySchema"], used)
    billing = raw.get("BillingMode", "PROVISIONED")
    if billing not in ("PAY_PER_REQUEST", "PROVISIONED"):
        _fail(path, kp + ["BillingMode"], f"BillingMode must be PAY_PER_REQUEST or PROVISIONED, not {billing!r}")
    provisioned = billing == "PROVISIONED"
    _throughput(raw.get("ProvisionedThroughput"), provisioned, path, kp + ["ProvisionedThroughput"], kp + ["BillingMode"])

    index_names: set[str] = set()
    for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = raw.get(group)
        if indexes is None:
            continue
        if not isinstance(indexes, list):
            _fail(path, kp + [group], "expected a list of indexes")
        for i, index in enumerate(indexes):
            ikp = kp + [group, i]
            if not isinstance(index, dict) or not isinstance(index.get("IndexName"), str):
                _fail(path, ikp, "each index needs an IndexName")
            if index["IndexName"] in index_names:
                _fail(path, ikp + ["IndexName"], f"duplicate index name '{index['IndexName']}'")
            index_names.add(index["IndexName"])
            index_hash = _key_schema(index.get("KeySchema"), defined, path, ikp + ["KeySchema"], used)
            if group == "LocalSecondaryIndexes" and index_hash != table_hash:
                _fail(path, ikp + ["KeySchema"], f"a local index must share the table's partition key '{table_hash}'")
            projection = index.get("Projection")
            if not isinstance(projection, dict) or projection.get("ProjectionType") not in PROJECTIONS:
                _fail(path, ikp + ["Projection"], "Projection.ProjectionType must be ALL, KEYS_ONLY or INCLUDE")
            if group == "GlobalSecondaryIndexes":
                _throughput(index.get("ProvisionedThroughput"), provisioned, path, ikp + ["ProvisionedThroughput"])
    unused = sorted(set(defined) - used)
    if unused:
        _fail(path, kp + ["AttributeDefinitions"],
              f"attribute '{unused[0]}' is defined but used by no key schema (DynamoDB rejects that)")

    stream = raw.get("StreamSpecification")
    if stream is not None:
        if not isinstance(stream, dict):
            _fail(path, kp + ["StreamSpecification"], "expected {StreamEnabled, StreamViewType}")
        if stream.get("StreamEnabled", True) and stream.get("StreamViewType") not in STREAM_VIEWS:
            _fail(path, kp + ["StreamSpecification", "StreamViewType"],
                  f"StreamViewType must be one of {', '.join(sorted(STREAM_VIEWS))}, not {stream.get('StreamViewType')!r}")
    request = {k: v for k, v in raw.items() if k != PATTERNS_FIELD}
    return TableSpec(request, path, kp)


def _key_schema(schema: Any, defined: dict, path: Path, kp: list, used: set) -> str:
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2:
        _fail(path, kp, "KeySchema must list a HASH key and optionally a RANGE key")
    types = [k.get("KeyType") if isinstance(k, dict) else None for k in schema]
    if types not in (["HASH"], ["HASH", "RANGE"]):
        _fail(path, kp, f"KeySchema must be [HASH] or [HASH, RANGE], not {types}")
    for i, key in enumerate(schema):
        name = key.get("AttributeName")
        if name not in defined:
            _fail(path, kp + [i, "AttributeName"], f"key attribute '{name}' is missing from AttributeDefinitions")
        used.add(name)
    return schema[0]["AttributeName"]


def _throughput(value: Any, provisioned: bool, path: Path, kp: list, missing_at: list | None = None) -> None:
    if provisioned and value is None:
        # the field is missing: name the line that asks for it (the table's BillingMode), not the file's first
        raise SchemaError(f"{yamlfile.dotted(kp)}: BillingMode PROVISIONED needs ProvisionedThroughput "
                          "{ReadCapacityUnits, WriteCapacityUnits}", path=path,
                          line=yamlfile.line_of(path, missing_at or kp))
    if not provisioned and value is not None:
        _fail(path, kp, "ProvisionedThroughput is not allowed with BillingMode PAY_PER_REQUEST")
    if value is not None:
        for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
            if not isinstance(value.get(unit) if isinstance(value, dict) else None, int) or value[unit] < 1:
                _fail(path, kp + [unit], f"{unit} must be a whole number ≥ 1")


# --- comparing and loading -------------------------------------------------------------------------------
def shape(request_or_description: dict) -> dict:
    """What must match for an existing table to count as the same: keys, their types, and the indexes."""
    d = request_or_description
    types = {a["AttributeName"]: a["AttributeType"] for a in d.get("AttributeDefinitions") or []}

    def keys(schema):
        return [(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"])) for k in schema]

    def indexes(group):
        return {
            i["IndexName"]: {"keys": keys(i["KeySchema"]), "projection": (i.get("Projection") or {}).get("ProjectionType")}
            for i in d.get(group) or []
        }

    return {"keys": keys(d["KeySchema"]), "global_indexes": indexes("GlobalSecondaryIndexes"),
            "local_indexes": indexes("LocalSecondaryIndexes")}


def differences(spec: TableSpec, description: dict) -> list[str]:
    want, have = shape(spec.request), shape(description)
    diffs = []
    if want["keys"] != have["keys"]:
        diffs.append(f"keys: table has {_fmt_keys(have['keys'])}, schema wants {_fmt_keys(want['keys'])}")
    for group, label in (("global_indexes", "GSI"), ("local_indexes", "LSI")):
        for name in sorted(set(want[group]) | set(have[group])):
            w, h = want[group].get(name), have[group].get(name)
            if h is None:
                diffs.append(f"{label} {name}: missing from the table")
            elif w is None:
                diffs.append(f"{label} {name}: on the table but not in the schema")
            elif w != h:
                diffs.append(f"{label} {name}: table has {_fmt_keys(h['keys'])} {h['projection']}, "
                             f"schema wants {_fmt_keys(w['keys'])} {w['projection']}")
    return diffs


def _fmt_keys(keys) -> str:
    return " ".join(f"{n}({t}) {kt}" for n, kt, t in keys)


@dataclass
class LoadResult:
    name: str
    status: str  # created | exists | differs | recreated
    keys: str
    indexes: list[str]
    billing: str
    stream: str
    differences: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "keys": self.keys, "indexes": self.indexes,
                "billing": self.billing, "stream": self.stream, "differences": self.differences, "source": self.source}


def summary(spec: TableSpec) -> dict:
    r = spec.request
    stream = r.get("StreamSpecification") or {}
    return {
        "keys": " ".join(f"{k['AttributeName']} {k['KeyType']}" for k in r["KeySchema"]),
        "indexes": spec.index_names(),
        "billing": r.get("BillingMode", "PROVISIONED"),
        "stream": stream.get("StreamViewType", "") if stream.get("StreamEnabled", bool(stream)) else "off",
    }


def create_request(spec: TableSpec) -> dict:
    request = dict(spec.request)
    request.setdefault("BillingMode", "PROVISIONED")
    return request


def existing(client, name: str) -> dict | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return None


def differing(client, specs: list[TableSpec]) -> list[str]:
    """The names of the tables in ``specs`` that exist on the endpoint but differ from their spec (what
    ``--recreate`` would drop and create again)."""
    return [spec.name for spec in specs
            if (description := existing(client, spec.name)) and differences(spec, description)]


def load_recreating(client, specs: list[TableSpec], *, confirm: Callable[[list[str]], None] | None = None,
                    wait: bool = True) -> list[LoadResult]:
    """``--recreate``: ask (``confirm`` raises to refuse) about the tables that differ, then drop and recreate
    them; with none differing, a plain :func:`load`."""
    names = differing(client, specs)
    if names and confirm:
        confirm(names)
    return load(client, specs, recreate=bool(names), wait=wait)


def load(client, specs: list[TableSpec], *, recreate: bool = False, wait: bool = True) -> list[LoadResult]:
    """Create the tables that do not exist; report the ones that exist as ``exists`` or ``differs``.

    With ``recreate``, a differing table is deleted and created again (the caller confirms first).
    """
    results, waiting = [], []
    for spec in specs:
        info = summary(spec)
        current = existing(client, spec.name)
        status, diffs = "created", []
        if current is not None:
            diffs = differences(spec, current)
            if not diffs:
                status = "exists"
            elif recreate:
                drop(client, spec.name, wait=True)
                status = "recreated"
            else:
                status = "differs"
        if status in ("created", "recreated"):
            client.create_table(**create_request(spec))
            waiting.append(spec.name)
        results.append(LoadResult(spec.name, status, info["keys"], info["indexes"], info["billing"], info["stream"],
                                  diffs, str(spec.path)))
    if wait:
        for name in waiting:
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return results


def drop(client, name: str, *, wait: bool = True) -> dict:
    """Delete a table; raises ResourceNotFoundException when there is none."""
    description = client.delete_table(TableName=name)["TableDescription"]
    if wait:
        client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return description

"""Table schemas from YAML (CreateTable requests, lists of them, CloudFormation/SAM templates, NoSQL Workbench
models) and loading them: create, plan, update in place, recreate.

Every file is read, resolved and validated before anything is created, so one bad table creates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from cruddur_ops.errors import SchemaError
from cruddur_ops.io import cloudformation, yamlfile

PATTERNS_FIELD = "AccessPatterns"
ENTITIES_FIELD = "Entities"  # the item kinds of the table (ddb/entities.py); stripped like AccessPatterns
# CloudFormation's spelling of what CreateTable does not take; accepted in CreateTable YAML as well.
EXTRA_FIELDS = ("TimeToLiveSpecification", "PointInTimeRecoverySpecification")
ATTRIBUTE_TYPES = {"S", "N", "B"}
NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
TABLE_NAME = NAME
PROJECTIONS = {"ALL", "KEYS_ONLY", "INCLUDE"}
# DynamoDB's own limits (default quotas)
MAX_GSIS, MAX_LSIS, MAX_NON_KEY_ATTRIBUTES, MAX_THROUGHPUT = 20, 5, 100, 40_000
# What an engine may accept but not keep (DynamoDB Local: all of them), in the order notes name them. Which ones
# an endpoint keeps is learnt from its answers (its own UnknownOperationException, or a described table that
# lacks what was declared), never from its address: moto and LocalStack on 127.0.0.1 keep them all.
NOT_KEPT_LOCALLY = ("PointInTimeRecovery", "Tags", "SSE", "TableClass", "ContributorInsights")


@cache
def create_table_shape():
    """CreateTable's input shape from botocore's service model: the fields and enums cruddur accepts."""
    import botocore.session

    return botocore.session.get_session().get_service_model("dynamodb").operation_model("CreateTable").input_shape


def create_table_fields() -> set[str]:
    return set(create_table_shape().members)


def _enum(*names: str) -> list[str]:
    shape = create_table_shape()
    for name in names:
        shape = shape.members[name] if shape.type_name == "structure" else shape.member.members[name]
    return list(shape.enum)


@dataclass
class TableSpec:
    """One table: the CreateTable request boto3 takes, where it came from, and its declared access patterns."""

    request: dict
    path: Path
    keypath: list = field(default_factory=list)  # where the table sits in its file
    patterns_keypath: list | None = None  # where its AccessPatterns sit (CloudFormation: the resource's Metadata)
    patterns: dict = field(default_factory=dict)  # name -> patterns.Pattern
    entities: dict = field(default_factory=dict)  # name -> entities.Entity
    logical_id: str | None = None  # the CloudFormation resource it came from
    ttl: dict | None = None  # {"AttributeName", "Enabled"}
    pitr: bool | None = None  # PointInTimeRecoveryEnabled
    not_applied: list[str] = field(default_factory=list)  # properties read but not applied by cruddur
    notes: list[str] = field(default_factory=list)

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

    def tags(self) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.request.get("Tags") or []}


@dataclass
class ReadResult:
    tables: list[TableSpec]
    ignored_resources: int = 0
    skipped: list[str] = field(default_factory=list)  # CloudFormation tables whose Condition is false
    parameters: dict = field(default_factory=dict)  # the CloudFormation parameter values used, per file


# --- reading ---------------------------------------------------------------------------------------------
def read(files: list[Path], *, context: cloudformation.Context | None = None) -> ReadResult:
    """Read, resolve and validate every file; raise SchemaError naming file, line and field on the first problem."""
    from cruddur_ops.ddb import entities as entities_mod
    from cruddur_ops.ddb import patterns as patterns_mod

    context = context or cloudformation.Context()
    result = ReadResult([])
    seen: dict[str, TableSpec] = {}
    for path in files:
        path = Path(path)
        for raw, keypath, patterns_keypath, meta in _tables_in_file(path, context, result):
            spec = _validate(raw, path, keypath, cfn=meta.get("cfn", False))
            spec.patterns_keypath = patterns_keypath
            spec.logical_id = meta.get("logical_id")
            spec.notes += meta.get("notes", [])
            spec.not_applied += meta.get("not_applied", [])
            if spec.name in seen:
                other = seen[spec.name]
                where = yamlfile.line_of(other.path, other.keypath + ["TableName"]) if other.path.suffix != ".json" else None
                also = f"{'line ' if other.path == path else f'{other.path}:'}{where}" if where else str(other.path)
                _fail(path, keypath + ["TableName"], f"duplicate table name '{spec.name}' (also at {also})")
            if meta.get("entities") is not None:  # AWS MCP schema.json: built by ddb/mcp_format.py
                spec.entities = meta["entities"](spec)
            else:
                spec.entities = entities_mod.parse(raw.get(ENTITIES_FIELD), spec, _sibling(keypath, patterns_keypath))
            spec.patterns = patterns_mod.parse(raw.get(PATTERNS_FIELD), spec)
            seen[spec.name] = spec
            result.tables.append(spec)
    return result


def _sibling(keypath: list, patterns_keypath: list | None) -> list:
    """Where a table's ``Entities`` sit: beside its ``AccessPatterns``."""
    base = patterns_keypath if patterns_keypath is not None else keypath + [PATTERNS_FIELD]
    return base[:-1] + [ENTITIES_FIELD]


def _fail(path: Path, keypath: list, message: str) -> NoReturn:
    where = yamlfile.dotted(keypath)
    raise SchemaError(f"{where}: {message}" if where else message, path=path, line=yamlfile.line_of(path, keypath))


def _tables_in_file(path: Path, context, result: ReadResult) -> list[tuple[dict, list, list, dict]]:
    """The raw table mappings of one file with the key paths of the table and of its patterns."""
    import yaml

    text = yamlfile._read_text(path, SchemaError)
    doc: Any
    if path.suffix == ".json":
        import json

        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise SchemaError(f"JSON error: {exc}", path=path, line=getattr(exc, "lineno", None)) from None
        except RecursionError:
            raise SchemaError("JSON error: nested too deeply", path=path) from None
        if isinstance(doc, dict) and "DataModel" in doc:
            return _workbench_tables(doc, path)
        from cruddur_ops.ddb import mcp_format

        if mcp_format.is_mcp(doc):
            return mcp_format.tables(doc, path)
        try:
            yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:  # JSON that YAML does not read (tabs): the same data, re-spelled for the resolver
            text = yaml.safe_dump(doc, sort_keys=False)
    try:
        ldr, root = cloudformation.compose(text, path)
        if cloudformation.is_template(root):
            template = cloudformation.read_template(ldr, root, path, context)
            return _template_tables(template, path, result)
        doc = ldr.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise yamlfile.yaml_error(exc, text, path, SchemaError) from None
    finally:
        if "ldr" in locals():
            ldr.dispose()
    if isinstance(doc, list):
        return [(t, [i], [i, PATTERNS_FIELD], {}) for i, t in enumerate(doc)]
    if not isinstance(doc, dict):
        empty = "the file is empty; " if doc is None else ""
        _fail(path, [], f"{empty}expected a CreateTable mapping, a list of them, or a CloudFormation template")
    return [(doc, [], [PATTERNS_FIELD], {})]


def _template_tables(template: cloudformation.Template, path: Path, result: ReadResult):
    result.ignored_resources += template.ignored
    result.skipped += template.skipped
    if template.parameters:
        result.parameters[str(path)] = template.parameters
    tables: list[tuple[dict, list, list, dict]] = []
    for t in template.tables:
        meta: dict = {"logical_id": t.logical_id, "cfn": True, "notes": [], "not_applied": []}
        if t.kind == "AWS::DynamoDB::Table":
            if not isinstance(t.properties.get("TableName", ""), str) and not isinstance(t.properties.get("TableName"), (int, float)):
                _fail(path, t.keypath + ["TableName"], "TableName must be text")
            raw, extras = cloudformation.table_request(t.properties, t.logical_id)
            for name in ("TimeToLiveSpecification", "PointInTimeRecoverySpecification"):
                if name in extras:
                    raw[name] = extras.pop(name)
            meta["not_applied"] = sorted(extras)
        elif t.kind == "AWS::DynamoDB::GlobalTable":
            if not isinstance(t.properties.get("TableName", ""), str):
                _fail(path, t.keypath + ["TableName"], "TableName must be text")
            raw, extras, notes = cloudformation.global_table_request(t.properties, t.logical_id, template.region)
            meta["notes"] += notes
            meta["not_applied"] = [f"{k} ({', '.join(map(str, v))})" if k in ("Replicas", "AutoScaling") else k
                                   for k, v in sorted(extras.items())]
        else:
            raw = cloudformation.simple_table_request(t.properties, t.logical_id)
        meta["not_applied"] += t.not_applied
        if t.named_by_logical_id:
            meta["notes"].append(f"no TableName: the table is named by its logical id '{t.logical_id}'")
        if t.patterns is not None:
            raw[PATTERNS_FIELD] = t.patterns
        kp = t.keypath
        tables.append((raw, kp, kp[:2] + ["Metadata", PATTERNS_FIELD], meta))
    return tables


def _workbench_tables(doc: dict, path: Path):
    """The tables of a NoSQL Workbench model (``DataModel[].TableName/KeyAttributes/NonKeyAttributes/
    GlobalSecondaryIndexes/BillingMode``) as CreateTable requests."""
    models = doc.get("DataModel")
    if not isinstance(models, list):
        raise SchemaError("DataModel: expected a list of tables", path=path)
    tables: list[tuple[dict, list, list, dict]] = []
    for i, model in enumerate(models):
        where = f"DataModel[{i}]"
        if not isinstance(model, dict):
            raise SchemaError(f"{where}: expected a table", path=path)
        types: dict[str, str] = {}
        for group in ("KeyAttributes", "NonKeyAttributes"):
            source = model.get(group) or {}
            attrs = [*([source.get("PartitionKey")] if isinstance(source, dict) else []),
                     *([source.get("SortKey")] if isinstance(source, dict) and source.get("SortKey") else [])] \
                if group == "KeyAttributes" else (source if isinstance(source, list) else [])
            for attr in attrs:
                if not isinstance(attr, dict) or not isinstance(attr.get("AttributeName"), str):
                    raise SchemaError(f"{where}.{group}: each attribute needs AttributeName and AttributeType", path=path)
                types[attr["AttributeName"]] = attr.get("AttributeType", "S")
        keys = model.get("KeyAttributes")
        if not isinstance(keys, dict) or not isinstance(keys.get("PartitionKey"), dict):
            raise SchemaError(f"{where}.KeyAttributes: needs a PartitionKey", path=path)

        def key_schema(k):
            out = [{"AttributeName": k["PartitionKey"].get("AttributeName"), "KeyType": "HASH"}]
            if isinstance(k.get("SortKey"), dict):
                out.append({"AttributeName": k["SortKey"].get("AttributeName"), "KeyType": "RANGE"})
            return out

        request: dict = {"TableName": model.get("TableName"), "KeySchema": key_schema(keys),
                         "BillingMode": model.get("BillingMode", "PAY_PER_REQUEST")}
        if request["BillingMode"] == "PROVISIONED":
            tp = model.get("ProvisionedCapacitySettings", {}).get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            request["ProvisionedThroughput"] = tp
        gsis = []
        for g in model.get("GlobalSecondaryIndexes") or []:
            if not isinstance(g, dict) or not isinstance(g.get("KeyAttributes"), dict):
                raise SchemaError(f"{where}.GlobalSecondaryIndexes: each index needs IndexName and KeyAttributes", path=path)
            for part in ("PartitionKey", "SortKey"):
                attr = g["KeyAttributes"].get(part)
                if isinstance(attr, dict) and isinstance(attr.get("AttributeName"), str):
                    types.setdefault(attr["AttributeName"], attr.get("AttributeType", "S"))
            index = {"IndexName": g.get("IndexName"), "KeySchema": key_schema(g["KeyAttributes"]),
                     "Projection": g.get("Projection") or {"ProjectionType": "ALL"}}
            if request["BillingMode"] == "PROVISIONED":
                index["ProvisionedThroughput"] = request["ProvisionedThroughput"]
            gsis.append(index)
        if gsis:
            request["GlobalSecondaryIndexes"] = gsis
        used = {k["AttributeName"] for k in request["KeySchema"]} | {k["AttributeName"] for g in gsis for k in g["KeySchema"]}
        request["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in types.items() if n in used]
        tables.append((request, [], [PATTERNS_FIELD], {"notes": [f"from NoSQL Workbench model {where}"]}))
    return tables


def _type_word(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{value!r}"


def _coerce(value: Any, shape) -> Any:
    """String values as CloudFormation turns them into the property's type (``"false"`` -> False, ``"5"`` -> 5)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: (_coerce(v, shape.members[k]) if k in shape.members else v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(v, shape.member) for v in value]
    if kind in ("integer", "long") and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _check_shape(value: Any, shape, path: Path, kp: list, top: bool = False) -> None:
    """Every field and enum against botocore's model: unknown fields, wrong types (a boolean is not a number, a
    list or map is not a name), values outside an enum, missing required fields."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            _fail(path, kp, f"expected a mapping ({', '.join(shape.members)}), got {_type_word(value)}")
        for key, item in value.items():
            if key not in shape.members:
                if top:
                    _fail(path, kp + [key], f"unknown field '{key}' (not a CreateTable parameter)")
                _fail(path, kp + [key], f"unknown field '{key}' (expected one of: {', '.join(shape.members)})")
            _check_shape(item, shape.members[key], path, kp + [key])
        for req in shape.required_members:
            if req not in value:
                _fail(path, kp, f"missing required field '{req}'")
    elif kind == "list":
        if not isinstance(value, list):
            _fail(path, kp, f"expected a list, got {_type_word(value)}")
        for i, item in enumerate(value):
            _check_shape(item, shape.member, path, kp + [i])
    elif kind == "string":
        if not isinstance(value, str):
            _fail(path, kp, f"expected text, got {_type_word(value)}")
        if shape.enum and value not in shape.enum:
            _fail(path, kp, f"must be one of {', '.join(shape.enum)}, not {value!r}")
        if "min" in shape.metadata and len(value) < shape.metadata["min"]:
            _fail(path, kp, f"must be at least {shape.metadata['min']} characters")
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            _fail(path, kp, f"must be at most {shape.metadata['max']} characters")
    elif kind in ("integer", "long"):
        if isinstance(value, bool):
            _fail(path, kp, f"expected a whole number, got {_type_word(value)} (a boolean is not a number)")
        if not isinstance(value, int):
            _fail(path, kp, f"expected a whole number, got {_type_word(value)}")
        if "min" in shape.metadata and value < shape.metadata["min"]:
            _fail(path, kp, f"must be ≥ {shape.metadata['min']}, not {value}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            _fail(path, kp, f"expected true or false, got {_type_word(value)}")


def _flag(value, path: Path, kp: list, cfn: bool) -> bool:
    """A boolean property; in a template, CloudFormation's "true"/"false" text counts as one."""
    if cfn and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        _fail(path, kp, f"expected true or false, got {_type_word(value)}")
    return value


def _check_extras(raw: dict, path: Path, kp: list, cfn: bool) -> tuple[dict | None, bool | None]:
    ttl = raw.get("TimeToLiveSpecification")
    if ttl is not None:
        tkp = kp + ["TimeToLiveSpecification"]
        if not isinstance(ttl, dict) or set(ttl) - {"AttributeName", "Enabled"}:
            _fail(path, tkp, "expected {AttributeName, Enabled}")
        enabled = _flag(ttl.get("Enabled", True), path, tkp + ["Enabled"], cfn)
        if enabled and (not isinstance(ttl.get("AttributeName"), str) or not ttl["AttributeName"]):
            _fail(path, tkp + ["AttributeName"], f"AttributeName must be text, got {_type_word(ttl.get('AttributeName'))}")
        ttl = {"AttributeName": ttl.get("AttributeName"), "Enabled": enabled}
    pitr_spec = raw.get("PointInTimeRecoverySpecification")
    pitr = None
    if pitr_spec is not None:
        pkp = kp + ["PointInTimeRecoverySpecification"]
        if not isinstance(pitr_spec, dict) or set(pitr_spec) - {"PointInTimeRecoveryEnabled", "RecoveryPeriodInDays"}:
            _fail(path, pkp, "expected {PointInTimeRecoveryEnabled}")
        pitr = _flag(pitr_spec.get("PointInTimeRecoveryEnabled", False), path, pkp + ["PointInTimeRecoveryEnabled"], cfn)
    return ttl, pitr


def _validate(raw: Any, path: Path, kp: list, *, cfn: bool = False) -> TableSpec:
    if not isinstance(raw, dict):
        _fail(path, kp, "expected a table (a CreateTable mapping)")
    fields = create_table_fields()
    for key in raw:
        if key not in fields and key not in (PATTERNS_FIELD, ENTITIES_FIELD) and key not in EXTRA_FIELDS:
            _fail(path, kp + [key], f"unknown field '{key}' (not a CreateTable parameter)")
    ttl, pitr = _check_extras(raw, path, kp, cfn)
    request = {k: v for k, v in raw.items() if k not in (PATTERNS_FIELD, ENTITIES_FIELD) and k not in EXTRA_FIELDS}
    if cfn:
        request = _coerce(request, create_table_shape())
        raw = {**raw, **request}
    name = request.get("TableName")
    if not isinstance(name, str):
        _fail(path, kp + ["TableName"], "TableName is required and must be plain text"
              + ("" if cfn else " (no !Ref/!Sub)") + (f", got {_type_word(name)}" if name is not None else ""))
    if not NAME.match(name):
        _fail(path, kp + ["TableName"], f"'{name}' is not a valid table name (3-255 of A-Z a-z 0-9 _ . -)")
    attrs = raw.get("AttributeDefinitions")
    if not isinstance(attrs, list) or not attrs:
        _fail(path, kp + ["AttributeDefinitions"], "AttributeDefinitions is required: a list of {AttributeName, AttributeType}")
    defined: dict[str, str] = {}
    for i, attr in enumerate(attrs):
        akp = kp + ["AttributeDefinitions", i]
        if not isinstance(attr, dict) or set(attr) != {"AttributeName", "AttributeType"}:
            _fail(path, akp, "each attribute needs exactly AttributeName and AttributeType")
        if not isinstance(attr["AttributeName"], str):
            _fail(path, akp + ["AttributeName"], f"AttributeName must be text, got {_type_word(attr['AttributeName'])}")
        if not isinstance(attr["AttributeType"], str) or attr["AttributeType"] not in ATTRIBUTE_TYPES:
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
    non_key: set[str] = set()
    for group, limit in (("GlobalSecondaryIndexes", MAX_GSIS), ("LocalSecondaryIndexes", MAX_LSIS)):
        indexes = raw.get(group)
        if indexes is None:
            continue
        if not isinstance(indexes, list):
            _fail(path, kp + [group], "expected a list of indexes")
        if len(indexes) > limit:
            _fail(path, kp + [group], f"{len(indexes)} indexes: DynamoDB allows at most {limit} {group}")
        for i, index in enumerate(indexes):
            ikp = kp + [group, i]
            if not isinstance(index, dict) or not isinstance(index.get("IndexName"), str):
                got = index.get("IndexName") if isinstance(index, dict) else index
                _fail(path, ikp + (["IndexName"] if isinstance(index, dict) else []),
                      f"each index needs an IndexName (text), got {_type_word(got)}")
            if not NAME.match(index["IndexName"]):
                _fail(path, ikp + ["IndexName"], f"'{index['IndexName']}' is not a valid index name (3-255 of A-Z a-z 0-9 _ . -)")
            if index["IndexName"] in index_names:
                _fail(path, ikp + ["IndexName"], f"duplicate index name '{index['IndexName']}'")
            index_names.add(index["IndexName"])
            index_hash = _key_schema(index.get("KeySchema"), defined, path, ikp + ["KeySchema"], used)
            if group == "LocalSecondaryIndexes" and index_hash != table_hash:
                _fail(path, ikp + ["KeySchema"], f"a local index must share the table's partition key '{table_hash}'")
            projection = index.get("Projection")
            if not isinstance(projection, dict) or projection.get("ProjectionType") not in PROJECTIONS:
                _fail(path, ikp + ["Projection"], "Projection.ProjectionType must be ALL, KEYS_ONLY or INCLUDE")
            attrs_ = projection.get("NonKeyAttributes")
            if projection["ProjectionType"] == "INCLUDE":
                if not isinstance(attrs_, list) or not attrs_ or not all(isinstance(a, str) for a in attrs_):
                    _fail(path, ikp + ["Projection", "NonKeyAttributes"],
                          "ProjectionType INCLUDE needs NonKeyAttributes: a list of attribute names")
                non_key |= set(attrs_)
                if len(non_key) > MAX_NON_KEY_ATTRIBUTES:
                    _fail(path, ikp + ["Projection", "NonKeyAttributes"],
                          f"{len(non_key)} NonKeyAttributes across the table's indexes; DynamoDB allows at most "
                          f"{MAX_NON_KEY_ATTRIBUTES}")
            elif attrs_ is not None:
                _fail(path, ikp + ["Projection", "NonKeyAttributes"],
                      f"NonKeyAttributes is only for ProjectionType INCLUDE, not {projection['ProjectionType']}")
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
        views = _enum("StreamSpecification", "StreamViewType")
        if stream.get("StreamEnabled", True) and stream.get("StreamViewType") not in views:
            _fail(path, kp + ["StreamSpecification", "StreamViewType"],
                  f"StreamViewType must be one of {', '.join(sorted(views))}, not {stream.get('StreamViewType')!r}")
    _check_shape(request, create_table_shape(), path, kp, top=True)
    _botocore_validate(request, path, kp)
    return TableSpec(request, path, kp, ttl=ttl, pitr=pitr)


def _botocore_validate(request: dict, path: Path, kp: list) -> None:
    """botocore's own validator on the complete CreateTable request, as boto3 would run it."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, create_table_shape())
    if report.has_errors():
        _fail(path, kp, "CreateTable would refuse it: " + report.generate_report().replace("\n", "; "))


def _key_schema(schema: Any, defined: dict, path: Path, kp: list, used: set) -> str:
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2:
        _fail(path, kp, "KeySchema must list a HASH key and optionally a RANGE key")
    types = [k.get("KeyType") if isinstance(k, dict) else None for k in schema]
    if types not in (["HASH"], ["HASH", "RANGE"]):
        _fail(path, kp, f"KeySchema must be [HASH] or [HASH, RANGE], not {types}")
    for i, key in enumerate(schema):
        name = key.get("AttributeName")
        if not isinstance(name, str):
            _fail(path, kp + [i, "AttributeName"], f"AttributeName must be an attribute name (text), got {_type_word(name)}")
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
            got = value.get(unit) if isinstance(value, dict) else None
            if isinstance(got, bool):
                _fail(path, kp + [unit], f"{unit} must be a whole number ≥ 1, not {_type_word(got)} (a boolean is not a number)")
            if not isinstance(got, int) or got < 1:
                _fail(path, kp + [unit], f"{unit} must be a whole number ≥ 1")
            if got > MAX_THROUGHPUT:
                _fail(path, kp + [unit], f"{unit} {got:,} is over the per-table maximum of {MAX_THROUGHPUT:,}")


# --- comparing -------------------------------------------------------------------------------------------
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
    """Key and index differences in words (``doctor`` uses them); :func:`drift` has every property."""
    out = []
    for d in drift(spec, Live(description), local=True):
        if d.property != "keys" and not d.property.startswith(("GSI", "LSI")):
            continue
        if d.table_has == "absent":
            out.append(f"{d.property}: missing from the table")
        elif d.schema_wants == "absent":
            out.append(f"{d.property}: on the table but not in the schema")
        else:
            out.append(f"{d.property}: table has {d.table_has}, schema wants {d.schema_wants}")
    return out


def _fmt_keys(keys) -> str:
    return " ".join(f"{n}({t}) {kt}" for n, kt, t in keys)


@dataclass
class Live:
    """A table as it is: DescribeTable, and what other calls report (None: the engine cannot say)."""

    description: dict
    ttl: dict | None = None  # {"AttributeName", "Enabled"}
    pitr: bool | None = None
    tags: dict | None = None

    @property
    def reports_extras(self) -> bool:
        """Whether the engine answered PITR or tag calls: one that refused both (DynamoDB Local's own
        UnknownOperationException) keeps no SSE or table class either, so their absence is no difference."""
        return self.pitr is not None or self.tags is not None


def _unsupported(exc) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in ("UnknownOperationException", "UnrecognizedClientException", "NotImplementedError")


def read_live(client, name: str) -> Live | None:
    from botocore.exceptions import ClientError

    description = existing(client, name)
    if description is None:
        return None
    live = Live(description)
    try:
        t = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        enabled = t.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        live.ttl = {"AttributeName": t.get("AttributeName") if enabled else None, "Enabled": enabled}
    except ClientError as exc:
        if not _unsupported(exc):
            raise
    try:
        b = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        live.pitr = (b.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    except ClientError as exc:
        if not _unsupported(exc):
            raise
    try:
        tags, token = {}, None
        while True:
            page = client.list_tags_of_resource(ResourceArn=description["TableArn"], **({"NextToken": token} if token else {}))
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags") or []})
            token = page.get("NextToken")
            if not token:
                break
        live.tags = tags
    except ClientError as exc:
        if not _unsupported(exc):
            raise
    return live


@dataclass
class Difference:
    """One row: ``table · property · table has · schema wants``; ``change`` is how it can be made to match."""

    table: str
    property: str
    table_has: str
    schema_wants: str
    change: str  # update (in place) | recreate

    def to_dict(self) -> dict:
        return {"table": self.table, "property": self.property, "table_has": self.table_has,
                "schema_wants": self.schema_wants, "change": self.change}


def _fmt_projection(p: dict | None) -> str:
    p = p or {}
    kind = p.get("ProjectionType", "ALL")
    return f"{kind} [{', '.join(sorted(p.get('NonKeyAttributes') or []))}]" if kind == "INCLUDE" else kind


def _fmt_throughput(t: dict | None) -> str:
    t = t or {}
    return f"{t.get('ReadCapacityUnits', 0)} read / {t.get('WriteCapacityUnits', 0)} write"


def _facts(d: dict, *, ttl=None, pitr=None, tags=None, describes: bool, local: bool) -> dict[str, tuple[str, str]]:
    """property -> (value, change) of a CreateTable request or a DescribeTable result."""
    types = {a["AttributeName"]: a["AttributeType"] for a in d.get("AttributeDefinitions") or []}

    def keys(schema):
        return _fmt_keys([(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"])) for k in schema])

    billing = (d.get("BillingModeSummary") or {}).get("BillingMode") if describes else d.get("BillingMode")
    if describes and billing is None:
        billing = "PROVISIONED"
    billing = billing or "PROVISIONED"
    out: dict[str, tuple[str, str]] = {"keys": (keys(d["KeySchema"]), "recreate"), "billing": (billing, "update")}
    if billing == "PROVISIONED":
        out["throughput"] = (_fmt_throughput(d.get("ProvisionedThroughput")), "update")
    for i in d.get("LocalSecondaryIndexes") or []:
        out[f"LSI {i['IndexName']}"] = (f"{keys(i['KeySchema'])} {_fmt_projection(i.get('Projection'))}", "recreate")
    for i in d.get("GlobalSecondaryIndexes") or []:
        out[f"GSI {i['IndexName']}"] = (f"{keys(i['KeySchema'])} {_fmt_projection(i.get('Projection'))}", "update")
        if billing == "PROVISIONED":
            out[f"GSI {i['IndexName']} throughput"] = (_fmt_throughput(i.get("ProvisionedThroughput")), "update")
    stream = d.get("StreamSpecification") or {}
    out["stream"] = (stream.get("StreamViewType", "") if stream.get("StreamEnabled") else "off", "update")
    out["deletion protection"] = ("on" if d.get("DeletionProtectionEnabled") else "off", "update")
    if ttl is not None:
        out["TTL"] = (ttl["AttributeName"] if ttl.get("Enabled") else "off", "update")
    if not local:
        if describes:
            sse = d.get("SSEDescription") or {}
            out["SSE"] = ("KMS" if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING") else "AWS owned key", "update")
            out["table class"] = ((d.get("TableClassSummary") or {}).get("TableClass", "STANDARD"), "update")
        else:
            sse = d.get("SSESpecification") or {}
            out["SSE"] = ("KMS" if sse.get("Enabled") else "AWS owned key", "update")
            out["table class"] = (d.get("TableClass", "STANDARD"), "update")
        if pitr is not None:
            out["PITR"] = ("on" if pitr else "off", "update")
        if tags is not None:
            out["tags"] = (", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none", "update")
    return out


def drift(spec: TableSpec, live: Live, *, local: bool = False) -> list[Difference]:
    """Every difference between what the schema declares and the live table, one row per property.

    SSE and table class are compared only where the engine answers for its extras (``Live.reports_extras``);
    ``local`` (ignored otherwise) is kept for callers that want only keys and indexes."""
    local = local or not live.reports_extras
    ttl_wanted = spec.ttl or {"AttributeName": None, "Enabled": False}
    want = _facts(spec.request, ttl=ttl_wanted if live.ttl is not None else None,
                  pitr=(bool(spec.pitr) if live.pitr is not None else None),
                  tags=(spec.tags() if live.tags is not None else None), describes=False, local=local)
    have = _facts(live.description, ttl=live.ttl, pitr=live.pitr, tags=live.tags, describes=True, local=local)
    rows = []
    for prop in [*want, *(p for p in have if p not in want)]:
        w, h = want.get(prop), have.get(prop)
        if w is not None and h is not None and w[0] == h[0]:
            continue
        if prop.endswith(" throughput") and (w is None or h is None):
            continue  # the index itself is the row
        if prop == "throughput" and (w is None or h is None):
            continue  # billing is the row
        either = w or h
        assert either is not None
        change = either[1]
        rows.append(Difference(spec.name, prop, h[0] if h else "absent", w[0] if w else "absent", change))
    return rows


def not_kept(spec: TableSpec, live: Live | None) -> list[str]:
    """The declared properties the engine did not keep, measured on the live table (None: not there yet)."""
    if live is None:
        return []
    r, d = spec.request, live.description
    sse_wanted = bool((r.get("SSESpecification") or {}).get("Enabled"))
    declared = {
        "PointInTimeRecovery": bool(spec.pitr) and live.pitr is None,
        "Tags": bool(r.get("Tags")) and live.tags is None,
        "SSE": sse_wanted and not d.get("SSEDescription"),
        "TableClass": r.get("TableClass", "STANDARD") != "STANDARD" and not d.get("TableClassSummary"),
        "ContributorInsights": not live.reports_extras and any("ContributorInsights" in n for n in spec.not_applied),
    }
    if "SSESpecification" in r and not live.reports_extras:
        declared["SSE"] = True
    if "TableClass" in r and not live.reports_extras:
        declared["TableClass"] = True
    return [name for name in NOT_KEPT_LOCALLY if declared.get(name)]


def summary(spec: TableSpec) -> dict:
    return summary_of(spec.request, describes=False)


def summary_of(d: dict, *, describes: bool) -> dict:
    stream = d.get("StreamSpecification") or {}
    billing = ((d.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED") if describes \
        else d.get("BillingMode", "PROVISIONED")
    return {
        "keys": " ".join(f"{k['AttributeName']} {k['KeyType']}" for k in d["KeySchema"]),
        "indexes": [i["IndexName"] for g in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in d.get(g) or []],
        "billing": billing,
        "stream": stream.get("StreamViewType", "") if stream.get("StreamEnabled", bool(stream) and not describes) else "off",
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


# --- planning and loading --------------------------------------------------------------------------------
@dataclass
class Plan:
    """What schema-load does with one table: create, leave, update (in place) or recreate."""

    spec: TableSpec
    action: str
    differences: list[Difference] = field(default_factory=list)
    live: Live | None = None
    items: int | None = None  # items a recreate loses

    @property
    def updates(self) -> list[str]:
        return [d.property for d in self.differences if d.change == "update"]


def plan(client, specs: list[TableSpec], *, local: bool = False) -> list[Plan]:
    """Compare every table with the endpoint; read-only. (``local`` is ignored: the engine's answers decide.)"""
    plans = []
    for spec in specs:
        live = read_live(client, spec.name)
        if live is None:
            plans.append(Plan(spec, "create"))
            continue
        diffs = drift(spec, live)
        action = "leave" if not diffs else "recreate" if any(d.change == "recreate" for d in diffs) else "update"
        plans.append(Plan(spec, action, diffs, live))
    return plans


def count_items(client, name: str) -> int:
    total, kwargs = 0, {"TableName": name, "Select": "COUNT"}
    while True:
        page = client.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class LoadResult:
    name: str
    status: str  # created | exists | differs | updated | recreated; with --plan: create | leave | update | recreate
    keys: str
    indexes: list[str]
    billing: str
    stream: str
    differences: list[Difference] = field(default_factory=list)
    source: str = ""
    logical_id: str | None = None
    updates: list[str] = field(default_factory=list)
    items_lost: int | None = None
    not_supported: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "keys": self.keys, "indexes": self.indexes,
                "billing": self.billing, "stream": self.stream,
                "differences": [d.to_dict() for d in self.differences], "updates": self.updates,
                "items_lost": self.items_lost, "not_supported": self.not_supported,
                "not_applied": self.not_applied, "notes": self.notes,
                "logical_id": self.logical_id, "source": self.source}


def _wait_active(client, name: str) -> None:
    import time

    for _ in range(600):
        t = client.describe_table(TableName=name)["Table"]
        if t["TableStatus"] == "ACTIVE" and all(i.get("IndexStatus", "ACTIVE") == "ACTIVE"
                                                for i in t.get("GlobalSecondaryIndexes") or []):
            return
        time.sleep(0.5)


def _apply_extras(client, spec: TableSpec, *, local: bool, live: Live | None = None) -> None:
    """TTL, PITR and tags: set by their own calls after CreateTable (or on --update)."""
    name = spec.name
    if live is not None and live.ttl is not None and live.ttl.get("Enabled") and (
            not spec.ttl or not spec.ttl["Enabled"] or spec.ttl["AttributeName"] != live.ttl["AttributeName"]):
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": live.ttl["AttributeName"], "Enabled": False})
    if spec.ttl and spec.ttl["Enabled"] and (live is None or live.ttl is None or live.ttl.get("AttributeName") != spec.ttl["AttributeName"]):
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=spec.ttl)
    from botocore.exceptions import ClientError

    if spec.pitr is not None and (live is None or live.pitr != spec.pitr):
        try:  # attempted wherever the endpoint takes it; an engine's own refusal means "not kept"
            client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": spec.pitr})
        except ClientError as exc:
            if not _unsupported(exc):
                raise
    if live is not None and live.tags is not None:
        want, have = spec.tags(), live.tags
        gone = [k for k in have if k not in want]
        arn = live.description["TableArn"]
        if gone:
            client.untag_resource(ResourceArn=arn, TagKeys=gone)
        changed = [{"Key": k, "Value": v} for k, v in want.items() if have.get(k) != v]
        if changed:
            client.tag_resource(ResourceArn=arn, Tags=changed)


def _create(client, spec: TableSpec, *, local: bool, wait: bool) -> None:
    request = create_request(spec)  # Tags included: DynamoDB Local takes them (and keeps none: measured after)
    client.create_table(**request)
    if wait or spec.ttl or spec.pitr is not None:
        client.get_waiter("table_exists").wait(TableName=spec.name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    _apply_extras(client, spec, local=local)


def update_in_place(client, p: Plan, *, local: bool, on_step: Callable[[str], None] | None = None) -> None:
    """Make a live table match its schema where DynamoDB can change it in place; the items stay."""
    spec, live, name = p.spec, p.live, p.spec.name
    assert live is not None
    props = set(p.updates)
    step = on_step or (lambda _: None)
    r, d = spec.request, live.description
    attrs = r["AttributeDefinitions"]
    if props & {"billing", "throughput"}:
        kw: dict = {"BillingMode": r.get("BillingMode", "PROVISIONED")}
        if kw["BillingMode"] == "PROVISIONED":
            kw["ProvisionedThroughput"] = r["ProvisionedThroughput"]
            gsis = [g["IndexName"] for g in r.get("GlobalSecondaryIndexes") or []
                    if any(x["IndexName"] == g["IndexName"] for x in d.get("GlobalSecondaryIndexes") or [])]
            if gsis and "billing" in props:
                kw["GlobalSecondaryIndexUpdates"] = [{"Update": {"IndexName": g["IndexName"], "ProvisionedThroughput": g["ProvisionedThroughput"]}}
                                                     for g in r.get("GlobalSecondaryIndexes") or [] if g["IndexName"] in gsis]
        step("billing")
        client.update_table(TableName=name, **kw)
        _wait_active(client, name)
    if "stream" in props:
        have = d.get("StreamSpecification") or {}
        want = r.get("StreamSpecification") or {"StreamEnabled": False}
        if have.get("StreamEnabled"):
            step("stream off")
            client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
            _wait_active(client, name)
        if want.get("StreamEnabled"):
            step("stream on")
            client.update_table(TableName=name, StreamSpecification=want)
            _wait_active(client, name)
    wanted = {g["IndexName"]: g for g in r.get("GlobalSecondaryIndexes") or []}
    for prop in [x for x in p.updates if x.startswith("GSI ")]:
        index = prop[4:]
        if index.endswith(" throughput"):
            index = index[: -len(" throughput")]
            if f"GSI {index}" in props:
                continue
            step(prop)
            client.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Update": {
                "IndexName": index, "ProvisionedThroughput": wanted[index]["ProvisionedThroughput"]}}])
            _wait_active(client, name)
            continue
        if any(g["IndexName"] == index for g in d.get("GlobalSecondaryIndexes") or []):
            step(f"drop GSI {index}")
            client.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}])
            for _ in range(600):
                t = client.describe_table(TableName=name)["Table"]
                if not any(g["IndexName"] == index for g in t.get("GlobalSecondaryIndexes") or []) and t["TableStatus"] == "ACTIVE":
                    break
                __import__("time").sleep(0.5)
        if index in wanted:
            step(f"add GSI {index}")
            create = {k: v for k, v in wanted[index].items() if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput", "WarmThroughput")}
            names = {k["AttributeName"] for k in create["KeySchema"]}
            client.update_table(TableName=name, AttributeDefinitions=[a for a in attrs if a["AttributeName"] in names],
                                GlobalSecondaryIndexUpdates=[{"Create": create}])
            _wait_active(client, name)
    if "deletion protection" in props:
        step("deletion protection")
        client.update_table(TableName=name, DeletionProtectionEnabled=bool(r.get("DeletionProtectionEnabled")))
    if "table class" in props:
        step("table class")
        client.update_table(TableName=name, TableClass=r.get("TableClass", "STANDARD"))
        _wait_active(client, name)
    if "SSE" in props:
        step("SSE")
        client.update_table(TableName=name, SSESpecification=r.get("SSESpecification") or {"Enabled": False})
        _wait_active(client, name)
    if props & {"TTL", "PITR", "tags"}:
        step("TTL/PITR/tags")
        _apply_extras(client, spec, local=local, live=live)


def _probe(client, spec: TableSpec) -> None:
    """Prove CreateTable accepts the new definition, under a scratch name, before the old table is dropped."""
    import uuid

    request = create_request(spec)
    request.pop("Tags", None)
    request.pop("DeletionProtectionEnabled", None)
    request["TableName"] = f"{spec.name[:200]}.cruddur-check-{uuid.uuid4().hex[:8]}"
    client.create_table(**request)
    try:
        client.get_waiter("table_exists").wait(TableName=request["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    finally:
        client.delete_table(TableName=request["TableName"])


def load(client, specs: list[TableSpec], *, update: bool = False, recreate: bool = False, wait: bool = True,
         local: bool = True, dry_run: bool = False,
         confirm_recreate: Callable[[list[Plan]], None] | None = None,
         confirm_update: Callable[[list[Plan]], None] | None = None,
         on_step: Callable[[str], None] | None = None) -> list[LoadResult]:
    """Create the tables that do not exist; report the others as ``exists`` or ``differs`` with every difference.

    ``update`` changes in place what DynamoDB can change on a live table (items kept); ``recreate`` drops and
    creates again a table whose keys or LSIs differ, after CreateTable has accepted the new definition under a
    scratch name, and after ``confirm_recreate`` (which raises to refuse) has seen how many items are lost.
    ``dry_run`` (``--plan``) writes nothing and gives each table's action as its status.
    """
    from botocore.exceptions import ClientError

    plans = plan(client, specs)
    if not dry_run:
        doomed = [p for p in plans if p.action == "recreate" and recreate]
        for p in doomed:
            p.items = count_items(client, p.spec.name)
        if doomed:
            for p in doomed:
                try:
                    _probe(client, p.spec)
                except ClientError as exc:
                    raise SchemaError(f"{p.spec.name}: the new definition is refused by CreateTable "
                                      f"({exc.response['Error'].get('Message')}); nothing was dropped",
                                      path=p.spec.path) from None
            if confirm_recreate:
                confirm_recreate(doomed)
        changing = [p for p in plans if p.action == "update" and update]
        if changing and confirm_update:
            confirm_update(changing)
    results = []
    for p in plans:
        spec, status = p.spec, p.action
        if dry_run:
            if status == "recreate":
                p.items = count_items(client, spec.name)
        elif p.action == "create":
            _create(client, spec, local=local, wait=wait)
            status = "created"
        elif p.action == "leave":
            status = "exists"
        elif p.action == "update" and update:
            update_in_place(client, p, local=local, on_step=on_step)
            status = "updated"
        elif p.action == "recreate" and recreate:
            drop(client, spec.name, wait=True)
            _create(client, spec, local=local, wait=wait)
            status = "recreated"
        else:
            status = "differs"
        live = read_live(client, spec.name) if status not in ("create",) else None
        described = live.description if live is not None else None
        info = summary_of(described, describes=True) if described else summary(spec)
        results.append(LoadResult(spec.name, status, info["keys"], info["indexes"], info["billing"], info["stream"],
                                  p.differences, str(spec.path), spec.logical_id,
                                  p.updates if p.action == "update" else [], p.items,
                                  not_kept(spec, live), list(spec.not_applied), list(spec.notes)))
    return results


def drop(client, name: str, *, wait: bool = True) -> dict:
    """Delete a table; raises ResourceNotFoundException when there is none."""
    description = client.delete_table(TableName=name)["TableDescription"]
    if wait:
        client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return description


# --- writes only into the design they were made for ------------------------------------------------------
def _choose_table_hint(client) -> str:
    """What to do when the table asked for is missing: the tables that exist and how to choose one (never "run
    the command you just ran")."""
    try:
        names = [n for page in client.get_paginator("list_tables").paginate() for n in page.get("TableNames", [])]
    except Exception:  # the hint is best effort: the NotFoundError stands on its own
        names = []
    if not names:
        return "the endpoint has no tables: load the schema with `cruddur ddb schema-load`"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"tables there: {shown}; choose one with --table NAME or DDB_MESSAGE_TABLE=NAME"


def require_keys(client, table: str, wanted: dict[str | None, tuple[str, str | None]], *, what: str) -> None:
    """Refuse, before the first write or query, a table whose keys (or whose index ``name``'s keys) are not
    ``wanted[name]`` (``None``: the table's own keys): one line naming what is missing."""
    from cruddur_ops.errors import NotFoundError, TableDiffersError

    d = existing(client, table)
    if d is None:
        raise NotFoundError(f"no table {table} at {client.meta.endpoint_url}", hint=_choose_table_hint(client))

    def keys_of(schema):
        h = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
        r = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
        return h, r

    indexes = {i["IndexName"]: keys_of(i["KeySchema"])
               for g in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in d.get(g) or []}
    missing = []
    for index, (h, r) in wanted.items():
        if index is None:
            have = keys_of(d["KeySchema"])
            if have != (h, r):
                missing.append(f"keys {h}{f'/{r}' if r else ''} (the table has {have[0]}{f'/{have[1]}' if have[1] else ''})")
        elif index not in indexes:
            missing.append(f"index {index} ({h}{f'/{r}' if r else ''})")
        elif indexes[index] != (h, r):
            got = indexes[index]
            missing.append(f"index {index} keyed {h}{f'/{r}' if r else ''} (it is keyed {got[0]}{f'/{got[1]}' if got[1] else ''})")
    if missing:
        raise TableDiffersError(f"{table} is not of the design {what} needs: missing {', '.join(missing)}; "
                                "nothing was written")


def require_app_design(client, table: str, *, what: str = "the app") -> None:
    """The app's keys (pk/sk) and its GSI ``message-group-sk-index`` (message_group_uuid/sk)."""
    from cruddur_ops.ddb.model import GROUP_INDEX

    require_keys(client, table, {None: ("pk", "sk"), GROUP_INDEX: ("message_group_uuid", "sk")}, what=what)

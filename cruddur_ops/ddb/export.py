"""The schema files' tables (and their declared access patterns) as a CloudFormation template or a NoSQL
Workbench data model.

CloudFormation: one ``AWS::DynamoDB::Table`` per table, its Properties in CloudFormation's shape (a stream is
``{StreamViewType}`` without ``StreamEnabled``, encryption is ``SSEEnabled``). ``schema-load`` reads the template
back into the same CreateTable requests, so an export round-trips. The declared patterns ride along in the
resource's ``Metadata.AccessPatterns``, which CloudFormation stores and otherwise ignores.

NoSQL Workbench: the data-model JSON its "Import data model" reads. The format is not published as a schema; this
follows what the Workbench itself writes, as seen in exported models (``"Version": "3.0"``, e.g. "product catalog
model.json" in github.com/ITP-system/dynamodb-modelling-example): ``ModelName``, ``ModelMetadata``, and per table
``TableName``, ``KeyAttributes{PartitionKey, SortKey}``, ``NonKeyAttributes``, ``GlobalSecondaryIndexes
[{IndexName, KeyAttributes, Projection}]``, ``TableFacets``, ``TableData``, ``DataAccess``, ``BillingMode``,
``ProvisionedCapacitySettings``. Workbench's documented place for access patterns in a model is the *facet*
("facets represent an application's different data access patterns", docs.aws.amazon.com/amazondynamodb/latest/
developerguide/workbench.Visualizer.Facets.html): ``{FacetName, KeyAttributeAlias{PartitionKeyAlias,
SortKeyAlias}, NonKeyAttributes, TableData, DataAccess}``. A facet aliases the *table's* keys, so patterns that
run on an index are reported as not exported, as are local secondary indexes (no field for them in that format).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cruddur_ops.ddb.schema import TableSpec, create_request

FORMATS = ("cloudformation", "workbench")
WORKBENCH_VERSION = "3.0"


@dataclass
class Export:
    """An exported document and what went into it."""

    format: str
    document: dict
    tables: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)  # exported (as Metadata or facets)
    notes: list[str] = field(default_factory=list)  # "what: why" for what the format could not carry

    def summary(self) -> dict:
        return {"format": self.format, "tables": self.tables, "patterns": self.patterns, "notes": self.notes}


def declaration(pattern) -> dict:
    """A ``patterns.Pattern`` back in the shape it is declared in a schema file (defaults left out)."""
    doc: dict[str, Any] = {}
    if pattern.description:
        doc["description"] = pattern.description
    if pattern.index:
        doc["index"] = pattern.index
    doc["key"] = {pattern.key_attr: pattern.key_template}
    if pattern.sort_op:
        value = list(pattern.sort_templates) if pattern.sort_op == "between" else pattern.sort_templates[0]
        doc["sort"] = {pattern.sort_op: value}
    if pattern.newest_first:
        doc["newest_first"] = True
    if pattern.reverse:
        doc["reverse"] = True
    if pattern.limit:
        doc["limit"] = pattern.limit
    if pattern.entity:
        doc["entity"] = pattern.entity
    return doc


# --- CloudFormation --------------------------------------------------------------------------------------------
def logical_id(table_name: str, taken: set[str]) -> str:
    """``cruddur-messages`` -> ``CruddurMessagesTable``: letters and digits only, unique in the template."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", table_name) if w]
    base = "".join(w[:1].upper() + w[1:] for w in words) + "Table"
    if not base[0].isalpha():
        base = "T" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    taken.add(candidate)
    return candidate


def table_properties(spec: TableSpec) -> dict:
    """CreateTable request -> ``AWS::DynamoDB::Table`` Properties."""
    request = create_request(spec)
    props: dict[str, Any] = {}
    for key in ("TableName", "BillingMode", "TableClass", "AttributeDefinitions", "KeySchema", "ProvisionedThroughput",
                "OnDemandThroughput", "WarmThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
                "DeletionProtectionEnabled", "Tags"):
        if request.get(key) is not None:
            props[key] = request[key]
    stream = request.get("StreamSpecification")
    if stream and stream.get("StreamEnabled", True) and stream.get("StreamViewType"):
        props["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
    sse = request.get("SSESpecification")
    if sse:
        props["SSESpecification"] = {("SSEEnabled" if k == "Enabled" else k): v for k, v in sse.items()}
    policy = request.get("ResourcePolicy")
    if policy:
        props["ResourcePolicy"] = {"PolicyDocument": json.loads(policy) if isinstance(policy, str) else policy}
    if spec.ttl is not None:
        props["TimeToLiveSpecification"] = dict(spec.ttl)
    if spec.pitr is not None:
        props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": spec.pitr}
    return props


def cloudformation(tables: list[TableSpec], *, description: str | None = None) -> Export:
    """A CloudFormation template with one ``AWS::DynamoDB::Table`` per table and outputs for names and streams."""
    out = Export("cloudformation", {})
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    taken: set[str] = set()
    for spec in tables:
        # a table read from a template keeps its logical id there, so a stack built from either is the same
        if spec.logical_id and spec.logical_id not in taken:
            rid = spec.logical_id
            taken.add(rid)
        else:
            rid = logical_id(spec.name, taken)
        props = table_properties(spec)
        # Retain: deleting the stack (or a replacement on update) must not delete the data.
        resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                                    "UpdateReplacePolicy": "Retain", "Properties": props}
        if spec.patterns:
            resource["Metadata"] = {"AccessPatterns": {name: declaration(p) for name, p in spec.patterns.items()}}
            out.patterns += list(spec.patterns)
        resources[rid] = resource
        outputs[f"{rid}Name"] = {"Description": f"Name of {spec.name}", "Value": {"Ref": rid}}
        if "StreamSpecification" in props:
            outputs[f"{rid}StreamArn"] = {"Description": f"Stream of {spec.name}",
                                          "Value": {"Fn::GetAtt": [rid, "StreamArn"]}}
        out.tables.append(spec.name)
    out.document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description or f"DynamoDB tables: {', '.join(out.tables)} (exported by cruddur ddb model export)",
        "Resources": resources,
        "Outputs": outputs,
    }
    return out


# --- NoSQL Workbench ------------------------------------------------------------------------------------------------
def _key_attributes(schema: list[dict], types: dict[str, str]) -> dict:
    keys = {}
    for key in schema:
        slot = "PartitionKey" if key["KeyType"] == "HASH" else "SortKey"
        keys[slot] = {"AttributeName": key["AttributeName"], "AttributeType": types[key["AttributeName"]]}
    return keys


# What the app writes under each key prefix of cruddur-messages (ddb/model.py): a facet lists these.
def _app_attributes() -> dict[str, list[str]]:
    from cruddur_ops.ddb import model
    from cruddur_ops.model import User

    someone = User(uuid="u", handle="h", display_name="d")
    keys = ("pk", "sk")
    return {
        model.MESSAGE_PREFIX: [k for k in model.message_item("g", "t", "m", "x", someone) if k not in keys],
        model.GROUP_PREFIX: [k for k in model.group_item(someone, someone, "g", "t", "x") if k not in keys],
    }


def _facet_attributes(pattern, spec: TableSpec, non_key: list[str], items: list[dict]) -> list[str]:
    """The non-key attributes the items of a pattern really carry: from items read from the table when there
    are any, else what the app writes (cruddur-messages), else the table's declared non-key attributes."""
    prefix = pattern.key_template.split("{", 1)[0]
    hash_key, range_key = spec.key_names()
    if items and prefix:
        seen: list[str] = []
        for item in items:
            if str(item.get(hash_key, "")).startswith(prefix):
                seen += [k for k in item if k not in (hash_key, range_key) and k not in seen]
        if seen:
            return seen
    from cruddur_ops.ddb.model import TABLE

    if spec.name == TABLE and prefix:
        for known, attrs in _app_attributes().items():
            if prefix == known:
                return attrs
    return non_key


def _facet(pattern, spec: TableSpec, non_key: list[str]) -> dict:
    _, range_key = spec.key_names()
    alias = {"PartitionKeyAlias": pattern.key_template}
    if range_key:
        if pattern.sort_op == "between":
            alias["SortKeyAlias"] = f"{range_key} between {pattern.sort_templates[0]} and {pattern.sort_templates[1]}"
        elif pattern.sort_op:
            alias["SortKeyAlias"] = f"{range_key} {pattern.sort_op} {pattern.sort_templates[0]}"
        else:
            alias["SortKeyAlias"] = range_key
    return {"FacetName": pattern.name, "KeyAttributeAlias": alias, "TableData": [], "NonKeyAttributes": non_key,
            "DataAccess": {"MySql": {}}}


def _entity_facet(entity, spec: TableSpec, items: list[dict]) -> dict:
    hash_key, range_key = spec.key_names()
    alias = {"PartitionKeyAlias": entity.keys[hash_key].text}
    if range_key:
        alias["SortKeyAlias"] = entity.keys[range_key].text
    non_key = [n for m in entity.indexes.values() for n in m if n not in (hash_key, range_key)]
    non_key += [n for n in entity.stored() if n not in non_key]
    for item in items:  # and what its items really carry
        if entity.key_values(item) is not None:
            non_key += [n for n in item if n not in non_key and n not in (hash_key, range_key)]
    return {"FacetName": entity.name, "KeyAttributeAlias": alias, "TableData": [], "NonKeyAttributes": non_key,
            "DataAccess": {"MySql": {}}}


def _model_description(tables: list[TableSpec]) -> str:
    """Every declared pattern, index patterns included, so the model carries the ones facets cannot."""
    lines = [f"Exported by cruddur ddb model export from {', '.join(sorted({t.path.name for t in tables}))}."]
    patterns = [p for t in tables for p in t.patterns.values()]
    if patterns:
        lines.append("Access patterns:")
        for p in patterns:
            where = f"{p.table} index {p.index}" if p.index else p.table
            lines.append(f"- {p.name} ({where}): {p.description or 'no description'}")
    return "\n".join(lines)


def _typed_item(item: dict) -> dict:
    """A plain item (as ``ddb scan`` gives it, ddb/typed.py) in DynamoDB JSON, as the Workbench writes
    ``TableData``: every type exact (fractions, long numbers, sets, binary as base64)."""
    from cruddur_ops.ddb import typed

    attrs = typed.to_attrs(typed.jsonable(item))
    return {k: typed.wire_value(attrs[k]) for k in typed.key_order(attrs)}


def workbench(tables: list[TableSpec], *, name: str | None = None, author: str = "", description: str | None = None,
              now: datetime | None = None, data: dict[str, list[dict]] | None = None) -> Export:
    """A NoSQL Workbench data model: tables, key attributes, GSIs, and table patterns as facets.

    ``data`` (table name -> plain items, as ``ddb/scan.iter_scan`` gives them) fills each table's ``TableData``
    (in DynamoDB JSON, as the Workbench writes it: ddb/typed.py's codec, exact for every type) and tells the facets
    which attributes their items carry."""
    out = Export("workbench", {})
    stamp = (now or datetime.now(UTC)).strftime("%b %d, %Y, %I:%M %p")
    model = []
    for spec in tables:
        request = create_request(spec)
        types = {a["AttributeName"]: a["AttributeType"] for a in request["AttributeDefinitions"]}
        table_keys = [k["AttributeName"] for k in request["KeySchema"]]
        non_key = [{"AttributeName": n, "AttributeType": t} for n, t in types.items() if n not in table_keys]
        items = (data or {}).get(spec.name) or []
        table_data = [_typed_item(item) for item in items]
        for item in table_data:
            for k, v in item.items():
                if k not in table_keys and all(a["AttributeName"] != k for a in non_key):
                    non_key.append({"AttributeName": k, "AttributeType": next(iter(v))})
        entry: dict[str, Any] = {
            "TableName": spec.name,
            "KeyAttributes": _key_attributes(request["KeySchema"], types),
            "NonKeyAttributes": non_key,
            "GlobalSecondaryIndexes": [
                {"IndexName": i["IndexName"], "KeyAttributes": _key_attributes(i["KeySchema"], types),
                 "Projection": i["Projection"]}
                for i in request.get("GlobalSecondaryIndexes") or []],
            "TableFacets": [],
            "TableData": table_data,
            "DataAccess": {"MySql": {}},
            "BillingMode": request.get("BillingMode", "PROVISIONED"),
        }
        if request.get("ProvisionedThroughput"):
            entry["ProvisionedCapacitySettings"] = {"ProvisionedThroughput": request["ProvisionedThroughput"]}
        for index in request.get("LocalSecondaryIndexes") or []:
            out.notes.append(f"{spec.name}: local index {index['IndexName']} not exported: the Workbench model has no field for LSIs")
        if spec.entities:  # one facet per entity: its key templates as the aliases, its attributes
            entry["TableFacets"] = [_entity_facet(e, spec, items) for e in spec.entities.values()]
            out.notes.append(f"{spec.name}: one facet per entity ({', '.join(spec.entities)}); "
                             "the access patterns are in the model's description")
        for pattern in [] if spec.entities else spec.patterns.values():
            if pattern.index:
                out.notes.append(f"{pattern.name}: not exported as a facet: it runs on index {pattern.index}, a facet aliases the table's own keys")
                continue
            entry["TableFacets"].append(_facet(pattern, spec, _facet_attributes(
                pattern, spec, [a["AttributeName"] for a in non_key], items)))
            out.patterns.append(pattern.name)
        model.append(entry)
        out.tables.append(spec.name)
    out.document = {
        "ModelName": name or (out.tables[0] if len(out.tables) == 1 else "cruddur"),
        "ModelMetadata": {
            "Author": author,
            "DateCreated": stamp,
            "DateLastModified": stamp,
            "Description": description or _model_description(tables),
            "AWSService": "Amazon DynamoDB",
            "Version": WORKBENCH_VERSION,
        },
        "DataModel": model,
    }
    return out


def export(tables: list[TableSpec], fmt: str, **options) -> Export:
    if fmt == "cloudformation":
        return cloudformation(tables, **options)
    if fmt == "workbench":
        return workbench(tables, **options)
    raise ValueError(f"unknown export format {fmt!r} (expected {', '.join(FORMATS)})")


def dump(document: dict, syntax: str = "json") -> str:
    """The document as text: ``json`` (two-space indent) or ``yaml`` (block style, keys in order)."""
    if syntax == "yaml":
        import yaml

        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

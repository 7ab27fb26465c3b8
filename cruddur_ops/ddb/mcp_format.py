"""AWS's DynamoDB MCP server entity format (``schema.json``), read as is and written back.

```json
{"tables": [{
  "table_config": {"table_name": "Shop", "partition_key": "pk", "sort_key": "sk",
                   "gsi_list": [{"name": "ByEmail", "partition_key": "email_pk"}]},
  "entities": {
    "Customer": {"entity_type": "CUSTOMER", "pk_template": "CUST#{customer_id}", "sk_template": "PROFILE",
                 "gsi_mappings": [{"name": "ByEmail", "pk_template": "EMAIL#{email}"}],
                 "fields": [{"name": "customer_id", "type": "string", "required": true}, …],
                 "access_patterns": [{"pattern_id": 1, "name": "get_customer", "operation": "GetItem",
                                      "parameters": [{"name": "customer_id", "type": "string"}],
                                      "return_type": "single_entity"}]}}}]}
```

``gsi_list`` may sit in ``table_config`` or beside it. Without one, each index named by a ``gsi_mappings`` entry is
created with the key attributes ``<name>_pk`` (and ``<name>_sk`` when a mapping has an ``sk_template``). A key
attribute is a string, or a number when every template of it is one ``{field}`` of a numeric field.
``table_config.ttl_attribute`` (a cruddur addition) turns TTL on for that attribute. Query and GetItem patterns
become access patterns (``range_condition`` on the sort key, the sort template's fixed prefix before the value);
other operations (PutItem, Scan, …) are listed as notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from cruddur_ops.errors import SchemaError
from cruddur_ops.io import yamlfile

FIELD_TYPES = {"string": "string", "integer": "integer", "float": "decimal", "decimal": "decimal", "number": "number",
               "boolean": "boolean", "array": "list", "object": "map", "uuid": "uuid", "timestamp": "timestamp",
               "email": "email"}
OPERATIONS = {"GetItem", "PutItem", "DeleteItem", "Query", "Scan", "UpdateItem", "BatchGetItem", "BatchWriteItem"}
RANGE_CONDITIONS = {"begins_with": 1, "between": 2, ">=": 1, "<=": 1, ">": 1, "<": 1}
ENTITY_FIELDS = {"entity_type", "pk_template", "sk_template", "gsi_mappings", "fields", "access_patterns", "description"}


def is_mcp(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("tables"), list) and bool(doc["tables"])
            and all(isinstance(t, dict) and "table_config" in t for t in doc["tables"]))


def _fail(path: Path, keypath: list, message: str) -> NoReturn:
    raise SchemaError(f"{yamlfile.dotted(keypath)}: {message}", path=path, line=yamlfile.line_of(path, keypath))


def _text(value: Any, path: Path, kp: list, what: str) -> str:
    if not isinstance(value, str) or not value:
        _fail(path, kp, f"{what} must be text, got {value!r}")
    return value


def tables(doc: dict, path: Path) -> list[tuple[dict, list, list, dict]]:
    """The tables of an MCP ``schema.json`` as (CreateTable request, keypath, patterns keypath, meta)."""
    out = []
    for i, table in enumerate(doc["tables"]):
        kp = ["tables", i]
        config = table.get("table_config")
        if not isinstance(config, dict):
            _fail(path, kp + ["table_config"], "expected {table_name, partition_key, sort_key?}")
        name = _text(config.get("table_name"), path, kp + ["table_config", "table_name"], "table_name")
        pk = _text(config.get("partition_key"), path, kp + ["table_config", "partition_key"], "partition_key")
        sk = config.get("sort_key")
        if sk is not None:
            _text(sk, path, kp + ["table_config", "sort_key"], "sort_key")
        entities = table.get("entities")
        if not isinstance(entities, dict) or not entities:
            _fail(path, kp + ["entities"], "expected a mapping of entity name -> entity")
        gsi_list, gsi_kp = (config.get("gsi_list"), kp + ["table_config", "gsi_list"]) if "gsi_list" in config \
            else (table.get("gsi_list"), kp + ["gsi_list"])
        indexes: dict[str, tuple[str, str | None]] = {}
        if gsi_list is not None:
            if not isinstance(gsi_list, list):
                _fail(path, gsi_kp, "expected a list of {name, partition_key, sort_key?}")
            for j, g in enumerate(gsi_list):
                if not isinstance(g, dict):
                    _fail(path, gsi_kp + [j], "expected {name, partition_key, sort_key?}")
                gname = _text(g.get("name"), path, gsi_kp + [j, "name"], "name")
                for part in ("partition_key", "sort_key"):
                    if isinstance(g.get(part), list):
                        _fail(path, gsi_kp + [j, part], "multi-attribute index keys are not supported by cruddur")
                gpk = _text(g.get("partition_key"), path, gsi_kp + [j, "partition_key"], "partition_key")
                gsk = g.get("sort_key")
                if gsk is not None:
                    _text(gsk, path, gsi_kp + [j, "sort_key"], "sort_key")
                indexes[gname] = (gpk, gsk)
        else:  # the indexes the entities map
            for e in entities.values():
                for m in (e.get("gsi_mappings") or [] if isinstance(e, dict) else []):
                    if isinstance(m, dict) and isinstance(m.get("name"), str):
                        has_sk = m.get("sk_template") is not None
                        old = indexes.get(m["name"])
                        indexes[m["name"]] = (f"{m['name']}_pk", f"{m['name']}_sk" if has_sk or (old and old[1]) else None)
        numeric: dict[str, list[bool]] = {}

        def note_type(attr: str, template: Any, fields: dict, numeric: dict = numeric) -> None:
            one = isinstance(template, str) and template.startswith("{") and template.endswith("}") \
                and template.count("{") == 1 and fields.get(template[1:-1]) in ("integer", "float", "decimal", "number")
            numeric.setdefault(attr, []).append(bool(one))

        for e in entities.values():
            if not isinstance(e, dict):
                continue
            fields = {f.get("name"): f.get("type") for f in e.get("fields") or [] if isinstance(f, dict)}
            note_type(pk, e.get("pk_template"), fields)
            if sk:
                note_type(sk, e.get("sk_template"), fields)
            for m in e.get("gsi_mappings") or []:
                if isinstance(m, dict) and m.get("name") in indexes:
                    gpk, gsk = indexes[m["name"]]
                    note_type(gpk, m.get("pk_template"), fields)
                    if gsk:
                        note_type(gsk, m.get("sk_template"), fields)
        keys = [pk] + ([sk] if sk else [])
        used = dict.fromkeys(keys + [k for pair in indexes.values() for k in pair if k])
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "N" if numeric.get(a) and all(numeric[a]) else "S"}
                                     for a in used],
            "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}] + ([{"AttributeName": sk, "KeyType": "RANGE"}] if sk else []),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if indexes:
            request["GlobalSecondaryIndexes"] = [
                {"IndexName": g, "KeySchema": [{"AttributeName": gpk, "KeyType": "HASH"}]
                 + ([{"AttributeName": gsk, "KeyType": "RANGE"}] if gsk else []), "Projection": {"ProjectionType": "ALL"}}
                for g, (gpk, gsk) in indexes.items()]
        ttl = config.get("ttl_attribute")
        if ttl is not None:
            request["TimeToLiveSpecification"] = {"AttributeName": _text(ttl, path, kp + ["table_config", "ttl_attribute"], "ttl_attribute"),
                                                  "Enabled": True}
        patterns, notes = _patterns(entities, pk, sk, indexes, path, kp)
        if patterns:
            request["AccessPatterns"] = patterns
        meta = {"notes": [f"from AWS MCP schema tables[{i}]"] + notes,
                "entities": lambda spec, entities=entities, kp=kp: _entities(entities, spec, path, kp)}
        out.append((request, kp + ["table_config"], kp + ["entities"], meta))
    return out


def _entities(raw: dict, spec, path: Path, kp: list) -> dict:
    from cruddur_ops.ddb import entities as entities_mod

    def fail(keypath: list, message: str) -> NoReturn:
        _fail(path, keypath, message)

    hash_key, range_key = spec.key_names()
    out = {}
    for name, e in raw.items():
        ekp = kp + ["entities", name]
        if not isinstance(e, dict):
            fail(ekp, f"entity '{name}': expected a mapping")
        for key in e:
            if key not in ENTITY_FIELDS:
                fail(ekp + [key], f"entity '{name}': unknown field '{key}' (expected {', '.join(sorted(ENTITY_FIELDS))})")
        fields = e.get("fields")
        if not isinstance(fields, list) or not fields:
            fail(ekp + ["fields"], f"entity '{name}': fields must be a non-empty list of {{name, type, required}}")
        attributes = {}
        for j, f in enumerate(fields):
            fkp = ekp + ["fields", j]
            if not isinstance(f, dict) or not isinstance(f.get("name"), str):
                fail(fkp, f"entity '{name}': each field needs a name")
            kind = FIELD_TYPES.get(str(f.get("type")))
            if kind is None:
                fail(fkp + ["type"], f"entity '{name}': field '{f['name']}': type must be one of "
                                     f"{', '.join(sorted(FIELD_TYPES))}, not {f.get('type')!r}")
            if f["name"] in attributes:
                fail(fkp + ["name"], f"entity '{name}': field '{f['name']}' is declared twice")
            decl: dict[str, Any] = {"type": kind, "required": bool(f.get("required", False))}
            if kind == "list":
                decl["items"] = FIELD_TYPES.get(str(f.get("item_type", "string")), "string")
            attributes[f["name"]] = entities_mod.attribute(f["name"], decl, entities_mod.scoped(fail, fkp))
        keys = {hash_key: e.get("pk_template")}
        where: dict = {"entity": ekp, "keys_kp": ekp, ("keys", hash_key): ekp + ["pk_template"]}
        if range_key:
            keys[range_key] = e.get("sk_template")
            where[("keys", range_key)] = ekp + ["sk_template"]
            if e.get("sk_template") is None:
                fail(ekp, f"entity '{name}': the table has a sort key '{range_key}': sk_template is required")
        indexes = {}
        for j, m in enumerate(e.get("gsi_mappings") or []):
            mkp = ekp + ["gsi_mappings", j]
            if not isinstance(m, dict) or not isinstance(m.get("name"), str):
                fail(mkp, f"entity '{name}': each gsi_mapping needs a name")
            if m["name"] not in spec.index_names():
                fail(mkp + ["name"], f"entity '{name}': unknown index '{m['name']}' (gsi_list: {', '.join(spec.index_names()) or 'none'})")
            gpk, gsk = spec.key_names(m["name"])
            mapping = {gpk: m.get("pk_template")}
            where[("index", m["name"])] = mkp
            where[("index", m["name"], gpk)] = mkp + ["pk_template"]
            if m.get("sk_template") is not None:
                if gsk is None:
                    fail(mkp + ["sk_template"], f"entity '{name}': index {m['name']} has no sort key")
                mapping[gsk] = m["sk_template"]
                where[("index", m["name"], gsk)] = mkp + ["sk_template"]
            indexes[m["name"]] = mapping
        out[name] = entities_mod.build(name, spec, keys, indexes, attributes, description=str(e.get("description", "")),
                                       where=where, fail=fail)
    entities_mod.check(out, spec, fail)
    return out


def _patterns(entities: dict, pk: str, sk: str | None, indexes: dict, path: Path, kp: list) -> tuple[dict, list[str]]:
    """Query and GetItem patterns as cruddur AccessPatterns declarations."""
    from cruddur_ops.ddb.entities import Template

    out: dict[str, dict] = {}
    notes: list[str] = []
    for ename, e in entities.items():
        if not isinstance(e, dict):
            continue
        for j, ap in enumerate(e.get("access_patterns") or []):
            akp = kp + ["entities", ename, "access_patterns", j]
            if not isinstance(ap, dict):
                _fail(path, akp, "expected an access pattern")
            name = _text(ap.get("name"), path, akp + ["name"], "name")
            op = ap.get("operation")
            if op not in OPERATIONS:
                _fail(path, akp + ["operation"], f"operation must be one of {', '.join(sorted(OPERATIONS))}, not {op!r}")
            if op not in ("Query", "GetItem"):
                notes.append(f"pattern {name} ({op}) is not a read by key: not declared for `pattern run`")
                continue
            index = ap.get("index_name")
            if index is not None and index not in indexes:
                _fail(path, akp + ["index_name"], f"unknown index '{index}' (gsi_list: {', '.join(indexes) or 'none'})")
            if index is None:
                key_attr, sort_attr = pk, sk
                pk_t, sk_t = e.get("pk_template"), e.get("sk_template")
            else:
                key_attr, sort_attr = indexes[index]
                mapping = next((m for m in e.get("gsi_mappings") or [] if isinstance(m, dict) and m.get("name") == index), None)
                if mapping is None:
                    _fail(path, akp + ["index_name"], f"entity '{ename}' has no gsi_mapping for index '{index}'")
                pk_t, sk_t = mapping.get("pk_template"), mapping.get("sk_template")
            if not isinstance(pk_t, str):
                _fail(path, akp, f"entity '{ename}' has no partition key template for this pattern")
            decl: dict[str, Any] = {"key": {key_attr: pk_t}, "entity": ename,
                                    "description": str(ap.get("description", ""))}
            if index:
                decl["index"] = index
            params = [p.get("name") for p in ap.get("parameters") or [] if isinstance(p, dict) and p.get("type") != "entity"]
            key_fields = set(Template(pk_t).fields)
            rest = [p for p in params if p not in key_fields]
            condition = ap.get("range_condition")
            prefix: str = Template(sk_t).prefix if isinstance(sk_t, str) else ""
            if condition is not None:
                if condition not in RANGE_CONDITIONS:
                    _fail(path, akp + ["range_condition"], f"range_condition must be one of {', '.join(RANGE_CONDITIONS)}, not {condition!r}")
                if sort_attr is None:
                    _fail(path, akp + ["range_condition"], "a range condition needs a sort key")
                want = RANGE_CONDITIONS[condition]
                if len(rest) != want:
                    _fail(path, akp + ["parameters"], f"range_condition '{condition}' takes {want} range parameter(s) "
                                                      f"besides the key's ({', '.join(sorted(key_fields))}); got {len(rest)}")
                values = [prefix + "{" + str(p) + "}" for p in rest]
                decl["sort"] = {condition: values if condition == "between" else values[0]}
            elif op == "GetItem" and sort_attr and isinstance(sk_t, str):
                decl["sort"] = {"=": sk_t}
                decl["limit"] = 1
            elif sort_attr and prefix and isinstance(sk_t, str) and not Template(sk_t).literal \
                    and ap.get("return_type") == "entity_list":
                decl["sort"] = {"begins_with": prefix}
            if name in out:
                _fail(path, akp + ["name"], f"access pattern '{name}' is declared twice in this table")
            out[name] = decl
    return out, notes


def export(specs: list) -> dict:
    """cruddur's tables and entities in the MCP ``schema.json`` format (tables without entities are skipped)."""
    from cruddur_ops.ddb.entities import Template

    doc: dict[str, list] = {"tables": []}
    for spec in specs:
        if not spec.entities:
            continue
        hash_key, range_key = spec.key_names()
        config: dict[str, Any] = {"table_name": spec.name, "partition_key": hash_key}
        if range_key:
            config["sort_key"] = range_key
        gsis = [{"name": g["IndexName"], **dict(zip(("partition_key", "sort_key"),
                                                    [k["AttributeName"] for k in g["KeySchema"]], strict=False))}
                for g in spec.request.get("GlobalSecondaryIndexes") or []]
        if gsis:
            config["gsi_list"] = gsis
        if spec.ttl and spec.ttl.get("Enabled"):
            config["ttl_attribute"] = spec.ttl["AttributeName"]
        entities = {}
        for e in spec.entities.values():
            entity: dict[str, Any] = {"entity_type": e.name.upper(), "pk_template": e.keys[hash_key].text}
            if range_key:
                entity["sk_template"] = e.keys[range_key].text
            mappings = []
            for index, mapping in e.indexes.items():
                if index not in {g["name"] for g in gsis}:
                    continue
                ipk, isk = spec.key_names(index)
                m = {"name": index, "pk_template": mapping[ipk].text}
                if isk:
                    m["sk_template"] = mapping[isk].text
                mappings.append(m)
            if mappings:
                entity["gsi_mappings"] = mappings
            back = {v: k for k, v in FIELD_TYPES.items() if k not in ("float", "number")}
            back.update({"decimal": "decimal", "number": "decimal", "enum": "string", "string_set": "array",
                         "number_set": "array", "binary_set": "array", "binary": "string"})
            fields = []
            for a in e.attributes.values():
                f: dict[str, Any] = {"name": a.name, "type": back.get(a.type, "string"), "required": a.required or a.key_only}
                if a.type == "list" and a.items is not None:
                    f["item_type"] = back.get(a.items.type, "string")
                elif a.type in ("string_set", "number_set", "binary_set"):
                    f["item_type"] = "integer" if a.type == "number_set" else "string"
                fields.append(f)
            entity["fields"] = fields
            patterns = []
            for p in spec.patterns.values():
                if p.entity != e.name:
                    continue
                params = [{"name": n, "type": "string"} for n in p.parameters]
                get = p.sort_op == "=" and p.limit == 1 and not p.index
                ap: dict[str, Any] = {"pattern_id": 0, "name": p.name, "description": p.description,
                                      "operation": "GetItem" if get else "Query", "parameters": params,
                                      "return_type": "single_entity" if get else "entity_list"}
                if p.index:
                    ap["index_name"] = p.index
                if p.sort_op in RANGE_CONDITIONS and any(Template(t).fields for t in p.sort_templates):
                    ap["range_condition"] = p.sort_op
                patterns.append(ap)
            if patterns:
                entity["access_patterns"] = patterns
            entities[e.name] = entity
        doc["tables"].append({"table_config": config, "entities": entities})
    n = 0
    for t in doc["tables"]:
        for e in t["entities"].values():
            for ap in e.get("access_patterns", []):
                n += 1
                ap["pattern_id"] = n
    return doc

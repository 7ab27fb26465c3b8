"""Entities: the item kinds of a single-table design, declared beside ``AccessPatterns`` and checked on read.

```yaml
Entities:
  Order:
    description: One order of a customer
    keys: {pk: "CUST#{customer_id}", sk: "ORDER#{placed_at}#{order_id}"}   # the table's key attributes
    indexes:                                     # an index's key attributes (optional: an index key that is also
      by-status: {gsi1pk: "STATUS#{status}"}     # a table key or a stored attribute of the same name is implied)
    attributes:
      customer_id: {type: uuid, required: true}
      order_id: {type: uuid, required: true}
      placed_at: {type: timestamp, required: true}
      status: {type: enum, values: [open, paid, shipped], required: true}
      total: {type: decimal, min: 1, max: 900}
      lines: {type: list, items: {type: map, members: {sku: string, qty: integer}}}
      tags: string_set
      note: {type: string, faker: sentence}       # a Faker provider for generated values
      owner_uuid: {type: uuid, key_only: true}    # lives only inside a key template, not as its own attribute
    generate: {parent: Customer, per_parent: [0, 6]}
```

Checked when the file is read, each error with file, line and field: an index key the entity never fills, a
template field that is not an attribute, an unknown index or key attribute, and two entities of one table whose
keys cannot be told apart. ``ddb/mcp_format.py`` builds the same :class:`Entity` from AWS's MCP ``schema.json``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cruddur_ops.errors import SchemaError
from cruddur_ops.io import yamlfile

ENTITIES_FIELD = "Entities"
TYPES = {"string", "number", "integer", "decimal", "float", "boolean", "timestamp", "enum", "map", "list",
         "string_set", "number_set", "binary_set", "binary", "uuid", "email"}
ALIASES = {"float": "decimal", "object": "map", "array": "list", "bool": "boolean", "int": "integer",
           "str": "string", "text": "string"}
NUMERIC = {"number", "integer", "decimal"}
ENTITY_FIELDS = {"description", "keys", "indexes", "attributes", "generate", "rps"}
ATTRIBUTE_FIELDS = {"type", "required", "key_only", "values", "members", "items", "min", "max", "format", "faker",
                    "length", "description"}
GENERATE_FIELDS = {"parent", "per_parent", "weight"}
FORMATS = {"iso", "epoch", "date"}


@dataclass
class Attribute:
    name: str
    type: str
    required: bool = False
    key_only: bool = False  # only inside key templates (e.g. the owner in GRP#{owner_uuid}), not stored
    values: tuple = ()  # enum
    members: dict[str, Attribute] = field(default_factory=dict)  # map
    items: Attribute | None = None  # list
    min: float | None = None
    max: float | None = None
    format: str | None = None  # timestamp: iso (default) | epoch | date
    faker: str | None = None
    length: tuple[int, int] | None = None  # list/set/string length hints

    def to_dict(self) -> dict:
        doc: dict[str, Any] = {"type": self.type, "required": self.required}
        for name in ("key_only", "min", "max", "format", "faker"):
            if getattr(self, name):
                doc[name] = getattr(self, name)
        if self.values:
            doc["values"] = list(self.values)
        if self.members:
            doc["members"] = {k: v.to_dict() for k, v in self.members.items()}
        if self.items is not None:
            doc["items"] = self.items.to_dict()
        return doc


class Template:
    """A key template such as ``ORDER#{placed_at}#{order_id}``: render values in, read values out."""

    def __init__(self, text: str):
        self.text = text
        self.parts = list(string.Formatter().parse(text))
        self.fields = [f for _, f, _, _ in self.parts if f]
        pattern, seen = "", set()
        for literal, name, _, _ in self.parts:
            pattern += re.escape(literal)
            if name:
                pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
                seen.add(name)
        self.regex = re.compile(f"^{pattern}$", re.DOTALL)

    @property
    def prefix(self) -> str:
        return self.parts[0][0] if self.parts else ""

    @property
    def literal(self) -> bool:
        return not self.fields

    def render(self, values: dict) -> str:
        return self.text.format(**{k: _text(values[k]) for k in self.fields})

    def match(self, value: Any) -> dict | None:
        if not isinstance(value, str):
            value = _text(value)
        m = self.regex.match(value)
        return m.groupdict() if m else None

    def overlaps(self, other: Template) -> bool:
        """Whether some value could follow both templates (judged on their fixed beginnings)."""
        if self.literal and other.literal:
            return self.text == other.text
        if self.literal:
            return self.text.startswith(other.prefix)
        if other.literal:
            return other.text.startswith(self.prefix)
        return self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@dataclass
class Entity:
    name: str
    table: str
    keys: dict[str, Template]  # table key attribute -> template
    indexes: dict[str, dict[str, Template]]  # index name -> key attribute -> template (explicit and implied)
    attributes: dict[str, Attribute]
    description: str = ""
    parent: str | None = None
    per_parent: tuple[int, int] | None = None
    weight: float = 1.0
    rps: float | None = None  # writes per second, for `ddb pattern cost`
    source: str = ""
    where: dict = field(default_factory=dict)  # what -> keypath in its file, for errors

    @property
    def key_fields(self) -> list[str]:
        out: list[str] = []
        for t in self.keys.values():
            out += [f for f in t.fields if f not in out]
        return out

    def stored(self) -> dict[str, Attribute]:
        return {n: a for n, a in self.attributes.items() if not a.key_only}

    def to_dict(self) -> dict:
        return {"name": self.name, "table": self.table, "description": self.description,
                "keys": {k: t.text for k, t in self.keys.items()},
                "indexes": {i: {k: t.text for k, t in m.items()} for i, m in self.indexes.items()},
                "attributes": {n: a.to_dict() for n, a in self.attributes.items()},
                "parent": self.parent, "per_parent": list(self.per_parent) if self.per_parent else None}

    def key_values(self, item: dict) -> dict | None:
        """The template fields read back from an item's table keys, or None when a key does not follow."""
        values: dict = {}
        for attr, template in self.keys.items():
            if attr not in item:
                return None
            got = template.match(item[attr])
            if got is None:
                return None
            values.update(got)
        return values

    def render_keys(self, values: dict) -> dict:
        """The table keys and index keys of an item with these attribute values (all fields present)."""
        out = {attr: t.render(values) for attr, t in self.keys.items()}
        for mapping in self.indexes.values():
            for attr, t in mapping.items():
                if attr not in out:
                    out[attr] = t.render(values)
        return out


# --- reading the YAML section ---------------------------------------------------------------------------------------------
Fail = Callable[[list, str], NoReturn]


def scoped(fail: Fail, prefix: list, label: str = "") -> Fail:
    """``fail`` for what sits under ``prefix``, each message starting with ``label``."""
    def inner(keypath: list, message: str) -> NoReturn:
        fail(prefix + keypath, label + message)
    return inner


def parse(raw: Any, spec, base: list) -> dict[str, Entity]:
    """The ``Entities`` of one table (``spec``: schema.TableSpec); errors name file, line and field."""
    if raw is None:
        return {}

    def fail(keypath: list, message: str) -> NoReturn:
        raise SchemaError(f"{yamlfile.dotted(base + keypath)}: {message}", path=spec.path,
                          line=yamlfile.line_of(spec.path, base + keypath))

    if not isinstance(raw, dict):
        fail([], "expected a mapping of entity name -> entity")
    out: dict[str, Entity] = {}
    for name, decl in raw.items():
        kp = [name]
        if not isinstance(decl, dict):
            fail(kp, "expected a mapping with at least 'keys' and 'attributes'")
        for key in decl:
            if key not in ENTITY_FIELDS:
                fail(kp + [key], f"entity '{name}': unknown field '{key}' (expected {', '.join(sorted(ENTITY_FIELDS))})")
        attrs_raw = decl.get("attributes") or {}
        if not isinstance(attrs_raw, dict):
            fail(kp + ["attributes"], f"entity '{name}': attributes must be a mapping of name -> type")
        attributes = {a: attribute(a, d, scoped(fail, kp + ["attributes", a], f"entity '{name}': "))
                      for a, d in attrs_raw.items()}
        keys = decl.get("keys")
        if not isinstance(keys, dict) or not keys:
            fail(kp + ["keys"], f"entity '{name}': keys must map the table's key attributes to templates")
        where: dict = {("keys", k): kp + ["keys", k] for k in keys}
        indexes_raw = decl.get("indexes") or {}
        if not isinstance(indexes_raw, dict):
            fail(kp + ["indexes"], f"entity '{name}': indexes must map index names to key templates")
        indexes: dict[str, dict[str, Any]] = {}
        for index, mapping in indexes_raw.items():
            if not isinstance(mapping, dict):
                fail(kp + ["indexes", index], f"entity '{name}': index '{index}' must map its key attributes to templates")
            indexes[index] = mapping
            where[("index", index)] = kp + ["indexes", index]
            where.update({("index", index, a): kp + ["indexes", index, a] for a in mapping})
        gen = decl.get("generate") or {}
        if not isinstance(gen, dict) or set(gen) - GENERATE_FIELDS:
            fail(kp + ["generate"], f"entity '{name}': generate takes {', '.join(sorted(GENERATE_FIELDS))}")
        per_parent = gen.get("per_parent")
        if per_parent is not None:
            if isinstance(per_parent, int) and not isinstance(per_parent, bool):
                per_parent = [per_parent, per_parent]
            if (not isinstance(per_parent, list) or len(per_parent) != 2
                    or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in per_parent)
                    or per_parent[0] > per_parent[1]):
                fail(kp + ["generate", "per_parent"], f"entity '{name}': per_parent is N or [min, max] (whole numbers ≥ 0)")
        weight = gen.get("weight", 1)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
            fail(kp + ["generate", "weight"], f"entity '{name}': weight must be a number > 0")
        rps = decl.get("rps")
        if rps is not None and (not isinstance(rps, (int, float)) or isinstance(rps, bool) or rps < 0):
            fail(kp + ["rps"], f"entity '{name}': rps (writes per second) must be a number ≥ 0")
        where[("generate", "parent")] = kp + ["generate", "parent"]
        where["entity"] = kp
        where["keys_kp"] = kp + ["keys"]
        out[str(name)] = build(str(name), spec, keys, indexes, attributes, description=str(decl.get("description", "")),
                               parent=gen.get("parent"), per_parent=tuple(per_parent) if per_parent else None,
                               weight=float(weight), where=where, fail=fail)
        out[str(name)].rps = float(rps) if rps is not None else None
    check(out, spec, fail)
    return out


def attribute(name: str, decl: Any, fail: Callable[[list, str], NoReturn]) -> Attribute:
    """One attribute declaration: a type name (``string``) or a mapping (``{type: enum, values: […]}``)."""
    if isinstance(decl, str):
        decl = {"type": decl}
    if not isinstance(decl, dict):
        fail([], f"attribute '{name}': expected a type name or a mapping with 'type'")
    for key in decl:
        if key not in ATTRIBUTE_FIELDS:
            fail([key], f"attribute '{name}': unknown field '{key}' (expected {', '.join(sorted(ATTRIBUTE_FIELDS))})")
    kind = ALIASES.get(str(decl.get("type")), decl.get("type"))
    if kind not in TYPES:
        fail(["type"], f"attribute '{name}': type must be one of {', '.join(sorted(TYPES))}, not {decl.get('type')!r}")
    for flag in ("required", "key_only"):
        if flag in decl and not isinstance(decl[flag], bool):
            fail([flag], f"attribute '{name}': {flag} must be true or false")
    a = Attribute(name, kind, required=bool(decl.get("required", False)), key_only=bool(decl.get("key_only", False)))
    if kind == "enum":
        values = decl.get("values")
        if not isinstance(values, list) or not values:
            fail(["values"], f"attribute '{name}': an enum needs values: [a, b, …]")
        a.values = tuple(values)
    elif "values" in decl:
        fail(["values"], f"attribute '{name}': values are for type enum")
    if kind == "map":
        members = decl.get("members") or {}
        if not isinstance(members, dict):
            fail(["members"], f"attribute '{name}': members must map names to types")
        a.members = {m: attribute(m, d, scoped(fail, ["members", m])) for m, d in members.items()}
    elif "members" in decl:
        fail(["members"], f"attribute '{name}': members are for type map")
    if kind == "list":
        a.items = attribute(f"{name}[]", decl.get("items", "string"), scoped(fail, ["items"]))
    elif "items" in decl:
        fail(["items"], f"attribute '{name}': items are for type list")
    for bound in ("min", "max"):
        value = decl.get(bound)
        if value is not None:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                fail([bound], f"attribute '{name}': {bound} must be a number")
            setattr(a, bound, value)
    if a.min is not None and a.max is not None and a.min > a.max:
        fail(["min"], f"attribute '{name}': min {a.min} is above max {a.max}")
    if decl.get("format") is not None:
        if kind != "timestamp" or decl["format"] not in FORMATS:
            fail(["format"], f"attribute '{name}': format is for timestamps: {', '.join(sorted(FORMATS))}")
        a.format = decl["format"]
    if decl.get("faker") is not None:
        if not isinstance(decl["faker"], str) or not decl["faker"].isidentifier():
            fail(["faker"], f"attribute '{name}': faker takes a Faker provider name such as 'sentence'")
        a.faker = decl["faker"]
    length = decl.get("length")
    if length is not None:
        if isinstance(length, int) and not isinstance(length, bool):
            length = [length, length]
        if not isinstance(length, list) or len(length) != 2 or not all(isinstance(n, int) and n >= 0 for n in length):
            fail(["length"], f"attribute '{name}': length is N or [min, max]")
        a.length = (length[0], length[1])
    return a


def _template(value: Any, fail: Fail, kp: list, label: str) -> Template:
    from cruddur_ops.ddb.patterns import _template_problem

    problem = _template_problem(value)
    if problem:
        fail(kp, label + problem)
    return Template(str(value))


def build(name: str, spec, keys: dict, indexes: dict, attributes: dict[str, Attribute], *, description: str = "",
          parent: Any = None, per_parent: tuple[int, int] | None = None, weight: float = 1.0, where: dict,
          fail: Fail) -> Entity:
    """An :class:`Entity` from key and index templates, checked against the table (``spec``)."""
    table_hash, table_range = spec.key_names()
    table_keys = [k for k in (table_hash, table_range) if k]
    templates: dict[str, Template] = {}
    for attr, text in keys.items():
        kp = where.get(("keys", attr), where["entity"])
        if attr not in table_keys:
            fail(kp, f"entity '{name}': '{attr}' is not a key of table {spec.name} (its keys: {', '.join(table_keys)})")
        templates[attr] = _template(text, fail, kp, f"entity '{name}': ")
    for attr in table_keys:
        if attr not in templates:
            fail(where.get("keys_kp", where["entity"]),
                 f"entity '{name}': no template for the table's key '{attr}'")
    known = {i: spec.key_names(i) for i in spec.index_names()}
    mappings: dict[str, dict[str, Template]] = {}
    for index, mapping in indexes.items():
        kp = where.get(("index", index), where["entity"])
        if index not in known:
            fail(kp, f"entity '{name}': unknown index '{index}' on table {spec.name} "
                     f"(indexes: {', '.join(known) or 'none'})")
        index_keys = [k for k in known[index] if k]
        out: dict[str, Template] = {}
        for attr, text in mapping.items():
            akp = where.get(("index", index, attr), kp)
            if attr not in index_keys:
                fail(akp, f"entity '{name}': '{attr}' is not a key of index {index} (its keys: {', '.join(index_keys)})")
            out[attr] = _template(text, fail, akp, f"entity '{name}': ")
        for attr in index_keys:
            if attr in out:
                continue
            if attr in templates:
                out[attr] = templates[attr]
            elif attr in attributes and not attributes[attr].key_only:
                out[attr] = Template("{" + attr + "}")
            else:
                fail(kp, f"entity '{name}': index {index}'s key '{attr}' is never filled "
                         f"(give it a template, or store an attribute '{attr}')")
        mappings[index] = out
    # implied: an index whose keys this entity always fills without saying so (a stored required attribute of
    # the same name, or the table's own key)
    for index, index_keys_t in known.items():
        if index in mappings:
            continue
        index_keys = [k for k in index_keys_t if k]
        if all(k in templates or (k in attributes and attributes[k].required and not attributes[k].key_only)
               for k in index_keys) and any(k not in templates for k in index_keys):
            mappings[index] = {k: templates.get(k) or Template("{" + k + "}") for k in index_keys}
    entity = Entity(name, spec.name, templates, mappings, attributes, description=description,
                    parent=str(parent) if parent is not None else None, per_parent=per_parent, weight=weight,
                    source=str(spec.path), where=where)
    for attr, t in templates.items():
        for f in t.fields:
            if f not in attributes:
                fail(where.get(("keys", attr), where["entity"]),
                     f"entity '{name}': template field '{f}' of {attr} is not an attribute of {name} "
                     f"(declare it under attributes; key_only: true when it lives only in the key)")
    for index, mapping in mappings.items():
        for attr, t in mapping.items():
            for f in t.fields:
                if f not in attributes and f not in templates:
                    fail(where.get(("index", index, attr), where.get(("index", index), where["entity"])),
                         f"entity '{name}': template field '{f}' of index {index} key {attr} is not an attribute of {name}")
    return entity


def check(entities: dict[str, Entity], spec, fail: Fail) -> None:
    """Checks across the entities of one table: parents exist, keys can be told apart."""
    names = list(entities)
    for e in entities.values():
        if e.parent is not None and e.parent not in entities:
            fail(e.where.get(("generate", "parent"), e.where["entity"]),
                 f"entity '{e.name}': parent '{e.parent}' is not an entity of table {spec.name} "
                 f"(entities: {', '.join(names)})")
    items = list(entities.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if all(attr in b.keys and a.keys[attr].overlaps(b.keys[attr]) for attr in a.keys):
                keys = ", ".join(f"{attr} {a.keys[attr].text!r} / {b.keys[attr].text!r}" for attr in a.keys)
                fail(b.where["entity"], f"entities '{a.name}' and '{b.name}' cannot be told apart by their keys "
                                        f"({keys}): give one a distinct fixed prefix")


def parents(entities: dict[str, Entity]) -> dict[str, list[str]]:
    """For each entity, the entities it refers to: its declared parent first, then every other entity (of any
    table) whose key fields it carries as attributes (``Order`` carries ``customer_id``: it refers to a
    ``Customer``). Used by ``generate`` to keep children pointing at parents that exist."""
    out: dict[str, list[str]] = {}
    for e in entities.values():
        refs: list[str] = [e.parent] if e.parent else []
        mine = set(e.key_fields)
        for p in entities.values():
            if p.name == e.name or p.name in refs:
                continue
            theirs = set(p.key_fields)
            if theirs and theirs <= set(e.attributes) and not mine <= theirs and theirs < mine | set(e.attributes):
                refs.append(p.name)
        out[e.name] = refs
    # no cycles: drop a reference that points back up
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple) -> None:
        if name in seen:
            return
        for ref in list(out[name]):
            if ref in path:
                out[name].remove(ref)
                continue
            visit(ref, path + (name,))
        seen.add(name)
        order.append(name)

    for name in entities:
        visit(name, ())
    return out

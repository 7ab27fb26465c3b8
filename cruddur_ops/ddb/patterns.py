"""Access patterns as data: declared in a schema file's ``AccessPatterns``, turned into Query requests, run.

```yaml
AccessPatterns:
  list-conversations:
    description: A user's conversations, newest first
    key: {pk: "GRP#{user_uuid}"}        # the partition key and its template; {name} is a parameter
    sort: {begins_with: "2024"}         # optional: begins_with | between [a, b] | = < <= > >=
    index: message-group-sk-index       # optional: key and sort then refer to the index's keys
    newest_first: true                  # ScanIndexForward false
    reverse: false                      # show the fetched page in the other order (the app's pattern A)
    limit: 20
```
The app's own commands (get-conversation, list-conversations) run these declarations, the same code as
``cruddur ddb pattern run``.
"""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field
from typing import Any

from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.ddb.typed import to_plain
from cruddur_ops.errors import InputError, NotFoundError, SchemaError
from cruddur_ops.io import yamlfile

FIELDS = {"description", "index", "key", "sort", "newest_first", "reverse", "limit", "entity", "rps"}
SORT_OPS = {"begins_with": "begins_with({name}, {v0})", "between": "{name} BETWEEN {v0} AND {v1}",
            "=": "{name} = {v0}", "<": "{name} < {v0}", "<=": "{name} <= {v0}", ">": "{name} > {v0}", ">=": "{name} >= {v0}"}


@dataclass(frozen=True)
class Pattern:
    name: str
    table: str
    key_attr: str
    key_template: str
    key_type: str = "S"
    index: str | None = None
    sort_attr: str | None = None
    sort_type: str = "S"
    sort_op: str | None = None
    sort_templates: tuple[str, ...] = ()
    newest_first: bool = False
    reverse: bool = False
    limit: int | None = None
    description: str = ""
    source: str = ""
    entity: str | None = None  # the entity it returns (ddb/entities.py)
    rps: float | None = None  # calls per second, for `ddb pattern cost`

    @property
    def parameters(self) -> list[str]:
        names: list[str] = []
        for template in (self.key_template, *self.sort_templates):
            for _, name, _, _ in string.Formatter().parse(template):
                if name and name not in names:
                    names.append(name)
        return names

    def to_dict(self) -> dict:
        doc: dict[str, Any] = {"name": self.name, "table": self.table, "index": self.index,
               "key": {self.key_attr: self.key_template}, "sort": None, "parameters": self.parameters,
               "newest_first": self.newest_first, "reverse": self.reverse, "limit": self.limit,
               "description": self.description, "source": self.source, "entity": self.entity}
        if self.sort_op:
            doc["sort"] = {self.sort_attr: {self.sort_op: list(self.sort_templates) if self.sort_op == "between" else self.sort_templates[0]}}
        return doc


def parse(raw: Any, spec) -> dict[str, Pattern]:
    """Validate a table's ``AccessPatterns`` against its keys and indexes; errors name file, pattern and field."""
    if raw is None:
        return {}
    base = spec.patterns_keypath if spec.patterns_keypath is not None else spec.keypath + ["AccessPatterns"]

    def fail(keypath: list, message: str):
        raise SchemaError(f"{yamlfile.dotted(base + keypath)}: {message}", path=spec.path,
                          line=yamlfile.line_of(spec.path, base + keypath))

    if not isinstance(raw, dict):
        fail([], "expected a mapping of pattern name -> pattern")
    patterns = {}
    for name, decl in raw.items():
        kp = [name]
        if not isinstance(decl, dict):
            fail(kp, "expected a mapping with at least 'key'")
        for key in decl:
            if key not in FIELDS:
                fail(kp + [key], f"pattern '{name}': unknown field '{key}' (expected {', '.join(sorted(FIELDS))})")
        index = decl.get("index")
        if index is not None and index not in spec.index_names():
            known = ", ".join(spec.index_names()) or "none"
            fail(kp + ["index"], f"pattern '{name}': unknown index '{index}' on table {spec.name} (indexes: {known})")
        hash_key, range_key = spec.key_names(index)
        where = f"index {index}" if index else f"table {spec.name}"
        key = decl.get("key")
        if not isinstance(key, dict) or len(key) != 1:
            fail(kp + ["key"], f"pattern '{name}': key must be one 'attribute: template' pair for the partition key '{hash_key}'")
        ((key_attr, key_template),) = key.items()
        if key_attr != hash_key:
            fail(kp + ["key"], f"pattern '{name}': '{key_attr}' is not the partition key of {where} (it is '{hash_key}')")
        problem = _template_problem(key_template)
        if problem:
            fail(kp + ["key", key_attr], f"pattern '{name}': {problem}")
        sort_op: str | None = None
        sort_templates: tuple[Any, ...] = ()
        if decl.get("sort") is not None:
            sort = decl["sort"]
            if range_key is None:
                fail(kp + ["sort"], f"pattern '{name}': {where} has no sort key, so a sort condition cannot apply")
            if not isinstance(sort, dict) or len(sort) != 1 or next(iter(sort)) not in SORT_OPS:
                fail(kp + ["sort"], f"pattern '{name}': sort must be one of {' | '.join(SORT_OPS)} with a value")
            ((sort_op, value),) = sort.items()
            if sort_op == "between":
                if not isinstance(value, list) or len(value) != 2:
                    fail(kp + ["sort", sort_op], f"pattern '{name}': between takes [low, high]")
                sort_templates = tuple(value)
            else:
                sort_templates = (value,)
            for template in sort_templates:
                problem = _template_problem(template)
                if problem:
                    fail(kp + ["sort", sort_op], f"pattern '{name}': {problem}")
            sort_templates = tuple(str(v) for v in sort_templates)
        limit = decl.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            fail(kp + ["limit"], f"pattern '{name}': limit must be a whole number ≥ 1")
        entity = decl.get("entity")
        # checked against the table's Entities; a file that declares none (a CloudFormation export) keeps the name
        if entity is not None and getattr(spec, "entities", None) and entity not in spec.entities:
            known = ", ".join(getattr(spec, "entities", {})) or "none"
            fail(kp + ["entity"], f"pattern '{name}': unknown entity '{entity}' on table {spec.name} (entities: {known})")
        rps = decl.get("rps")
        if rps is not None and (not isinstance(rps, (int, float)) or isinstance(rps, bool) or rps < 0):
            fail(kp + ["rps"], f"pattern '{name}': rps (calls per second) must be a number ≥ 0")
        for flag in ("newest_first", "reverse"):
            if flag in decl and not isinstance(decl[flag], bool):
                fail(kp + [flag], f"pattern '{name}': {flag} must be true or false")
        patterns[name] = Pattern(
            name=name, table=spec.name, key_attr=key_attr, key_template=str(key_template),
            key_type=spec.attribute_type(key_attr), index=index, sort_attr=range_key if sort_op else None,
            sort_type=spec.attribute_type(range_key) if range_key else "S", sort_op=sort_op,
            sort_templates=sort_templates, newest_first=bool(decl.get("newest_first", False)),
            reverse=bool(decl.get("reverse", False)), limit=limit, description=str(decl.get("description", "")),
            source=str(spec.path), entity=entity, rps=float(rps) if rps is not None else None,
        )
    return patterns


def _template_problem(template: Any) -> str | None:
    """Why ``template`` cannot be a key or sort template, or None: only ``{name}`` placeholders are allowed."""
    if template is None or isinstance(template, (dict, list, bool)):
        return f"expected a value or a template such as \"GRP#{{user_uuid}}\", not {template!r}"
    try:
        fields = list(string.Formatter().parse(str(template)))
    except ValueError as exc:
        return f"bad template {str(template)!r}: {exc} (write a literal brace as {{{{ or }}}})"
    for _, field_name, spec, conversion in fields:
        if field_name is None:
            continue
        if not field_name.isidentifier() or spec or conversion:
            return f"bad placeholder in {str(template)!r}: use {{name}} with a plain parameter name"
    return None


def read_each(files, *, context=None):
    """Read each schema file on its own, for the pattern commands: ``(tables, skipped)``, where ``skipped`` lists
    ``{"file", "reason"}`` of the files that could not be read (a template needing a parameter, a bad pattern),
    so one such file does not hide the patterns of the others. When no file can be read, the first file's
    error is raised."""
    from cruddur_ops.ddb import schema
    from cruddur_ops.errors import InputError

    tables, skipped, first = [], [], None
    for path in files:
        try:
            tables += schema.read([path], context=context).tables
        except InputError as exc:
            first = first or exc
            skipped.append({"file": str(path), "reason": str(exc)})
    if first is not None and not tables:
        raise first
    return tables, skipped


def find(tables, name: str) -> Pattern:
    """The pattern called ``name`` among the tables' declarations; a name declared twice is an error."""
    found = [t.patterns[name] for t in tables if name in t.patterns]
    if not found:
        known = sorted(n for t in tables for n in t.patterns)
        raise NotFoundError(f"no access pattern '{name}' (declared: {', '.join(known) or 'none'})")
    if len(found) > 1:
        where = ", ".join(f"{p.table} ({p.source})" for p in found)
        raise InputError(f"access pattern '{name}' is declared for more than one table: {where}; pass --schema FILE")
    return found[0]


def _fill(pattern: Pattern, template: str, params: dict[str, str]) -> str:
    missing = [p for _, p, _, _ in string.Formatter().parse(template) if p and p not in params]
    if missing:
        raise InputError(f"pattern '{pattern.name}' needs parameter '{missing[0]}' (pass --param {missing[0]}=…)")
    return template.format(**params)


def _sort_value(pattern: Pattern, template: str, params: dict[str, str]) -> str:
    """The sort-key value; a timestamp parameter compared with the sort key (``since=…Z``) in the table's form.

    Sort keys of cruddur-messages hold timestamps as aware UTC with microseconds, and DynamoDB compares strings:
    ``…23:53:00Z``, ``…23:53:00+00:00`` and ``2024-02-29T00:53:00+01:00`` are one instant but three strings.
    A parameter that is the whole sort template and an ISO 8601 date-time is normalized (``begins_with`` on a
    prefix such as a year is left alone); ``--explain`` shows the value sent.
    """
    value = _fill(pattern, template, params)
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    whole = len(fields) == 1 and template.strip() == "{" + fields[0] + "}"
    if whole and pattern.sort_op != "begins_with" and pattern.sort_type == "S":
        from cruddur_ops.io import timestamps

        if timestamps.looks_like_timestamp(value):
            return timestamps.normalize(value)
    return value


def build_request(pattern: Pattern, params: dict[str, str], *, limit: int | None = None, table: str | None = None) -> dict:
    """The exact Query request boto3's ``query`` takes for this pattern and these parameters."""
    unknown = sorted(set(params) - set(pattern.parameters))
    if unknown:
        raise InputError(f"pattern '{pattern.name}' has no parameter '{unknown[0]}' (it takes: {', '.join(pattern.parameters) or 'none'})")
    names: dict[str, str | None] = {"#pk": pattern.key_attr}
    values = {":pk": {pattern.key_type: _fill(pattern, pattern.key_template, params)}}
    expression = "#pk = :pk"
    if pattern.sort_op:
        names["#sk"] = pattern.sort_attr
        placeholders = {}
        for i, template in enumerate(pattern.sort_templates):
            placeholders[f"v{i}"] = f":sk{i}"
            values[f":sk{i}"] = {pattern.sort_type: _sort_value(pattern, template, params)}
        expression += " AND " + SORT_OPS[pattern.sort_op].format(name="#sk", **placeholders)
    request: dict[str, Any] = {"TableName": table or pattern.table}
    if pattern.index:
        request["IndexName"] = pattern.index
    request.update(KeyConditionExpression=expression, ExpressionAttributeNames=names,
                   ExpressionAttributeValues=values, ScanIndexForward=not pattern.newest_first)
    limit = limit if limit is not None else pattern.limit
    if limit:
        request["Limit"] = limit
    request["ReturnConsumedCapacity"] = "INDEXES"
    return request


@dataclass
class QueryResult:
    items: list[dict]
    capacity: Capacity
    pages: int = 0
    seconds: float = 0.0
    request: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.items)


def run(client, request: dict, *, reverse: bool = False) -> QueryResult:
    """Query every page until ``Limit`` items (when the request has one) or the end; plain items back."""
    limit = request.get("Limit")
    items: list[dict] = []
    capacity = Capacity("read")
    pages, started = 0, time.perf_counter()
    call = dict(request)
    while True:
        if limit:
            call["Limit"] = limit - len(items)
        response = client.query(**call)
        pages += 1
        capacity.requests += 1
        capacity.add(response.get("ConsumedCapacity"))
        items.extend(to_plain(i) for i in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last or (limit and len(items) >= limit):
            break
        call["ExclusiveStartKey"] = last
    if reverse:
        items.reverse()
    return QueryResult(items, capacity, pages, time.perf_counter() - started, request)


def run_pattern(client, pattern: Pattern, params: dict[str, str], *, limit: int | None = None,
                table: str | None = None) -> QueryResult:
    return run(client, build_request(pattern, params, limit=limit, table=table), reverse=pattern.reverse)

"""Every item of a table checked against its declared entities (``cruddur ddb validate``).

Each item is classified by the entity whose table-key templates it follows, then checked: index keys present
and equal to their templates, attribute types, required attributes, size (within 10 % of 400 KB), and the TTL
attribute (a number of seconds since the epoch that DynamoDB will act on). The scan runs in parallel segments;
progress goes to the ``on_progress(n)`` callback.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from cruddur_ops.ddb.entities import Attribute, Entity

MAX_ITEM = 400 * 1024
NEAR_LIMIT = 0.9  # within 10 % of DynamoDB's item size limit
MILLIS_FLOOR = 100_000_000_000  # seconds that large are past the year 5000: the value is in milliseconds
FIVE_YEARS = 5 * 365 * 86400  # DynamoDB ignores TTL values more than five years in the past; we flag as far ahead
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_PROBLEMS = 10_000  # kept in the report; the count goes on


class ProblemDoc(TypedDict):
    key: dict
    entity: str | None
    field: str | None
    problem: str


class ReportDoc(TypedDict):
    table: str
    items_checked: int
    by_entity: dict[str, int]
    problems: list[ProblemDoc]


@dataclass
class Report:
    table: str
    items_checked: int = 0
    by_entity: Counter = field(default_factory=Counter)
    problems: list[ProblemDoc] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0

    def add(self, key: dict, entity: str | None, name: str | None, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"key": key, "entity": entity, "field": name, "problem": problem})

    def to_dict(self) -> ReportDoc:
        return {"table": self.table, "items_checked": self.items_checked, "by_entity": dict(self.by_entity),
                "problems": self.problems}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)) or type(value).__name__ == "LongNumber":
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, dict):
        if len(value) == 1:
            tag = next(iter(value))
            return {"$ss": "a string set", "$ns": "a number set", "$bs": "a binary set", "$b64": "binary",
                    "$m": "a map"}.get(tag, "a map")
        return "a map"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)) or type(value).__name__ == "LongNumber"


def type_problem(a: Attribute, value: Any) -> str | None:
    """Why ``value`` (a plain value, ddb/typed.py) is not of ``a``'s declared type, or None."""
    kind = a.type
    if kind in ("string", "uuid", "email"):
        if not isinstance(value, str):
            return f"expected a string, got {_type_name(value)}"
        if kind == "uuid" and not UUID.match(value):
            return f"expected a UUID, got {value[:60]!r}"
        if kind == "email" and "@" not in value:
            return f"expected an email address, got {value[:60]!r}"
        return None
    if kind in ("number", "decimal", "integer"):
        if not _is_number(value):
            return f"expected a number, got {_type_name(value)}"
        if kind == "integer" and not isinstance(value, int) and Decimal(str(value)) % 1:
            return f"expected a whole number, got {value}"
        number = Decimal(str(value))
        if a.min is not None and number < Decimal(str(a.min)):
            return f"{value} is below the declared min {a.min}"
        if a.max is not None and number > Decimal(str(a.max)):
            return f"{value} is above the declared max {a.max}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"expected a boolean, got {_type_name(value)}"
    if kind == "timestamp":
        if a.format == "epoch":
            return None if _is_number(value) else f"expected seconds since the epoch (a number), got {_type_name(value)}"
        if not isinstance(value, str):
            return f"expected an ISO 8601 {'date' if a.format == 'date' else 'time'} (a string), got {_type_name(value)}"
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"expected an ISO 8601 time, got {value[:60]!r}"
        return None
    if kind == "enum":
        return None if value in a.values else f"{value!r} is not one of {', '.join(map(str, a.values))}"
    if kind == "map":
        inner = value.get("$m") if isinstance(value, dict) and set(value) == {"$m"} else value
        if not isinstance(inner, dict) or (len(inner) == 1 and next(iter(inner)) in ("$ss", "$ns", "$bs", "$b64")):
            return f"expected a map, got {_type_name(value)}"
        for name, member in a.members.items():
            if name not in inner:
                if member.required:
                    return f"member '{name}' is missing"
                continue
            problem = type_problem(member, inner[name])
            if problem:
                return f"member '{name}': {problem}"
        return None
    if kind == "list":
        if not isinstance(value, list):
            return f"expected a list, got {_type_name(value)}"
        if a.items is not None:
            for i, element in enumerate(value):
                problem = type_problem(a.items, element)
                if problem:
                    return f"element {i}: {problem}"
        return None
    tag = {"string_set": "$ss", "number_set": "$ns", "binary_set": "$bs", "binary": "$b64"}[kind]
    if not (isinstance(value, dict) and set(value) == {tag}):
        return f"expected {_type_name({tag: 0})}, got {_type_name(value)}"
    return None


class Checker:
    """Classifies and checks plain items of one table; ``problems(item)`` yields (entity, field, problem)."""

    def __init__(self, table: str, entities: Iterable[Entity], key_names: list[str], index_keys: dict[str, list[str]],
                 *, ttl_attribute: str | None = None, now: float | None = None):
        self.table = table
        self.entities = list(entities)
        self.key_names = key_names
        self.index_keys = index_keys  # index -> its key attributes
        self.ttl = ttl_attribute
        self.now = time.time() if now is None else now

    def classify(self, item: dict) -> tuple[Entity | None, dict | None]:
        for e in self.entities:
            values = e.key_values(item)
            if values is not None:
                return e, values
        return None, None

    def _closest(self, item: dict) -> tuple[Entity | None, str | None]:
        """The entity whose partition-key template the item follows (its sort key does not), and that key."""
        import os

        hash_key = self.key_names[0]
        best: tuple[int, Entity | None, str | None] = (-1, None, None)
        for e in self.entities:
            t = e.keys.get(hash_key)
            if t is not None and t.match(item.get(hash_key, "")) is not None:
                bad = next((k for k in self.key_names[1:] if e.keys[k].match(item.get(k, "")) is None), None)
                # the entity whose sort template begins most like the item's sort key
                score = len(os.path.commonprefix([e.keys[bad].prefix, str(item.get(bad, ""))])) if bad else 0
                if score > best[0]:
                    best = (score, e, bad)
        return best[1], best[2]

    def check(self, item: dict, size: int | None = None) -> tuple[str | None, list[tuple[str | None, str]]]:
        """(entity name or None, [(field, problem), …]) for one plain item; ``size``: its DynamoDB size."""
        out: list[tuple[str | None, str]] = []
        entity, values = self.classify(item)
        if entity is None:
            near, bad = self._closest(item)
            if near is not None and bad is not None:
                out.append((bad, f"{bad} {str(item.get(bad))[:80]!r} does not follow {near.name}'s template "
                                 f"{near.keys[bad].text!r}"))
                name = near.name
            else:
                keys = ", ".join(f"{k}={str(item.get(k))[:60]!r}" for k in self.key_names)
                out.append((None, f"no entity matches this item ({keys})"))
                name = None
            self._common(item, size, out)
            return name, out
        assert values is not None
        stored = entity.stored()
        for name, a in stored.items():
            if name not in item:
                if a.required:
                    out.append((name, "required attribute is missing"))
                continue
            problem = type_problem(a, item[name])
            if problem:
                out.append((name, problem))
        for name, a in entity.attributes.items():  # a key field's value must read back as its type
            if a.key_only and name in values:
                problem = type_problem(a, _as_declared(a, values[name]))
                if problem:
                    out.append((name, f"in the key: {problem}"))
        for name, value in values.items():
            if name in stored and name in item and _plain_text(item[name]) != value:
                out.append((name, f"the key says {name}={value!r} but the attribute is {_plain_text(item[name])!r}"))
        have = {**values, **{k: v for k, v in item.items() if k in stored}}
        for index, mapping in entity.indexes.items():
            for attr, template in mapping.items():
                if attr in self.key_names:
                    continue
                if not all(f in have for f in template.fields):
                    continue  # an optional field is absent: the item stays out of the index, as it may
                want = template.render(have)
                if attr not in item:
                    out.append((attr, f"index {index} key is missing (expected {want!r})"))
                elif _plain_text(item[attr]) != want:
                    out.append((attr, f"index {index} key is {_plain_text(item[attr])!r}, expected {want!r}"))
        mapped = {a for m in entity.indexes.values() for a in m} | set(self.key_names)
        for index, index_keys in self.index_keys.items():
            if index in entity.indexes:
                continue
            stray = [k for k in index_keys if k in item and k not in mapped and k not in stored]
            if stray and all(k in item for k in index_keys):
                out.append((stray[0], f"the item lands in index {index}, which {entity.name} does not use"))
        self._common(item, size, out)
        return entity.name, out

    def _common(self, item: dict, size: int | None, out: list) -> None:
        if size is not None and size >= NEAR_LIMIT * MAX_ITEM:
            out.append((None, f"item is {size / 1024:,.1f} KB, within 10 % of DynamoDB's 400 KB limit"))
        if self.ttl and self.ttl in item:
            problem = ttl_problem(item[self.ttl], self.now)
            if problem:
                out.append((self.ttl, problem))


def _as_declared(a: Attribute, text: str) -> Any:
    """A value read out of a key template (always text) in the attribute's type, for the type check."""
    if a.type in ("number", "decimal", "integer") or (a.type == "timestamp" and a.format == "epoch"):
        try:
            return int(text) if re.fullmatch(r"-?\d+", text) else Decimal(text)
        except ArithmeticError:
            return text
    if a.type == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _plain_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def ttl_problem(value: Any, now: float) -> str | None:
    """Why a TTL attribute's value will never expire the item (or expire it unexpectedly), or None."""
    if not _is_number(value):
        return f"TTL attribute is {_type_name(value)}, not a number of seconds: DynamoDB ignores it, the item never expires"
    seconds = float(value)
    if seconds >= MILLIS_FLOOR:
        return (f"TTL {value} looks like milliseconds since the epoch (seconds that large are past the year 5000): "
                "the item never expires; store seconds")
    if seconds > now + FIVE_YEARS:
        return f"TTL {value} is more than five years ahead ({_iso(seconds)}): the item will not expire for years"
    if seconds < now - FIVE_YEARS:
        return f"TTL {value} is more than five years in the past ({_iso(seconds)}): DynamoDB never deletes such items"
    return None


def _iso(seconds: float) -> str:
    from datetime import UTC

    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return "out of range"


def ttl_attribute(client, table: str) -> str | None:
    """The TTL attribute DescribeTimeToLive names (enabled or enabling), or None."""
    d = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription") or {}
    return d.get("AttributeName") if d.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None


def checker_for(client, spec, *, table: str | None = None, now: float | None = None) -> Checker:
    """A Checker for the live table ``table`` (default: the spec's name) with the spec's entities."""
    table = table or spec.name
    hash_key, range_key = spec.key_names()
    index_keys = {i: [k for k in spec.key_names(i) if k] for i in spec.index_names()}
    return Checker(table, spec.entities.values(), [k for k in (hash_key, range_key) if k], index_keys,
                   ttl_attribute=ttl_attribute(client, table), now=now)


def validate(client, spec, *, table: str | None = None, segments: int = 4,
             on_progress: Callable[[int], None] | None = None, now: float | None = None) -> Report:
    """Scan every item of the table (``segments`` in parallel) and check it against ``spec.entities``."""
    from cruddur_ops.ddb.scan import iter_pages
    from cruddur_ops.ddb.typed import item_size, to_plain

    checker = checker_for(client, spec, table=table, now=now)
    report = Report(checker.table)
    started = time.perf_counter()
    progress = on_progress or (lambda n: None)
    for page in iter_pages(client, checker.table, segments=segments):
        for typed in page:
            item = to_plain(typed)
            name, problems = checker.check(item, item_size(typed))
            report.items_checked += 1
            if name:
                report.by_entity[name] += 1
            key = {k: item.get(k) for k in checker.key_names}
            for attr, problem in problems:
                report.add(key, name, attr, problem)
        progress(len(page))
    report.seconds = time.perf_counter() - started
    return report

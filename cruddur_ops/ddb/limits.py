"""What DynamoDB refuses, found before the first write: the one validator of every writer.

``ddb import``, ``ddb seed``, ``ddb put``, ``ddb update``, ``ddb copy`` (and ``local snapshot load``) hand their
items to :func:`validate` (or :class:`Checker`) before they send anything. Each problem is named by file, line and
field; the error counts the bad items, and nothing is written. The limits (docs/formats.md):

- the table's key attributes present, with the key schema's types; index key attributes of their declared type;
- a partition key value at most 2,048 bytes, a sort key value at most 1,024 bytes;
- no empty string or binary in a key attribute of the table or of an index;
- numbers: at most 38 significant digits, magnitude 1E-130 to 9.9999999999999999999999999999999999999E+125
  (or zero); never NaN or Infinity;
- an item at most 400 KB as DynamoDB counts it (attribute names and values, ddb/typed.py's ``item_size``);
- maps and lists nested at most 32 levels, the item itself being the first (31 maps inside each other in an
  attribute are the most DynamoDB takes);
- one key once in a batch: ``3`` and ``3.0`` are the same N key (:func:`key_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cruddur_ops.errors import InputError

MAX_ITEM_BYTES = 400 * 1024
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_DIGITS = 38
MIN_EXPONENT = -130  # 1E-130, the smallest magnitude
MAX_EXPONENT = 125  # 9.9999999999999999999999999999999999999E+125, the largest
MAX_DEPTH = 32


@dataclass(frozen=True)
class KeyRules:
    """The key schema an item is checked against: the table's key names and every key attribute's type
    (the table's and its indexes')."""

    table: str
    hash: str
    range: str | None = None
    types: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash, self.range) if self.range else (self.hash,)

    @classmethod
    def of(cls, keys: Any) -> KeyRules:
        """From ddb/query.py's ``TableKeys`` (or a ``KeyRules``)."""
        if isinstance(keys, KeyRules):
            return keys
        return cls(keys.table, keys.key.hash, keys.key.range, dict(keys.types))

    @classmethod
    def from_description(cls, description: dict) -> KeyRules:
        """From DescribeTable's ``Table``."""
        types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
        schema = {k["KeyType"]: k["AttributeName"] for k in description["KeySchema"]}
        return cls(description.get("TableName", ""), schema["HASH"], schema.get("RANGE"), types)


def number_problem(text: str) -> str | None:
    """Why DynamoDB would refuse this number, or None."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        return f"'{text}' is not a number"
    if not d.is_finite():
        return f"{text} is not a number DynamoDB stores"
    if d.is_zero():
        return None
    digits = len("".join(map(str, d.as_tuple().digits)).strip("0"))  # not normalize(): it rounds to 28 digits
    if digits > MAX_DIGITS:
        return f"{digits} significant digits; DynamoDB keeps at most {MAX_DIGITS}"
    if d.adjusted() > MAX_EXPONENT:
        return f"{_short(text)} is too large; DynamoDB's numbers go up to 9.9999999999999999999999999999999999999E+125"
    if d.adjusted() < MIN_EXPONENT:
        return f"{_short(text)} is too small; DynamoDB's numbers go down to 1E-130 (or 0)"
    return None


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "…"


def _value_problems(av: dict, where: str, depth: int) -> Iterator[tuple[str, str]]:
    ((kind, value),) = av.items()
    if kind == "N":
        problem = number_problem(value)
        if problem:
            yield where, problem
    elif kind == "NS":
        for v in value:
            problem = number_problem(v)
            if problem:
                yield where, problem
                return
    elif kind in ("M", "L"):
        if depth > MAX_DEPTH:
            yield where, f"nested more than {MAX_DEPTH} levels deep (DynamoDB's limit)"
            return
        children = value.items() if kind == "M" else ((f"[{i}]", v) for i, v in enumerate(value))
        for name, child in children:
            path = f"{where}{name}" if kind == "L" else f"{where}.{name}"
            yield from _value_problems(child, path, depth + 1)


def _key_bytes(av: dict) -> int:
    ((kind, value),) = av.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "B":
        return len(value)
    return len(str(value))


def item_problems(item: dict, rules: KeyRules) -> list[tuple[str, str]]:
    """``(field, why)`` for everything DynamoDB would refuse in this item (empty when it would take it)."""
    from cruddur_ops.ddb.typed import item_size

    problems: list[tuple[str, str]] = []
    for name in rules.names:
        if name not in item:
            problems.append((name, f"missing, a key of {rules.table}"))
    for name, kind in rules.types.items():
        if name not in item:
            continue
        got = next(iter(item[name]))
        what = "a key" if name in rules.names else "an index key"
        if got != kind:
            problems.append((name, f"must be {kind} ({what} of {rules.table}), not {got}"))
            continue
        value = item[name][kind]
        if kind in ("S", "B") and len(value) == 0:
            problems.append((name, f"empty; {what} of {rules.table} cannot be empty"))
    for name, limit, what in ((rules.hash, MAX_PARTITION_KEY_BYTES, "partition key"),
                              (rules.range or "", MAX_SORT_KEY_BYTES, "sort key")):
        if name and name in item and rules.types.get(name, next(iter(item[name]))) == next(iter(item[name])):
            size = _key_bytes(item[name])
            if size > limit:
                problems.append((name, f"a {what} of {size:,} bytes; DynamoDB's limit is {limit:,}"))
    for name, av in item.items():
        problems += list(_value_problems(av, name, 2))  # the item is level 1: its maps and lists start at 2
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        problems.append(("", f"item of {size:,} bytes; DynamoDB's limit is 400 KB ({MAX_ITEM_BYTES:,} bytes, "
                             "attribute names and values)"))
    return problems


def _canonical(av: dict) -> Any:
    ((kind, value),) = av.items()
    if kind == "N":
        d = Decimal(value)
        if not d:
            return ("N", "0")
        digits = "".join(map(str, d.as_tuple().digits)).strip("0")
        return ("N", d.is_signed(), digits, d.adjusted())  # exact (normalize() would round to 28 digits)
    if kind == "B":
        return ("B", bytes(value))
    return (kind, value)


def key_of(item: dict, names: Sequence[str]) -> tuple:
    """The key as DynamoDB compares it: ``{"N": "3"}`` and ``{"N": "3.0"}`` are one key."""
    return tuple(_canonical(item[n]) if n in item else None for n in names)


def show_key(item: dict, names: Sequence[str]) -> str:
    from cruddur_ops.ddb.typed import plain_value

    return ", ".join(f"{n}={plain_value(item[n])}" for n in names if n in item)


class Checker:
    """Check items one by one and report all at the end: ``check`` returns the item's size (0 when bad);
    ``finish`` raises one :class:`InputError` naming the first problem (file, line, field) and counting the bad
    items. ``unique``: a key seen twice is a problem too (an import writes each key once)."""

    def __init__(self, keys: Any, *, path: Path | str | None = None, unique: bool = True):
        self.rules = KeyRules.of(keys)
        self.path = path
        self.unique = unique
        self.items = 0
        self.bad = 0
        self.first: tuple[int | None, str] | None = None
        self.seen: dict[tuple, int | None] = {}

    def check(self, item: dict, line: int | None = None, where: str = "") -> int:
        from cruddur_ops.ddb.typed import item_size

        self.items += 1
        problems = item_problems(item, self.rules)
        if not problems and self.unique:
            key = key_of(item, self.rules.names)
            if key in self.seen:
                other = self.seen[key]
                problems = [("", f"the same key ({show_key(item, self.rules.names)}) as "
                                 f"{f'line {other}' if other else 'an earlier item'}; each key is written once")]
            else:
                self.seen[key] = line
        if problems:
            self.bad += 1
            if self.first is None:
                name, why = problems[0]
                field = ".".join(p for p in (where, name) if p)
                self.first = (line, f"{field}: {why}" if field else why)
            return 0
        return item_size(item)

    def error(self) -> InputError | None:
        if self.first is None:
            return None
        line, message = self.first
        count = f"{self.bad:,} of {self.items:,} items" if self.bad > 1 else f"1 of {self.items:,} items"
        return InputError(f"{message} ({count} would be refused by DynamoDB; nothing written)",
                          path=self.path, line=line)

    def finish(self) -> None:
        error = self.error()
        if error is not None:
            raise error


def validate(items: Iterable[tuple[int | None, dict]], keys: Any, *, path: Path | str | None = None,
             unique: bool = True) -> tuple[int, int]:
    """Check every ``(line, item)`` before anything is written; returns ``(items, bytes)`` or raises one
    InputError naming the first bad item's file, line and field, with the count of bad items."""
    checker = Checker(keys, path=path, unique=unique)
    size = 0
    for line, item in items:
        size += checker.check(item, line)
    checker.finish()
    return checker.items, size


def check_value(av: dict, field: str) -> None:
    """One attribute value (``update --set``/``--add``): numbers and nesting."""
    for where, why in _value_problems(av, field, 2):
        raise InputError(f"{where}: {why}")

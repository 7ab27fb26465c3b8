"""The one type mapping between DynamoDB's attribute values and plain JSON, exact both ways.

======================  =====================================  ==============================================
DynamoDB                plain JSON (``jsonl``, ``json``)        note
======================  =====================================  ==============================================
``S``                   string
``N``                   number                                 every digit DynamoDB stores (38 significant),
                                                               never through a float; ``{"$n": "…"}`` also read,
                                                               and written by ``--output json`` for numbers a
                                                               double cannot hold (integers past 2**53 too)
``B``                   ``{"$b64": "<base64>"}``
``BOOL``                ``true`` / ``false``
``NULL``                ``null``
``L``                   array
``M``                   object                                 an object whose only key starts with ``$`` is
                                                               written ``{"$m": {…}}`` so it cannot be taken
                                                               for a typed form
``SS``                  ``{"$ss": ["a", "b"]}``
``NS``                  ``{"$ns": [1, 2.5]}``
``BS``                  ``{"$bs": ["<base64>", …]}``
======================  =====================================  ==============================================

``dynamodb-json`` is DynamoDB's own typed JSON, one ``{"Item": {…}}`` per line, as DynamoDB's export to S3
writes it (numbers as strings, binary as base64 strings).

Values handed to boto3's low-level client are its own shapes: ``{"N": "12.5"}``, ``{"B": b"…"}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

TYPED_KEYS = {"$b64", "$ss", "$ns", "$bs", "$n", "$m"}
_INT = re.compile(r"-?[0-9]+\Z")


class TypeMappingError(ValueError):
    """A plain value that has no DynamoDB form; ``field`` is its dotted path in the item."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


# --- DynamoDB -> plain -------------------------------------------------------------------------------------
class LongNumber:
    """A number that JSON must carry digit for digit (more than a float holds): :func:`dumps` writes its digits,
    a ``json.dumps`` default hook may write ``{"$n": text}``."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, LongNumber) and Decimal(other.text) == Decimal(self.text)

    def __repr__(self) -> str:
        return f"LongNumber({self.text!r})"


SAFE_INT = 2 ** 53  # the integers a double holds exactly: JSON readers in other languages parse numbers as doubles


def _number(text: str) -> Any:
    if _INT.match(text):
        n = int(text)
        return n if -SAFE_INT <= n <= SAFE_INT else LongNumber(text)
    try:
        f = float(text)
    except ValueError:  # pragma: no cover - DynamoDB only returns numbers
        return LongNumber(text)
    if Decimal(repr(f)) == Decimal(text):
        return f  # json writes repr(f): the same digits
    return LongNumber(text)


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def plain_value(av: dict) -> Any:
    ((kind, value),) = av.items()
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        m = {k: plain_value(v) for k, v in value.items()}
        return {"$m": m} if len(m) == 1 and next(iter(m)).startswith("$") else m
    if kind == "L":
        return [plain_value(v) for v in value]
    if kind == "SS":
        return {"$ss": sorted(value)}
    if kind == "NS":
        return {"$ns": [_number(v) for v in sorted(value, key=Decimal)]}
    if kind == "B":  # bytes from boto3, or already base64 in DynamoDB's wire JSON (export's fast path)
        return {"$b64": value if isinstance(value, str) else b64(value)}
    if kind == "BS":
        return {"$bs": sorted(v if isinstance(v, str) else b64(v) for v in value)}
    raise ValueError(f"unknown attribute type {kind}")


def key_order(item: dict) -> list[str]:
    """``pk``, ``sk``, then the rest alphabetically (the order every command prints)."""
    return sorted(item, key=lambda k: (k != "pk", k != "sk", k))


def to_plain(item: dict) -> dict:
    """``{"n": {"N": "5"}, "tags": {"SS": ["a"]}}`` -> ``{"n": 5, "tags": {"$ss": ["a"]}}``."""
    return {k: plain_value(item[k]) for k in key_order(item)}


def _has_raw(value: Any) -> bool:
    if isinstance(value, (LongNumber, Decimal)):
        return True
    if isinstance(value, dict):
        return any(_has_raw(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_raw(v) for v in value)
    return False


def _encode_slow(value: Any) -> str:
    if isinstance(value, LongNumber):
        return value.text
    if isinstance(value, Decimal):
        return str(value)  # finite: what :func:`loads` and DynamoDB hand out
    if isinstance(value, dict):
        return "{" + ", ".join(json.dumps(k, ensure_ascii=False) + ": " + _encode_slow(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_encode_slow(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def dumps(plain: Any) -> str:
    """One line of JSON for a ``to_plain`` result, numbers with every digit."""
    if _has_raw(plain):
        return _encode_slow(plain)
    return json.dumps(plain, ensure_ascii=False)


def jsonable(plain: Any) -> Any:
    """A ``to_plain`` result that ``json.dumps`` can take: a number a double cannot hold exactly (a
    :class:`LongNumber`, or a :class:`Decimal` from :func:`loads`) becomes ``{"$n": "…"}``, the typed form
    import also reads."""
    if isinstance(plain, (LongNumber, Decimal)):
        return json_number(plain)
    if isinstance(plain, dict):
        return {k: jsonable(v) for k, v in plain.items()}
    if isinstance(plain, list):
        return [jsonable(v) for v in plain]
    return plain


def json_number(value: Any) -> Any:
    """A number for ``--output json``: itself when a double holds it exactly, else ``{"$n": "<digits>"}``."""
    if isinstance(value, LongNumber):
        return {"$n": value.text}
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) <= SAFE_INT and "E" not in str(value):
            return int(value)
        f = float(value)
        return f if Decimal(repr(f)) == value else {"$n": str(value)}
    if isinstance(value, int) and not isinstance(value, bool) and not -SAFE_INT <= value <= SAFE_INT:
        return {"$n": str(value)}
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number DynamoDB stores")


def loads(text: str) -> Any:
    """Parse JSON with exact numbers (``Decimal`` for anything with a fraction or exponent). ``NaN`` and
    ``Infinity`` are refused (DynamoDB has no such numbers), and so is nesting too deep to read."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deep to read (DynamoDB keeps at most 32 levels)") from None


# --- plain -> DynamoDB -------------------------------------------------------------------------------------
def number_text(value: Any, field: str) -> str:
    if isinstance(value, bool):
        raise TypeMappingError(field, "expected a number, got a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeMappingError(field, f"{value} is not a number DynamoDB stores")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeMappingError(field, f"{value} is not a number DynamoDB stores")
        return str(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise TypeMappingError(field, f"'{value}' is not a number") from None
        if not d.is_finite():
            raise TypeMappingError(field, f"'{value}' is not a number DynamoDB stores")
        return value.strip()
    raise TypeMappingError(field, f"expected a number, got {type(value).__name__}")


def from_base64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise TypeMappingError(field, "binary must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TypeMappingError(field, "not valid base64") from None


def _unwrap_n(value: Any) -> Any:
    """``{"$n": "…"}`` in a ``$ns`` (as ``--output json`` prints a long number there) -> its text."""
    if isinstance(value, dict) and set(value) == {"$n"}:
        return str(value["$n"])
    return value


def _set(kind: str, values: Any, field: str) -> dict:
    if not isinstance(values, list) or not values:
        raise TypeMappingError(field, f"${kind.lower()} takes a non-empty list (DynamoDB has no empty sets)")
    if kind == "SS":
        if not all(isinstance(v, str) for v in values):
            raise TypeMappingError(field, "$ss takes strings only")
        out = list(values)
        key = out
    elif kind == "NS":
        out = [number_text(_unwrap_n(v), f"{field}[{i}]") for i, v in enumerate(values)]
        key = [Decimal(v) for v in out]
    else:
        out = [from_base64(v, f"{field}[{i}]") for i, v in enumerate(values)]
        key = out
    if len(set(key)) != len(key):
        raise TypeMappingError(field, f"${kind.lower()} holds the same value twice (a set cannot)")
    return {kind: out}


def attr_value(value: Any, field: str = "") -> dict:
    """A plain JSON value (parsed with :func:`loads`) -> its DynamoDB attribute value."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, float, Decimal)):
        return {"N": number_text(value, field)}
    if isinstance(value, list):
        return {"L": [attr_value(v, f"{field}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag.startswith("$"):
                if tag == "$b64":
                    return {"B": from_base64(inner, field)}
                if tag == "$n":
                    return {"N": number_text(inner if isinstance(inner, str) else str(inner), field)}
                if tag in ("$ss", "$ns", "$bs"):
                    return _set(tag[1:].upper(), inner, field)
                if tag == "$m":
                    if not isinstance(inner, dict):
                        raise TypeMappingError(field, "$m takes an object")
                    return {"M": {k: attr_value(v, f"{field}.{k}" if field else k) for k, v in inner.items()}}
                raise TypeMappingError(field, f"unknown typed form '{tag}' (expected one of "
                                              f"{', '.join(sorted(TYPED_KEYS))}; write {{\"$m\": …}} for a map)")
        return {"M": {k: attr_value(v, f"{field}.{k}" if field else k) for k, v in value.items()}}
    raise TypeMappingError(field, f"cannot store {type(value).__name__} in DynamoDB")


def to_attrs(item: Any) -> dict:
    """A plain item -> ``{"name": {"S": …}}``; raises :class:`TypeMappingError` naming the field."""
    if not isinstance(item, dict):
        raise TypeMappingError("", f"an item must be a JSON object, not {type(item).__name__}")
    return {k: attr_value(v, k) for k, v in item.items()}


# --- DynamoDB JSON (export to S3's format) -----------------------------------------------------------------
def wire_value(av: dict) -> dict:
    ((kind, value),) = av.items()
    if kind == "B":
        return {"B": b64(value)}
    if kind == "BS":
        return {"BS": [b64(v) for v in value]}
    if kind == "M":
        return {"M": {k: wire_value(v) for k, v in value.items()}}
    if kind == "L":
        return {"L": [wire_value(v) for v in value]}
    return av


def to_dynamodb_json(item: dict, *, wire: bool = False) -> str:
    """``{"Item": {"pk": {"S": "…"}, …}}`` on one line, as DynamoDB's export to S3 writes it. ``wire``: the item
    is already in DynamoDB's wire JSON (binary as base64), as export's fast path reads it."""
    if wire:
        return json.dumps({"Item": {k: item[k] for k in key_order(item)}}, ensure_ascii=False)
    return json.dumps({"Item": {k: wire_value(item[k]) for k in key_order(item)}}, ensure_ascii=False)


KINDS = {"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"}


def fromwire_value(av: Any, field: str) -> dict:
    """One DynamoDB JSON attribute value (binary as base64) -> the client's shape, checked."""
    if not isinstance(av, dict) or len(av) != 1:
        raise TypeMappingError(field, 'expected one typed value such as {"S": "…"}')
    ((kind, value),) = av.items()
    if kind not in KINDS:
        raise TypeMappingError(field, f"unknown attribute type '{kind}' (expected one of {', '.join(sorted(KINDS))})")
    if kind == "S":
        if not isinstance(value, str):
            raise TypeMappingError(field, "S takes a string")
        return av
    if kind == "N":
        if not isinstance(value, str):
            raise TypeMappingError(field, "N takes the number as a string")
        return {"N": number_text(value, field)}
    if kind == "B":
        return {"B": from_base64(value, field)}
    if kind == "BOOL":
        if not isinstance(value, bool):
            raise TypeMappingError(field, "BOOL takes true or false")
        return av
    if kind == "NULL":
        if value is not True:
            raise TypeMappingError(field, "NULL takes true")
        return av
    if kind == "L":
        if not isinstance(value, list):
            raise TypeMappingError(field, "L takes a list")
        return {"L": [fromwire_value(v, f"{field}[{i}]") for i, v in enumerate(value)]}
    if kind == "M":
        if not isinstance(value, dict):
            raise TypeMappingError(field, "M takes an object")
        return {"M": {k: fromwire_value(v, f"{field}.{k}") for k, v in value.items()}}
    if kind == "SS":
        return _set("SS", value, field)
    if kind == "NS":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeMappingError(field, "NS takes numbers as strings")
        return _set("NS", value, field)
    return _set("BS", value, field)


def from_dynamodb_json(doc: Any) -> dict:
    if not isinstance(doc, dict) or set(doc) != {"Item"} or not isinstance(doc["Item"], dict):
        raise TypeMappingError("", 'expected {"Item": {…}} (DynamoDB JSON, one item per line)')
    return {k: fromwire_value(v, k) for k, v in doc["Item"].items()}


# --- CSV: the one writer (scan/query/get ``-o csv``, ``export --format csv``, every ``-o csv`` result) ----------
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_KINDS = ("S", "N", "BOOL", "B", "JSON")


def csv_kind(value: Any) -> str:
    """The CSV column type of one plain value: S (a non-empty string), N, BOOL, B (``{"$b64"}``), else JSON."""
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, (int, float, Decimal, LongNumber)):
        return "N"
    if isinstance(value, str):
        return "S" if value else "JSON"  # an empty cell is no attribute: the empty string is written ""
    if isinstance(value, dict) and len(value) == 1 and value.get("$b64"):
        return "B"  # (empty binary is JSON: an empty cell is no attribute)
    return "JSON"


def csv_text(value: Any, kind: str, *, safe: bool = False) -> str:
    """One cell: S as is, N as its digits, BOOL true/false, B as base64, JSON as plain JSON (:func:`dumps`).
    ``safe``: a string a spreadsheet would run as a formula (``= + - @``, tab, CR first) gets a ``'`` first."""
    if kind == "JSON":
        return dumps(value)
    if kind == "B":
        return value["$b64"]
    if kind == "BOOL":
        return "true" if value else "false"
    if kind == "N":
        return str(value)
    text = value if isinstance(value, str) else dumps(value)
    if safe and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


@dataclass
class CsvWritten:
    rows: int
    columns: list[str]
    types: dict[str, str]  # columns that are not plain strings: what ``ddb import --types`` needs to read them back


def csv_columns(kinds: dict[str, str], keys: Sequence[str] | None) -> list[str]:
    """Items: the key attributes first, then the others alphabetically. Other rows: first seen first."""
    if keys is None:
        return list(kinds)
    return [k for k in keys if k in kinds] + sorted(k for k in kinds if k not in keys)


def write_csv(rows: Iterable[Any], out: IO[str], *, keys: Sequence[str] | None = None, safe: bool = False
              ) -> CsvWritten:
    """Write ``rows`` (plain values, as :func:`to_plain` gives items) as CSV; memory stays flat (the rows are
    spooled to a temporary file to learn the columns first).

    ``keys`` given: the rows are items; the key attributes lead, then the other columns alphabetically. A column
    holds one type (``csv_kind``) or, when its values are of several types (or hold ``null`` or the empty string),
    plain JSON in every cell, so ``ddb import --types`` (``CsvWritten.types``) reads every value back exactly.
    Without ``keys`` (any other result's rows): columns in the order first seen, ``null`` an empty cell.
    Cells with a line break or a bare carriage return are quoted; rows end with ``\n``.
    """
    import csv
    import io
    import tempfile

    items = keys is not None
    kinds: dict[str, str] = {}
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for row in rows:
            row = row if isinstance(row, dict) else {"value": row}
            for name, value in row.items():
                if not items:
                    kinds.setdefault(name, "S")  # only the order matters: each cell is written by its own type
                    continue
                kind, seen = csv_kind(value), kinds.get(name)
                kinds[name] = kind if seen is None or seen == kind else "JSON"
            spool.write(dumps(row) + "\n")
            count += 1
        names = csv_columns(kinds, keys)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")  # \r in the terminator: a bare \r gets quoted too

        def put(cells: list[str]) -> None:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(cells)
            out.write(buffer.getvalue()[:-2] + "\n")

        put(names)
        spool.seek(0)
        for line in spool:
            row = loads(line)
            cells = []
            for name in names:
                if name not in row or (row[name] is None and not items):
                    cells.append("")
                    continue
                value = row[name]
                kind = kinds[name] if items else ("S" if isinstance(value, str) else csv_kind(value))
                cells.append(csv_text(value, kind, safe=safe))
            put(cells)
    out.flush()
    return CsvWritten(count, names, {n: k for n, k in kinds.items() if k != "S"} if items else {})


# --- sizes -------------------------------------------------------------------------------------------------
def value_size(av: dict) -> int:
    """The bytes DynamoDB counts for one attribute value (its documented item-size rules)."""
    ((kind, value),) = av.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "N":
        digits = len(value.lstrip("-").replace(".", "").split("E")[0].split("e")[0].strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(value)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in value)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in value)
    if kind == "BS":
        return sum(len(v) for v in value)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in value.items())
    return 0


def item_size(item: dict) -> int:
    """An item's size as DynamoDB counts it (names + values), for write units and the 400 KB limit."""
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items())

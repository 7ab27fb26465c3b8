"""Any table's items in and out: import a file, export a table, copy a table, truncate, delete what a query selects.

Every write goes through the one engine (ddb/batch.py). Import validates the whole file before the first write
(a bad line is one error naming file, line and field, and nothing is written), then reads it again to write it,
so memory stays flat; ``-`` (stdin) is spooled to a temporary file first. Items are put by key, so running an
interrupted import again completes it.

Formats (the type mapping is ddb/typed.py's):

- ``jsonl``: one plain JSON item per line.
- ``json``: a JSON array of plain items (or ``{"items": [...]}``, as ``ddb scan -o json`` prints).
- ``csv``: a header row; key attributes typed from the key schema, other columns strings unless
  ``types={"col": "N"}`` (S, N, BOOL, B as base64, JSON for any plain JSON value); an empty cell is no attribute.
- ``dynamodb-json``: one ``{"Item": {…}}`` per line, as DynamoDB's export to S3 writes it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from cruddur_ops.ddb import batch, typed
from cruddur_ops.ddb.capacity import Capacity, WriteEstimate
from cruddur_ops.ddb.query import TableKeys, table_keys
from cruddur_ops.ddb.scan import WireItems, count_items, iter_pages
from cruddur_ops.errors import CruddurError, InputError

FORMATS = ("jsonl", "json", "csv", "dynamodb-json")
CSV_TYPES = ("S", "N", "BOOL", "B", "JSON")
MAX_ITEM = 400 * 1024
EXPORT_PAGE = 1000  # items a Scan page: with 4 segments about 8 pages are held, so memory stays well under 100 MB
csv.field_size_limit(MAX_ITEM * 4)


# --- reading ----------------------------------------------------------------------------------------------
def detect_format(path: Path, head: str) -> str:
    """From the extension (.jsonl/.ndjson, .json, .csv), else from the content: ``[`` json, ``{"Item"``
    dynamodb-json, ``{`` jsonl, anything else csv. A .jsonl file of ``{"Item": …}`` lines is dynamodb-json."""
    stripped = head.lstrip("\ufeff \t\r\n")
    typed_lines = stripped.startswith('{"Item"')
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "dynamodb-json" if typed_lines else "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".json" and (stripped.startswith("[") or '"items"' in stripped[:4096]):
        return "json"
    if stripped.startswith("["):
        return "json"
    if typed_lines:
        return "dynamodb-json"
    if stripped.startswith("{"):
        return "jsonl"
    return "csv"


@dataclass
class Source:
    """A file to import, readable twice (stdin is spooled to a temporary file)."""

    path: Path  # as named to the user: "<stdin>" for -
    real: Path
    spooled: bool = False

    @classmethod
    def open(cls, name: str, stdin: IO[bytes] | None = None) -> Source:
        if name == "-":
            fd, tmp = tempfile.mkstemp(prefix="cruddur-import-", suffix=".spool")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stdin, out)  # type: ignore[arg-type]
            return cls(Path("<stdin>"), Path(tmp), True)
        path = Path(name)
        if not path.exists():
            raise InputError("file not found", path=path)
        if path.is_dir():
            raise InputError("is a directory, not a file", path=path)
        return cls(path, path)

    def text(self) -> IO[str]:
        return open(self.real, encoding="utf-8", newline="")

    def head(self) -> str:
        with open(self.real, "rb") as f:
            return f.read(4096).decode("utf-8", "replace")

    def close(self) -> None:
        if self.spooled:
            self.real.unlink(missing_ok=True)


def _csv_cell(value: str, kind: str, field_name: str) -> dict:
    if kind == "S":
        return {"S": value}
    if kind == "N":
        return {"N": typed.number_text(value, field_name)}
    if kind == "B":
        return {"B": typed.from_base64(value, field_name)}
    if kind == "BOOL":
        low = value.strip().lower()
        if low not in ("true", "false"):
            raise typed.TypeMappingError(field_name, f"expected true or false, got '{value}'")
        return {"BOOL": low == "true"}
    try:
        return typed.attr_value(typed.loads(value), field_name)
    except ValueError as exc:
        if isinstance(exc, typed.TypeMappingError):
            raise
        raise typed.TypeMappingError(field_name, f"not JSON: {exc}") from None


def _json_array(text: str) -> Iterator[tuple[int, Any]]:
    """Elements of a JSON array with the line each starts on (``json`` of a large array, without a second copy)."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    n = len(text)
    i = 0

    def skip(j: int) -> int:
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j

    line, seen = 1, 0

    def line_at(j: int) -> int:
        nonlocal line, seen
        line += text.count("\n", seen, j)
        seen = j
        return line

    i = skip(i)
    if i < n and text[i] == "{":
        try:
            doc = decoder.decode(text)
        except ValueError as exc:
            raise _LineError(getattr(exc, "lineno", None), f"not JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
            raise _LineError(1, 'expected a JSON array of items or {"items": [...]}')
        for element in doc["items"]:
            yield 0, element
        return
    if i >= n or text[i] != "[":
        raise _LineError(line_at(i), 'expected a JSON array of items or {"items": [...]}')
    i = skip(i + 1)
    if i < n and text[i] == "]":
        return
    while True:
        start = line_at(i)
        try:
            element, i = decoder.raw_decode(text, i)
        except ValueError as exc:
            raise _LineError(getattr(exc, "lineno", start), f"not JSON: {getattr(exc, 'msg', exc)}") from None
        yield start, element
        i = skip(i)
        if i < n and text[i] == ",":
            i = skip(i + 1)
            continue
        if i < n and text[i] == "]":
            if skip(i + 1) != n:
                raise _LineError(line_at(skip(i + 1)), "text after the end of the array")
            return
        raise _LineError(line_at(i), "expected ',' or ']' between items")


class _LineError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def read_items(source: Source, fmt: str, keys: TableKeys, types: dict[str, str] | None = None
               ) -> Iterator[tuple[int, dict]]:
    """``(line, typed item)`` for every item of the file; one InputError naming file, line and field otherwise."""
    types = {**(types or {})}
    try:
        with source.text() as f:
            if fmt in ("jsonl", "dynamodb-json"):
                for lineno, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        doc = typed.loads(line)
                    except ValueError as exc:
                        raise InputError(f"not JSON: {getattr(exc, 'msg', exc)}", path=source.path, line=lineno) from None
                    try:
                        item = typed.from_dynamodb_json(doc) if fmt == "dynamodb-json" else typed.to_attrs(doc)
                    except typed.TypeMappingError as exc:
                        raise InputError(str(exc), path=source.path, line=lineno) from None
                    yield lineno, item
            elif fmt == "json":
                try:
                    for k, (lineno, doc) in enumerate(_json_array(f.read())):
                        try:
                            item = typed.to_attrs(doc)
                        except typed.TypeMappingError as exc:
                            where = "" if lineno else f"items[{k}]" + ("." if exc.field else ": ")
                            raise InputError(f"{where}{exc}", path=source.path, line=lineno or None) from None
                        yield lineno or k + 1, item
                except _LineError as exc:
                    raise InputError(exc.message, path=source.path, line=exc.line) from None
            elif fmt == "csv":
                yield from _read_csv(f, source.path, keys, types)
            else:
                raise InputError(f"unknown format '{fmt}' (expected {', '.join(FORMATS)})")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=source.path) from None


def _read_csv(f: IO[str], path: Path, keys: TableKeys, types: dict[str, str]) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty CSV: expected a header row", path=path, line=1) from None
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", path=path, line=1) from None
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    for name in keys.key.names:
        if name not in header:
            raise InputError(f"the header has no column '{name}', a key of {keys.table}", path=path, line=1)
    for name in types:
        if name not in header:
            raise InputError(f"--types names '{name}', which is not a column", path=path, line=1)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"column '{dup}' appears twice in the header", path=path, line=1)
    kinds = [types.get(h) or keys.types.get(h) or "S" for h in header]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"bad CSV: {exc}", path=path, line=reader.line_num) from None
        line = reader.line_num
        if not row or row == [""]:
            continue
        if len(row) > len(header):
            raise InputError(f"{len(row)} cells but the header has {len(header)} columns", path=path, line=line)
        item = {}
        for name, kind, cell in zip(header, kinds, row, strict=False):  # a short row: missing cells
            if cell == "":
                continue
            try:
                item[name] = _csv_cell(cell, kind, name)
            except typed.TypeMappingError as exc:
                raise InputError(str(exc), path=path, line=line) from None
        yield line, item


# --- validation -------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What an import would write: checked items, write units (computed like DynamoDB bills them)."""

    table: str
    file: str
    format: str
    items: int = 0
    bytes: int = 0
    estimate: WriteEstimate | None = None

    def to_dict(self, prices=None) -> dict:
        cap = self.estimate.capacity if self.estimate else Capacity("write", source="computed")
        return {"table": self.table, "file": self.file, "format": self.format, "dry_run": True,
                "items": self.items, "bytes": self.bytes, "write_units": cap.to_dict(prices)}


def check_item(item: dict, keys: TableKeys, path: Path, line: int) -> int:
    """Keys present and of their declared types, item within 400 KB; returns its size."""
    for name in keys.key.names:
        if name not in item:
            raise InputError(f"{name}: missing, a key of {keys.table}", path=path, line=line)
    for name, kind in keys.types.items():
        if name in item:
            got = next(iter(item[name]))
            if got != kind:
                what = "a key" if name in keys.key.names else "an index key"
                raise InputError(f"{name}: must be {kind} ({what} of {keys.table}), not {got}", path=path, line=line)
            value = item[name][kind]
            if kind in ("S", "B") and len(value) == 0 and name in keys.key.names:
                raise InputError(f"{name}: a key cannot be empty", path=path, line=line)
    size = typed.item_size(item)
    if size > MAX_ITEM:
        raise InputError(f"item of {size:,} bytes; DynamoDB's limit is 400 KB", path=path, line=line)
    return size


def plan_import(source: Source, fmt: str, keys: TableKeys, types: dict[str, str] | None = None) -> Plan:
    """Read and check the whole file (nothing is sent); one InputError for the first bad line."""
    for name, kind in (types or {}).items():
        if kind not in CSV_TYPES:
            raise InputError(f"--types {name}={kind}: the type must be one of {', '.join(CSV_TYPES)}")
    plan = Plan(keys.table, str(source.path), fmt, estimate=WriteEstimate(keys.description))
    assert plan.estimate is not None
    seen: dict[tuple, int] = {}
    names = keys.key.names
    for line, item in read_items(source, fmt, keys, types):
        plan.bytes += check_item(item, keys, source.path, line)
        key = tuple(repr(item[n]) for n in names)
        if key in seen:
            shown = ", ".join(f"{n}={typed.plain_value(item[n])}" for n in names)
            raise InputError(f"the same key ({shown}) as line {seen[key]}; an import writes each key once",
                             path=source.path, line=line)
        seen[key] = line
        plan.estimate.put(item, typed.item_size)
        plan.items += 1
    return plan


@dataclass
class WriteResult:
    table: str
    items: int  # planned (or found, for deletes)
    written: int
    deleted: int
    seconds: float
    retries: int
    workers: int
    capacity: Capacity | None
    extra: dict = field(default_factory=dict)

    def to_dict(self, prices=None) -> dict:
        done = self.written + self.deleted
        return {"table": self.table, **self.extra, "items": self.items, "items_written": self.written,
                "items_deleted": self.deleted, "seconds": round(self.seconds, 3),
                "items_per_second": round(done / self.seconds, 1) if self.seconds else None,
                "retries": self.retries, "workers": self.workers,
                "consumed_capacity": self.capacity.to_dict(prices) if self.capacity is not None else None}


def _units_of(estimate: WriteEstimate) -> Callable[[dict], float]:
    def units(request: dict) -> float:
        if "DeleteRequest" in request:
            return 1.0
        before = estimate.capacity.total
        estimate.put(request["PutRequest"]["Item"], typed.item_size)
        used = estimate.capacity.total - before
        estimate.capacity.total = before  # only measuring
        return used

    return units


def _run(writer: batch.BatchWriter, requests: Iterator[dict], total: int, what: str, rerun: str) -> batch.WriteStats:
    try:
        return writer.write(requests)
    except batch.IncompleteWrite as exc:
        raise exc.with_total(total, what=what, rerun=rerun) from None
    except batch.Interrupted as exc:
        raise batch.Interrupted(exc.signum, done=exc.done, total=total) from None


def import_file(client, source: Source, fmt: str | None, keys: TableKeys, *, types: dict[str, str] | None = None,
                workers: int = 16, rate: float | None = None, capacity: str = "reported",
                give_up_after: float = batch.GIVE_UP_AFTER, on_progress=None, on_pace=None,
                plan: Plan | None = None) -> WriteResult:
    """Write every item of ``source`` (checked first with :func:`plan_import` unless ``plan`` is given)."""
    fmt = fmt or detect_format(source.path if source.path.name != "<stdin>" else Path(""), source.head())
    plan = plan or plan_import(source, fmt, keys, types)
    assert plan.estimate is not None  # plan_import always sets it
    started = time.perf_counter()
    writer = batch.BatchWriter(client, keys.table, workers=workers, on_progress=on_progress, on_pace=on_pace,
                               capacity=capacity == "reported", give_up_after=give_up_after, rate=rate,
                               units=_units_of(WriteEstimate(keys.description)), key_names=keys.key.names)
    requests = ({"PutRequest": {"Item": item}} for _, item in read_items(source, fmt, keys, types))
    stats = _run(writer, requests, plan.items, "items written", "run the same import again")
    used = stats.capacity if capacity == "reported" else (plan.estimate.capacity if capacity == "computed" else None)
    if used is not None:
        used.requests = stats.capacity.requests
    return WriteResult(keys.table, plan.items, stats.written, stats.deleted, time.perf_counter() - started,
                       stats.retries, workers, used, {"file": str(source.path), "format": fmt, "rate": rate})


# --- export -----------------------------------------------------------------------------------------------
def _csv_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return typed.dumps(value)
    return str(value)  # int, float, LongNumber: the digits


@dataclass
class ExportResult:
    table: str
    format: str
    out: str
    items: int
    seconds: float
    segments: int
    capacity: Capacity

    def to_dict(self, prices=None) -> dict:
        return {"table": self.table, "format": self.format, "out": self.out, "items": self.items,
                "seconds": round(self.seconds, 3),
                "items_per_second": round(self.items / self.seconds, 1) if self.seconds else None,
                "segments": self.segments, "scanned_count": self.capacity.scanned,
                "consumed_capacity": self.capacity.to_dict(prices)}


class _Counter:
    def __init__(self):
        self.n = 0


def export_table(client, table: str, out: IO[str], fmt: str, *, segments: int = 4, on_progress=None,
                 limit: int | None = None, out_name: str = "-") -> ExportResult:
    """Write every item of ``table`` to ``out``: memory stays flat (csv spools its rows to a temporary file
    to learn the columns first). On Ctrl-C raises :class:`batch.Interrupted` with the count written."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}' (expected {', '.join(FORMATS)})")
    keys = table_keys(client, table)
    capacity = Capacity("read")
    advance = on_progress or (lambda n: None)
    count = _Counter()
    started = time.perf_counter()
    wire = WireItems(client).__enter__()  # items as DynamoDB's JSON, parsed by json.loads alone
    pages = iter_pages(client, table, segments=segments, capacity=capacity, limit=limit, page_size=EXPORT_PAGE)
    try:
        if fmt == "csv":
            _export_csv(pages, out, keys, count, advance)
        else:
            write = out.write
            first = True
            if fmt == "json":
                write("[")
            for items in pages:
                if fmt == "dynamodb-json":
                    chunk = "".join(typed.to_dynamodb_json(i, wire=True) + "\n" for i in items)
                elif fmt == "jsonl":
                    chunk = "".join(typed.dumps(typed.to_plain(i)) + "\n" for i in items)
                else:
                    lines = [typed.dumps(typed.to_plain(i)) for i in items]
                    if not lines:
                        continue
                    chunk = ("\n" if first else ",\n") + ",\n".join(lines)
                    first = False
                write(chunk)
                count.n += len(items)
                advance(len(items))
            if fmt == "json":
                write("\n]\n" if not first else "]\n")
        out.flush()
    except KeyboardInterrupt as exc:
        raise batch.Interrupted(getattr(exc, "signum", 2), done=count.n) from None
    finally:
        pages.close()  # stops the segments' threads now, not when the generator is collected
        wire.__exit__(None, None, None)
    return ExportResult(table, fmt, out_name, count.n, time.perf_counter() - started, segments, capacity)


def _export_csv(pages, out: IO[str], keys: TableKeys, count: _Counter, advance) -> None:
    columns: dict[str, None] = {n: None for n in keys.key.names}
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for items in pages:
            for item in items:
                for name in item:
                    columns.setdefault(name, None)
                spool.write(typed.dumps(typed.to_plain(item)) + "\n")
            count.n += len(items)
            advance(len(items))
        names = list(columns)
        names = list(keys.key.names) + sorted(n for n in names if n not in keys.key.names)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        spool.seek(0)
        for line in spool:
            plain = typed.loads(line)
            writer.writerow([_csv_text(plain[n]) if n in plain else "" for n in names])


def export_to_path(client, table: str, path: Path, fmt: str, **kw) -> ExportResult:
    """Export into ``path`` through a new temporary file beside it (``O_EXCL|O_NOFOLLOW``), renamed only when
    complete (an interrupted export leaves no file that looks whole; a planted symlink is never written through)."""
    from cruddur_ops.io.files import atomic_write

    with atomic_write(path, "w", encoding="utf-8", newline="") as out:
        return export_table(client, table, out, fmt, out_name=str(path), **kw)


def format_for_path(path: Path | None) -> str:
    if path is None:
        return "jsonl"
    suffix = path.suffix.lower()
    return {".json": "json", ".csv": "csv"}.get(suffix, "jsonl")


# --- copy -------------------------------------------------------------------------------------------------
def create_request_from(description: dict, name: str) -> dict:
    """A CreateTable request for ``name`` shaped like ``description`` (keys, indexes, billing, stream)."""
    d = description
    billing = (d.get("BillingModeSummary") or {}).get("BillingMode") or (
        "PROVISIONED" if (d.get("ProvisionedThroughput") or {}).get("ReadCapacityUnits") else "PAY_PER_REQUEST")

    def throughput(t: dict | None) -> dict:
        t = t or {}
        return {"ReadCapacityUnits": t.get("ReadCapacityUnits") or 1, "WriteCapacityUnits": t.get("WriteCapacityUnits") or 1}

    request: dict[str, Any] = {"TableName": name, "AttributeDefinitions": d["AttributeDefinitions"],
                               "KeySchema": d["KeySchema"], "BillingMode": billing}
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput(d.get("ProvisionedThroughput"))
    gsis = []
    for i in d.get("GlobalSecondaryIndexes") or []:
        g = {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        if billing == "PROVISIONED":
            g["ProvisionedThroughput"] = throughput(i.get("ProvisionedThroughput"))
        gsis.append(g)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in d.get("LocalSecondaryIndexes") or []]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    stream = d.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def ensure_table(src_client, source: str, dst_client, dest: str) -> dict:
    """Create ``dest`` like ``source`` when absent (with its TTL setting); returns what was done."""
    description = src_client.describe_table(TableName=source)["Table"]
    try:
        dst_client.describe_table(TableName=dest)
        return {"created": False}
    except Exception as exc:
        if (getattr(exc, "response", None) or {}).get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    dst_client.create_table(**create_request_from(description, dest))
    dst_client.get_waiter("table_exists").wait(TableName=dest, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    ttl = None
    try:
        ttl = src_client.describe_time_to_live(TableName=source).get("TimeToLiveDescription") or {}
    except Exception:  # an engine without TTL support
        ttl = None
    if ttl and ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
        dst_client.update_time_to_live(TableName=dest, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": ttl["AttributeName"]})
    return {"created": True, "ttl": ttl.get("AttributeName") if ttl else None}


def copy_table(src_client, source: str, dst_client, dest: str, *, segments: int = 4, workers: int = 16,
               rate: float | None = None, give_up_after: float = batch.GIVE_UP_AFTER, on_progress=None,
               on_pace=None, capacity: bool = True) -> WriteResult:
    """Create ``dest`` when absent, then copy every item in parallel segments through the batch engine."""
    made = ensure_table(src_client, source, dst_client, dest)
    keys = table_keys(dst_client, dest)
    read = Capacity("read")
    total = src_client.describe_table(TableName=source)["Table"].get("ItemCount") or 0
    started = time.perf_counter()
    writer = batch.BatchWriter(dst_client, dest, workers=workers, on_progress=on_progress, on_pace=on_pace,
                               capacity=capacity, give_up_after=give_up_after, rate=rate,
                               units=_units_of(WriteEstimate(keys.description)), key_names=keys.key.names)
    seen = _Counter()

    def requests():
        for items in iter_pages(src_client, source, segments=segments, capacity=read):
            seen.n += len(items)
            for item in items:
                yield {"PutRequest": {"Item": item}}

    stats = _run(writer, requests(), total, "items written", "run the same copy again")
    return WriteResult(dest, seen.n, stats.written, stats.deleted, time.perf_counter() - started, stats.retries,
                       workers, stats.capacity if capacity else None,
                       {"source": source, "created": made["created"], "read_units": round(read.total, 4)})


# --- deletes ----------------------------------------------------------------------------------------------
def truncate(client, table: str, *, segments: int = 4, workers: int = 16, total: int | None = None,
             give_up_after: float = batch.GIVE_UP_AFTER, on_progress=None, on_pace=None) -> WriteResult:
    """Delete every item (parallel segments read the keys; the engine deletes them). The table stays."""
    keys = table_keys(client, table)
    total = count_items(client, table) if total is None else total
    started = time.perf_counter()
    writer = batch.BatchWriter(client, table, workers=workers, on_progress=on_progress, on_pace=on_pace,
                               capacity=True, give_up_after=give_up_after, key_names=keys.key.names)
    requests = ({"DeleteRequest": {"Key": item}}
                for items in iter_pages(client, table, segments=segments, key_names=keys.key.names) for item in items)
    stats = _run(writer, requests, total, "items deleted", "run the same truncate again")
    return WriteResult(table, total, stats.written, stats.deleted, time.perf_counter() - started, stats.retries,
                       workers, stats.capacity)


def delete_keys(client, keys: TableKeys, found: list[dict], *, workers: int = 16,
                give_up_after: float = batch.GIVE_UP_AFTER, on_progress=None) -> WriteResult:
    """Delete the items with these keys (what ``delete-items`` selected with a query)."""
    started = time.perf_counter()
    writer = batch.BatchWriter(client, keys.table, workers=workers, on_progress=on_progress, capacity=True,
                               give_up_after=give_up_after, key_names=keys.key.names)
    stats = _run(writer, ({"DeleteRequest": {"Key": k}} for k in found), len(found), "items deleted",
                 "run the same delete-items again")
    return WriteResult(keys.table, len(found), stats.written, stats.deleted, time.perf_counter() - started,
                       stats.retries, workers, stats.capacity)


def check_copy(source: str, dest: str, same_endpoint: bool) -> None:
    if same_endpoint and source == dest:
        raise CruddurError(f"copy {source} onto itself: give another DEST name or --to-endpoint/--to-profile")


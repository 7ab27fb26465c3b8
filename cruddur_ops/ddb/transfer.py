"""Any table's items in and out: import a file, export a table, copy a table, truncate, delete what a query selects.

Every write goes through the one engine (ddb/batch.py). Import validates the whole file before the first write
(ddb/limits.py: a line that cannot be read is one error naming file, line and field; items DynamoDB would refuse
are counted and the first is named; nothing is written), then reads it again to write it, so memory stays flat.
Stdin, pipes, FIFOs, process substitution and gzip are spooled once to a private temporary file. Items are put by
key, so running an interrupted import again completes it.

Formats (docs/formats.md; the type mapping is ddb/typed.py's):

- ``jsonl``: one plain JSON item per line.
- ``json``: one document: an array of plain items, ``{"items": [...]}`` (as ``ddb scan -o json`` prints), one
  item, a BatchWriteItem request file, or a NoSQL Workbench model's ``TableData``; pretty-printed or not.
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

from cruddur_ops.ddb import batch, limits, typed
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
GZIP_MAGIC = b"\x1f\x8b"
HEAD = 64 * 1024  # bytes read to tell the format
MAX_RATIO = 200  # a gzip member may grow 200-fold (after its first MiB); more is refused as a bomb
FREE_BYTES = 1 << 20


def _document_kind(doc: Any) -> str | None:
    """Which whole-document form a parsed JSON object is: ``items`` (``{"items": [...]}``), ``item``
    (``{"Item": {…}}``), ``workbench`` (a NoSQL Workbench model), ``batch`` (a BatchWriteItem request file,
    ``{"Table": [{"PutRequest": …}]}``, optionally under ``RequestItems``), else None (one plain item)."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("items"), list):
        return "items"
    if set(doc) == {"Item"} and isinstance(doc["Item"], dict):
        return "item"
    if isinstance(doc.get("DataModel"), list):
        return "workbench"
    requests = doc.get("RequestItems") if isinstance(doc.get("RequestItems"), dict) else doc
    if requests and all(isinstance(v, list) and v and all(isinstance(r, dict) and set(r) & {"PutRequest", "DeleteRequest"}
                                                          for r in v) for v in requests.values()):
        return "batch"
    return None


def detect_format(path: Path, head: str) -> str:
    """From the extension (.jsonl/.ndjson, .csv; a .gz is looked through), else from the content: ``[`` json;
    ``{`` json lines when the first line is a whole object (``{"Item"…}`` lines: dynamodb-json), else one JSON
    document (pretty-printed, ``{"items": …}``, a BatchWriteItem request file, a Workbench model); anything
    else csv."""
    stripped = head.lstrip("\ufeff \t\r\n")
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    first = stripped.split("\n", 1)[0]
    typed_lines = stripped.startswith('{"Item"')
    if suffix in (".jsonl", ".ndjson"):
        return "dynamodb-json" if typed_lines else "jsonl"
    if suffix == ".csv":
        return "csv"
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        try:
            doc = json.loads(first)
        except ValueError:
            return "json"  # an object over several lines: one document
        kind = _document_kind(doc)
        if kind == "item" and (typed_lines or "\n" in stripped):
            return "dynamodb-json"
        return "json" if kind else "jsonl"
    if suffix == ".json":
        return "json"
    return "csv"


def _gunzip(src: Any, dst: IO[bytes], name: str) -> None:
    """Decompress a gzip stream (several members too) with flat memory; refuse what grows more than
    ``MAX_RATIO``-fold (a gzip bomb) or is cut short."""
    import zlib

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    fed = out = 0
    started = False
    while True:
        chunk = src.read(1 << 16)
        if not chunk:
            break
        fed += len(chunk)
        buf = chunk
        while buf:
            if d.eof:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            started = True
            try:
                data = d.decompress(buf, 1 << 20)
            except zlib.error as exc:
                raise InputError(f"not a valid gzip file ({exc})", path=name) from None
            out += len(data)
            if out > FREE_BYTES + MAX_RATIO * fed:
                raise InputError(f"refused: it decompresses to over {MAX_RATIO} times its size (a gzip bomb?)", path=name)
            dst.write(data)
            buf = d.unused_data if d.eof else d.unconsumed_tail
    if started and not d.eof:
        raise InputError("the gzip data is cut short", path=name)


def plain_gzip(name: str) -> bool:
    """Whether ``name`` is a gzipped file of a developer's own (JSON lines, a JSON document, CSV) rather than a data
    file of a DynamoDB export to S3 (DynamoDB JSON ``{"Item"…}`` lines, incremental records, Ion), which
    ``ddb import`` reads with ddb/s3.py. Only the head is decompressed."""
    import zlib

    try:
        with open(name, "rb") as f:
            if f.read(2) != GZIP_MAGIC:
                return False
            f.seek(0)
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(f.read(HEAD), HEAD)
    except (OSError, zlib.error):
        return False
    if head.startswith((b"\xe0\x01\x00\xea", b"$ion_1_0")):
        return False
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    try:
        first = json.loads(text.split("\n", 1)[0])
    except ValueError:
        first = None
    if isinstance(first, dict) and ({"Item"} == set(first) or {"Keys", "NewImage", "OldImage", "Metadata"} & set(first)):
        return False
    return True


@dataclass
class Source:
    """A file to import, readable twice. Pipes, FIFOs, ``/dev/stdin``, ``<(…)`` and gzip (``.gz`` or its magic
    bytes) are spooled once (decompressed) to a private temporary file; a regular file is read where it is."""

    path: Path  # as named to the user: "<stdin>" for -
    real: Path
    spooled: bool = False
    compressed: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, name: str, stdin: IO[bytes] | None = None) -> Source:
        import stat

        if name == "-":
            assert stdin is not None
            return cls._spool(Path("<stdin>"), stdin)
        path = Path(name)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise InputError("file not found", path=path) from None
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
        if stat.S_ISDIR(info.st_mode):
            raise InputError("is a directory, not a file", path=path)
        try:
            f = open(path, "rb")
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
        with f:
            if stat.S_ISREG(info.st_mode):
                if f.read(2) != GZIP_MAGIC:
                    return cls(path, path)
                f.seek(0)
            return cls._spool(path, f)  # a pipe, FIFO or device is read once, from where it is now

    @classmethod
    def _spool(cls, shown: Path, stream: IO[bytes]) -> Source:
        fd, tmp = tempfile.mkstemp(prefix="cruddur-import-", suffix=".spool")  # 0600, in the user's temp dir
        compressed = False
        try:
            with os.fdopen(fd, "wb") as out:
                head = stream.read(2)
                if head == GZIP_MAGIC:
                    compressed = True
                    _gunzip(_Prefixed(head, stream), out, str(shown))
                else:
                    out.write(head)
                    shutil.copyfileobj(stream, out, 1 << 20)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cls(shown, Path(tmp), True, compressed)

    def text(self) -> IO[str]:
        return open(self.real, encoding="utf-8", newline="")

    def head(self) -> str:
        """The start of the file, at least its whole first line (up to 1 MiB: an item is at most 400 KB)."""
        with open(self.real, "rb") as f:
            data = f.read(HEAD)
            while b"\n" not in data and len(data) < (1 << 20):
                more = f.read(HEAD)
                if not more:
                    break
                data += more
            return data.decode("utf-8", "replace")

    def close(self) -> None:
        if self.spooled:
            self.real.unlink(missing_ok=True)


class _Prefixed:
    """A byte stream with bytes already read put back in front (no seeking: pipes cannot)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]):
        self.prefix, self.stream = prefix, stream

    def read(self, n: int) -> bytes:
        if self.prefix:
            out, self.prefix = self.prefix, b""
            return out
        return self.stream.read(n)


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
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=typed._no_constant)
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
    if i < n and text[i] == "\ufeff":
        i = skip(i + 1)
    if i >= n or text[i] != "[":
        raise _LineError(line_at(i), 'expected a JSON array of items or {"items": [...]}')
    i = skip(i + 1)
    if i < n and text[i] == "]":
        return
    while True:
        start = line_at(i)
        try:
            element, i = decoder.raw_decode(text, i)
        except RecursionError:
            raise _LineError(start, "nested too deep to read (DynamoDB keeps at most 32 levels)") from None
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


def _pick_table(tables: dict[str, Any], table: str, what: str, notes: list[str]) -> Any:
    """The entries for ``table`` of a file that names its tables (a BatchWriteItem request, a Workbench model)."""
    if table in tables:
        others = sorted(t for t in tables if t != table)
        if others:
            notes.append(f"the file's {what} also holds {', '.join(others)}: only {table}'s items are imported")
        return tables[table]
    if len(tables) == 1:
        (name, entries), = tables.items()
        notes.append(f"the file's {what} is for table {name}: its items go into {table}")
        return entries
    raise _LineError(None, f"the file's {what} names the tables {', '.join(sorted(tables))}, not {table}; "
                           "import into one of them")


def _json_document(text: str, table: str, notes: list[str]) -> Iterator[tuple[int | None, str, Any, bool]]:
    """``(line, where, element, typed)`` for the items of one JSON document: an array, ``{"items": [...]}``,
    ``{"Item": {…}}``, a BatchWriteItem request file, a NoSQL Workbench model's ``TableData``, or one item.
    ``typed``: the element is in DynamoDB JSON (``{"S": "…"}``)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        for k, (line, element) in enumerate(_json_array(text)):
            yield line, f"[{k}]", element, False
        return
    try:
        doc = typed.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        raise _LineError(getattr(exc, "lineno", None), f"not JSON: {getattr(exc, 'msg', exc)}") from None
    kind = _document_kind(doc)
    if kind == "items":
        for k, element in enumerate(doc["items"]):
            yield None, f"items[{k}]", element, False
    elif kind == "item":
        yield None, "Item", doc["Item"], True
    elif kind == "batch":
        requests = doc.get("RequestItems", doc)
        chosen = _pick_table(requests, table, "BatchWriteItem request", notes)
        name = next((t for t, v in requests.items() if v is chosen), table)
        for k, request in enumerate(chosen):
            where = f"{name}[{k}]"
            if "PutRequest" not in request:
                raise _LineError(None, f"{where}: a DeleteRequest; an import only puts items")
            item = (request["PutRequest"] or {}).get("Item") if isinstance(request["PutRequest"], dict) else None
            if not isinstance(item, dict):
                raise _LineError(None, f"{where}.PutRequest: expected {{\"Item\": {{…}}}}")
            yield None, f"{where}.PutRequest.Item", item, True
    elif kind == "workbench":
        models = {str(m.get("TableName")): m for m in doc["DataModel"] if isinstance(m, dict)}
        model = _pick_table(models, table, "Workbench model", notes)
        data = model.get("TableData") or []
        if not isinstance(data, list):
            raise _LineError(None, f"DataModel[{model.get('TableName')}].TableData: expected a list of items")
        for k, element in enumerate(data):
            yield None, f"TableData[{k}]", element, True
    elif isinstance(doc, dict):
        yield None, "", doc, False
    else:
        raise _LineError(1, 'expected a JSON array of items, {"items": [...]}, a BatchWriteItem request, '
                            "a Workbench model or one item")


class _LineError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def read_items(source: Source, fmt: str, keys: TableKeys, types: dict[str, str] | None = None
               ) -> Iterator[tuple[int | None, str, dict]]:
    """``(line, where, typed item)`` for every item of the file (``where``: the item's place in a JSON
    document, e.g. ``items[3]``); one InputError naming file, line and field otherwise."""
    types = {**(types or {})}
    try:
        with source.text() as f:
            if fmt in ("jsonl", "dynamodb-json"):
                for number, text in enumerate(f, 1):
                    if not text.strip():
                        continue
                    try:
                        doc = typed.loads(text.lstrip("\ufeff") if number == 1 else text)
                    except ValueError as exc:
                        raise InputError(f"not JSON: {getattr(exc, 'msg', exc)}", path=source.path, line=number) from None
                    try:
                        item = typed.from_dynamodb_json(doc) if fmt == "dynamodb-json" else typed.to_attrs(doc)
                    except typed.TypeMappingError as exc:
                        raise InputError(str(exc), path=source.path, line=number) from None
                    except RecursionError:
                        raise InputError("nested too deep to read", path=source.path, line=number) from None
                    yield number, "", item
            elif fmt == "json":
                try:
                    for lineno, where, doc, wire in _json_document(f.read(), keys.table, source.notes):
                        try:
                            item = typed.from_dynamodb_json({"Item": doc}) if wire else typed.to_attrs(doc)
                        except typed.TypeMappingError as exc:
                            shown = f"{where}." if where and exc.field else (f"{where}: " if where else "")
                            if lineno:
                                shown = ""
                            raise InputError(f"{shown}{exc}", path=source.path, line=lineno) from None
                        except RecursionError:
                            raise InputError(f"{where}: nested too deep to read", path=source.path, line=lineno) from None
                        yield lineno, "" if lineno else where, item
                except _LineError as exc:
                    raise InputError(exc.message, path=source.path, line=exc.line) from None
            elif fmt == "csv":
                for row, item in _read_csv(f, source.path, keys, types):
                    yield row, "", item
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
    notes: list[str] = field(default_factory=list)

    def to_dict(self, prices=None) -> dict:
        cap = self.estimate.capacity if self.estimate else Capacity("write", source="computed")
        return {"table": self.table, "file": self.file, "format": self.format, "dry_run": True,
                "items": self.items, "bytes": self.bytes, "write_units": cap.to_dict(prices)}


def check_item(item: dict, keys: TableKeys, path: Path, line: int | None) -> int:
    """One item against ddb/limits.py (the one validator), raising at its first problem; returns its size."""
    problems = limits.item_problems(item, limits.KeyRules.of(keys))
    if problems:
        name, why = problems[0]
        raise InputError(f"{name}: {why}" if name else why, path=path, line=line)
    return typed.item_size(item)


def plan_import(source: Source, fmt: str, keys: TableKeys, types: dict[str, str] | None = None) -> Plan:
    """Read and check the whole file (nothing is sent): a line that cannot be read is one InputError at once;
    items DynamoDB would refuse (ddb/limits.py) are all counted, and the first is named."""
    for name, kind in (types or {}).items():
        if kind not in CSV_TYPES:
            raise InputError(f"--types {name}={kind}: the type must be one of {', '.join(CSV_TYPES)}")
    plan = Plan(keys.table, str(source.path), fmt, estimate=WriteEstimate(keys.description))
    assert plan.estimate is not None
    checker = limits.Checker(keys, path=source.path)
    for line, where, item in read_items(source, fmt, keys, types):
        size = checker.check(item, line, where)
        if size:
            plan.bytes += size
            plan.estimate.put(item, typed.item_size)
    checker.finish()
    plan.items = checker.items
    plan.notes = list(source.notes)
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
    fmt = fmt or detect_format(source.path, source.head())
    plan = plan or plan_import(source, fmt, keys, types)
    assert plan.estimate is not None  # plan_import always sets it
    started = time.perf_counter()
    writer = batch.BatchWriter(client, keys.table, workers=workers, on_progress=on_progress, on_pace=on_pace,
                               capacity=capacity == "reported", give_up_after=give_up_after, rate=rate,
                               units=_units_of(WriteEstimate(keys.description)), key_names=keys.key.names)
    requests = ({"PutRequest": {"Item": item}} for _, _, item in read_items(source, fmt, keys, types))
    stats = _run(writer, requests, plan.items, "items written", "run the same import again")
    used = stats.capacity if capacity == "reported" else (plan.estimate.capacity if capacity == "computed" else None)
    if used is not None:
        used.requests = stats.capacity.requests
    return WriteResult(keys.table, plan.items, stats.written, stats.deleted, time.perf_counter() - started,
                       stats.retries, workers, used, {"file": str(source.path), "format": fmt, "rate": rate})


# --- export ---------------------------------------------------------------------------------------------
@dataclass
class ExportResult:
    table: str
    format: str
    out: str
    items: int
    seconds: float
    segments: int
    capacity: Capacity
    csv_types: dict[str, str] = field(default_factory=dict)  # csv: the --types that read it back exactly

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
                 limit: int | None = None, out_name: str = "-", csv_safe: bool = False) -> ExportResult:
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
    csv_types: dict[str, str] = {}
    try:
        if fmt == "csv":
            csv_types = _export_csv(pages, out, keys, count, advance, csv_safe)
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
    return ExportResult(table, fmt, out_name, count.n, time.perf_counter() - started, segments, capacity, csv_types)


def _export_csv(pages, out: IO[str], keys: TableKeys, count: _Counter, advance, safe: bool) -> dict[str, str]:
    """Through the one CSV writer (ddb/typed.py's ``write_csv``): keys first, then the other columns."""

    def items():
        for page in pages:
            for item in page:
                yield typed.to_plain(item)
            count.n += len(page)
            advance(len(page))

    return typed.write_csv(items(), out, keys=keys.key.names, safe=safe).types


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
def create_request_from(description: dict, name: str, *, stream: bool = True) -> dict:
    """A CreateTable request for ``name`` shaped like ``description`` (a DescribeTable ``Table``): keys, indexes,
    billing and throughput, stream (unless ``stream`` is False: a snapshot load turns it on after the items, so it
    does not replay them), SSE with a KMS key, table class. TTL is not part of CreateTable: see :func:`ttl_attribute`."""
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
    view = stream_view(d)
    if stream and view:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    sse = d.get("SSEDescription") or {}
    if sse.get("SSEType") == "KMS" and sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS",
                                       **({"KMSMasterKeyId": sse["KMSMasterKeyArn"]} if sse.get("KMSMasterKeyArn") else {})}
    table_class = (d.get("TableClassSummary") or {}).get("TableClass")
    if table_class and table_class != "STANDARD":
        request["TableClass"] = table_class
    return request


def stream_view(description: dict) -> str | None:
    """The StreamViewType of a described table, None without a stream."""
    spec = description.get("StreamSpecification") or {}
    return spec.get("StreamViewType") if spec.get("StreamEnabled") else None


def ttl_attribute(client, table: str) -> str | None:
    """The attribute TTL is enabled on, None when it is off (or the engine has no TTL)."""
    try:
        ttl = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription") or {}
    except Exception:  # an engine without TTL support
        return None
    return ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None


def _extras(client, table: str, arn: str) -> tuple[bool | None, list | None]:
    """(PITR on?, tags) of ``table`` as the engine answers; None for what it refuses (its own error)."""
    from botocore.exceptions import ClientError

    from cruddur_ops.ddb.schema import _unsupported

    pitr: bool | None = None
    tags: list | None = None
    try:
        b = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = (b.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    except ClientError as exc:
        if not _unsupported(exc):
            raise
    try:
        tags = client.list_tags_of_resource(ResourceArn=arn).get("Tags") or []
    except ClientError as exc:
        if not _unsupported(exc):
            raise
    return pitr, tags


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
    ttl = ttl_attribute(src_client, source)
    if ttl:
        dst_client.update_time_to_live(TableName=dest, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})
    # PITR and tags: attempted wherever the destination takes them; what it refuses is said, not assumed
    from botocore.exceptions import ClientError

    from cruddur_ops.ddb.schema import _unsupported

    not_kept = []
    pitr, tags = _extras(src_client, source, description["TableArn"])
    if pitr:
        try:
            dst_client.update_continuous_backups(TableName=dest, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
        except ClientError as exc:
            if not _unsupported(exc):
                raise
            not_kept.append("PointInTimeRecovery")
    if tags:
        arn = dst_client.describe_table(TableName=dest)["Table"]["TableArn"]
        try:
            dst_client.tag_resource(ResourceArn=arn, Tags=tags)
        except ClientError as exc:
            if not _unsupported(exc):
                raise
            not_kept.append("Tags")
    return {"created": True, "ttl": ttl, "not_kept": not_kept}


def copy_table(src_client, source: str, dst_client, dest: str, *, segments: int = 4, workers: int = 16,
               rate: float | None = None, give_up_after: float = batch.GIVE_UP_AFTER, on_progress=None,
               on_pace=None, capacity: bool = True) -> WriteResult:
    """Create ``dest`` when absent, then copy every item in parallel segments through the batch engine."""
    made = ensure_table(src_client, source, dst_client, dest)
    keys = table_keys(dst_client, dest)
    described = src_client.describe_table(TableName=source)["Table"]
    check_copy_keys(limits.KeyRules.from_description(described), limits.KeyRules.of(keys))
    read = Capacity("read")
    total = described.get("ItemCount") or 0
    started = time.perf_counter()
    writer = batch.BatchWriter(dst_client, dest, workers=workers, on_progress=on_progress, on_pace=on_pace,
                               capacity=capacity, give_up_after=give_up_after, rate=rate,
                               units=_units_of(WriteEstimate(keys.description)), key_names=keys.key.names)
    seen = _Counter()

    checker = limits.Checker(keys, path=source, unique=False)

    def requests():
        for items in iter_pages(src_client, source, segments=segments, capacity=read):
            seen.n += len(items)
            for item in items:
                if not checker.check(item, where=f"[{limits.show_key(item, keys.key.names)}]"):
                    checker.finish()  # only an index key of DEST's own: nothing of this batch is sent
                yield {"PutRequest": {"Item": item}}

    stats = _run(writer, requests(), total, "items written", "run the same copy again")
    return WriteResult(dest, seen.n, stats.written, stats.deleted, time.perf_counter() - started, stats.retries,
                       workers, stats.capacity if capacity else None,
                       {"source": source, "created": made["created"], "read_units": round(read.total, 4),
                        "not_kept": made.get("not_kept", [])})


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


def check_copy_keys(source: limits.KeyRules, dest: limits.KeyRules) -> None:
    """Before the first write: DEST's keys are SOURCE's (names and types), and an index key DEST declares has the
    type SOURCE declares for it. Then every item SOURCE holds fits DEST, except where DEST indexes an attribute
    SOURCE does not declare (each item is checked as it streams)."""
    if source.names != dest.names or any(source.types.get(n) != dest.types.get(n) for n in dest.names):
        shown = ", ".join(f"{n} ({t.types.get(n, '?')})" for t in (source,) for n in t.names)
        theirs = ", ".join(f"{n} ({dest.types.get(n, '?')})" for n in dest.names)
        raise InputError(f"{dest.table} is keyed by {theirs}, {source.table} by {shown}: its items would not fit; "
                         "nothing written")
    for name, kind in dest.types.items():
        if name in source.types and source.types[name] != kind:
            raise InputError(f"{dest.table} indexes {name} as {kind}, {source.table} declares it {source.types[name]}: "
                             "its items would be refused; nothing written")


def check_copy(source: str, dest: str, same_endpoint: bool) -> None:
    if same_endpoint and source == dest:
        raise CruddurError(f"copy {source} onto itself: give another DEST name or --to-endpoint/--to-profile")


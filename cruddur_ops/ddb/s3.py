"""DynamoDB's own way past one machine: export a table to S3 from a point in time, import from S3 into a new
table, and read an export (a folder laid out as AWS writes it, an ``s3://`` prefix, or one data file) as an input
like any other.

An export as AWS writes it (``ExportTableToPointInTime``, DYNAMODB_JSON)::

    PREFIX/AWSDynamoDB/01733462400000-1a2b3c4d/manifest-summary.json   {"exportArn", "exportType", "exportTime"|
                                                                          "exportFromTime"/"exportToTime", "itemCount",
                                                                          "billedSizeBytes", "outputFormat",
                                                                          "manifestFilesS3Key", ...}
    PREFIX/AWSDynamoDB/01733462400000-1a2b3c4d/manifest-files.json     one line per data file: {"itemCount",
                                                                          "dataFileS3Key", "md5Checksum", ...}
    PREFIX/AWSDynamoDB/01733462400000-1a2b3c4d/data/*.json.gz          full: {"Item": {…}} per line
                                                                        incremental: {"Metadata": {…}, "Keys": {…},
                                                                          "NewImage": {…}?, "OldImage": {…}?}

Reading one: the newest full export is applied first, then every incremental export that ends after it, oldest
first (a record with a ``NewImage`` is a put, one without is a delete). Where an engine writes no manifest (moto),
the data files under the prefix are read as one full export. Everything is read and checked before the first
write; each export is written through the batch engine on its own, so a key that a later export changes is
written in order.

Nothing here knows Typer or rich: progress arrives through callbacks.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cruddur_ops.errors import ConflictError, CruddurError, InputError, NotFoundError

EXPORT_FORMATS = {"dynamodb-json": "DYNAMODB_JSON", "ion": "ION"}
IMPORT_FORMATS = {"dynamodb-json": "DYNAMODB_JSON", "ion": "ION", "csv": "CSV"}
VIEW_TYPES = {"new-image": "NEW_IMAGE", "new-and-old-images": "NEW_AND_OLD_IMAGES"}
FULL, INCREMENTAL = "FULL_EXPORT", "INCREMENTAL_EXPORT"
# A data file that inflates past this many times its size (and past MAX_INFLATE_FLOOR) is refused: a gzip bomb.
MAX_INFLATE_RATIO = 200
MAX_INFLATE_FLOOR = 64 * 1024 * 1024
DONE = ("COMPLETED", "FAILED", "CANCELLED")


# --- S3 locations -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class S3Uri:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, text: str, *, option: str = "--s3") -> S3Uri:
        if not text.startswith("s3://"):
            raise InputError(f"{option}: expected s3://bucket/prefix, got '{text}'")
        bucket, _, prefix = text[len("s3://"):].partition("/")
        if not bucket or any(c in bucket for c in " \\?#"):
            raise InputError(f"{option}: no bucket name in '{text}' (expected s3://bucket/prefix)")
        return cls(bucket, prefix.strip("/"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p)


def is_s3(text: str) -> bool:
    return text.startswith("s3://")


# --- export to S3 -------------------------------------------------------------------------------------------
@dataclass
class ExportStatus:
    """What DescribeExport says, as cruddur reports it (``--output json``)."""

    export_arn: str
    table: str
    status: str
    s3: str
    type: str
    format: str
    item_count: int | None = None
    billed_size_bytes: int | None = None
    start_time: str | None = None
    end_time: str | None = None
    export_time: str | None = None
    failure: str | None = None
    seconds: float | None = None
    cost: dict | None = None

    @classmethod
    def from_description(cls, d: dict) -> ExportStatus:
        def when(key: str) -> str | None:
            value: Any = d.get(key)
            return value.isoformat() if hasattr(value, "isoformat") else value

        failure = None
        if d.get("FailureCode") or d.get("FailureMessage"):
            failure = f"{d.get('FailureCode') or 'failed'}: {d.get('FailureMessage') or ''}".strip()
        table_arn = d.get("TableArn") or ""
        return cls(
            export_arn=d["ExportArn"], table=table_arn.rsplit("/", 1)[-1], status=d.get("ExportStatus", "UNKNOWN"),
            s3=str(S3Uri(d.get("S3Bucket", ""), d.get("S3Prefix") or "")), type=d.get("ExportType", FULL),
            format=d.get("ExportFormat", "DYNAMODB_JSON"), item_count=d.get("ItemCount"),
            billed_size_bytes=d.get("BilledSizeBytes"), start_time=when("StartTime"), end_time=when("EndTime"),
            export_time=when("ExportTime"), failure=failure)

    @property
    def done(self) -> bool:
        return self.status in DONE

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def transfer_cost(billed_bytes: int | None, price_file: Path | str | None, kind: str) -> dict | None:
    """The cost of an export (``kind`` FULL_EXPORT / INCREMENTAL_EXPORT) or an import (``IMPORT``) from the price
    list's ``s3_transfer`` section: dollars per GB of data (billed size for exports, uncompressed source size for
    imports). None when the size is unknown or the price list has no such price."""
    from cruddur_ops.ddb.capacity import price_file_text

    if billed_bytes is None:
        return None
    path, text = price_file_text(price_file)
    try:
        prices = json.loads(text)
    except ValueError as exc:
        raise InputError(f"cannot read the price file: {exc}", path=path) from None
    table = prices.get("s3_transfer") or {} if isinstance(prices, dict) else {}
    unit = {FULL: "export_full_per_gb", INCREMENTAL: "export_incremental_per_gb", "IMPORT": "import_per_gb"}[kind]
    per_gb = table.get(unit)
    if per_gb is None:
        return None
    gb = billed_bytes / 1024**3
    return {"usd": round(gb * per_gb, 10), "gb": round(gb, 9), "usd_per_gb": per_gb, "unit": unit,
            "region": prices.get("region"), "as_of": prices.get("as_of"), "price_file": str(path)}


def _table_arn(client, table: str) -> str:
    try:
        return client.describe_table(TableName=table)["Table"]["TableArn"]
    except client.exceptions.ResourceNotFoundException:
        raise NotFoundError(f"DynamoDB table {table} not found") from None


def pitr_enabled(client, table: str) -> bool:
    d = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    return (d.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"


@dataclass(frozen=True)
class Incremental:
    start: Any  # datetime
    end: Any
    view: str = "NEW_AND_OLD_IMAGES"


def start_export(client, table: str, dest: S3Uri, *, fmt: str = "dynamodb-json",
                 incremental: Incremental | None = None) -> ExportStatus:
    """ExportTableToPointInTime: the table as it is now (or the changes between two times) to ``dest``.

    Refused without point-in-time recovery, naming the fix (DynamoDB's own error says less)."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"--format {fmt}: an export to S3 is dynamodb-json or ion")
    arn = _table_arn(client, table)
    if not pitr_enabled(client, table):
        raise ConflictError(
            f"table {table} has no point-in-time recovery, which an export to S3 reads from",
            hint=f"turn it on: cruddur ddb audit {table} --fix (or aws dynamodb update-continuous-backups "
                 f"--table-name {table} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true)")
    request: dict[str, Any] = {"TableArn": arn, "S3Bucket": dest.bucket, "ExportFormat": EXPORT_FORMATS[fmt]}
    if dest.prefix:
        request["S3Prefix"] = dest.prefix
    if incremental is not None:
        if incremental.end <= incremental.start:
            raise InputError("--to must be after --from")
        request["ExportType"] = INCREMENTAL
        request["IncrementalExportSpecification"] = {"ExportFromTime": incremental.start,
                                                     "ExportToTime": incremental.end,
                                                     "ExportViewType": incremental.view}
    try:
        d = client.export_table_to_point_in_time(**request)["ExportDescription"]
    except client.exceptions.PointInTimeRecoveryUnavailableException:
        raise ConflictError(f"table {table} has no point-in-time recovery, which an export to S3 reads from",
                            hint=f"turn it on: cruddur ddb audit {table} --fix") from None
    status = ExportStatus.from_description(d)
    status.table = table
    return status


def describe_export(client, arn: str) -> ExportStatus:
    if not arn.startswith("arn:"):
        raise InputError(f"expected an export ARN (arn:aws:dynamodb:…:table/T/export/…), got '{arn}'")
    try:
        return ExportStatus.from_description(client.describe_export(ExportArn=arn)["ExportDescription"])
    except client.exceptions.ExportNotFoundException:
        raise NotFoundError(f"DynamoDB export {arn} not found") from None


def wait(poll: Callable[[], Any], *, done: Callable[[Any], bool], on_status: Callable[[Any], None] | None = None,
         interval: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Call ``poll`` until ``done(status)``; every status goes to ``on_status`` (the progress bar). Ctrl-C
    stops the wait (the export or import goes on in AWS; its ARN says where to look)."""
    while True:
        status = poll()
        if on_status is not None:
            on_status(status)
        if done(status):
            return status
        sleep(interval)


# --- import from S3 (ImportTable) ------------------------------------------------------------------------------
@dataclass
class ImportStatus:
    import_arn: str
    table: str
    status: str
    s3: str
    format: str
    processed_items: int | None = None
    imported_items: int | None = None
    errors: int | None = None
    processed_bytes: int | None = None
    log_group: str | None = None
    failure: str | None = None
    seconds: float | None = None
    cost: dict | None = None

    @classmethod
    def from_description(cls, d: dict) -> ImportStatus:
        source = d.get("S3BucketSource") or {}
        failure = None
        if d.get("FailureCode") or d.get("FailureMessage"):
            failure = f"{d.get('FailureCode') or 'failed'}: {d.get('FailureMessage') or ''}".strip()
        return cls(
            import_arn=d["ImportArn"], table=(d.get("TableArn") or "").rsplit("/", 1)[-1],
            status=d.get("ImportStatus", "UNKNOWN"),
            s3=str(S3Uri(source.get("S3Bucket", ""), source.get("S3KeyPrefix") or "")) if source else "",
            format=d.get("InputFormat", "DYNAMODB_JSON"), processed_items=d.get("ProcessedItemCount"),
            imported_items=d.get("ImportedItemCount"), errors=d.get("ErrorCount"),
            processed_bytes=d.get("ProcessedSizeBytes"), log_group=d.get("CloudWatchLogGroupArn"), failure=failure)

    @property
    def done(self) -> bool:
        return self.status in DONE

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def table_parameters(request: dict) -> dict:
    """ImportTable's TableCreationParameters from a CreateTable request (keys, GSIs, billing, SSE): ImportTable
    takes no LSIs, stream, tags or table class, so those are refused by name rather than dropped."""
    allowed = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
               "OnDemandThroughput", "SSESpecification", "GlobalSecondaryIndexes")
    refused = [k for k in ("LocalSecondaryIndexes",) if request.get(k)]
    if refused:
        raise InputError(f"table {request['TableName']}: ImportTable cannot create {', '.join(refused)}; "
                         "create the table with `cruddur ddb schema-load` and import with `cruddur ddb import TABLE s3://…`")
    params = {k: request[k] for k in allowed if request.get(k) is not None}
    params.setdefault("BillingMode", "PROVISIONED")
    return params


def data_prefix(client_s3, source: S3Uri) -> tuple[S3Uri, str]:
    """Where ImportTable should read, and the compression of what is there. An export's prefix (with
    ``AWSDynamoDB/<id>/manifest-summary.json``) is narrowed to its ``data/`` folder: ImportTable reads every
    object under the prefix, and manifests are not items."""
    keys = list(_list_keys(client_s3, source))
    if not keys:
        raise NotFoundError(f"nothing under {source}")
    summaries = sorted(k for k in keys if k.endswith("/manifest-summary.json"))
    if len(summaries) > 1:
        raise InputError(f"{source} holds {len(summaries)} exports; ImportTable reads one: name its "
                         f"AWSDynamoDB/<id>/data/ prefix (e.g. s3://{source.bucket}/{summaries[-1].rsplit('/', 1)[0]}/data)")
    if summaries:
        source = S3Uri(source.bucket, summaries[0].rsplit("/", 1)[0] + "/data")
        keys = [k for k in keys if k.startswith(source.prefix + "/")]
    gz = [k for k in keys if k.endswith(".gz")]
    if gz and len(gz) != len([k for k in keys if not k.endswith("/")]):
        raise InputError(f"{source} mixes gzipped and plain files; ImportTable takes one compression")
    return source, ("GZIP" if gz else "NONE")


def start_import(client, source: S3Uri, request: dict, *, fmt: str = "dynamodb-json",
                 compression: str = "NONE") -> ImportStatus:
    """ImportTable: a new table from the objects under ``source``."""
    if fmt not in IMPORT_FORMATS:
        raise InputError(f"--format {fmt}: ImportTable reads dynamodb-json, ion or csv")
    params = table_parameters(request)
    try:
        client.describe_table(TableName=params["TableName"])
    except client.exceptions.ResourceNotFoundException:
        pass
    else:
        raise ConflictError(f"table {params['TableName']} already exists; ImportTable creates a new table",
                            hint="name another with --new-table, or import into it with `cruddur ddb import TABLE s3://…`")
    s3_source: dict[str, str] = {"S3Bucket": source.bucket}
    if source.prefix:
        s3_source["S3KeyPrefix"] = source.prefix
    d = client.import_table(S3BucketSource=s3_source, InputFormat=IMPORT_FORMATS[fmt],
                            InputCompressionType=compression, TableCreationParameters=params)["ImportTableDescription"]
    status = ImportStatus.from_description(d)
    status.table = params["TableName"]
    status.s3 = str(source)
    return status


def describe_import(client, arn: str) -> ImportStatus:
    return ImportStatus.from_description(client.describe_import(ImportArn=arn)["ImportTableDescription"])


# --- reading an export -------------------------------------------------------------------------------------------
@dataclass
class ExportPart:
    """One export found in a folder or under a prefix: its kind, when it ends, and its data files (local paths)."""

    where: str  # the export's folder or prefix, as named to the user
    kind: str = FULL
    ends: str = ""  # exportTime (full) or exportToTime (incremental): the order they apply in
    item_count: int | None = None
    files: list[Path] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # each file as named to the user


@dataclass
class Record:
    where: str
    line: int
    item: dict  # the new image (a put), or the keys (a delete)
    delete: bool = False


def _list_keys(client_s3, uri: S3Uri) -> Iterator[str]:
    paginator = client_s3.get_paginator("list_objects_v2")
    prefix = uri.prefix + "/" if uri.prefix else ""
    try:
        for page in paginator.paginate(Bucket=uri.bucket, Prefix=prefix):
            for obj in page.get("Contents") or []:
                yield obj["Key"]
    except client_s3.exceptions.NoSuchBucket:
        raise NotFoundError(f"S3 bucket {uri.bucket} not found") from None


def download(client_s3, uri: S3Uri, into: Path) -> Path:
    """Copy every object under ``uri`` into ``into`` (keys kept as relative paths); returns the local folder that
    stands for ``uri``. Objects are streamed to disk, never held in memory."""
    count = 0
    base = PurePosixPath(uri.prefix) if uri.prefix else PurePosixPath()
    for key in _list_keys(client_s3, uri):
        if key.endswith("/"):
            continue
        relative = PurePosixPath(key).relative_to(base) if uri.prefix else PurePosixPath(key)
        if any(part in ("..", "") for part in relative.parts):
            raise InputError(f"refusing the S3 key '{key}': it names a parent folder")
        target = into.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = client_s3.get_object(Bucket=uri.bucket, Key=key)["Body"]
        with open(target, "wb") as out:
            shutil.copyfileobj(body, out, 1024 * 1024)
        count += 1
    if count == 0:
        raise NotFoundError(f"nothing under {uri}")
    return into


def _read_json_file(path: Path, shown: str) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"not a manifest: {exc}", path=shown) from None
    if not isinstance(doc, dict):
        raise InputError("not a manifest: expected a JSON object", path=shown)
    return doc


def _data_file_path(folder: Path, key: str) -> Path:
    """A manifest's ``dataFileS3Key`` (a full S3 key) as a file of the local copy: the part from ``data/`` on."""
    parts = PurePosixPath(key).parts
    if "data" not in parts:
        raise InputError(f"manifest names '{key}', which is not under the export's data/ folder")
    rel = parts[parts.index("data"):]
    if any(p in ("..", "") for p in rel):
        raise InputError(f"manifest names '{key}', which leaves the export's folder")
    return folder.joinpath(*rel)


def find_exports(root: Path, shown: str) -> list[ExportPart]:
    """Every export under ``root`` (a folder, or one data file); ``shown`` is how the user named it."""
    if root.is_file():
        return [ExportPart(shown, files=[root], names=[shown])]
    parts: list[ExportPart] = []
    for summary_path in sorted(root.rglob("manifest-summary.json")):
        folder = summary_path.parent
        where = shown.rstrip("/") + "/" + str(folder.relative_to(root)) if folder != root else shown
        summary = _read_json_file(summary_path, f"{where}/manifest-summary.json")
        kind = summary.get("exportType") or FULL
        if kind not in (FULL, INCREMENTAL):
            raise InputError(f"exportType '{kind}' is neither {FULL} nor {INCREMENTAL}",
                             path=f"{where}/manifest-summary.json")
        fmt = summary.get("outputFormat") or "DYNAMODB_JSON"
        if fmt != "DYNAMODB_JSON":
            raise InputError(f"outputFormat {fmt}: cruddur reads DYNAMODB_JSON exports (import an ION export into a "
                             "new table with `cruddur ddb import --s3 … --new-table T --format ion`)",
                             path=f"{where}/manifest-summary.json")
        part = ExportPart(where, kind, str(summary.get("exportToTime") or summary.get("exportTime")
                                           or summary.get("startTime") or ""), summary.get("itemCount"))
        files_manifest = folder / "manifest-files.json"
        if files_manifest.exists():
            for n, line in enumerate(files_manifest.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    key = entry["dataFileS3Key"]
                except (ValueError, KeyError, TypeError):
                    raise InputError("expected {\"dataFileS3Key\": …} on every line",
                                     path=f"{where}/manifest-files.json", line=n) from None
                path = _data_file_path(folder, key)
                if not path.is_file():
                    raise InputError(f"data file {key} named by the manifest is missing",
                                     path=f"{where}/manifest-files.json", line=n)
                part.files.append(path)
                part.names.append(f"{where}/{path.relative_to(folder)}")
        else:
            data = sorted((folder / "data").glob("*.gz")) if (folder / "data").is_dir() else []
            part.files += data
            part.names += [f"{where}/{p.relative_to(folder)}" for p in data]
        parts.append(part)
    if not parts:  # no manifest (moto writes none): every data file under the folder, as one full export
        data = sorted(p for p in root.rglob("*") if p.is_file() and (p.name.endswith(".gz") or p.name.endswith(".json")))
        if not data:
            raise InputError("no export here: expected AWSDynamoDB/<id>/manifest-summary.json or data/*.json.gz",
                             path=shown)
        parts.append(ExportPart(shown, files=data, names=[f"{shown.rstrip('/')}/{p.relative_to(root)}" for p in data]))
    return order(parts)


def order(parts: list[ExportPart]) -> list[ExportPart]:
    """The newest full export, then the incremental exports that end after it, oldest first."""
    full = sorted((p for p in parts if p.kind == FULL), key=lambda p: p.ends)
    start = full[-1:] if full else []
    since = start[0].ends if start else ""
    incremental = sorted((p for p in parts if p.kind == INCREMENTAL and p.ends > since), key=lambda p: p.ends)
    return start + incremental


def _open_data(path: Path, shown: str) -> IO[str]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic != b"\x1f\x8b":
        return open(path, encoding="utf-8")
    compressed = path.stat().st_size
    limit = max(MAX_INFLATE_FLOOR, compressed * MAX_INFLATE_RATIO)
    raw = io.BufferedReader(_CappedReader(gzip.open(path, "rb"), limit, shown))
    return io.TextIOWrapper(raw, encoding="utf-8")


class _CappedReader(io.RawIOBase):
    """A decompressing stream that stops at ``limit`` bytes out (a gzip bomb is an error, not a full disk)."""

    def __init__(self, inner, limit: int, shown: str):
        self.inner, self.limit, self.shown, self.out = inner, limit, shown, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (OSError, EOFError) as exc:
            raise InputError(f"not a readable gzip file: {exc}", path=self.shown) from None
        self.out += len(data)
        if self.out > self.limit:
            raise InputError(f"inflates past {self.limit:,} bytes ({MAX_INFLATE_RATIO}× its size): refused as a "
                             "gzip bomb", path=self.shown)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def records(part: ExportPart) -> Iterator[Record]:
    """Every record of one export, typed: puts (``{"Item"}`` or an incremental ``NewImage``) and deletes."""
    for path, shown in zip(part.files, part.names, strict=True):
        with _open_data(path, shown) as f:
            try:
                for lineno, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        doc = json.loads(line)
                    except ValueError as exc:
                        raise InputError(f"not JSON: {getattr(exc, 'msg', exc)}", path=shown, line=lineno) from None
                    if not isinstance(doc, dict):
                        raise InputError("expected a JSON object", path=shown, line=lineno)
                    if "Item" in doc:
                        yield Record(shown, lineno, _typed(doc["Item"], shown, lineno, "Item"))
                    elif "Keys" in doc:
                        if doc.get("NewImage") is not None:
                            yield Record(shown, lineno, _typed(doc["NewImage"], shown, lineno, "NewImage"))
                        else:
                            yield Record(shown, lineno, _typed(doc["Keys"], shown, lineno, "Keys"), delete=True)
                    else:
                        raise InputError('expected {"Item": …} (full export) or {"Keys": …, "NewImage": …} '
                                         "(incremental export)", path=shown, line=lineno)
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text (byte {exc.start})", path=shown) from None


def _typed(doc: Any, shown: str, line: int, what: str) -> dict:
    from cruddur_ops.ddb import typed

    if not isinstance(doc, dict) or not doc:
        raise InputError(f"{what}: expected an object of typed attributes", path=shown, line=line)
    try:
        return typed.from_dynamodb_json({"Item": doc})
    except (typed.TypeMappingError, ValueError) as exc:
        raise InputError(f"{what}.{exc}", path=shown, line=line) from None


@dataclass
class ExportImportPlan:
    """What importing an export would do: per export, puts and deletes, all checked."""

    table: str
    source: str
    exports: list[dict] = field(default_factory=list)
    puts: int = 0
    deletes: int = 0

    def to_dict(self) -> dict:
        return {"table": self.table, "source": self.source, "exports": self.exports, "puts": self.puts,
                "deletes": self.deletes}


def plan_export_import(parts: list[ExportPart], keys, source: str) -> ExportImportPlan:
    """Read and check every record of every export before anything is written (keys present and typed as the
    table's, sizes within DynamoDB's limits, each key once per export)."""
    from cruddur_ops.ddb import limits, transfer

    plan = ExportImportPlan(keys.table, source)
    names = keys.key.names
    for part in parts:
        seen: dict[tuple, str] = {}
        puts = deletes = 0
        for rec in records(part):
            if rec.delete:
                for name in names:
                    if name not in rec.item:
                        raise InputError(f"Keys.{name}: missing, a key of {keys.table}", path=rec.where, line=rec.line)
                deletes += 1
            else:
                transfer.check_item(rec.item, keys, Path(rec.where), rec.line)
                puts += 1
            key = limits.key_of(rec.item, names)  # as DynamoDB compares keys: 3 and 3.0 are one
            if key in seen:
                raise InputError(f"the same key as {seen[key]}; an export holds each key once", path=rec.where,
                                 line=rec.line)
            seen[key] = f"{rec.where}:{rec.line}"
        plan.exports.append({"export": part.where, "type": part.kind, "ends": part.ends or None, "puts": puts,
                             "deletes": deletes, "files": len(part.files)})
        plan.puts += puts
        plan.deletes += deletes
    return plan


def apply_exports(client, parts: list[ExportPart], keys, *, workers: int = 16, on_progress=None, on_pace=None,
                  give_up_after: float = 60.0) -> dict:
    """Write each export through the batch engine, in order; returns counts. Call after
    :func:`plan_export_import` (it checks what this writes)."""
    from cruddur_ops.ddb import batch

    written = deleted = retries = 0
    names = keys.key.names
    for part in parts:
        writer = batch.BatchWriter(client, keys.table, workers=workers, on_progress=on_progress, on_pace=on_pace,
                                   key_names=names, give_up_after=give_up_after)
        requests = ({"DeleteRequest": {"Key": {n: r.item[n] for n in names}}} if r.delete
                    else {"PutRequest": {"Item": r.item}} for r in records(part))
        try:
            stats = writer.write(requests)
        except batch.Interrupted as exc:
            raise batch.Interrupted(exc.signum, done=written + deleted + (exc.done or 0)) from None
        written += stats.written
        deleted += stats.deleted
        retries += stats.retries
    return {"items_written": written, "items_deleted": deleted, "retries": retries}


@dataclass
class LocalCopy:
    """An export to read: a local folder or file as it is, or an S3 prefix copied into a private temp folder."""

    path: Path
    shown: str
    temp: Path | None = None

    def close(self) -> None:
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)


def open_source(source: str, s3_client: Callable[[], Any]) -> LocalCopy:
    if is_s3(source):
        uri = S3Uri.parse(source, option="SOURCE")
        temp = Path(tempfile.mkdtemp(prefix="cruddur-export-"))
        try:
            download(s3_client(), uri, temp / "export")
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return LocalCopy(temp / "export", str(uri), temp)
    path = Path(source)
    if not path.exists():
        raise InputError("file not found", path=source)
    return LocalCopy(path, source)


def looks_like_export(source: str) -> bool:
    """``ddb import`` hands SOURCE here when it is an ``s3://`` prefix, a folder, or a gzipped file."""
    if is_s3(source):
        return True
    path = Path(source)
    if path.is_dir():
        return True
    if path.is_file():
        try:
            with open(path, "rb") as f:
                return f.read(2) == b"\x1f\x8b"
        except OSError:
            return False
    return False


def bad_time(text: str, option: str):
    from cruddur_ops.io import timestamps

    try:
        return timestamps.parse(text)
    except (ValueError, CruddurError) as exc:
        raise InputError(f"{option}: not an ISO 8601 time: '{text}' ({exc})") from None

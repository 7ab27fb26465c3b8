"""The S3 paths of `cruddur ddb export` and `cruddur ddb import`: DynamoDB's own export to S3 and import from S3,
and an export (folder, prefix or data file) read as an input. Thin: parse, call ddb/s3.py, render."""

from pathlib import Path

from cruddur_ops.cli import render
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.errors import InputError, ServiceError
from cruddur_ops.settings import Action, Settings

POLL_LOCAL, POLL_AWS = 0.2, 5.0


def _poll_interval(s: Settings) -> float:
    return POLL_LOCAL if s.is_local("dynamodb") else POLL_AWS


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _status_line(status) -> str:
    items = "" if status.item_count is None else f", {status.item_count:,} items"
    size = "" if status.billed_size_bytes is None else f", {_fmt_bytes(status.billed_size_bytes)}"
    return f"export {status.status.lower()}{items}{size}"


def _emit_export(doc: dict, output) -> None:
    rows = [{"k": k.replace("_", " "), "v": doc[k]} for k in
            ("export_arn", "table", "status", "s3", "type", "format", "item_count", "billed_size_bytes",
             "export_time", "seconds", "failure") if doc.get(k) is not None]
    if doc.get("cost"):
        rows.append({"k": "cost", "v": f"{render._dollars(doc['cost']['usd'])} (${doc['cost']['usd_per_gb']}/GB, "
                                        f"{doc['cost']['region']}, as of {doc['cost']['as_of']})"})
    render.emit(doc, output, [Section(f"Export of {doc['table']} to {doc['s3']}",
                                      [Column("", "k"), Column("", "v")], rows)])


def export_to_s3(s: Settings, table: str, dest: str, *, fmt: str, incremental: bool, start: str | None,
                 end: str | None, view: str, wait: bool, price_file: Path | None, output) -> None:
    import time

    from cruddur_ops.ddb import s3

    uri = s3.S3Uri.parse(dest)
    spec = None
    if incremental:
        if not start or not end:
            raise InputError("--incremental needs --from and --to (ISO 8601 times)")
        if view not in s3.VIEW_TYPES:
            raise InputError(f"--view {view}: expected one of {', '.join(s3.VIEW_TYPES)}")
        spec = s3.Incremental(s3.bad_time(start, "--from"), s3.bad_time(end, "--to"), s3.VIEW_TYPES[view])
    elif start or end:
        raise InputError("--from and --to go with --incremental")
    client = s.dynamodb(write=Action("export to S3", table))  # it writes to a bucket and is billed: --prod on AWS
    started = time.monotonic()
    status = s3.start_export(client, table, uri, fmt=fmt, incremental=spec)
    render.note(f"export started: {status.export_arn}")
    if wait and not status.done:
        with render.interrupts(lambda exc: f"stopped waiting; the export goes on in DynamoDB: "
                                           f"cruddur ddb export status {status.export_arn}"):
            with render.progress(f"exporting {table} to {uri}", None) as advance:
                status = s3.wait(lambda: s3.describe_export(client, status.export_arn), done=lambda st: st.done,
                                 on_status=lambda st: advance.describe(_status_line(st)),
                                 interval=_poll_interval(s))
        status.seconds = round(time.monotonic() - started, 3)
    status.table = table
    status.cost = s3.transfer_cost(status.billed_size_bytes, price_file, status.type)
    _emit_export(status.to_dict(), output)
    if status.status in ("FAILED", "CANCELLED"):
        raise ServiceError(f"the export of {table} {status.status.lower()}: {status.failure or 'no reason given'}")


def export_status(s: Settings, arn: str, *, price_file: Path | None, output) -> None:
    from cruddur_ops.ddb import s3

    status = s3.describe_export(s.dynamodb(), arn)
    status.cost = s3.transfer_cost(status.billed_size_bytes, price_file, status.type)
    _emit_export(status.to_dict(), output)


def import_export(s: Settings, table: str, source: str, *, workers: int, give_up_after: float, dry_run: bool,
                  output) -> None:
    """An export (folder, s3:// prefix or one data file) into TABLE through the batch engine."""
    from cruddur_ops.ddb import query, s3

    client = s.dynamodb(write=None if dry_run else Action("import into", table))
    keys = query.table_keys(client, table)
    local = s3.open_source(source, lambda: s.client("s3"))
    try:
        parts = s3.find_exports(local.path, local.shown)
        with render.progress(f"checking {local.shown}", None):
            plan = s3.plan_export_import(parts, keys, local.shown)
        for part in plan.exports:
            render.note(f"{part['export']}: {part['type'].lower().replace('_', ' ')}, {part['puts']:,} puts, "
                        f"{part['deletes']:,} deletes")
        if dry_run:
            doc = {**plan.to_dict(), "dry_run": True}
            render.emit(doc, output, [Section(f"Would apply {len(plan.exports)} export(s) to {table} (nothing written)",
                                              [Column("export", "export"), Column("type", "type"),
                                               Column("puts", "puts", justify="right"),
                                               Column("deletes", "deletes", justify="right")], plan.exports)])
            return
        from cruddur_ops.cli.ddb_data import _interrupted

        with render.interrupts(_interrupted("written to", "run the same import again to complete it", table)):
            with render.progress(f"importing into {table}", plan.puts + plan.deletes) as advance:
                done = s3.apply_exports(client, parts, keys, workers=workers, on_progress=advance,
                                        on_pace=advance.pace, give_up_after=give_up_after)
    finally:
        local.close()
    doc = {**plan.to_dict(), **done}
    render.emit(doc, output, [Section(f"Imported {len(plan.exports)} export(s) into {table}",
                                      [Column("", "k"), Column("", "v", justify="right")],
                                      [{"k": "items written", "v": done["items_written"]},
                                       {"k": "items deleted", "v": done["items_deleted"]},
                                       {"k": "retries", "v": done["retries"]}])])


def _table_definition(new_table: str, schema_files: list[Path] | None) -> dict:
    from cruddur_ops.cli.ddb import _schemas

    read, used = _schemas(schema_files)
    specs = read.tables
    named = [t for t in specs if t.name == new_table]
    if named:
        return dict(named[0].request)
    if len(specs) == 1:
        render.note(f"table {new_table} is defined like {specs[0].name} in {specs[0].path}")
        return {**specs[0].request, "TableName": new_table}
    raise InputError(f"no table {new_table} in {', '.join(used)} (it defines {', '.join(t.name for t in specs)}); "
                     "name one with --new-table, or pass --schema FILE")


def import_table(s: Settings, source: str, new_table: str, *, schema_files: list[Path] | None, fmt: str,
                 wait: bool, price_file: Path | None, output) -> None:
    """ImportTable: a new table from S3, defined by the schema file."""
    import time

    from cruddur_ops.ddb import s3

    uri = s3.S3Uri.parse(source)
    request = _table_definition(new_table, schema_files)
    s3.table_parameters(request)  # bad input before the guard and any request
    client = s.dynamodb(write=Action("import into a new table", new_table))
    data, compression = s3.data_prefix(s.client("s3"), uri)
    if data != uri:
        render.note(f"reading the export's data files under {data}")
    started = time.monotonic()
    status = s3.start_import(client, data, request, fmt=fmt, compression=compression)
    render.note(f"import started: {status.import_arn}")
    if wait and not status.done:
        def line(st) -> str:
            n = "" if st.processed_items is None else f", {st.processed_items:,} items read"
            return f"import {st.status.lower()}{n}"

        with render.interrupts(lambda exc: f"stopped waiting; the import goes on in DynamoDB ({status.import_arn})"):
            with render.progress(f"importing {data} into {new_table}", None) as advance:
                status = s3.wait(lambda: s3.describe_import(client, status.import_arn), done=lambda st: st.done,
                                 on_status=lambda st: advance.describe(line(st)), interval=_poll_interval(s))
        status.seconds = round(time.monotonic() - started, 3)
    status.table, status.s3 = new_table, str(data)
    status.cost = s3.transfer_cost(status.processed_bytes, price_file, "IMPORT")
    doc = status.to_dict()
    rows = [{"k": k.replace("_", " "), "v": doc[k]} for k in
            ("import_arn", "table", "status", "s3", "format", "processed_items", "imported_items", "errors",
             "log_group", "seconds", "failure") if doc.get(k) is not None]
    render.emit(doc, output, [Section(f"Import of {data} into {new_table}", [Column("", "k"), Column("", "v")],
                                      rows)])
    if status.errors:
        render.warn(f"{status.errors:,} items were not imported"
                    + (f"; see the CloudWatch log group {status.log_group}" if status.log_group else ""))
    if status.status in ("FAILED", "CANCELLED"):
        raise ServiceError(f"the import into {new_table} {status.status.lower()}: {status.failure or 'no reason given'}")

"""`cruddur ddb import|export|copy|query|get|put|delete|update|truncate|delete-items`: any table's data.

Thin commands: parse options, call one function of ddb/transfer.py or ddb/query.py, render the result.
"""

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import (
    DryRunOpt,
    GiveUpOpt,
    OutputOpt,
    PriceFileOpt,
    YesOpt,
    prices,
    require_terminal,
    settings,
)
from cruddur_ops.cli.render import Column, Output, Section
from cruddur_ops.errors import CruddurError, InputError
from cruddur_ops.settings import Action


class Format(str, Enum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    dynamodb_json = "dynamodb-json"
    ion = "ion"  # DynamoDB's export to S3 and ImportTable only


TableArg = Annotated[str, typer.Argument(help="Table name.")]
PartitionArg = Annotated[str, typer.Argument(help="Partition key value (typed from the key schema; binary in base64).")]
SortArg = Annotated[Optional[str], typer.Argument(help="Sort key value, for tables with a sort key.", show_default=False)]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=64, help="Parallel batch_write_item calls.")]
SegmentsOpt = Annotated[int, typer.Option("--segments", min=1, max=64, help="Parallel scan segments.")]
RateOpt = Annotated[Optional[float], typer.Option("--rate", min=0.1, help="At most N write units per second (index writes count).", show_default=False)]
ValueOpt = Annotated[Optional[list[str]], typer.Option("--value", help="An expression value as :name=VALUE (VALUE as plain JSON, else a string); repeat.", show_default=False)]
NameOpt = Annotated[Optional[list[str]], typer.Option("--name", help="An expression name as #name=attribute; repeat.", show_default=False)]
CsvSafeOpt = Annotated[bool, typer.Option("--csv-safe", help="CSV: a cell a spreadsheet would run as a formula (= + - @, tab, CR first) gets a ' in front.")]
ProjectionOpt = Annotated[Optional[str], typer.Option("--projection", help="Attributes to return, comma-separated.", show_default=False)]


def _item_columns(rows: list[dict]) -> list[Column]:
    from cruddur_ops.ddb.typed import key_order

    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    ordered = key_order({k: None for k in keys})
    return [Column(k, k) for k in ordered]


def _values(pairs: list[str] | None) -> dict:
    from cruddur_ops.ddb.query import parse_assignments

    return parse_assignments(pairs or [], "--value")


def _names(pairs: list[str] | None) -> dict[str, str]:
    from cruddur_ops.io.pairs import parse_pairs

    return parse_pairs(pairs or [], "--name", form="#name=attribute", value_required=True)


def _interrupted(verb: str, rerun: str, table: str):
    def summary(exc) -> str:
        done, total = getattr(exc, "done", None), getattr(exc, "total", None)
        count = "" if done is None else f"{done:,}" + (f" of {total:,}" if total is not None else "") + " items "
        return f"interrupted: {count}{verb} {table}; {rerun}"
    return summary


def refuse_on_production_without_terminal(s, table: str, *, yes: bool, what: str) -> None:
    """On production a destructive command needs the typed table name: without a terminal it is refused here,
    before any request (``--yes`` alone does not do)."""
    require_terminal(s, what, table, yes=yes, where=s.describe_endpoint("dynamodb"))


# --- import / export / copy -------------------------------------------------------------------------------
def import_(
    ctx: typer.Context,
    table: Annotated[Optional[str], typer.Argument(help="Table name.", show_default=False)] = None,
    file: Annotated[Optional[str], typer.Argument(help="File to import (a pipe, FIFO or <(…) too; gzip is read through; - reads stdin), or an export of DynamoDB's: its folder, its s3:// prefix or one of its .gz data files.", show_default=False)] = None,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="jsonl, json (an array, {\"items\": …}, one item, a BatchWriteItem request file or a Workbench model), csv or dynamodb-json (default: from the extension or the content); with --s3: dynamodb-json, ion or csv.", show_default=False)] = None,
    types: Annotated[Optional[str], typer.Option("--types", help="CSV column types: col=N,col2=BOOL (S, N, BOOL, B, JSON; keys are typed from the key schema).", show_default=False)] = None,
    rate: RateOpt = None,
    workers: WorkersOpt = 16,
    give_up_after: GiveUpOpt = 60.0,
    dry_run: DryRunOpt = False,
    price_file: PriceFileOpt = None,
    s3: Annotated[Optional[str], typer.Option("--s3", help="Import s3://bucket/prefix into a NEW table with DynamoDB's ImportTable (no write capacity used); with --new-table.", show_default=False)] = None,
    new_table: Annotated[Optional[str], typer.Option("--new-table", help="With --s3: the table ImportTable creates, defined by the schema file.", show_default=False)] = None,
    schema_files: Annotated[Optional[list[Path]], typer.Option("--schema", help="With --s3: the schema file that defines the new table (default: the project's or the app's schemas); repeat.", show_default=False)] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="With --s3: wait for the import to end (else print its ARN).")] = True,
    output: OutputOpt = None,
) -> None:
    """Write the items of FILE into TABLE (put by key: running it again overwrites, and completes an
    interrupted import). The whole file is checked first; a bad line writes nothing.

    FILE may also be an export DynamoDB wrote to S3 (its folder, its s3:// prefix, or a .gz data file): the
    newest full export is written, then each incremental export after it in order (new images put, deletes
    deleted), into any table, DynamoDB Local included. With --s3 … --new-table T, DynamoDB's own ImportTable
    creates T from S3 instead (AWS only; waits with progress; imported and errored counts).

    Example: cruddur ddb import orders orders.jsonl --rate 100
    """
    from cruddur_ops.ddb import query, transfer

    s = settings(ctx)
    if s3 or new_table:
        from cruddur_ops.cli import ddb_s3

        if not (s3 and new_table) or table or file:
            raise CruddurError("an import from S3 into a new table takes --s3 s3://bucket/prefix and --new-table T, "
                               "and no TABLE or FILE (to import an export into an existing table: ddb import TABLE s3://…)")
        ddb_s3.import_table(s, s3, new_table, schema_files=schema_files, fmt=(format.value if format else "dynamodb-json"),
                            wait=wait, price_file=price_file, output=output)
        return
    if not table or not file:
        raise CruddurError("ddb import takes TABLE and FILE (or --s3 s3://… --new-table T)")
    if format is Format.ion:
        raise CruddurError("--format ion is read by DynamoDB's ImportTable only: ddb import --s3 s3://… --new-table T --format ion")
    from cruddur_ops.ddb import s3 as s3_exports

    if file != "-" and format is None and s3_exports.looks_like_export(file) and not transfer.plain_gzip(file):
        from cruddur_ops.cli import ddb_s3

        ddb_s3.import_export(s, table, file, workers=workers, give_up_after=give_up_after, dry_run=dry_run,
                             output=output)
        return
    from cruddur_ops.io.pairs import parse_pairs

    column_types = {name: kind.strip().upper()
                    for name, kind in parse_pairs([types or ""], "--types", form="col=TYPE,…", split=",").items()}
    client = s.dynamodb(write=None if dry_run else Action("import into", table))
    keys = query.table_keys(client, table)
    source = transfer.Source.open(file, sys.stdin.buffer)
    try:
        fmt = format.value if format else transfer.detect_format(source.path, source.head())
        with render.progress(f"checking {source.path}", None):
            plan = transfer.plan_import(source, fmt, keys, column_types)
        for line in plan.notes:
            render.note(line)
        if dry_run:
            doc = plan.to_dict(prices(price_file))
            render.emit(doc, output, lambda: [
                Section(f"Would import {doc['items']:,} items into {table} (nothing written)",
                        [Column("", "k"), Column("", "v", justify="right")],
                        [{"k": "items", "v": doc["items"]}, {"k": "bytes", "v": doc["bytes"]}, {"k": "format", "v": fmt}]),
                render.capacity_section(doc["write_units"], "Write units it would take (computed)")])
            return
        capacity = "computed" if s.is_local("dynamodb") else "reported"
        with render.interrupts(_interrupted("written to", "run the same import again to complete it", table)):
            with render.progress(f"importing into {table}", plan.items) as advance:
                result = transfer.import_file(client, source, fmt, keys, types=column_types, workers=workers,
                                              rate=rate, capacity=capacity, give_up_after=give_up_after,
                                              on_progress=advance, on_pace=advance.pace, plan=plan)
    finally:
        source.close()
    doc = result.to_dict(prices(price_file))
    _emit_write(doc, output, f"Imported {doc['items_written']:,} items into {table}")


def _emit_write(doc: dict, output, title: str) -> None:
    rows = [{"k": k.replace("_", " "), "v": doc[k]} for k in
            ("items", "items_written", "items_deleted", "seconds", "items_per_second", "retries") if k in doc]
    sections = [Section(title, [Column("", "k"), Column("", "v", justify="right")], rows)]
    if doc.get("consumed_capacity"):
        sections.append(render.capacity_section(doc["consumed_capacity"],
                                                f"Consumed write capacity ({doc['consumed_capacity']['source']})"))
    render.emit(doc, output, sections)


def export(
    ctx: typer.Context,
    table: TableArg,
    arn: Annotated[Optional[str], typer.Argument(help="With `export status`: the export's ARN.", show_default=False)] = None,
    format: Annotated[Optional[Format], typer.Option("--format", "-f", help="jsonl, json, csv or dynamodb-json (default: from --out's extension, else jsonl); with --s3: dynamodb-json or ion.", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to FILE (complete or absent: written as FILE.partial, then renamed); default stdout.", show_default=False)] = None,
    segments: SegmentsOpt = 4,
    csv_safe: CsvSafeOpt = False,
    price_file: PriceFileOpt = None,
    s3: Annotated[Optional[str], typer.Option("--s3", help="Export to s3://bucket/prefix with DynamoDB's ExportTableToPointInTime (needs point-in-time recovery; no read capacity used).", show_default=False)] = None,
    incremental: Annotated[bool, typer.Option("--incremental", help="With --s3: export only the changes between --from and --to.")] = False,
    start: Annotated[Optional[str], typer.Option("--from", help="With --incremental: start of the period (ISO 8601).", show_default=False)] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="With --incremental: end of the period (ISO 8601).", show_default=False)] = None,
    view: Annotated[str, typer.Option("--view", help="With --incremental: new-image or new-and-old-images.")] = "new-and-old-images",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="With --s3: wait for the export to end (else print its ARN).")] = True,
    output: OutputOpt = None,
) -> None:
    """Write every item of TABLE, in parallel segments; memory stays flat (jsonl, csv, dynamodb-json).

    With --s3, DynamoDB itself exports the table (or, with --incremental, its changes) to S3 from point-in-time
    recovery: progress while it runs, then the export's ARN, items, billed bytes and cost. `cruddur ddb export
    status ARN` shows an export's state.

    Example: cruddur ddb export orders --out orders.jsonl
    """
    from cruddur_ops.ddb import transfer

    s = settings(ctx)
    if table == "status" and arn:
        from cruddur_ops.cli import ddb_s3

        ddb_s3.export_status(s, arn, price_file=price_file, output=output)
        return
    if arn:
        raise CruddurError(f"unexpected argument '{arn}' (an export's ARN goes with `ddb export status ARN`)")
    if s3:
        from cruddur_ops.cli import ddb_s3

        if out:
            raise CruddurError("give --s3 or --out, not both")
        ddb_s3.export_to_s3(s, table, s3, fmt=format.value if format else "dynamodb-json", incremental=incremental,
                            start=start, end=end, view=view, wait=wait, price_file=price_file, output=output)
        return
    if incremental or start or end:
        raise CruddurError("--incremental, --from and --to go with --s3")
    if format is Format.ion:
        raise CruddurError("--format ion is written by DynamoDB's export to S3 only: add --s3 s3://bucket/prefix")
    client = s.dynamodb()
    fmt = format.value if format else transfer.format_for_path(out)
    total = client.describe_table(TableName=table)["Table"].get("ItemCount")
    where = str(out) if out else "stdout"
    with render.interrupts(_interrupted("exported from", "run it again to export the whole table", table)):
        with render.progress(f"exporting {table}", total or None) as advance:
            if out:
                result = transfer.export_to_path(client, table, out, fmt, segments=segments, on_progress=advance,
                                                 csv_safe=csv_safe)
            else:
                result = transfer.export_table(client, table, sys.stdout, fmt, segments=segments, on_progress=advance,
                                               csv_safe=csv_safe)
    doc = result.to_dict(prices(price_file))
    render.note(f"{doc['items']:,} items exported from {table} to {where} ({fmt}), "
                f"{doc['consumed_capacity']['total']:g} read capacity units")
    if result.csv_types:
        render.note("read it back with --types " + ",".join(f"{k}={v}" for k, v in result.csv_types.items()))


def copy(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Source table.")],
    dest: Annotated[str, typer.Argument(help="Destination table (created like the source when absent).")],
    to_endpoint: Annotated[Optional[str], typer.Option("--to-endpoint", help="Destination endpoint URL.", show_default=False)] = None,
    to_profile: Annotated[Optional[str], typer.Option("--to-profile", help="Destination AWS profile.", show_default=False)] = None,
    to_region: Annotated[Optional[str], typer.Option("--to-region", help="Destination region.", show_default=False)] = None,
    segments: SegmentsOpt = 4,
    workers: WorkersOpt = 16,
    rate: RateOpt = None,
    give_up_after: GiveUpOpt = 60.0,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Copy every item of SOURCE into DEST, creating DEST from SOURCE's description when absent (keys,
    indexes, billing, stream, TTL). The production guard applies to the destination.

    Example: cruddur ddb copy orders orders --to-endpoint http://127.0.0.1:8001
    """
    import dataclasses

    from cruddur_ops.ddb import transfer

    if to_endpoint and to_profile:
        raise CruddurError("give --to-endpoint or --to-profile, not both")
    s = settings(ctx)
    dst = s
    if to_endpoint or to_profile or to_region:
        dst = dataclasses.replace(s, endpoint_url=to_endpoint if to_endpoint else (None if to_profile else s.endpoint_url),
                                  profile=to_profile or s.profile, region=to_region or s.region)
    same = dst.endpoint_for("dynamodb") == s.endpoint_for("dynamodb") and dst.profile == s.profile and dst.region == s.region
    transfer.check_copy(source, dest, same)
    dst_client = dst.dynamodb(write=Action("copy into", dest))
    src_client = s.dynamodb()
    with render.interrupts(_interrupted("copied to", "run the same copy again to complete it", dest)):
        with render.progress(f"copying {source} to {dest}", None) as advance:
            result = transfer.copy_table(src_client, source, dst_client, dest, segments=segments, workers=workers,
                                         rate=rate, give_up_after=give_up_after, on_progress=advance,
                                         on_pace=advance.pace, capacity=not dst.is_local("dynamodb"))
    doc = result.to_dict(prices(price_file))
    doc["to_endpoint"] = dst.describe_endpoint("dynamodb")
    if doc.get("not_kept"):
        render.warn(f"{dest}: not kept by {doc['to_endpoint']} (the engine refused them): {', '.join(doc['not_kept'])}")
    _emit_write(doc, output, f"Copied {doc['items_written']:,} items from {source} to {dest}"
                + (" (created)" if doc["created"] else ""))


# --- query and items by key ---------------------------------------------------------------------------------
def query(
    ctx: typer.Context,
    table: TableArg,
    partition: PartitionArg,
    sort: Annotated[Optional[str], typer.Option("--sort", help='Sort key condition: "OP VALUE" with OP =, <, <=, >, >=, or "between A and B", "begins_with P".', show_default=False)] = None,
    index: Annotated[Optional[str], typer.Option("--index", help="Query this index (its own key schema).", show_default=False)] = None,
    filter: Annotated[Optional[str], typer.Option("--filter", help="FilterExpression, with --value/--name placeholders.", show_default=False)] = None,
    value: ValueOpt = None,
    name: NameOpt = None,
    projection: ProjectionOpt = None,
    desc: Annotated[bool, typer.Option("--desc", help="Newest (highest sort key) first.")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="At most N items (sent as Limit).", show_default=False)] = None,
    consistent: Annotated[bool, typer.Option("--consistent", help="Strongly consistent read.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Print the exact Query request (and the aws CLI command) instead of sending it.")] = False,
    csv_safe: CsvSafeOpt = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Query TABLE for a partition key value; the key condition comes from the key schema.

    Example: cruddur ddb query orders CUSTOMER#42 --sort "begins_with ORDER#2024" --desc
    """
    from cruddur_ops.ddb import query as q

    values, names = _values(value), _names(name)  # bad input first, before any request
    client = settings(ctx).dynamodb()
    keys = q.table_keys(client, table)
    request = q.build_query(keys, partition, sort=sort, index=index, filter=filter, values=values,
                            names=names, projection=[p.strip() for p in projection.split(",") if p.strip()]
                            if projection else None, desc=desc, limit=limit, consistent=consistent)
    if explain:
        doc: dict = {"request": q.wire_request(request), "aws_cli": q.aws_cli(request)}
        render.emit(doc, output, lambda: [Section(f"Query on {table} (not sent)", [Column("field", "k"), Column("value", "v")],
                                                  [{"k": k, "v": v} for k, v in doc["request"].items()],
                                                  caption=doc["aws_cli"])])
        return
    result = q.run_query(client, request, limit=limit)
    if output is Output.csv:
        render.emit_rows(result.items, output, keys=keys.key.names, safe=csv_safe)
        return
    doc = {"table": table, "index": index, "items": result.items, "count": result.count,
           "scanned_count": result.scanned, "pages": result.pages, "latency_ms": round(result.seconds * 1000, 2),
           "consumed_capacity": result.capacity.to_dict(prices(price_file))}
    empty = f"(no items with {keys.for_index(index).hash} = {partition}" + (f" and sort {sort}" if sort else "") + ")"
    render.emit(doc, output, lambda: [
        Section(f"{table}{' index ' + index if index else ''}: {result.count} items ({doc['latency_ms']} ms)",
                _item_columns(result.items) or [Column("items", "none")], result.items, empty=empty),
        render.capacity_section(doc["consumed_capacity"])])


def _emit_item(doc: dict, output, title: str) -> None:
    item = doc.get("item") or {}
    rows = [{"attribute": k, "value": v} for k, v in item.items()]
    render.emit(doc, output, lambda: [Section(title, [Column("attribute", "attribute"), Column("value", "value")], rows),
                                      render.capacity_section(doc["consumed_capacity"])])


def get(
    ctx: typer.Context,
    table: TableArg,
    partition: PartitionArg,
    sort: SortArg = None,
    consistent: Annotated[bool, typer.Option("--consistent", help="Strongly consistent read.")] = False,
    projection: ProjectionOpt = None,
    csv_safe: CsvSafeOpt = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Get one item by its key (not found: an error naming the key).

    Example: cruddur ddb get orders CUSTOMER#42 ORDER#2024-0001
    """
    from cruddur_ops.ddb import query as q

    client = settings(ctx).dynamodb()
    keys = q.table_keys(client, table)
    result = q.get_item(client, keys, partition, sort, consistent=consistent,
                        projection=[p.strip() for p in projection.split(",")] if projection else None)
    doc = result.to_dict(prices(price_file))
    if output in (Output.jsonl, Output.csv):
        render.emit_rows([doc["item"]], output, keys=keys.key.names, safe=csv_safe)
        return
    _emit_item(doc, output, f"{table}: {', '.join(f'{k}={v}' for k, v in doc['key'].items())}")


def put(
    ctx: typer.Context,
    table: TableArg,
    item: Annotated[Optional[str], typer.Argument(help="The item as plain JSON (typed forms for sets and binary).", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="Read the item from a JSON file.", show_default=False)] = None,
    condition: Annotated[Optional[str], typer.Option("--condition", help="ConditionExpression, e.g. 'attribute_not_exists(pk)'.", show_default=False)] = None,
    value: ValueOpt = None,
    name: NameOpt = None,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Put one item (replaces an item with the same key unless --condition says otherwise).

    Example: cruddur ddb put orders '{"pk": "CUSTOMER#42", "sk": "ORDER#1", "total": 12.5}'
    """
    from cruddur_ops.ddb import limits
    from cruddur_ops.ddb import query as q

    if (item is None) == (file is None):
        raise CruddurError("give the item as JSON or --file FILE (one of them)")
    s = settings(ctx)
    if file is not None:
        try:
            text, where = file.read_text("utf-8"), str(file)
        except OSError as exc:
            raise CruddurError(f"{file}: {exc.strerror or exc}") from None
    else:
        assert item is not None  # exactly one of item and --file, checked above
        text, where = item, "ITEM"
    attrs = q.parse_item(text, where)
    client = s.dynamodb(write=Action("put an item into", table))
    keys = q.table_keys(client, table)
    limits.validate([(None, attrs)], keys, path=where, unique=False)  # what DynamoDB would refuse, named here
    result = q.put_item(client, keys, attrs, condition=condition, values=_values(value), names=_names(name))
    _emit_item(result.to_dict(prices(price_file)), output, f"Put into {table}")


def delete(
    ctx: typer.Context,
    table: TableArg,
    partition: PartitionArg,
    sort: SortArg = None,
    yes: YesOpt = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Delete one item by its key (asks first; on production, type the table name).

    Example: cruddur ddb delete orders CUSTOMER#42 ORDER#1 --yes
    """
    from cruddur_ops.ddb import query as q

    s = settings(ctx)
    shown = partition + (f" / {sort}" if sort else "")
    client = s.dynamodb(write=Action("delete an item from", table, destructive=True, yes=yes, name=table,
                                     question=f"Delete the item {shown} from {table}?",
                                     where=s.describe_endpoint("dynamodb")))
    keys = q.table_keys(client, table)
    result = q.delete_item(client, keys, partition, sort)
    _emit_item(result.to_dict(prices(price_file)), output, f"Deleted from {table}")


def update(
    ctx: typer.Context,
    table: TableArg,
    partition: PartitionArg,
    sort: SortArg = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="PATH=VALUE (plain JSON, else a string); PATH is a document path (a.b[0].c); repeat.", show_default=False)] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", help="A document path to remove; repeat.", show_default=False)] = None,
    add: Annotated[Optional[list[str]], typer.Option("--add", help="name=NUMBER (or a set) to add; repeat.", show_default=False)] = None,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Update one item: SET, REMOVE and ADD, and print the item as it is now.

    Paths are document paths, as in the AWS CLI: `meta.views[0]` is the list element inside the map `meta`
    (a name holding a dot goes in backticks, e.g. --set '`meta.x`=1'). Paths that overlap (`a` and `a.b`, or one
    path twice) are refused with DynamoDB's reason before any request, exit 3.

    Example: cruddur ddb update orders CUSTOMER#42 ORDER#1 --set status=shipped --set meta.tags[0]=new --add views=1 --remove draft
    """
    from cruddur_ops.ddb import limits, typed
    from cruddur_ops.ddb import query as q

    plan = q.plan_update(list(set_ or []), list(remove or []), list(add or []))  # bad input: before any request
    s = settings(ctx)
    assignments = {"--set": q.parse_assignments(set_ or [], "--set"), "--add": q.parse_assignments(add or [], "--add")}
    for option, values in assignments.items():  # numbers and nesting DynamoDB would refuse, before any request
        for name, value in values.items():
            try:
                limits.check_value(typed.attr_value(value, name), f"{option} {name}")
            except typed.TypeMappingError as exc:
                raise InputError(f"{option} {exc}") from None
    client = s.dynamodb(write=Action("update an item in", table))
    keys = q.table_keys(client, table)
    result = q.update_item(client, keys, partition, sort, plan=plan)
    _emit_item(result.to_dict(prices(price_file)), output, f"Updated in {table}")


# --- deleting many ------------------------------------------------------------------------------------------
def truncate(
    ctx: typer.Context,
    table: TableArg,
    yes: YesOpt = False,
    segments: SegmentsOpt = 4,
    workers: WorkersOpt = 16,
    give_up_after: GiveUpOpt = 60.0,
    output: OutputOpt = None,
) -> None:
    """Delete every item of TABLE and keep the table (counts first, asks; on production, type its name).

    Example: cruddur ddb truncate orders --yes
    """
    from cruddur_ops.ddb import scan, transfer

    s = settings(ctx)
    counted: dict[str, int] = {}

    def question(read) -> str:  # counted after the guard, before the question (or the typed name)
        counted["total"] = scan.count_items(read, table)
        render.note(f"{table} on {s.describe_endpoint('dynamodb')} holds {counted['total']:,} items")
        return f"Delete all {counted['total']:,} items of {table}? The table stays."

    client = s.dynamodb(write=Action("truncate", table, destructive=True, yes=yes,
                                                                 question=question,
                                                                 where=s.describe_endpoint("dynamodb")))
    total = counted["total"] if "total" in counted else scan.count_items(client, table)
    with render.interrupts(_interrupted("deleted from", "run the same truncate again to complete it", table)):
        with render.progress(f"truncating {table}", total) as advance:
            result = transfer.truncate(client, table, segments=segments, workers=workers, total=total,
                                       give_up_after=give_up_after, on_progress=advance, on_pace=advance.pace)
    _emit_write(result.to_dict(), output, f"Truncated {table}: {result.deleted:,} items deleted")


def delete_items(
    ctx: typer.Context,
    table: TableArg,
    partition: PartitionArg,
    sort: Annotated[Optional[str], typer.Option("--sort", help='Sort key condition, as for `ddb query`.', show_default=False)] = None,
    index: Annotated[Optional[str], typer.Option("--index", help="Select through this index (the table's keys are deleted).", show_default=False)] = None,
    yes: YesOpt = False,
    workers: WorkersOpt = 16,
    output: OutputOpt = None,
) -> None:
    """Delete what a query selects (counts first, asks; on production, type the table name).

    Example: cruddur ddb delete-items orders CUSTOMER#42 --sort "begins_with ORDER#2023" --yes
    """
    from cruddur_ops.ddb import query as q
    from cruddur_ops.ddb import transfer

    s = settings(ctx)
    s.authorize("dynamodb", Action("delete items from", table))  # the guard, before the query reads anything
    refuse_on_production_without_terminal(s, table, yes=yes, what=f"delete items from {table}")
    read = s.dynamodb()
    keys = q.table_keys(read, table)
    request = q.build_query(keys, partition, sort=sort, index=index)
    found = list(q.query_keys(read, request, keys.key.names))
    render.note(f"the query selects {len(found):,} items of {table}")
    if not found:
        _emit_write({"table": table, "items": 0, "items_written": 0, "items_deleted": 0}, output, "Nothing to delete")
        return
    client = s.dynamodb(write=Action(
        f"delete {len(found):,} items from", table, destructive=True, yes=yes, name=table,
        question=f"Delete these {len(found):,} items from {table}?", where=s.describe_endpoint("dynamodb")))
    with render.interrupts(_interrupted("deleted from", "run the same delete-items again to complete it", table)):
        with render.progress(f"deleting from {table}", len(found)) as advance:
            result = transfer.delete_keys(client, keys, found, workers=workers, on_progress=advance)
    _emit_write(result.to_dict(), output, f"Deleted {result.deleted:,} items from {table}")


def register(app: typer.Typer) -> None:
    """Add these commands to `cruddur ddb`."""
    app.command("import")(import_)
    app.command("export")(export)
    app.command("copy")(copy)
    app.command("query")(query)
    app.command("get")(get)
    app.command("put")(put)
    app.command("delete")(delete)
    app.command("update")(update)
    app.command("truncate")(truncate)
    app.command("delete-items")(delete_items)

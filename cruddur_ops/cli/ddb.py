"""`cruddur ddb …`: DynamoDB tables, seeding, scans and the app's access patterns."""

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from cruddur_ops import defaults
from cruddur_ops.cli import ddb_audit, ddb_data, ddb_entities, ddb_messages, ddb_model, ddb_stream, render
from cruddur_ops.cli.options import (
    DryRunOpt,
    GiveUpOpt,
    OutputOpt,
    PriceFileOpt,
    TableOpt,
    UsersFrom,
    UsersFromOpt,
    YesOpt,
    prices,
    require_terminal,
    settings,
    users_source,
)
from cruddur_ops.cli.render import Column, Output, Section
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.errors import CruddurError, InputError, TableDiffersError
from cruddur_ops.settings import Action

if TYPE_CHECKING:
    from cruddur_ops.model import User

app = typer.Typer(no_args_is_help=True, help="DynamoDB: schema-load, seed, scan and the app's access patterns.")
pattern_app = typer.Typer(no_args_is_help=True, help="The app's access patterns (A–D) and any declared in schemas/.")
app.add_typer(pattern_app, name="pattern")
app.add_typer(ddb_stream.app, name="stream")
app.add_typer(ddb_model.app, name="model")
app.command("audit")(ddb_audit.audit)
pattern_app.command("create-message-group")(ddb_messages.create_message_group)
pattern_app.command("create-message")(ddb_messages.create_message)
ddb_data.register(app)
ddb_entities.register(app, pattern_app)

SchemaOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--schema", "-s", help="Schema file(s) declaring AccessPatterns (default: schemas/*.yaml).", show_default=False),
]


def _schemas(files: list[Path] | None, *, context=None):
    """The schema files read (FILES, else the defaults, named in a note) and the list of files used."""
    from cruddur_ops.ddb import schema

    files = _schema_files(files)
    return schema.read(files, context=context), [str(f) for f in files]


def _schema_files(files: list[Path] | None) -> list[Path]:
    if not files:
        files = defaults.schema_files()
        if not files:
            raise CruddurError(f"no schema files: {defaults.schemas_dir()} has no *.yaml; pass FILE arguments")
        render.note(f"schema files: {', '.join(str(f) for f in files)} (from {defaults.project().source('schemas')})")
    return list(files)


def _pattern_tables(files: list[Path] | None) -> tuple[list, list[str], list[dict]]:
    """For the pattern commands: each schema file read on its own; a file that cannot be read is skipped, named
    with its reason on stderr (the others still count)."""
    from cruddur_ops.ddb import patterns

    files = _schema_files(files)
    tables, skipped = patterns.read_each(files)
    for entry in skipped:
        render.warn(f"skipped {entry['file']}: {entry['reason']}")
    return tables, [str(f) for f in files], skipped


# --- tables -----------------------------------------------------------------------------------------------
def _overrides(pairs: list[str]) -> dict[str, str]:
    from cruddur_ops.io.pairs import parse_pairs

    return parse_pairs(pairs, "--parameter-overrides", split=" ")


@app.command("schema-load")
def schema_load(
    ctx: typer.Context,
    files: Annotated[Optional[list[Path]], typer.Argument(help="CreateTable YAML, a list of them, a CloudFormation/SAM template, or a NoSQL Workbench model JSON (default: the app's schema).", show_default=False)] = None,
    plan_only: Annotated[bool, typer.Option("--plan", help="Show what would be done (create / leave / update / recreate); write nothing.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Change differing tables in place where DynamoDB can (billing, throughput, stream, GSIs, TTL, PITR, deletion protection, table class, SSE, tags); items are kept.")] = False,
    recreate: Annotated[bool, typer.Option("--recreate", help="Drop and recreate tables whose keys or LSIs differ (their items are lost; asks first).")] = False,
    parameter_overrides: Annotated[Optional[list[str]], typer.Option("--parameter-overrides", help="A CloudFormation parameter value as KEY=VALUE; repeat for more.", show_default=False)] = None,
    stack_name: Annotated[Optional[str], typer.Option("--stack-name", help="AWS::StackName for templates (default: the template file's stem).", show_default=False)] = None,
    yes: YesOpt = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until every table is ACTIVE.")] = True,
    output: OutputOpt = None,
) -> None:
    """Create the tables described in FILES; tables that already exist alike are left alone.

    Every file is read, resolved and validated before anything is created. Each difference between a table and
    its schema is a row (table, property, table has, schema wants) and the command exits 1, unless --update
    changes it in place or --recreate drops and recreates the table (keys, LSIs).

    Example: cruddur ddb schema-load template.yaml --parameter-overrides Env=dev --plan
    """
    from cruddur_ops.ddb import schema
    from cruddur_ops.io.cloudformation import Context

    s = settings(ctx)
    local = s.is_local("dynamodb")

    def account_id() -> str:  # asked of STS only when a template names AWS::AccountId: after the guard
        if not plan_only:
            s.authorize("dynamodb", Action("create tables"))
        return _account_id(s)

    def ssm_value(name: str) -> str:  # asked only when a table uses an SSM-typed parameter
        if not plan_only:
            s.authorize("dynamodb", Action("create tables"))
        return s.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]

    # Locally AWS::AccountId is the documented placeholder 000000000000 and SSM is not asked
    context = Context(parameters=_overrides(parameter_overrides or []), stack_name=stack_name,
                      region=s.region or "us-east-1", account_id=LOCAL_ACCOUNT_ID if local else account_id,
                      ssm=None if local else ssm_value)
    read, used = _schemas(files, context=context)  # bad input is reported first, before the guard
    where = s.describe_endpoint("dynamodb")
    if recreate and not plan_only:  # on production the names are typed at a terminal: refuse before any request
        s.authorize("dynamodb", Action("create tables"))
        require_terminal(s, "recreate tables", ", ".join(t.name for t in read.tables), yes=yes, where=where)
    client = s.dynamodb(write=None if plan_only else Action("create tables"))  # the guard, before the first request

    def confirm_recreate(plans):
        lost = ", ".join(f"{p.spec.name} ({p.items:,} items)" for p in plans)
        for p in plans:  # on production each name is typed; locally one question covers them all
            s.confirm(Action(f"drop and recreate {p.spec.name} ({p.items:,} items lost)", name=p.spec.name,
                             destructive=True, yes=yes, where=where,
                             question=f"Drop and recreate {lost} on {where}? Their items are lost."),
                      production=s.is_production("dynamodb"))
            if not s.is_production("dynamodb"):
                break

    def confirm_update(plans):
        s.confirm(Action("update tables", yes=yes,
                         prod_question=f"Change {', '.join(p.spec.name for p in plans)} in place on PRODUCTION {where}?"),
                  production=s.is_production("dynamodb"))

    results = schema.load(client, read.tables, update=update, recreate=recreate, wait=wait, local=local,
                          dry_run=plan_only, confirm_recreate=confirm_recreate, confirm_update=confirm_update,
                          on_step=lambda step: render.note(f"  {step}"))
    rows = [d.to_dict() for r in results for d in r.differences]
    doc = {"tables": [r.to_dict() for r in results], "differences": rows, "plan": plan_only,
           "ignored_resources": read.ignored_resources, "skipped_resources": read.skipped,
           "parameters": read.parameters, "endpoint": where, "files": used}
    for r in results:
        for note in r.notes:
            render.note(f"{r.name}: {note}")
        if r.not_supported:
            render.warn(f"{r.name}: not kept by {where} (the engine refused or dropped them): "
                        f"{', '.join(r.not_supported)}")
        if r.not_applied:
            render.warn(f"{r.name}: not applied by cruddur: {', '.join(r.not_applied)}")
    for logical_id in read.skipped:
        render.note(f"{logical_id}: its Condition is false; not created")

    def sections():
        caption = f"{read.ignored_resources} other CloudFormation resource(s) ignored" if read.ignored_resources else None
        out = [Section("Plan" if plan_only else "Tables",
                       [Column("name", "name"), Column("status", "status"), Column("keys", "keys"),
                        Column("indexes", "indexes"), Column("billing", "billing"), Column("stream", "stream"),
                        Column("changes", lambda row: ", ".join(row["updates"]) or (
                            f"{row['items_lost']:,} items lost" if row["items_lost"] is not None else ""))],
                       doc["tables"], caption=caption)]
        if rows:
            out.append(Section("Differences", [Column("table", "table"), Column("property", "property"),
                                               Column("table has", "table_has"), Column("schema wants", "schema_wants"),
                                               Column("change", "change")], rows))
        return out

    render.emit(doc, output, sections)
    bad = [r for r in results if r.status == "differs" or (plan_only and r.status in ("update", "recreate")
                                                            and not (update or recreate))]
    if bad:
        first = bad[0].differences[0]
        hint = "--recreate to drop and recreate it" if any(d.change == "recreate" for d in bad[0].differences) \
            else "--update to change it in place"
        raise TableDiffersError(
            f"{bad[0].name} exists but differs from its schema ({first.property}: table has {first.table_has}, "
            f"schema wants {first.schema_wants}); rerun with {hint}")


LOCAL_ACCOUNT_ID = "000000000000"  # AWS::AccountId on local endpoints (DynamoDB Local's own ARNs use it too)


def _account_id(s) -> str:
    """AWS::AccountId from STS, asked only when a template names it. A failed lookup is an error (a made-up
    account would end up in table names and tags on AWS); ``--parameter-overrides AWS::AccountId=…`` avoids it."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from cruddur_ops.errors import AuthError, EngineError

    hint = "pass --parameter-overrides AWS::AccountId=123456789012 (your account) to skip the lookup"
    try:
        return s.client("sts").get_caller_identity()["Account"]
    except (NoCredentialsError, ClientError) as exc:
        raise AuthError(f"AWS::AccountId: STS GetCallerIdentity failed ({exc}); {hint}") from None
    except BotoCoreError as exc:
        raise EngineError(f"AWS::AccountId: STS could not be asked ({exc}); {hint}") from None


@app.command("drop")
def drop(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="The table to delete.")],
    yes: YesOpt = False,
) -> None:
    """Delete a table and every item in it (asks first).

    Example: cruddur ddb drop cruddur-messages --yes
    """
    from cruddur_ops.ddb import schema

    s = settings(ctx)
    where = s.describe_endpoint("dynamodb")
    client = s.dynamodb(write=Action("drop table", table, destructive=True, yes=yes, where=where,
                                     question=f"Delete table {table} on {where} and all its items?"))
    schema.drop(client, table)
    render.note(f"dropped {table}")


@app.command("list-tables")
def list_tables(ctx: typer.Context, output: OutputOpt = None) -> None:
    """List the tables with status, item count and indexes.

    Example: cruddur ddb list-tables --output json
    """
    from cruddur_ops.ddb import tables

    rows = tables.list_tables(settings(ctx).dynamodb())
    render.emit({"tables": rows, "count": len(rows)}, output, lambda: [Section("Tables", [
        Column("name", "name"), Column("status", "status"), Column("items", "item_count", justify="right"),
        Column("indexes", "indexes"), Column("billing", "billing"), Column("stream", "stream")], rows)])


@app.command("describe")
def describe(ctx: typer.Context, table: Annotated[str, typer.Argument(help="Table name.", envvar="DDB_MESSAGE_TABLE")] = TABLE, output: OutputOpt = None) -> None:
    """Show everything DescribeTable and DescribeTimeToLive say of a table: keys, indexes (projections with
    their INCLUDE attributes, GSI throughput), billing, stream, TTL, encryption, table class, deletion
    protection, point-in-time recovery (when the engine answers) and size.

    Example: cruddur ddb describe cruddur-messages
    """
    from cruddur_ops.ddb import tables

    d = tables.describe(settings(ctx).dynamodb(), table)

    def throughput(value: dict | None) -> str:
        return f"read {value['read']}, write {value['write']}" if value else "-"

    def sections():
        ttl = d.get("ttl")
        sse = d["sse"]
        facts = [{"field": k, "value": v} for k, v in (
            ("name", d["name"]), ("status", d["status"]), ("keys", d["keys"]), ("billing", d["billing"]),
            ("provisioned", throughput(d["provisioned"])),
            ("stream", f"{d['stream']['view_type']} {d['stream']['arn'] or ''}" if d["stream"]["enabled"] else "off"),
            ("time to live", f"{ttl['status']} ({ttl['attribute']})" if ttl and ttl.get("attribute")
             else (ttl or {}).get("status") or "not answered"),
            ("encryption", f"{sse['type']} {sse['status']}" + (f" {sse['kms_key_arn']}" if sse["kms_key_arn"] else "")
             if sse["status"] else "AWS owned key (default)"),
            ("table class", d["table_class"]), ("deletion protection", d["deletion_protection"]),
            ("point-in-time recovery", d.get("point_in_time_recovery") or "not answered"),
            ("items", d["item_count"]), ("size (bytes)", d["size_bytes"]), ("created", d["created_at"]))]
        if d["replicas"]:
            facts.append({"field": "replicas", "value": ", ".join(d["replicas"])})
        return [Section(d["name"], [Column("", "field"), Column("", "value")], facts),
                Section("Indexes", [Column("name", "name"), Column("kind", "kind"), Column("keys", "keys"),
                                    Column("projection", lambda i: i["projection"] + (
                                        " (" + ", ".join(i["non_key_attributes"]) + ")" if i["non_key_attributes"] else "")),
                                    Column("throughput", lambda i: throughput(i["provisioned"])),
                                    Column("status", "status")], d["indexes"])]

    render.emit({"table": d}, output, sections)


# --- seeding and scanning ------------------------------------------------------------------------------------
class CapacitySource(str, Enum):
    reported = "reported"
    computed = "computed"


@app.command("seed")
def seed(
    ctx: typer.Context,
    file: Annotated[Optional[Path], typer.Argument(help="Seed file (default: seeds/conversations.yaml).", show_default=False)] = None,
    users_from: UsersFromOpt = None,
    dry_run: DryRunOpt = False,
    table: TableOpt = TABLE,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Parallel batch_write_item calls.")] = 16,
    capacity: Annotated[Optional[CapacitySource], typer.Option("--capacity", help="Consumed capacity as DynamoDB reports it (default on AWS), or computed from item sizes (default on local engines, where asking costs a quarter of the write speed).", show_default=False)] = None,
    give_up_after: GiveUpOpt = 60.0,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Write the seed file's conversations: each message, and two group rows per conversation.

    Seeding twice leaves one copy of everything; group rows go to each conversation's newest message (one per
    user per conversation), never behind a newer message the app wrote. Nothing is written when any
    conversation names an unknown handle or an item would exceed 400 KB.

    Example: cruddur ddb seed seeds/conversations.yaml --dry-run
    """
    from cruddur_ops.ddb import seed as seeding
    from cruddur_ops.seeds import seedfile

    s = settings(ctx)
    # the seed builds its own requests; the batch engine owns every retry (one HTTP attempt per call).
    # Asked first: the guard refuses before PostgreSQL's users are read.
    client = None if dry_run else s.dynamodb(write=Action("seed", table))
    path = file or defaults.seed_file()
    if file is None:
        render.note(f"seed file: {path} (from {defaults.project().source('seeds')})")
    users_from = users_source(s, users_from)
    db_users: list[User] | None = None
    source: str | None = None
    if users_from is UsersFrom.db:
        from cruddur_ops.pg.database import Database
        from cruddur_ops.pg.users import fetch_users

        database = Database.from_settings(s)
        db_users, source = fetch_users(database), f"PostgreSQL users table at {database.masked}"
    parsed = seedfile.read(path, users_override=db_users, users_source=source)
    users: list[User] = db_users if db_users is not None else list(parsed.users)
    if dry_run:
        doc = seeding.dry_run(parsed, users, table=table)
        doc["users_from"] = users_from.value
        render.emit(doc, output, lambda: [Section(
            f"Plan: {doc['items']} items ({doc['messages']} messages, {doc['group_rows']} group rows) into {table}",
            [Column("group", "message_group_uuid"), Column("between", "between"), Column("messages", "messages", justify="right"),
             Column("first / last message at", lambda r: f"{r['first_at']}\n{r['last_at']}", wrap=False)], doc["plan"])])
        return
    assert client is not None
    from cruddur_ops.ddb.schema import require_app_design

    require_app_design(client, table, what="ddb seed")
    if capacity is None:
        capacity = CapacitySource.computed if s.is_local("dynamodb") else CapacitySource.reported

    def interrupted(exc) -> str:
        done, total = getattr(exc, "done", None), getattr(exc, "total", None)
        count = "" if done is None else f"{done:,}" + (f" of {total:,}" if total is not None else "") + " items "
        return f"interrupted: {count}written to {table}; run the same seed again to complete it (seeding is idempotent)"

    with render.interrupts(interrupted):
        with render.progress(f"seeding {table}", parsed.message_count + 2 * len(parsed.conversations)) as advance:
            result = seeding.seed(client, parsed, users, table=table, workers=workers, on_progress=advance,
                                  capacity=capacity.value, give_up_after=give_up_after, on_pace=advance.pace)
    doc = result.to_dict(prices(price_file))
    doc["users_from"] = users_from.value
    doc["files"] = [str(path)]
    render.emit(doc, output, lambda: [
        Section(f"Seeded {table}", [Column("", "k"), Column("", "v", justify="right")], [
            {"k": "conversations", "v": doc["conversations"]}, {"k": "messages", "v": doc["messages"]},
            {"k": "group rows", "v": doc["group_rows"]}, {"k": "items written", "v": doc["items_written"]},
            {"k": "stale copies deleted", "v": doc["stale_deleted"]}, {"k": "seconds", "v": doc["seconds"]},
            {"k": "items/s", "v": doc["items_per_second"]}, {"k": "retries", "v": doc["retries"]}]),
        render.capacity_section(doc["consumed_capacity"], f"Consumed write capacity ({doc['consumed_capacity']['source']})")])


TABLE_ROWS = 100  # what `scan` shows in table mode without --limit


@app.command("scan")
def scan(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Table name.", envvar="DDB_MESSAGE_TABLE")] = TABLE,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="Stop after N items (sent as Limit; split across segments). Table mode shows 100 without it.", show_default=False)] = None,
    segments: Annotated[int, typer.Option("--segments", min=1, max=64, help="Parallel scan segments.")] = 1,
    csv_safe: Annotated[bool, typer.Option("--csv-safe", help="CSV: a cell a spreadsheet would run as a formula (= + - @, tab, CR first) gets a ' in front.")] = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Print every item of a table (all pages): a table (the first 100 rows unless --limit), one JSON
    document, JSON lines or CSV (both streamed).

    Example: cruddur ddb scan cruddur-messages --output jsonl | head
    """
    from cruddur_ops.ddb.capacity import Capacity
    from cruddur_ops.ddb.scan import iter_scan

    capacity = Capacity("read")
    items = iter_scan(settings(ctx).dynamodb(), table, limit=limit, segments=segments, capacity=capacity)
    mode = render.resolve(output)
    seen = {"n": 0}

    def counted(rows):
        for row in rows:
            seen["n"] += 1
            yield row

    def summary(exc) -> str:
        return f"interrupted: {seen['n']:,} items of {table} printed; run it again to scan the whole table"

    with render.interrupts(summary):
        if mode in (Output.jsonl, Output.csv):
            keys = None
            if mode is Output.csv:  # the one CSV layout: the table's keys first (as `ddb export --format csv`)
                from cruddur_ops.ddb.query import table_keys

                keys = table_keys(settings(ctx).dynamodb(), table).key.names
            count = render.emit_rows(counted(items), mode, keys=keys, safe=csv_safe)
            render.note(f"{count} items, {capacity.total:g} read capacity units")
            return
        rows: list[dict]
        rows, more = [], 0
        for item in counted(items):
            if mode is Output.table and limit is None and len(rows) >= TABLE_ROWS:
                more += 1
                continue
            rows.append(item)
    doc: dict[str, Any] = {"table": table, "items": rows, "count": len(rows), "scanned_count": capacity.scanned,
           "consumed_capacity": capacity.to_dict(prices(price_file))}

    def sections():
        keys = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        keys = [k for k in ("pk", "sk") if k in keys] + [k for k in keys if k not in ("pk", "sk")]
        caption = (f"{more:,} more items not shown: pass --limit N to see more, or --output jsonl for all"
                   if more else None)
        return [Section(f"{table}: {len(rows)} items" + (f" of {len(rows) + more:,}" if more else ""),
                        [Column(k, k) for k in keys], rows, caption=caption),
                render.capacity_section(doc["consumed_capacity"])]

    render.emit(doc, mode, sections)


# --- access patterns -----------------------------------------------------------------------------------------
def _looked_for(request: dict) -> str:
    """What a Query asked for, in words: ``pk = GRP#… in cruddur-messages (index …)``."""
    values = request.get("ExpressionAttributeValues", {})
    names = request.get("ExpressionAttributeNames", {})
    condition = request.get("KeyConditionExpression", "")
    for placeholder, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        shown = next(iter(value.values())) if isinstance(value, dict) and len(value) == 1 else value
        condition = condition.replace(placeholder, f"'{shown}'")
    for placeholder, name in names.items():
        condition = condition.replace(placeholder, name)
    index = f" (index {request['IndexName']})" if request.get("IndexName") else ""
    return f"{condition} in {request['TableName']}{index}"


def _run_pattern(ctx, name: str, params: dict, *, schema_files, limit, table, explain, output, price_file, view,
                 on_empty=None, app_design: bool = False):
    """Run a declared pattern and render it. A query that matches nothing says so on stderr (exit 0), unless
    ``on_empty(client, request)`` raises NotFoundError for an unknown group or user."""
    from cruddur_ops.ddb import patterns
    from cruddur_ops.ddb.schema import require_app_design, require_keys

    specs, used, _ = _pattern_tables(schema_files)
    pattern = patterns.find(specs, name)
    request = patterns.build_request(pattern, params, limit=limit, table=table)
    if explain:
        render.emit(request, output, lambda: [Section(f"Query for pattern {name} (not sent)",
                    [Column("field", "k"), Column("value", "v")],
                    [{"k": k, "v": v} for k, v in request.items()])])
        return
    client = settings(ctx).dynamodb()
    if app_design:  # patterns A and B: the app's keys and GSI
        require_app_design(client, request["TableName"], what=f"pattern {name}")
    else:  # the keys of the table or index the pattern declares
        spec = next(t for t in specs if t.name == pattern.table)
        require_keys(client, request["TableName"], {pattern.index: spec.key_names(pattern.index)}, what=f"pattern {name}")
    result = patterns.run(client, request, reverse=pattern.reverse)
    if not result.items:
        if on_empty is not None:
            on_empty(client, request)
        render.note(f"no items: pattern {name} matched nothing ({_looked_for(request)})")
    doc = {"pattern": name, "table": request["TableName"], "index": request.get("IndexName"),
           "parameters": params, "items": result.items, "count": result.count, "pages": result.pages,
           "latency_ms": round(result.seconds * 1000, 2),
           "consumed_capacity": result.capacity.to_dict(prices(price_file)), "files": used}
    title, columns = view(pattern)
    render.emit(doc, output, lambda: [
        Section(f"{title} ({result.count} items, {doc['latency_ms']} ms)", columns, result.items),
        render.capacity_section(doc["consumed_capacity"])])


# How patterns A and B show their items; `local demo` shows them the same way.
# Identifiers stay whole on one line; the message text takes the width that is left. A conversation's group uuid
# (what `get-conversation --group` takes) stands above its last message's time, so both fit at 100 columns.
MESSAGE_COLUMNS = [Column("time", "sk"), Column("sender", "user_handle"), Column("message", "message", wrap=True)]
CONVERSATION_COLUMNS = [Column("with", lambda r: "\n".join(v for v in (r.get("user_handle"), r.get("user_display_name")) if v),
                               wrap=True),
                        Column("group / last message at", lambda r: f"{r.get('message_group_uuid') or ''}\n{r.get('sk') or ''}",
                               wrap=False),
                        Column("last message", "message", wrap=True)]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Print the exact Query request instead of sending it.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="At most N items (default: the pattern's limit).", show_default=False)]


@pattern_app.command("get-conversation")
def get_conversation(
    ctx: typer.Context,
    group: Annotated[str, typer.Option("--group", "-g", help="message_group_uuid of the conversation.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="The newest N messages.")] = 20,
    table: TableOpt = TABLE,
    schema: SchemaOpt = None,
    explain: ExplainOpt = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Pattern A: the newest messages of a conversation, shown oldest first (as the app does).

    Example: cruddur ddb pattern get-conversation --group 5ae290ed-55d1-47a0-bc6d-fe2bc2700399
    """
    def unknown_group(client, request):
        from cruddur_ops.ddb.messages import group_exists
        from cruddur_ops.errors import NotFoundError

        if not group_exists(client, request["TableName"], group):
            raise NotFoundError(
                f"no conversation '{group}' in {request['TableName']}: no messages under pk MSG#{group} and no "
                "group rows for it; find a group uuid with `cruddur ddb pattern list-conversations --handle H`")

    _run_pattern(ctx, "get-conversation", {"message_group_uuid": group}, schema_files=schema, limit=limit,
                 table=table, explain=explain, output=output, price_file=price_file,
                 view=lambda p: (f"Conversation {group}", MESSAGE_COLUMNS), on_empty=unknown_group, app_design=True)


@pattern_app.command("list-conversations")
def list_conversations(
    ctx: typer.Context,
    user_uuid: Annotated[Optional[str], typer.Option("--user-uuid", "-u", help="The user's uuid.", show_default=False)] = None,
    handle: Annotated[Optional[str], typer.Option("--handle", help="The user's handle, resolved through PostgreSQL users.", show_default=False)] = None,
    limit: LimitOpt = None,
    table: TableOpt = TABLE,
    schema: SchemaOpt = None,
    explain: ExplainOpt = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Pattern B: a user's conversations (message groups), newest first.

    Example: cruddur ddb pattern list-conversations --user-uuid 0b6f6e7e-8a9c-4f0e-9d1a-2c3b4d5e6f70
    """
    if not user_uuid and not handle:
        raise InputError("pass --user-uuid UUID or --handle HANDLE")
    if handle and not user_uuid:
        from cruddur_ops.pg.database import Database
        from cruddur_ops.pg.users import uuid_for_handle

        user_uuid = uuid_for_handle(Database.from_settings(settings(ctx)), handle)

    def unknown_user(client, request):
        if handle:  # PostgreSQL knows the handle: a user without conversations
            return
        s = settings(ctx)
        source = users_source(s, None)
        if source is UsersFrom.db:
            import psycopg

            from cruddur_ops.pg.database import Database
            from cruddur_ops.pg.users import fetch_users

            where = "PostgreSQL users"
            try:
                known = {u.uuid for u in fetch_users(Database.from_settings(s))}
            except (CruddurError, psycopg.Error) as exc:  # PostgreSQL down: the empty result stands, said so
                render.warn(f"could not check the uuid among PostgreSQL users: {exc}")
                return
        else:
            from cruddur_ops.seeds import seedfile

            where = f"the users of {defaults.seed_file()}"
            known = {u.uuid for u in seedfile.read(defaults.seed_file()).users}
        if user_uuid not in known:
            from cruddur_ops.errors import NotFoundError

            raise NotFoundError(
                f"no user '{user_uuid}': not among {where}, and {request['TableName']} has no conversations for it "
                f"(pk GRP#{user_uuid}); look a uuid up with --handle H, or `cruddur db` / the seed file")

    _run_pattern(ctx, "list-conversations", {"user_uuid": user_uuid}, schema_files=schema, limit=limit,
                 table=table, explain=explain, output=output, price_file=price_file,
                 view=lambda p: (f"Conversations of {handle or user_uuid}", CONVERSATION_COLUMNS),
                 on_empty=unknown_user, app_design=True)


@pattern_app.command("list")
def pattern_list(ctx: typer.Context, schema: SchemaOpt = None, output: OutputOpt = None) -> None:
    """List every access pattern the schema files declare. Each file is read on its own: one that cannot be
    read (a template needing a parameter) is skipped and named on stderr with the reason.

    Example: cruddur ddb pattern list --output json
    """
    tables, used, skipped = _pattern_tables(schema)
    rows = [p.to_dict() for t in tables for p in t.patterns.values()]
    def key_and_sort(r: dict) -> str:
        key = " ".join(f"{k} = {v}" for k, v in r["key"].items())
        sort = r["sort"] and " ".join(f"{k} {o} {v}" for k, c in r["sort"].items() for o, v in c.items())
        return f"{key}\n{sort}" if sort else key

    caption = f"skipped {len(skipped)} file(s) that could not be read (see stderr)" if skipped else None
    render.emit({"patterns": rows, "count": len(rows), "files": used, "skipped_files": skipped}, output,
                lambda: [Section("Access patterns", [
                    Column("name", "name", wrap=False),
                    Column("table / index", lambda r: "\n".join(v for v in (r["table"], r["index"]) if v), wrap=False),
                    Column("key / sort", key_and_sort, wrap=False),
                    Column("description", "description", wrap=True)], rows, caption=caption)])


def _params(pairs: list[str]) -> dict[str, str]:
    from cruddur_ops.io.pairs import parse_pairs

    return parse_pairs(pairs, "--param", form="name=value")


@pattern_app.command("run")
def pattern_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pattern name (see `cruddur ddb pattern list`).")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="A parameter as name=value; repeat for more.", show_default=False)] = None,
    limit: LimitOpt = None,
    table: Annotated[Optional[str], typer.Option("--table", "-t", help="Run against another table of the same shape.", show_default=False)] = None,
    schema: SchemaOpt = None,
    explain: ExplainOpt = False,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Run a declared access pattern (a Query over all pages up to the limit).

    Example: cruddur ddb pattern run messages-since -p message_group_uuid=5ae290ed-… -p since=2024-03-01
    """
    def view(p):
        return f"{name}", [Column("pk / sk", lambda r: f"{r.get('pk', '')}\n{r.get('sk', '')}", wrap=False),
                           Column("user_handle", "user_handle", wrap=False), Column("message", "message", wrap=True)]

    _run_pattern(ctx, name, _params(param or []), schema_files=schema, limit=limit, table=table,
                 explain=explain, output=output, price_file=price_file, view=view)

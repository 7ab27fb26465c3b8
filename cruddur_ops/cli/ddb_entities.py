"""`cruddur ddb validate|generate|analyze|ttl sweep` and `ddb pattern cost`: the declared entities at work.

Thin commands over ddb/validate.py, ddb/generate.py, ddb/analyze.py, ddb/ttl.py and ddb/cost.py.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops import defaults
from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, YesOpt, settings
from cruddur_ops.cli.render import Column, Output, Section
from cruddur_ops.errors import CruddurError, InputError, NotFoundError
from cruddur_ops.settings import Action

TableArg = Annotated[str, typer.Argument(help="Table name (declared with Entities in the schema files).")]
SchemaOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--schema", "-s", help="Schema file(s) declaring the entities: YAML or an AWS MCP schema.json (default: schemas/).", show_default=False),
]
SegmentsOpt = Annotated[int, typer.Option("--segments", min=1, max=64, help="Parallel scan segments.")]
ttl_app = typer.Typer(no_args_is_help=True, help="TTL on a local engine: delete what DynamoDB would have deleted.")


def _specs(files: list[Path] | None):
    from cruddur_ops.ddb import schema

    if not files:
        files = defaults.schema_files()
        if not files:
            raise CruddurError(f"no schema files: {defaults.schemas_dir()} has no *.yaml or schema.json; pass --schema FILE")
        render.note(f"schema files: {', '.join(str(f) for f in files)} (from {defaults.project().source('schemas')})")
    return schema.read(files).tables


def _spec(specs, table: str, *, entities: bool = True):
    spec = next((s for s in specs if s.name == table), None)
    if spec is None:
        raise NotFoundError(f"table {table} is not declared in the schema files (declared: "
                            f"{', '.join(s.name for s in specs) or 'none'}); pass --schema FILE")
    if entities and not spec.entities:
        raise InputError(f"table {table} declares no Entities", path=spec.path)
    return spec


def _require_table(client, table: str) -> dict:
    from cruddur_ops.ddb import schema

    description = schema.existing(client, table)
    if description is None:
        raise NotFoundError(f"no table {table}; create it first: cruddur ddb schema-load")
    return description


def validate(
    ctx: typer.Context,
    table: TableArg,
    schema: SchemaOpt = None,
    segments: SegmentsOpt = 4,
    output: OutputOpt = None,
) -> None:
    """Check every item of TABLE against its declared entities; exit 1 when a problem is found.

    Each item is classified by the entity whose key templates it follows, then checked: index keys, attribute
    types, required attributes, size (within 10 % of 400 KB), and the TTL attribute (seconds since the epoch).

    Example: cruddur ddb validate lending-library -o json
    """
    from cruddur_ops.ddb import validate as validate_mod

    spec = _spec(_specs(schema), table)
    client = settings(ctx).dynamodb()
    description = _require_table(client, table)
    with render.progress(f"validating {table}", description.get("ItemCount") or None) as advance:
        report = validate_mod.validate(client, spec, segments=segments, on_progress=advance)
    doc = report.to_dict()

    def sections():
        out = [Section(f"{table}: {doc['items_checked']:,} items checked in {report.seconds:.1f} s",
                       [Column("entity", "entity"), Column("items", "items", justify="right")],
                       [{"entity": k, "items": v} for k, v in doc["by_entity"].items()])]
        shown = doc["problems"][:50]
        caption = f"{report.problem_count - len(shown):,} more (use -o json)" if report.problem_count > len(shown) else None
        out.append(Section(f"{report.problem_count:,} problem(s)" if report.problem_count else "No problems",
                           [Column("key", "key"), Column("entity", "entity"), Column("field", "field"),
                            Column("problem", "problem")],
                           [{**p, "key": " ".join(f"{k}={v}" for k, v in p["key"].items())} for p in shown],
                           caption=caption))
        return out

    render.emit(doc, output, sections)
    if report.problem_count:
        raise typer.Exit(1)


def generate(
    ctx: typer.Context,
    table: TableArg,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Items to make.")],
    entity: Annotated[Optional[str], typer.Option("--entity", "-e", help="Only items of this entity (their parents are made up, not written).", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="The same seed makes the same items (times count from today's date).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the items (-o jsonl, json or csv); write nothing.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Parallel batch_write_item calls.")] = 16,
    schema: SchemaOpt = None,
    output: OutputOpt = None,
) -> None:
    """Fill TABLE with COUNT realistic items of its declared entities, children under parents that exist.

    Fan-out follows each entity's `generate: {parent, per_parent}` hints; values follow the attribute types and
    hints (min/max, enum values, a Faker provider). Items are put through the batch engine.

    Example: cruddur ddb generate lending-library --count 10000 --seed 7
    """
    from cruddur_ops.ddb import generate as gen
    from cruddur_ops.ddb import schema as schema_mod

    if not dry_run:
        settings(ctx).guard_write("dynamodb", f"generate items into {table}")  # before any file or client
    specs = _specs(schema)
    spec = _spec(specs, table)
    entities = {n: e for s in specs for n, e in s.entities.items()}
    if entity is not None and entity not in spec.entities:
        raise InputError(f"--entity {entity}: not an entity of {table} (entities: {', '.join(spec.entities)})")
    ttl = {s.name: s.ttl["AttributeName"] for s in specs if s.ttl and s.ttl.get("Enabled")}
    if dry_run:
        plan = gen.plan(entities, ttl=ttl)
        made = gen.take(plan, count, table=table, entity=entity, seed=seed)
        if output is Output.json:
            render.emit([m.item for m in made], output)
        else:
            render.emit_rows((m.item for m in made), output if output is Output.csv else Output.jsonl)
        return
    s = settings(ctx)
    client = s.dynamodb(write=Action("generate items into", table))
    description = _require_table(client, table)
    from cruddur_ops.ddb.validate import ttl_attribute

    live_ttl = ttl_attribute(client, table)
    if live_ttl:
        ttl[table] = live_ttl
    plan = gen.plan(entities, ttl=ttl)
    keys = tuple(k["AttributeName"] for k in description["KeySchema"])
    schema_mod.require_keys(client, table, {None: spec.key_names()}, what=f"the entities of {spec.path}")
    with render.progress(f"generating into {table}", count) as advance:
        result = gen.write(client, table, gen.take_ahead(plan, count, table=table, entity=entity, seed=seed),
                           key_names=keys, workers=workers, on_progress=advance)
    doc = result.to_dict()
    rows: list[dict] = [{"k": "items written", "v": f"{doc['items_written']:,}"}, {"k": "seconds", "v": doc["seconds"]},
                        {"k": "items per second", "v": doc["items_per_second"]}]
    rows += [{"k": f"  {name}", "v": f"{n:,}"} for name, n in doc["by_entity"].items()]
    render.emit(doc, output, [Section(f"Generated {doc['items_written']:,} items into {table}",
                                      [Column("", "k"), Column("", "v", justify="right")], rows)])


def _rates(pairs: list[str] | None) -> dict[str, float]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not name.strip() or rate < 0:
            raise InputError(f"--rps takes NAME=N (calls or writes per second ≥ 0), got '{pair}'")
        out[name.strip()] = rate
    return out


def pattern_cost(
    ctx: typer.Context,
    rps: Annotated[Optional[list[str]], typer.Option("--rps", help="Calls per second of a pattern, or writes per second of an entity, as NAME=N; repeat. Default: the rps: of the schema file, else 0.", show_default=False)] = None,
    table: Annotated[Optional[str], typer.Option("--table", "-t", help="Only this table (default: every declared table that exists).", show_default=False)] = None,
    price_file: Annotated[Optional[Path], typer.Option("--price-file", help="Prices with table_classes (default: the bundled cruddur_ops/data/prices.json).", show_default=False)] = None,
    segments: SegmentsOpt = 4,
    schema: SchemaOpt = None,
    output: OutputOpt = None,
) -> None:
    """Monthly cost of the declared design: each pattern run once on the live table (its measured read units),
    writes per entity with their GSI write amplification, storage; on-demand vs provisioned, Standard vs
    Standard-IA, with the price list used.

    Example: cruddur ddb pattern cost --rps member-profile=50 --rps Loan=2
    """
    from cruddur_ops.ddb import cost
    from cruddur_ops.ddb import schema as schema_mod

    prices = cost.MonthlyPrices.load(price_file)
    rates = _rates(rps)
    specs = _specs(schema)
    client = settings(ctx).dynamodb()
    chosen = [_spec(specs, table, entities=False)] if table else \
        [s for s in specs if schema_mod.existing(client, s.name) is not None]
    if not chosen:
        raise NotFoundError("none of the declared tables exists; create them first: cruddur ddb schema-load")
    stray = sorted(set(rates) - {k for s in chosen for k in (*s.patterns, *s.entities)})
    if stray:
        raise InputError(f"--rps {stray[0]}: not a pattern or entity of {', '.join(s.name for s in chosen)}")
    docs = []
    for spec in chosen:
        _require_table(client, spec.name)
        mine = {k: v for k, v in rates.items() if k in spec.patterns or k in spec.entities}
        with render.progress(f"measuring {spec.name}", None) as advance:
            docs.append(cost.report(client, spec, rates=mine, prices=prices, segments=segments, on_progress=advance))
    doc = {"tables": docs, "prices": prices.to_dict()}

    def money(x) -> str:
        return f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:.6f}"

    def sections():
        out = []
        for d in docs:
            out.append(Section(f"{d['table']}: reads by pattern (per month, Standard)",
                               [Column("pattern", "pattern"), Column("entity", "entity"), Column("units/call", "u", justify="right"),
                                Column("rps", "rps", justify="right"), Column("units/month", "m", justify="right"),
                                Column("USD/month", "usd", justify="right")],
                               [{"pattern": r["pattern"], "entity": r["entity"] or "", "u": r["read_units_per_call"] if r["read_units_per_call"] is not None else "-",
                                 "rps": r["rps"], "m": f"{r['read_units_per_month']:,.0f}", "usd": money(r["monthly_usd"]["STANDARD"])}
                                for r in d["patterns"]]))
            out.append(Section(f"{d['table']}: writes by entity",
                               [Column("entity", "entity"), Column("items", "items", justify="right"),
                                Column("units/put", "u", justify="right"), Column("GSI amplification", "a", justify="right"),
                                Column("writes/s", "w", justify="right"), Column("USD/month", "usd", justify="right")],
                               [{"entity": r["entity"], "items": r["items"], "u": r["write_units_per_put"]["total"],
                                 "a": f"{r['gsi_write_amplification']}×" if r["gsi_write_amplification"] else "-",
                                 "w": r["writes_per_second"], "usd": money(r["monthly_usd"]["STANDARD"])} for r in d["entities"]]))
            rows = []
            for cls, t in d["totals"].items():
                for mode in ("on_demand", "provisioned"):
                    m = t[mode]
                    rows.append({"c": cost.CLASS_NAMES[cls], "mode": mode.replace("_", "-"), "r": money(m["reads"]),
                                 "w": money(m["writes"]), "s": money(m["storage"]), "t": money(m["total"])})
            best = d["cheapest"]
            out.append(Section(f"{d['table']}: per month ({d['storage']['total_bytes']:,} bytes stored)",
                               [Column("table class", "c"), Column("capacity", "mode"), Column("reads", "r", justify="right"),
                                Column("writes", "w", justify="right"), Column("storage", "s", justify="right"),
                                Column("total", "t", justify="right")], rows,
                               caption=f"cheapest: {cost.CLASS_NAMES[best['table_class']]} {best['capacity_mode'].replace('_', '-')} "
                                       f"({money(best['monthly_usd'])}); prices {prices.region} as of {prices.as_of} ({prices.source})"))
        return out

    render.emit(doc, output, sections)


def analyze(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Table name.")],
    top: Annotated[int, typer.Option("--top", min=1, help="Hot keys listed per table and index.")] = 10,
    segments: SegmentsOpt = 4,
    schema: SchemaOpt = None,
    output: OutputOpt = None,
) -> None:
    """Where TABLE's items sit: partitions by item count and size (hot keys), per index too; item-collection
    sizes against the 10 GB cap when an LSI exists; indexes no declared access pattern reads.

    Example: cruddur ddb analyze lending-library --top 5
    """
    from cruddur_ops.ddb import analyze as analyze_mod

    try:
        specs = _specs(schema)
    except CruddurError:
        if schema:
            raise
        specs = []
    spec = next((s for s in specs if s.name == table), None)
    client = settings(ctx).dynamodb()
    description = _require_table(client, table)
    with render.progress(f"analyzing {table}", description.get("ItemCount") or None) as advance:
        doc = analyze_mod.analyze(client, table, patterns=list(spec.patterns.values()) if spec else None, top=top,
                                  segments=segments, on_progress=advance)

    def sections():
        cols = [Column("key", "key"), Column("items", "items", justify="right"), Column("bytes", "bytes", justify="right"),
                Column("share of items", "share_of_items", justify="right")]
        out = [Section(f"{table}: {doc['items']:,} items, {doc['bytes']:,} bytes in {doc['partitions']:,} partition keys",
                       cols, doc["hot_keys"])]
        for i in doc["indexes"]:
            out.append(Section(f"{i['kind']} {i['name']}: {i['items']:,} items in {i['partitions']:,} keys"
                               + ("" if i["used_by_patterns"] else " (no pattern reads it)"), cols, i["hot_keys"]))
        if doc["item_collections"]:
            out.append(Section("Largest item collections (LSI cap 10 GB)",
                               [Column("key", "key"), Column("bytes", "bytes", justify="right"),
                                Column("share of 10 GB", "share_of_10_gb", justify="right")], doc["item_collections"]))
        return out

    render.emit(doc, output, sections)
    if doc["unused_indexes"]:
        render.warn(f"indexes no declared access pattern reads: {', '.join(doc['unused_indexes'])}")


@ttl_app.command("sweep")
def ttl_sweep(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Table name.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count the expired items; delete nothing.")] = False,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Delete the items of TABLE that DynamoDB's TTL would have deleted (DynamoDB Local never does): the TTL
    attribute from DescribeTimeToLive, a number of seconds since the epoch before now. Local engines only,
    unless --prod.

    Example: cruddur ddb ttl sweep lending-library
    """
    from cruddur_ops.ddb import ttl

    s = settings(ctx)
    # locally a sweep does what DynamoDB would have done: no question; on production the table's name is typed
    client = s.dynamodb(write=None if dry_run else Action("delete expired items of", table, yes=yes,
                                                          destructive=s.is_production("dynamodb"),
                                                          where=s.describe_endpoint("dynamodb")))
    _require_table(client, table)
    with render.progress(f"sweeping {table}", None) as advance:
        result = ttl.sweep(client, table, dry_run=dry_run, on_progress=advance)
    doc = result.to_dict()
    verb = "would delete" if dry_run else "deleted"
    render.emit(doc, output, [Section(f"{table}: {doc['expired']:,} expired item(s) by {doc['attribute']}; {verb} {doc['expired'] if dry_run else doc['deleted']:,}",
                                      [Column("", "k"), Column("", "v", justify="right")],
                                      [{"k": k, "v": doc[k]} for k in ("attribute", "expired", "deleted", "scanned", "now")])])


def register(app: typer.Typer, pattern_app: typer.Typer) -> None:
    """Add these commands to `cruddur ddb` (and `cost` to `cruddur ddb pattern`)."""
    app.command("validate")(validate)
    app.command("generate")(generate)
    app.command("analyze")(analyze)
    app.add_typer(ttl_app, name="ttl")
    pattern_app.command("cost")(pattern_cost)

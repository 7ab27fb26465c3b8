"""`cruddur ddb model …`: the schema files' data model, exported for CloudFormation or NoSQL Workbench."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops import defaults
from cruddur_ops.cli import render
from cruddur_ops.errors import CruddurError, InputError

app = typer.Typer(no_args_is_help=True, help="The data model of the schema files: export it for CloudFormation or NoSQL Workbench.")


class Format(str, Enum):
    cloudformation = "cloudformation"
    workbench = "workbench"
    entities = "entities"


class Syntax(str, Enum):
    yaml = "yaml"
    json = "json"


@app.command("export")
def export_model(
    ctx: typer.Context,
    format: Annotated[Format, typer.Option("--format", "-f", help="cloudformation: a template with one AWS::DynamoDB::Table per table; workbench: a NoSQL Workbench data model (JSON); entities: AWS's DynamoDB MCP schema.json (tables with entities).")] = Format.cloudformation,
    schema: Annotated[Optional[list[Path]], typer.Option("--schema", "-s", help="Schema file(s) to export (default: schemas/*.yaml).", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file instead of stdout.", show_default=False)] = None,
    syntax: Annotated[Optional[Syntax], typer.Option("--syntax", help="Template syntax for cloudformation (default: json for a .json --out, else yaml); workbench is always json.", show_default=False)] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Workbench model name (default: the table's name, or 'cruddur').", show_default=False)] = None,
    with_data: Annotated[Optional[int], typer.Option("--with-data", min=1, help="Workbench: fill TableData with up to N items read from each table.", show_default=False)] = None,
) -> None:
    """Export the tables and access patterns of the schema files as a CloudFormation template or a NoSQL Workbench model.

    `schema-load` of a CloudFormation export creates the same tables. Patterns go into the template's resource
    Metadata, and into Workbench facets where the format allows (table patterns, not index patterns).

    Example: cruddur ddb model export --format workbench --out cruddur-messages.json
    """
    from cruddur_ops.ddb import export
    from cruddur_ops.ddb import schema as schemas

    files = schema or defaults.schema_files()
    if not files:
        raise CruddurError(f"no schema files: {defaults.schemas_dir()} has no *.yaml; pass --schema FILE")
    if not schema:
        render.note(f"schema files: {', '.join(map(str, files))} (from {defaults.project().source('schemas')})")
    tables = schemas.read(files).tables
    if format is Format.entities:
        from cruddur_ops.ddb import mcp_format

        if syntax is Syntax.yaml:
            raise InputError("--syntax yaml: the MCP schema.json format is JSON")
        document = mcp_format.export(tables)
        if not document["tables"]:
            raise InputError("no table of the schema files declares Entities: nothing to export in the entities format")
        result = export.Export("entities", document, tables=[t["table_config"]["table_name"] for t in document["tables"]],
                               patterns=[p["name"] for t in document["tables"] for e in t["entities"].values()
                                         for p in e.get("access_patterns", [])])
        text = export.dump(document, "json")
    elif format is Format.workbench:
        if syntax is Syntax.yaml:
            raise InputError("--syntax yaml: NoSQL Workbench imports JSON models only")
        data = None
        if with_data:
            from cruddur_ops.cli.options import settings
            from cruddur_ops.ddb.scan import iter_scan

            client = settings(ctx).dynamodb()
            data = {t.name: list(iter_scan(client, t.name, limit=with_data)) for t in tables}
        result = export.workbench(tables, name=name, data=data)
        text = export.dump(result.document, "json")
    else:
        chosen = syntax or (Syntax.json if out is not None and out.suffix.lower() == ".json" else Syntax.yaml)
        result = export.cloudformation(tables)
        text = export.dump(result.document, chosen.value)
    for note in result.notes:
        render.warn(note)
    if out is None:
        typer.echo(text, nl=False)
        return
    from cruddur_ops.io.files import write_text

    try:
        write_text(out, text)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=out) from None
    render.note(f"wrote {out}: {len(result.tables)} table(s) ({', '.join(result.tables)}), "
                f"{len(result.patterns)} access pattern(s) as {_where_patterns[format]}")


_where_patterns = {Format.workbench: "facets", Format.cloudformation: "resource Metadata", Format.entities: "entity access_patterns"}

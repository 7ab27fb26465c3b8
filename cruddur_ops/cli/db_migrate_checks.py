"""`cruddur db migrate verify|baseline|reapply` and `cruddur db schema diff`: migrations checked against a database.

Registered on the groups of :mod:`cruddur_ops.cli.db_migrate` (imported at its end).
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.db_migrate import DirOpt, _folder, _target, app, schema_app
from cruddur_ops.cli.errors import interruptible
from cruddur_ops.cli.options import OutputOpt, YesOpt
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.settings import Action

ScratchOpt = Annotated[
    Optional[str],
    typer.Option("--scratch-url", help="A local server for the scratch database (default: the target's server, "
                 "when it is local).", show_default=False),
]
SchemaOpt = Annotated[
    Optional[Path],
    typer.Option("--schema", help="Schema file loaded before the migrations (default: none, or the project's "
                 "schema.sql when the first migration needs a table no migration creates).", show_default=False),
]
NoSchemaOpt = Annotated[bool, typer.Option("--no-schema", help="Build from an empty database, never a schema file.")]

VERIFY_COLUMNS = [Column("version", "version"), Column("name", "name"), Column("down", "down"),
                  Column("up again", "up_again"), Column("problems", lambda r: "; ".join(r["problems"]))]
DIFF_COLUMNS = [Column("kind", "kind"), Column("object", "object"), Column("live", lambda r: _cell(r["live"])),
                Column("expected", lambda r: _cell(r["expected"])), Column("migration", lambda r: r["migration"] or "")]


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _base(schema: Path | None, no_schema: bool):
    from cruddur_ops.errors import InputError

    if schema is not None and no_schema:
        raise InputError("--schema and --no-schema exclude each other")
    return None if no_schema else (schema or "auto")


@app.command("verify")
def verify(
    ctx: typer.Context,
    migrations_dir: DirOpt = None,
    scratch_url: ScratchOpt = None,
    schema: SchemaOpt = None,
    no_schema: NoSchemaOpt = False,
    output: OutputOpt = None,
) -> None:
    """In a scratch database, apply every migration, then revert each (newest first) and apply it again, comparing
    the schema (pg_dump --schema-only) at each step. Exit 1 names each migration whose down does not restore the
    schema before it, or whose up does not repeat after its down. The scratch database is always dropped.

    Example: cruddur db migrate verify --migrations-dir db/migrations -o json
    """
    from cruddur_ops.pg import verify as pgverify

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    with interruptible(lambda: "db migrate verify stopped; its scratch database was dropped and nothing was "
                       "written to the target; rerun `cruddur db migrate verify` to check"):
        result = pgverify.verify(db, folder, s.child_env(), scratch_url=scratch_url, base=_base(schema, no_schema),
                                 on_note=render.note)
    doc = result.to_dict()
    for row in doc["migrations"]:
        for problem in row["problems"]:
            render.warn(f"{Path(row['file']).name}: {problem}")
    title = (f"verify in {doc['scratch']} (dropped): {doc['checked']} checked, {doc['problems']} with problems")
    render.emit(doc, output, lambda: [Section(title, VERIFY_COLUMNS, doc["migrations"])])
    if doc["problems"]:
        raise typer.Exit(1)


@schema_app.command("diff")
def diff(
    ctx: typer.Context,
    migrations_dir: DirOpt = None,
    scratch_url: ScratchOpt = None,
    schema: SchemaOpt = None,
    no_schema: NoSchemaOpt = False,
    output: OutputOpt = None,
) -> None:
    """Compare the live database with what its applied migrations produce (built in a scratch database): missing
    or extra tables, columns, types, nullability, defaults, indexes, constraints, each with the migration that
    should have made it. Writes nothing to the live database; exit 1 on drift.

    Example: cruddur db schema diff -o json
    """
    from cruddur_ops.pg import drift

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    with interruptible(lambda: "db schema diff stopped; its scratch database was dropped and nothing was written "
                       "to the live database; rerun `cruddur db schema diff`"):
        result = drift.schema_diff(db, folder, s.child_env(), scratch_url=scratch_url, base=_base(schema, no_schema),
                                   on_note=render.note)
    doc = result.to_dict()
    if doc["pending"]:
        render.note(f"{len(doc['pending'])} migration(s) pending, not compared: {', '.join(doc['pending'])}")
    title = (f"{doc['database']} vs its {len(doc['compared'])} applied migration(s): "
             f"{len(doc['differences'])} difference(s)")
    render.emit(doc, output, lambda: [Section(title, DIFF_COLUMNS, doc["differences"], empty="(no drift)")])
    if doc["differences"]:
        raise typer.Exit(1)


@app.command("baseline")
def baseline(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The newest migration the database already has the effects of.")],
    migrations_dir: DirOpt = None,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Record every migration up to and including VERSION as applied, without running it: for a database made
    before it used migrations. `migrate status` then reports any of their objects the database lacks.

    Example: cruddur db migrate baseline 20230415120000
    """
    from cruddur_ops.pg import drift, migrate

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    migrate.read_dir(folder)
    db = s.writable(db, Action("record migrations as applied", yes=yes,
                               prod_question=f"Record the migrations up to {version} as applied on PRODUCTION ({db.masked})?"))
    doc = drift.baseline(db, folder, version, on_note=render.note)
    for item in doc["missing_effects"]:
        render.warn(f"{item['file']} is now recorded as applied but {', '.join(item['objects'])} "
                    f"{'is' if len(item['objects']) == 1 else 'are'} missing: {item['repair']}")
    title = f"baseline {version} on {doc['database']}: {len(doc['recorded'])} recorded as applied"
    render.emit(doc, output, lambda: [Section(title, [Column("version", "version"), Column("name", "name")],
                                              doc["recorded"], empty="(every one was applied already)")])


@app.command("reapply")
def reapply(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The applied migration whose up section runs again.")],
    migrations_dir: DirOpt = None,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Run an applied migration's up section again, in one transaction, when its effects were lost (a column
    dropped by hand, a re-run schema file); `migrate status` names the ones to repair.

    Example: cruddur db migrate reapply 20230415120000
    """
    from cruddur_ops.pg import drift, migrate

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    migrate.read_dir(folder)
    db = s.writable(db, Action("reapply a migration", yes=yes,
                               prod_question=f"Run migration {version}'s up section again on PRODUCTION ({db.masked})?"))
    doc = drift.reapply(db, folder, version, on_note=render.note)
    render.note(f"reapplied {Path(doc['file']).name} ({doc['statements']} statement(s)) on {db.masked}")
    for item in doc["still_missing"]:
        render.warn(f"{item['file']}: still missing {', '.join(item['objects'])}")
    render.emit(doc, output, lambda: [Section(None, [Column("", "k"), Column("", "v")],
                                              [{"k": "reapplied", "v": doc["file"]},
                                               {"k": "statements", "v": doc["statements"]}])])


def mark_missing_effects(db, folder: Path, doc: dict) -> None:
    """`migrate status`'s cheap drift check: each applied migration whose objects are gone becomes ``broken``,
    with the objects (``missing_objects``) and the repair; a warning on stderr says the same."""
    from cruddur_ops.pg import drift

    states = {row["version"]: row["state"] for row in doc["migrations"]}
    broken = {m.version: m for m in drift.check_status(db, folder, states)}
    for row in doc["migrations"]:
        found = broken.get(row["version"])
        row["missing_objects"] = found.objects if found else []
        if found:
            row["state"] = "broken"
            row["repair"] = found.repair
            render.warn(f"{found.file} is applied but {', '.join(found.objects)} "
                        f"{'is' if len(found.objects) == 1 else 'are'} missing from the database: repair with "
                        f"`{found.repair}` (runs its up again), then check with `cruddur db schema diff`")
    doc["broken"] = len(broken)

"""`cruddur db migrate …` (dbmate-format SQL migrations) and `cruddur db schema dump`."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, YesOpt, confirm, confirm_destructive, settings
from cruddur_ops.cli.render import Column, Section

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Migrations in dbmate's format (YYYYMMDDHHMMSS_name.sql with '-- migrate:up' and '-- migrate:down'), "
        "recorded in dbmate's schema_migrations table. The folder is --migrations-dir, else `migrations` in "
        "cruddur.toml / [tool.cruddur], else the app's migrations shipped in cruddur."
    ),
)
schema_app = typer.Typer(no_args_is_help=True, help="The database's schema as SQL (pg_dump --schema-only).")

DirOpt = Annotated[
    Optional[Path],
    typer.Option("--migrations-dir", help="Folder of migration files (default: `migrations` of cruddur.toml, else the app's own).",
                 show_default=False),
]

ROW_COLUMNS = [Column("version", "version"), Column("name", "name"), Column("state", "state"),
               Column("applied at", lambda r: (r.get("applied_at") or "")[:19].replace("T", " "))]
DONE_COLUMNS = [Column("version", "version"), Column("name", "name"), Column("done", "state"),
                Column("statements", "statements", justify="right"), Column("seconds", "seconds", justify="right")]


def _folder(migrations_dir: Path | None) -> Path:
    """The migrations folder in force, with a note on stderr saying where it comes from."""
    from cruddur_ops import defaults

    if migrations_dir is not None:
        folder, source = migrations_dir, "--migrations-dir"
    else:
        folder, source = defaults.migrations_dir(), defaults.project().source("migrations")
    render.note(f"migrations: {folder} (from {source})")
    return Path(folder)


def _target(ctx: typer.Context):
    from cruddur_ops.pg.database import Database

    s = settings(ctx)
    return s, Database.from_settings(s)


def _confirm_destroy(s, db, question: str, *, yes: bool, what: str) -> None:
    """As every `db` command: ask locally (--yes skips); on production type the database name (--yes alone is refused)."""
    confirm_destructive(s.prod or not db.is_local, what, db.require_name(), yes=yes, question=question, where=db.masked)


def _done_sections(doc: dict) -> list[Section]:
    title = f"{doc['action']} on {doc['database']}: {doc['applied']} applied, {doc['pending']} pending"
    return [Section(title, DONE_COLUMNS, doc["done"], empty="(nothing to do)")]


@app.command("new")
def new(name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_bio_to_users.")],
        migrations_dir: DirOpt = None, output: OutputOpt = None) -> None:
    """Write a new migration file YYYYMMDDHHMMSS_NAME.sql with empty up and down sections.

    Example: cruddur db migrate new add_bio_to_users --migrations-dir db/migrations
    """
    from cruddur_ops import defaults
    from cruddur_ops.errors import InputError
    from cruddur_ops.pg import migrate

    folder = _folder(migrations_dir)
    if migrations_dir is None and folder.resolve() == defaults.shipped_dir("migrations").resolve():
        raise InputError("new migrations do not go into the app's files shipped in cruddur: pass --migrations-dir DIR "
                         "or name a folder with `migrations = \"…\"` in cruddur.toml")
    path = migrate.new(folder, name)
    render.note(f"wrote {path}")
    doc = {"file": str(path), "dir": str(folder), "version": path.name.split("_", 1)[0]}
    render.emit(doc, output, lambda: [Section(None, [Column("", "k"), Column("", "v")],
                                              [{"k": "file", "v": doc["file"]}, {"k": "version", "v": doc["version"]}])])


@app.command("up")
def up(
    ctx: typer.Context,
    to: Annotated[Optional[str], typer.Option("--to", help="Apply pending migrations up to and including VERSION.", show_default=False)] = None,
    migrations_dir: DirOpt = None,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Apply the pending migrations, oldest first, each in one transaction with its version row.

    A failing migration is rolled back whole; the error names its file and line. An advisory lock makes a
    second `up` at the same time wait and then apply nothing twice.

    Example: cruddur db migrate up --to 20230415120000
    """
    from cruddur_ops.pg import migrate

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    migrate.read_dir(folder)  # every file valid before anything is written
    db.guard_write(prod=s.prod, action="apply migrations")
    if s.prod:
        confirm(f"Apply the pending migrations on PRODUCTION ({db.masked})?", yes=yes, what="apply migrations")
    done: list[str] = []

    def note(message: str) -> None:
        if message.startswith("applied "):
            done.append(message.removeprefix("applied "))
        render.note(message)

    try:
        doc = migrate.up(db, folder, to=to, on_note=note).to_dict()
    except KeyboardInterrupt:
        render.warn(f"interrupted: {len(done)} migration(s) applied ({', '.join(done) or 'none'}); the one running "
                    "was rolled back with its transaction; `cruddur db migrate status` shows where it stands")
        raise typer.Exit(130) from None
    render.note(f"applied {len(doc['done'])} migration(s) on {db.masked}" if doc["done"]
                else f"nothing to apply on {db.masked}: every migration is applied")
    render.emit(doc, output, lambda: _done_sections(doc))


def _revert(ctx: typer.Context, *, steps: int, redo: bool, migrations_dir: Path | None, yes: bool, output) -> None:
    from cruddur_ops.pg import migrate

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    db.guard_write(prod=s.prod, action="revert migrations")
    targets = migrate.plan_down(db, folder, 1 if redo else steps)
    if targets:
        files = ", ".join(m.file for m in targets)
        verb = "Revert and apply again" if redo else "Revert"
        what = "redo the newest migration" if redo else f"revert {len(targets)} migration(s)"
        _confirm_destroy(s, db, f"{verb} {files} on {db.name or db.masked}? What their down sections drop is lost.",
                         yes=yes, what=what)
    doc = migrate.down(db, folder, steps=steps, redo=redo, on_note=render.note).to_dict()
    render.emit(doc, output, lambda: _done_sections(doc))


@app.command("down")
def down(
    ctx: typer.Context,
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many of the newest applied migrations to revert.")] = 1,
    migrations_dir: DirOpt = None,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Revert the newest applied migration(s) with their down sections (asks; --prod: type the database name).

    Example: cruddur db migrate down --steps 2 --yes
    """
    _revert(ctx, steps=steps, redo=False, migrations_dir=migrations_dir, yes=yes, output=output)


@app.command("redo")
def redo(ctx: typer.Context, migrations_dir: DirOpt = None, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Revert the newest applied migration and apply it again (asks; --prod: type the database name).

    Example: cruddur db migrate redo --yes
    """
    _revert(ctx, steps=1, redo=True, migrations_dir=migrations_dir, yes=yes, output=output)


@app.command("status")
def status(
    ctx: typer.Context,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when a migration is pending (for CI).")] = False,
    migrations_dir: DirOpt = None,
    output: OutputOpt = None,
) -> None:
    """Each migration: applied, pending, edited after it was applied, or missing its file. Writes nothing.

    Example: cruddur db migrate status --exit-code
    """
    from cruddur_ops.pg import migrate

    _, db = _target(ctx)
    folder = _folder(migrations_dir)
    result = migrate.status(db, folder)
    doc = result.to_dict()
    for row in doc["migrations"]:
        if row["state"] == "edited":
            render.warn(f"{row['file']} was edited after it was applied: write a new migration instead")
        elif row["state"] == "missing":
            render.warn(f"version {row['version']} is applied but its file ({row['file'] or 'unknown'}) is not in {folder}")
    title = (f"Migrations of {doc['database']}: {doc['applied']} applied, {doc['pending']} pending, "
             f"{doc['edited']} edited, {doc['missing']} missing")
    render.emit(doc, output, lambda: [Section(title, ROW_COLUMNS, doc["migrations"])])
    if exit_code and doc["pending"]:
        raise typer.Exit(1)


@schema_app.command("dump")
def dump(
    ctx: typer.Context,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the SQL to FILE instead of stdout.", show_default=False)] = None,
    show_secrets: Annotated[bool, typer.Option("--show-secrets", help="Keep passwords (user mappings' options, "
                                               "connection strings in function bodies) as they are; masked by default.")] = False,
    output: OutputOpt = None,
) -> None:
    """Print the database's schema as SQL (pg_dump --schema-only), to review what a migration changed.

    Credentials in it (user mappings' passwords, connection strings inside function bodies) read *** unless
    --show-secrets.

    Example: cruddur db schema dump --out schema-after.sql
    """
    import sys

    from cruddur_ops.pg import dump as pgdump

    s, db = _target(ctx)
    doc = pgdump.dump_schema(db, s.child_env(), out, mask=not show_secrets)
    render.note(f"{Path(doc['pg_dump']).name} ({doc['pg_dump']}) of {db.masked}")
    if out is None:
        sys.stdout.write(doc["sql"])
        sys.stdout.flush()
        return
    render.note(f"wrote {doc['bytes']} bytes to {out}")
    render.emit({k: v for k, v in doc.items() if k != "sql"}, output,
                lambda: [Section(None, [Column("", "k"), Column("", "v")],
                                 [{"k": "file", "v": doc["file"]}, {"k": "bytes", "v": doc["bytes"]}])])

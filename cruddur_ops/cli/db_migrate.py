"""`cruddur db migrate …` (dbmate-format SQL migrations) and `cruddur db schema dump`."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, YesOpt, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.settings import Action

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


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the SQL and the version rows it would write; send "
                                                          "nothing that changes the database (it is only read).")]
FINDING_COLUMNS = [Column("file", lambda r: Path(r["file"]).name), Column("line", "line", justify="right"),
                   Column("level", "level"), Column("rule", "rule"), Column("message", "message"), Column("fix", "fix")]


def _dry_run(db, folder: Path, output, *, action: str, to: str | None = None, steps: int = 1) -> None:
    import sys

    from cruddur_ops.cli.render import Output, resolve
    from cruddur_ops.pg import dryrun

    doc = dryrun.plan(db, folder, action=action, to=to, steps=steps)
    render.note(f"dry run: {len(doc['migrations'])} migration(s) would {'apply' if action == 'up' else 'be reverted'} "
                f"on {db.masked}; nothing was sent")
    if resolve(output) is Output.table:
        render.WROTE["result"] = True
        sys.stdout.write(dryrun.script(doc))
        sys.stdout.flush()
        return
    render.emit(doc, output)


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
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Apply the pending migrations, oldest first, each in one transaction with its version row.

    A failing migration is rolled back whole; the error names its file and line. An advisory lock makes a
    second `up` at the same time wait and then apply nothing twice. --dry-run prints the SQL instead.

    Example: cruddur db migrate up --to 20230415120000
    """
    from cruddur_ops.pg import migrate

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    migrate.read_dir(folder)  # every file valid before anything is written
    if dry_run:
        _dry_run(db, folder, output, action="up", to=to)
        return
    db = s.writable(db, Action("apply migrations", yes=yes,
                               prod_question=f"Apply the pending migrations on PRODUCTION ({db.masked})?"))
    done: list[str] = []

    def note(message: str) -> None:
        if message.startswith("applied "):
            done.append(message.removeprefix("applied "))
        render.note(message)

    try:
        doc = migrate.up(db, folder, to=to, on_note=note).to_dict()
    except KeyboardInterrupt as exc:  # SIGINT 130, SIGTERM 143, through the edge like every other way out
        from cruddur_ops.cli.errors import signal_of
        from cruddur_ops.errors import Interrupted

        raise Interrupted(f"interrupted: {len(done)} migration(s) applied ({', '.join(done) or 'none'}); the one "
                          "running was rolled back with its transaction; `cruddur db migrate status` shows where it "
                          "stands", signum=signal_of(exc)) from None
    render.note(f"applied {len(doc['done'])} migration(s) on {db.masked}" if doc["done"]
                else f"nothing to apply on {db.masked}: every migration is applied")
    render.emit(doc, output, lambda: _done_sections(doc))


def _revert(ctx: typer.Context, *, steps: int, redo: bool, migrations_dir: Path | None, yes: bool, output,
            dry_run: bool = False) -> None:
    from cruddur_ops.pg import migrate

    s, db = _target(ctx)
    folder = _folder(migrations_dir)
    if dry_run:
        migrate.read_dir(folder)
        _dry_run(db, folder, output, action="down", steps=steps)
        return

    def question(read) -> str | None:  # read after the guard (and, on production, after --yes alone is refused)
        targets = migrate.plan_down(read, folder, 1 if redo else steps)
        if not targets:
            return None
        files = ", ".join(m.file for m in targets)
        verb = "Revert and apply again" if redo else "Revert"
        return f"{verb} {files} on {db.name or db.masked}? What their down sections drop is lost."

    db = s.writable(db, Action("redo the newest migration" if redo else "revert migrations", destructive=True,
                               yes=yes, question=question))
    doc = migrate.down(db, folder, steps=steps, redo=redo, on_note=render.note).to_dict()
    render.emit(doc, output, lambda: _done_sections(doc))


@app.command("down")
def down(
    ctx: typer.Context,
    steps: Annotated[int, typer.Option("--steps", min=1, help="How many of the newest applied migrations to revert.")] = 1,
    migrations_dir: DirOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Revert the newest applied migration(s) with their down sections (asks; --prod: type the database name).

    --dry-run prints the down SQL and the version rows it would delete, and changes nothing (no question asked).

    Example: cruddur db migrate down --steps 2 --yes
    """
    _revert(ctx, steps=steps, redo=False, migrations_dir=migrations_dir, yes=yes, output=output, dry_run=dry_run)


@app.command("redo")
def redo(ctx: typer.Context, migrations_dir: DirOpt = None, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Revert the newest applied migration and apply it again (asks; --prod: type the database name).

    Example: cruddur db migrate redo --yes
    """
    _revert(ctx, steps=1, redo=True, migrations_dir=migrations_dir, yes=yes, output=output)


@app.command("lint")
def lint(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Migration files or folders (default: the migrations folder in force).",
                                                          show_default=False)] = None,
    allow: Annotated[Optional[list[str]], typer.Option("--allow", help="Waive RULE in every file (repeatable); a "
                                                       "migration waives one itself with '-- cruddur:allow RULE'.",
                                                       show_default=False)] = None,
    migrations_dir: DirOpt = None,
    output: OutputOpt = None,
) -> None:
    """Find changes that lock or lose data on a live database, before they run; exit 1 when one is an error.

    Rules: index-not-concurrent, not-null-without-default, constraint-not-valid, column-type-rewrite, drop-column,
    drop-table, rename-table, rename-column, missing-lock-timeout, missing-down, concurrently-in-transaction
    (docs/migrations.md shows each with a before and after). SQL is read by PostgreSQL's own parser.

    Example: cruddur db migrate lint db/migrations -o json
    """
    from cruddur_ops.pg import lint as pglint

    paths = list(files) if files else [_folder(migrations_dir)]
    result = pglint.lint(paths, frozenset(allow or ()))
    doc = {"findings": [f.to_dict() for f in result.findings]}
    render.note(f"{len(result.files)} file(s): {result.errors} error(s), {result.warnings} warning(s)"
                + (f", {result.waived} waived by cruddur:allow" if result.waived else ""))
    render.emit(doc, output, lambda: [Section("Lint", FINDING_COLUMNS, doc["findings"], empty="(no findings)")])
    if result.errors:
        raise typer.Exit(1)


@app.command("status")
def status(
    ctx: typer.Context,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when a migration is pending or broken (for CI).")] = False,
    migrations_dir: DirOpt = None,
    output: OutputOpt = None,
) -> None:
    """Each migration: applied, pending, edited after it was applied, missing its file, or broken (applied, but
    objects it creates are gone from the database; the warning says how to repair it). Writes nothing.

    Example: cruddur db migrate status --exit-code
    """
    from cruddur_ops.pg import migrate

    _, db = _target(ctx)
    folder = _folder(migrations_dir)
    result = migrate.status(db, folder)
    doc = result.to_dict()
    from cruddur_ops.cli.db_migrate_checks import mark_missing_effects

    mark_missing_effects(db, folder, doc)
    for row in doc["migrations"]:
        if row["state"] == "edited":
            render.warn(f"{row['file']} was edited after it was applied: write a new migration instead")
        elif row["state"] == "missing":
            render.warn(f"version {row['version']} is applied but its file ({row['file'] or 'unknown'}) is not in {folder}")
    title = (f"Migrations of {doc['database']}: {doc['applied']} applied, {doc['pending']} pending, "
             f"{doc['edited']} edited, {doc['missing']} missing, {doc['broken']} broken")
    render.emit(doc, output, lambda: [Section(title, ROW_COLUMNS, doc["migrations"])])
    if exit_code and (doc["pending"] or doc["broken"]):
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


from cruddur_ops.cli import db_migrate_checks  # noqa: E402,F401  (registers verify, baseline, reapply, schema diff)

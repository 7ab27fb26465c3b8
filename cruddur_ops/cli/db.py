"""`cruddur db …`: the app's PostgreSQL database — create, schema, seed, sessions, status."""

import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops import defaults
from cruddur_ops.cli import db_migrate, render
from cruddur_ops.cli.errors import interruptible
from cruddur_ops.cli.options import OutputOpt, YesOpt, require_terminal, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.errors import EngineError
from cruddur_ops.pg.database import DEFAULT_URL, Database
from cruddur_ops.settings import Action, Settings, is_production

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "PostgreSQL: create, schema-load, seed, sessions and status of the app's database. "
        f"The database is CONNECTION_URL (else DATABASE_URL, else {DEFAULT_URL}); with --prod, "
        "PROD_CONNECTION_URL. A host that is not loopback counts as production: changing it needs --prod."
    ),
)

app.add_typer(db_migrate.app, name="migrate")
app.add_typer(db_migrate.schema_app, name="schema")

SeedFileArg = Annotated[
    Optional[Path], typer.Argument(help="Seed file with the users (default: seeds/conversations.yaml).", show_default=False)
]
ActivitiesOpt = Annotated[
    Optional[Path],
    typer.Option("--activities", help="Activities YAML (default: activities.yaml next to the seed file, if any).", show_default=False),
]
SchemaFileArg = Annotated[Optional[Path], typer.Argument(help="SQL file (default: schemas/schema.sql).", show_default=False)]


def _target(ctx: typer.Context) -> tuple[Settings, Database]:
    s = settings(ctx)
    return s, Database.from_settings(s)


def _production(s: Settings, db: Database) -> bool:
    return is_production(s.prod, db.is_local)


def _on_production(what: str, db: Database) -> str:
    """Not destructive, but production: asked once unless --yes."""
    return f"{what[0].upper()}{what[1:]} on PRODUCTION ({db.masked})?"


def _facts(title: str | None, pairs: list[tuple[str, object]]) -> Section:
    return Section(title, [Column("", "field"), Column("", "value")], [{"field": k, "value": v} for k, v in pairs])


def _size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def _seed_input(file: Path | None, activities_file: Path | None):
    from cruddur_ops.pg.setup import read_seed_input

    return read_seed_input(file, activities_file)


def _table_section(title: str, tables: list[dict]) -> Section:
    return Section(title, [Column("table", "name"), Column("action", "action"),
                           Column("rows before", "rows_before", justify="right"),
                           Column("rows after", "rows_after", justify="right"),
                           Column("rows lost", "rows_lost", justify="right")], tables)


def _schema_notes(loaded: dict) -> None:
    """On stderr: each statement the run skipped (and why), columns the file has that a kept table lacks, rows lost."""
    name = Path(loaded["file"]).name
    for skip in loaded.get("skipped", []):
        render.note(f"{name}:{skip['line']}: skipped {skip['statement']}: {skip['reason']}")
    for table in loaded["tables"]:
        if table.get("missing_columns"):
            render.warn(f"table {table['name']} was kept without the file's column(s) {', '.join(table['missing_columns'])}; "
                        "add them with a migration (`cruddur db migrate new …`)")
        if table["action"] in ("recreated", "dropped") or table.get("rows_lost"):
            render.warn(f"table {table['name']} {table['action']}: {table['rows_lost']} row(s) lost "
                        f"({table['rows_before']} before, {table['rows_after'] if table['rows_after'] is not None else 'none'} after)")


def _seed_section(doc: dict) -> Section:
    rows = [{"what": k, **doc[k]} for k in ("users", "activities")]
    return Section("Seed", [Column("", "what"), Column("inserted", "inserted", justify="right"),
                            Column("already there", "existing", justify="right")], rows)


def _warn_mismatched(mismatched: list[dict]) -> None:
    for m in mismatched:
        render.warn(
            f"user '{m['handle']}' exists with uuid {m['database_uuid'] or '(none)'}, not the seed file's {m['seed_uuid']}; "
            "left alone (seed DynamoDB with --users-from db to match PostgreSQL)"
        )


# --- the database ---------------------------------------------------------------------------------------
@app.command("create")
def create(ctx: typer.Context, output: OutputOpt = None) -> None:
    """Create the connection URL's database (through the server's maintenance database); nothing if it exists.

    Example: cruddur db create
    """
    from cruddur_ops.pg import admin

    s, db = _target(ctx)
    db = s.writable(db, Action("create a database"))
    doc = {**admin.create_database(db), "url": db.masked}
    render.note(("created database " if doc["created"] else "database exists: ") + doc["database"])
    render.emit(doc, output, lambda: [_facts(None, [("database", doc["database"]), ("created", doc["created"]), ("url", doc["url"])])])


@app.command("drop")
def drop(ctx: typer.Context, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Drop the connection URL's database, ending its open sessions first (asks; --prod: type its name).

    Example: cruddur db drop --yes
    """
    from cruddur_ops.pg import admin

    s, db = _target(ctx)
    name = db.require_name()
    db = s.writable(db, Action(f"drop database {name}", destructive=True, yes=yes,
                               question=f"Drop database {name} on {db.host} and everything in it?"))
    doc = {**admin.drop_database(db), "url": db.masked}
    if doc["dropped"]:
        render.note(f"dropped database {name}" + (f", ending {doc['sessions_ended']} open session(s)" if doc["sessions_ended"] else ""))
    else:
        render.note(f"database {name} does not exist; nothing to drop")
    render.emit(doc, output, lambda: [_facts(None, [("database", name), ("dropped", doc["dropped"]),
                                                     ("sessions ended", doc["sessions_ended"])])])


@app.command("schema-load")
def schema_load(
    ctx: typer.Context,
    file: SchemaFileArg = None,
    reset: Annotated[bool, typer.Option("--reset", help="Drop the file's tables first, so they come back empty (asks).")] = False,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Run a schema file whole, every statement as written, in one transaction; the first error names file and line.

    A file that drops, truncates or deletes from tables that exist (the app's own schema.sql begins with
    DROP TABLE IF EXISTS) is destructive: it asks first, naming the tables and their rows (--yes locally; on
    production type the database name). The report is measured: rows before and after, and whether each table
    was kept, created, dropped or dropped and recreated. (`db setup` never runs such statements: it applies only
    what is missing.)

    Example: cruddur db schema-load --reset --yes
    """
    from cruddur_ops.pg import schema

    s, db = _target(ctx)
    path = file or defaults.sql_schema_file()
    schema.read(path)
    def question(read) -> str | None:  # after the guard: what the file would destroy, counted on the live tables
        if reset:
            return f"Drop and recreate the tables of {path.name} in {db.name or 'the database'}? Their rows are lost."
        with read.connect(autocommit=True) as conn:
            risk = schema.plan(conn, path)
        if not risk["destructive"]:
            return None
        hits = {t["name"]: t["rows"] for d in risk["destructive"] for t in d["tables"]}
        lines = ", ".join(str(d["line"]) for d in risk["destructive"])
        tables = ", ".join(f"{name} ({rows} rows)" for name, rows in hits.items())
        return (f"{path.name} drops or empties tables that exist (line {lines}): {tables}. "
                f"Run it whole on {db.name or 'the database'}? Their rows are lost.")

    db = s.writable(db, Action("reset the schema" if reset else "run the schema file whole", destructive=True,
                               yes=yes, question=question))
    with db.connect() as conn:
        doc = {"database": conn.info.dbname, "url": db.masked, **schema.load(conn, path, whole=True, reset=reset)}
    _schema_notes(doc)
    if not reset and any(t["action"] in ("recreated", "dropped") for t in doc["tables"]):
        render.warn("what applied migrations added to those tables is gone too; `cruddur db migrate status` still "
                    "lists them as applied (revert and apply them again, or `db schema-load --reset` to start over)")
    if reset:
        from cruddur_ops.pg import migrate

        if forgotten := migrate.forget(db):
            render.note(f"the tables were recreated from {path.name}: forgot {forgotten} applied migration(s); "
                        "apply them again with `cruddur db migrate up`")
    render.emit(doc, output, lambda: [_table_section(f"{path} → {doc['database']}", doc["tables"])])


@app.command("seed")
def seed(
    ctx: typer.Context,
    file: SeedFileArg = None,
    activities: ActivitiesOpt = None,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Insert the seed file's users (same uuids as DynamoDB's seed) and a few activities; a rerun adds nothing.

    Activities come from the seed file's `activities` list and activities.yaml beside it (or --activities).

    Example: cruddur db seed seeds/conversations.yaml
    """
    from cruddur_ops.pg import seed as pgseed

    s, db = _target(ctx)
    data = _seed_input(file, activities)
    db = s.writable(db, Action("seed the database", yes=yes, prod_question=_on_production("seed test users", db)))
    committed: list[bool] = []

    def summary() -> str:  # what a SIGINT/SIGTERM leaves behind: the seed is one transaction
        if committed:
            return f"interrupted after the seed was committed to {db.masked}; a rerun adds nothing"
        return (f"interrupted: db seed wrote nothing to {db.masked} (its one transaction was rolled back); "
                "rerun `cruddur db seed` to seed it")

    with interruptible(summary):
        with db.connect() as conn:
            report = pgseed.seed(conn, data.users, data.activities)
            name = conn.info.dbname
        committed.append(True)
    _warn_mismatched(report["mismatched"])
    doc = {"database": name, "url": db.masked, "seed_file": str(data.path),
           "activities_file": str(data.activities_path) if data.activities_path else None, **report}
    render.emit(doc, output, lambda: [_seed_section(doc)])


@app.command("setup")
def setup(
    ctx: typer.Context,
    file: SeedFileArg = None,
    activities: ActivitiesOpt = None,
    schema_file: Annotated[Optional[Path], typer.Option("--schema", help="SQL file (default: schemas/schema.sql).", show_default=False)] = None,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Create the database, load the schema, apply the migrations and seed it, in one go; a second run changes nothing.

    On a database that holds the schema's tables, only what is missing is created: a DROP, TRUNCATE or DELETE of a
    table that exists never runs (not even with --yes; `db schema-load` runs a file whole, and asks), and each
    skipped statement is named on stderr. The report counts each table's rows before and after.

    Example: cruddur db setup
    """
    from cruddur_ops.pg.setup import setup_database

    s, db = _target(ctx)
    schema_path = schema_file or defaults.sql_schema_file()
    data = _seed_input(file, activities)
    db = s.writable(db, Action("set up the database", yes=yes, prod_question=_on_production("set up the database", db)))
    doc = setup_database(db, seed=data, schema_path=schema_path)
    seeded, loaded, changed = doc["seed"], doc["schema"], doc["changed"]
    render.note(f"migrations: {doc['migrations']['dir']} ({len(doc['migrations']['files'])} file(s), "
                f"{len(doc['migrations']['done'])} applied now)")
    _schema_notes(loaded)
    _warn_mismatched(seeded["mismatched"])
    render.note(("set up " if changed else "already set up, nothing changed: ") + db.masked)
    render.emit(doc, output, lambda: [
        _facts(None, [("database", doc["database"]), ("created", doc["created"]), ("changed", changed)]),
        _table_section("Schema", loaded["tables"]), _seed_section(seeded)])


@app.command("connect", context_settings={"ignore_unknown_options": True})
def connect(
    ctx: typer.Context,
    psql_args: Annotated[Optional[list[str]], typer.Argument(help="Arguments for psql, after --.", show_default=False)] = None,
) -> None:
    """Open psql on the database (the password goes through PGPASSWORD, never the command line).

    Example: cruddur db connect -- -c "select count(*) from users"
    """
    import subprocess

    from cruddur_ops.pg.database import psql_command

    s, db = _target(ctx)
    argv, env = psql_command(db, list(psql_args or []), s.child_env())
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to psql now
    try:
        code = subprocess.run(argv, env=env).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(code)


# --- sessions and status --------------------------------------------------------------------------------
SESSION_COLUMNS = [
    Column("pid", "pid", justify="right"), Column("user", "user"), Column("application", "application"),
    Column("client", "client"), Column("state", "state"),
    Column("since", lambda r: r["since"][:19].replace("T", " ") if r.get("since") else None),
    Column("query", "query", max_width=60),
]


@app.command("sessions")
def sessions(ctx: typer.Context, output: OutputOpt = None) -> None:
    """List the other sessions connected to the database (pg_stat_activity).

    Example: cruddur db sessions --output json
    """
    from cruddur_ops.pg import sessions as pgsessions

    _, db = _target(ctx)
    with db.connect(autocommit=True) as conn:
        rows = pgsessions.list_sessions(conn)
        name = conn.info.dbname
    doc = {"database": name, "count": len(rows), "sessions": rows}
    render.emit(doc, output, lambda: [Section(f"Sessions on {name}", SESSION_COLUMNS, rows)])


@app.command("kill-all")
def kill_all(ctx: typer.Context, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """End every session on the database except this one (asks; --prod: type its name).

    Example: cruddur db kill-all --yes
    """
    from cruddur_ops.pg import sessions as pgsessions

    s, db = _target(ctx)
    db = s.writable(db, Action("end sessions"))
    if _production(s, db):  # the name is typed at a terminal: without one, refuse before connecting
        require_terminal(True, f"end the sessions on {db.require_name()}", db.require_name(), yes=yes, where=db.masked)
    with db.connect(autocommit=True) as conn:
        name = conn.info.dbname
        others = pgsessions.list_sessions(conn)
        if others:
            s.confirm(Action(f"end the sessions on {name}", destructive=True, yes=yes, name=db.require_name(),
                             question=f"End {len(others)} session(s) on {name}?", where=db.masked),
                      production=_production(s, db))
            result = pgsessions.end_sessions(conn)
        else:
            result = {"ended": [], "not_ended": []}
    doc = {"database": name, "count": len(result["ended"]), **result}
    render.note(f"ended {doc['count']} session(s) on {name}")
    for row in result["not_ended"]:
        render.warn(f"could not end session {row['pid']} of {row['user']}: not allowed for this user")
    render.emit(doc, output, lambda: [Section("Ended", SESSION_COLUMNS[:3], result["ended"]),
                                      *([Section("Not ended", SESSION_COLUMNS[:3], result["not_ended"])] if result["not_ended"] else [])])


@app.command("status")
def status(
    ctx: typer.Context,
    wait: Annotated[Optional[float], typer.Option("--wait", min=0, help="Wait up to SECONDS for the server to answer.", show_default=False)] = None,
    output: OutputOpt = None,
) -> None:
    """Show whether the server answers, its version, the database's size and rows per table; exit 1 when unreachable.

    Example: cruddur db status --wait 30
    """
    from cruddur_ops.pg import admin

    _, db = _target(ctx)
    if wait is not None:
        waited = admin.wait_until_up(db, wait)
        render.note(f"server answered after {waited:.1f} s")
    doc = admin.status(db)
    if doc["reachable"] and doc["exists"] is False:
        render.warn(f"database {doc['database']} does not exist; create it with `cruddur db setup`")
    render.emit(doc, output, lambda: [
        _facts("PostgreSQL", [("url", f"{doc['url']} ({doc['source']})"), ("reachable", doc["reachable"]),
                              ("server version", doc["server_version"]), ("database", doc["database"]),
                              ("exists", doc["exists"]), ("size", _size(doc["size_bytes"]))]),
        Section("Tables", [Column("table", "name"), Column("rows", "rows", justify="right")], doc["tables"]),
    ])
    if not doc["reachable"]:
        raise EngineError(doc["error"] or f"cannot reach {doc['url']}")

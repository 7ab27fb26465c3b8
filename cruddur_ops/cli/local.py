"""`cruddur local …`: the local engines, started by the tool itself (no Docker): DynamoDB Local and PostgreSQL."""

import dataclasses
import shlex
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from cruddur_ops.cli import local_snapshot, render
from cruddur_ops.cli.options import OutputOpt, YesOpt, confirm, prices, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.errors import EngineError
from cruddur_ops.settings import Settings

app = typer.Typer(
    no_args_is_help=True,
    help="Start, stop and inspect the local engines: DynamoDB Local (on Java) and PostgreSQL (a server that "
         "answers at CONNECTION_URL, else a private cluster in the data dir).",
)
app.add_typer(local_snapshot.app, name="snapshot")


class PgMode(str, Enum):
    auto = "auto"
    private = "private"
    off = "off"


PostgresOpt = Annotated[
    PgMode,
    typer.Option("--postgres", help="auto: the server at CONNECTION_URL (else postgresql://postgres@127.0.0.1:5432/cruddur) "
                                    "when one answers, else a private cluster; private: always the private cluster; "
                                    "off: no PostgreSQL."),
]


def _pg_lines(service) -> list[str]:
    """The CONNECTION_URL export line (and PGPASSFILE for a private cluster: its URL carries no password);
    a URL with a password stays as the user set it (never printed)."""
    from cruddur_ops.pg.database import parse

    if "password" in parse(service.url):
        return [f"# CONNECTION_URL is kept as set: {service.masked}"]
    lines = [f"export PGPASSFILE={shlex.quote(service.passfile)}"] if service.passfile else []
    return lines + [f"export CONNECTION_URL={shlex.quote(service.url)}"]


def _env_lines(endpoint: str | None, service=None, key: str | None = None) -> list[str]:
    lines = []
    if endpoint:
        lines += [
            f"export AWS_ENDPOINT_URL={endpoint}",  # the app's older boto3 reads only this one
            f"export AWS_ENDPOINT_URL_DYNAMODB={endpoint}",
            f"export DDB_MESSAGE_TABLE=${{DDB_MESSAGE_TABLE:-{TABLE}}}",  # the app's (and cruddur's) messages table
            "export AWS_REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}",
            "export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-$AWS_REGION}",  # boto3 and the AWS CLI read this one
        ]
        if key:  # the engine refuses every other access key (docs/security.md)
            from cruddur_ops.local import dynamodb_local

            lines += [f"export AWS_ACCESS_KEY_ID={key}", f"export AWS_SECRET_ACCESS_KEY={dynamodb_local.SECRET}"]
        else:
            lines += ["export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}",
                      "export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}"]
    else:
        lines.append("# DynamoDB Local is not running: start it with `cruddur local up`")
    if service is not None:
        lines += _pg_lines(service)
    return lines


def _print_lines(lines: list[str]) -> None:
    import sys

    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()


@app.command("up")
def up(
    ctx: typer.Context,
    port: Annotated[Optional[int], typer.Option("--port", help="DynamoDB Local's port (default: the one this data dir used last while it is free, else 8000 or the next free one).", show_default=False)] = None,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="DynamoDB Local keeps nothing on disk.")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Wipe the local data first: DynamoDB Local's files, the private PostgreSQL cluster (or the app's tables on the server in use).")] = False,
    dynamodb: Annotated[bool, typer.Option("--dynamodb/--no-dynamodb", help="Start DynamoDB Local.")] = True,
    postgres_mode: PostgresOpt = PgMode.auto,
    pg_port: Annotated[Optional[int], typer.Option("--pg-port", help="Port of a private PostgreSQL cluster (default 5433, or the next free one).", show_default=False)] = None,
    ttl_sweep: Annotated[bool, typer.Option("--ttl-sweep", help="Also start a background process that deletes expired TTL items every --ttl-sweep-every seconds (`cruddur ddb ttl sweep` of every table with TTL on); `local down` stops it.")] = False,
    ttl_sweep_every: Annotated[float, typer.Option("--ttl-sweep-every", min=1, help="Seconds between TTL sweeps.")] = 60.0,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Start (or find) DynamoDB Local and PostgreSQL, set the database up, and print the export lines to use.

    Already running: says so and changes nothing; running on another --port or not --in-memory as asked: an
    error that says how to restart it. Without --port, DynamoDB Local runs on the port this data dir used last
    while that is free. PostgreSQL is the server at CONNECTION_URL when one answers,
    else a private cluster in the data dir (initdb, loopback only, a free port), set up as `db setup` does.

    Example: cruddur local up && eval "$(cruddur local env)"
    """
    from cruddur_ops.local import dynamodb_local, postgres

    s = settings(ctx)
    if reset:
        confirm(f"Wipe the local data in {s.data_dir} (and the app's tables on the PostgreSQL server in use)?",
                yes=yes, what="reset the local data")
    doc: dict = {"dynamodb": None, "postgres": None, "env": []}
    endpoint = None
    if dynamodb:
        with render.progress("starting DynamoDB Local", None):
            engine, started = dynamodb_local.up(s.data_dir, port=port, in_memory=in_memory or None, reset=reset)
        render.note(("started" if started else "already running:") + f" DynamoDB Local pid {engine.pid} on {engine.endpoint}")
        if engine.listen != "127.0.0.1":
            render.warn(f"DynamoDB Local listens on every interface (port {engine.port}): other hosts can reach it; "
                        f"{dynamodb_local.LOOPBACK_HINT}")
        doc["dynamodb"] = {**engine.to_dict(), "started": started}
        endpoint = engine.endpoint
        if ttl_sweep:
            from cruddur_ops.ddb import ttl

            ttl.stop_background(s.data_dir)  # one sweeper per data dir
            pid = ttl.start_background(s.data_dir, engine.endpoint, ttl_sweep_every, s.child_env())
            render.note(f"TTL sweeper pid {pid}: every {ttl_sweep_every:g} s (log: {s.data_dir / 'ttl-sweep.log'})")
            doc["ttl_sweep"] = {"pid": pid, "every": ttl_sweep_every}
    service, failure = None, None
    if postgres_mode is not PgMode.off:
        try:
            service = postgres.up(s, mode=postgres_mode.value, port=pg_port, reset=reset, on_note=render.note)
        except EngineError as exc:
            failure = exc
        else:
            doc["postgres"] = service.to_dict()
            if service.setup and service.setup["seed"]["mismatched"]:
                render.warn(f"{len(service.setup['seed']['mismatched'])} seed user(s) exist with another uuid; "
                            "seed DynamoDB with `--users-from db` to match PostgreSQL")
    doc["env"] = (_env_lines(endpoint, service, dynamodb_local.key_for(s.data_dir, endpoint))
                  if (endpoint or service) else [])
    if output is render.Output.json:
        render.emit({**doc, "postgres_error": str(failure) if failure else None}, output)
    else:
        _print_lines([line for line in doc["env"]
                      if line.startswith(("export AWS_ENDPOINT_URL_DYNAMODB=", "export PGPASSFILE", "export CONNECTION_URL"))])
    if failure:
        raise failure


@app.command("down")
def down(ctx: typer.Context, output: OutputOpt = None) -> None:
    """Stop the engines `cruddur local up` started (by their recorded pids); a server it only used keeps running.

    Example: cruddur local down
    """
    from cruddur_ops.local import dynamodb_local, pgcluster

    s = settings(ctx)
    from cruddur_ops.ddb import ttl

    if ttl.stop_background(s.data_dir):
        render.note("stopped the TTL sweeper")
    engine = dynamodb_local.down(s.data_dir)
    render.note(f"stopped DynamoDB Local pid {engine.pid}" if engine else "DynamoDB Local was not running")
    cluster = pgcluster.down(s.data_dir)
    render.note(f"stopped PostgreSQL pid {cluster.pid} (port {cluster.port})" if cluster
                else "no private PostgreSQL cluster was running")
    rows = [{"service": "dynamodb-local", "pid": engine.pid if engine else None, "stopped": bool(engine)},
            {"service": "postgres", "pid": cluster.pid if cluster else None, "stopped": bool(cluster)}]
    render.emit({"services": rows}, output, lambda: [Section("Stopped", [
        Column("service", "service"), Column("pid", "pid"), Column("stopped", "stopped")], rows)])


def _dynamodb_row(s: Settings) -> dict:
    from cruddur_ops.local import dynamodb_local

    engine = dynamodb_local.running(s.data_dir)
    row: dict[str, Any] = {"service": "dynamodb-local", "state": "up" if engine else "down",
           "pid": engine.pid if engine else None, "endpoint": engine.endpoint if engine else None,
           "os_user": _whoami() if engine else None,
           "data": (engine.db_path or "in memory") if engine else None,
           "installed": bool(dynamodb_local.find_jar(s.data_dir)), "tables": [], "error": None}
    if engine:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = dataclasses.replace(s, endpoint_url=engine.endpoint).dynamodb()
            names = [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]
            # DynamoDB Local keeps ItemCount current (AWS refreshes it about every six hours)
            row["tables"] = [{"name": n, "items": client.describe_table(TableName=n)["Table"].get("ItemCount")}
                             for n in names]
        except (BotoCoreError, ClientError) as exc:  # the engine stopped answering
            row["state"], row["error"] = "not answering", f"{type(exc).__name__}: {exc}"
    return row


def _whoami() -> str:
    import os
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _clean_snapshot_leftovers(s, rows, leftover_db) -> None:
    """What a killed `local snapshot save/load` left, removed unless a save or load is running now."""
    from cruddur_ops.local import snapshot

    with snapshot.exclusive(s.data_dir, required=False) as idle:  # never what a running save/load is doing
        if idle:
            for gone in snapshot.clean_leftovers(s.data_dir, leftover_db):
                render.note(f"removed what an interrupted snapshot command left: {gone}")
            if list(snapshot.folder(s.data_dir).glob(f"{snapshot.JOURNAL}*.json")):  # a killed `snapshot load`
                from cruddur_ops.settings import is_local_url

                endpoint = s.endpoint_for("dynamodb") or rows[0].get("endpoint")
                if endpoint and is_local_url(endpoint):
                    snapshot.clean_tables(snapshot._client(endpoint, s), s.data_dir, render.note)  # put the tables back


@app.command("status")
def status(ctx: typer.Context, output: OutputOpt = None) -> None:
    """Show each local engine: pid, endpoint (password masked), up or down, and its tables with items or rows.

    Example: cruddur local status --output json
    """
    from cruddur_ops.local import postgres, snapshot

    s = settings(ctx)
    rows = [_dynamodb_row(s), postgres.status(s)]
    if rows[1].get("state") == "up" and rows[1].get("source") == "private cluster":
        from cruddur_ops.pg.database import Database

        leftover_db = Database.from_url(postgres.current(s).connect_url)
    else:
        leftover_db = None
    if snapshot.folder(s.data_dir).is_dir():
        try:
            _clean_snapshot_leftovers(s, rows, leftover_db)
        except EngineError as exc:  # a data dir local up would refuse: status still shows what runs
            render.warn(f"snapshot leftovers not checked: {exc}")

    def sections() -> list[Section]:
        out = [Section("Local engines", [
            Column("service", "service"), Column("state", "state"), Column("pid", "pid"),
            Column("endpoint", "endpoint"), Column("os user", "os_user"), Column("data", "data")], rows)]
        ddb, pg = rows
        if ddb["state"] == "up":
            out.append(Section("DynamoDB Local tables", [Column("table", "name"), Column("items", "items", justify="right")],
                               ddb["tables"]))
        if pg["state"] == "up":
            out.append(Section(f"PostgreSQL tables ({pg['database']}, {pg['source']})",
                               [Column("table", "name"), Column("rows", "rows", justify="right")], pg["tables"],
                               empty="(none: run `cruddur db setup`)" if not pg["exists"] else "(none)"))
        return out

    render.emit({"services": rows}, output, sections)


@app.command("env")
def env(ctx: typer.Context) -> None:
    """Print the export lines that point the AWS SDK, the app and cruddur at the local engines.

    Example: eval "$(cruddur local env)"
    """
    from cruddur_ops.local import dynamodb_local, postgres

    s = settings(ctx)
    engine = dynamodb_local.running(s.data_dir)
    service = postgres.current(s)
    if not engine and service.kind != "private":
        raise EngineError("DynamoDB Local is not running: start it with `cruddur local up`")
    _print_lines(_env_lines(engine.endpoint if engine else None, service,
                            dynamodb_local.key_for(s.data_dir, engine.endpoint) if engine else None))


@app.command("demo")
def demo(
    ctx: typer.Context,
    handle: Annotated[Optional[str], typer.Option("--handle", help="Whose conversations to show (default: the seed file's first user).", show_default=False)] = None,
    postgres_mode: PostgresOpt = PgMode.auto,
    output: OutputOpt = None,
) -> None:
    """The main job end to end on local engines: DynamoDB Local and PostgreSQL up, schema-load, db setup, seed
    DynamoDB with PostgreSQL's users, then a user's conversations and their newest one, with consumed capacity.

    Without PostgreSQL it says so on stderr and seeds from the seed file's users.

    Example: cruddur local demo
    """
    from cruddur_ops.cli.ddb import CONVERSATION_COLUMNS, MESSAGE_COLUMNS
    from cruddur_ops.local import demo as demo_lib

    result = demo_lib.run(settings(ctx), handle=handle,
                          postgres_mode=None if postgres_mode is PgMode.off else postgres_mode.value,
                          prices=prices(None), on_note=render.note, on_warn=render.warn, progress=render.progress)
    doc, user = result.doc, result.user
    sections = [
        Section(f"Conversations of {user.display_name} (@{user.handle})", CONVERSATION_COLUMNS, result.conversations),
        render.capacity_section(doc["conversations"]["consumed_capacity"]),
    ]
    if result.newest is not None:
        sections += [
            Section(f"Conversation with @{result.newest['user_handle']}", MESSAGE_COLUMNS, result.messages or []),
            render.capacity_section(doc["conversation"]["consumed_capacity"]),
        ]
    render.emit(doc, output, sections)
    service = doc["postgres"] or {}
    render.note(f"DynamoDB Local keeps running ({doc['endpoint']})"
                + (" and so does PostgreSQL" if service.get("kind") == "private" else "")
                + "; `cruddur local down` stops it")
    render.note('next: eval "$(cruddur local env)" and try `cruddur ddb pattern list` or `cruddur doctor`')

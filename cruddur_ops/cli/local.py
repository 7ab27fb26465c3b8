"""`cruddur local …`: the local engines, started by the tool itself (no Docker)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, settings
from cruddur_ops.cli.render import Column, Section

app = typer.Typer(no_args_is_help=True, help="Start, stop and inspect the local engines (DynamoDB Local on Java).")


def _env_lines(endpoint: str) -> list[str]:
    return [
        f"export AWS_ENDPOINT_URL_DYNAMODB={endpoint}",
        "export AWS_REGION=${AWS_REGION:-us-east-1}",
        "export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}",
        "export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}",
    ]


@app.command("up")
def up(
    ctx: typer.Context,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (default 8000, or the next free one).", show_default=False)] = None,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="Keep nothing on disk.")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Stop it and wipe the local data first.")] = False,
    output: OutputOpt = None,
) -> None:
    """Start DynamoDB Local in the background (installing it on first use) and print the env line to use.

    Example: cruddur local up && eval "$(cruddur local env)"
    """
    from cruddur_ops.local import dynamodb_local

    s = settings(ctx)
    with render.progress("starting DynamoDB Local", None):
        engine, started = dynamodb_local.up(s.data_dir, port=port, in_memory=in_memory, reset=reset)
    render.note(("started" if started else "already running:") + f" DynamoDB Local pid {engine.pid} on {engine.endpoint}")
    doc = {"dynamodb": {**engine.to_dict(), "started": started}, "env": _env_lines(engine.endpoint)}
    if output is render.Output.json:
        render.emit(doc, output)
    else:
        print(f"export AWS_ENDPOINT_URL_DYNAMODB={engine.endpoint}")


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop the engines `cruddur local up` started (by their recorded pid); nothing else.

    Example: cruddur local down
    """
    from cruddur_ops.local import dynamodb_local

    engine = dynamodb_local.down(settings(ctx).data_dir)
    render.note(f"stopped DynamoDB Local pid {engine.pid}" if engine else "DynamoDB Local was not running")


@app.command("status")
def status(ctx: typer.Context, output: OutputOpt = None) -> None:
    """Show each local engine: pid, endpoint, up or down.

    Example: cruddur local status --output json
    """
    from cruddur_ops.local import dynamodb_local

    s = settings(ctx)
    engine = dynamodb_local.running(s.data_dir)
    row = {"service": "dynamodb-local", "state": "up" if engine else "down",
           "pid": engine.pid if engine else None, "endpoint": engine.endpoint if engine else None,
           "data": (engine.db_path or "in memory") if engine else None,
           "installed": bool(dynamodb_local.find_jar(s.data_dir))}
    render.emit({"services": [row]}, output, lambda: [Section("Local engines", [
        Column("service", "service"), Column("state", "state"), Column("pid", "pid"), Column("endpoint", "endpoint"),
        Column("data", "data")], [row])])


@app.command("env")
def env(ctx: typer.Context) -> None:
    """Print the export lines that point the AWS SDK (and cruddur) at the local engines.

    Example: eval "$(cruddur local env)"
    """
    from cruddur_ops.local import dynamodb_local

    engine = dynamodb_local.running(settings(ctx).data_dir)
    if not engine:
        from cruddur_ops.errors import EngineError

        raise EngineError("DynamoDB Local is not running: start it with `cruddur local up`")
    print("\n".join(_env_lines(engine.endpoint)))


@app.command("demo")
def demo(
    ctx: typer.Context,
    handle: Annotated[Optional[str], typer.Option("--handle", help="Whose conversations to show (default: the seed file's first user).", show_default=False)] = None,
    output: OutputOpt = None,
) -> None:
    """The main job end to end on local engines: DynamoDB Local up, schema-load, seed, then a user's
    conversations and their newest conversation, with consumed capacity.

    Example: cruddur local demo
    """
    import dataclasses

    from cruddur_ops import defaults, seedfile
    from cruddur_ops.ddb import patterns, schema
    from cruddur_ops.ddb import seed as seeding
    from cruddur_ops.ddb.capacity import Prices
    from cruddur_ops.local import dynamodb_local

    s = settings(ctx)
    with render.progress("starting DynamoDB Local", None):
        engine, started = dynamodb_local.up(s.data_dir)
    render.note(("started" if started else "using running") + f" DynamoDB Local on {engine.endpoint}")
    s = dataclasses.replace(s, endpoint_url=engine.endpoint)
    client = s.dynamodb()

    read = schema.read(defaults.schema_files())
    loaded = schema.load(client, read.tables)
    render.note("tables: " + ", ".join(f"{r.name} {r.status}" for r in loaded))

    seed_doc = seedfile.read(defaults.seed_file())
    with render.progress("seeding", seed_doc.message_count + 2 * len(seed_doc.conversations)) as advance:
        seeded = seeding.seed(client, seed_doc, seed_doc.users, on_progress=advance)
    render.note(f"seeded {seeded.items_written} items in {seeded.seconds:.2f}s")

    user = next((u for u in seed_doc.users if u.handle == handle), None) if handle else seed_doc.users[0]
    if user is None:
        from cruddur_ops.errors import NotFoundError

        raise NotFoundError(f"no user '{handle}' in {seed_doc.path}")
    prices = Prices.load()
    groups = patterns.run_pattern(client, patterns.find(read.tables, "list-conversations"), {"user_uuid": user.uuid})
    doc = {"endpoint": engine.endpoint, "tables": [r.to_dict() for r in loaded], "seed": seeded.to_dict(prices),
           "user": {"handle": user.handle, "uuid": user.uuid, "display_name": user.display_name},
           "conversations": {"items": groups.items, "count": groups.count,
                             "consumed_capacity": groups.capacity.to_dict(prices)}}
    sections = [
        Section(f"Conversations of {user.display_name} (@{user.handle})", [
            Column("with", "user_handle"), Column("last message", "message", max_width=60), Column("when", "sk"),
            Column("group", "message_group_uuid")], groups.items),
        render.capacity_section(doc["conversations"]["consumed_capacity"]),
    ]
    if groups.items:
        newest = groups.items[0]
        messages = patterns.run_pattern(client, patterns.find(read.tables, "get-conversation"),
                                        {"message_group_uuid": newest["message_group_uuid"]})
        doc["conversation"] = {"message_group_uuid": newest["message_group_uuid"], "items": messages.items,
                               "count": messages.count, "consumed_capacity": messages.capacity.to_dict(prices)}
        sections += [
            Section(f"Conversation with @{newest['user_handle']}", [
                Column("time", "sk"), Column("sender", "user_handle"), Column("message", "message", max_width=80)],
                messages.items),
            render.capacity_section(doc["conversation"]["consumed_capacity"]),
        ]
    render.emit(doc, output, sections)
    render.note(f'next: eval "$(cruddur local env)" and try `cruddur ddb pattern list`')

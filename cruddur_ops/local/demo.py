"""`cruddur local demo` as one library call: the main job end to end on local engines.

DynamoDB Local and PostgreSQL up, the app's schema loaded, the database set up, DynamoDB seeded with
PostgreSQL's users (the seed file's users when there is no PostgreSQL), then a user's conversations and the
newest one, each with its consumed capacity. Progress and notes go through callbacks; the CLI renders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from cruddur_ops.errors import EngineError, NotFoundError
from cruddur_ops.model import User
from cruddur_ops.settings import Action

Progress = Callable[[str, "int | None"], AbstractContextManager[Callable[[int], None]]]


def _no_progress(description: str, total: int | None) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda n=1: None)


@dataclass
class DemoResult:
    """The document ``local demo --output json`` prints, and what its tables show."""

    doc: dict[str, Any]
    user: User
    conversations: list[dict]
    newest: dict | None = None  # the newest conversation's group row
    messages: list[dict] | None = None


def run(settings, *, handle: str | None = None, postgres_mode: str | None = "auto", prices=None,
        on_note: Callable[[str], None] | None = None, on_warn: Callable[[str], None] | None = None,
        progress: Progress | None = None) -> DemoResult:
    """Run the demo; ``postgres_mode`` is ``auto``, ``private`` or None (no PostgreSQL)."""
    from cruddur_ops import defaults
    from cruddur_ops.ddb import patterns, schema
    from cruddur_ops.ddb import seed as seeding
    from cruddur_ops.local import dynamodb_local, postgres
    from cruddur_ops.seeds import seedfile

    note = on_note or (lambda message: None)
    warn = on_warn or note
    progress = progress or _no_progress
    with progress("starting DynamoDB Local", None):
        engine, started = dynamodb_local.up(settings.data_dir)
    note(("started" if started else "using running") + f" DynamoDB Local on {engine.endpoint}")

    service, pg_error = None, None
    if postgres_mode is not None:
        try:
            service = postgres.up(settings, mode=postgres_mode, on_note=note)
        except EngineError as exc:
            pg_error = str(exc)
            warn(f"{exc}\n→ going on without PostgreSQL: DynamoDB is seeded with the seed file's users")

    local = dataclasses.replace(settings, endpoint_url=engine.endpoint)
    client = local.dynamodb(write=Action("load the schema and seed the demo"))  # like every other writer
    if service is not None:
        from cruddur_ops.pg.database import Database

        settings.writable(Database.from_url(service.connect_url, service.source), Action("read the demo's users"))
    files = defaults.schema_files()
    note(f"schema files: {', '.join(map(str, files))} (from {defaults.project().source('schemas')})")
    read = schema.read(files)
    loaded = schema.load(client, read.tables)
    note("tables: " + ", ".join(f"{r.name} {r.status}" for r in loaded))
    from cruddur_ops.ddb.model import TABLE

    schema.require_app_design(client, TABLE, what="local demo")

    db_users: list[User] | None = None
    users_from = "yaml"  # spelled as `ddb seed --users-from` takes it: db (PostgreSQL users) or yaml
    if service is not None:
        from cruddur_ops.pg.users import fetch_users

        db_users, users_from = fetch_users(service.connect_url), "db"
    source = None
    if service is not None:
        from cruddur_ops.pg.database import mask_text

        source = f"PostgreSQL users table at {mask_text(service.url)}"
    seed_doc = seedfile.read(defaults.seed_file(), users_override=db_users, users_source=source)
    users: list[User] = db_users if db_users is not None else list(seed_doc.users)
    with progress("seeding", seed_doc.message_count + 2 * len(seed_doc.conversations)) as advance:
        seeded = seeding.seed(client, seed_doc, users, on_progress=advance)
    note(f"seeded {seeded.items_written} items in {seeded.seconds:.2f}s (users from {'PostgreSQL' if users_from == 'db' else 'the seed file'})")

    wanted = handle or seed_doc.users[0].handle
    user = next((u for u in users if u.handle == wanted), None)
    if user is None:
        raise NotFoundError(f"no user '{wanted}' among the users of {'PostgreSQL' if service else seed_doc.path}")
    groups = patterns.run_pattern(client, patterns.find(read.tables, "list-conversations"), {"user_uuid": user.uuid})
    doc = {"endpoint": engine.endpoint, "tables": [r.to_dict() for r in loaded],
           "postgres": service.to_dict() if service else None, "postgres_error": pg_error,
           "users_from": users_from, "seed": seeded.to_dict(prices),
           "user": {"handle": user.handle, "uuid": user.uuid, "display_name": user.display_name},
           "conversations": {"items": groups.items, "count": groups.count,
                             "consumed_capacity": groups.capacity.to_dict(prices)}}
    result = DemoResult(doc, user, groups.items)
    if groups.items:
        newest = groups.items[0]
        messages = patterns.run_pattern(client, patterns.find(read.tables, "get-conversation"),
                                        {"message_group_uuid": newest["message_group_uuid"]})
        doc["conversation"] = {"message_group_uuid": newest["message_group_uuid"], "items": messages.items,
                               "count": messages.count, "consumed_capacity": messages.capacity.to_dict(prices)}
        result.newest, result.messages = newest, messages.items
    return result

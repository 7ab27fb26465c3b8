"""`db setup` as one library call: create the database, load the schema, apply the migrations, seed users and activities.

``cruddur db setup``, ``cruddur local up`` and ``cruddur doctor --fix`` all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class SeedInput:
    """The seed file's users and activities (its own list plus activities.yaml beside it), validated."""

    path: Path
    users: list
    activities: list
    activities_path: Path | None


def read_seed_input(seed_path: Path | None = None, activities_path: Path | None = None) -> SeedInput:
    """Read and validate everything `db seed` writes, before anything is written."""
    from cruddur_ops import defaults
    from cruddur_ops.seeds import activities as activities_file
    from cruddur_ops.seeds import seedfile

    path = Path(seed_path or defaults.seed_file())
    seed = seedfile.read(path)
    handles = {u.handle for u in seed.users}
    activities = activities_file.parse_activities(seed.activities, handles, seed.path)
    sibling = path.with_name("activities.yaml")
    act_path = activities_path or (sibling if sibling.is_file() else None)
    if act_path is not None:
        activities += activities_file.read_activities(act_path, handles)
    return SeedInput(path, seed.users, activities, act_path)


def setup_database(db, *, seed: SeedInput | None = None, seed_path: Path | None = None,
                   schema_path: Path | None = None, migrations_dir: Path | None = None, reset: bool = False) -> dict:
    """Create the database, load the schema, apply the pending migrations and seed it; idempotent (a second run
    changes nothing).

    ``reset`` drops the schema's tables first (and forgets the applied migrations, which then run again), so they
    come back holding the seed alone.
    Returns ``{"database", "url", "created", "schema", "migrations", "seed", "changed"}``.
    """
    from cruddur_ops import defaults
    from cruddur_ops.pg import admin, migrate, schema
    from cruddur_ops.pg import seed as pgseed

    schema_path = Path(schema_path or defaults.sql_schema_file())
    migrations_dir = Path(migrations_dir or defaults.migrations_dir())
    schema.read(schema_path)
    migrate.read_dir(migrations_dir)
    seed = seed or read_seed_input(seed_path)
    created = admin.create_database(db)
    with db.connect() as conn:
        loaded = schema.load(conn, schema_path, reset=reset)
        if reset:
            migrate.forget(db)
        migrated = migrate.up(db, migrations_dir).to_dict()
        seeded = pgseed.seed(conn, seed.users, seed.activities)
    changed = (created["created"] or any(t["action"] not in ("kept", "absent") for t in loaded["tables"]) or bool(migrated["done"])
               or seeded["users"]["inserted"] > 0 or seeded["activities"]["inserted"] > 0)
    return {"database": created["database"], "url": db.masked, "created": created["created"], "schema": loaded,
            "migrations": {k: migrated[k] for k in ("dir", "files", "done", "applied", "pending")},
            "seed": {"seed_file": str(seed.path), **seeded}, "changed": changed}

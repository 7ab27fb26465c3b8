"""How long the migration checks take: `db migrate verify`, `db schema diff` and the broken-migration check of
`db migrate status`, on a folder of N generated migrations (a table, then a column, an index… per migration).

    python bench/verify.py                  # N = 5, 20
    python bench/verify.py --sizes 10 40

Starts a private PostgreSQL cluster of its own (the code of `cruddur local up`) in a temporary folder on a loopback
port and wipes it at the end; prints a markdown table (docs/benchmarks.md is left alone).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cruddur_ops.local import pgcluster  # noqa: E402
from cruddur_ops.local._proc import free_port  # noqa: E402
from cruddur_ops.pg import admin, drift, migrate, scratch, verify  # noqa: E402
from cruddur_ops.pg.database import Database  # noqa: E402

PASSWORD = "bench-only-password"


def write_folder(folder: Path, n: int) -> None:
    """N migrations: every third creates a table, the others add a column or an index to the newest table."""
    folder.mkdir(parents=True)
    table = None
    for i in range(n):
        version = f"2026{1 + i // 28 // 24:02d}{1 + i // 24 % 28:02d}{i % 24:02d}0000"
        if table is None or i % 3 == 0:
            table = f"t{i}"
            up = f"CREATE TABLE {table} (id serial PRIMARY KEY, name text NOT NULL);"
            down = f"DROP TABLE {table};"
        elif i % 3 == 1:
            up = f"ALTER TABLE {table} ADD COLUMN c{i} text DEFAULT 'x';"
            down = f"ALTER TABLE {table} DROP COLUMN c{i};"
        else:
            up = f"CREATE INDEX {table}_name_{i} ON {table} (name);"
            down = f"DROP INDEX {table}_name_{i};"
        (folder / f"{version}_step_{i}.sql").write_text(f"-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n")


def timed(fn, *args, **kwargs) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20])
    args = parser.parse_args()
    binaries = pgcluster.find_binaries(os.environ)
    if binaries is None:
        sys.exit("PostgreSQL binaries (initdb, postgres) are not installed")
    env = {"PATH": os.environ.get("PATH", "")}
    with tempfile.TemporaryDirectory(prefix="cruddur-bench-verify-") as tmp:
        data_dir = Path(tmp) / "pg"
        data_dir.mkdir()
        pgcluster.initialise(data_dir, binaries, os.environ, password=PASSWORD)
        cluster = pgcluster.start(data_dir, binaries, os.environ, port=free_port(5600))
        try:
            rows = []
            for n in args.sizes:
                folder = Path(tmp) / f"migrations-{n}"
                write_folder(folder, n)
                db = Database.from_url(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{cluster.port}/bench_{n}")
                admin.create_database(db)
                migrate.up(db, folder)
                t_verify = timed(verify.verify, db, folder, env, base=None)
                t_diff = timed(drift.schema_diff, db, folder, env, base=None)
                states = {r.version: r.state for r in migrate.status(db, folder).migrations}
                t_status = timed(drift.check_status, db, folder, states)
                assert scratch.leftovers(db) == []
                rows.append((n, t_verify, t_diff, t_status))
        finally:
            pgcluster.stop_cluster(cluster)
            pgcluster.wipe(data_dir)
    print("| migrations | verify | schema diff | status check |")
    print("|---:|---:|---:|---:|")
    for n, a, b, c in rows:
        print(f"| {n} | {a:.2f} s | {b:.2f} s | {c * 1000:.0f} ms |")


if __name__ == "__main__":
    main()

"""Snapshots of the local stack: `cruddur local snapshot save` and `load` of the shipped seed's stack and of a
100,000-item table, end to end (the CLI as a subprocess), beside the raw engine calls they are made of.

    python bench/snapshot.py                     # shipped seed (3 rounds) and 100,000 items (2 rounds)
    python bench/snapshot.py --items 20000 --no-doc

Needs DynamoDB Local (started here, in memory) and a PostgreSQL server on 127.0.0.1:5432 (trust); the bench
makes a scratch database there and drops it at the end.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _common import (
    CRUDDUR,
    batch_parallel,
    count_items,
    create_table,
    engine,
    machine,
    markdown_table,
    run_child,
    seed_items,
    today,
    update_doc,
    write_seed_file,
)

SERVER = "postgresql://postgres@127.0.0.1:5432"
TABLE = "cruddur-messages"


def cli(env, *args: str):
    child = run_child([str(CRUDDUR), *args], env)
    if child.returncode != 0:
        sys.exit(f"cruddur {' '.join(args)} failed ({child.returncode}): {child.stderr.strip()}")
    return child


def raw_scan(client, table: str, segments: int = 4) -> tuple[int, float]:
    def segment(i):
        return sum(len(p["Items"]) for p in client.get_paginator("scan").paginate(
            TableName=table, Segment=i, TotalSegments=segments))

    started = time.perf_counter()
    with ThreadPoolExecutor(segments) as pool:
        n = sum(pool.map(segment, range(segments)))
    return n, time.perf_counter() - started


def snapshot_size(env, name: str) -> int:
    import json

    doc = json.loads(cli(env, "local", "snapshot", "list", "--output", "json").stdout)
    return next(s["size_bytes"] for s in doc["snapshots"] if s["name"] == name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the shipped seed's stack")
    parser.add_argument("--big-rounds", type=int, default=2, help="rounds of the big table, interleaved with the raw calls")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()

    import os

    import psycopg

    load_before = os.getloadavg()[0]
    dbname = f"cruddur_bench_{secrets.token_hex(4)}"
    with engine() as bench:
        env = {**bench.env(), "CONNECTION_URL": f"{SERVER}/{dbname}"}
        client = bench.client()
        try:
            # --- the shipped seed's stack, as `local demo` leaves it --------------------------------------------
            cli(env, "db", "setup", "--yes")
            cli(env, "ddb", "schema-load")
            cli(env, "ddb", "seed", "--users-from", "db")
            seed_n = count_items(client, TABLE)
            saves, loads = [], []
            for _ in range(args.rounds):
                saves.append(cli(env, "local", "snapshot", "save", "seed", "--force").seconds)
                loads.append(cli(env, "local", "snapshot", "load", "seed", "--yes").seconds)
            assert count_items(client, TABLE) == seed_n
            seed_size = snapshot_size(env, "seed")
            help_s = min(cli(env, "local", "snapshot", "--help").seconds for _ in range(3))

            # --- one table of N items (the app's keys and GSI, ~300-byte items) ----------------------------------
            # interleaved rounds, best of each: the raw calls and the commands see the same machine load
            path = bench.workdir / "big.yaml"
            write_seed_file(path, args.items)
            items = seed_items(path)
            raw_writes, raw_reads, big_saves, big_loads = [], [], [], []
            for _ in range(args.big_rounds):
                create_table(client, TABLE)
                raw_writes.append(batch_parallel(client, TABLE, items, 16))
                n, seconds = raw_scan(client, TABLE)
                assert n == len(items), (n, len(items))
                raw_reads.append(seconds)
                big_saves.append(cli(env, "local", "snapshot", "save", "big", "--force").seconds)
                cli(env, "ddb", "drop", TABLE, "--yes")  # change everything: the table is gone
                big_loads.append(cli(env, "local", "snapshot", "load", "big", "--yes").seconds)
                assert count_items(client, TABLE) == n
            big_size = snapshot_size(env, "big")
            raw_write, raw_read, big_save, big_load = min(raw_writes), min(raw_reads), min(big_saves), min(big_loads)
        finally:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    rows = [
        [f"shipped seed ({seed_n} items, users + activities)", "save", f"{min(saves):.2f}", f"{statistics.median(saves):.2f}",
         f"{seed_size / 1e3:.0f} kB", f"{min(saves) / help_s:.1f}× `--help`"],
        ["", "load", f"{min(loads):.2f}", f"{statistics.median(loads):.2f}", "", f"{min(loads) / help_s:.1f}× `--help`"],
        [f"{n:,} items (+ the seed's database)", "save", f"{big_save:.2f}", "", f"{big_size / 1e6:.1f} MB",
         f"{n / big_save:,.0f} items/s = {raw_read / big_save:.0%} of the speed of a raw 4-segment scan ({raw_read:.2f} s)"],
        ["", "load", f"{big_load:.2f}", "", "",
         f"{n / big_load:,.0f} items/s = {raw_write / big_load:.0%} of the speed of raw 16-worker batch_write_item ({raw_write:.2f} s)"],
    ]
    table = markdown_table(["stack", "command", "best s", "median s", "archive", "vs"], rows)
    print(table)
    if not args.no_doc:
        body = [f"## Snapshots (`python bench/snapshot.py --items {args.items}`)", "",
                f"{today()}; {machine(bench)}; PostgreSQL on 127.0.0.1:5432; 1-minute load average "
                f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.", "",
                "`cruddur local snapshot save` / `load --yes` as subprocesses, exec to exit. The shipped seed's stack "
                f"(`db setup`, `ddb schema-load`, `ddb seed --users-from db`) is saved and loaded {args.rounds} times; "
                f"the {n:,}-item table {args.big_rounds} times, each load after the table was dropped (so `load` recreates it), "
                "interleaved with the raw calls; best of each. `vs`: the start-up of "
                "`cruddur local snapshot --help` (the floor of any command), and for the big table the raw engine "
                "calls a snapshot is made of, run by the bench in-process on the same data.", "",
                table, "",
                "A load restores the database into a new database beside the one in use and swaps it in (so a "
                "failed restore changes nothing), deletes and recreates every table, writes the items with "
                "16 parallel `batch_write_item` calls and re-enables streams afterwards, so the writes do not go "
                "through DynamoDB Local's (slow) stream emulation."]
        summary_line = (f"Snapshots: the shipped seed's whole stack saves in {min(saves):.1f} s and loads in "
                        f"{min(loads):.1f} s; {n:,} items save in {big_save:.1f} s and load in {big_load:.1f} s "
                        f"({raw_write / big_load:.0%} of raw parallel batch_write_item).")
        update_doc("snapshot", "\n".join(body))
        print(summary_line)


if __name__ == "__main__":
    main()

"""`cruddur ddb generate` against raw parallel batch_write_item, side by side in one run on one DynamoDB Local.

    python bench/generate.py                 # 20,000 items of the test design (tests/ddb/entities/schema.json)
    python bench/generate.py --items 5000 --no-doc

(b) is the engine's ceiling as the bench reaches it: the same items, prebuilt as 25-item batch_write_item calls
from 8 and 16 threads, the best of them. (g) is generate's write path (ddb/generate.py `write`, the batch engine)
on the same items, made beforehand so Faker's time is apart; (g′) is the whole command as a subprocess, exec to
exit, making its values as it writes. Every run writes into a fresh table of the design.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _common import CRUDDUR, ROOT, batch_parallel, engine, machine, markdown_table, run_child, today, update_doc

SCHEMA = ROOT / "tests" / "ddb" / "entities" / "schema.json"
TABLE = "lending-library"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000, help="items per run (default 20,000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each counts")
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 16], help="raw batch worker counts")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    from cruddur_ops.ddb import generate, schema
    from cruddur_ops.ddb.typed import to_attrs

    specs = schema.read([SCHEMA]).tables
    spec = next(s for s in specs if s.name == TABLE)
    entities = {n: e for s in specs for n, e in s.entities.items()}
    plan = generate.plan(entities, ttl={TABLE: "expires_at"})
    started = time.perf_counter()
    made = list(generate.take(plan, args.items, table=TABLE, seed=1))
    make_rate = len(made) / (time.perf_counter() - started)
    typed = [to_attrs(m.item) for m in made]
    n = len(typed)
    log(f"{n:,} items made in memory at {make_rate:,.0f} items/s (Faker)")

    with engine() as bench:
        client = bench.client()
        writer_client = __import__("cruddur_ops.settings", fromlist=["Settings"]).Settings.from_env(
            env=bench.env()).dynamodb(validate=False, attempts=1)
        counter = iter(range(1_000_000))

        def fresh() -> str:
            import dataclasses

            name = f"bench-gen-{next(counter)}"
            schema.load(client, [dataclasses.replace(spec, request={**spec.request, "TableName": name})], local=True)
            return name

        def done(name: str, expected: int) -> None:
            count = sum(p["Count"] for p in client.get_paginator("scan").paginate(TableName=name, Select="COUNT"))
            client.delete_table(TableName=name)
            if count != expected:
                sys.exit(f"{name}: {count} items, expected {expected}")

        table = fresh()  # warm-up, not measured
        batch_parallel(client, table, typed[: min(n, 5000)], 8)
        done(table, min(n, 5000))
        raw: dict[int, list[float]] = {}
        engine_rates: list[float] = []
        cli_rates: list[float] = []
        for round_ in range(args.repeat):
            for workers in args.workers:
                table = fresh()
                seconds = batch_parallel(client, table, typed, workers)
                done(table, n)
                raw.setdefault(workers, []).append(n / seconds)
            table = fresh()
            result = generate.write(writer_client, table, iter(made), key_names=("pk", "sk"), workers=16)
            done(table, n)
            engine_rates.append(n / result.seconds)
            table = fresh()
            env = bench.env()
            child = run_child([str(CRUDDUR), "ddb", "generate", table, "--count", str(n), "--seed", "1",
                               "--schema", str(_renamed(bench.workdir, table)), "-o", "json"], env)
            if child.returncode != 0:
                sys.exit(f"cruddur ddb generate failed ({child.returncode}): {child.stderr.strip()}")
            json.loads(child.stdout)
            done(table, n)
            cli_rates.append(n / child.seconds)
            log(f"round {round_ + 1}: " + ", ".join(f"(b) {w}: {r[-1]:,.0f}" for w, r in raw.items())
                + f"; (g) {engine_rates[-1]:,.0f}; (g′) {cli_rates[-1]:,.0f} items/s")

        best_b = max(max(r) for r in raw.values())
        best_g, best_cli = max(engine_rates), max(cli_rates)
        rows = [[f"(b) raw batch_write_item, {w} threads", f"{n:,}", f"{max(r):,.0f}", f"{100 * max(r) / best_b:.0f} %"]
                for w, r in raw.items()]
        rows.append(["(g) generate's write path (batch engine, 16 workers)", f"{n:,}", f"**{best_g:,.0f}**",
                     f"**{100 * best_g / best_b:.0f} %**"])
        rows.append(["(g′) `cruddur ddb generate` end to end (values made as it writes)", f"{n:,}", f"{best_cli:,.0f}",
                     f"{100 * best_cli / best_b:.0f} %"])
        body = (f"## Generating items (`python bench/generate.py --items {args.items} --repeat {args.repeat}`)\n\n"
                f"{today()}, {machine(bench)}. The design of tests/ddb/entities/schema.json (table {TABLE}: "
                "members, loans under them, books; two GSIs), best of each.\n\n"
                + markdown_table(["run", "items", "items/s", "of (b)"], rows)
                + f"\n\nMaking the values alone (Faker, in memory): {make_rate:,.0f} items/s. The write path is "
                  "the batch engine, so it keeps up with the raw calls; end to end the command is bounded by Faker "
                  "and start-up, not by DynamoDB Local.\n")
        print(body)
        ratio = best_g / best_b
        log(f"(g) / (b) = {ratio:.2f}")
        if not args.no_doc:
            update_doc("generate", body)


def _renamed(workdir, table: str):
    """The schema with the bench's table name, for the subprocess."""
    doc = json.loads(SCHEMA.read_text())
    for t in doc["tables"]:
        if t["table_config"]["table_name"] == TABLE:
            t["table_config"]["table_name"] = table
    path = workdir / f"{table}.json"
    path.write_text(json.dumps(doc))
    return path


if __name__ == "__main__":
    main()

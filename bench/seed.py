"""Seeding, side by side in one run on one DynamoDB Local: one-by-one put_item, the best raw parallel
batch_write_item, and `cruddur ddb seed` on a seed file of the same items; then peak RSS of a large seed.

    python bench/seed.py                 # 20,000 items of ~300 bytes; 100,000 messages for the memory figure
    python bench/seed.py --items 5000 --rss-messages 0 --no-doc

(a) is what the original script did: put_item in a loop. (b) is the engine's ceiling as the bench can reach it:
25-item batch_write_item calls from 4, 8 and 16 threads, items prebuilt in memory, the best of them.
(c) is the real CLI as a subprocess, timed from exec to exit (YAML parse, planning and start-up included);
its own in-process write rate (the `items_per_second` it reports) is shown beside it.
Every run writes the same items into a fresh table with the app's keys and GSI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _common import (
    CRUDDUR,
    batch_parallel,
    count_items,
    create_table,
    drop_table,
    engine,
    machine,
    markdown_table,
    mean_item_bytes,
    run_child,
    seed_items,
    today,
    update_doc,
    write_seed_file,
)


def put_one_by_one(client, table: str, items: list[dict]) -> float:
    started = time.perf_counter()
    for item in items:
        client.put_item(TableName=table, Item=item)
    return time.perf_counter() - started


def cli_seed(bench, path, table: str, *extra: str) -> tuple[float, dict, float]:
    """`cruddur ddb seed` as a subprocess, exec to exit: (seconds, its JSON summary, peak RSS MB)."""
    args = ["ddb", "seed", str(path), "--table", table, "--users-from", "yaml", "--output", "json", *extra]
    child = run_child([str(CRUDDUR), *args], bench.env())
    if child.returncode != 0:
        sys.exit(f"cruddur ddb seed failed ({child.returncode}): {child.stderr.strip()}")
    return child.seconds, json.loads(child.stdout), child.max_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000, help="items per run (default 20,000)")
    parser.add_argument("--put-items", type=int, default=None,
                        help="items for the one-by-one run (default: all of them)")
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8, 16], help="raw batch worker counts")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of (b), (b') and (c), interleaved; the best of each counts")
    parser.add_argument("--rss-messages", type=int, default=100_000,
                        help="messages in the seed file whose peak RSS is measured (0: skip)")
    parser.add_argument("--stream", action="store_true", help="give the tables the app's stream too (slow on Local)")
    parser.add_argument("--on-disk", action="store_true", help="DynamoDB Local on a data dir instead of in memory")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    with engine(in_memory=not args.on_disk) as bench:
        client = bench.client()
        path = bench.workdir / "seed.yaml"
        shape = write_seed_file(path, args.items)
        items = seed_items(path)
        n = len(items)
        size = mean_item_bytes(items)
        log(f"{n:,} items ({shape['conversations']} conversations, {shape['messages']:,} messages), "
            f"mean {size:.0f} bytes; seed file {shape['bytes'] / 1e6:.1f} MB; {machine(bench)}")
        tables = iter(range(1_000_000))

        def fresh_table(prefix: str) -> str:
            name = f"bench-{prefix}-{next(tables)}"
            create_table(client, name, stream=args.stream)
            return name

        def done_with(name: str, expected: int) -> None:
            count = count_items(client, name)
            drop_table(client, name)
            if count != expected:
                sys.exit(f"{name}: {count} items, expected {expected}")

        table = fresh_table("warmup")  # JIT and SQLite warm-up, not measured
        batch_parallel(client, table, items[: min(n, 10_000)], 8)
        done_with(table, min(n, 10_000))

        put_items = items[: args.put_items] if args.put_items else items
        table = fresh_table("a")
        rate_a = len(put_items) / put_one_by_one(client, table, put_items)
        done_with(table, len(put_items))
        log(f"(a) put_item one by one: {rate_a:,.0f} items/s")

        raw: dict[tuple[int, bool], list[float]] = {}
        reported: list[tuple[float, float]] = []
        end_to_end: list[float] = []
        in_process: list[float] = []
        seed_doc = None
        for round_ in range(args.repeat):
            for workers in args.workers:
                for capacity in (False, True):
                    table = fresh_table("b")
                    seconds = batch_parallel(client, table, items, workers, "INDEXES" if capacity else None)
                    done_with(table, n)
                    raw.setdefault((workers, capacity), []).append(n / seconds)
            table = fresh_table("c")
            seconds, seed_doc, _ = cli_seed(bench, path, table)
            done_with(table, n)
            end_to_end.append(n / seconds)
            in_process.append(seed_doc["items_per_second"])
            table = fresh_table("c2")
            seconds, doc, _ = cli_seed(bench, path, table, "--capacity", "reported")
            done_with(table, n)
            reported.append((n / seconds, doc["items_per_second"]))
            log(f"round {round_ + 1}: " + ", ".join(
                f"({'b′' if c else 'b'}) {w}: {rates[-1]:,.0f}" for (w, c), rates in raw.items())
                + f"; (c) {end_to_end[-1]:,.0f} end to end, {in_process[-1]:,.0f} in-process")

        best = {key: max(rates) for key, rates in raw.items()}
        best_b = max(r for (w, c), r in best.items() if not c)
        best_bc = max(r for (w, c), r in best.items() if c)
        rate_c, rate_ci = max(end_to_end), max(in_process)

        def row(label, count, rate, bold=False):
            figure = f"**{rate:,.0f}**" if bold else f"{rate:,.0f}"
            return [label, f"{count:,}", f"{count / rate:.2f}", figure, f"{rate / rate_a:.1f}×",
                    f"{100 * rate / best_b:.0f} %", f"{100 * rate / best_bc:.0f} %"]

        rows = [row("(a) put_item one by one", len(put_items), rate_a)]
        for capacity in (False, True):
            for workers in args.workers:
                rate = best[(workers, capacity)]
                label = (f"(b′) batch_write_item + ReturnConsumedCapacity, {workers} threads" if capacity
                         else f"(b) batch_write_item, {workers} threads")
                rows.append(row(label, n, rate, bold=rate in (best_b, best_bc)))
        rows.append(row(f"(c) `cruddur ddb seed`, CLI subprocess, exec to exit ({seed_doc['workers']} workers)", n,
                        rate_c, bold=True))
        rows.append(row("(c) … the same runs, its own in-process write rate", n, rate_ci))
        rows.append(row("(c′) `cruddur ddb seed --capacity reported` (asks for capacity, as (b′)), end to end", n,
                        max(r[0] for r in reported)))
        rows.append(row("(c′) … its own in-process write rate", n, max(r[1] for r in reported)))

        rss_line = None
        if args.rss_messages:
            big = bench.workdir / "big.yaml"
            shape_big = write_seed_file(big, round(args.rss_messages * 100 / 98))
            table = fresh_table("rss")
            seconds_big, doc_big, rss_big = cli_seed(bench, big, table)
            done_with(table, doc_big["items_written"])
            rss_line = (f"{shape_big['messages']:,} messages ({doc_big['items_written']:,} items, seed file "
                        f"{shape_big['bytes'] / 1e6:.1f} MB): peak RSS **{rss_big:.0f} MB** (target < 250 MB), "
                        f"{seconds_big:.1f} s end to end, {doc_big['items_written'] / seconds_big:,.0f} items/s")
            log(rss_line)

        header = ["method", "items", "seconds", "items/s", "vs (a)", "vs best (b)", "vs best (b′)"]
        table_md = markdown_table(header, rows)
        verdict = (f"Targets: (c) ≥ 90 % of best (b) → **{100 * rate_c / best_b:.0f} %** end to end, "
                   f"{100 * rate_ci / best_b:.0f} % in-process (the seed computes write units from item sizes "
                   "on local engines instead of asking; (c′) asks, like (b′)); "
                   f"(c) ≥ 10× (a) → **{rate_c / rate_a:.1f}×**.")
        print(table_md)
        print(verdict)
        if rss_line:
            print(rss_line)
        if not args.no_doc:
            command = " ".join(["python bench/seed.py"] + sys.argv[1:])
            body = [f"## Seeding (`{command}`)", "", f"{today()}; {machine(bench)}.", "",
                    f"{n:,} items of {size:.0f} bytes on average ({shape['conversations']} conversations of "
                    f"{shape['messages'] // shape['conversations']} messages + 2 group rows, fixed `start`), each run "
                    f"into a fresh table with the app's keys and GSI{' and stream' if args.stream else ''}. "
                    f"(b), (b′) and (c) ran in {args.repeat} interleaved rounds; the best of each is shown.",
                    "", table_md, "", verdict]
            if rss_line:
                body += ["", f"Memory: {rss_line}."]
            summary = (f"Seeding {n:,} items on DynamoDB Local: `cruddur ddb seed` {rate_c:,.0f} items/s end to end "
                       f"= {100 * rate_c / best_b:.0f} % of the best raw parallel batch_write_item ({best_b:,.0f}/s) "
                       f"and {rate_c / rate_a:.1f}× one-by-one put_item ({rate_a:,.0f}/s)")
            if args.rss_messages:
                summary += f"; {shape_big['messages']:,} messages seed in {rss_big:.0f} MB peak RSS"
            summary += "."
            update_doc("seed", "\n".join(body), summary=summary)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

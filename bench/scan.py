"""Reading, on one DynamoDB Local: `cruddur ddb scan` with 1 vs 4 (and 2, 8) parallel segments on 100,000 items,
the memory of `--output jsonl` (streamed) vs `--output json` (one document), and the app's two access patterns
(latency and consumed capacity, as the pattern commands report them).

    python bench/scan.py                    # 100,000 items
    python bench/scan.py --items 20000 --no-doc
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

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

TABLE = "cruddur-messages"


def cli(bench, *args: str, stdout=subprocess.PIPE):
    child = run_child([str(CRUDDUR), *args], bench.env(), stdout=stdout)
    if child.returncode != 0:
        sys.exit(f"cruddur {' '.join(args)} failed ({child.returncode}): {child.stderr.strip()}")
    return child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeat", type=int, default=2, help="rounds, interleaved; the best of each counts")
    parser.add_argument("--queries", type=int, default=50, help="in-process runs of each access pattern")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()

    with engine() as bench:
        client = bench.client()
        path = bench.workdir / "seed.yaml"
        write_seed_file(path, args.items)
        items = seed_items(path)
        create_table(client, TABLE)
        batch_parallel(client, TABLE, items, 8)
        n = count_items(client, TABLE)
        size_mb = client.describe_table(TableName=TABLE)["Table"].get("TableSizeBytes", 0) / 1e6
        print(f"{n:,} items loaded ({size_mb:.0f} MB)", file=sys.stderr)

        runs: dict[tuple[int, str], list] = {}
        for _ in range(args.repeat):
            for segments in args.segments:
                child = cli(bench, "ddb", "scan", TABLE, "--segments", str(segments), "--output", "jsonl")
                lines = child.stdout.count("\n")
                assert lines == n, (lines, n)
                runs.setdefault((segments, "jsonl"), []).append(child)
            for segments in (1, 4):
                child = cli(bench, "ddb", "scan", TABLE, "--segments", str(segments), "--output", "json")
                assert json.loads(child.stdout)["count"] == n
                runs.setdefault((segments, "json"), []).append(child)

        one = min(c.seconds for c in runs[(1, "jsonl")])
        rows = []
        for (segments, output), children in runs.items():
            best = min(children, key=lambda c: c.seconds)
            rows.append([f"`cruddur ddb scan --segments {segments} --output {output}`", f"{n:,}",
                         f"{best.seconds:.2f}", f"{n / best.seconds:,.0f}",
                         f"{one / best.seconds:.2f}×" if output == "jsonl" else "", f"{max(c.max_rss_mb for c in children):.0f}"])
        scan_table = markdown_table(["command", "items", "seconds", "items/s", "vs 1 segment", "peak RSS MB"], rows)
        print(scan_table)

        # --- access patterns: what the commands report, and the spread over many runs in-process ----------
        from _common import SCHEMA

        from cruddur_ops.ddb import patterns, schema

        tables = schema.read([SCHEMA]).tables
        first = items[0]
        group = first["pk"]["S"].removeprefix("MSG#")
        user = next(i for i in items if i["pk"]["S"].startswith("GRP#"))["pk"]["S"].removeprefix("GRP#")
        calls = {
            "get-conversation": (["--group", group], {"message_group_uuid": group}),
            "list-conversations": (["--user-uuid", user], {"user_uuid": user}),
        }
        prows = []
        for name, (flags, params) in calls.items():
            doc = json.loads(cli(bench, "ddb", "pattern", name, *flags, "--output", "json").stdout)
            pattern = patterns.find(tables, name)
            request = patterns.build_request(pattern, params)
            latencies = []
            for _ in range(args.queries):
                started = time.perf_counter()
                patterns.run(client, request, reverse=pattern.reverse)
                latencies.append((time.perf_counter() - started) * 1000)
            latencies.sort()
            cap = doc["consumed_capacity"]
            prows.append([f"`cruddur ddb pattern {name}`", doc["count"], doc["pages"], f"{doc['latency_ms']:.1f}",
                          f"{statistics.median(latencies):.1f}", f"{latencies[int(0.95 * (len(latencies) - 1))]:.1f}",
                          f"{cap['total']:g} (table {cap['table']:g}"
                          + "".join(f", {k} {v:g}" for k, v in cap["indexes"].items()) + ")"])
        pattern_table = markdown_table(["command", "items", "pages", "reported ms", f"median ms of {args.queries}",
                                        "p95 ms", "read capacity units"], prows)
        print(pattern_table)

        if not args.no_doc:
            body = [f"## Scans and queries (`python bench/scan.py --items {args.items}`)", "",
                    f"{today()}; {machine(bench)}.", "",
                    f"{n:,} items of ~300 bytes ({size_mb:.0f} MB) in a table with the app's keys and GSI. Each scan "
                    "is the CLI as a subprocess, exec to exit, with stdout read by the bench (so `jsonl` is written "
                    f"in full); best of {args.repeat} interleaved rounds; peak RSS is the child's own (GNU `time`).", "",
                    scan_table, "",
                    "Access patterns on the same table: `reported ms` is the `latency_ms` the command prints "
                    "(one query, in a fresh process, so it includes the first connection); the median and p95 are "
                    f"{args.queries} in-process runs of the same request on a warm client.", "",
                    pattern_table]
            update_doc("scan", "\n".join(body))


if __name__ == "__main__":
    main()

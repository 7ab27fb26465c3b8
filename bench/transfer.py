"""Any table in and out, on one DynamoDB Local, side by side in one run:

- `cruddur ddb import` of 30,000 items (a jsonl file), process start to exit, vs raw 16-thread
  `batch_write_item` of the same items prebuilt in this process;
- `cruddur ddb export --format jsonl` of 100,000 items vs `aws dynamodb scan` (AWS CLI v1, PyPI `awscli`,
  installed by this script into a throwaway venv, never into the project's), both to a file;
- the peak RSS of both cruddur commands.

    python bench/transfer.py                               # 30,000 / 100,000 items
    python bench/transfer.py --import-items 5000 --export-items 20000 --no-doc
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

from _common import (
    CRUDDUR,
    batch_parallel,
    count_items,
    drop_table,
    engine,
    machine,
    markdown_table,
    run_child,
    today,
    update_doc,
)

TABLE = "bench-orders"
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor"


def create(client, name: str = TABLE) -> None:
    """An e-commerce-shaped table of its own: pk (S) + sk (N), one GSI on status, on-demand."""
    drop_table(client, name)
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "status", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-status", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}]}])
    client.get_waiter("table_exists").wait(TableName=name)


def plain_items(n: int) -> list[dict]:
    """Items of about 250 bytes: strings, numbers, a boolean, a list, a map and a string set."""
    return [{"pk": f"CUSTOMER#{i % 997:04d}", "sk": i, "status": ("open", "paid", "shipped")[i % 3],
             "total": round(i * 1.37, 2), "gift": i % 5 == 0, "lines": [i % 7, i % 11],
             "address": {"city": "Lisbon", "zip": f"{i % 9999:04d}"}, "tags": {"$ss": ["a", f"t{i % 13}"]},
             "note": f"order {i:07d} {FILLER}"} for i in range(n)]


def typed_items(plain: list[dict]) -> list[dict]:
    from cruddur_ops.ddb import typed

    return [typed.to_attrs(typed.loads(json.dumps(p))) for p in plain]


def awscli_venv(where: Path) -> Path:
    """A venv holding only PyPI's `awscli` (v1); returns its `aws`."""
    venv.EnvBuilder(with_pip=True).create(where)
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "awscli>=1,<2"], check=True)
    return where / "bin" / "aws"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-items", type=int, default=30_000)
    parser.add_argument("--export-items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds, interleaved; the best of each counts")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()

    with engine() as bench:
        client = bench.client()
        aws = awscli_venv(bench.workdir / "awscli-venv")
        aws_version = subprocess.run([str(aws), "--version"], capture_output=True, text=True)
        aws_version = (aws_version.stdout or aws_version.stderr).split()[0]

        # --- import ------------------------------------------------------------------------------------------
        plain = plain_items(args.import_items)
        path = bench.workdir / "orders.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in plain), encoding="utf-8")
        items = typed_items(plain)
        runs: dict[str, list] = {"import": [], "raw": []}
        for _ in range(args.repeat):
            create(client)
            runs["raw"].append(batch_parallel(client, TABLE, items, 16))
            assert count_items(client, TABLE) == len(items)
            create(client)
            child = run_child([str(CRUDDUR), "ddb", "import", TABLE, str(path), "--output", "json"], bench.env())
            if child.returncode != 0:
                sys.exit(f"import failed: {child.stderr}")
            assert json.loads(child.stdout)["items_written"] == len(items)
            runs["import"].append(child)
        raw = min(runs["raw"])
        imp = min(runs["import"], key=lambda c: c.seconds)
        n = len(items)
        import_rows = [
            ["raw `batch_write_item`, 16 threads, items prebuilt in-process", f"{n:,}", f"{raw:.2f}", f"{n / raw:,.0f}",
             "1.00×", ""],
            ["`cruddur ddb import TABLE orders.jsonl` (process start to exit)", f"{n:,}", f"{imp.seconds:.2f}",
             f"{n / imp.seconds:,.0f}", f"{raw / imp.seconds:.2f}×", f"{imp.max_rss_mb:.0f}"],
        ]

        # --- export ------------------------------------------------------------------------------------------
        create(client)
        more = typed_items(plain_items(args.export_items))
        batch_parallel(client, TABLE, more, 16)
        total = count_items(client, TABLE)
        out = bench.workdir / "export.jsonl"
        export_runs, aws_runs = [], []
        aws_env = {**bench.env(), "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
        for _ in range(args.repeat):
            child = run_child([str(CRUDDUR), "ddb", "export", TABLE, "--format", "jsonl", "--out", str(out)], bench.env())
            if child.returncode != 0:
                sys.exit(f"export failed: {child.stderr}")
            assert sum(1 for _ in out.open()) == total
            export_runs.append(child)
            with open(bench.workdir / "aws.json", "wb") as sink:
                child = run_child([str(aws), "dynamodb", "scan", "--table-name", TABLE, "--endpoint-url",
                                   bench.endpoint, "--output", "json"], aws_env, stdout=sink)
            if child.returncode != 0:
                sys.exit(f"aws dynamodb scan failed: {child.stderr}")
            aws_runs.append(child)
        exp = min(export_runs, key=lambda c: c.seconds)
        cli_scan = min(aws_runs, key=lambda c: c.seconds)
        export_rows = [
            [f"`aws dynamodb scan` ({aws_version})", f"{total:,}", f"{cli_scan.seconds:.2f}",
             f"{total / cli_scan.seconds:,.0f}", "1.00×", f"{cli_scan.max_rss_mb:.0f}"],
            ["`cruddur ddb export TABLE --format jsonl --out F` (4 segments)", f"{total:,}", f"{exp.seconds:.2f}",
             f"{total / exp.seconds:,.0f}", f"{cli_scan.seconds / exp.seconds:.2f}×", f"{exp.max_rss_mb:.0f}"],
        ]
        header = ["what", "items", "seconds", "items/s", "ratio", "peak RSS MB"]
        body = "\n\n".join([
            f"## Import and export (`python bench/transfer.py`)\n\n{today()}; {machine(bench)}. Table: pk (S) + sk (N), "
            "a KEYS_ONLY GSI, items of ~250 bytes with strings, numbers, a boolean, a list, a map and a string set. "
            f"Best of {args.repeat} round(s), interleaved.",
            "Import, ratio = raw time / import time (target ≥ 0.9):\n\n" + markdown_table(header, import_rows),
            "Export, ratio = `aws dynamodb scan` time / export time (target ≥ 5):\n\n" + markdown_table(header, export_rows),
        ])
        print(body)
        if not args.no_doc:
            update_doc("transfer", body)


if __name__ == "__main__":
    main()

"""An export as an input: `cruddur ddb import TABLE EXPORT_FOLDER` (a folder laid out as DynamoDB's export to S3
writes it: manifests, gzipped DynamoDB JSON data files) against `cruddur ddb import TABLE items.jsonl` of the same
items, in one run on one DynamoDB Local. Writes its section of docs/benchmarks.md.

    .venv/bin/python bench/s3_export.py [ITEMS]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from _common import CRUDDUR, count_items, engine, machine, markdown_table, run_child, today, update_doc
from transfer import TABLE, create, plain_items, typed_items


def write_export(root: Path, typed: list[dict], files: int = 4) -> int:
    """An AWS-shaped full export of ``typed`` items in ``files`` gzipped data files; returns its size in bytes."""
    from cruddur_ops.ddb.typed import to_dynamodb_json

    folder = root / "AWSDynamoDB" / "01733500000000-bench000"
    (folder / "data").mkdir(parents=True)
    manifest, size = [], 0
    per = -(-len(typed) // files)
    for n in range(files):
        chunk = typed[n * per:(n + 1) * per]
        name = f"part-{n:04d}.json.gz"
        body = "".join(to_dynamodb_json(item) + "\n" for item in chunk).encode()
        (folder / "data" / name).write_bytes(gzip.compress(body, 6))
        size += (folder / "data" / name).stat().st_size
        manifest.append({"itemCount": len(chunk), "dataFileS3Key": f"p/AWSDynamoDB/01733500000000-bench000/data/{name}"})
    (folder / "manifest-files.json").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (folder / "manifest-summary.json").write_text(json.dumps({"exportType": "FULL_EXPORT", "itemCount": len(typed),
                                                              "exportTime": "2026-12-06T00:00:00Z",
                                                              "outputFormat": "DYNAMODB_JSON"}))
    return size


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    plain = plain_items(n)
    with engine() as bench:
        client = bench.client()
        jsonl = bench.workdir / "items.jsonl"
        jsonl.write_text("".join(json.dumps(p) + "\n" for p in plain))
        export = bench.workdir / "export"
        gz_bytes = write_export(export, typed_items(plain))
        rows = []
        results = {}
        for label, source in (("jsonl file", jsonl), ("export folder (manifests + .json.gz)", export)):
            create(client)
            child = run_child([str(CRUDDUR), "ddb", "import", TABLE, str(source), "-o", "json"], bench.env())
            assert child.returncode == 0, child.stderr
            assert count_items(client, TABLE) == n
            results[label] = child.seconds
            rows.append([f"`cruddur ddb import {TABLE} {source.name}` ({label})", f"{n:,}", f"{child.seconds:.2f}",
                         f"{n / child.seconds:,.0f}", f"{child.max_rss_mb:.0f}"])
        ratio = results["jsonl file"] / results["export folder (manifests + .json.gz)"]
        body = (f"## An export as input (`python bench/s3_export.py`, {today()})\n\n{machine(bench)}.\n\n"
                + markdown_table(["run", "items", "seconds", "items/s", "peak RSS MB"], rows)
                + f"\n\nRatio (JSON Lines time ÷ export folder time): {ratio:.2f}×. The export folder is "
                  f"{gz_bytes / 1e6:.1f} MB gzipped. Both are read twice (checked whole, then written) through the same "
                  "batch engine, so the engine's write rate bounds both; the export adds gzip and DynamoDB JSON "
                  "decoding and skips the plain-JSON type mapping. Absolute rates depend on the machine's load.\n")
        update_doc("s3-export", body)
        print(body)


if __name__ == "__main__":
    main()

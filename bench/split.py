"""How long `db migrate` takes to read, split and check a large migration (issue 25: the old splitter was
quadratic, 114 s for 8 MB). Usage: python bench/split.py [MB ...]  (default: 8 40). Prints seconds and peak MB."""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cruddur_ops.pg import migrate  # noqa: E402


def main(sizes: list[int]) -> None:
    line = "INSERT INTO t (a, b) VALUES ({i}, 'café; -- not a comment $$ {i}');\n"
    for mb in sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "20260101000000_big.sql"
            with path.open("w", encoding="utf-8") as fh:
                fh.write("-- migrate:up\nCREATE TABLE t (a int, b text);\n")
                i = 0
                while fh.tell() < mb * 1_000_000:
                    fh.write(line.format(i=i))
                    i += 1
                fh.write("-- migrate:down\nDROP TABLE t;\n")
            started = time.perf_counter()
            mig = migrate.parse(path)
            seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{mb} MB: {len(mig.up.statements)} statements split and checked in {seconds:.1f} s (peak RSS {peak:.0f} MB)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [8, 40])

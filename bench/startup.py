"""Start-up time of `cruddur --help` and `cruddur ddb --help` against `python -c pass`, measured in one run.

    python bench/startup.py            # 30 runs of each, interleaved; median, min and max in ms
    python bench/startup.py --runs 50 --no-doc

hyperfine is not needed: each command is run N times as a subprocess, the commands interleaved so that a busy
moment of the machine hits all of them alike. Also lists which heavy libraries each command imports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from importlib.metadata import version

from _common import CRUDDUR, machine, markdown_table, today, update_doc

HEAVY = ("boto3", "botocore", "psycopg", "rich", "yaml", "pydantic")


def commands() -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "cruddur --help": [str(CRUDDUR), "--help"],
        "cruddur ddb --help": [str(CRUDDUR), "ddb", "--help"],
        "cruddur --version": [str(CRUDDUR), "--version"],
    }


def heavy_imports(argv: list[str]) -> list[str]:
    """The heavy top-level packages a command imports (``python -X importtime`` on the same entry point)."""
    code = ("import sys, runpy\n"
            f"sys.argv = {['cruddur'] + argv!r}\n"
            "try:\n    runpy.run_module('cruddur_ops', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            f"print('\\n' + __import__('json').dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()

    cmds = commands()
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for cmd in cmds.values():  # warm the page cache once
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            started = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append((time.perf_counter() - started) * 1000)

    base = statistics.median(times["python -c pass"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        argv = cmds[name][1:] if name.startswith("cruddur") else None
        imports = ", ".join(heavy_imports(argv)) or "none" if argv is not None else "—"
        rows.append([f"`{name}`", f"{median:.0f}", f"{min(samples):.0f}", f"{max(samples):.0f}",
                     f"+{median - base:.0f}" if name != "python -c pass" else "—", imports])
    table = markdown_table(["command", "median ms", "min ms", "max ms", "over python", "heavy imports"], rows)
    print(table)
    if not args.no_doc:
        body = [f"## Start-up (`python bench/startup.py --runs {args.runs}`)", "",
                f"{today()}; {machine()}. {args.runs} runs of each command, interleaved; wall time of the whole "
                "process from spawn to exit. Target: `cruddur --help` and `cruddur ddb --help` under 150 ms.", "",
                table, "",
                f"typer {version('typer')}. boto3/botocore, psycopg, rich and yaml are imported only inside the "
                "commands that use them (tested by `tests/cli/test_startup_imports.py`). typer 0.29 added a pydantic "
                "dependency and builds a pydantic TypeAdapter for every parameter it parses, so with it any command "
                "line that gets past the root's `--help` (e.g. `cruddur ddb --help`) imports pydantic: about 90 ms "
                "more (200 ms). pyproject.toml therefore pins `typer<0.29`."]
        update_doc("startup", "\n".join(body))


if __name__ == "__main__":
    main()

"""Start-up stays light: the CLI's root imports none of the heavy libraries; commands import what they need.

Timing is measured by ``bench/startup.py``, never asserted here; these tests check the behaviour behind it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "psycopg", "rich", "yaml", "pydantic")  # pydantic: typer 0.29 would bring it back


def _imported_after(code: str) -> set[str]:
    """The heavy top-level packages present in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        "import sys, json\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library():
    assert _imported_after("import cruddur_ops.cli.app") == set()


@pytest.mark.parametrize("argv", [["--help"], ["ddb", "--help"], ["ddb", "seed", "--help"], ["db", "--help"], ["--version"]])
def test_help_imports_no_heavy_library(argv):
    # Typer imports rich only to format help or errors when rich_markup_mode is set; cli/app.py sets it to None.
    code = (
        "from cruddur_ops.cli.app import app\n"
        f"try:\n    app({argv!r}, standalone_mode=False)\nexcept SystemExit:\n    pass\n"
    )
    assert _imported_after(code) == set()


def test_a_usage_error_imports_no_heavy_library():
    code = (
        "import io, contextlib\n"
        "from cruddur_ops.cli.app import app\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n        app(['ddb', 'no-such-command'])\n    except SystemExit:\n        pass\n"
    )
    assert _imported_after(code) == set()

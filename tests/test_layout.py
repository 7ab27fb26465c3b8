"""The house rules of the layout, checked on the source: the environment is read in settings.py alone, ddb/ and
pg/ never import each other, and the library imports neither typer nor rich."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cruddur_ops"


def _sources(*exclude: str):
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not any(rel == e or rel.startswith(e) for e in exclude):
            yield rel, path.read_text(encoding="utf-8")


def _offenders(pattern: str, *exclude: str) -> list[str]:
    regex = re.compile(pattern)
    return [f"{rel}:{n}: {line.strip()}" for rel, text in _sources(*exclude)
            for n, line in enumerate(text.splitlines(), 1) if regex.search(line)]


def test_only_settings_reads_the_environment():
    # functions may take an ``env`` mapping handed over by Settings.child_env(); nobody reaches for the real one
    assert _offenders(r"os\.environ|os\.getenv|\w\.env\b", "settings.py") == []


def test_ddb_and_pg_never_import_each_other():
    # (the orchestrators — cli/, doctor/, local/, aws/ — may use both)
    assert [o for o in _offenders(r"cruddur_ops\.pg\b|from cruddur_ops import pg\b") if o.startswith("ddb/")] == []
    assert [o for o in _offenders(r"cruddur_ops\.ddb\b|from cruddur_ops import ddb\b") if o.startswith("pg/")] == []


def test_the_library_imports_neither_typer_nor_rich():
    assert _offenders(r"^\s*(import|from) (typer|rich)\b", "cli/") == []

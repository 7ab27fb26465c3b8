"""docs/cli.md is the commands' own help: regenerated and compared here, so the reference cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from cruddur_ops.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "scripts" / "cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_md_matches_the_commands():
    generated = _generator().render()
    on_disk = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert on_disk == generated, "docs/cli.md differs from the commands' help: run .venv/bin/python scripts/cli_docs.py"


def test_every_command_has_help_and_is_in_the_reference():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing_help, missing_doc = [], []

    def walk(cmd, path):
        if path and not (cmd.help or "").strip():
            missing_help.append(" ".join(path))
        if path and f"`cruddur {' '.join(path)}`" not in text:
            missing_doc.append(" ".join(path))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    assert missing_help == [], f"commands without help: {missing_help}"
    assert missing_doc == [], f"commands missing from docs/cli.md: {missing_doc}"

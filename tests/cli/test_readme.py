"""README stays a true first page: short, and every `cruddur …` it shows is a command that exists, with options it
takes (the full reference is docs/cli.md, generated and compared in tests/cli/test_cli_docs.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from cruddur_ops.cli.app import app

README = Path(__file__).resolve().parents[2] / "README.md"
WORD = re.compile(r"^[a-z][a-z-]*$")


def _tree() -> dict[tuple[str, ...], set[str]]:
    """Every command path of the CLI with its options (the root's global options count for all)."""
    root = typer.main.get_command(app)
    tree: dict[tuple[str, ...], set[str]] = {}

    def walk(cmd, path: tuple[str, ...]) -> None:
        tree[path] = {o for p in cmd.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
        tree[path] |= {"--help", "-h"}
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return tree


def _shown() -> list[str]:
    """Every `cruddur …` command line README shows: in code blocks and in inline code."""
    text = README.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            for part in re.split(r"&&|\||\$\(|\"", line):
                part = part.strip().removeprefix(".venv/bin/")
                if part.startswith("cruddur "):
                    lines.append(part)
    for span in re.findall(r"`(cruddur [^`]+)`", text):
        lines.append(span)
    return lines


def test_readme_is_a_first_page():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_every_command_readme_shows_exists_with_the_options_shown():
    tree = _tree()
    shown = _shown()
    assert len(shown) > 15
    for line in shown:
        words = shlex.split(line.replace("…", ""))[1:]
        path: tuple[str, ...] = ()
        for word in words:
            if (*path, word) in tree:
                path = (*path, word)
            elif WORD.match(word) and not path:
                raise AssertionError(f"README shows `{line}`: `{word}` is no cruddur command")
            else:
                break
        options = {w.split("=", 1)[0] for w in words if w.startswith("-")}
        unknown = options - tree[path] - tree[()]
        assert not unknown, f"README's `{line}` shows {sorted(unknown)}, which `cruddur {' '.join(path)}` does not take"

"""README's command tables stay true: every command they show exists with the options shown, and every command
of the CLI is in them (sqlite-utils keeps its docs true the same way, with cog)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from cruddur_ops.cli.app import app

README = Path(__file__).resolve().parents[2] / "README.md"
WORD = re.compile(r"^[a-z][a-z-]*$")
OPTION = re.compile(r"--[a-z][a-z-]*")


def _tree() -> dict[tuple[str, ...], set[str]]:
    """Every command path of the CLI with its long options (the root's global options count for all)."""
    root = typer.main.get_command(app)

    def options(cmd) -> set[str]:
        return {o for p in cmd.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]
                if o.startswith("--")}

    tree: dict[tuple[str, ...], set[str]] = {}

    def walk(cmd, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            tree[path] = options(cmd)
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            tree[path] = options(cmd) | {"--help"}

    walk(root, ())
    return tree


def _groups(tree) -> set[tuple[str, ...]]:
    return {path[:-1] for path in tree if path}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _readme_commands(tree) -> list[tuple[tuple[str, ...], set[str], str]]:
    """(command path, options shown, the README's text) for every command in README's `| command |` tables."""
    groups = _groups(tree)
    found, prefix, in_table = [], (), False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            named = re.findall(r"`cruddur ([a-z ]+?)`", line)
            prefix = tuple(named[0].split()) if len(named) == 1 and tuple(named[0].split()) in groups else ()
            in_table = False
            continue
        if line.startswith("| command |"):
            in_table = True
            continue
        if not in_table or not line.startswith("|") or line.startswith("|---"):
            in_table = in_table and line.startswith("|")
            continue
        last_group: tuple[str, ...] = prefix
        for chunk in re.findall(r"`([^`]+)`", _cells(line)[0]):
            words = []
            for token in chunk.replace("\\|", " | ").split():
                if not WORD.match(token):
                    break
                words.append(token)
            path = next((c for c in ((*prefix, *words), (*last_group, *words), tuple(words)) if c in tree), None)
            assert path is not None, f"README shows `{chunk}`, which is no cruddur command"
            last_group = path[:-1]
            found.append((path, set(OPTION.findall(chunk)), chunk))
    return found


def test_every_command_in_readme_exists_with_the_options_shown():
    tree = _tree()
    rows = _readme_commands(tree)
    assert len(rows) > 20
    for path, shown, chunk in rows:
        unknown = shown - tree[path] - tree[()]
        assert not unknown, f"README's `{chunk}` shows {sorted(unknown)}, which `cruddur {' '.join(path)}` does not take"

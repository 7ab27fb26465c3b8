"""Writes docs/cli.md, the command reference, from the commands' own help (names, usage, docstrings, options).

    .venv/bin/python scripts/cli_docs.py          # rewrite docs/cli.md
    .venv/bin/python scripts/cli_docs.py --check  # exit 1 when docs/cli.md differs from the commands (CI runs
                                                  # the same comparison as tests/cli/test_cli_docs.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli.md"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _option_row(param) -> str:
    names = ", ".join(f"`{n}`" for n in [*param.opts, *getattr(param, "secondary_opts", [])])
    help_text = getattr(param, "help", None) or ""
    default = param.default
    shown = ""
    if getattr(param, "show_default", True) not in (False,) and default not in (None, False, (), []) \
            and not callable(default) and not getattr(param, "is_flag", False):
        value = getattr(default, "value", default)
        shown = f" (default: `{_cell(str(value))}`)"
    return f"| {names} | {_cell(help_text)}{shown} |"


def _usage(cmd, path: list[str]) -> str:
    pieces = []
    for param in cmd.params:
        if param.param_type_name == "argument":
            name = param.human_readable_name
            pieces.append(f"[{name}]" if not param.required else name.upper())
            if getattr(param, "nargs", 1) == -1:
                pieces[-1] += "..."
    opts = " [OPTIONS]" if any(p.param_type_name == "option" for p in cmd.params) else ""
    return " ".join(["cruddur", *path]) + opts + ("" if not pieces else " " + " ".join(pieces))


def render() -> str:
    import typer

    from cruddur_ops.cli.app import app

    root = typer.main.get_command(app)
    out = ["# Command reference", "",
           "Generated from the commands' own help by `scripts/cli_docs.py`; a test compares it with the commands, so it",
           "cannot drift. Global options (`--endpoint-url`, `--profile`, `--region`, `--prod`, `--debug`, `--data-dir`) may",
           "stand before or after any command.", ""]

    def walk(cmd, path: list[str]) -> None:
        level = "#" * min(len(path) + 1, 4)
        title = " ".join(["cruddur", *path])
        out.append(f"{level} `{title}`")
        out.append("")
        help_text = (cmd.help or "").strip()
        if help_text:
            out.append(help_text)
            out.append("")
        if not hasattr(cmd, "commands"):
            out.append("```")
            out.append(_usage(cmd, path))
            out.append("```")
            out.append("")
        params = [p for p in cmd.params if p.param_type_name == "argument"]
        options = [p for p in cmd.params if p.param_type_name == "option" and not p.hidden
                   and p.name not in ("help", "install_completion", "show_completion")]
        if params:
            out.append("| argument | meaning |")
            out.append("|---|---|")
            for p in params:
                out.append(f"| `{p.human_readable_name}` | {_cell(getattr(p, 'help', None) or '')} |")
            out.append("")
        if options:
            out.append("| option | meaning |")
            out.append("|---|---|")
            out.extend(_option_row(p) for p in options)
            out.append("")
        if hasattr(cmd, "commands"):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name])

    walk(root, [])
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            sys.stderr.write("docs/cli.md differs from the commands' help: run .venv/bin/python scripts/cli_docs.py\n")
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {DOC.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

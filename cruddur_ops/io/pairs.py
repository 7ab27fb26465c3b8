"""The one KEY=VALUE parser of the command line: --parameter-overrides, --name, --types, --value, --set, --add, -p.

Bad input is an InputError (exit 3) naming the option and the pair: ``--types takes col=TYPE, got 'views'``.
"""

from __future__ import annotations

from cruddur_ops.errors import InputError


def parse_pairs(pairs: list[str], option: str, *, form: str = "KEY=VALUE", split: str | None = None,
                value_required: bool = False) -> dict[str, str]:
    """``{"KEY": "VALUE"}`` from ``["KEY=VALUE", …]``; ``split`` also splits each item (``","`` or ``" "``)."""
    out: dict[str, str] = {}
    for item in pairs:
        parts = [item]
        if split == " " and " " in item and "=" in item.split()[0]:
            parts = item.split()
        elif split == ",":
            parts = [p for p in item.split(",") if p.strip()]
        for part in parts:
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or (value_required and not value):
                raise InputError(f"{option} takes {form}, got '{part}'")
            out[name.strip()] = value
    return out

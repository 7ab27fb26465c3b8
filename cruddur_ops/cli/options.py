"""Options shared by many commands, declared once, and the helpers every command uses."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli.render import Output
from cruddur_ops.errors import ConfirmationError
from cruddur_ops.settings import Settings

OutputOpt = Annotated[
    Optional[Output],
    typer.Option("--output", "-o", help="table (default on a terminal), json (default when piped), jsonl or csv (one row per item, streamed).", show_default=False),
]
GiveUpOpt = Annotated[
    float,
    typer.Option("--give-up-after", min=0.1, help="Stop when DynamoDB has accepted nothing for this many seconds (throttling is retried until then).", show_default=True),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")]
TableOpt = Annotated[str, typer.Option("--table", "-t", help="DynamoDB table name.")]
PriceFileOpt = Annotated[
    Optional[Path],
    typer.Option("--price-file", help="JSON file of on-demand prices (default: the bundled us-east-1 prices).", show_default=False),
]



def prices(price_file: Path | None):
    """The on-demand prices for cost columns: --price-file, else the bundled file."""
    from cruddur_ops.ddb.capacity import Prices

    return Prices.load(price_file)


class UsersFrom(str, Enum):
    yaml = "yaml"
    db = "db"


UsersFromOpt = Annotated[
    Optional[UsersFrom],
    typer.Option("--users-from", help="Where handles resolve to uuid and display name: the seed file (yaml) or PostgreSQL users (db; the default when CONNECTION_URL is set).", show_default=False),
]


def users_source(s: Settings, users_from: UsersFrom | None) -> UsersFrom:
    """PostgreSQL's users when a connection URL is set, else the seed file's, unless the user chose."""
    if users_from is not None:
        return users_from
    return UsersFrom.db if s.connection_url else UsersFrom.yaml


def settings(ctx: typer.Context) -> Settings:
    """The Settings the root callback built from the global flags and the environment."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings.from_env()
    return root.obj


def confirm(question: str, *, yes: bool, what: str) -> None:
    """Ask before a destructive action. ``--yes`` skips; without a terminal and without --yes, refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationError(f"refusing to {what} without confirmation: no terminal to ask on; pass --yes")
    if not typer.confirm(question, default=False, err=True):
        raise ConfirmationError(f"{what}: cancelled")


def confirm_by_name(name: str, *, what: str) -> None:
    """For production: the user types the name of what is about to be destroyed."""
    if not sys.stdin.isatty():
        raise ConfirmationError(f"refusing to {what} on production without a terminal to type '{name}' on")
    typed = typer.prompt(f"This acts on PRODUCTION. Type '{name}' to {what}", err=True, default="", show_default=False)
    if typed.strip() != name:
        raise ConfirmationError(f"{what}: cancelled (typed name did not match '{name}')")

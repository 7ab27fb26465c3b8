"""Options shared by many commands, declared once, and the helpers every command uses."""

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli.render import Output
from cruddur_ops.errors import ConfirmationError, Declined, ProdGuardError
from cruddur_ops.settings import Action, Settings

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
# The app's variable names the messages table; every table that defaults to cruddur-messages reads it.
TableOpt = Annotated[str, typer.Option("--table", "-t", envvar="DDB_MESSAGE_TABLE", help="DynamoDB table name.")]
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
        root.obj = Settings.from_env(confirmer=confirm_action)
    return root.obj


def confirm_action(s: Settings, action: Action, production: bool, read) -> None:
    """The Settings' confirmer: how a write client's destructive action is confirmed at a terminal.

    On production the user types ``action.typed`` (``--yes`` alone is refused, and so is a missing terminal,
    before anything is read); locally ``action.question`` is asked unless ``--yes``. A question that is a
    callable receives a read client (or the read-only Database) to count what is about to be lost."""
    if production and not action.destructive:
        if action.prod_question:
            confirm(action.prod_question, yes=action.yes, what=action.text)
        return
    if production:
        require_terminal(True, action.text, action.typed, yes=action.yes, where=action.where)
    question = action.question
    if callable(question):  # None back: nothing would be lost, nothing to confirm
        question = question(read()) if read is not None else None
        if question is None or (action.yes and not production):
            return
    confirm_destructive(production, action.text, action.typed, yes=action.yes, question=question, where=action.where)


def confirm(question: str, *, yes: bool, what: str) -> None:
    """Ask before an action on a local target. ``--yes`` skips; without a terminal and without --yes, refuse.
    A "no" is ``Declined``: the edge prints one plain line and exits with its own status."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfirmationError(f"refusing to {what} without confirmation: no terminal to ask on; pass --yes")
    try:
        answer = typer.confirm(question, default=False, err=True)
    except (typer.Abort, KeyboardInterrupt, EOFError):  # n, Ctrl-C, Ctrl-D: declined (exit 10)
        answer = False
    if not answer:
        raise Declined(f"not done: {what} (declined)")


def _production(target: bool | Settings, service: str) -> bool:
    return target if isinstance(target, bool) else target.is_production(service)


def require_terminal(target: bool | Settings, action: str, resource: str, *, yes: bool = False,
                     where: str = "", service: str = "dynamodb") -> None:
    """On production, refuse at once (before any request) when there is no terminal to type the name on."""
    if _production(target, service) and not sys.stdin.isatty():
        on = f"production ({where})" if where else "production"
        if yes:
            raise ProdGuardError(f"refusing to {action} on {on} with --yes alone: on production, type the name "
                                 f"'{resource}' at a terminal to confirm (--yes does not skip that there)")
        raise ProdGuardError(f"refusing to {action} on {on}: no terminal to type the name '{resource}' on")


def confirm_destructive(target: bool | Settings, action: str, resource: str, *, yes: bool,
                        question: str | None = None, where: str = "", service: str = "dynamodb") -> None:
    """The one confirmation for destructive actions (drop, recreate, truncate, delete-items, kill-all, reset,
    migrate down, rds stop).

    ``target`` is True/False for "production", or the Settings (production: --prod, or a non-loopback endpoint
    of ``service``). On production the user types ``resource``'s name at a terminal; ``--yes`` alone is refused
    there (ProdGuardError, exit 6). Locally ``question`` is asked, and ``--yes`` skips it.

        confirm_destructive(s, f"truncate {table}", table, yes=yes)              # DynamoDB
        confirm_destructive(s.prod or not db.is_local, "migrate down", db.require_name(), yes=yes)
    """
    if not _production(target, service):
        confirm(question or f"{action[0].upper()}{action[1:]}?", yes=yes, what=action)
        return
    require_terminal(True, action, resource, yes=yes, where=where)
    on = f" ({where})" if where else ""
    try:
        typed = typer.prompt(f"This acts on PRODUCTION{on}. Type '{resource}' to {action}", err=True,
                             default="", show_default=False)
    except (typer.Abort, KeyboardInterrupt, EOFError):  # n, Ctrl-C, Ctrl-D: declined (exit 10)
        typed = None
    if typed is None or typed.strip() != resource:
        raise Declined(f"not done: {action} (the typed name did not match '{resource}')")


def confirm_by_name(name: str, *, what: str) -> None:
    """For production: the user types the name of what is about to be destroyed."""
    confirm_destructive(True, what, name, yes=False)

"""Patterns C and D, the app's writes: `ddb pattern create-message-group` and `ddb pattern create-message`.

The functions are registered on ``cruddur ddb pattern`` by cli/ddb.py.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops import defaults
from cruddur_ops.cli import render
from cruddur_ops.cli.options import (
    OutputOpt,
    PriceFileOpt,
    TableOpt,
    UsersFrom,
    UsersFromOpt,
    prices,
    settings,
    users_source,
)
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.settings import Action, Settings

HandleOpt = Annotated[str, typer.Option("--handle", help="The sender's handle.")]
MessageOpt = Annotated[str, typer.Option("--message", "-m", help="The message text.")]


SeedOpt = Annotated[
    Optional[Path],
    typer.Option("--seed", help="Seed file whose users: resolve handles with --users-from yaml (default: the shipped seeds/conversations.yaml).", show_default=False),
]


def _users(s: Settings, users_from: UsersFrom | None, seed: Path | None = None):
    """(users, where they came from, the choice made)."""
    users_from = users_source(s, users_from)
    if users_from is UsersFrom.db:
        from cruddur_ops.pg.database import Database
        from cruddur_ops.pg.users import fetch_users

        database = Database.from_settings(s)
        where = f"PostgreSQL users table at {database.masked} (take a seed file's users with --users-from yaml --seed FILE, or add them with `cruddur db seed FILE`)"
        return fetch_users(database), where, users_from
    from cruddur_ops.seeds import seedfile

    path = seed or defaults.seed_file()
    where = f"the seed file {path} (pass another with --seed FILE, or take PostgreSQL's users with --users-from db)"
    return seedfile.read(path).users, where, users_from


ITEM_COLUMNS = [Column("pk", "pk"), Column("sk", "sk"), Column("user", "user_handle"),
                Column("message", "message", max_width=60)]


def create_message_group(
    ctx: typer.Context,
    handle: HandleOpt,
    other_handle: Annotated[str, typer.Option("--other-handle", help="The handle of the person written to.")],
    message: MessageOpt,
    users_from: UsersFromOpt = None,
    seed: SeedOpt = None,
    table: TableOpt = TABLE,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Pattern C: start a conversation — one message and both group rows, in one transaction.

    Fails, naming the existing message_group_uuid, when the two already have a conversation (use pattern D).

    Example: cruddur ddb pattern create-message-group --handle mira --other-handle olaf --message "Hi Olaf!"
    """
    from cruddur_ops.ddb import messages

    s = settings(ctx)
    client = s.dynamodb(write=Action("write a conversation to", table))  # the guard, before the users are read
    users, source, chosen = _users(s, users_from, seed)
    sender = messages.resolve_user(users, handle, source)
    other = messages.resolve_user(users, other_handle, source)
    from cruddur_ops.ddb.schema import require_app_design

    require_app_design(client, table, what="pattern C")
    written = messages.create_message_group(client, sender, other, message, table=table)
    doc = {**written.to_dict(prices(price_file)), "users_from": chosen.value}
    render.emit(doc, output, lambda: [Section(
        f"New conversation {written.group} in {table}: {doc['items_written']} items, one transaction",
        ITEM_COLUMNS, [written.message, *written.group_rows]),
        render.capacity_section(doc["consumed_capacity"], "Consumed write capacity")])


def create_message(
    ctx: typer.Context,
    group: Annotated[str, typer.Option("--group", "-g", help="message_group_uuid of the conversation.")],
    handle: HandleOpt,
    message: MessageOpt,
    users_from: UsersFromOpt = None,
    seed: SeedOpt = None,
    table: TableOpt = TABLE,
    price_file: PriceFileOpt = None,
    output: OutputOpt = None,
) -> None:
    """Pattern D: add a message to a conversation and move both group rows to it (the stream processor's code).

    The sender must be one of the conversation's two participants.

    Example: cruddur ddb pattern create-message --group 4b1f7c2e-8d3a-4e6b-9a05-c2d8e1f7a611 --handle mira --message "Done!"
    """
    from cruddur_ops.ddb import messages

    s = settings(ctx)
    client = s.dynamodb(write=Action("write a message to", table))  # the guard, before the users are read
    users, source, chosen = _users(s, users_from, seed)
    sender = messages.resolve_user(users, handle, source)
    from cruddur_ops.ddb.schema import require_app_design

    require_app_design(client, table, what="pattern D")
    written = messages.create_message(client, group, sender, message, table=table)
    doc = {**written.to_dict(prices(price_file)), "users_from": chosen.value}
    for move in written.moves:
        if move.outcome != "moved":
            render.warn(f"{move.pk} (with {move.user_handle}) stays at {move.sk}: {move.outcome.replace('_', ' ')}")
    render.emit(doc, output, lambda: [
        Section(f"Message in {group}", ITEM_COLUMNS, [written.message]),
        Section(f"Group rows: {written.rows_moved} moved", [
            Column("row", "pk"), Column("with", "user_handle"), Column("from", "from_sk"), Column("now at", "sk"),
            Column("outcome", "outcome")], doc["group_rows"]),
        render.capacity_section(doc["consumed_capacity"], "Consumed write capacity")])

"""`cruddur ddb stream …`: run the message-group stream processor against a table's stream, and show where it is."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, TableOpt, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.settings import Action, Settings

app = typer.Typer(no_args_is_help=True, help="The table's stream: apply new messages to the group rows, show checkpoints.")

CHECKPOINT_FILE = "stream-checkpoints.json"


class StartFrom(str, Enum):
    trim_horizon = "trim-horizon"
    latest = "latest"


CheckpointsOpt = Annotated[
    Optional[Path],
    typer.Option("--checkpoints", help=f"Checkpoint file (default: <data dir>/{CHECKPOINT_FILE}).", show_default=False),
]


def _checkpoints(s: Settings, path: Path | None):
    from cruddur_ops.ddb.stream import Checkpoints

    return Checkpoints(path or s.data_dir / CHECKPOINT_FILE)


def _streams(s: Settings):
    """The DynamoDB Streams client (the endpoint policy is the settings': :meth:`Settings.dynamodb_streams`)."""
    return s.dynamodb_streams()


def _change_line(change) -> str:
    text = " ".join(change.message.split())
    text = text if len(text) <= 60 else text[:59] + "…"
    return f"moved {change.pk} (with {change.user_handle}) {change.from_sk} → {change.to_sk}: {text}"


@app.command("process")
def process(
    ctx: typer.Context,
    table: TableOpt = TABLE,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep tailing the stream until Ctrl-C.")] = False,
    start: Annotated[StartFrom, typer.Option("--from", help="Where a shard without a checkpoint starts: the oldest record kept (24 h) or only new ones.")] = StartFrom.trim_horizon,
    poll: Annotated[float, typer.Option("--poll", min=0.1, help="Seconds between polls when --follow finds nothing new.")] = 1.0,
    checkpoints: CheckpointsOpt = None,
    output: OutputOpt = None,
) -> None:
    """Apply the table's stream to the group rows: each new message moves both rows of its conversation.

    Reads every shard from its checkpoint (kept per stream ARN in the data dir, so a rerun does not reapply
    from the start), prints a line per moved row on stderr, and a summary of records read, applied and skipped.

    Example: cruddur ddb stream process --follow
    """
    from cruddur_ops.ddb import stream

    s = settings(ctx)
    client = s.dynamodb(write=Action("move group rows in", table))
    store = _checkpoints(s, checkpoints)
    if follow:
        render.note(f"following the stream of {table} on {s.describe_endpoint('dynamodb')}; Ctrl-C to stop")
    from cruddur_ops.ddb.schema import require_app_design

    require_app_design(client, table, what="stream process")
    run = stream.process_stream(
        client, _streams(s), table, store, start=start.value, follow=follow, poll_interval=poll,
        on_change=lambda change: render.note(_change_line(change), style="green"), on_note=render.warn)
    doc = {**run.to_dict(), "checkpoint_file": str(store.path), "from": start.value, "follow": follow}

    def sections():
        facts = [("stream", run.arn), ("shards", run.shards), ("records read", doc["records"]),
                 ("applied", doc["applied"]), ("rows moved", doc["rows_moved"]), ("skipped", doc["skipped"])]
        facts += [(f"  {reason.replace('_', ' ')}", n) for reason, n in doc["skipped_by_reason"].items() if n]
        if run.interrupted:
            facts.append(("interrupted", "yes (checkpoints saved)"))
        out = [Section(f"Stream of {table}", [Column("", "k"), Column("", "v")], [{"k": k, "v": v} for k, v in facts])]
        if doc["collisions"]:
            out.append(Section("Rows left in place: another conversation's row has that sk", [
                Column("group", "message_group_uuid"), Column("row", "pk"), Column("at", "sk"),
                Column("message at", "message_sk")], doc["collisions"]))
        return out

    render.emit(doc, output, sections)


@app.command("status")
def status(
    ctx: typer.Context,
    table: TableOpt = TABLE,
    checkpoints: CheckpointsOpt = None,
    output: OutputOpt = None,
) -> None:
    """Show the table's stream: ARN, view type, each shard and how far it has been processed.

    Example: cruddur ddb stream status --output json
    """
    from cruddur_ops.ddb import stream

    s = settings(ctx)
    doc = stream.stream_status(s.dynamodb(), _streams(s), table, _checkpoints(s, checkpoints))

    def sections():
        facts = [("table", doc["table"]), ("stream", doc["stream_arn"]), ("status", doc["status"]),
                 ("view type", doc["view_type"]), ("checkpoint file", doc["checkpoint_file"])]
        return [Section(f"Stream of {table}", [Column("", "k"), Column("", "v")], [{"k": k, "v": v} for k, v in facts]),
                Section("Shards", [Column("shard", "shard_id"), Column("parent", "parent_shard_id"),
                                   Column("open", lambda r: "open" if r["open"] else "closed"),
                                   Column("checkpoint", "checkpoint"),
                                   Column("done", lambda r: "yes" if r["done"] else ""),
                                   Column("at", "checkpoint_at")], doc["shards"])]

    render.emit(doc, output, sections)

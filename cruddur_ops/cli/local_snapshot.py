"""`cruddur local snapshot save | load | list | rm`: named snapshots of the local DynamoDB tables and database."""

from typing import Annotated

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.errors import signal_of
from cruddur_ops.cli.options import OutputOpt, YesOpt, confirm, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.errors import Interrupted

app = typer.Typer(
    no_args_is_help=True,
    help="Named snapshots of the whole local stack: every DynamoDB Local table (definitions, items, streams) and "
         "the PostgreSQL database in use, one archive each in the data dir. Loopback engines only.",
)

NameArg = Annotated[str, typer.Argument(help="The snapshot's name (letters, digits, '.', '_', '-').")]

LIST_COLUMNS = [
    Column("name", "name"), Column("date", lambda r: r["created_at"][:19].replace("T", " ")),
    Column("size", lambda r: _size(r["size_bytes"]), justify="right"), Column("tables", "tables", justify="right"),
    Column("items", "items", justify="right"), Column("rows", "rows", justify="right"),
]


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def _sections(doc: dict, title: str) -> list[Section]:
    out = [Section(title, LIST_COLUMNS, [doc])]
    if doc["table_items"]:
        out.append(Section(f"DynamoDB ({doc['endpoint'] or 'not part of it'})",
                           [Column("table", "name"), Column("items", "items", justify="right"), Column("stream", "stream")],
                           doc["table_items"]))
    if doc["table_rows"]:
        out.append(Section(f"PostgreSQL ({doc['url']})", [Column("table", "name"), Column("rows", "rows", justify="right")],
                           doc["table_rows"]))
    return out


@app.command("save")
def save(
    ctx: typer.Context,
    name: NameArg,
    force: Annotated[bool, typer.Option("--force", help="Replace a snapshot of that name (once the new one is complete).")] = False,
    output: OutputOpt = None,
) -> None:
    """Save every DynamoDB Local table and the PostgreSQL database in use as snapshot NAME.

    Example: cruddur local snapshot save seeded
    """
    from cruddur_ops.local import snapshot

    s = settings(ctx)
    try:
        with render.progress("saving items", None) as advance:
            info = snapshot.save(s, name, force=force, on_note=render.note, on_progress=advance)
    except KeyboardInterrupt as exc:  # SIGINT 130, SIGTERM 143
        raise Interrupted(f"interrupted: snapshot {name} was not written (an archive is written whole or not at all)",
                          signum=signal_of(exc)) from None
    doc = info.to_dict()
    render.note(f"saved snapshot {name}: {doc['tables']} table(s), {doc['items']} item(s), {doc['rows'] or 0} row(s) "
                f"in {doc['seconds']:.1f} s → {doc['file']}")
    render.emit(doc, output, lambda: _sections(doc, f"Snapshot {name}"))


@app.command("load")
def load(
    ctx: typer.Context,
    name: NameArg,
    yes: YesOpt = False,
    trust_code: Annotated[bool, typer.Option("--trust-code", help="Load a snapshot saved elsewhere even when its "
                                             "dump holds code (functions, views, triggers, rules) that would run.")] = False,
    output: OutputOpt = None,
) -> None:
    """Replace the local data with snapshot NAME, exactly: every table and the database as they were (asks first).

    Everything is checked before anything is touched. A snapshot this data dir did not save (its signature does
    not match) is refused when its dump holds code, unless --trust-code.

    Example: cruddur local snapshot load seeded --yes
    """
    from cruddur_ops.local import snapshot

    s = settings(ctx)
    info, stack = snapshot.plan_load(s, name)
    parts = []
    if info.endpoint is not None or info.table_items:
        parts.append(f"every DynamoDB table on {stack.endpoint}")
    if info.url is not None:
        parts.append(f"the database {stack.db.masked}")
    confirm(f"Replace {' and '.join(parts) or 'nothing'} with snapshot {name} of {info.created_at[:19]}? "
            "What is there now is lost.", yes=yes, what=f"load snapshot {name}")
    try:
        with render.progress("loading items", info.items) as advance:
            loaded = snapshot.load(s, name, trust_code=trust_code, on_note=render.note, on_progress=advance)
    except KeyboardInterrupt as exc:  # SIGINT 130, SIGTERM 143
        raise Interrupted(f"interrupted: the local data may be partly replaced (the notes above say what was loaded); "
                          f"run `cruddur local snapshot load {name} --yes` again to finish",
                          signum=signal_of(exc)) from None
    doc = loaded.to_dict()
    render.note(f"loaded snapshot {name} in {doc['seconds']:.1f} s")
    render.emit(doc, output, lambda: _sections(doc, f"Loaded snapshot {name}"))


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = None) -> None:
    """List the snapshots: name, date, size, tables, items and rows.

    Example: cruddur local snapshot list
    """
    from cruddur_ops.local import snapshot

    s = settings(ctx)
    rows = [info.to_dict() for info in snapshot.list_snapshots(s.data_dir)]
    doc = {"dir": str(snapshot.folder(s.data_dir)), "snapshots": rows}
    render.emit(doc, output, lambda: [Section(f"Snapshots in {doc['dir']}", LIST_COLUMNS, rows,
                                              empty="(none: `cruddur local snapshot save NAME`)")])


@app.command("rm")
def rm(ctx: typer.Context, name: NameArg, output: OutputOpt = None) -> None:
    """Delete snapshot NAME's archive.

    Example: cruddur local snapshot rm seeded
    """
    from cruddur_ops.local import snapshot

    s = settings(ctx)
    info = snapshot.remove(s.data_dir, name)
    render.note(f"removed snapshot {name} ({info.file})")
    doc = {"name": name, "file": info.file, "removed": True}
    render.emit(doc, output, lambda: [Section(None, [Column("", "k"), Column("", "v")],
                                              [{"k": "removed", "v": info.file}])])

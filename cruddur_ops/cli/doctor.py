"""`cruddur doctor`: one row per check across DynamoDB and PostgreSQL — ok / warn / fail, what was found, the fix."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, TableOpt, YesOpt, confirm, confirm_destructive, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.settings import Action

STATUS_MARK = {"ok": "✔ ok", "warn": "! warn", "fail": "✘ fail", "n/a": "- n/a"}


def _sections(doc: dict) -> list[Section]:
    rows = [{**c, "mark": STATUS_MARK.get(c["status"], c["status"])} for c in doc["checks"]]
    summary = ", ".join(f"{n} {status}" for status, n in doc["summary"].items() if n)
    out = [Section("cruddur doctor", [Column("check", "name"), Column("status", "mark"),
                                      Column("found", "found"), Column("fix", "fix")], rows, caption=summary)]
    if doc["fixes"]:
        out.append(Section("Fixes applied", [Column("check", "name"), Column("applied", "applied"),
                                             Column("result", "result")], doc["fixes"]))
    return out


def doctor(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Repair data that can be repaired safely (asks first), then check again. Never ends a session.")] = False,
    end_sessions: Annotated[bool, typer.Option("--end-sessions", help="End the other sessions on the database (a running app's pool too): names each one (application, client address) and asks first.")] = False,
    yes: YesOpt = False,
    seed: Annotated[Optional[Path], typer.Option("--seed", help="Seed file whose handles must be in users (default: seeds/conversations.yaml).", show_default=False)] = None,
    table: TableOpt = TABLE,
    max_items: Annotated[int, typer.Option("--max-items", min=1, help="Scan at most this many items of the table.")] = 100_000,
    output: OutputOpt = None,
) -> None:
    """Find, explain and (with --fix) repair the traps of the Cruddur data: endpoint, table and stream, PostgreSQL
    and users, seed handles, Cognito ids, timestamps, stale or orphaned group rows, duplicate conversations,
    and sessions that block `db drop`. Exits 1 when a check fails.

    --fix repairs data, never processes: ending database sessions (the running app's among them) is its own
    action, --end-sessions, which lists whose sessions it ends and asks.

    Example: cruddur doctor --fix
    """
    from cruddur_ops import doctor as lib

    s = settings(ctx)
    done_first = []
    if end_sessions:
        from cruddur_ops.cli.options import require_terminal
        from cruddur_ops.pg.database import Database

        db = Database.from_settings(s)
        s.writable(db, Action("end sessions"))  # the guard, before any connection
        require_terminal(s.prod or not db.is_local, "end sessions", db.name or "the database", yes=yes, where=db.masked)

        def ask_sessions(shown: list) -> None:
            render.warn(f"{len(shown)} other session(s) on {db.name or db.masked}:")
            for session in shown:
                render.warn("  " + lib.describe_session(session))
            confirm_destructive(s.prod or not db.is_local, f"end these {len(shown)} session(s)",
                                db.name or "the database", yes=yes,
                                question=f"End these {len(shown)} session(s)? Their applications lose their connections.",
                                where=db.masked, service="postgres")

        done_first.append(lib.end_sessions(s, ask_sessions, on_note=render.note))

    def ask(fixable: list) -> None:
        names = ", ".join(c.name for c in fixable)
        confirm(f"Apply {len(fixable)} fix(es): {names}?", yes=yes, what=f"apply the fixes ({names})")

    result = lib.diagnose(s, fix=fix, table=table, seed_path=seed, max_items=max_items, confirm=ask,
                          on_note=render.note, done_first=done_first)
    doc: dict[str, Any] = dict(result.to_dict())
    if doc["scan"]:
        render.note(f"scanned {doc['scan']['items']:,} items of {table}"
                    + (f" (stopped at --max-items {max_items:,})" if doc["scan"]["truncated"] else ""))
    render.emit(doc, output, lambda: _sections(doc))
    failed = [c["name"] for c in doc["checks"] if c["status"] == "fail"]
    if failed:
        render.error(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        raise typer.Exit(1)

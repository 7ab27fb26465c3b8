"""`cruddur ddb audit`: deletion protection, backups, encryption, stream, TTL, capacity, tags, CloudTrail, Config."""

from typing import Annotated, Any, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, YesOpt, confirm, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import Action


class AuditFailed(CruddurError):
    """At least one check failed; the table above says which and how to fix it."""


def audit(
    ctx: typer.Context,
    tables: Annotated[Optional[list[str]], typer.Argument(help="Tables to audit (default: every table on the endpoint).", metavar="TABLE", show_default=False)] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Turn on deletion protection and point-in-time recovery where they are off (asks first; needs --prod on AWS).")] = False,
    yes: YesOpt = False,
    output: OutputOpt = None,
) -> None:
    """Audit tables and the account: one row per check (ok, warn, fail, n/a) with what was found and the fix.

    Checks deletion protection, point-in-time recovery, encryption, the app's stream, TTL, billing mode and
    provisioned capacity against the last hour's use, owner/environment tags, a logging CloudTrail trail and a
    recording AWS Config recorder. What DynamoDB Local cannot answer is n/a. Exits 1 when a check fails.

    Example: cruddur ddb audit cruddur-messages --fix
    """
    from cruddur_ops.checks import fix_then_recheck
    from cruddur_ops.ddb import audit as auditing

    s = settings(ctx)
    writer = s.dynamodb(write=Action("turn on deletion protection and point-in-time recovery")) if fix else None
    clients = auditing.Clients.from_settings(s)
    names: list[str] | None = tables or None

    def check() -> auditing.Report:
        nonlocal names
        found = auditing.audit(clients, names)
        names = found.tables  # the second look audits the same tables
        return found

    def ask(todo: list) -> None:
        what = ", ".join(f"{f.check} on {f.scope}" for f in todo)
        confirm(f"Turn on {what} ({s.describe_endpoint('dynamodb')})?", yes=yes, what="apply the audit's fixes")

    run = fix_then_recheck(
        check, fix=fix, fixable=auditing.fixable, apply=lambda todo: auditing.apply_fixes(writer, todo),
        confirm=ask, on_nothing=lambda: render.note(
            "--fix: nothing to turn on (deletion protection and point-in-time recovery are on or n/a)"))
    report, fixed = run.report, run.fixes
    doc: dict[str, Any] = {**report.to_dict(), "fixed": fixed}

    def sections():
        counts = ", ".join(f"{n} {status}" for status, n in doc["summary"].items() if n)
        out = [Section(f"Audit of {', '.join(report.tables) or 'no tables'} on {report.endpoint}: {counts}", [
            Column("scope", "scope"), Column("check", "check"), Column("status", "status"),
            Column("found", "found"), Column("fix", "fix")], doc["checks"])]
        if fixed:
            out.append(Section("Fixed", [Column("table", "table"), Column("check", "check"), Column("action", "action")], [dict(f) for f in fixed]))
        return out

    render.emit(doc, output, sections)
    if report.failed:
        first = report.failed[0]
        raise AuditFailed(f"{len(report.failed)} check(s) failed, first: {first.scope} {first.check} — {first.found}")
